"""pages/room.py (the presenter) and pages/join.py (a phone), with AppTest.

Presenter and participants are separate AppTest sessions on the same store: `open_store()` is the SQLite file
in $RWKV_EXPLAINER_DATA (tests/conftest.py points it at a temporary folder), and the pages' `room_store()`
opens the same one. Fragments run inline in AppTest, so a plain `run()` is what a refresh would show.
"""
from __future__ import annotations

import datetime
import json
import re

import pytest

from app.room import questions, views
from app.room.store import ROOM_TTL, RoomStore, open_store
from tests.app_helpers import as_array, no_exceptions, run_page

APP_URL = "http://10.0.0.5:8501"
CODE_DIV = re.compile(r'data-testid="room-code">([^<]*)<')


# ------------------------------------------------------------------ helpers


def store() -> RoomStore:
    return open_store()


def a_question(n_options: int | None = None):
    for q in questions.QUESTIONS:
        if n_options is None or len(q.options) >= n_options:
            return q
    pytest.skip("no question with enough options")


def text_of(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for kind in ("info", "warning", "success", "error") for e in getattr(at, kind)]
    parts += [e.value for e in at.code]
    return "\n".join(str(p) for p in parts)


def warnings(at) -> str:
    return "\n".join(w.value for w in at.warning)


def param(at, key: str) -> str | None:
    value = at.query_params.get(key)
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def open_room_on_page():
    """The presenter opens a room with the button; returns (AppTest, code, token)."""
    at = run_page("pages/room.py")
    assert no_exceptions(at)
    at.context = {"url": APP_URL + "/room"}  # what a browser reports as st.context.url
    at.button(key="room_open").click().run()
    assert no_exceptions(at)
    code, token = param(at, "room"), param(at, "token")
    assert code and token
    return at, code, token


def ask(at, question) -> None:
    at.selectbox(key="room_pick").set_value(question.id)
    at.button(key="room_ask").click().run()
    assert no_exceptions(at)


def phone(code: str):
    at = run_page("pages/join.py", {"room": code})
    assert no_exceptions(at)
    return at


def vote_radio(at, code: str, question):
    return at.radio(key=f"vote__{code}__{question.id}")


def tally_shown(at) -> list[int]:
    """The counts on the presenter's tally chart (one bar per option)."""
    charts = [el for el in at.get("plotly_chart")]
    assert charts, "no tally chart on the page"
    spec = json.loads(charts[-1].proto.spec)
    return [int(v) for v in as_array(spec["data"][0]["x"])]


# ------------------------------------------------------------------ the pages


def test_no_room_yet_explains_and_opens_a_room_with_the_key_in_the_link_only():
    at, code, token = open_room_on_page()
    assert store().room(code).code == code
    assert store().is_presenter(code, token)
    html = "\n".join(m.value for m in at.markdown)
    assert CODE_DIV.search(html).group(1) == code  # the code in big type
    join = [c.value for c in at.code if "/join?" in c.value]
    assert join == [f"{APP_URL}/join?room={code}"]
    assert token not in join[0]  # the join link (and so the QR code) never holds the presenter key
    assert token not in html  # nor does anything in big type
    images = at.get("image")
    assert images and images[0].proto.imgs[0].url.endswith(".png"), "no QR code image (PNG: JPEG blurs it)"
    assert "presenter key" in text_of(at)


def test_join_vote_change_reveal_and_vote_after_reveal():
    presenter, code, token = open_room_on_page()
    q = a_question(2)
    ask(presenter, q)
    assert store().room(code).question_id == q.id

    alice, bob = phone(code), phone(code)
    assert q.prompt in "\n".join(m.value for m in alice.markdown)
    vote_radio(alice, code, q).set_value(0).run()
    assert no_exceptions(alice)
    assert "Your vote:" in text_of(alice)
    vote_radio(bob, code, q).set_value(1).run()
    assert store().tally(code, q.id)[:2] == [1, 1]

    vote_radio(alice, code, q).set_value(1).run()  # a changed vote replaces the first one
    assert store().tally(code, q.id)[:2] == [0, 2]
    presenter.run()  # what the tally's next refresh draws
    assert no_exceptions(presenter)
    shown = tally_shown(presenter)
    assert len(shown) == len(q.options) and shown[:2] == [0, 2] and sum(shown) == 2

    presenter.button(key="room_reveal_button").click().run()
    assert no_exceptions(presenter)
    assert store().room(code).revealed
    answer = q.answer()
    assert any("The answer" in s.value for s in presenter.success)
    assert views.plain_source(answer.source)[:30] in text_of(presenter).replace("\\", "")
    assert ".py" not in "".join(c.value for c in presenter.caption if c.value.startswith("Source:"))  # no code pointers

    vote_radio(bob, code, q).set_value(0).run()  # bob's phone still showed the question: too late now
    assert no_exceptions(bob)
    assert "closed" in warnings(bob)
    assert store().tally(code, q.id)[:2] == [0, 2]
    assert any("The answer" in s.value for s in bob.success)  # and the phone shows the reveal
    assert "Your vote:" in text_of(bob)

    alice.run()
    assert any("The answer" in s.value for s in alice.success)
    assert not [r for r in alice.radio if r.key and r.key.startswith("vote__")]


