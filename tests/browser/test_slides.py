"""Slides out of a talk: `python -m app.slides --talk FILE --url BASE --out DIR` saves one 1920×1080 PNG per
view (a step-through drawn, in presenter mode) and one PDF with a page per view."""
from __future__ import annotations

import os
import struct
import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = pytest.mark.browser

TWO_VIEWS = '''title = "Two views"

[[view]]
title = "Read two tokens"
page = "read-along"
minutes = 1
notes = "Point at the chips."
params = { prompt = "Tom had a red ball.", step = 2 }

[[view]]
title = "The catch"
page = "caveats"
minutes = 1
'''


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_slides_are_one_png_per_view_and_one_pdf(app_server, chromium_path, tmp_path):
    import pikepdf

    talk = tmp_path / "two.toml"
    talk.write_text(TWO_VIEWS, encoding="utf-8")
    out = tmp_path / "slides"
    env = {**os.environ, "RWKV_CHROMIUM": chromium_path}
    done = subprocess.run([sys.executable, "-m", "app.slides", "--talk", str(talk), "--url", app_server,
                           "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[:3] for line in lines[:2]] == [["SLIDE", "01/02", "01-read-two-tokens.png"],
                                                       ["SLIDE", "02/02", "02-the-catch.png"]], lines
    assert "not finished in time" not in done.stdout, done.stdout
    assert lines[-1].startswith("SLIDES 2 views") and lines[-1].endswith(f"pdf={out / 'talk.pdf'} pages=2"), lines

    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["01-read-two-tokens.png", "02-the-catch.png"]
    assert all(png_size(p) == (1920, 1080) for p in pngs)
    assert min(p.stat().st_size for p in pngs) > 20_000  # a drawn page, not a blank one
    with pikepdf.open(out / "talk.pdf") as pdf:
        assert len(pdf.pages) == 2


def test_without_an_app_at_the_url_it_says_so(chromium_path, tmp_path):
    done = subprocess.run([sys.executable, "-m", "app.slides", "--url", "http://127.0.0.1:9", "--out",
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RWKV_CHROMIUM": chromium_path})
    assert done.returncode == 1
    assert "no app answers at http://127.0.0.1:9" in done.stderr and "Traceback" not in done.stderr
