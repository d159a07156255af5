"""A talk track: the views of a talk, in order, each an exact deep link into the app with speaker notes.

A talk is a TOML file (the built-in one is `app/present/talk.toml`; copy it, edit it, and pass it with
`RWKV_EXPLAINER_TALK=/path/talk.toml python -m app.serve` or `python -m app.slides --talk FILE`):

    title = "RWKV in 15 minutes"

    [[view]]
    title = "Watch it read"
    page = "read-along"          # a page's url path
    minutes = 2
    notes = "Press Next three times. Point at the memory chart: it does not grow."
    params = { prompt = "Tom had a red ball.", step = 4 }

    [[view]]
    title = "Poll: does the memory grow?"
    poll = "memory-grows"        # a question id from app/room/questions.py; opens the room page
    minutes = 1

Every problem in a file is a `TalkError` whose message names the file and the line to fix.

Example:
    >>> talk = parse_talk('[[view]]\\ntitle = "Hi"\\npage = "read-along"\\nminutes = 1\\n'
    ...                   'params = { prompt = "A cat sat.", step = 2 }\\n')
    >>> talk.views[0].url(present=True)
    '/read-along?prompt=A%20cat%20sat.&step=2&present=1'
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

BUILT_IN = Path(__file__).resolve().parent / "talk.toml"
# The ready talks: a name (the console's `?talk=`, `python -m app.slides --talk NAME`) -> (label, file).
BUILT_IN_TALKS: dict[str, tuple[str, Path]] = {
    "meetup": ("Meetup talk (15 minutes)", BUILT_IN),
    "workshop": ("Workshop (45 minutes)", BUILT_IN.parent / "workshop.toml"),
}
DEFAULT_TALK = "meetup"
TALK_ENV = "RWKV_EXPLAINER_TALK"  # the console's talk file (a server path: set by whoever starts the server)

# Every page a talk may open (url path → the query parameters that page reads). The room page is reached
# through `poll = "…"` only, and join/console are not things to show a room.
PAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "start": (),
    "read-along": ("prompt", "step", "write", "temperature", "seed"),
    "token-shift": ("prompt", "step"),
    "fading-memory": ("prompt", "step"),
    "cost-race": ("tokens",),
    "at-scale": ("size", "context", "gqa"),
    "caveats": (),
    "glossary": (),
}
DEFAULT_PAGE = "start"  # streamlit_app.py's default page: its url is "/"
ROOM_PAGE = "room"
VIEW_KEYS = ("title", "page", "params", "notes", "minutes", "poll")
MAX_MINUTES = 60
_POLL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class TalkError(ValueError):
    """A talk file that cannot be used; the message names the file and line, in plain words."""


@dataclass(frozen=True)
class View:
    """One stop of a talk: a page with its settings (or a poll), what to say, and how long.

    >>> View("Cost", "cost-race", (("tokens", "1024"),), "Say it.", 1.0).url(present=True)
    '/cost-race?tokens=1024&present=1'
    >>> View("Poll", "room", (), "", 1.0, poll="q1").url(True, room="AB12", token="t&k")
    '/room?room=AB12&token=t%26k&ask=q1&present=1'
    """

    title: str
    page: str
    params: tuple[tuple[str, str], ...] = ()
    notes: str = ""
    minutes: float = 1.0
    poll: str | None = None
    line: int = 0  # the line of its [[view]] header in the talk file (0: not from a file)

    def url(self, present: bool = False, room: str | None = None, token: str | None = None) -> str:
        """The view's link, relative to the app's address. A poll links to the room page: with the
        presenter's room code and token when a room is open, else with the question alone (the room page
        then asks the presenter to open a room first)."""
        pairs = list(self.params)
        if self.poll is not None:
            pairs = [(k, v) for k, v in (("room", room), ("token", token)) if v] + [("ask", self.poll)]
        if present:
            pairs.append(("present", "1"))
        path = "/" if self.page == DEFAULT_PAGE else "/" + self.page
        return path + ("?" + urlencode(pairs, quote_via=quote, safe="") if pairs else "")


@dataclass(frozen=True)
class Talk:
    title: str
    views: tuple[View, ...]
    source: str = "talk.toml"

    @property
    def minutes(self) -> float:
        """Planned length in minutes (the views' minutes added up)."""
        return sum(v.minutes for v in self.views)


def talk_path(env: dict | None = None) -> Path | None:
    """The talk file named by RWKV_EXPLAINER_TALK, or None for the built-in talk.

    >>> talk_path({"RWKV_EXPLAINER_TALK": "/tmp/my.toml"})
    PosixPath('/tmp/my.toml')
    """
    value = (os.environ if env is None else env).get(TALK_ENV, "").strip()
    return Path(value).expanduser() if value else None


def built_in_name(raw) -> str:
    """A ready talk's name from a link (`?talk=`): one of BUILT_IN_TALKS, else the default.

    >>> built_in_name("workshop"), built_in_name(["meetup", "workshop"]), built_in_name("<b>")
    ('workshop', 'workshop', 'meetup')
    """
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else None
    name = str(raw or "").strip().lower()
    return name if name in BUILT_IN_TALKS else DEFAULT_TALK


def load_talk(path: str | Path | None = None) -> Talk:
    """Read and check a talk file: a path, a ready talk's name ("meetup", "workshop") or None (the meetup
    talk). Raises TalkError naming the line."""
    if isinstance(path, str) and path in BUILT_IN_TALKS:
        path = BUILT_IN_TALKS[path][1]
    path = Path(path) if path is not None else BUILT_IN
    built_in = path in {file for _, file in BUILT_IN_TALKS.values()}
    name = path.name if built_in else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TalkError(f"{name}: there is no such talk file.") from None
    except UnicodeDecodeError:
        raise TalkError(f"{name}: the file is not UTF-8 text (save it as UTF-8).") from None
    except OSError as exc:
        raise TalkError(f"{name}: the talk file could not be read ({exc.strerror or exc}).") from None
    return parse_talk(text, source=name)


def parse_talk(text: str, source: str = "talk.toml") -> Talk:
    """A talk from the text of a TOML file; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = toml_error_line(str(exc), text)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise TalkError(f"{source}, line {line}: this is not valid TOML ({reason}).") from None
    heads = view_lines(text)
    unknown = sorted(set(data) - {"title", "view"})
    if unknown:
        key = unknown[0]
        raise TalkError(f"{source}, line {key_line(text, 1, len(text.splitlines()), key) or 1}: "
                        f'unknown setting "{key}" (a talk has a title and [[view]] sections).')
    views = data.get("view")
    if not isinstance(views, list) or not views:
        raise TalkError(f"{source}, line 1: the talk has no views (add [[view]] sections).")
    title = data.get("title", "Talk")
    if not isinstance(title, str) or not title.strip():
        raise TalkError(f"{source}, line {key_line(text, 1, heads[0] if heads else 1, 'title') or 1}: "
                        "the talk's title must be some text.")
    lines = text.splitlines()
    out = []
    for i, raw in enumerate(views):
        head = heads[i] if len(heads) == len(views) else 0
        end = heads[i + 1] - 1 if head and i + 1 < len(heads) else len(lines)
        out.append(_view(raw, i, text, head, end, source))
    return Talk(title=title.strip(), views=tuple(out), source=source)


def _view(raw, i: int, text: str, head: int, end: int, source: str) -> View:
    """One checked view; `head`..`end` are its lines in the file (head 0: unknown)."""
    def fail(problem: str, key: str | None = None) -> TalkError:
        line = (key_line(text, head, end, key) if key and head else 0) or head or 1
        return TalkError(f"{source}, line {line} (view {i + 1}): {problem}")

    if not isinstance(raw, dict):
        raise fail("a view must be a [[view]] section.")
    for key in raw:
        if key not in VIEW_KEYS:
            raise fail(f'unknown setting "{key}" (a view has {", ".join(VIEW_KEYS)}).', key)
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("the view has no title (add a line: title = \"…\").", "title")
    notes = raw.get("notes", "")
    if not isinstance(notes, str):
        raise fail("notes must be text (use \"\"\" … \"\"\" for several lines).", "notes")
    minutes = raw.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= MAX_MINUTES:
        raise fail(f"minutes must be a number above 0 and at most {MAX_MINUTES} (how long you plan to stay "
                   "on this view).", "minutes")
    poll = raw.get("poll")
    if poll is not None:
        if ("page" in raw and raw["page"] != ROOM_PAGE) or "params" in raw:
            raise fail("a poll view opens the room page: give it poll, title, notes and minutes only.",
                       "page" if "page" in raw else "params")
        problem = poll_problem(poll)
        if problem:
            raise fail(problem, "poll")
        return View(title.strip(), ROOM_PAGE, (), tidy_notes(notes), float(minutes), poll, head)
    page = raw.get("page")
    pages = f"pages: {', '.join(PAGE_PARAMS)}; for a poll use poll = \"QUESTION_ID\""
    if page is None:
        raise fail(f'the view has no page (add a line: page = "read-along"; {pages}).')
    if not isinstance(page, str) or page not in PAGE_PARAMS:
        raise fail(f'page "{page}" is not a page a talk can open ({pages}).', "page")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise fail("params must be a table, e.g. params = { prompt = \"Hi\", step = 2 }.", "params")
    pairs = []
    for key, value in params.items():
        if key not in PAGE_PARAMS[page]:
            reads = ", ".join(PAGE_PARAMS[page]) or "no settings"
            raise fail(f'the {page} page does not read "{key}" from its link (it reads {reads}).', key)
        if isinstance(value, (dict, list)) or value is None:
            raise fail(f"{key} must be a single value.", key)
        pairs.append((key, param_text(value)))
    problem = params_problem(page, dict(pairs))
    if problem:
        raise fail(problem[1], problem[0])
    return View(title.strip(), page, tuple(pairs), tidy_notes(notes), float(minutes), None, head)


def tidy_notes(notes: str) -> str:
    """Speaker notes as paragraphs: lines wrapped in the file are joined, a blank line starts a new paragraph.

    >>> tidy_notes("Say hi.\\nPoint at\\nthe chart.\\n\\n  Then wait. ")
    'Say hi. Point at the chart.\\n\\nThen wait.'
    """
    paragraphs = re.split(r"\n\s*\n", notes.strip())
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines() if line.strip())
                       for p in paragraphs if p.strip())


def param_text(value) -> str:
    """A TOML value as it goes into a link.

    >>> [param_text(v) for v in (4, 0.8, True, "Hi")]
    ['4', '0.8', 'on', 'Hi']
    """
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def params_problem(page: str, params: dict[str, str]) -> tuple[str, str] | None:
    """(key, plain problem) for a setting the page would not accept as given, or None. The pages' own
    parsers decide, so a talk can only hold links the app opens without a note."""
    from app.state import MAX_PROMPT_CHARS, MAX_TOKENS, parse_step, parse_write

    if "prompt" in params and not params["prompt"].strip():
        return "prompt", "prompt is empty (leave it out for the app's default text)."
    if "prompt" in params and len(params["prompt"]) > MAX_PROMPT_CHARS:
        return "prompt", f"prompt is longer than {MAX_PROMPT_CHARS:,} characters."
    if "step" in params:
        step, notes = parse_step(params["step"])
        if notes or step is None or step > MAX_TOKENS:
            return "step", f'step "{params["step"]}" is not a whole number from 1 to {MAX_TOKENS}.'
    write_keys = [k for k in ("write", "temperature", "seed") if k in params]
    if write_keys and parse_write(params)[1]:
        return write_keys[0], ("write must be 5–60 tokens, temperature 0–1.5 and seed 0–9999, and temperature or "
                               "seed only come with write.")
    if page == "cost-race" and "tokens" in params:
        from app.texts_cost import parse_tokens_param

        if parse_tokens_param(params["tokens"])[1]:
            return "tokens", f'tokens "{params["tokens"]}" is not a race length from 64 to 8,192.'
    if page == "at-scale":
        from app.texts_cost import parse_scale_params

        problems = {"size": f'size "{params.get("size")}" is not a model size (169M, 430M, 1.5B, 3B, 7B, 14B).',
                    "context": f'context "{params.get("context")}" is not a power of two from 1024 to 1048576.',
                    "gqa": f'gqa "{params.get("gqa")}" is not on or off.'}
        for key, problem in problems.items():
            alone = {k: params.get(k) if k == key else None for k in problems}
            if key in params and parse_scale_params(alone["size"], alone["context"], alone["gqa"])[3]:
                return key, problem
    return None


def poll_problem(poll) -> str | None:
    """A plain problem with a poll id, or None. Ids are checked against app/room/questions.py when it
    is there."""
    if not isinstance(poll, str) or not _POLL_ID.fullmatch(poll):
        return "poll must be a question id (letters, digits, - and _)."
    try:
        from app.room.questions import QUESTIONS, question
    except ImportError:
        return None
    try:
        question(poll)
    except KeyError:
        known = ", ".join(q.id for q in QUESTIONS)
        return f'there is no question "{poll}" (questions: {known}).'
    return None


def toml_error_line(message: str, text: str) -> int:
    """The line a tomllib error points at (its message says "at line L, column C" or "at end of document").

    >>> toml_error_line("Expected '=' (at line 3, column 7)", "")
    3
    """
    found = re.search(r"at line (\d+)", message)
    if found:
        return int(found.group(1))
    return max(1, len(text.splitlines()))


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) for the lines outside multi-line strings, comments dropped: where TOML
    headers and keys can be."""
    out, quote_mark = [], None
    for n, line in enumerate(text.splitlines(), 1):
        rest = line
        if quote_mark:
            close = rest.find(quote_mark)
            if close < 0:
                continue
            rest, quote_mark = rest[close + 3:], None
        code = _strip_strings(rest)
        if code.count('"""') % 2 or code.count("'''") % 2:  # a multi-line string opens here
            quote_mark = '"""' if code.rfind('"""') > code.rfind("'''") else "'''"
            code = code[:code.rfind(quote_mark)]
        out.append((n, code.split("#", 1)[0]))
    return out


def _strip_strings(line: str) -> str:
    """A line with its one-line strings emptied, so a "#" or "[[view]]" inside quotes is not seen."""
    line = re.sub(r'"""(?:[^"\\]|\\.|"(?!""))*"""', '""', line)
    line = re.sub(r"'''.*?'''", "''", line)
    line = re.sub(r'"(?:[^"\\\n]|\\.)*"(?!")', '""', line)
    return re.sub(r"'[^'\n]*'(?!')", "''", line)


def view_lines(text: str) -> list[int]:
    """The line number of every [[view]] header, in order.

    >>> view_lines("title = 'T'\\n[[view]]\\nnotes = '''\\n[[view]]\\n'''\\n[[ view ]]\\n")
    [2, 6]
    """
    return [n for n, code in _code_lines(text) if re.match(r"\s*\[\[\s*view\s*\]\]", code)]


def key_line(text: str, start: int, end: int, key: str) -> int:
    """The first line from `start` to `end` (1-based, inclusive) where `key = …` is set, or 0."""
    pattern = re.compile(r"(^|[\s{,.])" + re.escape(key) + r"\s*=")
    for n, code in _code_lines(text):
        if start <= n <= end and pattern.search(code):
            return n
    return 0
