"""Cost formulas: parameters, FLOPs per token, and memory held per conversation, for RWKV-4 and for
a transformer of the same depth and width. Pure Python, no torch; every function cites its source.

Sources:
- RWKV paper, Peng et al. 2023, "RWKV: Reinventing RNNs for the Transformer Era", arXiv 2305.13048
  (numbering of v2 and later): §4 and Table 2 (parameter count and FLOPs per token of the RWKV-4 Pile
  models); appendix D (the recurrent state, 5 vectors per layer).
- Kaplan et al. 2020, "Scaling Laws for Neural Language Models", arXiv 2001.08361, §2.1, eq. 2.2
  (N ≈ 12·n_layer·d_model², C_forward ≈ 2N + 2·n_layer·n_ctx·d_attn).
- Kwon et al. 2023, "Efficient Memory Management for LLM Serving with PagedAttention" (vLLM),
  arXiv 2309.06180, §3 (KV cache per token: 2 · layers · width · bytes; OPT-13B: 800 KB, i.e. 800 KiB =
  819,200 bytes, which `human_bytes` writes as 819 KB).
- Ainslie et al. 2023, "GQA: Training Generalized Multi-Query Transformer Models", arXiv 2305.13245
  (grouped-query attention: several query heads share one key/value head).

Units: bytes are plain bytes; "GB" means 10⁹ bytes (how GPU and phone memory is sold), "KiB" 1024.

Example:
    >>> rwkv4_flops_per_token(n_layer=12, d_model=768, vocab=50277)
    261250560
    >>> kv_cache_bytes_per_token(n_layer=40, n_kv_heads=40, head_dim=128, bytes_per_element=2)
    819200
    >>> rwkv4_state_floats(n_layer=12, d_model=768)
    46080
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
GB = 10**9
RWKV4_PILE_VOCAB = 50277  # vocabulary of the RWKV-4 Pile models (GPT-NeoX tokenizer, arXiv 2305.13048)

# ------------------------------------------------------------------ RWKV-4


def rwkv4_params(n_layer: int, d_model: int, vocab: int) -> int:
    """RWKV-4 parameter count 2VD + 13D²L + D(11L + 4).

    Source: RWKV paper arXiv 2305.13048, §4 and Table 2 (embedding and head VD each; 13D² per layer:
    time mixing 4D², channel mixing with a 4D hidden layer 9D²; 11D per layer of LayerNorms and
    mixing vectors; 4D for the first LayerNorm and the output LayerNorm).
    169M = 12 layers × 768, vocab 50277 → 169,342,464.
    """
    D, L, V = d_model, n_layer, vocab
    return 2 * V * D + 13 * D * D * L + D * (11 * L + 4)


def rwkv4_flops_per_token(n_layer: int, d_model: int, vocab: int) -> int:
    """FLOPs to read or write one token with RWKV-4: 2(VD + 13D²L), whatever the text length.

    Source: this is the formula that reproduces the "FLOPs per token" column of the RWKV paper's Table 2
    exactly (arXiv 2305.13048: 169M → 2.613e8, 430M → 7.573e8); the paper's text writes other forms
    (v2+ §4: 2(2VD + 13D²L); v1 appendix C: 6(VD + 13D²L)), which do not give the table's numbers.
    A multiply-add counts as 2 FLOPs, per weight of the layers and of the output head. The O(D)
    element-wise work of the WKV recurrence is left out, as in the paper.
    """
    D, L, V = d_model, n_layer, vocab
    return 2 * (V * D + 13 * D * D * L)


def rwkv4_state_floats(n_layer: int, d_model: int) -> int:
    """Numbers RWKV-4 carries from token to token: 5 vectors of D per layer, 5·L·D.

    Source: RWKV paper arXiv 2305.13048, appendix D (v2+ numbering; per layer: the previous token's
    input to time mixing and to channel mixing, and the WKV numerator, denominator and running maximum).
    169M: 5 × 12 × 768 = 46,080.
    """
    return 5 * n_layer * d_model


def rwkv4_state_bytes(n_layer: int, d_model: int, bytes_per_element: int = 4) -> int:
    """Bytes of RWKV-4's state, 5·L·D × bytes per number, all five vectors at the same size (fp32 = 4 by
    default). ChatRWKV (the `rwkv` package) keeps a, b, p in fp32 but the two token-shift vectors in the
    run's dtype (fp16/bf16 on GPU), so all-fp32 overstates its state slightly (20 bytes per channel and
    layer instead of 16 at fp16: 25% more). Source: as `rwkv4_state_floats` (arXiv 2305.13048, appendix D).
    169M in fp32: 184,320 = 180 KiB. It does not depend on how many tokens have been read."""
    return rwkv4_state_floats(n_layer, d_model) * bytes_per_element


# ------------------------------------------------------------------ transformer


def transformer_params_kaplan(n_layer: int, d_model: int) -> int:
    """Non-embedding parameters N ≈ 12·n_layer·d_model² (d_attn = d_model, d_ff = 4·d_model).

    Source: Kaplan et al. 2020, arXiv 2001.08361, §2.1 (N ≈ 2·d_model·n_layer·(2·d_attn + d_ff)).
    """
    return 12 * n_layer * d_model * d_model


def transformer_params(n_layer: int, d_model: int, vocab: int = 0, n_heads: int | None = None,
                       n_kv_heads: int | None = None, tied_embeddings: bool = False) -> int:
    """Weights of a standard decoder transformer: per layer Q and output projections D² each, keys and
    values D·(n_kv_heads·head_dim) each, MLP 8D²; plus the embedding (and an untied output head).

    With n_kv_heads = n_heads this is Kaplan's 12·n_layer·d_model² (arXiv 2001.08361 §2.1) + VD
    (+ VD untied). Grouped-query attention (arXiv 2305.13245) shrinks the key/value projections.
    Biases and LayerNorms (O(D) per layer) are left out.
    """
    D, L = d_model, n_layer
    if n_heads is None or n_kv_heads is None:
        kv_width = D
    else:
        kv_width = n_kv_heads * (D // n_heads)
    per_layer = 2 * D * D + 2 * D * kv_width + 8 * D * D
    emb = vocab * D * (1 if tied_embeddings else 2)
    return L * per_layer + emb


def transformer_forward_flops_kaplan(n_params_non_embedding: int, n_layer: int, n_ctx: int, d_attn: int) -> int:
    """C_forward ≈ 2N + 2·n_layer·n_ctx·d_attn FLOPs per token.

    Source: Kaplan et al. 2020, arXiv 2001.08361, eq. 2.2 (the second term is the attention scores
    against n_ctx earlier tokens; Kaplan's table counts only the query·key product).
    """
    return 2 * n_params_non_embedding + 2 * n_layer * n_ctx * d_attn


def transformer_decode_flops_per_token(n_layer: int, d_model: int, vocab: int, context: int,
                                       d_attn: int | None = None, kv_width: int | None = None) -> int:
    """FLOPs to write the next token when `context` tokens sit in the KV cache:
    2(VD + 12·D²·L) + 4·L·context·d_attn.

    The weight term is Kaplan's 2N (arXiv 2001.08361 eq. 2.2, N = 12·L·D²) plus the output head 2VD,
    counted the same way as RWKV's 2(VD + 13D²L) (reproduces arXiv 2305.13048 Table 2) so the two compare. The
    attention term counts both the query·key scores and the weighted sum of values (2 × Kaplan's
    2·n_layer·n_ctx·d_attn). With grouped-query attention (`kv_width` = KV heads × head size < D) the key and
    value projections shrink, so N = L·(10·D² + 2·D·kv_width) (as `transformer_params`); the attention term
    does not: every query head still reads every cached token.

    >>> full = transformer_decode_flops_per_token(32, 4096, 50277, 32768)
    >>> gqa = transformer_decode_flops_per_token(32, 4096, 50277, 32768, kv_width=8 * 128)
    >>> full - gqa == 2 * 32 * 2 * 4096 * (4096 - 1024)
    True
    """
    d_attn = d_model if d_attn is None else d_attn
    kv_width = d_model if kv_width is None else kv_width
    weights = n_layer * (10 * d_model * d_model + 2 * d_model * kv_width)
    return 2 * (vocab * d_model + weights) + 4 * n_layer * context * d_attn


def kv_cache_bytes_per_token(n_layer: int, n_kv_heads: int, head_dim: int, bytes_per_element: int = 2) -> int:
    """Bytes the KV cache grows by with each token: 2 (a key and a value) · n_layer · n_kv_heads ·
    head_dim · bytes per number.

    Source: vLLM paper, Kwon et al. 2023, arXiv 2309.06180, §3 (OPT-13B: 2 × 5120 × 40 layers ×
    2 bytes = "800 KB" as the paper writes it, i.e. 800 KiB = 819,200 bytes per token). With grouped-query
    attention (arXiv 2305.13245), n_kv_heads < number of query heads, and the cache shrinks by that ratio.
    """
    return 2 * n_layer * n_kv_heads * head_dim * bytes_per_element


def kv_cache_bytes(n_tokens: int, n_layer: int, n_kv_heads: int, head_dim: int, bytes_per_element: int = 2) -> int:
    """KV cache after `n_tokens` tokens: n_tokens × `kv_cache_bytes_per_token` (arXiv 2309.06180 §3)."""
    return n_tokens * kv_cache_bytes_per_token(n_layer, n_kv_heads, head_dim, bytes_per_element)


# ------------------------------------------------------------------ named real sizes


@dataclass(frozen=True)
class ModelSize:
    """One RWKV-4 Pile model and the transformer of the same depth and width.

    Layers and width: the RWKV-4 Pile models (arXiv 2305.13048, Table 2 and the BlinkDL/rwkv-4-pile-*
    releases). Transformer heads: 64 dimensions per head up to width 1024, 128 above (as GPT-2 and
    GPT-3/Llama respectively); `gqa_kv_heads` is an illustrative grouped-query choice (8 KV heads for
    32+ query heads, as Mistral 7B and Llama-3 8B; otherwise 4).
    """

    name: str
    n_layer: int
    d_model: int
    vocab: int = RWKV4_PILE_VOCAB

    @property
    def head_dim(self) -> int:
        return 64 if self.d_model <= 1024 else 128

    @property
    def n_heads(self) -> int:
        return self.d_model // self.head_dim

    @property
    def gqa_kv_heads(self) -> int:
        return 8 if self.n_heads >= 32 else 4

    def kv_heads(self, gqa: bool) -> int:
        return self.gqa_kv_heads if gqa else self.n_heads

    def rwkv_params(self) -> int:
        return rwkv4_params(self.n_layer, self.d_model, self.vocab)

    def transformer_params(self, gqa: bool = False) -> int:
        return transformer_params(self.n_layer, self.d_model, self.vocab, self.n_heads, self.kv_heads(gqa))


MODEL_SIZES: dict[str, ModelSize] = {
    s.name: s
    for s in (
        ModelSize("169M", 12, 768),
        ModelSize("430M", 24, 1024),
        ModelSize("1.5B", 24, 2048),
        ModelSize("3B", 32, 2560),
        ModelSize("7B", 32, 4096),
        ModelSize("14B", 40, 5120),
    )
}


def size_table() -> list[dict]:
    """One row per named size: shape, parameters of both designs, FLOPs per token at zero context,
    RWKV state bytes (fp32) and KV-cache bytes per token (fp16) without and with GQA."""
    rows = []
    for s in MODEL_SIZES.values():
        row = asdict(s)
        row.update(
            n_heads=s.n_heads, head_dim=s.head_dim, gqa_kv_heads=s.gqa_kv_heads,
            rwkv_params=s.rwkv_params(), transformer_params=s.transformer_params(False),
            transformer_params_gqa=s.transformer_params(True),
            rwkv_flops_per_token=rwkv4_flops_per_token(s.n_layer, s.d_model, s.vocab),
            rwkv_state_bytes=rwkv4_state_bytes(s.n_layer, s.d_model, BYTES["fp32"]),
            kv_bytes_per_token=kv_cache_bytes_per_token(s.n_layer, s.n_heads, s.head_dim, BYTES["fp16"]),
            kv_bytes_per_token_gqa=kv_cache_bytes_per_token(s.n_layer, s.gqa_kv_heads, s.head_dim, BYTES["fp16"]),
        )
        rows.append(row)
    return rows


# ------------------------------------------------------------------ per conversation


def memory_per_conversation(size: ModelSize, context: int, gqa: bool = False,
                            rwkv_bytes: int = BYTES["fp32"], kv_bytes: int = BYTES["fp16"]) -> dict:
    """Bytes one conversation holds after `context` tokens (weights not included): RWKV state
    (arXiv 2305.13048 appendix D, constant) and transformer KV cache (arXiv 2309.06180 §3; GQA arXiv 2305.13245)."""
    return {
        "rwkv": rwkv4_state_bytes(size.n_layer, size.d_model, rwkv_bytes),
        "transformer": kv_cache_bytes(context, size.n_layer, size.kv_heads(gqa), size.head_dim, kv_bytes),
    }


def flops_per_token(size: ModelSize, context: int, gqa: bool = False) -> dict:
    """FLOPs for the next token at a given context: RWKV 2(VD + 13D²L) (reproduces arXiv 2305.13048 Table 2);
    transformer 2(VD + 12D²L) + 4·L·context·D (arXiv 2001.08361 eq. 2.2, both attention products), its key and
    value projections smaller with GQA."""
    return {
        "rwkv": rwkv4_flops_per_token(size.n_layer, size.d_model, size.vocab),
        "transformer": transformer_decode_flops_per_token(size.n_layer, size.d_model, size.vocab, context,
                                                          kv_width=size.kv_heads(gqa) * size.head_dim),
    }


def weights_bytes(n_params: int, bytes_per_element: int = BYTES["fp16"]) -> int:
    """Memory for the weights themselves: parameters × bytes per number (fp16 = 2)."""
    return n_params * bytes_per_element


def conversations_that_fit(memory_bytes: int, per_conversation_bytes: int, weights: int = 0) -> int:
    """How many conversations fit: ⌊(memory − weights) / per-conversation bytes⌋, 0 if the weights
    alone do not fit. Ignores working memory for activations and fragmentation (vLLM, arXiv
    2309.06180, shows real servers lose some memory to it), so it is an upper bound."""
    free = memory_bytes - weights
    if free <= 0 or per_conversation_bytes <= 0:
        return 0 if free <= 0 else 10**18
    return int(free // per_conversation_bytes)


def tokens_that_fit(memory_bytes: int, bytes_per_token: int, weights: int = 0) -> int:
    """How many tokens of KV cache fit in the memory left after the weights (arXiv 2309.06180 §3)."""
    free = memory_bytes - weights
    return 0 if free <= 0 else int(free // bytes_per_token)


def conversations_on_gpu(size: ModelSize, context: int, gqa: bool = False, gpu_gb: float = 80.0,
                         include_weights: bool = True) -> dict:
    """Conversations of `context` tokens that one `gpu_gb` GPU can hold at once, per design, with the
    fp16 weights of that design loaded first (if `include_weights`). Upper bound: see
    `conversations_that_fit`."""
    mem = memory_per_conversation(size, context, gqa)
    total = int(gpu_gb * GB)
    w_rwkv = weights_bytes(size.rwkv_params()) if include_weights else 0
    w_tf = weights_bytes(size.transformer_params(gqa)) if include_weights else 0
    return {
        "rwkv": conversations_that_fit(total, mem["rwkv"], w_rwkv),
        "transformer": conversations_that_fit(total, mem["transformer"], w_tf),
        "rwkv_weights_bytes": w_rwkv,
        "transformer_weights_bytes": w_tf,
    }


def log_contexts(lo: int = 1024, hi: int = 1_048_576, per_octave: int = 1) -> list[int]:
    """Context lengths from lo to hi on a log scale (powers of two by default): 1K, 2K, …, 1M."""
    n = int(round(math.log2(hi / lo) * per_octave))
    return sorted({int(round(lo * 2 ** (i / per_octave))) for i in range(n + 1)})


def human_bytes(n: float) -> str:
    """Plain units, decimal (as memory is sold), three significant figures: 819200 → '819 KB',
    4.1e9 → '4.1 GB', 12 → '12 bytes', 1 → '1 byte'. Used for every byte count the app shows."""
    n = float(n)
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= scale:
            v = n / scale
            return f"{v:.3g} {unit}" if abs(v) < 1000 else f"{v:,.0f} {unit}"
    return f"{n:.0f} byte" + ("" if round(n) == 1 else "s")


def human_count(n: float) -> str:
    """Counts in words for large powers of ten: 1234 → '1,234'; 2.5e9 → '2.5 billion';
    1e11 → '100 billion'; 3e12 → '3 trillion'. Used for parameters and FLOPs (axis ticks too)."""
    n = float(n)
    for word, scale in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if abs(n) >= scale:
            v = n / scale
            return f"{v:.3g} {word}" if abs(v) < 1000 else f"{v:,.0f} {word}"
    return f"{n:,.0f}"


# ------------------------------------------------------------------ series for the "At scale" page


def memory_curves(size: ModelSize, contexts: list[int]) -> dict:
    """Bytes per conversation at each context: RWKV state (constant), transformer KV cache in fp16
    with every head's keys and values, and with grouped-query attention. Sources as
    `memory_per_conversation`."""
    return {
        "contexts": list(contexts),
        "rwkv": [memory_per_conversation(size, c)["rwkv"] for c in contexts],
        "transformer": [memory_per_conversation(size, c, gqa=False)["transformer"] for c in contexts],
        "transformer_gqa": [memory_per_conversation(size, c, gqa=True)["transformer"] for c in contexts],
    }


def flops_curves(size: ModelSize, contexts: list[int], gqa: bool = False) -> dict:
    """FLOPs for the next token at each context (sources as `flops_per_token`)."""
    return {
        "contexts": list(contexts),
        "rwkv": [flops_per_token(size, c)["rwkv"] for c in contexts],
        "transformer": [flops_per_token(size, c, gqa)["transformer"] for c in contexts],
    }


def gpu_fit_rows(size: ModelSize, contexts: list[int], gpu_gb: float = 80.0) -> dict:
    """Conversations one GPU holds at each context, for RWKV, transformer and transformer with GQA
    (weights loaded first; see `conversations_on_gpu`)."""
    return {
        "contexts": list(contexts),
        "rwkv": [conversations_on_gpu(size, c, False, gpu_gb)["rwkv"] for c in contexts],
        "transformer": [conversations_on_gpu(size, c, False, gpu_gb)["transformer"] for c in contexts],
        "transformer_gqa": [conversations_on_gpu(size, c, True, gpu_gb)["transformer"] for c in contexts],
    }


def at_scale_numbers(size: ModelSize, context: int, gqa: bool, gpu_gb: float = 80.0,
                     phone_gb: float = 8.0) -> dict:
    """Headline numbers for one choice: memory per conversation, FLOPs per token, conversations per
    GPU, and how the transformer's cache compares with a phone's memory. Every figure computed from
    the formulas above (not measured)."""
    mem = memory_per_conversation(size, context, gqa)
    fl = flops_per_token(size, context, gqa)
    gpu = conversations_on_gpu(size, context, gqa, gpu_gb)
    return {
        "size": size.name, "context": context, "gqa": gqa, "kv_heads": size.kv_heads(gqa),
        "n_heads": size.n_heads, "head_dim": size.head_dim, "n_layer": size.n_layer, "d_model": size.d_model,
        "rwkv_bytes": mem["rwkv"], "transformer_bytes": mem["transformer"],
        "memory_ratio": mem["transformer"] / mem["rwkv"],
        "rwkv_flops": fl["rwkv"], "transformer_flops": fl["transformer"],
        "flops_ratio": fl["transformer"] / fl["rwkv"],
        "gpu_gb": gpu_gb, "rwkv_per_gpu": gpu["rwkv"], "transformer_per_gpu": gpu["transformer"],
        "rwkv_weights_bytes": gpu["rwkv_weights_bytes"], "transformer_weights_bytes": gpu["transformer_weights_bytes"],
        "phone_gb": phone_gb, "transformer_phones": mem["transformer"] / (phone_gb * GB),
        "kv_bytes_per_token": kv_cache_bytes_per_token(size.n_layer, size.kv_heads(gqa), size.head_dim, BYTES["fp16"]),
    }
