"""The talk track (app/present/talk.py, app/present/talk.toml): the built-in talk is a ~15-minute meetup
talk whose every view is a link the app opens as written; a broken talk file names the line to fix."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.present import talk as tk
from app.present.talk import TalkError, View, load_talk, parse_talk

ROOT = Path(__file__).resolve().parent.parent
PAGE_RE = re.compile(r'st\.Page\("(pages/[a-z_]+\.py)"[^)]*url_path="([a-z-]+)"')


def app_pages() -> dict[str, Path]:
    """url path -> page script, from streamlit_app.py's page list."""
    source = (ROOT / "streamlit_app.py").read_text()
    return {url: ROOT / script for script, url in PAGE_RE.findall(source)}


def page_sources(url_path: str) -> str:
    """The code that reads a page's link: its script, plus the shared prompt box for the reading pages."""
    script = app_pages()[url_path].read_text()
    if "reading_context" in script:
        script += (ROOT / "app" / "reading.py").read_text() + (ROOT / "app" / "state.py").read_text()
    return script


VIEW_OK = '[[view]]\ntitle = "Fine"\npage = "glossary"\nminutes = 1\nnotes = "Say hi."\n'


def error_of(text: str) -> str:
    with pytest.raises(TalkError) as exc:
        parse_talk(text, source="my-talk.toml")
    return str(exc.value)


# ------------------------------------------------------------------ the built-in talk

def test_the_built_in_talk_is_a_fifteen_minute_talk_of_about_twelve_views():
    talk = load_talk()
    assert 10 <= len(talk.views) <= 14
    assert 13 <= talk.minutes <= 17
    assert talk.title
    for view in talk.views:
        assert view.title and view.notes, view
        assert 0.5 <= view.minutes <= 3, view
        assert view.line > 0


READY_TALKS = sorted(tk.BUILT_IN_TALKS)


def test_the_workshop_is_a_45_minute_talk_that_asks_every_poll_once():
    questions = pytest.importorskip("app.room.questions")
    talk = load_talk("workshop")
    assert 42 <= talk.minutes <= 48 and talk.source == "workshop.toml"
    polls = [v.poll for v in talk.views if v.poll]
    assert sorted(polls) == sorted(q.id for q in questions.QUESTIONS)
    assert talk.title != load_talk().title  # the console's tabs tell the talks apart by title
    for view in talk.views:
        assert view.title and view.notes and view.line > 0, view


def test_a_ready_talk_is_picked_by_name():
    assert load_talk("meetup") == load_talk() == load_talk(tk.BUILT_IN)
    assert tk.built_in_name(None) == tk.DEFAULT_TALK == "meetup"
    assert tk.built_in_name([" Workshop "]) == "workshop"
    assert tk.built_in_name("../etc/passwd") == "meetup"


@pytest.mark.parametrize("name", READY_TALKS)
def test_every_view_opens_a_page_in_the_apps_page_list(name):
    pages = app_pages()
    assert set(tk.PAGE_PARAMS) <= set(pages), set(tk.PAGE_PARAMS) - set(pages)
    assert tk.ROOM_PAGE in pages
    assert tk.DEFAULT_PAGE in pages and 'url_path="start", default=True' in (ROOT / "streamlit_app.py").read_text()
    for view in load_talk(name).views:
        assert view.page in pages, view


@pytest.mark.parametrize("url_path", sorted(tk.PAGE_PARAMS))
def test_the_params_a_talk_may_set_are_ones_the_page_reads(url_path):
    source = page_sources(url_path)
    for param in tk.PAGE_PARAMS[url_path]:
        assert f'"{param}"' in source, f"/{url_path} never reads {param!r} from its link"


@pytest.mark.parametrize("name", READY_TALKS)
def test_every_poll_is_a_question_of_the_room(name):
    questions = pytest.importorskip("app.room.questions")
    polls = [v for v in load_talk(name).views if v.poll]
    assert len(polls) >= 2
    for view in polls:
        assert questions.question(view.poll).id == view.poll


