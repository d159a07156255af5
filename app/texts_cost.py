"""Words and small helpers for the cost pages (cost race, at scale, caveats): query-parameter parsing
and plain-language sentences built from numbers. No Streamlit here, so it is unit-testable.

Example:
    >>> parse_tokens_param("abc")
    (8192, 'The link asked for a race of "abc" tokens; that is not a whole number from 64 to 8,192, so the race uses 8,192.')
    >>> parse_tokens_param("512")
    (512, None)
"""
from __future__ import annotations

from model import cost
from model.cost import human_bytes

from .escape import user_text
from .figures_cost import tokens_label

RACE_DEFAULT, RACE_MIN, RACE_MAX = 8192, 64, 8192  # model.race.GRID[-1]: the server-start race covers every choice
RACE_CHOICES = (256, 512, 1024, 2048, 4096, 8192)
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
    gqa = True  # on unless the link says off: most recent transformers use GQA, the fair comparison
    if gqa_raw not in (None, ""):
        v = str(gqa_raw).strip().lower()
        if v in ("0", "false", "no", "off"):
            gqa = False
        elif v not in ("1", "true", "yes", "on"):
            msgs.append(f'The link\'s "gqa" setting "{user_text(gqa_raw)}" is not on/off; GQA is on.')
    return size, context, gqa, msgs


# ------------------------------------------------------------------ cost race


# On a projector (the talk's race view) the lead is short, so 1280×720 shows the two measured numbers; the
# presenter says the rest (app/present/talk.toml).
RACE_LEAD_PROJECTOR = ("Both models read the same story on the computer that runs this app. We time one more "
                       f"[[token]] after 1 and up to {RACE_MAX:,} tokens.")
RACE_LEAD = (
    "Both models read the start of the same story on the computer that runs this app. "
    "RWKV's memory is a box that never grows: its [[state]] stays the same size however long the text. "
    "A [[transformer]]'s [[KV cache]] is a stack that grows with every token, and for every new token "
    "it looks back over the whole stack. We time how long each model takes to read one more [[token]] "
    "after 1, 64, 256 and up to 8,192 tokens, many times over, and show the middle time. "
    "Past the start of the story, the transformer's stack is filled with copies of what it read: its work "
    "depends on how much it holds, not on what it says. "
    "Watch what that does to memory and time."
)

STAND_IN_NOTE = ("The trained models are not installed here, so the race uses untrained models of the same "
                 "size. Their guesses are nonsense, but each step costs exactly the same work.")


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
    "The RWKV-4 models on the At scale page are 50 to 4,000 times bigger: it shows what the same "
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
    `unix_time` (set by `measure_race`); `now` defaults to the current time. The CPU name comes from a file
    the app wrote, but is escaped like visitor text all the same."""
    import time

    threads = machine.get("torch_threads", "?")
    when = ""
    if isinstance(machine.get("unix_time"), (int, float)):
        when = f" {time_ago((time.time() if now is None else now) - machine['unix_time'])}"
    cpu = user_text(machine.get("cpu", "unknown CPU"), limit=80)
    date = user_text(machine.get("date", ""), limit=40)
    return (f"Measured{when} on the computer that runs this app: {cpu}, {user_text(machine.get('cores', '?'), limit=6)} "
            f"cores, {user_text(threads, limit=6)} thread{'s' if threads != 1 else ''} for the race, {date}.")


def race_too_soon_note(n_tokens: int, since_s: float, min_gap_s: float) -> str:
    """Shown when "Measure again" is pressed less than `min_gap_s` after a race covering that length was asked for."""
    wait = max(1, round(min_gap_s - since_s))
    return (f"A race covering {n_tokens:,} tokens was started {time_ago(since_s)} (by you or another visitor), so "
            f"here is that measurement. Races run one at a time so that they do not slow each other down; "
            f"press again in about {wait} s for a fresh one.")


def race_running_note(since_s: float | None) -> str:
    """Shown when "Measure again" is pressed while a race that covers this length is running or waiting."""
    ago = f" (started {time_ago(since_s)}, by you or another visitor)" if since_s is not None else ""
    return (f"A race is already running{ago}: its progress is shown below. Races run one at a time so that "
            "they do not slow each other down.")


def race_progress_text(done: int, total: int, has_result: bool) -> str:
    """The progress bar's words while a race runs in the background."""
    if total <= 0 or done <= 0:
        step = "getting both models ready"
    else:
        step = f"round {done} of {total}"
    if has_result:
        return (f"Measuring again on the computer that runs this app: {step}. The numbers below are from the last race; "
                "the new ones appear when this one ends.")
    return f"Measuring on the computer that runs this app: {step}. The numbers below fill in as the race goes on."


