"""A reader on a phone (390×844): the step-through's charts fit, nothing overlaps, no blank gaps.

Checked by bounding boxes in the real browser: every chart's title, legend and axis titles lie inside
the chart's width and do not overlap one another, Plotly's toolbar is not drawn over them, and the
step-through's frame is as tall as what it holds.
"""
from __future__ import annotations

import pytest

from .conftest import PHONE, new_page, stepper_frame, still_frames, wait_for_app

pytestmark = pytest.mark.browser

BOXES = """() => Array.from(document.querySelectorAll('[data-testid="stepper-figure"]')).map(fig => {
  const f = fig.getBoundingClientRect();
  const box = sel => Array.from(fig.querySelectorAll(sel)).filter(e => e.textContent.trim() || sel === '.legend')
    .map(e => { const r = e.getBoundingClientRect(); return {sel, left: r.left - f.left, right: r.right - f.left,
                                                           top: r.top - f.top, bottom: r.bottom - f.top}; })
    .filter(r => r.right > r.left && r.bottom > r.top);
  return {width: f.width, height: f.height, modebar: !!fig.querySelector('.modebar-container .modebar'),
          parts: [...box('.gtitle'), ...box('.legend'), ...box('.xtitle'), ...box('.ytitle'),
                  ...box('.annotation-text-g')]};
})"""


def _overlap(a, b, slack=1.0) -> bool:
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack)


@pytest.mark.parametrize("path", ["read-along", "token-shift", "fading-memory"])
def test_charts_fit_a_phone_without_overlaps(app_server, browser, path):
    page = new_page(browser, PHONE)
    try:
        page.goto(f"{app_server}/{path}?prompt=Tom%20had%20a%20red%20ball%20and%20a%20small%20dog.")
        wait_for_app(page)
        frame = stepper_frame(page)
        frame.wait_for_function("() => Array.from(document.querySelectorAll('.fig')).every(d => d.__ready)")
        figures = frame.evaluate(BOXES)
        assert figures
        _assert_fits(figures, path)
        # no ⬇ PNG / ⬇ SVG rows between the charts on a phone (they pushed the content down)
        assert frame.evaluate("() => [...document.querySelectorAll('.dl')].every(r => !r.offsetParent)")
        frame_box = frame.frame_element().bounding_box()
        content = frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
        assert abs(frame_box["height"] - content) <= 12, f"blank gap or cut: frame {frame_box['height']} vs content {content}"
    finally:
        page.context.close()


def _assert_fits(figures: list, where: str) -> None:
    for i, fig in enumerate(figures):
        assert not fig["modebar"], f"{where} chart {i}: Plotly's toolbar is drawn on a phone"
        for part in fig["parts"]:
            assert part["left"] >= -1 and part["right"] <= fig["width"] + 1, f"{where} chart {i}: {part} is cut off"
            assert part["top"] >= -1 and part["bottom"] <= fig["height"] + 1, f"{where} chart {i}: {part} is cut off"
        parts = fig["parts"]
        for a in range(len(parts)):
            for b in range(a + 1, len(parts)):
                assert not _overlap(parts[a], parts[b]), f"{where} chart {i}: {parts[a]} overlaps {parts[b]}"


# Tick labels along the x axis of every chart: none may overlap its neighbour (slanted token labels did).
X_TICKS = """() => Array.from(document.querySelectorAll('[data-testid="stepper-figure"]')).map(fig =>
  Array.from(fig.querySelectorAll('.xtick text')).map(t => t.getBoundingClientRect())
    .filter(r => r.width > 0).map(r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom})))"""


@pytest.mark.parametrize("path", ["fading-memory", "cost-race", "at-scale"])
def test_page_charts_fit_a_phone(app_server, browser, path):
    """The charts drawn with ui.chart (half-lives, heatmaps, race and at-scale curves) at 390 px."""
    page = new_page(browser, PHONE)
    try:
        page.goto(f"{app_server}/{path}")
        wait_for_app(page)
        for n, frame in enumerate(still_frames(page, 2)):
            _assert_fits(frame.evaluate(BOXES), f"{path} frame {n}")
            for i, ticks in enumerate(frame.evaluate(X_TICKS)):
                for a, b in zip(ticks, ticks[1:]):
                    assert not _overlap(a, b, slack=0.5), f"{path} frame {n} chart {i}: x tick labels overlap"
    finally:
        page.context.close()


