"""The cost race without the wait: one background race per server process, and the last result per machine.

- `RaceStore`: the last race of each length per machine, in a small JSON file (`race.json`) in the data
  folder: `$RWKV_EXPLAINER_DATA`, else `$XDG_CACHE_HOME/rwkv-explainer`, else `~/.cache/rwkv-explainer`.
  Keyed by `model.race.machine_key` (CPU, cores, threads, torch version). Only complete races that reach
  their length are kept; a missing, unreadable or corrupt file is an empty store, and a folder that
  cannot be written leaves the results in memory only.
- `RaceRunner`: races are driven from a daemon thread, one at a time (a lock, shared by every visitor of
  the process), in the order asked; the page never waits for one. `ensure_started()` starts the
  server-start race once per process (unless the kept one is younger than `keep_fresh_s`: 12 h for the
  app); `request(n)` asks for a race of n tokens when nothing shown covers it, or a fresh one ("Measure
  again", at most one every `min_gap_s` per length); `snapshot(n)` says what to show: the latest
  complete result covering n, and the race in progress (rounds done, its partial result).
  Processes that share the data folder (room mode) race one after another (a lock file), and one that
  waited takes the result another stored meanwhile instead of racing again.
- `measure_in_worker`: the runner's default race runs in a process of its own (`python -m app.race_cache`,
  at the lowest CPU and disk priority), so it never holds the server's interpreter lock while pages run,
  and page runs never disturb its timings; it reports each round as a JSON line.
- `runner()`: the process's one runner; `start_background()` is what `python -m app.serve` can call
  before the server opens, so the first visitor finds a fresh race already running or done.

Example:
    >>> import tempfile
    >>> fake = lambda n, progress: {"lengths": [n]}
    >>> r = RaceRunner(store=RaceStore(tempfile.mkdtemp()), measure=fake, machine={"cpu": "test"})
    >>> r.snapshot(64).result is None
    True
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from model import race

log = logging.getLogger(__name__)

DATA_ENV = "RWKV_EXPLAINER_DATA"
FILE_NAME = "race.json"
KEEP_PER_MACHINE = 6  # results kept per machine: the full race and a few other lengths asked by links
STANDARD_TOKENS = race.GRID[-1]  # the server-start race: every length the page offers


def data_dir() -> Path:
    """Where the app keeps what it measured: `$RWKV_EXPLAINER_DATA`, else the user's cache folder."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except (RuntimeError, KeyError):  # no home folder (some containers): the system's temporary folder
        base = tempfile.gettempdir()
    return Path(base).expanduser() / "rwkv-explainer"