@pytest.mark.parametrize("name", READY_TALKS)
def test_every_link_opens_without_a_note_and_on_a_token_the_text_has(name):
    from app import loaders
    from app.state import parse_view, parse_write

    for view in load_talk(name).views:
        params = dict(view.params)
        parsed = parse_view(params)
        assert parsed.notes == [], (view.title, parsed.notes)
        assert parse_write(params)[1] == [], view.title
        if parsed.step is not None:
            written = int(params.get("write", 0))
            assert parsed.step <= len(loaders.encode(parsed.prompt)) + written, view.title


def test_the_links_open_the_views_as_written():
    urls = [v.url(present=True) for v in load_talk().views]
    assert urls[0] == "/?present=1"
    assert all(u.endswith("present=1") for u in urls)
    assert any(u.startswith("/read-along?prompt=") and "&step=" in u for u in urls)
    assert "/room?ask=memory-after-500&present=1" in urls


# ------------------------------------------------------------------ links

def test_url_encodes_any_text_safely():
    nasty = 'Tom & Sam = "friends"? #1 <script>alert(1)</script> 100% ünïcode\n🙂+'
    url = View("t", "read-along", (("prompt", nasty), ("step", "2"))).url(present=True)
    path, query = url.split("?", 1)
    assert path == "/read-along"
    assert re.fullmatch(r"[A-Za-z0-9%._~=&-]+", query), query  # nothing left unescaped
    assert parse_qsl(query) == [("prompt", nasty), ("step", "2"), ("present", "1")]


def test_a_poll_links_to_the_room_with_the_presenters_room_or_asks_for_one():
    view = View("Poll", "room", (), "", 1.0, poll="memory-after-500")
    assert view.url() == "/room?ask=memory-after-500"
    assert view.url(present=True) == "/room?ask=memory-after-500&present=1"
    url = view.url(present=True, room="K7QX", token="a&b=c")
    assert urlsplit(url).path == "/room"
    assert parse_qsl(urlsplit(url).query) == [("room", "K7QX"), ("token", "a&b=c"), ("ask", "memory-after-500"),
                                              ("present", "1")]
    assert View("Start", "start").url() == "/"


# ------------------------------------------------------------------ files and their errors

