"""The prompt box shared by the reading pages (read along, token shift, fading memory).

It reads `prompt` and `step` from the URL, lets the visitor type or pick a sample, keeps the URL in
step with what is shown, carries the reader's text to the next reading page (a link's own text wins),
and says plainly what happened to bad input (empty, too long, odd link).

Example (in a page):
    ctx = prompt_box("read")
    if ctx is None:
        st.stop()          # the page already showed a hint
    trace = loaders.rwkv_trace(ctx.ids)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from urllib.parse import quote

import streamlit as st

from model.tokenizer import PART_MARK

from . import loaders
from .glossary import with_tooltips
from .state import MAX_PROMPT_CHARS, MAX_TOKENS, WRITE_PARAMS, clamp_step, parse_view, prepare_prompt
from .texts import DEFAULT_PROMPT, EMPTY_PROMPT_HINT, SAMPLE_PROMPTS, SPLIT_CHARACTER_NOTE
from .ui import next_on_the_path

# What the box takes. A paste over a text box's limit is dropped whole by the browser, silently, so the box
# takes far more than the page reads and the page says what it cut (the first MAX_PROMPT_CHARS characters).
BOX_MAX_CHARS = 50_000
SESSION_PROMPT = "shared_prompt"  # the reader's text, carried from one reading page to the next
SESSION_PAGE = "prompt_page"  # which reading page drew the prompt box last
MAX_URL_PROMPT = 2000  # characters of the percent-encoded prompt kept in the address bar


@dataclass
class ReadingContext:
    text: str
    ids: tuple[int, ...]
    start_step: int  # 0-based
    notes: list[str] = field(default_factory=list)
    link_step: int | None = None  # the link's step (1-based) when it had a valid one


def _on_sample_change() -> None:
    name = st.session_state.get("sample_choice")
    if name in SAMPLE_PROMPTS:
        st.session_state["prompt_box"] = SAMPLE_PROMPTS[name]


def prompt_box(page_key: str, extra_tokens: int = 0) -> ReadingContext | None:
    """`extra_tokens`: tokens the page will add after the text (what the model writes), so a link's step
    into them is kept."""
    view = parse_view({key: st.query_params.get_all(key) for key in st.query_params})
    for note in view.notes:
        st.info(note, icon="🔗")
    if view.step is None and st.query_params.get("step"):  # a step the page could not use leaves the link
        del st.query_params["step"]
    # The box is a new widget on every reading page: a value left by another page's box would be
    # dropped (the box would open empty), so each page seeds it from the link or the reader's text.
    arrived = st.session_state.get(SESSION_PAGE) != page_key
    if arrived or "prompt_box" not in st.session_state:
        st.session_state["prompt_box"] = view.prompt if view.from_link else st.session_state.get(SESSION_PROMPT, DEFAULT_PROMPT)
    st.session_state[SESSION_PAGE] = page_key

    # One horizontal container, not st.columns (three elements): the box and the picker side by side, the
    # picker under the box where the page is narrow (a phone).
    with st.container(horizontal=True, wrap=True):
        text = st.text_area("Your text (the model reads it token by token)", key="prompt_box", height=90,
                            max_chars=BOX_MAX_CHARS,
                            help="Any text works; the model was trained on simple English stories.")
        st.selectbox("Or pick a sample", ["—"] + list(SAMPLE_PROMPTS), key="sample_choice", on_change=_on_sample_change,
                     help="Short story openings like the ones the model was trained on.", width=280)
    if len(text) > MAX_PROMPT_CHARS:
        st.warning(f"Your text has {len(text):,} characters; this page reads the first {MAX_PROMPT_CHARS:,}.",
                   icon="✂️")
        text = text[:MAX_PROMPT_CHARS]
    edited = not arrived and SESSION_PROMPT in st.session_state and st.session_state[SESSION_PROMPT] != text
    st.session_state[SESSION_PROMPT] = text
    if edited:  # a new text starts at its first token, and what was written after the old one goes
        view.step = None
        for key in ("step", *WRITE_PARAMS):
            if key in st.query_params:
                del st.query_params[key]
    if not _sync_url(text):
        st.caption("This text is too long to keep in the page's address; a copied link opens the default text.")

    prepared = prepare_prompt(text, loaders.encode, MAX_TOKENS)
    if prepared.empty:
        st.info(EMPTY_PROMPT_HINT, icon="✍️")
        return None
    notes = []
    if prepared.truncated_from:
        st.warning(f"Your text has {prepared.truncated_from:,} tokens; this page reads the first {MAX_TOKENS}. "
                   "The rest is cut off: the chips stop at token 512.", icon="✂️")
    if not text.isascii():
        note_split_characters(prepared.ids)
    start, step_notes = clamp_step(view.step, min(len(prepared.ids) + max(0, extra_tokens), MAX_TOKENS))
    for note in step_notes:
        st.info(note, icon="🔗")
    if step_notes:  # the address shows the step the page opened at, not the one it could not
        st.query_params["step"] = str(start + 1)
    return ReadingContext(text=text, ids=tuple(prepared.ids), start_step=start, notes=notes, link_step=view.step)


def note_split_characters(ids) -> None:
    """The caption that explains "🍕 1/4" chips, when some character in `ids` is cut over several tokens."""
    if splits_characters(ids):
        st.caption(with_tooltips(SPLIT_CHARACTER_NOTE), unsafe_allow_html=True)


def splits_characters(ids) -> bool:
    """Whether some character of the text is cut over several tokens (its chips read "🍕 1/4" …)."""
    return _splits_characters(tuple(ids))


@functools.lru_cache(maxsize=256)
def _splits_characters(ids: tuple[int, ...]) -> bool:  # once per text, not on every rerun (3.8 ms at 512 tokens)
    return any(PART_MARK.search(piece) for piece in loaders.tokenizer().pieces(ids))


def _sync_url(text: str) -> bool:
    """Keep `prompt` in the URL (left out for the default text, so plain links stay short).

    Returns False when the text is too long for a link (servers refuse very long request lines).
    """
    current = st.query_params.get("prompt")
    if text == DEFAULT_PROMPT or len(quote(text)) > MAX_URL_PROMPT:
        if current is not None:
            del st.query_params["prompt"]
        return text == DEFAULT_PROMPT
    if current != text:
        st.query_params["prompt"] = text
    return True


READING_PAGES = {"read": "pages/read_along.py", "shift": "pages/token_shift.py", "fade": "pages/fading_memory.py"}


def reading_context(page_key: str, extra_tokens: int = 0) -> ReadingContext:
    """What every reading page starts with: the models (or a plain message), then the prompt box.

    Stops the page (after showing a hint) when there is nothing to read.
    """
    loaders.require_models()
    ctx = prompt_box(page_key, extra_tokens)
    if ctx is None:  # the guided path's next step stays: an empty box must not be a dead end
        next_on_the_path(READING_PAGES[page_key])
        st.stop()
    return ctx
