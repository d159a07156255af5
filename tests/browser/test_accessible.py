"""Reading along without a mouse or without sight: keyboard chips, announced steps, named frames,
reduced motion, and caption contrast."""
from __future__ import annotations

import pytest

from .conftest import new_page, stepper_frame, wait_for_app

pytestmark = pytest.mark.browser


def _open(browser, app_server, path="/read-along?prompt=Tom%20had%20a%20red%20ball.", **context):
    page = new_page(browser)
    if context:
        page.context.close()
        ctx = browser.new_context(viewport={"width": 1280, "height": 720}, **context)
        page = ctx.new_page()
        page.page_errors = []
    page.goto(app_server + path)
    wait_for_app(page)
    return page, stepper_frame(page)


def test_chips_are_one_tab_stop_and_enter_jumps_to_a_token(app_server, browser):
    page, frame = _open(browser, app_server)
    try:
        chips = frame.locator(".chip")
        assert chips.count() == 6  # Tom| had| a| red| ball| .
        assert frame.evaluate("Array.from(document.querySelectorAll('.chip')).map(c => c.tabIndex)") == [0, -1, -1, -1, -1, -1]
        assert frame.evaluate("document.querySelectorAll('[aria-current=step]').length") == 1
        chips.nth(3).focus()
        page.keyboard.press("Enter")
        frame.wait_for_function("() => document.body.dataset.step === '3'")
        assert chips.nth(3).get_attribute("aria-current") == "step"
        assert chips.nth(0).get_attribute("aria-current") is None
        assert frame.evaluate("Array.from(document.querySelectorAll('.chip')).map(c => c.tabIndex)") == [-1, -1, -1, 0, -1, -1]
        assert chips.nth(3).get_attribute("role") == "button"
        assert "token 4" in chips.nth(3).get_attribute("aria-label")
    finally:
        page.context.close()


def test_the_keyboards_focus_follows_the_current_chip(app_server, browser):
    """Arrow keys on a chip step the text: the focus moves with the current chip (it stayed on the old one, now
    out of the Tab path, and Enter jumped back to it)."""
    page, frame = _open(browser, app_server)
    try:
        frame.locator(".chip").nth(0).focus()
        for _ in range(2):
            page.keyboard.press("ArrowRight")
        frame.wait_for_function("() => document.body.dataset.step === '2'")
        assert frame.evaluate("document.activeElement.dataset.step") == "2"
        assert frame.evaluate("document.activeElement.getAttribute('aria-current')") == "step"
        page.keyboard.press("Enter")  # on the chip it shows: the step stays
        page.wait_for_timeout(300)
        assert frame.evaluate("document.body.dataset.step") == "2"
    finally:
        page.context.close()


def test_each_step_is_announced_in_words(app_server, browser):
    page, frame = _open(browser, app_server)
    try:
        summary = frame.locator('[data-testid="stepper-summary"]')
        assert summary.get_attribute("aria-live") == "polite"
        first = summary.text_content()
        assert "Token 1 of 6" in first and "Tom" in first
        frame.locator('[data-testid="stepper-next"]').click()
        frame.wait_for_function("() => document.body.dataset.step === '1'")
        second = summary.text_content()
        assert "Token 2 of 6" in second and "had" in second and second != first
        assert frame.evaluate("document.title")  # the frame's own page has a title
        assert page.locator("iframe").first.get_attribute("title") != "st.iframe"
        for fig in frame.locator('[data-testid="stepper-figure"]').all():
            assert fig.get_attribute("role") == "figure" and fig.get_attribute("aria-label")
    finally:
        page.context.close()


@pytest.mark.parametrize("motion, slowest", [("reduce", True), ("no-preference", False)])
def test_play_slows_down_for_reduced_motion(app_server, browser, motion, slowest):
    page, frame = _open(browser, app_server, reduced_motion=motion)
    try:
        frame.locator('[data-testid="stepper-play"]').click()
        frame.wait_for_function("() => document.body.dataset.playMs !== undefined")
        every = int(frame.evaluate("document.body.dataset.playMs"))
        assert (every >= 2500) is slowest, every
        frame.locator('[data-testid="stepper-play"]').click()  # pause
    finally:
        page.context.close()


def test_captions_are_dark_enough(app_server, browser):
    page, _ = _open(browser, app_server)
    try:
        caption = page.locator('[data-testid="stCaptionContainer"]').first
        color, opacity = caption.evaluate("el => [getComputedStyle(el).color, getComputedStyle(el).opacity]")
        rgb = [int(v) for v in color[color.index("(") + 1: color.index(")")].split(",")[:3]]

        def luminance(c):
            c = c / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        lum = 0.2126 * luminance(rgb[0]) + 0.7152 * luminance(rgb[1]) + 0.0722 * luminance(rgb[2])
        assert float(opacity) == 1.0
        assert (1.05) / (lum + 0.05) >= 4.5, color
    finally:
        page.context.close()


def test_escape_hides_a_glossary_definition_until_focus_leaves(app_server, browser):
    """A definition shown on focus can be dismissed without moving the focus (WCAG 1.4.13)."""
    page, _ = _open(browser, app_server)
    try:
        term = page.locator("abbr.gloss").first
        term.focus()
        shown = "e => getComputedStyle(e, '::after').display !== 'none' && getComputedStyle(e, '::after').content !== 'none'"
        assert term.evaluate(shown)
        page.keyboard.press("Escape")
        assert not term.evaluate(shown)
        assert page.evaluate("document.activeElement.classList.contains('gloss')")  # the focus stayed
        page.keyboard.press("Tab")
        term.focus()
        assert term.evaluate(shown)  # back on the word: the definition shows again
    finally:
        page.context.close()


@pytest.mark.parametrize("path", ["/caveats", "/room"])
def test_escape_hides_a_definition_on_pages_without_a_chart(app_server, browser, path):
    """Pages with no chart frame get the Escape key from their own header's script."""
    page = new_page(browser)
    try:
        page.goto(app_server + path)
        wait_for_app(page)
        term = page.locator("abbr.gloss").first
        term.focus()
        shown = "e => getComputedStyle(e, '::after').display !== 'none' && getComputedStyle(e, '::after').content !== 'none'"
        assert term.evaluate(shown)
        page.wait_for_function("() => window.__rwkvGlossEscapeMain === true")
        page.keyboard.press("Escape")
        assert not term.evaluate(shown)
    finally:
        page.context.close()
