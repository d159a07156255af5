"""Whole-prompt traces: run a model token by token (recurrent mode) and keep, as numpy arrays, what
the explainer draws at every step. Built on `RWKV.step(..., trace=True)` and `GPT.step(..., trace=True)`.

Example:
    >>> from model.checkpoint import load_model
    >>> from model.tokenizer import load_tokenizer
    >>> rwkv, _ = load_model("rwkv"); tok = load_tokenizer()
    >>> tr = trace_rwkv(rwkv, tok, tok.encode("Once upon a time"))
    >>> tr.memory.shape          # (tokens, layers, channels)
    (4, 4, 192)
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch

from .rwkv import ATT_A, ATT_B, RWKV

MAX_TOKENS = 512
TOP_K = 5


@dataclass
class RWKVTrace:
    ids: list[int]
    pieces: list[str]
    top_ids: np.ndarray  # (T, K) the model's top guesses for the token after step t
    top_probs: np.ndarray  # (T, K)
    top_pieces: list[list[str]]
    memory: np.ndarray  # (T, L, C) a/b after step t: what each memory channel holds (a weighted average of past values)
    x_now: np.ndarray  # (T, L, C) ln1 output of token t (time mixing's input)
    x_prev: np.ndarray  # (T, L, C) ln1 output of token t−1 (zeros at t = 0)
    k: np.ndarray  # (T, L, C) keys: how strongly each token is written into memory
    r: np.ndarray  # (T, L, C) receptance gate in (0, 1)
    mix: dict  # 'k', 'v', 'r' → (L, C) learned μ (share of "this token")
    decay: np.ndarray  # (L, C) per-step decay factor e^{−e^{w}}
    bonus: np.ndarray  # (L, C) u
    state_floats: int  # 5·L·C
    state_bytes: int
    ablation: str = "none"


@dataclass
class GPTTrace:
    ids: list[int]
    pieces: list[str]
    top_ids: np.ndarray
    top_probs: np.ndarray
    top_pieces: list[list[str]]
    attention: np.ndarray  # (L, H, T, T), row t = weights over tokens 0..t (zeros above the diagonal)
    cache_bytes: np.ndarray  # (T,) bytes of KV cache held after step t (all layers)
    cache_entries: np.ndarray  # (T,) stored key+value vectors after step t (all layers and heads)


def ablated_copy(model: RWKV, ablation: str) -> RWKV:
    """A copy of the model with one mechanism switched off.

    "no-shift": μ = 1 everywhere, so no token sees the previous one through token shift.
    "no-decay": decay factor 1 (w → 0 per step: time_decay = −∞), so the memory never fades.
    """
    if ablation == "none":
        return model
    clone = copy.deepcopy(model)
    with torch.no_grad():
        for block in clone.blocks:
            if ablation == "no-shift":
                for p in (block.att.time_mix_k, block.att.time_mix_v, block.att.time_mix_r,
                          block.ffn.time_mix_k, block.ffn.time_mix_r):
                    p.fill_(1.0)
            elif ablation == "no-decay":
                block.att.time_decay.fill_(-float("inf"))
            else:
                raise ValueError(f"unknown ablation {ablation!r}")
    clone.invalidate_cache()
    return clone


def _top_pieces(tok, top_ids: np.ndarray) -> list[list[str]]:
    return [[tok.piece(int(i)) for i in row] for row in top_ids]


def trace_rwkv(model: RWKV, tok, ids: list[int], ablation: str = "none", top_k: int = TOP_K) -> RWKVTrace:
    """Step the model through `ids` (at most MAX_TOKENS) recording every layer."""
    ids = list(ids)[:MAX_TOKENS]
    m = ablated_copy(model, ablation)
    state = m.new_state()
    T, L, C = len(ids), m.cfg.n_layer, m.cfg.n_embd
    memory, x_now, x_prev, k, r = (np.zeros((T, L, C), dtype=np.float32) for _ in range(5))
    top_ids = np.zeros((T, top_k), dtype=np.int64)
    top_probs = np.zeros((T, top_k), dtype=np.float32)
    for t, token in enumerate(ids):
        _, state, st = m.step(token, state, trace=True, top_k=top_k)
        top_ids[t], top_probs[t] = st.top_ids, st.top_probs
        for li, lt in enumerate(st.layers):
            after = lt.state_after
            memory[t, li] = (after[ATT_A] / after[ATT_B]).numpy()
            x_now[t, li], x_prev[t, li] = lt.x_now.numpy(), lt.x_prev.numpy()
            k[t, li], r[t, li] = lt.k.numpy(), lt.r.numpy()
    blocks = m.blocks
    mix = {
        name: np.stack([getattr(b.att, f"time_mix_{name}").detach().numpy() for b in blocks]).astype(np.float32)
        for name in ("k", "v", "r")
    }
    decay = np.stack([torch.exp(-torch.exp(b.att.time_decay.detach())).numpy() for b in blocks]).astype(np.float32)
    bonus = np.stack([b.att.time_first.detach().numpy() for b in blocks]).astype(np.float32)
    floats = 5 * L * C
    return RWKVTrace(
        ids=ids, pieces=tok.pieces(ids), top_ids=top_ids, top_probs=top_probs,
        top_pieces=_top_pieces(tok, top_ids), memory=memory, x_now=x_now, x_prev=x_prev, k=k, r=r,
        mix=mix, decay=decay, bonus=bonus, state_floats=floats, state_bytes=floats * state.element_size(),
        ablation=ablation,
    )


def trace_gpt(model, tok, ids: list[int], top_k: int = TOP_K) -> GPTTrace:
    ids = list(ids)[:MAX_TOKENS]
    T, L, H = len(ids), model.cfg.n_layer, model.cfg.n_head
    cache = model.new_cache()
    attention = np.zeros((L, H, T, T), dtype=np.float32)
    top_ids = np.zeros((T, top_k), dtype=np.int64)
    top_probs = np.zeros((T, top_k), dtype=np.float32)
    cache_bytes = np.zeros(T, dtype=np.int64)
    cache_entries = np.zeros(T, dtype=np.int64)
    for t, token in enumerate(ids):
        _, cache, st = model.step(token, cache, trace=True, top_k=top_k)
        top_ids[t], top_probs[t] = st.top_ids, st.top_probs
        for li, w in enumerate(st.attention):
            attention[li, :, t, : t + 1] = w.numpy()
        cache_bytes[t] = st.cache_bytes_per_layer * L
        cache_entries[t] = st.cache_entries_per_layer * L
    return GPTTrace(ids=ids, pieces=tok.pieces(ids), top_ids=top_ids, top_probs=top_probs,
                    top_pieces=_top_pieces(tok, top_ids), attention=attention,
                    cache_bytes=cache_bytes, cache_entries=cache_entries)


def rwkv_contributions(k: np.ndarray, decay: np.ndarray, bonus: np.ndarray, chunk: int = 64) -> np.ndarray:
    """RWKV's implicit attention, exactly from eq. (16) (arXiv 2305.13048 v2+): share of token i in wkv_t,
    averaged over channels.

    k: (T, C) keys of one layer; decay: (C,) e^{−e^{w}}; bonus: (C,) u. Returns (T, T), rows sum to 1.
    Weight of token i < t in channel c ∝ decay_c^{t−1−i} · e^{k_i,c}; of token t ∝ e^{u_c + k_t,c}.
    """
    kt = torch.from_numpy(np.asarray(k, dtype=np.float64))
    T, C = kt.shape
    log_decay = torch.log(torch.from_numpy(np.asarray(decay, dtype=np.float64)).clamp_min(1e-300))  # = w ≤ 0
    u = torch.from_numpy(np.asarray(bonus, dtype=np.float64))
    out = np.zeros((T, T), dtype=np.float32)
    i_idx = torch.arange(T, dtype=torch.float64)
    for start in range(0, T, chunk):
        t_idx = torch.arange(start, min(T, start + chunk), dtype=torch.float64)
        age = (t_idx[:, None] - 1 - i_idx[None, :])[..., None]  # (t, T, 1)
        logits = age * log_decay + kt[None, :, :]
        tt = t_idx.long()
        logits[torch.arange(len(tt)), tt] = u + kt[tt]
        logits = logits.masked_fill((i_idx[None, :] > t_idx[:, None])[..., None], -math.inf)
        out[start : start + len(tt)] = torch.softmax(logits, dim=1).mean(dim=2).numpy()
    return out


def half_life_tokens(decay: np.ndarray) -> np.ndarray:
    """Tokens until a channel keeps half of what it held: ln ½ / ln(decay) (∞ for decay = 1)."""
    d = np.asarray(decay, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(d >= 1.0, np.inf, np.log(0.5) / np.log(np.clip(d, 1e-300, None)))