def _finite_positive(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


def valid_result(result, n: int | None = None) -> bool:
    """A complete race in `model.race.measure_race`'s shape (reaching `n` tokens if given): lengths rising,
    the same number of tries for each length and model, plain non-negative numbers, machine text."""
    try:
        lengths = result["lengths"]
        if not lengths or lengths != sorted(set(lengths)) or not all(isinstance(x, int) and x >= 1 for x in lengths):
            return False
        if n is not None and lengths[-1] != n:
            return False
        if not result.get("complete") or not isinstance(result.get("repeats"), int) or result["repeats"] < 1:
            return False
        for model in ("rwkv", "gpt"):
            part = result[model]
            if not (len(part["ms"]) == len(part["bytes"]) == len(lengths)):
                return False
            if any(len(tries) != result["repeats"] or not all(_finite_positive(t) for t in tries)
                   for tries in part["ms"]):
                return False
            if not all(_finite_positive(b) for b in part["bytes"]):
                return False
        machine = result["machine"]
        return all(isinstance(machine.get(k), str) for k in ("cpu", "date")) and _finite_positive(machine["unix_time"])
    except (KeyError, TypeError, AttributeError):
        return False


def covers(result: dict, n: int) -> bool:
    """The result timed every length a race of `n` tokens shows (`model.race.race_lengths(n)`)."""
    have = set(result.get("lengths", ()))
    return all(x in have for x in race.race_lengths(n))


class RaceStore:
    """The last complete race of each length, per machine, in `folder/race.json` (see the module text)."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else data_dir()

    @property
    def path(self) -> Path:
        return self.folder / FILE_NAME

    def _read_all(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        machines = data.get("machines") if isinstance(data, dict) else None
        return machines if isinstance(machines, dict) else {}

    def load(self, key: str) -> dict[int, dict]:
        """{tokens: result} of the valid results stored for this machine."""
        entries = self._read_all().get(key)
        out = {}
        if isinstance(entries, dict):
            for n, result in entries.items():
                try:
                    n = int(n)
                except ValueError:
                    continue
                if valid_result(result, n):
                    out[n] = result
        return out

    def save(self, key: str, n: int, result: dict) -> bool:
        """Keep `result` as this machine's race of `n` tokens (the newest `KEEP_PER_MACHINE` per machine).
        Incomplete races are not kept. False when nothing could be written (the result stays in memory)."""
        if not valid_result(result, n):
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._file_lock("race.json.lock"):
                machines = self._read_all()
                entries = machines.get(key) if isinstance(machines.get(key), dict) else {}
                entries[str(n)] = result
                newest = sorted(entries.items(), key=lambda kv: kv[1].get("machine", {}).get("unix_time", 0)
                                if isinstance(kv[1], dict) else 0, reverse=True)
                machines[key] = dict(newest[:KEEP_PER_MACHINE])
                fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".race-", suffix=".json")
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as f:
                        json.dump({"version": 2, "machines": machines}, f)
                    os.replace(tmp, self.path)  # readers see the old file or the new one, never half of one
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
            return True
        except OSError as exc:
            log.warning("cost race: could not keep the result in %s (%s)", self.folder, exc)
            return False

    @contextlib.contextmanager
    def _file_lock(self, name: str):
        """An exclusive lock between processes sharing the folder (fcntl, where it exists)."""
        try:
            import fcntl
        except ImportError:  # Windows: one process per folder is the normal case
            yield
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            f = open(self.folder / name, "a")
        except OSError:
            yield
            return
        with f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def race_lock(self):
        """Held while this process races: processes sharing the folder race one after another."""
        return self._file_lock("race.lock")


# ------------------------------------------------------------------ models for the race

STAND_IN = "untrained stand-ins of the same size"
TRAINED = "the shipped models"


@functools.lru_cache(maxsize=1)
def _stand_in_models():
    """Untrained models of the shipped size, for a server without the weights (same cost per step)."""
    from model.gpt import GPT, GPTConfig
    from model.rwkv import RWKV, RWKVConfig

    return RWKV(RWKVConfig()).init_official().eval(), GPT(GPTConfig()).eval()


def race_models():
    """(rwkv, gpt, tokenizer or None, which models): the app's shared models (`app.loaders`), or untrained
    stand-ins of the same size when the weights cannot be loaded (each step costs exactly the same)."""
    from model.checkpoint import CheckpointError

    from . import loaders

    try:
        rwkv, gpt, label = loaders.rwkv_model(), loaders.gpt_model(), TRAINED
    except (CheckpointError, OSError):  # weights missing or unreadable
        (rwkv, gpt), label = _stand_in_models(), STAND_IN
    try:
        tok = loaders.tokenizer()
    except Exception:  # no tokenizer file: race_tokens uses stand-in ids (same cost per step)
        tok = None
    return rwkv, gpt, tok, label


def worker_models():
    """`race_models` without Streamlit, for the race's own process: the same `model.checkpoint.load_model`
    calls as `app.loaders`, or the same-size stand-ins."""
    from model.checkpoint import CheckpointError, load_model
    from model.tokenizer import load_tokenizer

    try:
        (rwkv, _), (gpt, _), label = load_model("rwkv"), load_model("gpt"), TRAINED
    except (CheckpointError, OSError):
        (rwkv, gpt), label = _stand_in_models(), STAND_IN
    try:
        tok = load_tokenizer()
    except Exception:  # no tokenizer file: race_tokens uses stand-in ids (same cost per step)
        tok = None
    return rwkv, gpt, tok, label


def measure(n: int, progress=None, repeats: int | None = None, models=None) -> dict:
    """A race of `n` tokens in this process with the app's models (`model.race.measure_race`, looked up when
    called). `models`: a `race_models()`-shaped tuple to use instead."""
    import torch

    rwkv, gpt, tok, label = models if models is not None else race_models()
    kw = {} if repeats is None else {"repeats": repeats}
    with torch.inference_mode():
        result = race.measure_race(rwkv, gpt, race.race_tokens(n, tok, rwkv.cfg.vocab_size),
                                   lengths=race.race_lengths(n), progress=progress, **kw)
    result["models"] = label
    return result


# ------------------------------------------------------------------ the race's own process

REPO_ROOT = Path(__file__).resolve().parents[1]
_WORKERS: set[subprocess.Popen] = set()  # race processes running now (stopped with the runner)
_WORKERS_LOCK = threading.Lock()


def measure_in_worker(n: int, progress=None, repeats: int | None = None) -> dict:
    """`measure` in a process of its own (`python -m app.race_cache --tokens n`): same models, same result.

    The race's Python code never holds this server's interpreter lock, so visitors' page runs do not wait for
    it (a thread in the server did that: a page opened during a race took over a second longer), and their
    page runs do not land inside its timings. Each round arrives as a JSON line and goes to `progress`;
    an exception from `progress` (`RaceCancelled`) ends the process."""
    cmd = [sys.executable, "-m", "app.race_cache", "--tokens", str(int(n))]
    ionice = shutil.which("ionice")  # Linux: its disk reads (loading torch) wait for everyone else's
    if ionice:
        cmd = [ionice, "-t", "-c", "3", *cmd]  # -t: run it anyway where the class cannot be set
    if repeats is not None:
        cmd += ["--repeats", str(int(repeats))]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=errors, text=True, encoding="utf-8")
        with _WORKERS_LOCK:
            _WORKERS.add(proc)
        try:
            result = None
            for line in proc.stdout:
                message = json.loads(line)
                if "partial" in message and progress is not None:
                    progress(message["partial"])
                elif "result" in message:
                    result = message["result"]
            proc.wait()
            if result is None and proc.returncode < 0:  # ended by a signal: `stop_workers` at shutdown
                raise RaceCancelled()
            if result is None:
                errors.seek(0)
                tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
                raise RuntimeError(f"the race process stopped (exit code {proc.returncode}): " + " | ".join(tail))
            return result
        finally:
            with _WORKERS_LOCK:
                _WORKERS.discard(proc)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def stop_workers() -> None:
    """End every race process this server started (at exit, or when its runner stops)."""
    with _WORKERS_LOCK:
        running = list(_WORKERS)
    for proc in running:
        with contextlib.suppress(OSError):
            proc.kill()


def _lowest_priority() -> None:
    """This process runs only when the computer has nothing else to do (Linux `SCHED_IDLE`; elsewhere a nice
    value): the visitors' browsers and the server on the same machine go first. The race's medians are
    taken over interleaved tries, so a pause hits both models alike."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(AttributeError, OSError):
            os.nice(RACE_NICENESS)


