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

from dataclasses import dataclass, field

from .escape import user_text
from .texts import DEFAULT_PROMPT

MAX_PROMPT_CHARS = 4000
MAX_TOKENS = 512


@dataclass
class View:
    prompt: str
    step: int | None  # 1-based, None = not given
    notes: list[str] = field(default_factory=list)
    from_link: bool = False


def parse_step(raw) -> tuple[int | None, list[str]]:
    if raw is None or raw == "":
        return None, []
    try:
        step = int(str(raw).strip())
    except ValueError:
        return None, [f'The link\'s step "{user_text(raw)}" is not a whole number, so the view starts at the first token.']
    if step < 1:
        return None, [f"The link's step {step} is before the first token, so the view starts at the first token."]
    return step, []


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
    """Read `prompt` and `step` from query parameters (values may be str or list of str)."""
    def first(key):
        value = params.get(key)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        return value

    prompt, notes = parse_prompt(first("prompt"))
    step, step_notes = parse_step(first("step"))
    return View(prompt=prompt, step=step, notes=notes + step_notes, from_link="prompt" in params)


def clamp_step(step: int | None, n_tokens: int) -> tuple[int, list[str]]:
    """0-based step to show, with a note if the link's step was past the end."""
    if n_tokens <= 0:
        return 0, []
    if step is None:
        return 0, []
    if step > n_tokens:
        return n_tokens - 1, [f"The link asked for token {step}, but the text has {n_tokens} tokens: showing the last one."]
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
