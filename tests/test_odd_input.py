"""Odd input at volume (issue #7, item 10): property-based tests with Hypothesis.

Generated prompts (any Unicode but lone surrogates: control characters, NUL, right-to-left and
bidi marks, combining marks, emoji ZWJ sequences, astral characters; empty, whitespace-only, over
4,000 characters and over 512 tokens; `<script>`, `</script>`, `{{`, `$$`, Markdown and LaTeX
specials, `[[glossary]]` brackets) and query-parameter sets for every page (`prompt`, `step` on the
reading pages, `write`, `temperature`, `seed` on /read-along; `tokens` on /cost-race; `size`,
`context`, `gqa` on /at-scale; `present` and `embed` everywhere; wrong types, repeated keys, huge,
negative, float, NaN/inf and empty values, other pages' keys) go through the real app with
Streamlit's AppTest, and the pure parsers get many more examples directly.

The property: no exception and no `st.error`; every bad value gets its visible note (`st.info` or
`st.warning`, the texts of app/state.py, app/reading.py and app/texts_cost.py), exactly once, and a
good link gets none; notes quote the visitor's text escaped (no live Markdown or HTML, no control
characters) and stay short; the view shown (widgets, stepper start, address bar) is the one the
notes describe.

Budget: the normal run (`python -m pytest -q`, CI) draws a fixed, derandomized set of examples per
test and takes well under a minute after the models load. `ODD_INPUT_EXAMPLES=N` runs N generated
prompts through the reading pages (N/5 parameter sets each for /cost-race and /at-scale, N/10 for
the other pages, 5·N for each pure parser), e.g. `ODD_INPUT_EXAMPLES=1000 python -m pytest -q
tests/test_odd_input.py` (10 to 20 minutes on 2 shared cores). Add `--hypothesis-show-statistics` to see
how many examples each test ran.

/cost-race must not time a real race here (seconds to minutes each): the `quick_race` fixture gives
its race runner a made-up stored race and a measurement that never runs (see there).

Gaps this file found and that are now closed, each with a test at the end: a `present` value that is
not on/off is noted; a repeated `prompt` or `step` with different values is noted; a `step` inside
the written text (`?write=60&step=50`) reopens there. (The property tests still accept a page that
says nothing about them, so each of these has its own test.)
"""
from __future__ import annotations

import copy
import os
import re
import threading
import time
import unicodedata
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from app import escape, state
from app import texts_cost as tx
from app.texts import DEFAULT_PROMPT, EMPTY_PROMPT_HINT
from model import cost
from model.tokenizer import load_tokenizer
from tests.app_helpers import page_title, run_page, stepper_specs

# ------------------------------------------------------------------ budget

FULL = int(os.environ.get("ODD_INPUT_EXAMPLES", "0") or 0)


def budget(normal: int, share: float = 1.0) -> int:
    """Examples for one test: `normal` in the ordinary run, `share` × ODD_INPUT_EXAMPLES when set."""
    return max(normal, int(FULL * share)) if FULL else normal


def examples(normal: int, share: float = 1.0):
    return settings(
        max_examples=budget(normal, share),
        derandomize=True,  # the same examples on every run: CI is deterministic
        database=None,  # nothing written to .hypothesis/ in a shared checkout
        deadline=None,  # page runs take 0.1 s to seconds on a busy box; never a timing assert
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                               HealthCheck.filter_too_much],
    )


# ------------------------------------------------------------------ odd text

ODD_CHARS = (
    "\x00\x01\x07\x08\x0b\x0c\x1b\x1c\x7f\x85\t\n\r \u00a0\u00ad"  # controls, NUL, NEL, soft hyphen
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # ZW*, bidi
    "\u2028\u2029\ufeff\ufffd\ufffe\u3000"  # separators, BOM, replacement, noncharacter, ideographic space
    "\u0301\u0308\u0336\u0489\u20dd\u302a"  # combining marks
    "😀👍🏽🇫\U0001f1f7\U0001d54f\U00010348\U00013000\U000e0041\U0010fffd"  # astral, tags, plane 16 private use
    "中文한국어ﾃｽﾄ" "العربية" "עברית" "ไทย" "देवनागरी" "Ωß€"  # scripts, RTL
    "<>&\"'`$\\{}[]()*_#|~!:%+=;@^"  # every Markdown / LaTeX / HTML special
)
FRAGMENTS = [
    "<script>alert(1)</script>", "</script>", "<!--", "-->", "<img src=x onerror=alert(1)>", "<b>bold</b>",
    "&amp;", "&#x3C;", "&lt;", "{{", "}}", "{{7*7}}", "{%", "$$", "$x^2$", "$$\\frac{1}{2}$$", "\\(", "\\)",
    "\\[", "\\]", "\\begin{align}", "\\end{align}", "\\textbf{x}", "%", "%00", "%2F", "%E2%80%AE", "+", "&a=b",
    "[[state]]", "[[KV cache]]", "[[states|state]]", "[[", "]]", "[[nope]]", "[[<b>|state]]",
    "[x](http://e.vil)", "![i](http://e.vil/i.png)", "<http://e.vil>", "**bold**", "__u__", "*", "_", "~~s~~",
    "`code`", "```", "# Heading", "> quote", "- item", "1. item", "| a | b |", "---", "***", ":red[alert]",
    ":smile:", ":material/home:", "\\", "'", '"', "javascript:alert(1)", "data:text/html,x",
    "👩‍👩‍👧‍👦", "🏳️‍🌈", "👨🏽‍💻", "🇫🇷", "e\u0301", "Z\u0334\u0327\u031ba\u0336l\u0337g\u0338o", "\u202eevil\u202c",
    "\u2067שלום\u2069", "مرحبا", "Once upon a time", " ", "\n\n", "\r\n", "\x00", "\t",
]
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u00a0\u1680\u2000\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

