"""The cost race, measured so that it shows what it claims: how long RWKV and the transformer baseline
take to read one more token once they have read N tokens, for several N, on this machine. Pure torch,
no Streamlit.

- RWKV (`model/rwkv.py`, `step(token, state)`) carries a fixed (L, 5, C) state: the same bytes and the
  same work for token 1 and token 8,192.
- The transformer (`model/gpt.py`, `step(token, cache)`) keeps a KV cache with one key and one value
  per head per layer for every token read, and each new token is scored against all of them. It runs
  past its trained context (256) thanks to rotary positions: its guesses get worse there, the cost is real.

How (`measure_race`). Reading 8,192 tokens one by one, once, gives one noisy sample per length: on a
shared machine a single pass can show the transformer *faster* at 1,024 tokens than at 256. So instead:

1. Both models read the story's first `REAL_PREFIX` (64) tokens for real. The transformer's cache is
   then filled up to the longest length by repeating those 64 tokens' keys and values: a step's work
   depends on how many keys and values are stored, not on what they say. RWKV's state has its one size
   whatever was read.
2. For each length N, "token N" is one `step` with N − 1 tokens already held (the cache is cut back to
   N − 1 before every try, which costs nothing: it is a length counter on preallocated buffers).
3. Rounds: every round times both models once at every length, the lengths in a shuffled order and the
   two models taking turns on who goes first, so a burst of background load hits all lengths and both
   models alike. `repeats` rounds, after `warmup` untimed ones.
4. `race_rows` reports the median and the middle half (25th to 75th percentile) of the tries at each
   length; `growth_verdict` says whether the transformer's growth and RWKV's flat line show beyond
   that spread, so the page can say "this machine could not show it" instead of asserting it.

Where the attention term matters (`model/cost.py`): for the shipped 4 layers × 192, vocabulary 4,096,
the transformer's work per token is 2(VD + 12D²L) = 5.1 million FLOPs for the weights plus 4·L·t·D =
3,072·t for attention, equal at t ≈ 1,660 tokens and 4.9× the weights' share at 8,192. On a CPU the
attention part is mostly reading the cache from memory (8,192 tokens: 50 MB per step), which is why the
race goes to 8,192 tokens.

Example:
    >>> from model.rwkv import RWKV, RWKVConfig
    >>> from model.gpt import GPT, GPTConfig
    >>> r = RWKV(RWKVConfig(vocab_size=64, n_layer=2, n_embd=32)).init_official().eval()
    >>> g = GPT(GPTConfig(vocab_size=64, n_layer=2, n_embd=32, n_head=2)).eval()
    >>> res = measure_race(r, g, race_tokens(300, vocab_size=64), repeats=5)
    >>> res["lengths"], len(res["gpt"]["ms"][0])
    ([1, 64, 256, 300], 5)
    >>> len(set(res["rwkv"]["bytes"]))  # RWKV's memory never grows
    1
    >>> [row["tokens"] for row in race_rows(res)]
    [1, 64, 256, 300]
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import random
import time

import torch

from . import cost

# Token numbers timed in a race of n tokens: these below n, and n itself (`race_lengths`).
GRID = (1, 64, 256, 512, 1024, 2048, 3072, 4096, 6144, 8192)
REPEATS = 30  # rounds of tries per length (the median and the middle half come from these)
WARMUP = 2  # untimed rounds first: the first calls build caches and pick kernels
REAL_PREFIX = 64  # tokens both models read for real; the transformer's cache is filled past it by repetition

STORY = (
    "Once upon a time, there was a little girl named Mia. She loved to play in the garden behind her "
    "house. One day, she found a small blue stone under a big tree. The stone was shiny and smooth. "
    "Mia wanted to show it to her mom, so she ran inside. \"Mom, look what I found!\" she said. Her mom "
    "smiled and said, \"That is a very pretty stone. Where did you find it?\" Mia told her about the "
    "big tree. Then they went outside together to look for more stones. They found a red one and a "
    "green one too. Mia put all the stones in a little box and kept them by her bed. Every night, she "
    "looked at her stones and felt happy. The next day, her friend Tom came to play. Tom saw the box "
    "and asked, \"Can I see?\" Mia opened the box and showed him the stones. Tom liked the blue one "
    "best. Mia thought for a moment, and then she gave the blue stone to Tom. Tom was so happy that "
    "he hugged her. From that day on, Mia and Tom were best friends, and they looked for stones "
    "together every day.\n"
)




def race_tokens(n: int, tokenizer=None, vocab_size: int = 4096, text: str = STORY) -> list[int]:
    """`n` token ids: `text` encoded with `tokenizer` and repeated to length. Without a tokenizer (or
    if its ids do not fit `vocab_size`), a deterministic stand-in sequence of ids below `vocab_size`:
    the cost of a step does not depend on which token it is."""
    ids: list[int] = []
    if tokenizer is not None:
        try:
            ids = [i for i in tokenizer.encode(text) if 0 <= i < vocab_size]
        except Exception:  # a broken tokenizer must not stop the race: fall back below
            ids = []
    if not ids:
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(0, vocab_size, (min(n, 997),), generator=g).tolist()
    reps = -(-n // len(ids))
    return (ids * reps)[:n]


def state_bytes(state: torch.Tensor) -> int:
    return state.numel() * state.element_size()


def machine_description() -> dict:
    """What the timings were measured on: CPU model, core count, torch threads, date (UTC), and the 1-minute
    load average (how busy the machine was; None where the system does not say)."""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cpu = cpu or platform.processor() or platform.machine() or "unknown CPU"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 0
    try:
        load = round(os.getloadavg()[0], 2)  # other work on the machine as the race starts (Unix)
    except (AttributeError, OSError):
        load = None
    return {
        "cpu": cpu,
        "cores": cores,
        "load_1min": load,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def race_lengths(n: int, grid=GRID) -> list[int]:
    """The token numbers a race of `n` tokens times: every grid length below `n`, and `n` itself.

    >>> race_lengths(1000)
    [1, 64, 256, 512, 1000]
    """
    n = int(n)
    if n < 1:
        raise ValueError("a race needs at least one token")
    return sorted({g for g in grid if g < n} | {n})


def machine_key(machine: dict) -> str:
    """What makes two measurements comparable: the CPU, its cores, the race's threads and the torch version
    (not the date). The page keeps the last race per key."""
    return (f"{machine.get('cpu', '?')} | {machine.get('cores', '?')} cores | "
            f"{machine.get('torch_threads', '?')} threads | torch {machine.get('torch', '?')}")


def measure_race(rwkv, gpt, token_ids, lengths=None, repeats: int = REPEATS, warmup: int = WARMUP,
                 threads: int | None = 1, progress=None, seed: int = 0, timer=time.perf_counter,
                 real_prefix: int = REAL_PREFIX) -> dict:
    """Time one `step` of each model at each token number in `lengths` (default `race_lengths(len(token_ids))`;
    lengths past the end of `token_ids` are left out), `repeats` times, interleaved (see the module text).

    Returns plain lists and dicts (JSON-ready): `lengths`; per model `ms` (one list of tries per length,
    in the order they were timed), `bytes` held after that token (RWKV: its state tensor; transformer:
    `cache.total_bytes()`), `flops` per token from `model/cost.py`; `repeats` (rounds done), `config`,
    `machine` (with `unix_time`, when the race finished) and `seconds` (how long it took).

    `progress(partial)`: called after every round with a result of the same shape, `complete` False
    and `repeats` the rounds done so far (a page can draw it while the race goes on).

    `threads`: torch threads during the race (restored afterwards). One by default: a step of these
    small models is too short to gain from more, and on a shared machine extra threads mostly wait for
    each other. None keeps the current setting.
    """
    t_start = time.perf_counter()
    token_ids = [int(t) for t in token_ids]
    if not token_ids:
        raise ValueError("measure_race needs at least one token")
    n = len(token_ids)
    wanted = race_lengths(n) if lengths is None else lengths
    lengths = sorted({int(x) for x in wanted if 1 <= int(x) <= n})
    if not lengths:
        raise ValueError("measure_race: no length to time within the tokens given")
    repeats = max(1, int(repeats))
    rc, gc = rwkv.cfg, gpt.cfg
    rwkv.eval()
    gpt.eval()

    top = lengths[-1]
    config = {
        "rwkv": {"n_layer": rc.n_layer, "n_embd": rc.n_embd, "vocab_size": rc.vocab_size,
                 "params": int(rwkv.num_params())},
        "gpt": {"n_layer": gc.n_layer, "n_embd": gc.n_embd, "n_head": gc.n_head, "vocab_size": gc.vocab_size,
                "ctx_len": gc.ctx_len, "params": int(gpt.num_params())},
        "n_tokens": top,
        "real_prefix": min(max(0, int(real_prefix)), top - 1),
        "warmup": max(0, int(warmup)),
        "dtype": str(rwkv.emb.weight.dtype).replace("torch.", ""),
    }
    old_threads = torch.get_num_threads()
    if threads and threads != old_threads:
        torch.set_num_threads(int(threads))
    try:
        machine = machine_description()
        head = {"config": config, "machine": machine}
        out = _race(rwkv, gpt, token_ids, lengths, repeats, config["warmup"], progress, seed, timer,
                    config["real_prefix"], head)
    finally:
        if torch.get_num_threads() != old_threads:
            torch.set_num_threads(old_threads)
    machine["unix_time"] = time.time()  # when the race finished: the page says how long ago that was
    out["seconds"] = time.perf_counter() - t_start
    return out


def _fill_by_repeating(cache, start: int, stop: int) -> None:
    """Positions [start, stop) of every layer's keys and values := copies of positions [0, start)."""
    if start <= 0 or stop <= start:
        return
    for buffers in (cache.keys, cache.values):
        for buf in buffers:
            pos = start
            while pos < stop:
                k = min(start, stop - pos)
                buf[:, pos:pos + k] = buf[:, :k]
                pos += k


