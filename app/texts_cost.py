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

from .figures_cost import bytes_label, tokens_label

RACE_DEFAULT, RACE_MIN, RACE_MAX = 2048, 64, 4096
RACE_CHOICES = (256, 512, 1024, 2048, 4096)
AT_SCALE_CONTEXTS = cost.log_contexts(1024, 1_048_576)  # 1K, 2K, …, 1M (the slider)
CHART_CONTEXTS = cost.log_contexts(1024, 1_048_576, per_octave=4)  # smooth curves
AT_SCALE_DEFAULT_SIZE = "7B"
AT_SCALE_DEFAULT_CONTEXT = 32768
GPU_GB, PHONE_GB = 80.0, 8.0
_MD_SPECIAL = set("\\`*_{}[]()<>#+-.!|~:$&\"'=")


def _shown(raw, limit: int = 20) -> str:
    """A user-supplied value, shortened, for a message rendered as plain text (never HTML)."""
    s = str(raw)
    s = s if len(s) <= limit else s[:limit] + "…"
    # Streamlit renders messages as Markdown: escape its syntax so a link's text stays plain text
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)


def parse_tokens_param(raw) -> tuple[int, str | None]:
    """The `tokens` query parameter → (token count, message or None). Invalid → default and a message."""
    if raw is None or raw == "":
        return RACE_DEFAULT, None
    try:
        n = int(str(raw).strip())
    except ValueError:
        n = None
    if n is None or not RACE_MIN <= n <= RACE_MAX:
        return RACE_DEFAULT, (f'The link asked for a race of "{_shown(raw)}" tokens; that is not a whole number '
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
            msgs.append(f'The link asked for a model size "{_shown(size_raw)}", which is not one of '
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
            msgs.append(f'The link asked for a length of "{_shown(context_raw)}" tokens; the choices are powers '
                        f"of two from 1,024 to 1,048,576, so showing {context:,}.")
    gqa = False
    if gqa_raw not in (None, ""):
        v = str(gqa_raw).strip().lower()
        if v in ("1", "true", "yes", "on"):
            gqa = True
        elif v not in ("0", "false", "no", "off"):
            msgs.append(f'The link\'s "gqa" setting "{_shown(gqa_raw)}" is not on/off; GQA is off.')
    return size, context, gqa, msgs


# ------------------------------------------------------------------ cost race


RACE_LEAD = (
    "Both models read the same story, one [[token]] at a time, on this computer, right now. "
    "RWKV's memory is a box that never grows: its [[state]] stays the same size however long the text. "
    "A [[transformer]]'s [[KV cache]] is a stack that grows with every token, and for every new token "
    "it looks back over the whole stack. Watch what that does to memory and time."
)

RACE_CONTEXT_CAVEAT = (
    "The small transformer here was [[trained|training]] on texts of at most {ctx} tokens. Past that point "
    "it keeps going thanks to [[rotary positions]], but its guesses get worse: it never practised such "
    "long texts. The cost you see is real; the quality past {ctx} tokens is not what a real model would give."
)

RACE_SMALL_MODEL_NOTE = (
    "These are tiny models ({params} [[parameters|parameter]] each), so most of each step's time is fixed "
    "bookkeeping that both models pay alike, and the time gap starts small. The memory gap is exact. "
    "Real models are thousands of times bigger: the At scale page shows what the same "
    "formulas give there."
)


def race_machine_label(machine: dict) -> str:
    threads = machine.get("torch_threads", "?")
    return (f"Measured on this machine: {machine.get('cpu', 'unknown CPU')}, {machine.get('cores', '?')} cores, "
            f"{threads} thread{'s' if threads != 1 else ''} for the race, {machine.get('date', '')}.")


def race_headline(row: dict) -> str:
    """One plain sentence from a `model.race.summary_at` row."""
    ratio = row["gpt_bytes"] / row["rwkv_bytes"] if row["rwkv_bytes"] else 0
    return (f"After {row['tokens']:,} tokens the transformer holds {bytes_label(row['gpt_bytes'])} "
            f"against RWKV's {bytes_label(row['rwkv_bytes'])} ({ratio:,.0f}× more), and takes "
            f"{row['gpt_ms']:.2f} ms per token against RWKV's {row['rwkv_ms']:.2f} ms.")


# ------------------------------------------------------------------ at scale


SCALE_LEAD = (
    "The models in this app are tiny. Here the same formulas are applied to real model sizes, from "
    "RWKV-4's 169 million to 14 billion [[parameters|parameter]], and to a [[transformer]] of the same "
    "depth and width. Pick a size and a conversation length: nothing here is measured, every number "
    "is computed from a published formula (sources below each number)."
)

SRC_STATE = "computed from 5 × layers × width numbers, 4 bytes each (RWKV paper, arXiv 2305.13048)"
SRC_KV = ("computed from 2 × layers × KV heads × head size × 2 bytes per token (vLLM paper, arXiv 2309.06180 §3; "
          "GQA: arXiv 2305.13245)")
SRC_FLOPS = ("computed from 2(VD + 13D²L) for RWKV (arXiv 2305.13048, Table 2) and 2(VD + 12D²L) + 4·L·n·D for "
             "the transformer (Kaplan et al., arXiv 2001.08361, eq. 2.2)")
SRC_GPU = "computed: (80 GB − the model's fp16 weights) ÷ memory per conversation; an upper bound"


def scale_sentences(n: dict) -> list[str]:
    """Plain-unit translations of `model.cost.at_scale_numbers` output."""
    ctx = tokens_label(n["context"])
    out = []
    phones = n["transformer_phones"]
    if phones >= 1:
        out.append(f"A phone has {n['phone_gb']:g} GB of memory. One {ctx}-token conversation's [[KV cache]] "
                   f"({bytes_label(n['transformer_bytes'])}) would fill {phones:,.1f} phones; RWKV's [[state]] "
                   f"({bytes_label(n['rwkv_bytes'])}) is the same for any length.")
    else:
        out.append(f"A phone has {n['phone_gb']:g} GB of memory. One {ctx}-token conversation's [[KV cache]] "
                   f"({bytes_label(n['transformer_bytes'])}) takes {phones:.1%} of it; RWKV's [[state]] "
                   f"({bytes_label(n['rwkv_bytes'])}) is the same for any length.")
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