def _worker_main(argv=None) -> int:
    """`python -m app.race_cache --tokens N [--repeats R]`: one race; a JSON line per round, then the result."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m app.race_cache", description="One cost race, as JSON lines.")
    ap.add_argument("--tokens", type=int, required=True)
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    _lowest_priority()

    def report(partial: dict) -> None:
        print(json.dumps({"partial": partial}), flush=True)

    result = measure(args.tokens, report, args.repeats, models=worker_models())
    print(json.dumps({"result": result}), flush=True)
    return 0


# ------------------------------------------------------------------ the runner


class RaceCancelled(Exception):
    """Raised inside a race (from its progress callback) when the process is shutting down."""


@dataclass
class Snapshot:
    """What the page shows for a race of `n` tokens."""

    n: int
    result: dict | None  # the latest complete race covering n (None: none yet)
    running: bool  # a race that will cover n is running or waiting its turn
    done: int = 0  # rounds done in the running race (0 while it waits or sets up)
    total: int = 0  # rounds planned
    partial: dict | None = None  # the running race so far (same shape, `complete` False)
    since_s: float | None = None  # seconds since the running race was asked for
    error: str | None = None  # why the last race of n failed, if it did


class RaceRunner:
    """Races in a background thread, one at a time, results shared by every visitor (see the module text).

    `measure(n, progress)` runs one race (default: `measure_in_worker`, the app's models in a process of their
    own); `standard`: the length of the server-start race; `clock` is for tests. `keep_fresh_s`: a kept
    server-start race younger than this is shown as it is, with no refresh (0: always refresh)."""

    def __init__(self, store: RaceStore | None = None, measure=None, machine: dict | None = None,
                 min_gap_s: float = 30.0, clock=time.time, standard: int = STANDARD_TOKENS,
                 refresh_delay_s: float = 0.0, keep_fresh_s: float = 0.0):
        self.store = store if store is not None else RaceStore()
        self._measure = measure if measure is not None else measure_in_worker
        self.machine = dict(machine) if machine is not None else race.machine_description()
        self.machine.setdefault("torch_threads", 1)
        self.machine["torch_threads"] = 1  # the race's own setting (`measure_race(threads=1)`)
        self.key = race.machine_key(self.machine)
        self.min_gap_s = float(min_gap_s)
        self.standard = int(standard)
        # With a race kept, the server-start race waits this long: the visitor who set it off (often the
        # presenter, on the first visit) gets the page without a race competing for the 2 cores.
        self.refresh_delay_s = float(refresh_delay_s)
        # A race measured on this machine a few hours ago is still its measurement: restarting the server
        # (a rehearsal, then the talk) does not race again while people are opening pages.
        self.keep_fresh_s = float(keep_fresh_s)
        self._clock = clock
        self._book = threading.Lock()  # guards everything below; held for microseconds
        self.race_lock = threading.Lock()  # held while a race runs: one at a time in this process
        self._results: dict[int, dict] = self.store.load(self.key)
        self._queue: list[tuple[int, float]] = []  # (n, when asked) waiting their turn
        self._running: dict | None = None  # {"n", "asked", "done", "total", "partial"}
        self._asked: dict[int, float] = {}  # n -> when its latest race was asked for (throttle)
        self._errors: dict[int, str] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._started_once = False
        self.races_run = 0  # how many races this process measured itself (tests, benchmarks)

    # -------------------------------------------------------------- what visitors ask

    def ensure_started(self) -> bool:
        """The server-start race: a fresh race of `standard` tokens, once per process (True the first time),
        unless the kept one is younger than `keep_fresh_s`."""
        with self._book:
            if self._started_once:
                return False
            self._started_once = True
            kept = self._best(self.standard)
            age = self._clock() - kept["machine"]["unix_time"] if kept is not None else None
            if age is not None and self.keep_fresh_s > 0 and age < self.keep_fresh_s:
                return True  # fresh enough: shown with its date, and "Measure again" is there
            if self.refresh_delay_s > 0 and kept is not None:
                timer = threading.Timer(self.refresh_delay_s, self._enqueue_standard)
                timer.daemon = True
                timer.start()
            else:
                self._enqueue(self.standard)
        return True

    def _enqueue_standard(self) -> None:
        with self._book:
            self._enqueue(self.standard)

    def request(self, n: int, fresh: bool = False) -> tuple[str, float | None]:
        """Ask for a race of `n` tokens. Returns (what happened, seconds):
        ("running", s): one that will cover n is running or waiting, asked s seconds ago;
        ("have", None): not fresh, and a complete result covers n already (or its last race failed:
        only a fresh request retries); ("too soon", s): fresh, but a race covering n was asked for s seconds
        ago, under `min_gap_s`; ("started", None): a race of n is now on its way; ("stopped", None): the
        process is shutting down."""
        with self._book:
            if self._stop.is_set():
                return "stopped", None
            now = self._clock()
            for m, asked in self._pending():
                if covers({"lengths": race.race_lengths(m)}, n):
                    return "running", now - asked
            if not fresh:
                if self._best(n) is not None or n in self._errors:
                    return "have", None
            else:
                recent = [now - t for m, t in self._asked.items()
                          if covers({"lengths": race.race_lengths(m)}, n) and now - t < self.min_gap_s]
                if recent:
                    return "too soon", min(recent)
            self._enqueue(n)
            return "started", None

    def snapshot(self, n: int) -> Snapshot:
        with self._book:
            now = self._clock()
            snap = Snapshot(n=n, result=self._best(n), running=False, error=self._errors.get(n))
            for m, asked in self._pending():
                if covers({"lengths": race.race_lengths(m)}, n):
                    snap.running, snap.since_s = True, now - asked
                    run = self._running
                    if run is not None and run["n"] == m:
                        snap.done, snap.total, snap.partial = run["done"], run["total"], run["partial"]
                    break
            return snap

    def busy(self) -> bool:
        """A race is running or waiting."""
        with self._book:
            return bool(self._pending())

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel waiting races and end the running one (its process at once; a race run in this process
        after its current round: a thread still inside torch when the interpreter shuts down can abort it)."""
        self._stop.set()
        with self._book:
            self._queue.clear()
            thread = self._thread
        if self._measure is measure_in_worker:
            stop_workers()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no race is running or waiting (tests, the command line). True if idle."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.busy():
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.02)
        return True

    # -------------------------------------------------------------- inside (hold self._book)

    def _pending(self) -> list[tuple[int, float]]:
        run = [(self._running["n"], self._running["asked"])] if self._running is not None else []
        return run + list(self._queue)

    def _best(self, n: int) -> dict | None:
        found = [r for r in self._results.values() if covers(r, n)]
        return max(found, key=lambda r: r["machine"]["unix_time"]) if found else None

    def _enqueue(self, n: int) -> None:
        if self._stop.is_set():
            return
        now = self._clock()
        self._queue.append((n, now))
        self._asked[n] = now
        self._errors.pop(n, None)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="cost-race", daemon=True)
            self._thread.start()

    # -------------------------------------------------------------- the thread

    def _work(self) -> None:
        _yield_to_visitors()
        while True:
            with self._book:
                if not self._queue:
                    self._thread = None
                    return
                n, asked = self._queue.pop(0)
                self._running = {"n": n, "asked": asked, "done": 0, "total": 0, "partial": None}
            try:
                if self._stop.is_set():
                    raise RaceCancelled()
                result = self._race(n, asked)
                with self._book:
                    if valid_result(result, n):
                        self._results[n] = result
                    else:
                        self._errors[n] = "the race stopped before it reached its length"
                if result is not None and valid_result(result, n) and not result.get("_adopted"):
                    self.store.save(self.key, n, result)
            except RaceCancelled:
                with self._book:
                    self._errors[n] = "the server is shutting down"
            except Exception as exc:  # a failed race must not take the server down: the page says so
                log.exception("cost race of %s tokens failed", n)
                with self._book:
                    self._errors[n] = f"{type(exc).__name__}: {exc}"[:300]
                    self._asked.pop(n, None)  # "Measure again" may retry at once
            finally:
                with self._book:
                    self._running = None

    def _race(self, n: int, asked: float) -> dict:
        def progress(partial: dict) -> None:
            if self._stop.is_set():
                raise RaceCancelled()
            with self._book:
                if self._running is not None:
                    self._running.update(done=partial.get("repeats", 0), total=partial.get("planned_repeats", 0),
                                         partial=partial)

        with self.race_lock, self.store.race_lock():
            # another process sharing the folder may have raced this length while we waited for the lock
            other = self.store.load(self.key).get(n)
            if other is not None and other["machine"]["unix_time"] >= asked:
                return {**other, "_adopted": True}
            self.races_run += 1
            result = self._measure(n, progress)
        if isinstance(result, dict):
            result.setdefault("machine", {})
            result["machine"].setdefault("unix_time", time.time())
        return result


_RUNNER: RaceRunner | None = None
_RUNNER_LOCK = threading.Lock()


RACE_NICENESS = 10  # the race's OS priority (its process; a race run in-process: its thread, on Linux)


def _yield_to_visitors() -> None:
    """Lower this thread's OS priority (Linux sets it per thread; elsewhere nothing happens). Both models are
    timed in turns, so a slower race slows both alike and the medians compare as before."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), RACE_NICENESS)
    except (AttributeError, OSError):
        pass


REFRESH_DELAY_S = 20.0  # a kept race is shown at once; its refresh starts this long after the first visit
KEEP_FRESH_S = 12 * 3600.0  # ... and only when it is older than this


def runner() -> RaceRunner:
    """The process's one runner (created on first use, reading the stored results)."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            _RUNNER = RaceRunner(refresh_delay_s=REFRESH_DELAY_S, keep_fresh_s=KEEP_FRESH_S)
            atexit.register(_RUNNER.stop)
        return _RUNNER


def start_background() -> RaceRunner:
    """Start the server-start race now, in the background (for `python -m app.serve`'s preload)."""
    r = runner()
    r.ensure_started()
    return r


if __name__ == "__main__":
    sys.exit(_worker_main())
