"""A live room poll under load: N phones join one room and vote within a few seconds; how fast is each vote,
are all counted, and how soon does the presenter's tally show them all?

    python -m benchmarks.room_votes --sessions 60 --within 5

What it does, all over loopback with Streamlit's own protocol (benchmarks/st_client.py, no browser):

1. Starts `python -m app.serve` on a free port with a fresh data folder (so a fresh room store), unless
   `--url` names a running app (then `--store-url` may name its store, e.g. `sqlite:////path/rooms.sqlite3`,
   for the "counted" figure).
2. A presenter session opens `/room`, presses **Open a room** and **Ask this question** (the first question
   in the picker), and from then on does what the browser does for the tally fragment
   (`@st.fragment(run_every=1.5)`): a fragment rerun every interval the server asked for, reading the votes
   off the tally chart it gets back.
3. N participant sessions open `/join?room=CODE` (spread over `--join-ramp` seconds), and while in the room
   send the watcher fragment's own refresh (every 2 s), as each phone's browser would. Then each votes at a
   random moment within `--within` seconds: the widget change a tap sends (a page rerun). Every `--change-every`-th participant changes its vote once, a second later.
4. Reports vote latency (tap -> the run that shows "Your vote" finished) p50/p95/max, votes counted by the
   store, the time from the last vote counted until a presenter refresh showed all N, errors.
5. Then the presenter reveals the answer and, for `--after-reveal` seconds, the phones keep refreshing with
   the answer on screen: their refresh p95 and the server's CPU meanwhile (the revealed chart is cached).

Targets (printed, never asserted): all counted, the tally within 3 s, vote p95 <= 1 s.
The last line is `RESULT {...}` (JSON). Bounded: at most 400 sessions, every run times out (`--timeout`),
the whole benchmark stops at `--deadline`; every process it started is stopped on exit.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field

from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.page_cpu import server_cpu_s, server_pid
from benchmarks.room_load import percentile, single_server
from benchmarks.st_client import RunResult, StreamlitSession

MAX_SESSIONS = 400
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
TARGET_TALLY_S, TARGET_VOTE_P95_S = 3.0, 1.0
VOTE_KEY_PREFIX = "vote__"
VOTED_TEXT = "Your vote:"


class RoomSession(StreamlitSession):
    """A StreamlitSession that also keeps what a room page needs: button and radio ids with the radio's
    options, the fragments' auto-rerun intervals, and the tally chart's counts; and that can send a button
    press and a fragment rerun, as the 1.67 frontend does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.buttons: dict[str, str] = {}  # key -> element id
        self.radios: dict[str, tuple[str, list[str]]] = {}  # key -> (element id, options)
        self.fragments: dict[str, float] = {}  # fragment id -> run_every seconds (last full run)
        self.lock = asyncio.Lock()  # one run at a time per tab, as the frontend queues them

    def _resolve(self, fmsg, res):
        if fmsg.WhichOneof("type") == "auto_rerun":
            self.fragments[fmsg.auto_rerun.fragment_id] = fmsg.auto_rerun.interval
        return super()._resolve(fmsg, res)

    def _delta(self, fmsg, res: RunResult, seen_widgets: dict) -> None:
        super()._delta(fmsg, res, seen_widgets)
        d = fmsg.delta
        if not d.HasField("new_element"):
            return
        el = d.new_element
        kind = el.WhichOneof("type")
        if kind == "button" and el.button.id:
            self.buttons[user_key(el.button.id)] = el.button.id
        elif kind == "radio" and el.radio.id:
            self.radios[user_key(el.radio.id)] = (el.radio.id, list(el.radio.options))
        elif kind == "plotly_chart":
            res.tally = tally_from_spec(el.plotly_chart.spec)

    async def press(self, key: str) -> RunResult:
        """Click the button with user key `key` (a trigger value sent once with every other widget's value)."""
        wid = self.buttons.get(key)
        if wid is None:
            return RunResult(0.0, error=f"no button {key!r} on the page")
        cs = ClientState(query_string=self.query_string, page_script_hash=self.page_script_hash)
        self._all_widget_states(cs)
        cs.widget_states.widgets.append(WidgetState(id=wid, trigger_value=True))
        return await self._run(cs, expect_page=None)

    async def fragment_rerun(self, fragment_id: str, auto: bool = True) -> RunResult:
        cs = ClientState(query_string=self.query_string, page_script_hash=self.page_script_hash,
                         fragment_id=fragment_id, is_auto_rerun=auto)
        self._all_widget_states(cs)
        return await self._run(cs, expect_page=None)

    async def choose(self, key: str, label: str, fragment_id: str) -> RunResult:
        """Tap the radio option `label` of the radio with user key `key`; `fragment_id` "" reruns the whole page."""
        wid, _ = self.radios[key]
        entry = self._widgets.get(wid)
        state = entry[0] if entry else WidgetState(id=wid)
        state.string_value = label
        self._widgets[wid] = (state, entry[1] if entry else self.main_script_hash)
        cs = ClientState(query_string=self.query_string, page_script_hash=self.page_script_hash,
                         fragment_id=fragment_id)
        self._all_widget_states(cs)
        return await self._run(cs, expect_page=None)


