"""Per-step plain-language lines shown under the stepper's chips (the cost counter).

Example:
    >>> notes = cost_notes(trace, cfg)       # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from model.cost import human_bytes, kv_cache_bytes, rwkv4_flops_per_token


def cost_notes(trace, cfg, gpt_cache_bytes=None) -> list[str]:
    """"This token cost …" for every step: FLOPs computed with 2(VD + 13D²L), the formula that reproduces the
    FLOP column of the RWKV paper's Table 2 (arXiv 2305.13048; its text, §4, writes it differently), and the
    memory held, measured. With `gpt_cache_bytes` (the same-size transformer's KV cache after each token,
    computed), the first tokens, where that cache is still smaller than RWKV's state, say so and when it passes
    it: no puzzle on the memory chart. Plain words only: the formula itself is in the page's "For builders" box."""
    flops = rwkv4_flops_per_token(cfg.n_layer, cfg.n_embd, cfg.vocab_size)
    held = human_bytes(trace.state_bytes)
    cost = (f"Reading this token costs RWKV {flops / 1e6:.1f} million FLOPs (steps of arithmetic), counted with the "
            f"formula that matches the RWKV paper's Table 2. It holds {held} of memory ({trace.state_floats:,} numbers)")
    gpt = [] if gpt_cache_bytes is None else [int(b) for b in gpt_cache_bytes]
    passes = next((t for t, b in enumerate(gpt) if b >= trace.state_bytes), None)
    notes = []
    for t in range(len(trace.ids)):
        note = cost + (": the same after every token." if t == 0 else ": exactly as much as for token 1.")
        if t < len(gpt) and gpt[t] < trace.state_bytes:  # later on, the memory chart shows the cache passing it
            later = f" and passes RWKV's at token {passes + 1}" if passes is not None else ""
            note += (f" A same-size transformer holds less so far ({human_bytes(gpt[t])}), but its memory grows "
                     f"with every token{later}.")
        notes.append(note)
    return notes


def kv_cache_bytes_after_each(gpt_cfg, n_tokens: int, bytes_per_element: int = 4) -> np.ndarray:
    """KV-cache bytes the same-size transformer holds after each of n tokens (fp32, every head keeps K and V)."""
    return np.array([kv_cache_bytes(t, gpt_cfg.n_layer, gpt_cfg.n_head, gpt_cfg.head_dim, bytes_per_element)
                     for t in range(1, n_tokens + 1)], dtype=np.int64)


def _quoted(piece: str) -> str:
    from .stepper import display_piece

    return f"“{display_piece(piece)}”"


def _opening(t: int, trace) -> str:
    return f"Token {t + 1} of {len(trace.ids)}: {_quoted(trace.pieces[t])}."


def read_along_summaries(trace, gpt_cache_bytes) -> list[str]:
    """What a screen reader says at each step of Read along: the token, the top guess and its share, and
    the memory both models hold (RWKV's measured state; the transformer's computed KV cache).

    >>> read_along_summaries(trace, [1536, 3072])[1]   # doctest: +SKIP
    'Token 2 of 2: “ upon”. Top guess for the next token: “ a” (61%). Memory held: RWKV 15.4 KB, the transformer 3.1 KB.'
    """
    held = human_bytes(trace.state_bytes)
    return [f"{_opening(t, trace)} Top guess for the next token: {_quoted(trace.top_pieces[t][0])} "
            f"({100 * float(trace.top_probs[t][0]):.0f}%). Memory held: RWKV {held}, "
            f"the transformer {human_bytes(int(gpt_cache_bytes[t]))}."
            for t in range(len(trace.ids))]


def token_shift_notes(trace, shares: dict[str, np.ndarray], layer: int, switched_off=None) -> list[str]:
    """Token shift's line per step: how much of the chosen layer's key input comes from the previous token.
    `switched_off`: the same text read with token shift switched off (the page's test); the line then says
    that nothing comes from the previous token now, what the trained model takes (the charts above show it),
    and the top guess both ways."""
    lines = []
    for t in range(len(trace.ids)):
        share = f"{100 * float(shares['k'][t, layer]):.0f}%"
        if switched_off is None:
            lines.append(_opening(t, trace) + (" It is the first token: nothing comes before it." if t == 0 else
                                               f" In layer {layer + 1}, {share} of what feeds the key comes from "
                                               "the previous token."))
            continue
        off = "" if t == 0 else (f" Token shift is off, so nothing comes from the previous token now; trained, "
                                 f"layer {layer + 1} takes {share} of its key's input from it.")
        lines.append(f"{_opening(t, trace)}{off} Top guess with token shift: {_quoted(trace.top_pieces[t][0])} "
                     f"({100 * float(trace.top_probs[t][0]):.0f}%); without: {_quoted(switched_off.top_pieces[t][0])} "
                     f"({100 * float(switched_off.top_probs[t][0]):.0f}%).")
    return lines


def fading_notes(trace, rwkv_weights: np.ndarray, gpt_weights: np.ndarray, layer: int) -> list[str]:
    """Fading memory's line per step: the earlier token that counts most for each model, and its share."""
    out = []
    for t in range(len(trace.ids)):
        if t == 0:
            out.append(_opening(t, trace) + " Only this token counts so far.")
            continue
        r, g = int(np.argmax(rwkv_weights[t, : t + 1])), int(np.argmax(gpt_weights[t, : t + 1]))
        out.append(f"{_opening(t, trace)} In layer {layer + 1}, what counts most: for RWKV, token {r + 1} "
                   f"{_quoted(trace.pieces[r])} ({100 * float(rwkv_weights[t, r]):.0f}%); for the transformer, "
                   f"token {g + 1} {_quoted(trace.pieces[g])} ({100 * float(gpt_weights[t, g]):.0f}%).")
    return out
