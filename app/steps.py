"""Per-step plain-language lines shown under the stepper's chips (the cost counter).

Example:
    >>> notes = cost_notes(trace, cfg)       # one string per token
"""
from __future__ import annotations

from model.cost import human_bytes, rwkv4_flops_per_token


def cost_notes(trace, cfg) -> list[str]:
    """"This token cost …" for every step: FLOPs computed from the paper's formula, memory held measured."""
    flops = rwkv4_flops_per_token(cfg.n_layer, cfg.n_embd, cfg.vocab_size)
    held = human_bytes(trace.state_bytes)
    return [
        f"Reading this token costs RWKV {flops / 1e6:.1f} million FLOPs (computed: 2(VD + 13D²L), paper Table 2) "
        f"and it holds {held} of memory ({trace.state_floats:,} numbers, measured) — exactly as much as for token 1."
        for _ in trace.ids
    ]
