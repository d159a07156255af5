"""Slides out of every view: each chart saves as PNG and SVG from the page, the step-through's at its current step.

A presenter clicks "⬇ PNG" or "⬇ SVG" under a chart; the real browser downloads a file, and we read it back.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import new_page, stepper_frame, still_frames, wait_for_app

pytestmark = pytest.mark.browser


def _download(page, frame, fmt: str, index: int = 0) -> tuple[str, bytes]:
    with page.expect_download() as info:
        frame.locator(f'[data-testid="chart-download-{fmt}"]').nth(index).click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_stepper_chart_saves_png_and_svg_at_its_current_step(app_server, browser):
    page = new_page(browser)
    try:
        page.goto(f"{app_server}/read-along?prompt=Tom%20had%20a%20red%20ball.&step=3")
        wait_for_app(page)
        frame = stepper_frame(page)
        frame.wait_for_function("() => Array.from(document.querySelectorAll('.fig')).every(d => d.__ready)")
        name, png = _download(page, frame, "png")
        assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        assert name.endswith("-token-3.png"), name
        frame.locator('[data-testid="stepper-next"]').click()
        name, svg = _download(page, frame, "svg")
        assert name.endswith("-token-4.svg"), name
        text = svg.decode("utf-8")
        assert text.lstrip().startswith("<svg") and "</svg>" in text
        assert page.page_errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("path", ["at-scale", "fading-memory"])
def test_page_charts_save_png_and_svg(app_server, browser, path):
    page = new_page(browser)
    try:
        page.goto(f"{app_server}/{path}")
        wait_for_app(page)
        frames = still_frames(page, 2)
        for frame in frames:
            name, svg = _download(page, frame, "svg")
            assert name.startswith("rwkv-explainer-") and name.endswith(".svg"), name
            assert not re.search(r"-token-[0-9]+[.]svg$", name), f"a chart with no steps named a step: {name}"
            assert b"<svg" in svg[:200]
        name, png = _download(page, frames[-1], "png", index=-1)
        assert png[:4] == b"\x89PNG"
        assert page.page_errors == []
    finally:
        page.context.close()
