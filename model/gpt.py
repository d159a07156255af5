"""Baseline transformer: GPT-style, pre-LayerNorm, causal, with a KV cache (nanoGPT's shape).

Positions are rotary (RoPE, Su et al. 2021, arXiv 2104.09864) rather than learned: a learned
position table has no row past the trained context, while rotary positions are a rotation that can
be computed for any position. Past its trained context the model still runs (the cost race needs
thousands of tokens) but its predictions get worse, since it never saw those distances in training.

Same width, depth and vocabulary as the shipped RWKV; 12·D² weights per layer (attention 4·D²,
MLP 8·D²) against RWKV's 13·D², so the totals agree within a few percent.

Example:
    >>> cfg = GPTConfig(vocab_size=64, n_layer=2, n_embd=32, n_head=2)
    >>> model = GPT(cfg).eval()
    >>> cache = model.new_cache()
    >>> logits, cache = model.step(5, cache)
    >>> cache.length
    1
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    vocab_size: int = 4096
    n_layer: int = 4
    n_embd: int = 192
    n_head: int = 3
    ctx_len: int = 256  # trained context; rotary positions let it run longer
    rope_base: float = 10000.0

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


def rope_tables(positions: torch.Tensor, head_dim: int, base: float):
    """cos, sin of shape (T, head_dim/2) for the given integer positions."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = positions.float()[:, None] * inv_freq[None, :]
    return torch.cos(angles), torch.sin(angles)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (..., T, hd); rotate each pair (x1, x2) of the two halves by the position's angle."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)

    def split_heads(self, x):
        B, T, C = x.shape
        return x.view(B, T, self.cfg.n_head, self.cfg.head_dim).transpose(1, 2)  # (B, H, T, hd)

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.ln1(x), cos, sin)
        return x + self.mlp(self.ln2(x))


@dataclass
class KVCache:
    """Keys (after rotary) and values of every token read so far, per layer: (H, T, hd) each."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]

    @property
    def length(self) -> int:
        return 0 if not self.keys or self.keys[0] is None else self.keys[0].shape[1]

    def entries_per_layer(self) -> int:
        """Stored vectors per layer: a key and a value per head per token."""
        if self.length == 0:
            return 0
        H = self.keys[0].shape[0]
        return 2 * H * self.length

    def bytes_per_layer(self) -> int:
        if self.length == 0:
            return 0
        k = self.keys[0]
        return 2 * k.numel() * k.element_size()

    def total_bytes(self) -> int:
        return self.bytes_per_layer() * len(self.keys)


@dataclass
class GPTStepTrace:
    token: int
    position: int
    attention: list[torch.Tensor] = field(default_factory=list)  # per layer (H, t+1)
    cache_entries_per_layer: int = 0
    cache_bytes_per_layer: int = 0
    top_ids: list[int] = field(default_factory=list)
    top_probs: list[float] = field(default_factory=list)


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0 and cfg.head_dim % 2 == 0
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, start_pos: int = 0):
        """idx (B, T) → logits (B, T, V), without a cache."""
        B, T = idx.shape
        cos, sin = rope_tables(torch.arange(start_pos, start_pos + T), self.cfg.head_dim, self.cfg.rope_base)
        x = self.wte(idx)
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.head(self.ln_f(x))

    def new_cache(self) -> KVCache:
        return KVCache(keys=[None] * self.cfg.n_layer, values=[None] * self.cfg.n_layer)

    @torch.inference_mode()
    def step(self, token: int, cache: KVCache, trace: bool = False, top_k: int = 5):
        """One token with a KV cache. Returns (logits (V,), cache[, GPTStepTrace]); the cache grows by one."""
        cfg = self.cfg
        H, hd, C = cfg.n_head, cfg.head_dim, cfg.n_embd
        pos = cache.length
        cos, sin = rope_tables(torch.tensor([pos]), hd, cfg.rope_base)
        x = self.wte.weight[token][None, :]  # (1, C)
        keys, values, attn_maps = list(cache.keys), list(cache.values), []
        for i, block in enumerate(self.blocks):
            h = block.ln1(x)
            q, k, v = (block.attn.qkv.weight @ h[0]).split(C)
            q = apply_rope(q.view(H, 1, hd), cos, sin)  # (H, 1, hd)
            k = apply_rope(k.view(H, 1, hd), cos, sin)
            v = v.view(H, 1, hd)
            keys[i] = k if keys[i] is None else torch.cat([keys[i], k], dim=1)
            values[i] = v if values[i] is None else torch.cat([values[i], v], dim=1)
            scores = (q @ keys[i].transpose(1, 2)) / math.sqrt(hd)  # (H, 1, t+1)
            weights = torch.softmax(scores, dim=-1)
            y = (weights @ values[i]).reshape(1, C)  # heads side by side
            x = x + block.attn.proj(y)
            x = x + block.mlp(block.ln2(x))
            if trace:
                attn_maps.append(weights[:, 0].clone())
        logits = self.head(self.ln_f(x))[0]
        new_cache = KVCache(keys=keys, values=values)
        if not trace:
            return logits, new_cache
        probs = torch.softmax(logits.float(), dim=-1)
        top = torch.topk(probs, top_k)
        st = GPTStepTrace(
            token=int(token), position=pos, attention=attn_maps,
            cache_entries_per_layer=new_cache.entries_per_layer(),
            cache_bytes_per_layer=new_cache.bytes_per_layer(),
            top_ids=top.indices.tolist(), top_probs=top.values.tolist(),
        )
        return logits, new_cache, st

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
