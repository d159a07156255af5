"""RWKV-4 language model, as in "RWKV: Reinventing RNNs for the Transformer Era" (arXiv 2305.13048)
and the official code (BlinkDL/RWKV-LM `RWKV-v4neo/src/model.py`, ChatRWKV `RWKV_in_150_lines.py`).

Two forms of the same function:
- `RWKV.forward(idx, state=None)`: the parallel form (all positions' projections at once, the WKV as
  a numerically stable scan over time). Used for training and to read a whole prompt at once.
- `RWKV.step(token, state, trace=False)`: the recurrent form, one token at a time, with the 5-vector
  per-layer state of the paper's appendix D. With `trace=True` it also returns a `StepTrace` of what
  the explainer draws.

State layout, per layer (`state[layer, slot, channel]`, the `rwkv` pip package's order):
    0 ATT_X: ln1 output of the previous token (time-mixing token shift)
    1 ATT_A: WKV numerator a     2 ATT_B: WKV denominator b     3 ATT_P: running max exponent p
    4 FFN_X: ln2 output of the previous token (channel-mixing token shift)

Equation numbers below are the paper's, arXiv 2305.13048 v2 and later (section 3; v1 numbered the WKV 14,
the output 15 and channel mixing 16-18):
    (11)-(13) time-mixing token shift     r_t, k_t, v_t = W (μ ⊙ x_t + (1 − μ) ⊙ x_{t−1})
    (14)-(15) channel-mixing token shift  r'_t, k'_t = W' (μ' ⊙ x_t + (1 − μ') ⊙ x_{t−1})
    (16)      wkv_t = (Σ_{i<t} e^{−(t−1−i)w + k_i} v_i + e^{u + k_t} v_t) / (same without v)
    (17)      o_t = W_o (σ(r_t) ⊙ wkv_t)
    (18)      channel-mixing output       o'_t = σ(r'_t) ⊙ (W'_v max(k'_t, 0)²)

Example:
    >>> cfg = RWKVConfig(vocab_size=64, n_layer=2, n_embd=32)
    >>> model = RWKV(cfg).eval()
    >>> state = model.new_state()
    >>> logits, state = model.step(5, state)
    >>> logits.shape
    torch.Size([64])
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

ATT_X, ATT_A, ATT_B, ATT_P, FFN_X = range(5)
P_INIT = -1e38  # "minus infinity" for the running max; as in the official code


@dataclass
class RWKVConfig:
    vocab_size: int = 4096
    n_layer: int = 4
    n_embd: int = 192
    ctx_len: int = 256  # training context; the recurrent form runs any length
    ffn_mult: int = 4  # channel-mixing hidden width = ffn_mult * n_embd (official RWKV-4)

    @property
    def dim_ffn(self) -> int:
        return self.ffn_mult * self.n_embd


def token_shift(x: torch.Tensor, prev: torch.Tensor | None = None) -> torch.Tensor:
    """x_{t-1} for every t: (B, T, C) shifted one step right; `prev` (B, C) fills t = 0 (else zeros)."""
    shifted = F.pad(x, (0, 0, 1, -1))
    if prev is not None:
        shifted[:, 0] = prev
    return shifted


def wkv_scan(w, u, k, v, a=None, b=None, p=None):
    """Eq. (16) as the numerically stable recurrence of the official code (paper appendix D).

    w: (C,) negative decay per step (= −e^{time_decay}); u: (C,) bonus for the current token;
    k, v: (B, T, C). Optional initial a, b, p: (B, C). Returns wkv (B, T, C) and the final (a, b, p).
    """
    B, T, C = k.shape
    if a is None:
        a = torch.zeros(B, C, dtype=k.dtype, device=k.device)
        b = torch.zeros(B, C, dtype=k.dtype, device=k.device)
        p = torch.full((B, C), P_INIT, dtype=k.dtype, device=k.device)
    out = []
    for t in range(T):
        kt, vt = k[:, t], v[:, t]
        ww = u + kt  # the current token gets the bonus u instead of a decay
        q = torch.maximum(p, ww)
        e1, e2 = torch.exp(p - q), torch.exp(ww - q)
        out.append((e1 * a + e2 * vt) / (e1 * b + e2))
        ww = p + w  # decay the past by e^w, then add this token
        q = torch.maximum(ww, kt)
        e1, e2 = torch.exp(ww - q), torch.exp(kt - q)
        a, b, p = e1 * a + e2 * vt, e1 * b + e2, q
    return torch.stack(out, dim=1), (a, b, p)


def wkv_weights(w, u, k):
    """The exact T×T "implicit attention" of eq. (16): weight of token i in wkv_t, per channel.

    w, u: (C,); k: (T, C). Returns (T, T, C) with rows summing to 1 over i ≤ t (zero above the
    diagonal). wkv_t = Σ_i weights[t, i] ⊙ v_i.
    """
    T, C = k.shape
    t_idx = torch.arange(T, dtype=k.dtype, device=k.device)
    age = (t_idx[:, None] - 1 - t_idx[None, :])[..., None]  # (T, T, 1): t − 1 − i
    logits = age * w + k[None, :, :]  # e^{−(t−1−i)|w| + k_i}
    diag = torch.eye(T, dtype=torch.bool, device=k.device)[..., None]
    logits = torch.where(diag, (u + k)[None, :, :].expand(T, T, C), logits)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool, device=k.device), 1)[..., None]
    logits = logits.masked_fill(future, float("-inf"))
    return torch.softmax(logits, dim=1)


class TimeMix(nn.Module):
    def __init__(self, cfg: RWKVConfig, layer_id: int):
        super().__init__()
        C = cfg.n_embd
        self.time_decay = nn.Parameter(torch.zeros(C))  # raw w; decay per step is e^{−e^{w}}
        self.time_first = nn.Parameter(torch.zeros(C))  # u, the bonus of the current token
        self.time_mix_k = nn.Parameter(torch.ones(C))  # μ_k (official shape [1,1,C])
        self.time_mix_v = nn.Parameter(torch.ones(C))
        self.time_mix_r = nn.Parameter(torch.ones(C))
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)

    def forward(self, x, prev_x=None, wkv_state=None):
        # x: (B, T, C) = ln1 output
        xx = token_shift(x, prev_x)
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)  # eq. (12)
        xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)  # eq. (13)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)  # eq. (11)
        k, v, r = self.key(xk), self.value(xv), torch.sigmoid(self.receptance(xr))
        state = wkv_state if wkv_state is not None else (None, None, None)
        wkv, new_state = wkv_scan(-torch.exp(self.time_decay), self.time_first, k, v, *state)
        return self.output(r * wkv), new_state  # eq. (17)


class ChannelMix(nn.Module):
    def __init__(self, cfg: RWKVConfig, layer_id: int):
        super().__init__()
        C = cfg.n_embd
        self.time_mix_k = nn.Parameter(torch.ones(C))
        self.time_mix_r = nn.Parameter(torch.ones(C))
        self.key = nn.Linear(C, cfg.dim_ffn, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(cfg.dim_ffn, C, bias=False)

    def forward(self, x, prev_x=None):
        xx = token_shift(x, prev_x)
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)  # eq. (15)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)  # eq. (14)
        k = torch.square(torch.relu(self.key(xk)))
        return torch.sigmoid(self.receptance(xr)) * self.value(k)  # eq. (18)


class Block(nn.Module):
    def __init__(self, cfg: RWKVConfig, layer_id: int):
        super().__init__()
        self.layer_id = layer_id
        if layer_id == 0:
            self.ln0 = nn.LayerNorm(cfg.n_embd)
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.att = TimeMix(cfg, layer_id)
        self.ffn = ChannelMix(cfg, layer_id)


@dataclass
class LayerTrace:
    """What one layer computed for one token (all 1-D numpy-ready tensors of n_embd channels)."""

    x_now: torch.Tensor  # ln1 output of this token
    x_prev: torch.Tensor  # ln1 output of the previous token (the token-shift state)
    xk: torch.Tensor  # mixed input of k (token shift, eq. 12)
    xv: torch.Tensor
    xr: torch.Tensor
    r: torch.Tensor  # σ(receptance), in (0, 1)
    k: torch.Tensor
    v: torch.Tensor
    wkv: torch.Tensor
    decay: torch.Tensor  # per-channel decay factor per step, e^{−e^{w}}
    state_before: torch.Tensor  # (5, C)
    state_after: torch.Tensor  # (5, C)


@dataclass
class StepTrace:
    token: int
    layers: list[LayerTrace] = field(default_factory=list)
    top_ids: list[int] = field(default_factory=list)
    top_probs: list[float] = field(default_factory=list)


class RWKV(nn.Module):
    def __init__(self, cfg: RWKVConfig):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg, i) for i in range(cfg.n_layer)])
        self.ln_out = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self._fast = None  # cached derived tensors for `step`

    # ---------------------------------------------------------------- initialisation
    @torch.no_grad()
    def init_official(self, emb_scale: float = 1e-4) -> "RWKV":
        """RWKV-LM v4neo initialisation (see shared NOTES; the code, not the paper's appendix E)."""
        cfg = self.cfg
        C, L = cfg.n_embd, cfg.n_layer
        ch = torch.arange(C, dtype=torch.float32)
        for layer_id, block in enumerate(self.blocks):
            r01 = layer_id / (L - 1) if L > 1 else 0.0
            r1a0 = 1.0 - layer_id / L
            x = ch / C
            att, ffn = block.att, block.ffn
            att.time_decay.copy_(-5 + 8 * (ch / (C - 1)) ** (0.7 + 1.3 * r01))
            zigzag = ((ch + 1) % 3 - 1) * 0.5
            att.time_first.copy_(math.log(0.3) + zigzag)
            att.time_mix_k.copy_(x**r1a0)
            att.time_mix_v.copy_(x**r1a0 + 0.3 * r01)
            att.time_mix_r.copy_(x ** (0.5 * r1a0))
            ffn.time_mix_k.copy_(x**r1a0)
            ffn.time_mix_r.copy_(x**r1a0)
            for lin in (att.key, att.receptance, att.output, ffn.value, ffn.receptance):
                nn.init.zeros_(lin.weight)
            for lin in (att.value, ffn.key):
                out_f, in_f = lin.weight.shape
                nn.init.orthogonal_(lin.weight, gain=math.sqrt(out_f / in_f) if out_f > in_f else 1.0)
        nn.init.uniform_(self.emb.weight, -emb_scale, emb_scale)
        V = cfg.vocab_size
        nn.init.orthogonal_(self.head.weight, gain=0.5 * math.sqrt(V / C) if V > C else 0.5)
        for m in self.modules():
            if isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        self._fast = None
        return self

    # ---------------------------------------------------------------- parallel form
    def new_state(self, batch: int | None = None) -> torch.Tensor:
        """Zero state, (L, 5, C) or (B, L, 5, C); the running max starts at "minus infinity"."""
        shape = (self.cfg.n_layer, 5, self.cfg.n_embd)
        if batch is not None:
            shape = (batch,) + shape
        state = torch.zeros(shape, dtype=self.emb.weight.dtype, device=self.emb.weight.device)
        state[..., ATT_P, :] = P_INIT
        return state

    def forward(self, idx: torch.Tensor, state: torch.Tensor | None = None):
        """idx: (B, T) token ids; state: optional (B, L, 5, C). Returns logits (B, T, V), final state."""
        B, T = idx.shape
        x = self.emb(idx)  # (B, T, C)
        new_states = []
        for i, block in enumerate(self.blocks):
            s = state[:, i] if state is not None else None
            if i == 0:
                x = block.ln0(x)
            h = block.ln1(x)
            wkv_state = (s[:, ATT_A], s[:, ATT_B], s[:, ATT_P]) if s is not None else None
            att_out, (a, b, p) = block.att(h, s[:, ATT_X] if s is not None else None, wkv_state)
            x = x + att_out
            h2 = block.ln2(x)
            x = x + block.ffn(h2, s[:, FFN_X] if s is not None else None)
            new_states.append(torch.stack([h[:, -1], a, b, p, h2[:, -1]], dim=1))
        logits = self.head(self.ln_out(x))
        return logits, torch.stack(new_states, dim=1)

    # ---------------------------------------------------------------- recurrent form
    def _prepare_fast(self):
        """Derived per-layer tensors for `step`, cached until any parameter changes.

        Each parameter's version counter rises on every in-place change (optimizer steps,
        `load_state_dict`), so `step` rebuilds this cache by itself; `invalidate_cache()` is only
        needed after *replacing* a parameter object.
        """
        layers = []
        for block in self.blocks:
            att, ffn = block.att, block.ffn
            w = -torch.exp(att.time_decay.detach())  # (C,) log of the per-step decay factor
            layers.append(
                dict(
                    ln1=(block.ln1.weight.detach(), block.ln1.bias.detach()),
                    ln2=(block.ln2.weight.detach(), block.ln2.bias.detach()),
                    w=w,
                    decay=torch.exp(w),  # e^{−e^{time_decay}}, for traces
                    u=att.time_first.detach(),
                    amk=att.time_mix_k.detach(),
                    amv=att.time_mix_v.detach(),
                    amr=att.time_mix_r.detach(),
                    Wk=att.key.weight.detach(),
                    Wv=att.value.weight.detach(),
                    Wr=att.receptance.weight.detach(),
                    Wo=att.output.weight.detach(),
                    fmk=ffn.time_mix_k.detach(),
                    fmr=ffn.time_mix_r.detach(),
                    Fk=ffn.key.weight.detach(),
                    Fr=ffn.receptance.weight.detach(),
                    Fv=ffn.value.weight.detach(),
                )
            )
        self._fast_params = list(self.parameters())
        self._fast_version = sum(p._version for p in self._fast_params)
        self._fast = layers
        return layers

    def invalidate_cache(self) -> None:
        self._fast = None

    @torch.inference_mode()
    def step(self, token: int, state: torch.Tensor, trace: bool = False, top_k: int = 5):
        """One token in recurrent mode. state: (L, 5, C), not modified. Returns (logits (V,), state[, trace])."""
        fast = self._fast
        if fast is None or self._fast_version != sum(p._version for p in self._fast_params):
            fast = self._prepare_fast()
        C = self.cfg.n_embd
        ln0 = self.blocks[0].ln0
        x = F.layer_norm(self.emb.weight[token], (C,), ln0.weight, ln0.bias)  # (C,)
        new_state = torch.empty_like(state)  # (L, 5, C)
        traces = [] if trace else None
        for i, L in enumerate(fast):
            s, ns = state[i], new_state[i]  # (5, C) each
            h = F.layer_norm(x, (C,), *L["ln1"])
            prev = s[ATT_X]
            d = h - prev
            xk = torch.addcmul(prev, L["amk"], d)  # = μ h + (1 − μ) prev, eq. (12)
            xv = torch.addcmul(prev, L["amv"], d)  # eq. (13)
            xr = torch.addcmul(prev, L["amr"], d)  # eq. (11)
            r = torch.sigmoid(torch.mv(L["Wr"], xr))
            k = torch.mv(L["Wk"], xk)
            v = torch.mv(L["Wv"], xv)
            a, b, p = s[ATT_A], s[ATT_B], s[ATT_P]
            ww = L["u"] + k
            q = torch.maximum(p, ww)
            e1, e2 = torch.exp(p - q), torch.exp(ww - q)
            wkv = (e1 * a + e2 * v) / (e1 * b + e2)  # eq. (16)
            ww = p + L["w"]
            torch.maximum(ww, k, out=ns[ATT_P])
            q = ns[ATT_P]
            e1, e2 = torch.exp(ww - q), torch.exp(k - q)
            torch.addcmul(e1 * a, e2, v, out=ns[ATT_A])
            torch.addcmul(e2, e1, b, out=ns[ATT_B])
            ns[ATT_X] = h
            x = x + torch.mv(L["Wo"], r * wkv)  # eq. (17)
            h2 = F.layer_norm(x, (C,), *L["ln2"])
            prev2 = s[FFN_X]
            d2 = h2 - prev2
            fk = torch.addcmul(prev2, L["fmk"], d2)  # eq. (15)
            fr = torch.addcmul(prev2, L["fmr"], d2)  # eq. (14)
            x = x + torch.sigmoid(torch.mv(L["Fr"], fr)) * torch.mv(L["Fv"], torch.square(torch.relu(torch.mv(L["Fk"], fk))))
            ns[FFN_X] = h2
            if trace:
                traces.append(
                    LayerTrace(
                        x_now=h, x_prev=prev, xk=xk, xv=xv, xr=xr, r=r, k=k, v=v, wkv=wkv,
                        decay=L["decay"], state_before=s.clone(), state_after=ns.clone(),
                    )
                )
        x = F.layer_norm(x, (C,), self.ln_out.weight, self.ln_out.bias)
        logits = torch.mv(self.head.weight, x)
        if not trace:
            return logits, new_state
        probs = torch.softmax(logits.float(), dim=-1)
        top = torch.topk(probs, top_k)
        st = StepTrace(token=int(token), layers=traces, top_ids=top.indices.tolist(), top_probs=top.values.tolist())
        return logits, new_state, st

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
