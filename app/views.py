"""Cached, ready-to-draw steppers for the reading pages.

Each is built once per distinct input and shared, as the same immutable object, by every visitor
and every rerun (`st.cache_resource`: no copy per hit, unlike `st.cache_data`, which unpickles one).
The step to open at is not part of the key: `stepper.show(prepared, start)` adds it.

Example (in a page):
    stepper.show(views.read_along(ctx.ids, kinds), start=ctx.start_step)
"""
from __future__ import annotations

import streamlit as st

from . import figures, loaders, texts
from .stepper import PreparedStepper, prepare, prepare_still
from .steps import cost_notes, fading_notes, kv_cache_bytes_after_each, read_along_summaries, token_shift_notes


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=loaders.TUPLE_KEY)
def read_along(ids: tuple[int, ...], kinds: tuple[str, ...]) -> PreparedStepper:
    trace = loaders.rwkv_trace(ids)
    gpt_bytes = kv_cache_bytes_after_each(loaders.gpt_model().cfg, len(ids))
    return prepare(
        [
            figures.top_guesses_figure(trace),
            figures.memory_heatmap_figure(trace),
            figures.memory_held_figure(trace.state_bytes, gpt_bytes, trace.pieces),
        ],
        trace.pieces, kinds=list(kinds), notes=cost_notes(trace, loaders.rwkv_model().cfg, gpt_bytes),
        summaries=read_along_summaries(trace, gpt_bytes),
    )


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=loaders.TUPLE_KEY)
def token_shift(ids: tuple[int, ...], layer: int, ablate: bool) -> PreparedStepper:
    trace = loaders.rwkv_trace(ids)
    figs = [figures.shift_share_figure(trace), figures.channel_mixer_figure(trace, layer)]
    ablated = loaders.rwkv_trace(ids, "no-shift") if ablate else None
    if ablated is not None:  # what the test changes comes first; the trained mixing follows, for comparison
        figs.insert(0, figures.compare_guesses_figure(trace, ablated, "With token shift (normal)", "Token shift switched off"))
    else:
        figs.append(figures.top_guesses_figure(trace, title="What the model expects next"))
    figs.append(figures.mix_profile_figure(trace, layer))  # a still chart: the layer's learned mixer
    notes = token_shift_notes(trace, figures.previous_token_share(trace), layer, switched_off=ablated)
    return prepare(figs, trace.pieces, notes=notes, summaries=notes)


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=loaders.TUPLE_KEY)
def fading_echo(ids: tuple[int, ...], layer: int, ablation: str) -> PreparedStepper:
    shown = loaders.rwkv_trace(ids, ablation)
    rwkv_w = loaders.rwkv_implicit_attention(ids, layer, ablation)
    gpt_w = loaders.gpt_attention(ids, layer)
    notes = fading_notes(shown, rwkv_w, gpt_w, layer)
    return prepare([figures.echo_figure(rwkv_w, shown.pieces, gpt_w, "Transformer (attention)")], shown.pieces,
                   notes=notes, summaries=notes)


@st.cache_resource(max_entries=4, show_spinner=False, hash_funcs=loaders.TUPLE_KEY)
def teaser(words: tuple[str, ...]) -> PreparedStepper:
    return prepare([figures.teaser_figure(list(words))], list(words), url_param=None, play_ms=600)


# Still charts (no steps), drawn by the step-through's page (stepper.show_still): built and encoded once per
# input and shared, so a page run sends a cached string.
@st.cache_resource(max_entries=1, show_spinner=False)
def half_lives(_decay) -> PreparedStepper:
    """Every channel's half-life (a property of the model, the same for every text)."""
    return prepare_still([figures.half_life_figure(_decay)])


@st.cache_resource(max_entries=1, show_spinner=False)
def memory_facts(_decay, _bonus) -> dict:
    """`app.texts.memory_facts` of the model's decay and bonus (the same for every text), computed once."""
    return texts.memory_facts(_decay, _bonus)


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=loaders.TUPLE_KEY)
def echo_maps(ids: tuple[int, ...], layer: int, ablation: str) -> PreparedStepper:
    """RWKV's implicit attention and the transformer's attention as token × token heatmaps, side by side."""
    pieces = loaders.rwkv_trace(ids, ablation).pieces
    return prepare_still([
        figures.contribution_heatmap(loaders.rwkv_implicit_attention(ids, layer, ablation), pieces,
                                     f"RWKV layer {layer + 1}: who still counts"),
        figures.contribution_heatmap(loaders.gpt_attention(ids, layer), pieces,
                                     f"Transformer layer {layer + 1}: attention"),
    ], columns=2)
