"""Server CPU per page run, one action at a time, against Streamlit's own floor in the same run.

    python -m benchmarks.page_cpu [--runs 20]

One quiet client (benchmarks/st_client.py) on one app server (`python -m app.serve`), then on a
one-widget Streamlit page served the same way (the framework's floor), then on read-along's layout
written as plain Streamlit calls with constant data (benchmarks/layout_floor_app.py: what Streamlit
itself costs for a page of that shape, so `read_along_over_layout` is what the app's code adds), then
on that page's core alone (`RWKV_LAYOUT_CORE=1`: `core_over_floor` is the least a page doing read-along's
job costs against the floor in this Streamlit).
For each reading page it measures the server process's CPU (from /proc) for: a rerun with the text
cached, and a rerun with a new ~25-token text (trace + figures + page). All four servers run at once and
the cached reruns are measured in interleaved rounds (each page and each reference a block of reruns per
round), so a noisy neighbour on a shared machine weighs on every figure alike and the ratios hold.
Prints one line per measurement and a last `RESULT` line.
Loopback only; stops its servers on exit.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from benchmarks.room_load import FLOOR_SCRIPT, distinct_prompt, single_server
from benchmarks.st_client import StreamlitSession, stepper_views

READING_PAGES = ("read-along", "token-shift", "fading-memory")


def server_cpu_s(url_pid: int) -> float:
    fields = Path(f"/proc/{url_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(url: str) -> int:
    """The pid listening on the URL's port (the app server the benchmark started)."""
    port = int(url.rsplit(":", 1)[1])
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if int(parts[1].split(":")[1], 16) == port and parts[3] == "0A":  # LISTEN
            inode = parts[9]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]" for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on {url}")


async def open_warm(url: str, page: str) -> StreamlitSession:
    """A session on `page`, rerun three times: the default text's view and the widget ids are in place."""
    sess = StreamlitSession(url)
    await sess.connect()
    await sess.open_page(page, "")
    for _ in range(3):
        await sess.rerun()
    return sess


async def measure_new_text(url: str, pid: int, page: str, runs: int, offset: int) -> tuple[float, float]:
    """Mean server CPU ms per run, and mean tokens, for `runs` reruns of `page`, each with a text never read before."""
    sess = await open_warm(url, page)
    try:
        cpu, tokens = 0.0, 0
        for i in range(runs):
            before = server_cpu_s(pid)
            r = await sess.set_text("prompt_box", distinct_prompt(offset + i, 1))
            cpu += server_cpu_s(pid) - before
            if r.error:
                raise RuntimeError(f"{page}: {r.error}")
            views = stepper_views(r)
            tokens += max((len(v.labels) for v in views), default=0)  # the step-through, not a still chart
        return 1000 * cpu / runs, tokens / runs
    finally:
        await sess.close()


async def measure_cached(targets: dict[str, tuple[str, int, str]], runs: int, rounds: int) -> dict[str, float]:
    """Mean server CPU ms per cached rerun for each target (name -> (url, server pid, page)), measured in
    `rounds` interleaved blocks of `runs // rounds` reruns each."""
    sessions = {}
    try:
        for name, (url, _, page) in targets.items():
            sessions[name] = await open_warm(url, page)
        per_block = max(1, runs // rounds)
        cpu = dict.fromkeys(targets, 0.0)
        for _ in range(rounds):
            for name, (_, pid, page) in targets.items():
                before = server_cpu_s(pid)
                for _ in range(per_block):
                    r = await sessions[name].rerun()
                    if r.error:
                        raise RuntimeError(f"{name}: {r.error}")
                cpu[name] += server_cpu_s(pid) - before
        return {name: 1000 * total / (per_block * rounds) for name, total in cpu.items()}
    finally:
        for sess in sessions.values():
            await sess.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.page_cpu", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="reruns per measurement (default 20)")
    ap.add_argument("--rounds", type=int, default=6, help="interleaved rounds for the cached reruns (default 6)")
    args = ap.parse_args(argv)
    result = {}
    layout_app = Path(__file__).with_name("layout_floor_app.py")
    with tempfile.TemporaryDirectory(prefix="page-cpu-floor-") as tmp, ExitStack() as stack:
        script = Path(tmp) / "floor_app.py"
        script.write_text(FLOOR_SCRIPT)
        app_url = stack.enter_context(single_server(["-m", "app.serve"], []))
        floor_url = stack.enter_context(single_server(["-m", "streamlit", "run", str(script)], []))
        layout_url = stack.enter_context(single_server(["-m", "streamlit", "run", str(layout_app)], []))
        os.environ["RWKV_LAYOUT_CORE"] = "1"
        try:
            core_url = stack.enter_context(single_server(["-m", "streamlit", "run", str(layout_app)], []))
        finally:
            del os.environ["RWKV_LAYOUT_CORE"]
        app_pid = server_pid(app_url)
        targets = {page: (app_url, app_pid, page) for page in READING_PAGES}
        targets.update({"floor": (floor_url, server_pid(floor_url), ""), "layout": (layout_url, server_pid(layout_url), ""),
                        "core": (core_url, server_pid(core_url), "")})
        cached = asyncio.run(measure_cached(targets, args.runs, args.rounds))
        floor, layout, core = cached["floor"], cached["layout"], cached["core"]
        for j, page in enumerate(READING_PAGES):
            fresh, tokens = asyncio.run(measure_new_text(app_url, app_pid, page, args.runs, 1000 * (j + 1)))
            key = page.replace("-", "_")
            result[f"{key}_cached_ms"], result[f"{key}_new_text_ms"] = round(cached[page], 1), round(fresh, 1)
            print(f"{page:14s} text cached {cached[page]:6.1f} ms CPU per run;  new {tokens:.0f}-token text {fresh:6.1f} ms",
                  flush=True)
    result["floor_ms"] = round(floor, 1)
    print(f"{'floor':14s} one st.text_input, same client, same .streamlit options: {floor:6.1f} ms CPU per run")
    result["layout_floor_ms"] = round(layout, 1)
    print(f"{'layout floor':14s} read-along's elements as plain Streamlit calls, constant data: {layout:6.1f} ms CPU per run")
    result["core_floor_ms"] = round(core, 1)
    print(f"{'core floor':14s} the same without the container, CSS, help texts, code line: {core:6.1f} ms CPU per run")
    for page in READING_PAGES:
        key = page.replace("-", "_")
        result[f"{key}_over_floor"] = round(result[f"{key}_cached_ms"] / floor, 2)
    result["read_along_over_layout"] = round(result["read_along_cached_ms"] / layout, 2)
    result["core_over_floor"] = round(core / floor, 2)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