def _race(rwkv, gpt, ids, lengths, repeats, warmup, progress, seed, timer, prefix, head):
    gc = gpt.cfg
    top = lengths[-1]
    held = sorted({min(n - 1, prefix) for n in lengths})  # RWKV states needed: after this many real tokens
    with torch.inference_mode():
        state, cache = rwkv.new_state(), gpt.new_cache(capacity=max(1, top))
        states = {0: state}
        for i in range(prefix):
            _, state = rwkv.step(ids[i], state)
            _, cache = gpt.step(ids[i], cache)
            if i + 1 in held:
                states[i + 1] = state
        _fill_by_repeating(cache, prefix, top - 1)
        cache.length = top - 1  # every position up to the longest length is filled (capacity: `top`)

        def time_rwkv(n):
            s = states[min(n - 1, prefix)]
            t0 = timer()
            rwkv.step(ids[n - 1], s)  # returns a new state; `s` stays the state before token n
            return (timer() - t0) * 1e3

        def time_gpt(n):
            cache.length = n - 1  # cut back: n − 1 tokens held before token n
            t0 = timer()
            gpt.step(ids[n - 1], cache)
            return (timer() - t0) * 1e3

        out = {"version": 2, "method": "one step at each length, interleaved", "lengths": list(lengths),
               "rwkv": {"ms": [[] for _ in lengths], "bytes": [], "flops": []},
               "gpt": {"ms": [[] for _ in lengths], "bytes": [], "flops": []},
               "repeats": 0, "planned_repeats": repeats, "complete": False, **head}
        for n in lengths:
            out["rwkv"]["bytes"].append(state_bytes(states[min(n - 1, prefix)]))
            cache.length = n
            out["gpt"]["bytes"].append(int(cache.total_bytes()))
            out["rwkv"]["flops"].append(cost.rwkv4_flops_per_token(rwkv.cfg.n_layer, rwkv.cfg.n_embd,
                                                                   rwkv.cfg.vocab_size))
            # the token read attends to n cached tokens (itself included)
            out["gpt"]["flops"].append(cost.transformer_decode_flops_per_token(gc.n_layer, gc.n_embd,
                                                                               gc.vocab_size, n))
        rng = random.Random(seed)
        index = {n: j for j, n in enumerate(lengths)}
        for r in range(warmup + repeats):
            order = list(lengths)
            rng.shuffle(order)
            for j, n in enumerate(order):
                if (r + j) % 2:  # who goes first alternates
                    g_ms = time_gpt(n)
                    r_ms = time_rwkv(n)
                else:
                    r_ms = time_rwkv(n)
                    g_ms = time_gpt(n)
                if r >= warmup:
                    out["rwkv"]["ms"][index[n]].append(r_ms)
                    out["gpt"]["ms"][index[n]].append(g_ms)
            if r >= warmup:
                out["repeats"] = r - warmup + 1
                if progress is not None:
                    out["machine"]["unix_time"] = time.time()  # a race in progress: measured up to now
                    progress(_snapshot(out))
        out["complete"] = True
    return out


