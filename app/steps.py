"""Per-step plain-language lines shown under the stepper's chips (the cost counter).

Example:
    >>> notes = cost_notes(trace, cfg)       # one string per token
"""
from __future__ import annotations

import numpy as np

from model.cost import human_bytes, kv_cache_bytes, rwkv4_flops_per_token


def cost_notes(trace, cfg) -> list[str]:
    """"This token cost …" for every step: FLOPs computed with 2(VD + 13D²L), the formula that reproduces the
    FLOP column of the RWKV paper's Table 2 (arXiv 2305.13048; its text, §4, writes it differently), and the
    memory held, measured. Plain words only: the formula itself is in the page's "For builders" box."""
    flops = rwkv4_flops_per_token(cfg.n_layer, cfg.n_embd, cfg.vocab_size)
    held = human_bytes(trace.state_bytes)
    return [
        f"Reading this token costs RWKV {flops / 1e6:.1f} million FLOPs (steps of arithmetic, counted with the "
        f"formula that matches the RWKV paper's Table 2). It holds {held} of memory ({trace.state_floats:,} "
        "numbers), exactly as much as for token 1."
        for _ in trace.ids
    ]


def kv_cache_bytes_after_each(gpt_cfg, n_tokens: int, bytes_per_element: int = 4) -> np.ndarray:
    """KV-cache bytes the same-size transformer holds after each of n tokens (fp32, every head keeps K and V)."""
    return np.array([kv_cache_bytes(t, gpt_cfg.n_layer, gpt_cfg.n_head, gpt_cfg.head_dim, bytes_per_element)
                     for t in range(1, n_tokens + 1)], dtype=np.int64)