JOINED_RE = re.compile(r"(\d+) phones? joined")


def user_key(element_id: str) -> str:
    """The user key of a widget from its element id `$$ID-<hash>-<key>` (the key may hold dashes)."""
    parts = element_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "$$ID" else element_id


def tally_from_spec(spec: str) -> list[int] | None:
    """The bar lengths of the tally chart (Plotly JSON; numbers may come as a typed array)."""
    try:
        x = json.loads(spec)["data"][0]["x"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if isinstance(x, dict) and "bdata" in x:
        import numpy as np

        x = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"])).tolist()
    return [int(v) for v in x]


@dataclass
class Stats:
    vote_s: list[float] = field(default_factory=list)  # every vote run (first votes and changes)
    refresh_s: list[float] = field(default_factory=list)  # participants' auto refreshes
    presenter_s: list[float] = field(default_factory=list)  # presenter's tally refreshes
    errors: list[str] = field(default_factory=list)
    joined: int = 0
    voted: int = 0  # participants whose last vote run showed their vote
    last_vote_done: float | None = None
    tally_seen: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, votes on the chart)
    revealed_at: float | None = None  # when the presenter's Reveal run finished
    after_reveal_s: list[float] = field(default_factory=list)  # phones' refreshes once the answer shows
    joined_shown: int | None = None  # "N phones joined" on the presenter's last tally refresh


def _problem(r: RunResult) -> str | None:
    if r.error:
        return r.error
    return None


async def presenter_setup(url: str, timeout: float) -> tuple[RoomSession, str, str, str]:
    """Open a room and ask the first question in the picker; returns (session, code, token, fragment id)."""
    p = RoomSession(url, timeout=timeout, name="presenter")
    r = await p.open_page("room", "")
    if r.error:
        raise RuntimeError(f"presenter: open /room: {r.error}")
    r = await p.press("room_open")
    q = urllib.parse.parse_qs(p.query_string)
    if r.error or "room" not in q or "token" not in q:
        raise RuntimeError(f"presenter: Open a room gave no room ({r.error or p.query_string!r}; {r.texts[-3:]})")
    code, token = q["room"][-1], q["token"][-1]
    p.fragments.clear()
    r = await p.press("room_ask")
    if r.error or not p.fragments:
        raise RuntimeError(f"presenter: Ask gave {r.error or 'no live tally fragment'}; {r.texts[-3:]}")
    fragment = next(reversed(p.fragments))
    return p, code, token, fragment


async def presenter_loop(p: RoomSession, fragment: str, stats: Stats, stop: asyncio.Event) -> None:
    interval = p.fragments.get(fragment, 1.5)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass
        if stop.is_set():
            break
        async with p.lock:
            r = await p.fragment_rerun(fragment)
        if r.error:
            stats.errors.append(f"presenter refresh: {r.error}")
            continue
        stats.presenter_s.append(r.seconds)
        counts = getattr(r, "tally", None)
        if counts is not None:
            stats.tally_seen.append((time.monotonic(), sum(counts)))
        said = next((m for m in map(JOINED_RE.search, r.texts) if m), None)
        if said:
            stats.joined_shown = int(said.group(1))


