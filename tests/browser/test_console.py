"""A presenter runs the talk from the console (/console): the projector window opens on view 1 in presenter
mode and follows Next, Page Down (with the focus in the console's component or on the page around it) and
the jump list, with no round trip to the server; a second console tab stays on the same view."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.present.talk import load_talk

from .conftest import dialog_calls, new_page, stepper_frame, wait_for_app

pytestmark = pytest.mark.browser

TALK = load_talk()


def console_frame(page):
    """The console component's frame, once its script has run."""
    page.locator('iframe[title^="Presenter console"]').wait_for()
    frame = page.locator('iframe[title^="Presenter console"]').element_handle().content_frame()
    frame.wait_for_function("() => document.body.dataset.view !== undefined")
    return frame


def expected(index: int) -> tuple[str, dict]:
    url = urlsplit(TALK.views[index].url(present=True))
    return url.path, parse_qs(url.query)


def shows_view(popup, index: int) -> None:
    """The projector window is on the index-th view, in presenter mode, and the page has run."""
    path, query = expected(index)
    popup.wait_for_url(lambda u: urlsplit(u).path == path and
                       all(parse_qs(urlsplit(u).query).get(k) == v for k, v in query.items() if k != "present"))
    wait_for_app(popup)
    assert parse_qs(urlsplit(popup.url).query).get("present") == ["1"], popup.url
    assert popup.locator('[data-testid="stException"]').count() == 0
    assert popup.locator("h1").first.is_visible()


def test_the_projector_window_opens_on_view_one_and_follows_the_console(app_server, browser):
    page = new_page(browser)
    context = page.context
    seen = []
    context.on("dialog", lambda d: (seen.append(f"{d.type}: {d.message}"), d.dismiss()))
    try:
        page.goto(f"{app_server}/console")
        wait_for_app(page)
        frame = console_frame(page)
        assert frame.locator("#title").text_content() == TALK.views[0].title

        with context.expect_page() as popup_info:
            frame.get_by_role("button", name="Open the projector window").click()
        popup = popup_info.value
        assert urlsplit(popup.url).path == "/" and parse_qs(urlsplit(popup.url).query) == {"present": ["1"]}
        shows_view(popup, 0)
        assert "projector window shows view 1" in frame.locator("#projector").text_content()

        frame.get_by_role("button", name="Next ▶").click()  # view 2: a poll, on the room page
        shows_view(popup, 1)
        assert frame.locator("#live").text_content() == f"View 2 of {len(TALK.views)}: {TALK.views[1].title}"

        page.keyboard.press("PageDown")  # the focus is on the component's Next button: a clicker's key
        shows_view(popup, 2)
        assert stepper_frame(popup).evaluate("document.body.dataset.step") == str(int(dict(TALK.views[2].params)["step"]) - 1)

        page.locator("h1").first.click()  # the focus on the page around the component
        page.keyboard.press("PageDown")
        shows_view(popup, 3)
        assert stepper_frame(popup).evaluate("document.body.dataset.step") == str(int(dict(TALK.views[3].params)["step"]) - 1)
        assert frame.locator("#position").text_content() == f"View 4 of {len(TALK.views)}"
        assert parse_qs(urlsplit(page.url).query)["view"] == ["4"]  # a reload comes back here

        page.keyboard.press("ArrowLeft")
        shows_view(popup, 2)

        race = next(i for i, v in enumerate(TALK.views) if v.page == "cost-race")
        frame.locator(".jump").nth(race).click()
        shows_view(popup, race)
        assert frame.locator(".jump").nth(race).get_attribute("aria-current") == "step"

        assert not seen and not page.dialogs, seen + page.dialogs
        for p in (page, popup):
            assert all(not calls for calls in dialog_calls(p).values()), dialog_calls(p)
        assert not page.page_errors, page.page_errors
    finally:
        context.close()


def test_a_second_console_tab_stays_on_the_same_view(app_server, browser):
    page = new_page(browser)
    try:
        page.goto(f"{app_server}/console")
        wait_for_app(page)
        other = page.context.new_page()
        other.goto(f"{app_server}/console")
        wait_for_app(other)
        mine, theirs = console_frame(page), console_frame(other)
        mine.get_by_role("button", name="Next ▶").click()
        mine.get_by_role("button", name="Next ▶").click()
        theirs.wait_for_function("() => document.body.dataset.view === '2'", timeout=10_000)
        assert theirs.locator("#title").text_content() == TALK.views[2].title
        assert theirs.locator("#notes").text_content() == TALK.views[2].notes
        assert "not open" in theirs.locator("#projector").text_content()  # it only follows; one window drives
        assert mine.locator("#prev").is_enabled() and theirs.get_by_role("button", name="◀ Previous").is_enabled()
    finally:
        page.context.close()


def test_a_tab_opened_later_joins_the_talk_where_it_is(app_server, browser):
    """A second tab opened mid-talk (the help says to) starts on the talk's view, not on view 1: its Next moves
    the talk on by one (it pulled every tab, and the projector, back to view 2)."""
    page = new_page(browser)
    try:
        page.goto(f"{app_server}/console")
        wait_for_app(page)
        mine = console_frame(page)
        for _ in range(4):
            mine.get_by_role("button", name="Next ▶").click()
        mine.wait_for_function("() => document.body.dataset.view === '4'")
        other = page.context.new_page()
        other.goto(f"{app_server}/console")
        wait_for_app(other)
        theirs = console_frame(other)
        theirs.wait_for_function("() => document.body.dataset.view === '4'", timeout=10_000)
        theirs.get_by_role("button", name="Next ▶").click()
        mine.wait_for_function("() => document.body.dataset.view === '5'", timeout=10_000)
    finally:
        page.context.close()


