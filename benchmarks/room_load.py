"""A room of people on the app, at the protocol level: N Streamlit sessions in one asyncio loop.

Run from the repo root:

    python -m benchmarks.room_load --sessions 20                       # one `python -m app.serve`
    python -m benchmarks.room_load --sessions 60 --prompts distinct --processes 2 --kill-after 20
    python -m benchmarks.room_load --sessions 20 --soak-minutes 10 --server-args "--runner.postScriptGC true"  # Streamlit's default, to compare

Each participant is a `benchmarks.st_client.StreamlitSession` (Streamlit's own websocket messages, as
Chromium sends them; no browser). Starting spread over `--ramp` seconds, each one
1. opens read along by the shared link `/read-along?prompt=Tom%20had%20a%20red%20ball.&step=3`,
2. changes the prompt (`same`: everyone to one shared sentence; `distinct`: each its own ~24-token one),
3. switches to token shift in the sidebar,
4. changes the prompt again,
and then stays connected until the room ends. Every run is checked: no exception, and the stepper
shows the expected text from the expected step (else it counts as an error).

Servers: its own `python -m app.serve` on a free loopback port (`--processes 1`), or a room
(`--processes N`: `app.room_mode.start_room`, N app processes behind nginx), or `--url` (anything
already running; server CPU and memory are then not measured). `--kill-after S` (room mode) kills
backend 0 S seconds after the first participant started and measures, for each participant whose
websocket it cut, the time from the kill until they are back on the same view: reconnect as the
frontend does, then the rerun their next widget change sends, showing the same prompt and step.
`--soak-minutes M` repeats the room for M minutes and prints each server process's RSS after the
first room and at the end.

Printed: p50/p95/max seconds per action (connect = page HTML + pings + websocket; the others from the
message sent to `script_finished`), errors, websocket KB per page open, server CPU ms per page run
(CPU time of every process this command started, from /proc/PID/stat, between the first participant
and the last run, divided by the runs) and each server process's peak RSS (VmHWM). With `--floor`
(default) the same client then measures a one-widget Streamlit page (`st.text_input`) served the same
single-process way, printed as `floor_cpu_ms` beside `cpu_ms_per_run`. The last line is
`RESULT key=value ...`. Loopback only; at most 400 sessions; stops at `--deadline`; every process
it started is stopped on exit or Ctrl-C.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.st_client import RunResult, StreamlitClientError, StreamlitSession, stepper_views

REPO = Path(__file__).resolve().parent.parent
MAX_SESSIONS = 400
LINK_PROMPT, LINK_STEP = "Tom had a red ball.", 3
LINK_QUERY = "prompt=" + urllib.parse.quote(LINK_PROMPT) + f"&step={LINK_STEP}"
SHARED = ("Once upon a time, a little dog found a big red ball in the park and ran home to show his friend.",
          "Lily and Ben went to the beach. They built a big castle of sand and the sea came to see it.")
ACTIONS = ("connect", "open", "change", "switch", "change2")
FLOOR_SCRIPT = 'import streamlit as st\n\nst.text_input("x", key="x")\n'
_NAMES = ("Tom", "Lily", "Ben", "Mia", "Sam", "Anna", "Max", "Sue", "Tim", "Zoe")
_ADJ = ("red", "big", "small", "happy", "shiny", "soft", "old", "funny", "blue", "tiny")
_NOUNS = ("ball", "cat", "kite", "box", "hat", "bird", "cake", "boat", "book", "frog")
_PLACES = ("park", "garden", "house", "river", "school", "forest", "shop", "beach", "hill", "farm")
_VERBS = ("carried", "pushed", "showed", "gave", "took", "brought", "hid", "painted", "found", "shared")


def distinct_prompt(i: int, which: int) -> str:
    """Participant i's own sentence (about 25 tokens), a different one for each change `which`."""
    r = random.Random(i * 7919 + which * 104729)
    a, b = r.sample(_NAMES, 2)
    return (f"{a} saw a {r.choice(_ADJ)} {r.choice(_NOUNS)} in the {r.choice(_PLACES)}. "
            f"{b} {r.choice(_VERBS)} it home, and {i + 2} friends came to play with it.")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); nan for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