def race_failed_text(error: str | None) -> str:
    if error:
        return (f"The race could not run on the computer that runs this app ({user_text(error, limit=200)}). "
                "Press *Measure again* to try again.")
    return "No race has been measured on the computer that runs this app yet. Press *Measure again* to start one."


def race_headline(row: dict) -> str:
    """One plain sentence from a `model.race.race_rows` row."""
    ratio = row["gpt_bytes"] / row["rwkv_bytes"] if row["rwkv_bytes"] else 0
    return (f"After {row['tokens']:,} tokens the transformer holds {human_bytes(row['gpt_bytes'])} "
            f"against RWKV's {human_bytes(row['rwkv_bytes'])} ({ratio:,.0f}× more), and takes "
            f"{row['gpt_ms']:.2f} ms for that token against RWKV's {row['rwkv_ms']:.2f} ms (the middle time "
            f"of {row['tries']} tries).")


def race_verdict(v: dict) -> str:
    """What this measurement shows, from `model.race.growth_verdict`, in plain words. Never claims more than
    the spread of the tries allows."""
    if not v["comparable"]:
        return ("Only one length was timed, so this race cannot show how the time changes as the text gets "
                "longer. Pick more tokens.")
    a, b = v["first"], v["last"]
    if v["transformer_grows"]:
        out = (f"The transformer's time climbs: token {b['tokens']:,} took {b['gpt_ms']:.2f} ms, "
               f"{v['growth']:.1f}× the {a['gpt_ms']:.2f} ms of token {a['tokens']:,}, and the middle halves of "
               "the tries at the two lengths do not overlap. ")
    else:
        out = (f"This time the race cannot show the transformer's time growing. At token {b['tokens']:,} the "
               f"middle half of its tries ({b['gpt_p25']:.2f} to {b['gpt_p75']:.2f} ms) overlaps that at token "
               f"{a['tokens']:,} ({a['gpt_p25']:.2f} to {a['gpt_p75']:.2f} ms). The computer may be busy, or the race "
               "too short. The memory chart is exact either way. ")
    if v["rwkv_level"]:
        out += (f"RWKV's time stays level: {a['rwkv_ms']:.2f} ms at token {a['tokens']:,}, "
                f"{b['rwkv_ms']:.2f} ms at token {b['tokens']:,}.")
    else:
        out += (f"RWKV's times were not level this time ({a['rwkv_ms']:.2f} ms, then {b['rwkv_ms']:.2f} ms), "
                "though it does the same work for every token: other programs were probably using the computer that runs this app.")
    return out


def race_ms_caption(v: dict, tries: int) -> str:
    """The "what you see" line under the time chart: it describes the lines only as far as the verdict allows."""
    base = (f"each point is the [[median]] of {tries} tries at that length; its bars cover the middle half of the "
            "tries (a quarter were faster, a quarter slower). ")
    if v["comparable"] and v["transformer_grows"] and v["rwkv_level"]:
        return base + ("RWKV's line stays level; the transformer's climbs, because each new token looks back over "
                       "all earlier ones.")
    if v["comparable"] and v["transformer_grows"]:
        return base + ("The transformer's line climbs, because each new token looks back over all earlier ones. "
                       "RWKV does the same work at every length; its line moved with the computer's other work.")
    return base + ("The transformer does more work for each new token, because it looks back over all earlier "
                   "ones, but this time the tries were too spread out to show it (see above).")


