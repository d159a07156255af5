"""`python -m app.slides --out DIR [--talk FILE] [--url BASE]`: slides out of a talk (see app/present/slides.py)."""
from app.present.slides import main

if __name__ == "__main__":
    raise SystemExit(main())