def _snapshot(out: dict) -> dict:
    """A copy of a race in progress, safe to hand to another thread."""
    snap = {k: v for k, v in out.items() if k not in ("rwkv", "gpt")}
    snap["lengths"] = list(out["lengths"])
    snap["config"] = json.loads(json.dumps(out["config"]))
    snap["machine"] = dict(out["machine"])
    for model in ("rwkv", "gpt"):
        snap[model] = {"ms": [list(x) for x in out[model]["ms"]], "bytes": list(out[model]["bytes"]),
                       "flops": list(out[model]["flops"])}
    return snap


# ------------------------------------------------------------------ robust statistics


def quantile(values, q: float) -> float:
    """The q-quantile with linear interpolation between order statistics (numpy's default).

    >>> quantile([1, 2, 3, 4], 0.5), quantile([1, 2, 3, 4], 0.25)
    (2.5, 1.75)
    """
    xs = sorted(float(v) for v in values)
    if not xs:
        raise ValueError("quantile of no values")
    pos = (len(xs) - 1) * min(1.0, max(0.0, q))
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def race_rows(result: dict, upto: int | None = None) -> list[dict]:
    """One row per token number timed (up to `upto`): median and middle half (p25, p75) of the tries for
    each model, bytes held after that token, and the estimated total seconds to read tokens 1 … N
    (the medians added up, straight lines between the lengths timed). The table, the charts and the
    page's sentences all read these rows, so they agree."""
    rows = []
    total_r = total_g = 0.0
    prev = None
    for j, n in enumerate(result["lengths"]):
        if upto is not None and n > upto:
            break
        r_ms, g_ms = result["rwkv"]["ms"][j], result["gpt"]["ms"][j]
        if not r_ms or not g_ms:
            continue
        row = {"tokens": n, "tries": min(len(r_ms), len(g_ms))}
        for model, xs in (("rwkv", r_ms), ("gpt", g_ms)):
            row[f"{model}_ms"] = quantile(xs, 0.5)
            row[f"{model}_p25"] = quantile(xs, 0.25)
            row[f"{model}_p75"] = quantile(xs, 0.75)
            row[f"{model}_bytes"] = int(result[model]["bytes"][j])
        if prev is None:
            total_r, total_g = n * row["rwkv_ms"] / 1e3, n * row["gpt_ms"] / 1e3
        else:
            span = n - prev["tokens"]
            total_r += span * (prev["rwkv_ms"] + row["rwkv_ms"]) / 2e3
            total_g += span * (prev["gpt_ms"] + row["gpt_ms"]) / 2e3
        row["rwkv_total_s"], row["gpt_total_s"] = total_r, total_g
        rows.append(row)
        prev = row
    return rows