def machine_short(machine: dict) -> str:
    """'Intel(R) Xeon(R) Processor, 2 cores, 2026-11-28 22:45 UTC' (escaped for Markdown)."""
    return (f"{user_text(machine.get('cpu', 'unknown CPU'), limit=80)}, {user_text(machine.get('cores', '?'), limit=6)} "
            f"cores, {user_text(machine.get('date', ''), limit=40)}")


def race_table_caption(tries: int, machine: dict) -> str:
    return (f"ms per token: the [[median]] of the {tries} tries at that length, and the middle half of them (a "
            "quarter were faster, a quarter slower). Total: those medians added up, so an estimate. "
            f"Measured on {machine_short(machine)}.")


def race_table(rows: list[dict]) -> list[dict]:
    """The "Read the numbers" table: the same rows as the charts (`model.race.race_rows`)."""
    return [{"token": r["tokens"],
             "RWKV ms": round(r["rwkv_ms"], 2), "RWKV middle half": f"{r['rwkv_p25']:.2f}–{r['rwkv_p75']:.2f}",
             "transformer ms": round(r["gpt_ms"], 2),
             "transformer middle half": f"{r['gpt_p25']:.2f}–{r['gpt_p75']:.2f}",
             "RWKV holds": human_bytes(r["rwkv_bytes"]), "transformer holds": human_bytes(r["gpt_bytes"]),
             "RWKV total s": round(r["rwkv_total_s"], 2), "transformer total s": round(r["gpt_total_s"], 2)}
            for r in rows]


TIME_COLUMNS = ("token", "RWKV ms", "RWKV middle half", "transformer ms", "transformer middle half")
MEMORY_COLUMNS = ("token", "RWKV holds", "transformer holds", "RWKV total s", "transformer total s")


def race_table_parts(table: list[dict]) -> tuple[list[dict], list[dict]]:
    """`race_table` as two narrow tables (time; memory and total time) with numbers written to 2 decimals, so each
    fits a phone's width with every column in view.

    >>> race_table_parts([{"token": 1, "RWKV ms": 1.5, "RWKV middle half": "1.40–1.60", "transformer ms": 2.0,
    ...                    "transformer middle half": "1.90–2.10", "RWKV holds": "15 KB", "transformer holds": "1 KB",
    ...                    "RWKV total s": 0.0, "transformer total s": 0.0}])[0][0]["RWKV ms"]
    '1.50'
    """
    def cell(value):
        return f"{value:.2f}" if isinstance(value, float) else value

    return tuple([{k: cell(row[k]) for k in columns} for row in table] for columns in (TIME_COLUMNS, MEMORY_COLUMNS))


