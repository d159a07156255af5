"""Words and small helpers for the cost pages (cost race, at scale, caveats): query-parameter parsing
and plain-language sentences built from numbers. No Streamlit here, so it is unit-testable.

Example:
    >>> parse_tokens_param("abc")
    (2048, 'The link asked for a race of "abc" tokens; that is not a whole number from 64 to 4,096, so the race uses 2,048.')
    >>> parse_tokens_param("512")
    (512, None)
"""
from __future__ import annotations

from model import cost
from model.cost import human_bytes

from .escape import user_text
from .figures_cost import tokens_label

RACE_DEFAULT, RACE_MIN, RACE_MAX = 2048, 64, 4096
RACE_CHOICES = (256, 512, 1024, 2048, 4096)
AT_SCALE_CONTEXTS = cost.log_contexts(1024, 1_048_576)  # 1K, 2K, …, 1M (the slider)
CHART_CONTEXTS = cost.log_contexts(1024, 1_048_576, per_octave=4)  # smooth curves
AT_SCALE_DEFAULT_SIZE = "7B"
AT_SCALE_DEFAULT_CONTEXT = 32768
GPU_GB, PHONE_GB = 80.0, 8.0


def parse_tokens_param(raw) -> tuple[int, str | None]:
    """The `tokens` query parameter → (token count, message or None). Invalid → default and a message."""
    if raw is None or raw == "":
        return RACE_DEFAULT, None
    try:
        n = int(str(raw).strip())
    except ValueError:
        n = None
    if n is None or not RACE_MIN <= n <= RACE_MAX:
        return RACE_DEFAULT, (f'The link asked for a race of "{user_text(raw)}" tokens; that is not a whole number '
                              f"from {RACE_MIN} to {RACE_MAX:,}, so the race uses {RACE_DEFAULT:,}.")
    return n, None


def parse_scale_params(size_raw, context_raw, gqa_raw) -> tuple[str, int, bool, list[str]]:
    """`size`, `context`, `gqa` query parameters → (size name, context, gqa, messages)."""
    msgs = []
    size = AT_SCALE_DEFAULT_SIZE
    if size_raw not in (None, ""):
        if str(size_raw) in cost.MODEL_SIZES:
            size = str(size_raw)
        else:
            msgs.append(f'The link asked for a model size "{user_text(size_raw)}", which is not one of '
                        f"{', '.join(cost.MODEL_SIZES)}; showing {size}.")
    context = AT_SCALE_DEFAULT_CONTEXT
    if context_raw not in (None, ""):
        try:
            c = int(str(context_raw).strip())
        except ValueError:
            c = None
        if c in AT_SCALE_CONTEXTS:
            context = c
        else:
            msgs.append(f'The link asked for a length of "{user_text(context_raw)}" tokens; the choices are powers '
                        f"of two from 1,024 to 1,048,576, so showing {context:,}.")
    gqa = False
    if gqa_raw not in (None, ""):
        v = str(gqa_raw).strip().lower()
        if v in ("1", "true", "yes", "on"):
            gqa = True
        elif v not in ("0", "false", "no", "off"):
            msgs.append(f'The link\'s "gqa" setting "{user_text(gqa_raw)}" is not on/off; GQA is off.')
    return size, context, gqa, msgs


# ------------------------------------------------------------------ cost race


RACE_LEAD = (
    "Both models read the same story, one [[token]] at a time, on this computer, right now. "
    "RWKV's memory is a box that never grows: its [[state]] stays the same size however long the text. "
    "A [[transformer]]'s [[KV cache]] is a stack that grows with every token, and for every new token "
    "it looks back over the whole stack. Watch what that does to memory and time."
)

def race_context_caveat(gpt_ctx: int, rwkv_ctx: int, rwkv_checked_to: int) -> str:
    """The trained-length caveat, for both models: the transformer's guesses get worse past its trained length;
    RWKV's memory carries on, but it never practised long texts either, and its guesses were only checked up to
    `rwkv_checked_to` tokens (the model card's loss by position)."""
    if gpt_ctx == rwkv_ctx:
        trained = f"Both small models here were [[trained|training]] on texts of at most {gpt_ctx:,} tokens."
    else:
        trained = (f"The small transformer here was [[trained|training]] on texts of at most {gpt_ctx:,} tokens, "
                   f"RWKV on texts of at most {rwkv_ctx:,}.")
    return (f"{trained} Past that point the transformer keeps going thanks to [[rotary positions]], but its guesses "
            "get worse: it never practised such long texts. RWKV's memory simply carries on, but it never practised "
            f"long texts either. This project checked its guesses only up to {rwkv_checked_to:,} tokens (see the "
            "model card). The cost you see is real for both. The quality of long races is not what a real model "
            "would give.")