# Long texts share their first 512 tokens, so the (cached) traces are computed once per page; the
# random tail keeps every example different. LONG_CHARS is cut at 4,000 characters, LONG_TOKENS is
# not, and both have more than 512 tokens.
_UNIT = ("Once upon a time <script>alert(1)</script> a cat 👩‍👩‍👧‍👦 שלום $$x^2$$ [[state]] {{x}} "
         "e\u0301\u200f\u202e! ")
LONG_CHARS = _UNIT * (4400 // len(_UNIT) + 1)
LONG_TOKENS = LONG_CHARS[:3000]

short_any = st.text(max_size=60)  # Hypothesis' default alphabet: every code point but surrogates
short_odd = st.text(alphabet=st.sampled_from(ODD_CHARS), max_size=40)
markup = st.lists(st.one_of(st.sampled_from(FRAGMENTS), short_odd), max_size=6).map("".join)
whitespace = st.text(alphabet=st.sampled_from(WHITESPACE), max_size=20)
long_cheap = st.tuples(st.sampled_from([LONG_CHARS, LONG_TOKENS]), short_any).map("".join)
long_random = st.tuples(st.text(min_size=1, max_size=12), short_any).map(
    lambda t: t[0] * (4100 // len(t[0]) + 1) + t[1])  # > 4,000 characters, new tokens (a fresh trace, seconds)

# Weighted: long texts cost up to ~10 s each on the fading memory page, so they are rare.
prompts = st.sampled_from(
    [st.just(""), whitespace, short_any, short_any, short_odd, short_odd, markup, markup, markup, long_cheap]
    + ([long_random] if FULL else [])  # the ordinary run keeps to the cached long texts
).flatmap(lambda s: s)


def numbers(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Raw values for a whole-number query parameter: valid ones and every odd shape."""
    return st.one_of(
        valid.map(str),
        st.integers().map(str),
        st.integers(min_value=10**12, max_value=10**60).map(lambda n: str(n) if n % 3 else f"-{n}"),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["", " ", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e3", "1E+2", "0x10", "0b1",
                         "1_000", "+3", " 3 ", "03", "３", "٣", "3.0", "3,000", "1/2", "true", "null", "None",
                         "[]", "{}", "<script>", "$$", "%20", "\x00", "3\x00", "9" * 5000, "-" + "9" * 5000,
                         "1" + "0" * 4299, "2**64", "18446744073709551616", "-0", "⁴", "½"]),
        short_odd,
    )


switches = st.one_of(st.sampled_from(["", "1", "0", "on", "off", "true", "false", "yes", "no", "ON", "True", " 1",
                                      "2", "-1", "nan", "maybe", "<b>", "[x](y)", "\x00"]), short_odd)


def maybe_repeated(values: st.SearchStrategy) -> st.SearchStrategy:
    """A value, or (1 in 6) a list: the key repeated in the link (`?step=2&step=5`)."""
    return st.one_of(*[values] * 5, st.lists(values, min_size=2, max_size=3))


FOREIGN_KEYS = ["tokens", "size", "context", "gqa", "prompt", "step", "Step", "PROMPT", "embed_options", "foo",
                "", "ключ", "a b", "<x>"]


@st.composite
def common(draw, q: dict) -> dict:
    """`present`, `embed` and another page's key, each sometimes, added to `q`."""
    if draw(st.integers(0, 3)) == 0:
        q["present"] = draw(maybe_repeated(switches))
    if draw(st.integers(0, 5)) == 0:
        q["embed"] = draw(st.sampled_from(["true", "false", "1", "banana", "", "<b>"]))
    if draw(st.integers(0, 5)) == 0:
        key = draw(st.sampled_from(FOREIGN_KEYS))
        q.setdefault(key, draw(short_odd))
    return q


temperatures = st.one_of(st.floats(-1, 2).map(str), st.floats(0, 1.5).map(lambda t: f"{t:.1f}"),
                         numbers(st.integers(-2, 3)), st.sampled_from(["1_0", "0.05", "1.5000001", "-0", "1e-400",
                                                                       "1e400", ".5", "5.", "0,5"]))


@st.composite
def reading_links(draw) -> dict:
    q = {}
    if draw(st.integers(0, 9)):  # 9 in 10 links carry a prompt: the generated prompts are the point
        q["prompt"] = draw(maybe_repeated(prompts))
    if draw(st.booleans()):
        q["step"] = draw(maybe_repeated(numbers(st.integers(1, 40))))
    if draw(st.integers(0, 4)) == 0:  # "Let it write" (read along; other pages' foreign keys)
        for key, values in (("write", numbers(st.integers(0, 80))), ("temperature", temperatures),
                            ("seed", numbers(st.integers(-10, 10010)))):
            if draw(st.integers(0, 3)):
                q[key] = draw(maybe_repeated(values))
    return draw(common(q))


@st.composite
def race_links(draw) -> dict:
    q = {}
    if draw(st.integers(0, 4)):
        q["tokens"] = draw(maybe_repeated(numbers(st.sampled_from(tx.RACE_CHOICES) | st.integers(1, tx.RACE_MAX + 2000))))
    return draw(common(q))


@st.composite
def scale_links(draw) -> dict:
    q = {}
    sizes = st.one_of(st.sampled_from(list(cost.MODEL_SIZES)), st.sampled_from(["7b", " 7B", "7", "7B ", "14B!",
                      "169m", "0", "-1", "nan", "inf", "", "[x](y)", "<script>"]), short_odd)
    contexts = numbers(st.sampled_from(tx.AT_SCALE_CONTEXTS) | st.integers(-5000, 2_000_000))
    for key, values in (("size", sizes), ("context", contexts), ("gqa", switches)):
        if draw(st.integers(0, 3)):
            q[key] = draw(maybe_repeated(values))
    return draw(common(q))


# ------------------------------------------------------------------ what the app should say (oracle)

TOKENIZER = load_tokenizer()
REPEATED_NOTE = "times ("  # app/state.py last_value: a key repeated with different values (reading pages: known gap)
GAP_PRESENT = '"present" setting'  # app/state.py parse_present's note, once app/ui.py shows it (known gap)


def last(value):
    """What `st.query_params[key]` reads: the last value of a repeated key."""
    if isinstance(value, list):
        return value[-1] if value else ""
    return value


def repeated(value) -> bool:
    return isinstance(value, list) and len(set(value)) > 1


def whole(raw: str):
    """The whole number in `raw` (as `int()` reads it, any number of digits), or None."""
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        if re.fullmatch(r"[+-]?\d+", text):
            return -(10**15) if text.startswith("-") else 10**15
        return None


def present_expectation(q: dict) -> tuple[bool | None, bool]:
    """(presenter mode on: True/False, or None where either is acceptable; a note is allowed)."""
    raw = last(q.get("present"))
    if raw is None or raw == "":
        return False, False
    if raw.lower() in state.PRESENT_ON:
        return True, False
    if raw.strip().lower() in state.PRESENT_ON:  # " 1": app.ui reads it off, app.state.parse_present on
        return None, True
    if raw.strip().lower() in state.PRESENT_OFF:
        return False, False
    return False, True


def last_given(raw) -> bool:
    values = raw if isinstance(raw, list) else [raw]
    return any(v is not None and v.strip() for v in values)


def write_expectation(q: dict, notes) -> tuple[bool | None, int | None]:
    """Read along's "Let it write" from the link → (writing: True/False, None = either; tokens asked),
    adding the notes the page must (or may) show."""
    raw = last(q.get("write"))
    if repeated(q.get("write")):
        notes.need('The link gives "write"')
    if raw is None or raw.strip() == "":
        if any(last_given(q.get(key)) for key in ("temperature", "seed")):
            notes.need("but not write")
        return False, None
    writing, tokens = True, whole(raw)
    if tokens is None:
        notes.need("The link's write")
        return False, None
    lo, hi = state.WRITE_TOKENS
    if not lo <= tokens <= hi:
        notes.need("The link's write")
        tokens = min(max(tokens, lo), hi)
    add = notes.need if writing else notes.may
    for key, kind, (lo, hi) in (("temperature", float, state.WRITE_TEMPERATURE), ("seed", int, state.WRITE_SEED)):
        if repeated(q.get(key)):
            add(f'The link gives "{key}"')
        value = last(q.get(key))
        if value is None or value.strip() == "":
            continue
        try:
            value = kind(value.strip())
        except ValueError:
            add(f"The link's {key}")
            continue
        if value != value or not lo <= value <= hi:
            add(f"The link's {key}")
    return writing, tokens


class Notes:
    """The notes a run must show (each exactly once) and the ones it may show (known gaps)."""

    def __init__(self):
        self.required: list[str] = []
        self.allowed: list[str] = []

    def need(self, fragment: str):
        self.required.append(fragment)

    def may(self, fragment: str):
        self.allowed.append(fragment)

    def check(self, at, q):
        self.check_texts([e.value for e in at.info] + [e.value for e in at.warning], q)

    def check_texts(self, shown: list[str], q):
        for fragment in self.required:
            hits = [s for s in shown if fragment in s]
            assert len(hits) == 1, f"link {q!r}: expected one note containing {fragment!r}, got {shown!r}"
        for text in shown:
            assert any(f in text for f in self.required + self.allowed), f"link {q!r}: unexpected note {text!r}"
            assert_quoted_safely(text)


_ACTIVE = set("<>[]`$*_|~{}\\")  # Markdown, HTML, LaTeX and Streamlit directive characters


def assert_quoted_safely(note: str) -> None:
    """A note the visitor's text went into: short, nothing invisible, every special character escaped."""
    assert len(note) <= 400, f"note of {len(note)} characters: {note[:120]!r}…"
    bad = [ch for ch in note if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")]
    assert not bad, f"invisible or control characters {bad!r} in note {note!r}"
    live = set(re.sub(r"\\.", "", note, flags=re.S)) & _ACTIVE
    assert not live, f"unescaped {sorted(live)} in note {note!r}"


def assert_page_ran(at, q) -> None:
    assert not at.exception, (f"link {q!r}: {[e.value for e in at.exception]}\n"
                              + "\n".join(at.exception[0].stack_trace))
    assert not at.error, f"link {q!r}: st.error {[e.value for e in at.error]}"
    assert page_title(at), f"link {q!r}: the page did not draw its title"
    for el in [*at.markdown, *at.caption]:  # our own Markdown: never the visitor's HTML
        assert "<script" not in el.value.lower() and "<img" not in el.value.lower(), el.value[:200]


def assert_presenter(at, q, page: str) -> None:
    on, note_ok = present_expectation(q)
    toggle = at.sidebar.toggle[0].value
    if on is not None:
        assert toggle is on, f"link {q!r}: presenter mode {toggle}, expected {on}"
    if toggle:  # the address bar keeps presenter mode, whatever the page rewrites
        assert last(at.query_params.get("present")) == "1", at.query_params
    if "embed" in q:  # Streamlit's own parameter: never dropped by a page rewriting the address
        assert at.query_params.get("embed") == q["embed"], at.query_params


def open_link(page: str, q: dict):
    """Open `page` with the link's parameters `q`: it ran, presenter mode is as the link says. Returns the
    AppTest and the notes the page may show (the presenter note when the link's `present` was odd)."""
    describe(q)
    at = run_page(page, q)
    assert_page_ran(at, q)
    notes = Notes()
    assert_presenter(at, q, page)
    if present_expectation(q)[1]:
        notes.may(GAP_PRESENT)
    return at, notes


def describe(q: dict) -> None:
    """Label the example for `--hypothesis-show-statistics` (what kinds of odd input the run covered)."""
    prompt = last(q.get("prompt"))
    if prompt is not None:
        if len(prompt) > state.MAX_PROMPT_CHARS:
            event("prompt: over 4,000 characters")
        elif not prompt.strip():
            event("prompt: empty or whitespace only")
        elif len(TOKENIZER.encode(prompt)) > state.MAX_TOKENS:
            event("prompt: over 512 tokens")
        if any(unicodedata.category(ch)[0] == "C" for ch in prompt):
            event("prompt: has control, format or unassigned characters")
        if any(ord(ch) > 0xFFFF for ch in prompt):
            event("prompt: has astral characters")
        if set(prompt) & set("<>[]{}$`*_\\"):
            event("prompt: has markup characters")
    if any(key in q for key in state.WRITE_PARAMS):
        event("write, temperature or seed in the link")
    for key, value in q.items():
        if repeated(value):
            event("a key repeated with different values")
        if key in ("step", "tokens", "context") and last(value) not in (None, "") and whole(last(value)) is None:
            event(f"{key}: not a whole number")


# ------------------------------------------------------------------ cost race: never a real race here


@pytest.fixture(scope="module")
def quick_race(tmp_path_factory):
    """The cost race page without measuring anything.

    With app/race_cache.py (races in a background thread, results kept on disk): the page's runner gets a
    temporary store holding one made-up complete race of every length (`tests/test_race.py`'s
    `synthetic_race`, where it exists), and a `measure` that is held until these tests end, so every race
    asked for stays "running" and nothing is timed. Without it (the page measuring inside
    `st.cache_data`): `model.race.measure_race` measures 64 tokens once and every race gets a copy.
    """
    import streamlit

    from model import race

    mp = pytest.MonkeyPatch()
    try:
        from app import race_cache
    except ImportError:
        race_cache = None
    if race_cache is not None:
        release = threading.Event()

        def held(n, progress):  # waits, then reports no race: the runner notes an error and moves on
            release.wait(600)
            return None

        try:
            from tests.test_race import MACHINE, synthetic_race
        except ImportError:
            MACHINE, synthetic_race = {"cpu": "odd-input test", "cores": 2, "torch_threads": 1, "torch": "0"}, None
        store = race_cache.RaceStore(tmp_path_factory.mktemp("race_data"))
        runner = race_cache.RaceRunner(store=store, measure=held, machine=MACHINE)
        if synthetic_race is not None:
            stored = synthetic_race(list(race.GRID), lambda n: 1.8, lambda n: 2.0 + n / 1000, spread=0.2,
                                    unix_time=time.time())
            assert store.save(runner.key, race.GRID[-1], stored)
            runner._results = store.load(runner.key)
        mp.setattr(race_cache, "_RUNNER", runner)
        yield
        release.set()
        mp.undo()
        return

    real, measured = race.measure_race, []

    def once(rwkv, gpt, ids, **kw):
        if not measured:
            measured.append(real(rwkv, gpt, list(ids)[:64], **kw))
        return copy.deepcopy(measured[0])

    mp.setattr(race, "measure_race", once)
    streamlit.cache_data.clear()  # run_race (the only st.cache_data) must call the stand-in
    yield
    mp.undo()
    streamlit.cache_data.clear()  # later tests measure for real again


# ------------------------------------------------------------------ pages through AppTest

READING = ["pages/read_along.py", "pages/token_shift.py", "pages/fading_memory.py"]


@examples(normal=20)
@given(page=st.sampled_from(READING), q=reading_links())
@example(page="pages/read_along.py", q={"prompt": LONG_CHARS + "\x00 tail", "step": "9" * 5000, "present": "1"})
@example(page="pages/token_shift.py", q={"prompt": LONG_TOKENS + "👩‍👩‍👧‍👦", "step": "600"})
@example(page="pages/fading_memory.py", q={"prompt": "<script>alert(1)</script> {{x}} $$y$$ [[state]] [a](b)",
                                           "step": "nan", "embed": "true"})
@example(page="pages/read_along.py", q={"prompt": "", "step": "-3"})
@example(page="pages/token_shift.py", q={"prompt": " \u3000\n\t\u2028", "step": "inf"})
@example(page="pages/fading_memory.py", q={"prompt": "\u202eabc\u200f e\u0301 \x00\x07 🏳️‍🌈", "step": ["2", "5"],
                                           "present": "banana"})
@example(page="pages/read_along.py", q={"prompt": ["Tom had a ball.", "Lily ran."], "step": "3", "present": "0"})
@example(page="pages/read_along.py", q={"step": "1e3", "size": "7B", "tokens": "64"})
@example(page="pages/read_along.py", q={"prompt": "Tom had a red ball.", "write": "12", "temperature": "inf",
                                        "seed": ["3", "x"], "step": "20"})
@example(page="pages/read_along.py", q={"write": "9" * 5000, "temperature": "nan", "seed": "-1"})
@example(page="pages/token_shift.py", q={"write": "banana", "temperature": "<b>"})
def test_reading_pages_answer_any_link(page, q):
    at, notes = open_link(page, q)
    for key in ("prompt", "step"):
        if repeated(q.get(key)):
            notes.may(REPEATED_NOTE)

    raw_prompt = last(q.get("prompt"))
    text = DEFAULT_PROMPT if raw_prompt is None else raw_prompt[:state.MAX_PROMPT_CHARS]
    if raw_prompt is not None and len(raw_prompt) > state.MAX_PROMPT_CHARS:
        notes.need("longer than 4,000 characters")
    assert at.text_area(key="prompt_box").value == text

    raw_step = last(q.get("step"))
    step = None if raw_step in (None, "") else whole(raw_step)
    if raw_step not in (None, ""):
        if step is None:
            notes.need("The link's step \"")
        elif step < 1:
            notes.need("is before the first token")

    if not text.strip():
        notes.need(EMPTY_PROMPT_HINT)
        assert not stepper_specs(at)
    else:
        n_all = len(TOKENIZER.encode(text))
        n = min(n_all, state.MAX_TOKENS)
        if n_all > state.MAX_TOKENS:
            notes.need(f"this page reads the first {state.MAX_TOKENS}")
        shown, starts = n, {min(step, n) - 1 if step is not None and step >= 1 else 0}
        if page == "pages/read_along.py":
            writing, tokens = write_expectation(q, notes)
            toggle = at.toggle(key="write_on").value
            assert writing is None or toggle is writing, f"link {q!r}: writing {toggle}, expected {writing}"
            room = state.MAX_TOKENS - n
            if toggle and room <= 0:
                notes.need(f"already fills the {state.MAX_TOKENS} tokens")
            elif toggle:
                assert any("written by the model" in c.value for c in at.caption)
                shown = len(stepper_specs(at)[0]["labels"])
                assert n < shown <= n + min(tokens or state.WRITE_TOKENS[1], room)
                if step is None or step < 1:  # no usable step in the link: it opens on the first written token
                    starts = {n}
                if step is not None and step > n:  # known gap: a step in the written text is clamped to the prompt
                    starts.add(min(step, shown) - 1)
                    notes.may("The link asked for ")
        elif page == "pages/token_shift.py" and (step is None or step < 1) and n >= 2:
            starts = {1}  # token 1 has no token before it: without a usable step, token shift opens on token 2
        elif page == "pages/fading_memory.py" and (step is None or step < 1):
            starts = {n - 1}  # nothing fades on token 1: without a usable step, fading memory opens on the last
        if step is not None and step > n and len(starts) == 1:
            notes.need("The link asked for ")
        spec = stepper_specs(at)[0]
        assert len(spec["labels"]) == shown
        assert spec["start"] in starts
    notes.check(at, q)

    # the address bar: the text shown, unless it is the default or too long for a link (then a caption says so)
    too_long = text != DEFAULT_PROMPT and len(quote(text)) > 2000
    # (a key repeated in the link may stay repeated when its last value is already right: the last one wins)
    assert last(at.query_params.get("prompt")) == (None if too_long or text == DEFAULT_PROMPT else text)
    assert too_long == any("too long to keep in the page's address" in c.value for c in at.caption)


@examples(normal=8, share=0.2)
@given(q=race_links())
@example(q={"tokens": "9" * 5000})
@example(q={"tokens": ["512", "abc"], "present": "yes", "embed": "true"})
@example(q={"tokens": "4096", "step": "3"})
def test_cost_race_answers_any_link(quick_race, q):
    at, notes = open_link("pages/cost_race.py", q)
    if repeated(q.get("tokens")):
        notes.need(REPEATED_NOTE)
    raw = last(q.get("tokens"))
    n = tx.RACE_DEFAULT
    if raw not in (None, ""):
        asked = whole(raw)
        if asked is not None and tx.RACE_MIN <= asked <= tx.RACE_MAX:
            n = asked
        else:
            notes.need("The link asked for a race of")
            assert at.query_params.get("tokens") == str(n)  # the address bar holds the race shown
    notes.check(at, q)
    assert at.select_slider(key="race_tokens").value == n


@examples(normal=12, share=0.2)
@given(q=scale_links())
@example(q={"size": ["7B", "3B"], "context": "1e3", "gqa": "maybe", "present": "banana"})
@example(q={"size": "<script>", "context": "-" + "9" * 5000, "gqa": "", "embed": "true"})
@example(q={"size": "14B", "context": " 1048576 ", "gqa": "ON"})
def test_at_scale_answers_any_link(q):
    at, notes = open_link("pages/at_scale.py", q)
    size, context, gqa = tx.AT_SCALE_DEFAULT_SIZE, tx.AT_SCALE_DEFAULT_CONTEXT, True
    raw = last(q.get("size"))
    if raw not in (None, ""):
        if raw in cost.MODEL_SIZES:
            size = raw
        else:
            notes.need("model size")
    raw = last(q.get("context"))
    if raw not in (None, ""):
        if whole(raw) in tx.AT_SCALE_CONTEXTS:
            context = whole(raw)
        else:
            notes.need("length of")
    raw = last(q.get("gqa"))
    if raw not in (None, ""):
        value = raw.strip().lower()
        if value in state.PRESENT_OFF:
            gqa = False
        elif value not in state.PRESENT_ON:
            notes.need('"gqa" setting')
    for key in ("size", "context", "gqa"):
        if repeated(q.get(key)):
            notes.need(f'The link gives "{key}"')
    notes.check(at, q)
    assert at.selectbox(key="scale_size").value == size
    assert at.select_slider(key="scale_context").value == context
    assert at.toggle(key="scale_gqa").value is gqa
    # the address bar always holds the view shown, in its plain spelling
    assert {k: at.query_params.get(k) for k in ("size", "context", "gqa")} == {
        "size": size, "context": str(context), "gqa": "on" if gqa else "off"}


@examples(normal=6, share=0.1)
@given(page=st.sampled_from(["pages/start.py", "pages/caveats.py", "pages/glossary.py"]), q=st.builds(dict).flatmap(common))
@example(page="pages/glossary.py", q={"present": "yes", "embed": "nonsense", "prompt": "<script>"})
def test_other_pages_answer_any_link(page, q):
    at, notes = open_link(page, q)
    notes.check(at, q)


# ------------------------------------------------------------------ the pure parsers, many examples

param_values = maybe_repeated(st.one_of(prompts, numbers(st.integers(-5, 600)), switches))


@examples(normal=300, share=5)
@given(params=st.dictionaries(st.sampled_from(["prompt", "step", "present", "other"]), param_values, max_size=4))
def test_parse_view_any_params(params):
    view = state.parse_view(params)
    prompt, step = last(params.get("prompt")), last(params.get("step"))
    expect = 0
    assert view.from_link == ("prompt" in params)
    if prompt is None:
        assert view.prompt == DEFAULT_PROMPT
    else:
        assert view.prompt == prompt[:state.MAX_PROMPT_CHARS]
        expect += len(prompt) > state.MAX_PROMPT_CHARS
    parsed = None if step in (None, "") else whole(step)
    if step not in (None, ""):
        expect += parsed is None or parsed < 1
    assert view.step == (min(parsed, 10**15) if parsed is not None and parsed >= 1 else None)
    expect += repeated(params.get("prompt")) + repeated(params.get("step"))
    assert len(view.notes) == expect, view.notes
    for note in view.notes:
        assert_quoted_safely(note)


@examples(normal=300, share=5)
@given(params=st.dictionaries(st.sampled_from(state.WRITE_PARAMS + ("other",)),
                              maybe_repeated(st.one_of(numbers(st.integers(-5, 70)), temperatures)), max_size=4))
@example(params={"write": "9" * 5000, "temperature": "9" * 5000, "seed": "-" + "9" * 5000})
def test_parse_write_any(params):
    request, shown = state.parse_write(params)
    notes = Notes()
    writing, tokens = write_expectation(params, notes)
    assert (request is not None) == writing
    if request is not None:
        assert request.tokens == tokens
        assert state.WRITE_TEMPERATURE[0] <= request.temperature <= state.WRITE_TEMPERATURE[1]
        assert state.WRITE_SEED[0] <= request.seed <= state.WRITE_SEED[1]
    notes.check_texts(shown, params)


@examples(normal=300, share=5)
@given(step=st.one_of(st.none(), st.integers(min_value=1), st.integers(1, 10**15)), n=st.integers(0, 10**6))
@example(step=10**15, n=4)
def test_clamp_step_any(step, n):
    shown, notes = state.clamp_step(step, n)
    assert 0 <= shown <= max(n - 1, 0)
    past = step is not None and n > 0 and step > n
    assert len(notes) == past
    if past:
        assert shown == n - 1
        assert_quoted_safely(notes[0])
    elif step is not None and n > 0:
        assert shown == step - 1


@examples(normal=150, share=5)
@given(text=prompts)
@example(text=LONG_CHARS)
def test_prepare_prompt_with_the_real_tokenizer(text):
    prepared = state.prepare_prompt(text, TOKENIZER.encode)
    assert prepared.empty == (not text.strip())
    if prepared.empty:
        return
    ids = TOKENIZER.encode(text)
    assert prepared.ids == ids[:state.MAX_TOKENS]
    assert prepared.truncated_from == (len(ids) if len(ids) > state.MAX_TOKENS else None)
    assert TOKENIZER.decode(ids) == text  # byte-level: every character survives, NUL and all


@examples(normal=300, share=5)
@given(raw=st.one_of(st.none(), numbers(st.integers(0, 5000)), st.lists(st.text(max_size=5), max_size=2)))
def test_parse_tokens_param_any(raw):
    n, problem = tx.parse_tokens_param(raw)
    assert tx.RACE_MIN <= n <= tx.RACE_MAX
    if problem:
        assert n == tx.RACE_DEFAULT
        assert_quoted_safely(problem)
    else:
        assert raw in (None, "") or n == whole(str(raw))


@examples(normal=300, share=5)
@given(size=st.one_of(st.none(), st.sampled_from(list(cost.MODEL_SIZES)), short_odd, st.integers()),
       context=st.one_of(st.none(), numbers(st.sampled_from(tx.AT_SCALE_CONTEXTS)), st.floats()),
       gqa=st.one_of(st.none(), switches, st.booleans()))
def test_parse_scale_params_any(size, context, gqa):
    name, ctx, on, msgs = tx.parse_scale_params(size, context, gqa)
    assert name in cost.MODEL_SIZES and ctx in tx.AT_SCALE_CONTEXTS and isinstance(on, bool)
    bad = sum(raw not in (None, "") and not ok for raw, ok in (
        (size, str(size) == name), (context, ctx == whole(str(context))),
        (gqa, str(gqa).strip().lower() in state.PRESENT_ON + state.PRESENT_OFF)))
    assert len(msgs) == bad, msgs
    for msg in msgs:
        assert_quoted_safely(msg)


@examples(normal=300, share=5)
@given(raw=st.one_of(st.none(), switches, short_any))
def test_parse_present_any(raw):
    on, notes = state.parse_present(raw)
    value = "" if raw is None else raw.strip().lower()
    assert on == (value in state.PRESENT_ON)
    assert len(notes) == (value not in state.PRESENT_ON + state.PRESENT_OFF and raw != "" and raw is not None)
    for note in notes:
        assert_quoted_safely(note)


@examples(normal=300, share=5)
@given(key=st.sampled_from(["prompt", "step", "tokens", "size", "context", "gqa", "present"]),
       raw=st.one_of(st.none(), short_any, st.lists(st.one_of(short_any, prompts), max_size=6)))
def test_last_value_any(key, raw):
    value, notes = state.last_value(key, raw)
    assert value == last(raw)
    assert len(notes) == repeated(raw)
    for note in notes:
        assert_quoted_safely(note)


@examples(normal=300, share=5)
@given(value=st.one_of(prompts, st.integers(), st.floats(), st.lists(short_any, max_size=3)),
       limit=st.integers(-3, 80))
def test_user_text_is_always_literal(value, limit):
    out = escape.user_text(value, limit)
    assert len(re.sub(r"\\(.)", r"\1", out, flags=re.S)) <= max(1, limit)  # visible characters, "…" included
    bare = re.sub(r"\\.", "", out, flags=re.S)
    assert not set(bare) & set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")  # every ASCII punctuation mark escaped
    assert not [ch for ch in out if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")]


def test_long_texts_are_long():
    """The cached long texts really exercise both cuts (4,000 characters; 512 tokens)."""
    assert len(LONG_CHARS) > state.MAX_PROMPT_CHARS
    assert len(TOKENIZER.encode(LONG_CHARS[:state.MAX_PROMPT_CHARS])) > state.MAX_TOKENS
    assert len(LONG_TOKENS) < state.MAX_PROMPT_CHARS and len(TOKENIZER.encode(LONG_TOKENS)) > state.MAX_TOKENS + 64
    assert TOKENIZER.encode(LONG_TOKENS)[:state.MAX_TOKENS] == TOKENIZER.encode(LONG_CHARS)[:state.MAX_TOKENS]


# ------------------------------------------------------------------ links that once said nothing


def test_repeated_cost_params_are_noted(quick_race):
    race = run_page("pages/cost_race.py", {"tokens": ["512", "1024"]})
    scale = run_page("pages/at_scale.py", {"size": ["7B", "3B"]})
    assert not race.exception and not scale.exception
    assert any(REPEATED_NOTE in e.value for e in race.info) and any(REPEATED_NOTE in e.value for e in scale.info)


def test_at_scale_keeps_presenter_mode():
    at = run_page("pages/at_scale.py", {"present": "1"})
    assert at.sidebar.toggle[0].value is True
    assert at.query_params.get("present") == "1"


def test_temperature_without_write_is_noted():
    at = run_page("pages/read_along.py", {"temperature": "banana", "seed": "x"})
    assert not at.exception
    assert [e.value for e in at.info] == ["The link gives temperature and seed but not write (how many tokens to "
                                          "write), so the model does not write."]
    # said once: the unused parameters leave the link, so the next run (any widget) does not repeat it
    assert "temperature" not in at.query_params and "seed" not in at.query_params
    at.run()
    assert not at.exception and not at.info


# ------------------------------------------------------------------ gaps found here, now closed


def test_bad_present_value_is_noted():
    at = run_page("pages/glossary.py", {"present": "banana"})
    assert any(GAP_PRESENT in e.value for e in at.info)


def test_repeated_step_is_noted():
    at = run_page("pages/read_along.py", {"step": ["2", "5"]})
    assert any(REPEATED_NOTE in e.value for e in at.info)


def test_step_in_the_written_text_reopens_there():
    at = run_page("pages/read_along.py", {"write": "60", "step": "50"})  # the default text: 23 tokens + 60 written
    assert not at.exception
    assert stepper_specs(at)[0]["start"] == 49
    assert not at.info