async def participant(i: int, url: str, code: str, t_join: float, t_vote: float, change: bool, timeout: float,
                      stats: Stats, stop: asyncio.Event, rng: random.Random) -> None:
    await asyncio.sleep(max(0.0, t_join - time.monotonic()))
    s = RoomSession(url, timeout=timeout, name=f"p{i}")
    refresher = None
    try:
        r = await s.open_page("join", urllib.parse.urlencode({"room": code}))
        key = next((k for k in s.radios if k.startswith(VOTE_KEY_PREFIX)), None)
        if r.error or key is None or not s.fragments:
            stats.errors.append(f"p{i} join: {r.error or 'no question to vote on'}")
            return
        stats.joined += 1
        fragment = next(reversed(s.fragments))
        interval = s.fragments[fragment]

        async def refresh():  # the phone's browser: the question fragment every `interval` seconds
            await asyncio.sleep(rng.random() * interval)
            while not stop.is_set():
                async with s.lock:  # the fragment the page registered last (a page rerun registers it anew)
                    rr = await s.fragment_rerun(next(reversed(s.fragments)))
                if rr.error:
                    stats.errors.append(f"p{i} refresh: {rr.error}")
                elif stats.revealed_at is not None and time.monotonic() - rr.seconds >= stats.revealed_at:
                    stats.after_reveal_s.append(rr.seconds)
                else:
                    stats.refresh_s.append(rr.seconds)
                await asyncio.sleep(interval)

        refresher = asyncio.create_task(refresh())
        options = s.radios[key][1]
        choices = [rng.randrange(len(options))]
        if change:
            choices.append((choices[0] + 1) % len(options))
        ok = False
        for n, choice in enumerate(choices):
            await asyncio.sleep(max(0.0, t_vote + n * 1.0 - time.monotonic()))
            async with s.lock:
                rv = await s.choose(key, options[choice], "")  # the radio is on the page: a tap reruns the page
            if rv.error:
                stats.errors.append(f"p{i} vote: {rv.error}")
                return
            stats.vote_s.append(rv.seconds)
            ok = any(VOTED_TEXT in t for t in rv.texts)
            if not ok:
                said = next((t for t in rv.texts if "vote" in t.lower()), "no 'Your vote' on the page")
                stats.errors.append(f"p{i} vote not shown: {said[:160]}")
                return
        stats.voted += int(ok)
        now = time.monotonic()
        stats.last_vote_done = now if stats.last_vote_done is None else max(stats.last_vote_done, now)
        await stop.wait()
    finally:
        if refresher is not None:
            refresher.cancel()
        await s.close()


def count_in_store(store_url: str | None, code: str, question_id: str | None) -> int | None:
    if not store_url or not question_id:
        return None
    try:
        from app.room.store import open_store

        return sum(open_store(store_url).tally(code, question_id))
    except Exception as exc:  # a benchmark reports, it does not crash
        print(f"  could not read the store: {type(exc).__name__}: {exc}")
        return None