RACE_SMALL_MODEL_NOTE = (
    "These are tiny models ({params} [[parameters|parameter]] each), so most of each step's time is fixed "
    "bookkeeping that both models pay alike, and the time gap starts small. The memory gap is exact. "
    "Real models are thousands of times bigger: the At scale page shows what the same "
    "formulas give there."
)


def time_ago(seconds: float) -> str:
    """12 → '12 seconds ago', 150 → '2 minutes ago', 7200 → '2 hours ago'; under 5 s: 'just now'."""
    s = max(0.0, float(seconds))
    if s < 5:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if s >= size:
            k = int(s // size)
            return f"{k} {unit}{'s' if k != 1 else ''} ago"
    return "just now"


def race_machine_label(machine: dict, now: float | None = None) -> str:
    """Where and when the race shown was measured. `machine` as `model.race.machine_description` plus
    `unix_time` (set by `measure_race`); `now` defaults to the current time."""
    import time

    threads = machine.get("torch_threads", "?")
    when = ""
    if isinstance(machine.get("unix_time"), (int, float)):
        when = f" {time_ago((time.time() if now is None else now) - machine['unix_time'])}"
    return (f"Measured{when} on this machine: {machine.get('cpu', 'unknown CPU')}, {machine.get('cores', '?')} "
            f"cores, {threads} thread{'s' if threads != 1 else ''} for the race, {machine.get('date', '')}.")


def race_too_soon_note(n_tokens: int, since_s: float, min_gap_s: float) -> str:
    """Shown when "Measure again" is pressed less than `min_gap_s` after the last race of that length."""
    wait = max(1, round(min_gap_s - since_s))
    return (f"A race of {n_tokens:,} tokens was started {time_ago(since_s)} (by you or another visitor), so "
            f"here is that measurement. Races run one at a time so that they do not slow each other down; "
            f"press again in about {wait} s for a fresh one.")


RACE_WAITING = ("Another visitor's race is running; races take turns so that the timings stay clean. "
                "Waiting, then racing both models through {n:,} tokens…")
RACE_RUNNING = "Racing both models through {n:,} tokens on this computer (a few seconds)…"


def race_headline(row: dict) -> str:
    """One plain sentence from a `model.race.summary_at` row."""
    ratio = row["gpt_bytes"] / row["rwkv_bytes"] if row["rwkv_bytes"] else 0
    return (f"After {row['tokens']:,} tokens the transformer holds {human_bytes(row['gpt_bytes'])} "
            f"against RWKV's {human_bytes(row['rwkv_bytes'])} ({ratio:,.0f}× more), and takes "
            f"{row['gpt_ms']:.2f} ms per token against RWKV's {row['rwkv_ms']:.2f} ms.")


# ------------------------------------------------------------------ at scale


SCALE_LEAD = (
    "The models in this app are tiny. Here the same formulas are applied to real model sizes, from "
    "RWKV-4's 169 million to 14 billion [[parameters|parameter]], and to a [[transformer]] of the same "
    "depth and width. Pick a size and a conversation length: nothing here is measured, every number "
    "is computed from a published formula (sources below each number)."
)

SRC_STATE = ("computed from 5 × layers × width numbers, 4 bytes each (RWKV paper, arXiv 2305.13048, appendix D; "
             "a slight overcount, see For builders)")
SRC_KV = ("computed from 2 × layers × KV heads × head size × 2 bytes per token (vLLM paper, arXiv 2309.06180 §3; "
          "GQA: arXiv 2305.13245)")
SRC_FLOPS = ("computed for RWKV with the formula that reproduces the FLOP column of the RWKV paper's Table 2 "
             "(arXiv 2305.13048), and for the transformer with Kaplan et al.'s (arXiv 2001.08361, eq. 2.2); both "
             "under For builders")
SCALE_QUALITY_CAVEAT = (
    "These numbers are about memory and work, not about how good the answers are. The RWKV-4 models were "
    "[[trained|training]] on texts of 1,024 tokens. Some were then tuned on texts of 8,192 (RWKV paper, "
    "arXiv 2305.13048, §4.1 and §5.2). This page goes up to a million. At such lengths RWKV's [[state]] stays "
    "the same size. But the paper does not show how well the model still works there, just as a [[transformer]] "
    "is untested past the length it was trained on."
)


def state_dtype_note(size) -> str:
    """For builders: what counting all 5 state vectors in fp32 overstates, computed for one `cost.ModelSize`.

    ChatRWKV (the `rwkv` package, `RWKV.forward`) keeps the WKV numerator, denominator and maximum in fp32 but the
    two token-shift vectors in the run's dtype (fp16 or bf16 on a GPU)."""
    all_fp32 = cost.rwkv4_state_bytes(size.n_layer, size.d_model, cost.BYTES["fp32"])
    mixed = size.n_layer * size.d_model * (3 * cost.BYTES["fp32"] + 2 * cost.BYTES["fp16"])
    return (f"RWKV's state is counted here with all 5 vectors in fp32 (4 bytes): {human_bytes(all_fp32)} for "
            f"{size.name}. ChatRWKV, the official inference code, keeps $a$, $b$ and $p$ in fp32 but the two "
            f"token-shift vectors in the run's type (fp16 or bf16 on a GPU): {human_bytes(mixed)}, "
            f"{1 - mixed / all_fp32:.0%} less. So the page slightly overstates RWKV's memory.")


def kv_units_note(row_below: bool = False) -> str:
    """For builders: vLLM's "800 KB per token" for OPT-13B is in KiB; this app's byte units are decimal."""
    per_token = cost.kv_cache_bytes_per_token(40, 40, 128, cost.BYTES["fp16"])  # OPT-13B: 40 layers, 40 heads × 128
    return (f"The vLLM paper's 800 KB per token for OPT-13B is {per_token:,} bytes: it counts 1 KB as 1,024 bytes. "
            f"This app counts 1 KB as 1,000 bytes, so the same shape shows as {human_bytes(per_token)}"
            + (" (the 14B row below has that shape)." if row_below else "."))
SRC_GPU = "computed: (80 GB − the model's fp16 weights) ÷ memory per conversation; an upper bound"


def scale_sentences(n: dict) -> list[str]:
    """Plain-unit translations of `model.cost.at_scale_numbers` output."""
    ctx = tokens_label(n["context"])
    out = []
    phones = n["transformer_phones"]
    if phones >= 1:
        out.append(f"A phone has {n['phone_gb']:g} GB of memory. One {ctx}-token conversation's [[KV cache]] "
                   f"({human_bytes(n['transformer_bytes'])}) would fill {phones:,.1f} phones; RWKV's [[state]] "
                   f"({human_bytes(n['rwkv_bytes'])}) is the same for any length.")
    else:
        out.append(f"A phone has {n['phone_gb']:g} GB of memory. One {ctx}-token conversation's [[KV cache]] "
                   f"({human_bytes(n['transformer_bytes'])}) takes {phones:.1%} of it; RWKV's [[state]] "
                   f"({human_bytes(n['rwkv_bytes'])}) is the same for any length.")
    if n["transformer_per_gpu"] == 0:
        tf = "not even one: the weights plus one conversation's cache do not fit"
    else:
        tf = f"{n['transformer_per_gpu']:,}"
    out.append(f"One {n['gpu_gb']:g} GB [[GPU]], after loading the weights, holds {n['rwkv_per_gpu']:,} such "
               f"conversations with RWKV and {tf} with the transformer.")
    out.append(f"Writing the next token costs RWKV {cost.human_count(n['rwkv_flops'])} [[FLOPs|FLOP]] at any length; "
               f"the transformer needs {cost.human_count(n['transformer_flops'])} at {ctx} tokens "
               f"({n['flops_ratio']:.2f}× RWKV).")
    return out


# ------------------------------------------------------------------ caveats


def toy_model_facts(weights_dir=None) -> list[dict]:
    """What the shipped checkpoints' JSON says about them (no weights loaded): one dict per model found."""
    import json
    from pathlib import Path

    from model.checkpoint import WEIGHTS_DIR

    folder = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    facts = []
    for arch, label in (("rwkv", "RWKV"), ("gpt", "Transformer")):
        path = folder / f"{arch}.json"
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        cfg, train, val = meta.get("config", {}), meta.get("training", {}), meta.get("validation", {})
        facts.append({
            "model": label,
            "layers × width": f"{cfg.get('n_layer', '?')} × {cfg.get('n_embd', '?')}",
            "trained length (tokens)": cfg.get("ctx_len", "?"),
            "training tokens": f"{train.get('tokens_seen', 0):,}" if train.get("tokens_seen") else "?",
            "validation loss": f"{val['loss']:.2f}" if isinstance(val.get("loss"), (int, float)) else "?",
            "top guess right": f"{val['top1']:.0%}" if isinstance(val.get("top1"), (int, float)) else "?",
        })
    return facts