def race_method_note(result: dict) -> str:
    """For builders: how the race shown was measured (`model.race.measure_race`)."""
    rc, gc, cfg = result["config"]["rwkv"], result["config"]["gpt"], result["config"]
    prefix, top = cfg.get("real_prefix", 0), result["lengths"][-1]
    models = result.get("models", "the shipped models")
    took = f" The race took {result['seconds']:.1f} s." if isinstance(result.get("seconds"), (int, float)) else ""
    load = result["machine"].get("load_1min")
    if isinstance(load, (int, float)) and not isinstance(load, bool):
        cores = result["machine"].get("cores")
        took += f" The computer's load average as it started: {load:.1f} on {user_text(cores if cores else '?')} cores"
        busy = isinstance(cores, int) and not isinstance(cores, bool) and load > cores
        took += " (above the number of cores: other programs were competing for it)." if busy else "."
    return (
        f"Both models: {rc['n_layer']} layers × {rc['n_embd']} wide, vocabulary {rc['vocab_size']:,}; the transformer "
        f"has {gc['n_head']} heads and rotary positions. Both read the story's first {prefix} tokens with `step`; "
        f"the transformer's KV cache is then filled to {top:,} tokens by repeating those tokens' keys and values "
        "(a step's work depends on how many are stored, not on what they say; RWKV's state has one size whatever "
        "it read). \"Token N\" is one `step` with N − 1 tokens held (the cache's length is set back before every "
        "try). Each round times both models once at every length, in a shuffled order, taking turns on who goes "
        f"first, so background load hits all alike: {cfg.get('warmup', 0)} untimed rounds, then "
        f"{result['repeats']}. Shown: the median and the 25th to 75th percentile of the tries; the page says the "
        "transformer's time grows only when its middle halves at the first and the last length do not overlap. "
        f"Single token, batch 1, {cfg.get('dtype', 'float32')}, `torch.inference_mode`, "
        f"{result['machine'].get('torch_threads', 1)} torch thread, wall-clock `time.perf_counter`. Bytes held: "
        f"the RWKV state tensor, and `KVCache.total_bytes()`. Models: {models}.{took}")


def race_flops_note(result: dict) -> str:
    """For builders: FLOPs per token for the models raced, and where attention overtakes the weights."""
    gc = result["config"]["gpt"]
    weights = cost.transformer_decode_flops_per_token(gc["n_layer"], gc["n_embd"], gc["vocab_size"], 0)
    per_token = 4 * gc["n_layer"] * gc["n_embd"]
    lengths = result["lengths"]
    return (f"For these models: RWKV {result['rwkv']['flops'][0]:,} FLOPs per token; the transformer "
            f"{result['gpt']['flops'][0]:,} at token {lengths[0]:,} and {result['gpt']['flops'][-1]:,} at token "
            f"{lengths[-1]:,}. Its attention term ({per_token:,} FLOPs per token held) equals the weights' "
            f"{weights:,} at about {weights // per_token:,} tokens. On a CPU the attention part is mostly reading "
            "the cache from memory.")


def race_runs_note(min_gap_s: float, keep_fresh_s: float = 12 * 3600, refresh_delay_s: float = 20) -> str:
    """For builders: when races run (the runner's own settings)."""
    return (f"Deep link: add `?tokens=N` ({RACE_MIN} to {RACE_MAX:,}) to this page's address. When the server starts "
            "with no race kept, it races every length offered here in the background. It keeps the last race per "
            "machine in its data folder (`$RWKV_EXPLAINER_DATA`, by default `~/.cache/rwkv-explainer/race.json`), so "
            f"the page never waits for a race. A kept race less than {keep_fresh_s / 3600:.0f} hours old is shown as it "
            f"is; an older one is raced again {refresh_delay_s:.0f} s after the page's first visit, so that visit has "
            "the computer to itself. A race runs in a process of its own at a low priority, one at a time (processes "
            f"sharing the folder take turns); *Measure again* starts a fresh one at most every {min_gap_s:.0f} s for "
            "each length. Another length, from a link, is raced on its first visit.")


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
             "(arXiv 2305.13048), and for the transformer with Kaplan et al.'s (arXiv 2001.08361, eq. 2.2, with both attention products "
             "and the output head added); both under For builders")