def growth_verdict(rows: list[dict]) -> dict:
    """What the measurement can show, comparing the first and the last row beyond the spread of the tries.

    - `transformer_grows`: the transformer's middle half at the last length lies wholly above its middle
      half at the first length (the spreads do not overlap).
    - `rwkv_level`: RWKV's middle halves at the first and last length overlap, or its medians differ by
      less than 15%.
    - `transformer_slower`: at the last length the transformer's middle half lies wholly above RWKV's.
    - `growth`: the transformer's median at the last length ÷ at the first.
    """
    if len(rows) < 2:
        return {"comparable": False, "transformer_grows": False, "rwkv_level": False, "transformer_slower": False,
                "growth": 1.0, "first": rows[0] if rows else None, "last": rows[-1] if rows else None}
    a, b = rows[0], rows[-1]
    overlap = not (b["rwkv_p25"] > a["rwkv_p75"] or b["rwkv_p75"] < a["rwkv_p25"])
    return {
        "comparable": True,
        "transformer_grows": b["gpt_p25"] > a["gpt_p75"],
        "rwkv_level": overlap or abs(b["rwkv_ms"] / a["rwkv_ms"] - 1) < 0.15,
        "transformer_slower": b["gpt_p25"] > b["rwkv_p75"],
        "growth": b["gpt_ms"] / a["gpt_ms"] if a["gpt_ms"] > 0 else 1.0,
        "first": a,
        "last": b,
    }


