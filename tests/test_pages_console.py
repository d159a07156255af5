"""The presenter console (/console, app/present/console.py) in AppTest: it runs clean, shows the first view's
notes, embeds the talk for the browser, carries the presenter's room into the poll links, and says plainly
what is wrong with a bad talk file."""
from __future__ import annotations

import html
import json

from app.present import console
from app.present.talk import TALK_ENV, load_talk
from tests.app_helpers import no_exceptions, run_page
from tests.test_present_console import _TALK_RE

PAGE = "pages/console.py"


def console_srcdoc(at) -> str:
    frames = [el.proto.srcdoc for el in at.get("iframe") if 'id="talk"' in el.proto.srcdoc]
    assert len(frames) == 1, "expected one console component"
    return frames[0]


def embedded_talk(at) -> dict:
    return json.loads(_TALK_RE.search(console_srcdoc(at)).group(1))


def test_the_console_runs_clean_and_shows_the_first_views_notes(monkeypatch):
    monkeypatch.delenv(TALK_ENV, raising=False)
    at = run_page(PAGE)
    assert no_exceptions(at), [e.value for e in at.exception] + [e.value for e in at.error]
    talk = load_talk()
    srcdoc = console_srcdoc(at)
    first = talk.views[0]
    assert f'<p id="notes" data-testid="console-notes">{html.escape(first.notes)}</p>' in srcdoc
    assert html.escape(first.title) in srcdoc and f"View 1 of {len(talk.views)}" in srcdoc
    assert "Open the projector window" in srcdoc
    data = embedded_talk(at)
    assert data == json.loads(json.dumps(console.console_spec(talk)))
    assert [v["url"] for v in data["views"]] == [v.url(present=True) for v in talk.views]
    assert data["window"] == "rwkv-projector" and data["channel"] == "rwkv-explainer-talk"
    assert any(f"{len(talk.views)} views" in c.value for c in at.caption)


def test_with_a_room_the_poll_views_carry_its_code_and_key(monkeypatch):
    monkeypatch.delenv(TALK_ENV, raising=False)
    at = run_page(PAGE, {"room": "k7qx", "token": "Zx_9-abc", "view": "3"})
    assert no_exceptions(at)
    views = embedded_talk(at)["views"]
    polls = [v for v in views if v["poll"]]
    assert polls
    for v in polls:
        assert v["url"] == f"/room?room=K7QX&token=Zx_9-abc&ask={v['poll']}&present=1"
    assert all("token=" not in v["url"] for v in views if not v["poll"])
    assert "View 3 of" in console_srcdoc(at)  # ?view=3: a reload comes back to the same view
    assert any("K7QX" in s.value for s in at.success)


def test_without_a_room_the_poll_views_ask_for_one_and_odd_params_are_noted(monkeypatch):
    monkeypatch.delenv(TALK_ENV, raising=False)
    at = run_page(PAGE, {"room": "<b>hi</b>", "token": "x y", "view": "banana"})
    assert no_exceptions(at)
    polls = [v for v in embedded_talk(at)["views"] if v["poll"]]
    assert all(v["url"] == f"/room?ask={v['poll']}&present=1" for v in polls)
    notes = " ".join(i.value for i in at.info)
    assert "room code" in notes and "view number" in notes
    assert "View 1 of" in console_srcdoc(at)
    assert "<b>hi</b>" not in console_srcdoc(at)


def test_a_bad_talk_file_gives_a_plain_message_naming_the_line(monkeypatch, tmp_path):
    bad = tmp_path / "talk.toml"
    bad.write_text('title = "Mine"\n\n[[view]]\ntitle = "A"\npage = "moon"\nminutes = 1\n', encoding="utf-8")
    monkeypatch.setenv(TALK_ENV, str(bad))
    at = run_page(PAGE)
    assert len(at.exception) == 0
    assert len(at.error) == 1
    message = at.error[0].value
    assert "line 5" in message and "moon" in message and "Traceback" not in message
    assert not [el for el in at.get("iframe") if 'id="talk"' in el.proto.srcdoc]


def test_a_talk_from_the_environment_is_the_one_shown(monkeypatch, tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('title = "Mine"\n[[view]]\ntitle = "Only one"\npage = "caveats"\nminutes = 2\nnotes = "Hi."\n',
                    encoding="utf-8")
    monkeypatch.setenv(TALK_ENV, str(mine))
    at = run_page(PAGE)
    assert no_exceptions(at)
    assert [v["title"] for v in embedded_talk(at)["views"]] == ["Only one"]


def test_a_console_opened_from_the_menu_uses_the_room_this_browser_opened(monkeypatch):
    monkeypatch.delenv(TALK_ENV, raising=False)
    at = run_page(PAGE)
    at.session_state["room_keys"] = {"K7QX": "Zx_9-abc"}  # what the room page keeps when it opens a room
    at.run()
    assert no_exceptions(at)
    polls = [v for v in embedded_talk(at)["views"] if v["poll"]]
    assert polls and all(v["url"].startswith("/room?room=K7QX&token=Zx_9-abc&ask=") for v in polls)
    assert any("Polls go to room K7QX" in c.value for c in at.caption)


def test_with_session_room_keeps_a_links_room_and_refuses_odd_keys():
    opts = console.ConsoleParams(room="AAAA", token="t_1")
    assert console.with_session_room(opts, {"K7QX": "Zx_9-abc"}) is opts
    assert console.with_session_room(console.ConsoleParams(), {"K7QX": "x y"}).room is None
    assert console.with_session_room(console.ConsoleParams(), {}).room is None


def test_the_console_picks_a_ready_talk_and_keeps_it_in_its_link(monkeypatch):
    monkeypatch.delenv(TALK_ENV, raising=False)
    at = run_page(PAGE, {"view": "4"})
    assert at.radio(key="console_talk").value == "meetup"
    at.radio(key="console_talk").set_value("workshop").run()
    assert no_exceptions(at)
    workshop = load_talk("workshop")
    assert embedded_talk(at)["title"] == workshop.title
    assert f"View 1 of {len(workshop.views)}" in console_srcdoc(at)  # a new talk starts at its first view
    assert at.query_params.get("talk") in ("workshop", ["workshop"]) and "view" not in at.query_params
    assert any("ready workshop (45 minutes)" in c.value for c in at.caption)
    again = run_page(PAGE, {"talk": "workshop", "view": "2"})  # the link alone opens it (a reload, a 2nd tab)
    assert again.radio(key="console_talk").value == "workshop" and "View 2 of" in console_srcdoc(again)
    odd = run_page(PAGE, {"talk": "<script>"})
    assert no_exceptions(odd) and odd.radio(key="console_talk").value == "meetup"


def test_a_talk_file_set_by_the_server_has_no_picker(monkeypatch, tmp_path):
    talk_file = tmp_path / "mine.toml"
    talk_file.write_text('title = "Mine"\n[[view]]\ntitle = "A"\npage = "glossary"\nminutes = 1\nnotes = "Hi."\n')
    monkeypatch.setenv(TALK_ENV, str(talk_file))
    at = run_page(PAGE, {"talk": "workshop"})
    assert no_exceptions(at) and not [r for r in at.radio if r.key == "console_talk"]
    assert embedded_talk(at)["title"] == "Mine"
