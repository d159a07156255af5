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
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=positions.device) / head_dim))
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


class KVCache:
    """Keys (after rotary) and values of every token read so far, per layer.

    Each layer holds a preallocated buffer of shape (H, capacity, hd) for keys and one for values;
    the first `length` positions are filled. When a step finds the buffers full, every layer's
    capacity doubles (one copy, amortised O(1) per token), so a step never copies the whole cache
    the way `torch.cat` on every token would. Attention reads `buf[:, :length]`.

    `GPT.step` writes into this object and returns it: the cache passed in is changed. A caller
    that wants to branch (continue one prefix two ways) must `copy()` the cache first.

    Example:
        >>> c = KVCache(n_layer=1, n_head=2, head_dim=4, capacity=2)
        >>> c.length, c.capacity, c.bytes_per_layer()
        (0, 2, 0)
    """

    def __init__(self, n_layer: int, n_head: int, head_dim: int, capacity: int = 64,
                 dtype: torch.dtype = torch.float32, device: torch.device | str | None = None):
        capacity = max(1, int(capacity))
        with torch.no_grad():
            self.keys = [torch.zeros(n_head, capacity, head_dim, dtype=dtype, device=device) for _ in range(n_layer)]
            self.values = [torch.zeros(n_head, capacity, head_dim, dtype=dtype, device=device) for _ in range(n_layer)]
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.keys[0].shape[1] if self.keys else 0

    @property
    def n_head(self) -> int:
        return self.keys[0].shape[0] if self.keys else 0

    def layer_keys(self, i: int) -> torch.Tensor:
        """(H, length, hd) view of layer i's stored keys."""
        return self.keys[i][:, : self.length]

    def layer_values(self, i: int) -> torch.Tensor:
        """(H, length, hd) view of layer i's stored values."""
        return self.values[i][:, : self.length]

    def reserve(self, needed: int) -> None:
        """Make room for `needed` positions, doubling the capacity until it fits."""
        cap = self.capacity
        if needed <= cap:
            return
        while cap < needed:
            cap *= 2
        with torch.no_grad():
            for buffers in (self.keys, self.values):
                for i, old in enumerate(buffers):
                    new = torch.zeros(old.shape[0], cap, old.shape[2], dtype=old.dtype, device=old.device)
                    new[:, : self.length] = old[:, : self.length]
                    buffers[i] = new

    def copy(self) -> "KVCache":
        """An independent cache with the same stored keys and values (for branching)."""
        other = KVCache.__new__(KVCache)
        other.keys = [k.clone() for k in self.keys]
        other.values = [v.clone() for v in self.values]
        other.length = self.length
        return other

    def entries_per_layer(self) -> int:
        """Stored vectors per layer: a key and a value per head per token."""
        return 2 * self.n_head * self.length

    def bytes_per_layer(self) -> int:
        """Bytes of the keys and values actually stored (2·H·length·hd·element size), not capacity."""
        if self.length == 0:
            return 0
        k = self.keys[0]
        return 2 * k.shape[0] * self.length * k.shape[2] * k.element_size()

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
        positions = torch.arange(start_pos, start_pos + T, device=idx.device)
        cos, sin = rope_tables(positions, self.cfg.head_dim, self.cfg.rope_base)
        x = self.wte(idx)
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.head(self.ln_f(x))

    def new_cache(self, capacity: int = 64) -> KVCache:
        """An empty KV cache on the model's device and dtype; grows past `capacity` by doubling."""
        w = self.wte.weight
        return KVCache(self.cfg.n_layer, self.cfg.n_head, self.cfg.head_dim, capacity, w.dtype, w.device)

    @torch.inference_mode()
    def step(self, token: int, cache: KVCache, trace: bool = False, top_k: int = 5):
        """One token with a KV cache. Returns (logits (V,), cache[, GPTStepTrace]).

        The cache is updated in place (its length grows by one) and the same object is returned:
        the cache passed in no longer describes the old prefix. Call `cache.copy()` first to branch.
        """
        cfg = self.cfg
        H, hd, C = cfg.n_head, cfg.head_dim, cfg.n_embd
        pos = cache.length
        cache.reserve(pos + 1)
        cos, sin = rope_tables(torch.tensor([pos], device=self.wte.weight.device), hd, cfg.rope_base)
        x = self.wte.weight[token][None, :]  # (1, C)
        attn_maps = []
        scale = 1.0 / math.sqrt(hd)
        for i, block in enumerate(self.blocks):
            h = block.ln1(x)
            q, k, v = (block.attn.qkv.weight @ h[0]).split(C)
            q = apply_rope(q.view(H, 1, hd), cos, sin)  # (H, 1, hd)
            cache.keys[i][:, pos] = apply_rope(k.view(H, 1, hd), cos, sin)[:, 0]
            cache.values[i][:, pos] = v.view(H, hd)
            keys = cache.keys[i][:, : pos + 1]  # (H, t+1, hd), a view: no copy
            values = cache.values[i][:, : pos + 1]
            scores = (q @ keys.transpose(1, 2)) * scale  # (H, 1, t+1)
            weights = torch.softmax(scores, dim=-1)
            y = (weights @ values).reshape(1, C)  # heads side by side
            x = x + block.attn.proj(y)
            x = x + block.mlp(block.ln2(x))
            if trace:
                attn_maps.append(weights[:, 0].clone())
        cache.length = pos + 1
        logits = self.head(self.ln_f(x))[0]
        if not trace:
            return logits, cache
        probs = torch.softmax(logits.float(), dim=-1)
        top = torch.topk(probs, top_k)
        st = GPTStepTrace(
            token=int(token), position=pos, attention=attn_maps,
            cache_entries_per_layer=cache.entries_per_layer(),
            cache_bytes_per_layer=cache.bytes_per_layer(),
            top_ids=top.indices.tolist(), top_probs=top.values.tolist(),
        )
        return logits, cache, st

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