if __name__ == "__main__":
    import argparse

    from .checkpoint import CheckpointError, load_model
    from .gpt import GPT, GPTConfig
    from .rwkv import RWKV, RWKVConfig

    ap = argparse.ArgumentParser(description="Measure the RWKV vs transformer cost race on this machine.")
    ap.add_argument("--tokens", type=int, default=GRID[-1], help="the longest length timed (default %(default)s)")
    ap.add_argument("--repeats", type=int, default=REPEATS, help="tries per length (default %(default)s)")
    ap.add_argument("--json", default=None, help="write the full result here")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    try:
        r, _ = load_model("rwkv")
        g, _ = load_model("gpt")
        label = "shipped weights"
    except CheckpointError:
        r, g = RWKV(RWKVConfig()).init_official().eval(), GPT(GPTConfig()).eval()
        label = "random weights"
    tok = None
    try:
        from .tokenizer import load_tokenizer
        tok = load_tokenizer()
    except Exception:
        pass
    res = measure_race(r, g, race_tokens(args.tokens, tok, r.cfg.vocab_size), repeats=args.repeats)
    m = res["machine"]
    print(f"{label}; {res['repeats']} tries per length, {res['seconds']:.1f} s; {m['cpu']}, {m['cores']} cores, "
          f"{m['torch_threads']} thread, {m['date']}, load average {m['load_1min']}")
    print(f"{'token':>6} | {'RWKV ms: median [p25-p75]':<28} | {'transformer ms: median [p25-p75]':<33} | "
          f"{'RWKV holds':>10} | {'transformer holds':>17}")
    rows = race_rows(res)
    for row in rows:
        r_ms = f"{row['rwkv_ms']:.2f} [{row['rwkv_p25']:.2f}-{row['rwkv_p75']:.2f}]"
        g_ms = f"{row['gpt_ms']:.2f} [{row['gpt_p25']:.2f}-{row['gpt_p75']:.2f}]"
        print(f"{row['tokens']:>6} | {r_ms:<28} | {g_ms:<33} | {cost.human_bytes(row['rwkv_bytes']):>10} | "
              f"{cost.human_bytes(row['gpt_bytes']):>17}")
    v = growth_verdict(rows)
    print(f"transformer grows beyond the spread: {v['transformer_grows']} ({v['growth']:.2f}x); "
          f"RWKV level: {v['rwkv_level']}; transformer slower at the end: {v['transformer_slower']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f)