@pytest.mark.parametrize("raw", ["NOPE1", "zz", "<img src=x onerror=alert(1)>", "[x](http://e.vil)", "A" * 400])
def test_a_bad_code_gets_a_plain_message_and_the_form(raw):
    at = phone(raw)
    assert no_exceptions(at)
    message = warnings(at)
    assert "room" in message.lower() and "code" in message.lower()
    assert "<img" not in message.lower() and "](" not in message
    assert at.text_input(key="join_code") is not None


def test_typing_a_code_joins_the_room():
    _, code, _ = open_room_on_page()
    at = run_page("pages/join.py")
    assert not at.warning
    at.text_input(key="join_code").input(code.lower())  # typed, then sent with the form
    at.button[0].click().run()  # the form's Join button
    assert no_exceptions(at)
    assert param(at, "room") == code
    assert "Wait for the presenter" in text_of(at)


def test_an_expired_room_says_so_on_both_pages():
    past = datetime.datetime.now(datetime.timezone.utc) - ROOM_TTL - datetime.timedelta(minutes=5)
    old = RoomStore(store().engine, clock=lambda: past)  # the same database, a clock 12 hours behind
    room, token = old.create_room()
    for at in (phone(room.code), run_page("pages/room.py", {"room": room.code, "token": token})):
        assert no_exceptions(at)
        assert "has ended" in warnings(at)


def test_without_the_presenter_key_the_page_shows_the_phone_view():
    presenter, code, token = open_room_on_page()
    q = a_question(2)
    ask(presenter, q)
    for query in ({"room": code}, {"room": code, "token": "not-the-key"}):
        at = run_page("pages/room.py", query)
        assert no_exceptions(at)
        assert "presenter key" in warnings(at)
        assert not [b for b in at.button if b.key in ("room_ask", "room_reveal_button")]
        vote_radio(at, code, q).set_value(0).run()
        assert no_exceptions(at)
    assert sum(store().tally(code, q.id)) == 2


def test_ask_in_the_link_opens_that_question_once():
    _, code, token = open_room_on_page()
    q1, q2 = questions.QUESTIONS[0], questions.QUESTIONS[1]
    at = run_page("pages/room.py", {"room": code, "token": token, "ask": q1.id, "present": "1"})
    assert no_exceptions(at)
    assert store().room(code).question_id == q1.id
    assert param(at, "ask") is None and param(at, "present") == "1"
    assert at.selectbox(key="room_pick").value == q1.id
    ask(at, q2)  # the picker still works afterwards: the old link does not win
    assert store().room(code).question_id == q2.id

    at = run_page("pages/room.py", {"room": code, "token": token, "ask": "no-such-question"})
    assert no_exceptions(at)
    assert any("does not have" in i.value for i in at.info)
    assert store().room(code).question_id == q2.id

    at = run_page("pages/room.py", {"room": code, "ask": q1.id})  # no key: nothing is asked
    assert store().room(code).question_id == q2.id


def test_the_console_going_back_a_poll_view_shows_that_poll_as_it_was_left():
    """The console's Previous sends the projector the earlier poll's link (?ask=A): A's votes and its shown
    answer come back, not a new poll with no votes."""
    _, code, token = open_room_on_page()
    q1, q2 = [q for q in questions.QUESTIONS if len(q.options) >= 2][:2]
    projector = run_page("pages/room.py", {"room": code, "token": token, "ask": q1.id, "present": "1"})
    vote_radio(phone(code), code, q1).set_value(1).run()
    projector.run()
    projector.button(key="room_reveal_button").click().run()
    run_page("pages/room.py", {"room": code, "token": token, "ask": q2.id, "present": "1"})  # Next
    back = run_page("pages/room.py", {"room": code, "token": token, "ask": q1.id, "present": "1"})  # Previous
    assert no_exceptions(back)
    room = store().room(code)
    assert (room.question_id, room.revealed) == (q1.id, True) and store().tally(code, q1.id)[1] == 1
    assert not [b for b in back.button if b.key == "room_reveal_button"]