def test_a_copied_talk_file_loads(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('title = "Mine"\n' + VIEW_OK + '\n[[view]]\ntitle = "Race"\npage = "cost-race"\nminutes = 2\n'
                    '[view.params]\ntokens = 1024\n', encoding="utf-8")
    talk = load_talk(path)
    assert talk.title == "Mine" and talk.minutes == 3 and talk.source == str(path)
    assert [v.line for v in talk.views] == [2, 8]
    assert talk.views[1].url() == "/cost-race?tokens=1024"


def test_a_toml_syntax_error_names_its_line():
    msg = error_of('title = "T"\n\n[[view]]\ntitle = "A"\npage = glossary\nminutes = 1\n')
    assert msg.startswith("my-talk.toml, line 5:"), msg
    assert "not valid TOML" in msg


def test_an_unknown_page_names_the_line_of_its_page_setting():
    msg = error_of(VIEW_OK + '\n[[view]]\ntitle = "B"\nminutes = 1\npage = "moon"\n')
    assert msg.startswith("my-talk.toml, line 10 (view 2):"), msg
    assert '"moon"' in msg and "read-along" in msg


def test_an_unknown_poll_names_its_line():
    pytest.importorskip("app.room.questions")
    msg = error_of(VIEW_OK + '\n[[view]]\ntitle = "Q"\nminutes = 1\n\npoll = "no-such-question"\n')
    assert msg.startswith("my-talk.toml, line 11 (view 2):"), msg
    assert "no-such-question" in msg and "memory-after-500" in msg


def test_a_view_without_a_title_names_its_view_header_line():
    msg = error_of(VIEW_OK + '\n# the second view\n[[view]]\npage = "caveats"\nminutes = 1\n')
    assert msg.startswith("my-talk.toml, line 8 (view 2):"), msg
    assert "no title" in msg


def test_a_bad_step_names_the_line_that_sets_it():
    text = VIEW_OK + '\n[[view]]\ntitle = "R"\npage = "read-along"\nminutes = 1\n[view.params]\nprompt = "Hi"\nstep = "two"\n'
    msg = error_of(text)
    assert msg.startswith("my-talk.toml, line 13 (view 2):"), msg
    assert 'step "two"' in msg


@pytest.mark.parametrize("lines, line, words", [
    ('page = "caveats"\nminutes = 1\nnote = "typo"', 5, 'unknown setting "note"'),
    ('page = "caveats"\nminutes = 0', 4, "minutes"),
    ('page = "glossary"\nminutes = 1\nparams = { step = 2 }', 5, 'does not read "step"'),
    ('page = "at-scale"\nminutes = 1\nparams = { size = "2B" }', 5, 'size "2B"'),
    ('page = "cost-race"\nminutes = 1\nparams = { tokens = 5 }', 5, 'tokens "5"'),
    ('page = "read-along"\nminutes = 1\nparams = { prompt = "Hi", seed = 3 }', 5, "seed"),
    ('page = "read-along"\nminutes = 1\nparams = { present = 1 }', 5, '"present"'),
    ('poll = "memory-after-500"\npage = "read-along"\nminutes = 1', 4, "poll view"),
])
def test_other_mistakes_in_a_view_name_their_line(lines, line, words):
    msg = error_of('[[view]]\ntitle = "X"\n' + lines + "\n")
    assert msg.startswith(f"my-talk.toml, line {line} (view 1):"), msg
    assert words in msg, msg


def test_a_view_header_inside_the_notes_does_not_shift_the_line_numbers():
    text = ('[[view]]\ntitle = "A"\npage = "glossary"\nminutes = 1\nnotes = """\nSay this:\n[[view]]\n"""\n\n'
            '[[view]]\ntitle = "B"\npage = "nowhere"\nminutes = 1\n')
    assert tk.view_lines(text) == [1, 10]
    assert error_of(text).startswith("my-talk.toml, line 12 (view 2):")


def test_files_that_cannot_be_read_say_so(tmp_path):
    with pytest.raises(TalkError, match="no such talk file"):
        load_talk(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('title = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(TalkError, match="not UTF-8"):
        load_talk(latin)
    with pytest.raises(TalkError, match="line 1: the talk has no views"):
        parse_talk('title = "Empty"\n')


def test_the_talk_file_comes_from_the_environment_only():
    assert tk.talk_path({}) is None
    assert tk.talk_path({tk.TALK_ENV: " "}) is None
    assert tk.talk_path({tk.TALK_ENV: "/srv/talk.toml"}) == Path("/srv/talk.toml")


def test_notes_wrapped_in_the_file_become_paragraphs():
    talk = parse_talk('[[view]]\ntitle = "A"\npage = "caveats"\nminutes = 1\nnotes = """\nOne\nline.\n\nTwo.\n"""\n')
    assert talk.views[0].notes == "One line.\n\nTwo."


@pytest.mark.parametrize("name", READY_TALKS)
def test_the_speaker_notes_are_plain_words(name):
    pytest.importorskip("readability")
    pytest.importorskip("pyphen")
    from tests.test_plain_words import GRADE_MAX, grade

    views = load_talk(name).views
    assert grade("\n".join(v.notes for v in views)) <= GRADE_MAX
    assert max(grade(v.notes) for v in views) <= GRADE_MAX


def test_the_docstring_examples_hold():
    import doctest

    from app.present import console, slides

    for module in (tk, console, slides):
        assert doctest.testmod(module).failed == 0, module.__name__


@pytest.mark.parametrize("title_has, step_word", [("remembers the ball", "ball"), ("", "dog")])
def test_what_the_notes_say_the_model_guesses_is_its_top_guess(title_has, step_word):
    """The notes tell the presenter what to point at ("the top guess" is "ball"; "the model should guess dog"):
    those are facts about the shipped model at the view's step, so they are checked against it, not trusted."""
    from app import loaders

    talk = load_talk()
    views = [v for v in talk.views if v.page in ("read-along", "fading-memory") and step_word in v.notes
             and title_has in v.title.lower() and "step" in dict(v.params)]
    assert views, f"no view whose notes name {step_word!r}"
    for view in views:
        params = dict(view.params)
        trace = loaders.rwkv_trace(tuple(loaders.encode(params["prompt"])))
        step = int(params["step"]) - 1
        assert trace.top_pieces[step][0].strip() == step_word, (view.title, trace.top_pieces[step][:3])
