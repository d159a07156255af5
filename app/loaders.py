"""Cached loaders: models load once per server process (read-only, shared by every visitor);
traces are cached per prompt with bounds, so a workshop of 60 reading the same sample costs one trace.

Traces are shared as the very same objects (`st.cache_resource`, no copy per hit); their numpy arrays
are made read-only (`frozen`), so a page that tried to change one would fail loudly instead of
changing every visitor's view. Caches are per process: in room mode each process fills its own.

Example (in a page):
    rwkv, tok = rwkv_model(), tokenizer()
    trace = rwkv_trace("Once upon a time")
"""
from __future__ import annotations

import functools
import os

import numpy as np
import streamlit as st
import torch

from model.checkpoint import CheckpointError, load_model
from model.generate import generate_ids
from model.tokenizer import load_tokenizer
from model.traces import rwkv_contributions, trace_gpt, trace_rwkv

TORCH_THREADS = int(os.environ.get("RWKV_EXPLAINER_THREADS", "1"))

# Texts arrive as tuples of token ids (and kinds as tuples of words). Streamlit hashes a tuple one element
# at a time (~16 µs each: ~0.4 ms per call for 26 tokens, ~8 ms for 512); the tuple's repr is one string,
# hashed at once, and just as unique for ints and strings.
TUPLE_KEY = {tuple: repr}


def _torch_setup() -> None:
    # One thread per request: many visitors at once share the cores better than one greedy request.
    torch.set_num_threads(TORCH_THREADS)
    torch.set_grad_enabled(False)


@st.cache_resource(show_spinner="Loading the models…")
def _models():
    _torch_setup()
    rwkv, rwkv_meta = load_model("rwkv")
    gpt, gpt_meta = load_model("gpt")
    return {"rwkv": rwkv, "gpt": gpt, "rwkv_meta": rwkv_meta, "gpt_meta": gpt_meta}


@st.cache_resource(show_spinner=False)
def tokenizer():
    return load_tokenizer()


def require_models() -> None:
    """Load the models, or explain in plain words what is missing and stop the page (no stack trace)."""
    try:
        _models()
        tokenizer()
    except (CheckpointError, OSError, ValueError) as exc:
        st.error("The trained models could not be loaded, so this page cannot run. "
                 "Reinstall the app, or retrain them (README, 'The models'). "
                 f"Details: {str(exc)[:300]}", icon="🧩")
        st.stop()


def frozen(value):
    """Make the numpy arrays of a trace (or an array) read-only, in place; returns the value."""
    parts = [value] if isinstance(value, np.ndarray) else [*vars(value).values(), *getattr(value, "mix", {}).values()]
    for part in parts:
        if isinstance(part, np.ndarray):
            part.flags.writeable = False
    return value


def rwkv_model():
    return _models()["rwkv"]


def gpt_model():
    return _models()["gpt"]


@functools.lru_cache(maxsize=512)
def _encode(text: str) -> tuple[int, ...]:
    return tuple(tokenizer().encode(text))


def encode(text: str) -> list[int]:
    """Token ids of a text (remembered for the last 512 texts: every page run of a room encodes its text)."""
    return list(_encode(text))


@st.cache_resource(max_entries=64, ttl=3600, show_spinner="The model is reading your text…",
                   hash_funcs=TUPLE_KEY)
def rwkv_trace(ids: tuple[int, ...], ablation: str = "none"):
    return frozen(trace_rwkv(rwkv_model(), tokenizer(), list(ids), ablation=ablation))


@st.cache_resource(max_entries=16, ttl=3600, show_spinner="The transformer is reading your text…",
                   hash_funcs=TUPLE_KEY)
def gpt_trace(ids: tuple[int, ...]):
    return frozen(trace_gpt(gpt_model(), tokenizer(), list(ids)))


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=TUPLE_KEY)
def gpt_attention(ids: tuple[int, ...], layer: int):
    """The transformer's attention for one layer, averaged over heads: (T, T)."""
    return frozen(gpt_trace(ids).attention[layer].mean(axis=0))


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=TUPLE_KEY)
def rwkv_implicit_attention(ids: tuple[int, ...], layer: int, ablation: str = "none"):
    tr = rwkv_trace(ids, ablation)
    return frozen(rwkv_contributions(tr.k[:, layer], tr.decay[layer], tr.bonus[layer]))


@st.cache_resource(max_entries=64, ttl=3600, show_spinner="The model is writing…", hash_funcs=TUPLE_KEY)
def continue_text(ids: tuple[int, ...], n_new: int, temperature: float, seed: int) -> tuple[int, ...]:
    """Prompt ids + n_new tokens written by RWKV (greedy when temperature == 0)."""
    return tuple(ids) + tuple(generate_ids(rwkv_model(), "rwkv", list(ids), n_new, temperature or None, seed))