def test_asking_the_current_question_again_keeps_its_votes():
    presenter, code, token = open_room_on_page()
    q = a_question(2)
    ask(presenter, q)
    alice = phone(code)
    vote_radio(alice, code, q).set_value(1).run()
    run_page("pages/room.py", {"room": code, "token": token, "ask": q.id})
    assert store().tally(code, q.id)[1] == 1


def test_a_vote_on_a_question_the_presenter_left_is_refused_and_the_new_one_shows():
    presenter, code, token = open_room_on_page()
    q1, q2 = questions.QUESTIONS[0], questions.QUESTIONS[1]
    ask(presenter, q1)
    alice = phone(code)
    ask(presenter, q2)
    vote_radio(alice, code, q1).set_value(0).run()  # the phone had not refreshed yet
    assert no_exceptions(alice)
    assert "moved on" in warnings(alice)
    assert sum(store().tally(code, q2.id)) == 0
    assert vote_radio(alice, code, q2).value is None
    assert q2.prompt in "\n".join(m.value for m in alice.markdown)


def test_voting_too_fast_gets_a_plain_message():
    presenter, code, _ = open_room_on_page()
    q = a_question(2)
    ask(presenter, q)
    alice = phone(code)
    voter = alice.session_state["room_voter"]
    limiter = store().limiter
    while limiter.allow(voter):  # use up this voter's allowance
        pass
    vote_radio(alice, code, q).set_value(0).run()
    assert no_exceptions(alice)
    assert "very fast" in warnings(alice)
    assert sum(store().tally(code, q.id)) == 0
    assert vote_radio(alice, code, q).value is None  # the choice the store kept: none


class Broken:
    def room(self, code):
        raise OSError("disk on fire")


def cannot_open():
    raise OSError("no such database: disk on fire")


@pytest.mark.parametrize("page", ["pages/join.py", "pages/room.py"])
@pytest.mark.parametrize("store_of", [lambda: Broken(), cannot_open], ids=["store fails", "store cannot open"])
def test_a_store_failure_is_a_plain_message(monkeypatch, page, store_of):
    monkeypatch.setattr(views, "room_store", store_of)
    at = run_page(page, {"room": "ABCDE", "token": "x"})
    assert no_exceptions(at)
    assert "could not be reached" in warnings(at)
    assert "disk on fire" not in text_of(at)


# ------------------------------------------------------------------ pure pieces


def test_every_question_can_be_asked():
    assert len(questions.QUESTIONS) >= 8
    for q in questions.QUESTIONS:
        assert 2 <= len(q.options) <= 12, q.id


def test_projector_link_drops_the_key_from_the_address_but_keeps_presenting():
    """The console sends the projector `/room?room=…&token=…&ask=…&present=1`: the room must not be able to read
    the key off the screen, yet that window still asks, shows the tally and reveals."""
    _, code, token = open_room_on_page()
    q = a_question(2)
    at = run_page("pages/room.py", {"room": code, "token": token, "ask": q.id, "present": "1"})
    assert no_exceptions(at)
    assert param(at, "token") is None and param(at, "room") == code  # gone from the address bar
    assert store().room(code).question_id == q.id  # the link's question was asked with the key
    assert token not in text_of(at)  # and no presenter link box on the projector
    assert not [e for e in at.get("page_link") if "console" in str(e.proto)]
    at.run()  # a refresh: the session still holds the key
    assert no_exceptions(at)
    at.button(key="room_reveal_button").click().run()
    assert no_exceptions(at) and store().room(code).revealed


def test_a_projector_that_reloads_without_its_key_keeps_the_join_code_and_says_how_to_get_control_back():
    """The projector's address never holds the key: after a reload (a new session) it must not turn into a phone's
    voting form in front of the room."""
    presenter, code, token = open_room_on_page()
    q = a_question(2)
    ask(presenter, q)
    at = run_page("pages/room.py", {"room": code, "present": "1"})  # F5 on the projector
    assert no_exceptions(at)
    assert "lost the presenter key" in warnings(at) and "console" in warnings(at)
    assert code in text_of(at) and "/join?room=" + code in text_of(at)  # latecomers can still join
    assert q.prompt in text_of(at)
    assert not at.radio and not [b for b in at.button if b.key == "room_reveal_button"]
    plain = run_page("pages/room.py", {"room": code})  # not a projector: a visitor without the key may vote
    assert "cannot ask questions here" in warnings(plain) and plain.radio


