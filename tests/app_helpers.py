"""Helpers for Streamlit AppTest tests: run a page, read the stepper's embedded spec."""
from __future__ import annotations

import json
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
_SPEC_RE = re.compile(r'<script type="application/json" id="spec">(.*?)</script>', re.S)
_START_RE = re.compile(r"let step = (\d+), timer")


def run_page(page: str, query: dict | None = None, timeout: int = 120) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page != "pages/start.py":
        at.switch_page(page)
    return at.run()


_TITLE_RE = re.compile(r"^# (.+)$", re.M)


def page_title(at: AppTest) -> str | None:
    """The page's title: the `# …` heading that app/ui.page_header draws in the page's first Markdown."""
    for el in at.markdown:
        match = _TITLE_RE.search(el.value)
        if match:
            return match.group(1)
    return None


def stepper_specs(at: AppTest, still: bool = False) -> list[dict]:
    """The JSON spec of every stepper on the page (decoded from the iframe's srcdoc); `still=True`: of every
    still-chart frame instead (ui.chart: charts with no steps)."""
    specs = []
    for el in at.get("iframe"):
        match = _SPEC_RE.search(el.proto.srcdoc)
        if match:
            spec = json.loads(match.group(1))
            spec["start"] = int(_START_RE.search(el.proto.srcdoc).group(1))
            if bool(spec["labels"]) != still:
                specs.append(spec)
    return specs


def still_figures(at: AppTest) -> list[dict]:
    """Every chart drawn with ui.chart, as the Plotly figure dict the browser gets, in page order."""
    return [fig for spec in stepper_specs(at, still=True) for fig in spec["figures"]]


def no_exceptions(at: AppTest) -> bool:
    return len(at.exception) == 0 and len(at.error) == 0


def as_array(value):
    """Plotly JSON arrays come as lists or as typed arrays {"dtype": "f4", "bdata": base64}."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return arr.reshape(value["shape"]) if "shape" in value else arr
    return np.asarray(value)


_UNESCAPE_RE = re.compile(r"\\(.)")


def markdown_tables(at: AppTest) -> list[dict[str, list[str]]]:
    """Every table drawn with `app.ui.table` (a Markdown table), as {column: [cell text, ...]} in page order."""
    tables = []
    for el in at.markdown:
        lines = [line for line in el.value.splitlines() if line.startswith("| ")]
        if len(lines) < 2 or not set(lines[1]) <= set("|-: "):
            continue
        rows = [[_UNESCAPE_RE.sub(r"\1", cell.strip()) for cell in line.strip("| ").split(" | ")] for line in lines]
        header, body = rows[0], rows[2:]
        tables.append({name: [row[i] for row in body] for i, name in enumerate(header)})
    return tables