# Everything the page itself shows lies inside the phone's width: links, tables, text (nothing cut or hidden
# behind a sideways scroll).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth, out = [];
  document.querySelectorAll('[data-testid="stPageLink"] p, [data-testid="stMarkdown"] table, [data-testid="stMarkdown"] p')
    .forEach(el => {
      const r = el.getBoundingClientRect();
      if (r.width && (r.right > width + 1 || el.scrollWidth > el.clientWidth + 1))
        out.push(el.tagName + ": " + el.textContent.slice(0, 60));
    });
  return out;
}"""


@pytest.mark.parametrize("path", ["", "cost-race", "caveats", "at-scale"])
def test_links_and_tables_fit_a_phone(app_server, browser, path):
    page = new_page(browser, PHONE)
    try:
        page.goto(f"{app_server}/{path}")
        wait_for_app(page)
        if path == "at-scale":  # its tables are in the builders' notes
            page.locator('[data-testid="stExpander"] summary').last.click()
        if path in ("cost-race", "at-scale"):
            page.locator('[data-testid="stMarkdown"] table').last.wait_for()
        assert page.evaluate(OVERFLOWING) == []
        if path == "":
            links = page.locator('[data-testid="stPageLink"] p')
            assert links.count() >= 7
            for i in range(links.count()):  # wrapped over lines, not cut with an ellipsis
                assert links.nth(i).evaluate("e => e.scrollWidth <= e.clientWidth + 1"), links.nth(i).inner_text()
    finally:
        page.context.close()


PAGE_SCROLLED = "() => Array.from(document.querySelectorAll('*')).reduce((sum, el) => sum + el.scrollTop, 0) + window.scrollY"


def test_the_step_through_never_scrolls_the_page_around_it(app_server, browser):
    """The current chip is kept in view by scrolling the chip box only: Start opened on a phone scrolled down
    to the teaser's chips (scrollIntoView scrolls every ancestor, the page around the frame too)."""
    page = new_page(browser, PHONE)
    try:
        page.goto(f"{app_server}/")
        wait_for_app(page)
        stepper_frame(page)
        page.wait_for_timeout(1500)  # the teaser steps on its own
        assert page.evaluate(PAGE_SCROLLED) == 0, "Start opened scrolled down"
        text = "Tom and Sue went to the big park by the river, and they played with a red ball all day long. " * 3
        page.goto(f"{app_server}/read-along?prompt={text.replace(' ', '%20')}")
        wait_for_app(page)
        frame = stepper_frame(page)
        assert page.evaluate(PAGE_SCROLLED) == 0
        for _ in range(60):  # a clicker's keys: a click would let the driver scroll to the button first
            page.keyboard.press("ArrowRight")
        frame.wait_for_function("() => document.body.dataset.step === '60'")
        assert page.evaluate(PAGE_SCROLLED) == 0, "stepping scrolled the page to the chips"
        box = frame.evaluate("""() => { const c = document.getElementById('chips'), cur = c.querySelector('.chip.current');
            const b = c.getBoundingClientRect(), r = cur.getBoundingClientRect();
            return {scrolled: c.scrollTop, inside: r.top >= b.top && r.bottom <= b.bottom}; }""")
        assert box["scrolled"] > 0 and box["inside"], box
    finally:
        page.context.close()


def test_the_folded_menu_is_not_in_the_keyboards_path(app_server, browser):
    """On a phone the menu is folded away off-screen: Tab must not walk through its links (the focus could not
    be seen, and typing went to the hidden presenter switch); opened with », its links are there."""
    page = new_page(browser, PHONE)
    try:
        page.goto(f"{app_server}/join")
        wait_for_app(page)
        page.get_by_role("textbox", name="Room code").wait_for()
        in_menu = []
        for _ in range(12):
            page.keyboard.press("Tab")
            in_menu.append(page.evaluate("() => document.activeElement.closest('[data-testid=stSidebar]') ? document.activeElement.outerHTML.slice(0, 120) : ''"))
        assert not any(in_menu), in_menu
        page.get_by_test_id("stExpandSidebarButton").click()
        page.locator('[data-testid="stSidebar"] a[href$="/read-along"]').wait_for(state="visible")
    finally:
        page.context.close()


def test_the_menu_button_is_finger_sized_on_a_touch_screen(browser, app_server):
    """Streamlit's » (open the menu) is 30×30 px: on a touch screen it gets the 44 px a finger needs."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, service_workers="block")
    page = context.new_page()
    try:
        page.goto(f"{app_server}/glossary")
        wait_for_app(page)
        box = page.get_by_test_id("stExpandSidebarButton").bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, box
    finally:
        context.close()