def test_going_back_to_a_question_brings_its_votes_back_and_start_it_over_clears_them():
    """Ask A, vote, ask B, ask A again (a presenter stepping back in the talk): A comes back as it was left, the
    phone's vote still counted; the picker says so. "Start it over" clears A's votes, and the phone must then
    not say "Your vote" for a vote that no longer counts."""
    presenter, code, token = open_room_on_page()
    qs = [q for q in questions.QUESTIONS if len(q.options) >= 2][:2]
    ask(presenter, qs[0])
    alice = phone(code)
    vote_radio(alice, code, qs[0]).set_value(0).run()
    assert "Your vote:" in text_of(alice) and store().tally(code, qs[0].id)[0] == 1
    ask(presenter, qs[1])
    presenter.selectbox(key="room_pick").set_value(qs[0].id).run()
    assert "Asked before in this room: 1 vote, answer not shown yet." in text_of(presenter)
    presenter.button(key="room_ask").click().run()
    assert store().tally(code, qs[0].id)[0] == 1
    alice.run()  # the phone's next refresh
    assert no_exceptions(alice) and "Your vote:" in text_of(alice)
    assert vote_radio(alice, code, qs[0]).value == 0
    presenter.button(key="room_ask_fresh").click().run()
    assert no_exceptions(presenter) and sum(store().tally(code, qs[0].id)) == 0
    alice.run()
    assert no_exceptions(alice)
    assert "Your vote:" not in text_of(alice)
    assert vote_radio(alice, code, qs[0]).value is None


def test_a_revealed_question_asked_again_later_shows_its_answer_on_phones():
    """A revealed, then B, then back to A: phones show A's answer and their old vote again, no voting form."""
    presenter, code, token = open_room_on_page()
    qs = [q for q in questions.QUESTIONS if len(q.options) >= 2][:2]
    ask(presenter, qs[0])
    alice = phone(code)
    vote_radio(alice, code, qs[0]).set_value(0).run()
    presenter.button(key="room_reveal_button").click().run()
    ask(presenter, qs[1])
    alice.run()
    assert vote_radio(alice, code, qs[1]).value is None
    ask(presenter, qs[0])
    alice.run()
    assert no_exceptions(alice)
    assert not [r for r in alice.radio if r.key == f"vote__{code}__{qs[0].id}"]
    assert "The answer" in text_of(alice) or "answer" in text_of(alice).lower()
    assert not [b for b in presenter.button if b.key == "room_reveal_button"]  # its answer is shown
    presenter.selectbox(key="room_pick").set_value(qs[1].id).run()
    assert "Asked before in this room: no votes yet, answer not shown yet." in text_of(presenter)


def test_a_phone_that_missed_a_restart_in_between_still_redraws():
    """Start it over between two of a phone's 2 s looks: the question and its "revealed" flag read the same as
    before, but the votes were cleared, so what the watcher compares must differ and the phone redraws."""
    presenter, code, token = open_room_on_page()
    qs = [q for q in questions.QUESTIONS if len(q.options) >= 2][:2]
    ask(presenter, qs[0])
    vote_radio(phone(code), code, qs[0]).set_value(0).run()
    seen_by_phone = views._drawn_state(store().room(code))
    presenter.button(key="room_ask_fresh").click().run()
    now = views._drawn_state(store().room(code))
    assert now[:2] == seen_by_phone[:2] and now != seen_by_phone


def test_on_a_projector_the_poll_fits_one_screen_reveal_above_the_votes_and_the_why_above_the_tally():
    _, code, token = open_room_on_page()
    q = a_question(2)
    presenter = run_page("pages/room.py", {"room": code, "token": token, "present": "1"})
    assert not any("Ask the room a question" in m.value for m in presenter.markdown)  # on the very first run too
    ask(presenter, q)
    assert not any("Ask the room a question" in m.value for m in presenter.markdown)  # no lead on a projector

    def order(at) -> list[str]:
        """Every element in page order: a widget's key, a Markdown's text, else the element's type."""
        seen = []

        def walk(node):
            for child in getattr(node, "children", {}).values():
                seen.append(getattr(child, "key", None) or (child.value if child.type == "markdown" else child.type))
                walk(child)
        walk(at.main)
        return seen

    shown = order(presenter)
    assert shown.index("room_reveal_button") < shown.index("room_tally")
    count = [i for i, e in enumerate(shown) if 'data-testid="room-count"' in e and "0 votes so far, 0 phones joined" in e]
    assert count and count[0] < shown.index("room_tally")  # the count beside Reveal, above the chart
    presenter.button(key="room_reveal_button").click().run()
    assert no_exceptions(presenter)
    shown = order(presenter)
    why = views.answer_for(q).explanation.split(".")[0][:30]
    at_why = next(i for i, el in enumerate(shown) if why in str(el))
    assert "iframe" in shown[at_why:] and "iframe" not in shown[:at_why]  # the why, then the revealed votes
    regular = run_page("pages/room.py", {"room": code, "token": token})
    assert any("Ask the room a question" in m.value for m in regular.markdown)


