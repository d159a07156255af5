"""A presenter on a projector (1280×720): a link opens exactly the view, clean and projector-sized.

- The first visit after a server start (usually the presenter's own) shows no "Page not found" box
  on any page opened by its link: a fresh server per page, as after every restart.
- `?present=1` folds the sidebar away, makes every text in the step-through and its charts at least
  20 px, and opens with the Next button, the chips and the first chart on the first screen.
"""
from __future__ import annotations

import pytest

from .conftest import PROJECTOR, StreamlitServer, new_page, stepper_frame, still_frames, wait_for_app

pytestmark = pytest.mark.browser

NON_DEFAULT_PAGES = ["read-along", "token-shift", "fading-memory", "cost-race", "at-scale", "caveats", "glossary",
                     "room", "join", "console"]
PAGE_NOT_FOUND = "Page not found"


@pytest.fixture(scope="module")
def fresh_servers(chromium_path):
    """One new server per page, all started together (each first visit must be a process's first)."""
    servers = {name: StreamlitServer().start() for name in NON_DEFAULT_PAGES}
    try:
        for server in servers.values():
            server.wait_healthy()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.mark.parametrize("name", NON_DEFAULT_PAGES)
def test_first_visit_by_link_shows_the_page_and_no_dialog(fresh_servers, browser, name):
    page = new_page(browser)
    messages = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: messages.append(payload)))
    try:
        page.goto(f"{fresh_servers[name].base_url}/{name}")
        wait_for_app(page)
        page.wait_for_timeout(500)
        assert page.get_by_text(PAGE_NOT_FOUND).count() == 0, f"/{name}: Streamlit's 'Page not found' box on a first visit"
        assert not page.locator('[data-testid="stDialog"]').count(), f"/{name}: a dialog is open"
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not page.page_errors, page.page_errors
        assert page.url.split("?")[0].endswith("/" + name), page.url
        assert messages, "no websocket traffic seen"
        assert not any(isinstance(m, bytes) and b"page_not_found" in m for m in messages)
    finally:
        page.context.close()


def _min_font_px(frame) -> dict[str, float]:
    return frame.evaluate("""() => {
      const out = {};
      const els = document.querySelectorAll('#controls button, #position, .chip, #note, .main-svg text, .main-svg tspan');
      for (const el of els) {
        if (!el.textContent.trim()) continue;
        const kind = el.closest('.main-svg') ? 'chart text' : (el.id || el.className.split(' ')[0] || el.tagName);
        const px = parseFloat(getComputedStyle(el).fontSize);
        out[kind] = Math.min(out[kind] || 999, px);
      }
      return out;
    }""")


def test_presenter_link_is_projector_sized_and_opens_on_the_step_through(app_server, browser):
    page = new_page(browser, PROJECTOR)
    try:
        page.goto(f"{app_server}/read-along?present=1&step=3")
        wait_for_app(page)
        frame = stepper_frame(page)
        frame.wait_for_function("() => Array.from(document.querySelectorAll('.fig')).every(d => d.__ready)")
        page.wait_for_timeout(800)  # the opening scroll
        sizes = _min_font_px(frame)
        assert {"next", "position", "chip", "note", "chart text"} <= set(sizes), sizes
        assert min(sizes.values()) >= 20, sizes

        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.count() == 0 or sidebar.bounding_box() is None or sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= 1, \
            "the sidebar should be folded away on a presenter's link"

        def on_screen(locator) -> bool:
            box = locator.bounding_box()  # in the page's viewport (Playwright adds the frame's offset)
            top, bottom = box["y"], box["y"] + box["height"]
            return top >= 0 and bottom <= PROJECTOR["height"]

        assert on_screen(frame.locator("#next")), "Next button off the first screen"
        assert on_screen(frame.locator(".chip.current")), "current chip off the first screen"
        assert on_screen(frame.locator('[data-testid="stepper-figure"]').first), "first chart off the first screen"
        assert frame.evaluate("document.body.dataset.step") == "2"
    finally:
        page.context.close()


def test_without_presenter_mode_the_step_through_keeps_its_usual_size(app_server, browser):
    page = new_page(browser, PROJECTOR)
    try:
        page.goto(f"{app_server}/read-along")
        wait_for_app(page)
        frame = stepper_frame(page)
        assert frame.evaluate("document.body.classList.contains('present')") is False
        assert _min_font_px(frame)["chip"] < 20
    finally:
        page.context.close()


def test_clicker_keys_still_step_after_a_click_on_a_chart_without_steps(app_server, browser):
    """A presenter clicks a still chart (focus moves into its frame), then presses the clicker: the page's
    step-through still moves."""
    page = new_page(browser)
    try:
        page.goto(f"{app_server}/fading-memory?present=1&step=1")  # it opens on the last token without a step
        wait_for_app(page)
        frame = stepper_frame(page)
        assert frame.evaluate("() => document.body.dataset.step") == "0"
        still = still_frames(page)[0]
        still.locator("body").click(position={"x": 5, "y": 5})
        assert still.evaluate("() => document.hasFocus()")
        page.keyboard.press("PageDown")
        frame.wait_for_function("() => document.body.dataset.step === '1'", timeout=5000)
        page.keyboard.press("ArrowRight")
        frame.wait_for_function("() => document.body.dataset.step === '2'", timeout=5000)
        assert page.page_errors == []
    finally:
        page.context.close()



def test_in_presenter_mode_down_and_up_step_too(app_server, browser):
    """Some clickers send ↓ / ↑: in presenter mode they step, without a click into the page first."""
    page = new_page(browser, PROJECTOR)
    try:
        page.goto(f"{app_server}/read-along?present=1")
        wait_for_app(page)
        frame = stepper_frame(page)
        assert frame.evaluate("() => document.body.dataset.step") == "0"
        page.keyboard.press("ArrowDown")
        frame.wait_for_function("() => document.body.dataset.step === '1'", timeout=5000)
        page.keyboard.press("ArrowDown")
        frame.wait_for_function("() => document.body.dataset.step === '2'", timeout=5000)
        page.keyboard.press("ArrowUp")
        frame.wait_for_function("() => document.body.dataset.step === '1'", timeout=5000)
        assert page.page_errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("path", ["token-shift?prompt=Once%20upon%20a%20time&step=4",
                                  "read-along?prompt=Tom%20had%20a%20red%20ball.&step=3"])
def test_a_presenter_link_opens_on_the_step_through_below_the_header(app_server, browser, path):
    """A projector (1280×720) opens a reading page scrolled to its step-through: its buttons whole on screen,
    not half under Streamlit's header bar, also after the elements above it have settled."""
    page = new_page(browser, PROJECTOR)
    try:
        page.goto(f"{app_server}/{path}&present=1")
        wait_for_app(page)
        frame = stepper_frame(page)
        page.wait_for_timeout(2500)
        header = page.locator('[data-testid="stHeader"]').bounding_box()
        reset = frame.get_by_role("button", name="Reset").bounding_box()  # in the page's viewport
        top = reset["y"]
        assert top >= header["y"] + header["height"] - 1, (top, header)
        assert top + reset["height"] <= PROJECTOR["height"], (top, reset)
    finally:
        page.context.close()