async def run(args, url: str, store_url: str | None) -> dict:
    stats = Stats()
    rng = random.Random(args.seed)
    presenter, code, token, fragment = await presenter_setup(url, args.timeout)
    question_id = None
    if store_url:
        from app.room.store import open_store

        question_id = open_store(store_url).room(code).question_id
    print(f"room {code}: question {question_id or '(store not read)'}; presenter tally refresh every "
          f"{presenter.fragments.get(fragment, float('nan')):g} s", flush=True)
    stop = asyncio.Event()
    t0 = time.monotonic() + 0.1
    t_votes = t0 + args.join_ramp + 1.0
    tasks = [asyncio.create_task(participant(
        i, url, code, t0 + args.join_ramp * i / max(1, args.sessions), t_votes + rng.random() * args.within,
        args.change_every > 0 and i % args.change_every == 0, args.timeout, stats, stop, random.Random(i)))
        for i in range(args.sessions)]
    watcher = asyncio.create_task(presenter_loop(presenter, fragment, stats, stop))
    deadline = time.monotonic() + args.deadline
    tally_s = None
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        finished = sum(t.done() for t in tasks)
        if stats.voted + finished >= args.sessions and stats.last_vote_done is not None:
            seen = [t for t, total in stats.tally_seen if total >= stats.voted and t >= stats.last_vote_done]
            if seen:
                tally_s = seen[0] - stats.last_vote_done
                break
        elif finished == len(tasks):
            break
    timed_out = time.monotonic() >= deadline
    cpu_after = None
    if args.after_reveal > 0 and tally_s is not None:
        # The answer shows on every phone, which keeps refreshing every 2 s: what does that cost the server?
        async with presenter.lock:
            r = await presenter.press("room_reveal_button")
        if r.error:
            stats.errors.append(f"presenter reveal: {r.error}")
        else:
            stats.revealed_at = time.monotonic()
            cpu0 = server_cpu_s(args.server_pid) if args.server_pid else None
            await asyncio.sleep(args.after_reveal)
            if cpu0 is not None:
                cpu_after = (server_cpu_s(args.server_pid) - cpu0) / args.after_reveal
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    watcher.cancel()
    await presenter.close()
    counted = count_in_store(store_url, code, question_id)
    shown = stats.tally_seen[-1][1] if stats.tally_seen else None

    def fmt(values):
        if not values:
            return "(none)"
        return (f"p50 {percentile(values, 50):.3f} s  p95 {percentile(values, 95):.3f} s  max {max(values):.3f} s"
                f"  (n={len(values)})")

    changes = f", every {args.change_every}th changes its vote once" if args.change_every else ""
    print(f"\n{args.sessions} participants, votes within {args.within:g} s{changes}")
    print(f"  joined: {stats.joined}/{args.sessions}; voted (their vote shown to them): {stats.voted}")
    print(f"  vote (tap -> page shows it)     {fmt(stats.vote_s)}")
    print(f"  phone refresh (every 2 s each)  {fmt(stats.refresh_s)}")
    print(f"  presenter tally refresh         {fmt(stats.presenter_s)}")
    print(f"  counted by the store: {counted if counted is not None else '(not read)'}; "
          f"on the presenter's tally at the end: {shown}; phones joined, as the presenter sees it: "
          f"{stats.joined_shown}")
    print(f"  last vote counted -> presenter's tally shows all: "
          f"{'%.2f s' % tally_s if tally_s is not None else 'never' + (' (deadline)' if timed_out else '')}")
    if stats.revealed_at is not None:
        busy = f"; server busy {100 * cpu_after:.0f}% of one core" if cpu_after is not None else ""
        print(f"  after the reveal, {args.after_reveal:g} s: phone refresh {fmt(stats.after_reveal_s)}{busy}")
    print(f"  errors: {len(stats.errors)}")
    for e in stats.errors[:5]:
        print(f"    e.g. {e[:200]}")
    all_counted = (counted if counted is not None else shown) == args.sessions
    vote_p95 = percentile(stats.vote_s, 95) if stats.vote_s else float("nan")
    print("  targets: all counted {} | tally within {:g} s {} | vote p95 <= {:g} s {}".format(
        "yes" if all_counted else "NO", TARGET_TALLY_S, "yes" if tally_s is not None and tally_s <= TARGET_TALLY_S
        else "NO", TARGET_VOTE_P95_S, "yes" if vote_p95 <= TARGET_VOTE_P95_S else "NO"))
    return {
        "sessions": args.sessions, "within_s": args.within, "joined": stats.joined, "voted": stats.voted,
        "counted": counted, "tally_shown": shown, "joined_shown": stats.joined_shown,
        "vote_p50_s": round(percentile(stats.vote_s, 50), 3) if stats.vote_s else None,
        "vote_p95_s": round(vote_p95, 3) if stats.vote_s else None,
        "vote_max_s": round(max(stats.vote_s), 3) if stats.vote_s else None,
        "tally_all_s": round(tally_s, 2) if tally_s is not None else None,
        "refresh_p95_s": round(percentile(stats.refresh_s, 95), 3) if stats.refresh_s else None,
        "after_reveal_refresh_p95_s": (round(percentile(stats.after_reveal_s, 95), 3)
                                       if stats.after_reveal_s else None),
        "after_reveal_server_cores": round(cpu_after, 2) if cpu_after is not None else None,
        "errors": len(stats.errors),
    }


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.room_votes", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=60, help=f"participants (default 60, at most {MAX_SESSIONS})")
    ap.add_argument("--within", type=float, default=5.0, help="seconds in which they all vote (default 5)")
    ap.add_argument("--join-ramp", type=float, default=10.0, help="seconds over which they join (default 10)")
    ap.add_argument("--change-every", type=int, default=4, help="every k-th participant changes its vote (0: none)")
    ap.add_argument("--url", help="a running app on this machine (default: start one)")
    ap.add_argument("--store-url", help="with --url: its room store's database URL, to count the votes there")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds one run may take (default 60)")
    ap.add_argument("--deadline", type=float, default=180.0, help="seconds the whole room may take (default 180)")
    ap.add_argument("--after-reveal", type=float, default=10.0,
                    help="then reveal, and measure the phones' refreshes for this many seconds (0: skip; default 10)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        ap.error(f"--sessions must be 1..{MAX_SESSIONS}")
    if not 0 < args.within <= 600 or not 0 <= args.join_ramp <= 600 or not 1 <= args.deadline <= 1800:
        ap.error("--within, --join-ramp and --deadline must be small positive numbers of seconds")
    if args.url and urllib.parse.urlsplit(args.url).hostname not in LOOPBACK:
        ap.error("--url must be on this machine (127.0.0.1 or localhost): this benchmark stays on loopback")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    args.server_pid = None  # set when this benchmark starts the server (its CPU is read from /proc)
    if args.url:
        result = asyncio.run(run(args, args.url.rstrip("/"), args.store_url))
    else:
        data = tempfile.mkdtemp(prefix="room-votes-")
        os.environ["RWKV_EXPLAINER_DATA"] = data  # the server's store: a fresh file this benchmark can read
        os.environ.pop("RWKV_EXPLAINER_DATABASE_URL", None)
        store_url = "sqlite:///" + os.path.join(data, "rooms.sqlite3")
        with single_server(["-m", "app.serve"], []) as url:
            args.server_pid = server_pid(url)
            print(f"app at {url} (python -m app.serve), room store {store_url}", flush=True)
            result = asyncio.run(run(args, url, store_url))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
