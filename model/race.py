"""The cost race, measured: RWKV and the transformer baseline each read the same tokens one at a time,
and we time every step and count the memory each one holds. Pure torch, no Streamlit.

- RWKV (`model/rwkv.py`, `step(token, state)`) carries a fixed (L, 5, C) state: its bytes never change.
- The transformer (`model/gpt.py`, `step(token, cache)`) keeps a KV cache that grows by one key and
  one value per head per layer with every token; each step also scores every cached token. It runs
  past its trained context (256) thanks to rotary positions: its guesses get worse there, the cost is real.

The two models take turns token by token (RWKV step, then transformer step, for the same token), so
any background load on the machine hits both alike. A few warm-up steps on throw-away state are not
recorded. Timings are wall-clock (`time.perf_counter`) around each `step` call, raw, not smoothed.

Example:
    >>> from model.rwkv import RWKV, RWKVConfig
    >>> from model.gpt import GPT, GPTConfig
    >>> r = RWKV(RWKVConfig(vocab_size=64, n_layer=2, n_embd=32)).init_official().eval()
    >>> g = GPT(GPTConfig(vocab_size=64, n_layer=2, n_embd=32, n_head=2)).eval()
    >>> res = measure_race(r, g, race_tokens(100, vocab_size=64), every=10)
    >>> res["tokens"][-1], len(res["rwkv"]["ms"])
    (100, 10)
    >>> len(set(res["rwkv"]["bytes"]))  # RWKV's memory never grows
    1
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import threading
import time

import torch

from . import cost

# An original short story in the style of the training corpus (TinyStories), repeated to any length.
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
    """What the timings were measured on: CPU model, core count, torch threads, date (UTC)."""
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
    return {
        "cpu": cpu,
        "cores": cores,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def measure_race(rwkv, gpt, token_ids, every: int = 1, warmup: int = 8, threads: int | None = 1) -> dict:
    """Step both models through `token_ids`, one token at a time, timing each step.

    Records, at every `every`-th token (and the last): the token count so far, that step's
    wall-clock milliseconds (raw), bytes held (RWKV: its state tensor; transformer:
    `cache.total_bytes()`), cumulative seconds over all steps so far, and FLOPs per token from the
    formulas in `model/cost.py` for these models' sizes. Returns plain lists and dicts (JSON-ready).

    `threads`: torch threads during the race (restored afterwards). One by default: a step of these
    small models is too short to gain from more, and on a shared machine extra threads mostly wait
    for each other (measured here: 2 threads beside two training jobs made the race ~10× slower and
    noisy). None keeps the current setting.
    """
    token_ids = [int(t) for t in token_ids]
    if not token_ids:
        raise ValueError("measure_race needs at least one token")
    every = max(1, int(every))
    rc, gc = rwkv.cfg, gpt.cfg
    rwkv.eval()
    gpt.eval()

    out = {
        "tokens": [],
        "rwkv": {"ms": [], "bytes": [], "cumulative_s": [], "flops": []},
        "gpt": {"ms": [], "bytes": [], "cumulative_s": [], "flops": []},
    }
    rwkv_flops = cost.rwkv4_flops_per_token(rc.n_layer, rc.n_embd, rc.vocab_size)
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        machine = machine_description()
        state, cache = _run(rwkv, gpt, token_ids, every, warmup, out, rwkv_flops)
    finally:
        torch.set_num_threads(old_threads)
    out["config"] = {
        "rwkv": {"n_layer": rc.n_layer, "n_embd": rc.n_embd, "vocab_size": rc.vocab_size,
                 "params": int(rwkv.num_params())},
        "gpt": {"n_layer": gc.n_layer, "n_embd": gc.n_embd, "n_head": gc.n_head, "vocab_size": gc.vocab_size,
                "ctx_len": gc.ctx_len, "params": int(gpt.num_params())},
        "n_tokens": len(token_ids),
        "every": every,
        "dtype": str(state.dtype).replace("torch.", ""),
    }
    machine["unix_time"] = time.time()  # when the race finished: the page says how long ago that was
    out["machine"] = machine
    return out


def _run(rwkv, gpt, token_ids, every, warmup, out, rwkv_flops):
    gc = gpt.cfg
    with torch.inference_mode():
        # warm-up on throw-away state: first calls build caches and pick kernels
        s, c = rwkv.new_state(), gpt.new_cache()
        for t in token_ids[: max(0, warmup)]:
            _, s = rwkv.step(t, s)
            _, c = gpt.step(t, c)

        state, cache = rwkv.new_state(), gpt.new_cache()
        cum_r = cum_g = 0.0
        n = len(token_ids)
        for i, tok in enumerate(token_ids):
            t0 = time.perf_counter()
            _, state = rwkv.step(tok, state)
            t1 = time.perf_counter()
            _, cache = gpt.step(tok, cache)
            t2 = time.perf_counter()
            dr, dg = t1 - t0, t2 - t1
            cum_r += dr
            cum_g += dg
            count = i + 1
            if count % every == 0 or count == n:
                out["tokens"].append(count)
                out["rwkv"]["ms"].append(dr * 1e3)
                out["rwkv"]["bytes"].append(state_bytes(state))
                out["rwkv"]["cumulative_s"].append(cum_r)
                out["rwkv"]["flops"].append(rwkv_flops)
                out["gpt"]["ms"].append(dg * 1e3)
                out["gpt"]["bytes"].append(int(cache.total_bytes()))
                out["gpt"]["cumulative_s"].append(cum_g)
                # the token just read attends to `count` cached tokens (itself included)
                out["gpt"]["flops"].append(
                    cost.transformer_decode_flops_per_token(gc.n_layer, gc.n_embd, gc.vocab_size, count)
                )
    return state, cache


def summary_at(result: dict, points=(256, 1024, 2048), window: int = 64) -> list[dict]:
    """Median ms/token over the `window` recorded tokens ending at each point, and bytes held there."""
    import statistics

    toks = result["tokens"]
    rows = []
    for p in points:
        idx = [i for i, t in enumerate(toks) if p - window < t <= p]
        if not idx:
            continue
        j = idx[-1]
        rows.append({
            "tokens": toks[j],
            "rwkv_ms": statistics.median(result["rwkv"]["ms"][i] for i in idx),
            "gpt_ms": statistics.median(result["gpt"]["ms"][i] for i in idx),
            "rwkv_bytes": result["rwkv"]["bytes"][j],
            "gpt_bytes": result["gpt"]["bytes"][j],
            "rwkv_cumulative_s": result["rwkv"]["cumulative_s"][j],
            "gpt_cumulative_s": result["gpt"]["cumulative_s"][j],
        })
    return rows


def rolling_median(values, window: int = 33) -> list[float]:
    """Centred rolling median (window shrinks at the ends); for a labelled overlay on raw timings.
    The one implementation: `app.figures_cost.ms_per_token_figure` uses it too."""
    import statistics

    vals = list(values)
    h = max(1, int(window)) // 2
    return [statistics.median(vals[max(0, i - h): i + h + 1]) for i in range(len(vals))]


class RaceDesk:
    """Who may race, and when: one per server process (the page keeps it in `st.cache_resource`).

    - `lock`: held while a race runs, so races run one at a time (simultaneous races would spoil each
      other's timings, and on a small server 60 visitors could otherwise start 60 races).
    - a run number per race length, shared by every visitor: the page shows the result cached under
      (length, `latest(length)`), so a visitor's first look shows the latest measurement, whoever made it.
    - `request_fresh(length)`: a new run number only if the last race of that length started at
      least `min_gap_s` seconds ago; otherwise the latest one stays, and how long ago it ran.

    Example:
        >>> desk = RaceDesk(min_gap_s=30, clock=iter([0.0, 10.0, 45.0]).__next__)
        >>> desk.latest(256)
        0
        >>> desk.started(256)          # the first visit's automatic race (clock: 0 s)
        >>> desk.request_fresh(256)    # 10 s later: too soon, keep run 0
        (0, 10.0)
        >>> desk.request_fresh(256)    # 45 s after the race: a fresh run
        (1, None)
    """

    min_gap_s: float = 30.0

    def __init__(self, min_gap_s: float | None = None, clock=time.monotonic):
        if min_gap_s is not None:
            self.min_gap_s = min_gap_s
        self.lock = threading.Lock()  # held while a race runs
        self._book = threading.Lock()  # guards the two dicts below (held only for microseconds)
        self._runs: dict[int, int] = {}  # length -> latest run number
        self._started: dict[int, float] = {}  # length -> clock() when its latest race started
        self._clock = clock

    def latest(self, n_tokens: int) -> int:
        """The run number whose result every visitor sees for this length (0: the automatic first run)."""
        with self._book:
            return self._runs.get(n_tokens, 0)

    def started(self, n_tokens: int) -> None:
        """Record that a race of this length starts now (call it with `lock` held)."""
        with self._book:
            self._started[n_tokens] = self._clock()

    def request_fresh(self, n_tokens: int) -> tuple[int, float | None]:
        """(run number to show, None) for a fresh run, or (latest run number, seconds since its race
        started) when that was less than `min_gap_s` ago."""
        with self._book:
            now = self._clock()
            last = self._started.get(n_tokens)
            if last is not None and now - last < self.min_gap_s:
                return self._runs.get(n_tokens, 0), now - last
            run = self._runs[n_tokens] = self._runs.get(n_tokens, 0) + 1
            self._started[n_tokens] = now  # reserve: a second press right after this one waits too
            return run, None

    def busy(self) -> bool:
        """A race is running right now (a new one would wait for it)."""
        return self.lock.locked()


if __name__ == "__main__":
    import argparse
    import json

    from .checkpoint import CheckpointError, load_model
    from .gpt import GPT, GPTConfig
    from .rwkv import RWKV, RWKVConfig

    ap = argparse.ArgumentParser(description="Measure the RWKV vs transformer cost race on this machine.")
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the full result here")
    args = ap.parse_args()
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
    t0 = time.perf_counter()
    res = measure_race(r, g, race_tokens(args.tokens, tok, r.cfg.vocab_size), every=args.every)
    print(f"{label}; {args.tokens} tokens in {time.perf_counter() - t0:.1f} s; {res['machine']}")
    for row in summary_at(res):
        print(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f)
