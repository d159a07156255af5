"""Static files the browser loads from this server (works offline: nothing from a CDN).

Streamlit serves `static/` at `app/static/` when `server.enableStaticServing` is on
(.streamlit/config.toml). plotly.js comes from the installed `plotly` package, so its version always
matches the figures the Python side builds.

Example:
    >>> path = ensure_plotly_js()
    >>> path.name
    'plotly.min.js'
"""
from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PLOTLY_JS = STATIC_DIR / "plotly.min.js"
# Relative to the page, so it also works under a server.baseUrlPath; iframes built from srcdoc
# resolve it against the parent page's URL.
PLOTLY_JS_URL = "app/static/plotly.min.js"


def ensure_plotly_js() -> Path:
    """Write static/plotly.min.js from the plotly package if missing or from another version."""
    from plotly.offline import get_plotlyjs

    source = get_plotlyjs()
    if not PLOTLY_JS.exists() or PLOTLY_JS.stat().st_size != len(source.encode("utf-8")):
        STATIC_DIR.mkdir(parents=True, exist_ok=True)
        tmp = PLOTLY_JS.with_suffix(".tmp")
        tmp.write_text(source, encoding="utf-8")
        tmp.replace(PLOTLY_JS)
    return PLOTLY_JS


if __name__ == "__main__":
    print(ensure_plotly_js())