SCALE_QUALITY_CAVEAT = (
    "These numbers are about memory and work, not about how good the answers are. The paper's RWKV-4 models were "
    "[[trained|training]] on texts of 1,024 tokens. Some were then tuned on texts of 8,192 (RWKV paper, "
    "arXiv 2305.13048, §4.1 and §5.2). The At scale page goes up to a million tokens. At such lengths RWKV's [[state]] stays "
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


GQA_TOGGLE = "With GQA"  # short: a longer label was cut to "Transformer wit…" at 1280 px
GQA_TOGGLE_HELP = ("The transformer in the memory numbers and sentences uses grouped-query attention: several "
                   "heads share one set of keys and values, so its cache is smaller. Most recent transformers use "
                   "it. Its work per token is a little lower too. The sentence under the cards always gives both.")


def gpu_fits(size, context: int, gpu_gb: float = GPU_GB) -> dict:
    """Conversations of `context` tokens one GPU holds, weights loaded first: RWKV, the transformer with
    grouped-query attention and without it (`model.cost.conversations_on_gpu`)."""
    full = cost.conversations_on_gpu(size, context, False, gpu_gb)
    with_gqa = cost.conversations_on_gpu(size, context, True, gpu_gb)
    return {"context": context, "gpu_gb": gpu_gb, "rwkv": full["rwkv"], "transformer_gqa": with_gqa["transformer"],
            "transformer": full["transformer"]}


def _count(k: int) -> str:
    return f"{k:,}" if k > 0 else "not even one"


def gpu_fits_sentence(fits: dict) -> str:
    """The headline comparison in words: RWKV against the transformer with GQA first (what recent models use),
    then without it."""
    return (f"One {fits['gpu_gb']:g} GB [[GPU]], after loading the weights, holds {fits['rwkv']:,} such "
            f"conversations with RWKV, {_count(fits['transformer_gqa'])} with a transformer that uses [[GQA]], and "
            f"{_count(fits['transformer'])} with one that does not. Most recent transformers use GQA, so that is "
            "the fair comparison.")


def scale_sentences(n: dict, fits: dict | None = None) -> list[str]:
    """Plain-unit translations of `model.cost.at_scale_numbers` output. With `fits` (`gpu_fits`), the GPU
    count is left to `gpu_fits_sentence`, which gives both transformers."""
    ctx = tokens_label(n["context"])
    out = []
    phones = n["transformer_phones"]
    which = "with [[GQA]]" if n.get("gqa") else "without [[GQA]]"
    if phones >= 1:
        out.append(f"A phone has {n['phone_gb']:g} GB of memory. One {ctx}-token conversation's [[KV cache]] "
                   f"({human_bytes(n['transformer_bytes'])}, {which}) would fill {phones:,.1f} phones; RWKV's [[state]] "
                   f"({human_bytes(n['rwkv_bytes'])}) is the same for any length.")
    else:
        out.append(f"A phone has {n['phone_gb']:g} GB of memory. One {ctx}-token conversation's [[KV cache]] "
                   f"({human_bytes(n['transformer_bytes'])}, {which}) takes {phones:.1%} of it; RWKV's [[state]] "
                   f"({human_bytes(n['rwkv_bytes'])}) is the same for any length.")
    if fits is None:
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


def by_model(facts: list[dict]) -> list[dict]:
    """`toy_model_facts` turned on its side: one row per fact, one column per model (narrow enough for a phone).

    >>> by_model([{"model": "RWKV", "layers × width": "4 × 192"}, {"model": "Transformer", "layers × width": "4 × 192"}])
    [{'': 'layers × width', 'RWKV': '4 × 192', 'Transformer': '4 × 192'}]
    """
    keys = [k for k in (facts[0] if facts else {}) if k != "model"]
    return [{"": key, **{f["model"]: str(f.get(key, "?")) for f in facts}} for key in keys]


def size_tables(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """At scale's builders' table (`model.cost.size_table`) as two narrow tables: sizes and parameters; memory held
    (so each fits a phone's width with every column in view)."""
    sizes = [{"size": r["name"], "layers": r["n_layer"], "width": r["d_model"],
              "RWKV params": cost.human_count(r["rwkv_params"]),
              "transformer params": cost.human_count(r["transformer_params"])} for r in rows]
    memory = [{"size": r["name"], "RWKV state": human_bytes(r["rwkv_state_bytes"]),
               "KV per token": human_bytes(r["kv_bytes_per_token"]),
               "KV per token, GQA": human_bytes(r["kv_bytes_per_token_gqa"])} for r in rows]
    return sizes, memory