def test_moves_made_in_a_second_tab_reach_the_projector(app_server, browser):
    """The tab that opened the projector window moves it when another console tab (a second screen) moves on."""
    page = new_page(browser)
    context = page.context
    try:
        page.goto(f"{app_server}/console")
        wait_for_app(page)
        mine = console_frame(page)
        with context.expect_page() as popup_info:
            mine.get_by_role("button", name="Open the projector window").click()
        popup = popup_info.value
        shows_view(popup, 0)
        other = context.new_page()
        other.goto(f"{app_server}/console")
        wait_for_app(other)
        theirs = console_frame(other)
        theirs.get_by_role("button", name="Next ▶").click()
        theirs.get_by_role("button", name="Next ▶").click()
        mine.wait_for_function("() => document.body.dataset.view === '2'", timeout=10_000)
        shows_view(popup, 2)
    finally:
        context.close()


def test_a_reloaded_console_finds_its_projector_window_again(app_server, browser):
    """A console reloaded by accident lost its handle on the window it opened: it finds the window over the
    talk's channel, says so, and Next and Previous move it again."""
    page = new_page(browser)
    context = page.context
    try:
        page.goto(f"{app_server}/console")
        wait_for_app(page)
        frame = console_frame(page)
        with context.expect_page() as popup_info:
            frame.get_by_role("button", name="Open the projector window").click()
        popup = popup_info.value
        shows_view(popup, 0)
        frame.get_by_role("button", name="Next ▶").click()
        shows_view(popup, 1)
        page.reload()
        wait_for_app(page)
        frame = console_frame(page)
        frame.wait_for_function("() => document.getElementById('projector').textContent.includes('follows this console')",
                                timeout=10_000)
        frame.get_by_role("button", name="Next ▶").click()
        shows_view(popup, 2)
        frame.get_by_role("button", name="◀ Previous").click()
        shows_view(popup, 1)
    finally:
        context.close()


def test_a_room_opened_on_the_console_reaches_the_projector_on_its_poll_view(app_server, browser):
    """Before a room is open, the projector's poll view says to open it on the console; the console's button
    opens it and the projector, still on that view, gets the room (its code on the projector)."""
    poll = next(i for i, v in enumerate(TALK.views) if v.poll)
    page = new_page(browser)
    context = page.context
    try:
        page.goto(f"{app_server}/console?view={poll + 1}")
        wait_for_app(page)
        frame = console_frame(page)
        with context.expect_page() as popup_info:
            frame.get_by_role("button", name="Open the projector window").click()
        popup = popup_info.value
        shows_view(popup, poll)
        popup.get_by_text("Open a room for the polls").wait_for()
        assert popup.get_by_role("button", name="Open a room").count() == 0

        page.get_by_role("button", name="Open a room for the polls").click()
        page.wait_for_url("**/console?*room=*")
        wait_for_app(page)
        code = parse_qs(urlsplit(page.url).query)["room"][0]
        popup.wait_for_url(lambda u: parse_qs(urlsplit(u).query).get("room") == [code])
        wait_for_app(popup)
        assert popup.get_by_test_id("room-code").inner_text().strip() == code
        assert popup.get_by_test_id("room-prompt").count() == 1  # the poll's question is asked in that room
        assert "token" not in parse_qs(urlsplit(popup.url).query)  # the key leaves the projector's address
    finally:
        context.close()


def test_a_clickers_key_in_the_projector_window_moves_the_talk(app_server, browser):
    """After a click on the projector (Reveal, Play) the focus is there: Page Down / Up must still move the
    talk (they did nothing), except on a page whose step-through takes them for its tokens."""
    page = new_page(browser)
    context = page.context
    try:
        poll = next(i for i, v in enumerate(TALK.views) if v.poll and i + 1 < len(TALK.views))
        page.goto(f"{app_server}/console?view={poll + 1}")
        wait_for_app(page)
        mine = console_frame(page)
        with context.expect_page() as popup_info:
            mine.get_by_role("button", name="Open the projector window").click()
        popup = popup_info.value
        shows_view(popup, poll)
        popup.locator("h1").first.click()  # the focus moves to the projector window
        popup.keyboard.press("PageDown")
        mine.wait_for_function(f"() => document.body.dataset.view === '{poll + 1}'", timeout=10_000)
        shows_view(popup, poll + 1)
        if TALK.views[poll + 1].page in ("read-along", "token-shift", "fading-memory"):  # its step-through takes the key
            step = stepper_frame(popup).evaluate("document.body.dataset.step")
            popup.locator("h1").first.click()
            popup.keyboard.press("PageDown")
            stepper_frame(popup).wait_for_function(f"() => document.body.dataset.step === '{int(step) + 1}'")
            assert mine.evaluate("document.body.dataset.view") == str(poll + 1)
    finally:
        context.close()


def test_previous_on_view_two_keeps_the_keyboards_focus(app_server, browser):
    """Previous becomes disabled on view 1: the focus goes to Next (a disabled button dropped it to the top)."""
    page = new_page(browser)
    try:
        page.goto(f"{app_server}/console")
        wait_for_app(page)
        frame = console_frame(page)
        frame.get_by_role("button", name="Next ▶").focus()
        page.keyboard.press("Enter")
        frame.wait_for_function("() => document.body.dataset.view === '1'")
        frame.get_by_role("button", name="◀ Previous").focus()
        page.keyboard.press("Enter")
        frame.wait_for_function("() => document.body.dataset.view === '0'")
        assert frame.evaluate("document.activeElement.id") == "next"
    finally:
        page.context.close()
