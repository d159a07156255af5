"""Static files the browser loads from this server (works offline: nothing from a CDN).

Streamlit serves `static/` at `app/static/` when `server.enableStaticServing` is on
(.streamlit/config.toml). The stepper loads plotly.js's *cartesian* bundle (bar, heatmap, scatter:
all it draws), 1.5 MB instead of the full 4.8 MB, which roughly halves the time a browser spends
parsing it. The file is the npm package `plotly.js-cartesian-dist-min`, MIT licence
(static/plotly-LICENSE.txt), at the same plotly.js version the `plotly` Python package bundles, so
the figure JSON built in Python always matches; `bundle_matches_python_plotly` checks that.

Example:
    >>> bundle_version()
    '4.1.1'
"""
from __future__ import annotations

import re
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PLOTLY_BUNDLE = STATIC_DIR / "plotly-cartesian.min.js"
# Relative to the page, so it also works under a server.baseUrlPath; iframes built from srcdoc
# resolve it against the parent page's URL.
PLOTLY_JS_URL = "app/static/plotly-cartesian.min.js"

_VERSION_RE = re.compile(r"plotly\.js(?: \([^)]*\))? v(\d+\.\d+\.\d+)")


def bundle_version(path: Path = PLOTLY_BUNDLE) -> str:
    head = path.read_text(encoding="utf-8", errors="replace")[:400]
    match = _VERSION_RE.search(head)
    if not match:
        raise ValueError(f"no plotly.js version header in {path}")
    return match.group(1)


def python_plotly_js_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


def bundle_matches_python_plotly() -> bool:
    return bundle_version() == python_plotly_js_version()


if __name__ == "__main__":
    import sys

    ok = bundle_matches_python_plotly()
    print(f"{PLOTLY_BUNDLE.name} v{bundle_version()} {'matches' if ok else 'DOES NOT match'} "
          f"the plotly package's plotly.js v{python_plotly_js_version()}")
    sys.exit(0 if ok else 1)