# ---------------------------------------------------------------------------------------------
# Server processes: CPU and memory from /proc

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, utime+stime ticks) for every readable process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("latin-1")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        out[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _label(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return f"pid {pid}"
    joined = " ".join(argv)
    if "nginx" in joined:
        return "nginx " + ("master" if "master" in joined or "-c" in argv else "worker")
    port = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--server.port"), "?")
    if "floor_app.py" in joined:
        return f"floor:{port}"
    if "streamlit" in joined or "app.serve" in joined:
        return f"app:{port}"
    return os.path.basename(argv[0]) if argv else f"pid {pid}"


class ProcessMonitor:
    """Samples every descendant of this process twice a second: CPU ticks, VmHWM, VmRSS.
    A process that dies keeps its last sample, so its CPU still counts."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.me = os.getpid()
        self.cpu: dict[int, int] = {}
        self.hwm: dict[int, int] = {}
        self.rss: dict[int, int] = {}
        self.labels: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="proc-monitor", daemon=True)

    def start(self) -> "ProcessMonitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> dict[int, int]:
        """Take a sample now; returns {pid: cpu ticks} of every process seen so far."""
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        todo, tree = list(children.get(self.me, [])), []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        with self._lock:
            for pid in tree:
                self.cpu[pid] = max(self.cpu.get(pid, 0), table[pid][1])
                if pid not in self.labels or self.labels[pid].startswith("python"):
                    self.labels[pid] = _label(pid)
                hwm, rss = _status_kb(pid, "VmHWM"), _status_kb(pid, "VmRSS")
                if hwm:
                    self.hwm[pid] = max(self.hwm.get(pid, 0), hwm)
                if rss:
                    self.rss[pid] = rss
            return dict(self.cpu)

    @staticmethod
    def cpu_seconds(before: dict[int, int], after: dict[int, int], pids=None) -> float:
        return sum(after[p] - before.get(p, 0) for p in after if pids is None or p in pids) / _TICK

    def servers(self) -> dict[int, str]:
        """pid -> label of the server processes seen (the pdeath-signal shims' short-lived parents left out)."""
        with self._lock:
            return {p: lab for p, lab in self.labels.items() if lab.startswith(("app:", "floor:", "nginx"))}


# ---------------------------------------------------------------------------------------------
# Starting servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextmanager
def single_server(entry: list[str], extra: list[str], timeout: float = 180.0):
    """`python <entry> --server.port P --server.address 127.0.0.1 ...` in its own process group; yields its URL."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="room-load-", suffix=".log", delete=False)
    cmd = [sys.executable, *entry, "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           *extra]
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    ok = False
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = Path(log.name).read_text(errors="replace").splitlines()[-20:]
                raise RuntimeError(f"{' '.join(cmd)} did not become healthy:\n" + "\n".join(tail))
            time.sleep(0.2)
        yield url
        ok = True
    finally:
        _stop_group(proc)
        log.close()
        if ok:
            Path(log.name).unlink(missing_ok=True)
        else:
            print(f"server log kept: {log.name}", file=sys.stderr)


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, PermissionError):
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# ---------------------------------------------------------------------------------------------
# Participants


@dataclass
class Tally:
    """Everything the participants of one phase measured."""

    times: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    errors: list[tuple[str, str]] = field(default_factory=list)  # (action, message)
    open_bytes: list[int] = field(default_factory=list)
    runs: int = 0  # successful page runs (what the server's CPU is divided by)
    page_not_found: int = 0
    interrupted: int = 0  # runs cut by the kill (then finished after the reconnect)
    failover: list[float] = field(default_factory=list)
    reconnect: list[float] = field(default_factory=list)
    on_killed: int = 0
    lost: list[str] = field(default_factory=list)
    landed: dict[str, int] = field(default_factory=dict)  # backend -> sessions
    settled: int = 0  # participants that are idle in the room or out of it
    first_start: float | None = None
    last_end: float = 0.0


@dataclass
class Room:
    url: str
    killed_backend: str | None = None  # "127.0.0.1:PORT" of the backend --kill-after kills
    kill_at: float | None = None  # seconds after the first participant started
    kill: object = None  # callable
    t_kill: float | None = None
    killed: asyncio.Event | None = None
    done: asyncio.Event | None = None


def _view_ok(r: RunResult, prompt: str, start: int) -> str | None:
    views = stepper_views(r)
    if not views:
        return "no stepper in the page"
    v = views[0]
    if v.text != prompt or v.start != start:
        return f"wrong view: {v.text[:40]!r} at step {v.start}, expected {prompt[:40]!r} at {start}"
    return None


async def participant(i: int, room: Room, t_start: float, prompts: str, tally: Tally, timeout: float) -> None:
    await asyncio.sleep(max(0.0, t_start - time.monotonic()))
    sess = StreamlitSession(room.url, timeout=timeout, name=f"p{i}")
    texts = SHARED if prompts == "same" else (distinct_prompt(i, 0), distinct_prompt(i, 1))
    now = time.monotonic()
    tally.first_start = now if tally.first_start is None else min(tally.first_start, now)
    view: tuple[str, int] | None = None  # the last view this participant saw

    async def failover(expected: list[tuple[str, int]]) -> RunResult | None:
        """Back on a live backend after the kill: reconnect, then the rerun the next interaction sends."""
        tally.on_killed += 1
        t_kill = room.t_kill or time.monotonic()
        try:
            r = await sess.reconnect(deadline_s=min(timeout, 60))
            tally.reconnect.append(time.monotonic() - t_kill)
            if r is None:
                r = await sess.rerun()
        except StreamlitClientError as exc:
            tally.lost.append(f"p{i}: {exc}")
            return None
        if r.error:
            tally.lost.append(f"p{i}: rerun after reconnect: {r.error}")
            return None
        problems = [_view_ok(r, p, s) for p, s in expected]
        if all(problems):
            tally.lost.append(f"p{i}: {problems[0]}")
            return None
        tally.runs += 1
        tally.failover.append(time.monotonic() - t_kill)
        return r

    settled = False

    def settle():
        nonlocal settled
        if not settled:
            settled = True
            tally.settled += 1

    try:
        t0 = time.perf_counter()
        try:
            await sess.connect("read-along", LINK_QUERY)
        except (OSError, asyncio.TimeoutError, StreamlitClientError) as exc:
            tally.errors.append(("connect", f"{type(exc).__name__}: {exc}"))
            return
        tally.times["connect"].append(time.perf_counter() - t0)
        plan = [("open", lambda: sess.open_page("read-along", LINK_QUERY), (LINK_PROMPT, LINK_STEP - 1)),
                ("change", lambda: sess.set_text("prompt_box", texts[0]), (texts[0], 0)),
                # token shift opens on token 2 (token 1 has no token before it)
                ("switch", lambda: sess.switch_page("token-shift"), (texts[0], 1)),
                ("change2", lambda: sess.set_text("prompt_box", texts[1]), (texts[1], 1))]
        for action, run, expect in plan:
            r = await run()
            if r.error and sess.closed.is_set() and room.killed is not None and room.killed.is_set():
                tally.interrupted += 1
                r2 = await failover([expect] + ([view] if view else []))
                if r2 is None:
                    return
                view = expect if _view_ok(r2, *expect) is None else view
                continue
            if action == "open":
                tally.open_bytes.append(r.bytes_received)
                tally.page_not_found += int(r.page_not_found)
            problem = r.error or _view_ok(r, *expect)
            if problem:
                tally.errors.append((action, problem))
                return
            tally.runs += 1
            tally.times[action].append(r.seconds)
            view = expect
        backend = sess.backend or "(no X-Room-Backend)"
        tally.landed[backend] = tally.landed.get(backend, 0) + 1
        tally.last_end = max(tally.last_end, time.monotonic())
        settle()
        # stay in the room: a participant whose backend dies comes back on its own
        closed = asyncio.create_task(sess.wait_closed())
        done = asyncio.create_task(room.done.wait())
        await asyncio.wait({closed, done}, return_when=asyncio.FIRST_COMPLETED)
        for t in (closed, done):
            t.cancel()
        if sess.closed.is_set() and not room.done.is_set() and room.killed is not None and room.killed.is_set():
            if await failover([view]) is not None:
                tally.last_end = max(tally.last_end, time.monotonic())
        elif sess.closed.is_set() and not room.done.is_set():
            tally.errors.append(("idle", sess.close_reason or "websocket closed"))
    finally:
        settle()
        await sess.close()


async def run_room(room: Room, n: int, ramp: float, prompts: str, timeout: float, monitor: ProcessMonitor | None,
                   ) -> tuple[Tally, float]:
    """All participants of one room; returns the tally and the server CPU seconds it cost (processes that
    started during the room, e.g. a restarted backend, are left out of that figure and printed apart)."""
    tally = Tally()
    room.done, room.killed, room.t_kill = asyncio.Event(), asyncio.Event(), None
    before = monitor.sample() if monitor else {}
    t0 = time.monotonic() + 0.05
    tasks = [asyncio.create_task(participant(i, room, t0 + (ramp * i / n if n else 0), prompts, tally, timeout))
             for i in range(n)]
    killer = None
    if room.kill_at is not None and room.kill is not None:
        async def kill_later():
            await asyncio.sleep(max(0.0, t0 + room.kill_at - time.monotonic()))
            room.t_kill = time.monotonic()
            room.kill()
            room.killed.set()
            print(f"  killed backend {room.killed_backend} at {room.t_kill - t0:.1f} s", flush=True)
            await asyncio.sleep(2.0)  # every cut websocket has noticed by now
        killer = asyncio.create_task(kill_later())

    async def end_when_settled():
        # everyone is idle (or out) and, after a kill, every cut session is back or counted lost
        while not (tally.settled >= n and (killer is None or killer.done())
                   and len(tally.failover) + len(tally.lost) >= tally.on_killed):
            await asyncio.sleep(0.2)
        room.done.set()

    waiter = asyncio.create_task(end_when_settled())
    try:
        await asyncio.gather(*tasks)
    finally:
        room.done.set()
        waiter.cancel()
        if killer is not None and not killer.done():
            killer.cancel()
    cpu = float("nan")
    if monitor:
        after = monitor.sample()
        cpu = ProcessMonitor.cpu_seconds(before, after, pids=set(before))
        new = ProcessMonitor.cpu_seconds(before, after, pids=set(after) - set(before))
        if new > 0:
            print(f"  processes started during the room (restarts) used {new:.2f} CPU-s, not counted per run")
    return tally, cpu


# ---------------------------------------------------------------------------------------------
# Floor: a one-widget page, same client, same server flags


async def floor_room(url: str, n: int, ramp: float, timeout: float, monitor: ProcessMonitor) -> tuple[int, float, list[str]]:
    runs, errors = 0, []

    async def one(i: int, t_start: float):
        nonlocal runs
        await asyncio.sleep(max(0.0, t_start - time.monotonic()))
        sess = StreamlitSession(url, timeout=timeout)
        try:
            results = [await sess.open_page("", "")]
            for k in range(3):
                if results[-1].error:
                    break
                results.append(await sess.set_text("x", f"participant {i} typed {k}"))
            for r in results:
                if r.error:
                    errors.append(r.error)
                else:
                    runs += 1
        finally:
            await sess.close()

    before = monitor.sample()
    t0 = time.monotonic()
    await asyncio.gather(*(one(i, t0 + ramp * i / max(1, n)) for i in range(n)))
    return runs, ProcessMonitor.cpu_seconds(before, monitor.sample()), errors


# ---------------------------------------------------------------------------------------------


def _fmt_times(values: list[float]) -> str:
    if not values:
        return "    (none)"
    return (f"p50 {percentile(values, 50):7.2f} s   p95 {percentile(values, 95):7.2f} s   max {max(values):7.2f} s"
            f"   (n={len(values)})")


def report(tally: Tally, cpu_s: float, monitor: ProcessMonitor | None, label: str) -> dict:
    print(f"\n{label}")
    for a in ACTIONS:
        print(f"  {a:8s} {_fmt_times(tally.times[a])}")
    runs = tally.runs
    errors = len(tally.errors)
    by_action: dict[str, int] = {}
    for action, _ in tally.errors:
        by_action[action] = by_action.get(action, 0) + 1
    print(f"  errors: {errors}" + (" (" + ", ".join(f"{a} {c}" for a, c in by_action.items()) + ")" if errors else ""))
    for action, message in tally.errors[:3]:
        print(f"    e.g. {action}: {message[:200]}")
    if tally.page_not_found:
        print(f"  page_not_found messages on open: {tally.page_not_found} (the first-session quirk; the page ran)")
    kb = sum(tally.open_bytes) / len(tally.open_bytes) / 1024 if tally.open_bytes else float("nan")
    print(f"  websocket KB per page open: {kb:.1f}")
    if tally.landed:
        print("  where sessions ended up (X-Room-Backend of their last websocket): "
              + ", ".join(f"{b}: {c}" for b, c in sorted(tally.landed.items())))
    cpu_ms = 1000 * cpu_s / runs if runs else float("nan")
    if monitor is not None:
        print(f"  server CPU: {cpu_s:.2f} s for {runs} page runs = {cpu_ms:.1f} ms per run")
    out = {"runs": runs, "errors": errors, "open_kb": round(kb, 1), "page_not_found": tally.page_not_found}
    if monitor is not None:
        out["cpu_ms_per_run"] = round(cpu_ms, 1)
    for a in ACTIONS[1:]:
        if tally.times[a]:
            out[f"{a}_p50_s"] = round(percentile(tally.times[a], 50), 3)
            out[f"{a}_p95_s"] = round(percentile(tally.times[a], 95), 3)
            out[f"{a}_max_s"] = round(max(tally.times[a]), 3)
    if tally.on_killed or tally.lost:
        print(f"  failover: {tally.on_killed} sessions cut by the kill ({tally.interrupted} in the middle of a run); "
              f"back on the same view: {len(tally.failover)}, lost: {len(tally.lost)}")
        print(f"    websocket back (kill -> reconnected) {_fmt_times(tally.reconnect)}")
        print(f"    same view back (kill -> rerun shown) {_fmt_times(tally.failover)}")
        for line in tally.lost[:5]:
            print(f"    lost {line[:200]}")
        out.update(failover_sessions=tally.on_killed, lost=len(tally.lost))
        if tally.failover:
            out.update(failover_p50_s=round(percentile(tally.failover, 50), 2),
                       failover_p95_s=round(percentile(tally.failover, 95), 2),
                       failover_max_s=round(max(tally.failover), 2))
    return out


def print_memory(monitor: ProcessMonitor, warm: dict[int, int] | None = None) -> dict:
    servers = monitor.servers()
    out = {}
    peak = 0
    print("  server processes (peak RSS = VmHWM):")
    for pid, lab in sorted(servers.items(), key=lambda kv: kv[1]):
        hwm = monitor.hwm.get(pid, 0) / 1024
        line = f"    {lab:18s} pid {pid:7d}  peak {hwm:7.1f} MB  now {monitor.rss.get(pid, 0) / 1024:7.1f} MB"
        if warm is not None and pid in warm and warm[pid]:
            drift = 100 * (monitor.rss.get(pid, 0) - warm[pid]) / warm[pid]
            line += f"  after warm-up {warm[pid] / 1024:7.1f} MB  drift {drift:+.1f}%"
            if lab.startswith("app:"):
                out["rss_drift_pct"] = max(out.get("rss_drift_pct", -1e9), round(drift, 1))
        print(line)
        if lab.startswith(("app:", "floor:")):
            peak = max(peak, hwm)
    out["peak_rss_mb"] = round(peak, 1)
    return out


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.room_load", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20, help=f"participants (default 20, at most {MAX_SESSIONS})")
    ap.add_argument("--ramp", type=float, default=10.0, help="seconds over which they start (default 10)")
    ap.add_argument("--prompts", choices=("same", "distinct"), default="same",
                    help="same: everyone types one shared sentence; distinct: each their own (default same)")
    ap.add_argument("--processes", type=int, default=1, help="1: one app process; N>1: a room of N behind nginx")
    ap.add_argument("--url", help="use this running app instead of starting one (no server CPU/memory figures)")
    ap.add_argument("--kill-after", type=float, help="room mode: kill backend 0 this many seconds in")
    ap.add_argument("--soak-minutes", type=float, default=0.0, help="repeat the room for this many minutes")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds one page run may take (default 180)")
    ap.add_argument("--deadline", type=float, default=1800.0, help="whole command, seconds (default 1800)")
    ap.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True,
                    help="also measure a one-widget page's CPU per run (default on)")
    ap.add_argument("--server-args", default="", help='extra Streamlit options for every server, e.g. '
                    '"--runner.postScriptGC false"')
    ap.add_argument("--nginx", default="/usr/sbin/nginx", help="nginx binary for room mode")
    ap.add_argument("--seed", type=int, default=0, help="random seed (reconnect jitter)")
    args = ap.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        ap.error(f"--sessions must be 1..{MAX_SESSIONS}")
    if args.processes < 1:
        ap.error("--processes must be at least 1")
    if args.kill_after is not None and (args.processes < 2 or args.url):
        ap.error("--kill-after needs room mode (--processes 2 or more, no --url)")
    if args.kill_after is not None and args.soak_minutes:
        ap.error("--kill-after and --soak-minutes do not go together")
    if args.url and not urllib.parse.urlsplit(args.url).hostname in ("127.0.0.1", "localhost", "::1"):
        ap.error("--url must be a loopback address (this is a local benchmark)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    random.seed(args.seed)
    extra = shlex.split(args.server_args)
    deadline = time.monotonic() + args.deadline
    result: dict = {"sessions": args.sessions, "processes": args.processes, "prompts": args.prompts}

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C works even where SIGINT was inherited ignored
    monitor = None if args.url else ProcessMonitor().start()
    try:
        with ExitStack() as stack:
            room = Room(url=args.url or "")
            if not args.url:
                print(f"starting {'one app process' if args.processes == 1 else f'a room of {args.processes}'} ...",
                      flush=True)
                if args.processes == 1:
                    room.url = stack.enter_context(single_server(["-m", "app.serve"], extra))
                else:
                    from app.room_mode import start_room

                    r = stack.enter_context(start_room(processes=args.processes, nginx=args.nginx, extra_args=extra,
                                                       log=lambda m: print(m, flush=True)))
                    room.url = r.url
                    if args.kill_after is not None:
                        room.killed_backend = f"127.0.0.1:{r.backend_ports[0]}"
                        room.kill_at, room.kill = args.kill_after, (lambda r=r: r.kill_backend(0))
            print(f"app at {room.url}; {args.sessions} sessions over {args.ramp:.0f} s, prompts {args.prompts}",
                  flush=True)

            async def app_phase():
                tally, cpu = await run_room(room, args.sessions, args.ramp, args.prompts, args.timeout, monitor)
                out = report(tally, cpu, monitor, "room 1")
                if not args.soak_minutes:
                    return out
                warm = dict(monitor.rss) if monitor else None
                soak_end = time.monotonic() + 60 * args.soak_minutes
                rounds, all_tally = 1, tally
                while time.monotonic() < min(soak_end, deadline - 120):
                    t, c = await run_room(room, args.sessions, args.ramp, args.prompts, args.timeout, monitor)
                    rounds += 1
                    print(f"  soak room {rounds}: runs {t.runs}, errors {len(t.errors)}, change p95 "
                          f"{percentile(t.times['change'], 95):.2f} s, cpu {1000 * c / max(1, t.runs):.1f} ms/run",
                          flush=True)
                    for a in ACTIONS:
                        all_tally.times[a] += t.times[a]
                    all_tally.errors += t.errors
                    all_tally.open_bytes += t.open_bytes
                    all_tally.page_not_found += t.page_not_found
                    for backend, count in t.landed.items():
                        all_tally.landed[backend] = all_tally.landed.get(backend, 0) + count
                    all_tally.runs += t.runs
                    cpu += c
                out = report(all_tally, cpu, monitor, f"all {rounds} rooms of the soak")
                out["soak_rooms"] = rounds
                out["_warm"] = warm
                return out

            out = asyncio.run(asyncio.wait_for(app_phase(), max(1.0, deadline - time.monotonic())))
            warm = out.pop("_warm", None)
            result.update(out)
            if monitor is not None:
                monitor.sample()
                result.update(print_memory(monitor, warm))
        # the app's servers are stopped here, so the floor has the machine to itself
        if args.floor and monitor is not None and time.monotonic() < deadline - 60:
            with tempfile.TemporaryDirectory(prefix="room-floor-") as tmp:
                script = Path(tmp) / "floor_app.py"
                script.write_text(FLOOR_SCRIPT)
                with single_server(["-m", "streamlit", "run", str(script)], extra) as url:
                    runs, cpu, errors = asyncio.run(asyncio.wait_for(
                        floor_room(url, args.sessions, args.ramp, args.timeout, monitor),
                        max(1.0, deadline - time.monotonic())))
            floor_ms = 1000 * cpu / runs if runs else float("nan")
            print(f"\nfloor (one st.text_input, same client, same server options): {runs} runs, "
                  f"{len(errors)} errors, server CPU {floor_ms:.1f} ms per run")
            result["floor_cpu_ms"] = round(floor_ms, 1)
            if result.get("cpu_ms_per_run") and floor_ms == floor_ms and floor_ms > 0:
                result["app_over_floor"] = round(result["cpu_ms_per_run"] / floor_ms, 2)
                print(f"app {result['cpu_ms_per_run']:.1f} ms per run = {result['app_over_floor']:.2f} x the floor")
    except asyncio.TimeoutError:
        print(f"deadline of {args.deadline:.0f} s reached; stopped", file=sys.stderr)
        result["deadline_hit"] = 1
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if monitor is not None:
            monitor.stop()
    print("RESULT " + " ".join(f"{k}={v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
