"""Deep links: page, prompt and step live in the URL, so a link opens exactly that view.

Parsing is pure (dict in, values + notes out) so it is unit-tested without Streamlit; the page
shows every note (an invalid parameter falls back to its default, visibly).

Example:
    >>> view = parse_view({"prompt": "Hi there", "step": "2"})
    >>> (view.prompt, view.step, view.notes)
    ('Hi there', 2, [])
    >>> parse_view({"step": "banana"}).notes
    ['The link\\'s step "banana" is not a whole number, so the view starts at the first token.']
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .escape import user_text
from .texts import DEFAULT_PROMPT

MAX_PROMPT_CHARS = 4000
MAX_TOKENS = 512
PRESENT_ON = ("1", "on", "true", "yes")  # ?present=… values that turn presenter mode on (app.ui)
PRESENT_OFF = ("0", "off", "false", "no")
_WHOLE = re.compile(r"[+-]?\d+")  # what int() reads, including digit strings too long for it
_SHORT = 10**15  # numbers at least this big are not repeated in a note (a link can hold thousands of digits)


@dataclass
class View:
    prompt: str
    step: int | None  # 1-based, None = not given
    notes: list[str] = field(default_factory=list)
    from_link: bool = False


def last_value(key: str, raw) -> tuple[str | None, list[str]]:
    """One query parameter's value as `st.query_params[key]` reads it (the last one when the link repeats
    the key), with a note when the repeated values differ, so the one not used is not dropped silently.

    >>> last_value("step", ["2", "5"])
    ('5', ['The link gives "step" 2 times (2, 5); this page uses the last one, 5.'])
    """
    if not isinstance(raw, (list, tuple)):
        return raw, []
    values = [str(v) for v in raw]
    if not values:
        return "", []
    notes = []
    if len(set(values)) > 1:
        shown = ", ".join(user_text(v, limit=20) for v in values[:4]) + (", …" if len(values) > 4 else "")
        notes.append(f'The link gives "{user_text(key)}" {len(values)} times ({shown}); this page uses the last '
                     f"one, {user_text(values[-1], limit=20)}.")
    return values[-1], notes


def parse_present(raw) -> tuple[bool, list[str]]:
    """The `present` query parameter → (presenter mode on, notes). Unknown values leave it off, visibly."""
    if raw is None or raw == "":
        return False, []
    value = str(raw).strip().lower()
    if value in PRESENT_ON:
        return True, []
    if value in PRESENT_OFF:
        return False, []
    return False, [f'The link\'s "present" setting "{user_text(raw)}" is not on/off (use present=1), so presenter '
                   "mode is off."]


def _whole(text: str) -> int | None:
    """`int(text)`, or ±10¹⁵ for a whole number too long for `int()` (thousands of digits), or None."""
    try:
        return int(text)
    except ValueError:
        if _WHOLE.fullmatch(text):
            return -_SHORT if text.startswith("-") else _SHORT
        return None


def _given(raw) -> bool:
    """A query parameter (a value or the list of a repeated key's values) with something in it."""
    values = raw if isinstance(raw, (list, tuple)) else [raw]
    return any(v is not None and str(v).strip() for v in values)


def parse_step(raw) -> tuple[int | None, list[str]]:
    if raw is None or raw == "":
        return None, []
    text = str(raw).strip()
    step = _whole(text)
    if step is None:
        return None, [f'The link\'s step "{user_text(raw)}" is not a whole number, so the view starts at the first token.']
    if step < 1:
        shown = step if step > -_SHORT else f'"{user_text(text, limit=20)}"'
        return None, [f"The link's step {shown} is before the first token, so the view starts at the first token."]
    return min(step, _SHORT), []


def parse_prompt(raw) -> tuple[str, list[str]]:
    if raw is None:
        return DEFAULT_PROMPT, []
    text = str(raw)
    notes = []
    if len(text) > MAX_PROMPT_CHARS:
        text = text[:MAX_PROMPT_CHARS]
        notes.append(f"The link's text was longer than {MAX_PROMPT_CHARS:,} characters and was cut.")
    return text, notes


def parse_view(params: dict) -> View:
    """Read `prompt` and `step` from query parameters. A value may be a str, or the list of every value
    of a repeated key (`st.query_params.get_all`): the last one is used, as `st.query_params[key]` does,
    and a note says so when they differ."""
    raw_prompt, prompt_twice = last_value("prompt", params.get("prompt"))
    raw_step, step_twice = last_value("step", params.get("step"))
    prompt, notes = parse_prompt(raw_prompt)
    step, step_notes = parse_step(raw_step)
    return View(prompt=prompt, step=step, notes=prompt_twice + notes + step_twice + step_notes,
                from_link="prompt" in params)


def clamp_step(step: int | None, n_tokens: int) -> tuple[int, list[str]]:
    """0-based step to show, with a note if the link's step was past the end."""
    if n_tokens <= 0:
        return 0, []
    if step is None:
        return 0, []
    if step > n_tokens:
        asked = f"token {step}" if step < _SHORT else "a token number with more than 15 digits"
        return n_tokens - 1, [f"The link asked for {asked}, but the text has {n_tokens} tokens: showing the last one."]
    return step - 1, []


@dataclass
class PreparedPrompt:
    ids: list[int]
    truncated_from: int | None  # original token count when cut to MAX_TOKENS
    empty: bool


def prepare_prompt(text: str, encode, max_tokens: int = MAX_TOKENS) -> PreparedPrompt:
    """Tokenise the user's text; cut at max_tokens (visibly, the page says so)."""
    if not text or not text.strip():
        return PreparedPrompt(ids=[], truncated_from=None, empty=True)
    ids = encode(text)
    if len(ids) > max_tokens:
        return PreparedPrompt(ids=ids[:max_tokens], truncated_from=len(ids), empty=False)
    return PreparedPrompt(ids=ids, truncated_from=None, empty=False)


WRITE_TOKENS = (5, 60)  # "Let it write": how many tokens the model may add
WRITE_TEMPERATURE = (0.0, 1.5)
WRITE_SEED = (0, 9999)
WRITE_PARAMS = ("write", "temperature", "seed")  # they belong to one text: a new text drops them


@dataclass
class WriteRequest:
    """What "Let it write" was asked for; kept in the link (`?write=20&temperature=0.8&seed=7`), so a
    shared link or a reconnect to another server process shows the same written text."""

    tokens: int
    temperature: float
    seed: int


def _bounded(key: str, raw, kind, lo, hi, default) -> tuple:
    if raw is None or str(raw).strip() == "":
        return default, []
    text = str(raw).strip()
    try:
        value = kind(text)
    except ValueError:
        value = _whole(text) if kind is int else None  # thousands of digits: out of range, not "not a number"
        if value is None:
            return default, [f'The link\'s {key} "{user_text(raw, limit=20)}" is not a number, so it is {default}.']
    if value != value or value < lo or value > hi:  # NaN, or out of range
        shown = user_text(raw, limit=20)
        value = default if value != value else min(max(value, lo), hi)
        return value, [f"The link's {key} {shown} is outside {lo}–{hi}, so it is {value}."]
    return value, []


def parse_write(params: dict) -> tuple[WriteRequest | None, list[str]]:
    """`write`, `temperature`, `seed` from the query parameters → (request or None, notes).

    >>> parse_write({"write": "20", "temperature": "0.8", "seed": "3"})
    (WriteRequest(tokens=20, temperature=0.8, seed=3), [])
    >>> parse_write({})
    (None, [])
    >>> parse_write({"write": "lots"})[1]
    ['The link\\'s write "lots" is not a whole number, so the model does not write.']
    >>> parse_write({"seed": "3"})[1]
    ['The link gives seed but not write (how many tokens to write), so the model does not write.']
    """
    notes = []
    raw_tokens, twice = last_value("write", params.get("write"))
    notes += twice
    if raw_tokens is None or str(raw_tokens).strip() == "":
        unused = [key for key in ("temperature", "seed") if _given(params.get(key))]
        if unused:  # not dropped silently: they only mean something with `write`
            notes.append(f"The link gives {' and '.join(unused)} but not write (how many tokens to write), so "
                         "the model does not write.")
        return None, notes
    tokens = _whole(str(raw_tokens).strip())
    if tokens is None:
        return None, notes + [f'The link\'s write "{user_text(raw_tokens, limit=20)}" is not a whole number, so the '
                              "model does not write."]
    lo, hi = WRITE_TOKENS
    if not lo <= tokens <= hi:
        tokens = min(max(tokens, lo), hi)
        notes.append(f"The link's write {user_text(raw_tokens, limit=20)} is outside {lo}–{hi}, so the model writes "
                     f"{tokens} tokens.")
    raw_t, twice = last_value("temperature", params.get("temperature"))
    temperature, t_notes = _bounded("temperature", raw_t, float, *WRITE_TEMPERATURE, 0.0)
    raw_s, twice_s = last_value("seed", params.get("seed"))
    seed, s_notes = _bounded("seed", raw_s, int, *WRITE_SEED, 7)
    return WriteRequest(tokens, round(float(temperature), 2), int(seed)), notes + twice + t_notes + twice_s + s_notes