def test_a_poll_view_sent_before_a_room_is_open_points_to_the_console_which_opens_one(monkeypatch):
    """A room opened on the projector's poll view was that window's alone: the console did not know it, and
    the next poll view asked for a new room (the phones stayed in the first). Now the projector says where to
    open it, and the console's own button opens it for every poll view."""
    from app.present.talk import TALK_ENV
    from tests.test_pages_console import embedded_talk

    monkeypatch.delenv(TALK_ENV, raising=False)
    q = a_question(2)
    projector = run_page("pages/room.py", {"ask": q.id, "present": "1"})
    assert no_exceptions(projector)
    assert "Open a room for the polls" in text_of(projector)
    assert not [b for b in projector.button if b.key == "room_open"]

    console = run_page("pages/console.py")
    assert no_exceptions(console)
    console.button(key="console_open_room").click().run()
    assert no_exceptions(console)
    code, token = param(console, "room"), param(console, "token")
    assert store().room(code) is not None and store().is_presenter(code, token)
    assert console.session_state["room_keys"][code] == token
    polls = [v for v in embedded_talk(console)["views"] if v["poll"]]
    assert polls and all(f"room={code}" in v["url"] and "ask=" in v["url"] for v in polls)
    assert not [b for b in console.button if b.key == "console_open_room"]  # one room per talk


def test_the_talks_last_view_gives_the_room_the_apps_address():
    """The glossary is the talk's last view ("Your turn"): on a projector it shows a square code and the
    address of Read along, so people try their own sentences; a reader's glossary does not."""
    at = run_page("pages/glossary.py", {"present": "1"})
    at.context = {"url": APP_URL + "/glossary"}
    at.run()
    assert no_exceptions(at)
    assert "Try it on your phone" in text_of(at)
    assert [c.value for c in at.code] == [APP_URL + "/read-along"]
    assert at.get("imgs") or at.get("image")
    plain = run_page("pages/glossary.py")
    plain.context = {"url": APP_URL + "/glossary"}
    plain.run()
    assert "Try it on your phone" not in text_of(plain) and not plain.code


def test_the_live_tally_tells_a_screen_reader_the_count():
    """The tally redraws silently: its caption carries an unseen status line ("0 votes so far") that a screen
    reader says when it changes."""
    presenter, code, token = open_room_on_page()
    ask(presenter, a_question(2))
    status = [c.value for c in presenter.caption if 'role="status"' in c.value]
    assert len(status) == 1 and '<span class="room-sr-only" role="status">0 votes so far, 0 phones joined</span>' \
        in status[0]


def test_the_presenter_sees_how_many_phones_joined():
    """Each phone counts once, however often it reruns, before and after a question is asked."""
    presenter, code, token = open_room_on_page()
    assert "(0 phones joined so far)" in text_of(presenter)
    alice = phone(code)
    alice.run()
    alice.run()
    presenter.run()
    assert "(1 phone joined so far)" in text_of(presenter)
    phone(code)
    ask(presenter, a_question(2))
    assert "0 votes so far, 2 phones joined" in text_of(presenter)


def test_the_presenter_downloads_the_rooms_results():
    presenter, code, token = open_room_on_page()
    assert not [e for e in presenter.expander if "Results of this room" in e.label]  # nothing asked yet
    q1, q2 = [q for q in questions.QUESTIONS if len(q.options) >= 2][:2]
    ask(presenter, q1)
    vote_radio(phone(code), code, q1).set_value(q1.answer().correct[0]).run()
    presenter.run()
    presenter.button(key="room_reveal_button").click().run()
    ask(presenter, q2)
    assert no_exceptions(presenter)
    panel = [e for e in presenter.expander if "Results of this room: 2 questions asked" in e.label]
    assert panel
    table = presenter.dataframe[0].value
    assert list(table["Question"]) == [q1.prompt, q2.prompt]
    assert list(table["Votes"]) == [1, 0] and list(table["Got it right"]) == ["100%", "answer not shown yet"]
