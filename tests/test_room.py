"""Sessions of a room, at the protocol level (benchmarks/st_client.py speaks Streamlit's websocket
messages as Chromium does): links open their view, a typed text reruns the page, and in room mode
(app/room_mode.py: two app processes behind nginx) sessions stick to one process, scripts are gzipped,
and when a process dies every session on it comes back to the same view on its own.

nginx missing: with CI=true the room tests FAIL (CI must not pass by skipping them, as with Chromium
in tests/browser/conftest.py); anywhere else they skip with the reason. No timing is asserted except
the 10 s failover bound.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from benchmarks.room_load import single_server
from benchmarks.st_client import StreamlitSession, stepper_views

REPO = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 90.0  # one page run on a busy 2-core box, generous
# Waits that only stop a hung test; how fast a participant comes back (issue target 10 s) is a measurement:
# `python -m benchmarks.room_load --processes 3 --kill-after 8` prints it. Here it is printed, not asserted.
FAILOVER_WAIT_S = RUN_TIMEOUT
PARTICIPANTS = 10


def nginx_or_skip() -> str:
    from app.room_mode import find_nginx

    path = find_nginx()
    if path:
        return path
    msg = ("nginx not found (/usr/sbin/nginx): the room tests need it "
           "(Debian: apt-get install -y nginx-light; macOS: brew install nginx).")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " CI=true, so this is a failure, not a skip.", pytrace=False)
    pytest.skip(msg)


def link(prompt: str, step: int | None = None) -> str:
    return "prompt=" + urllib.parse.quote(prompt) + (f"&step={step}" if step else "")


def run_all(loop, coros):
    """Run coroutines together in the module's event loop (sessions belong to one loop)."""
    async def together():
        return await asyncio.gather(*coros)

    return loop.run_until_complete(together())


def view(result):
    views = stepper_views(result)
    assert views, f"no stepper iframe in the page; texts: {[t[:60] for t in result.texts][:8]}"
    return views[0].text, views[0].start


class ThreadLoop:
    """An event loop on a thread of its own: the browser tests' Playwright keeps a loop running on the main
    thread for the whole pytest session, and asyncio refuses to run a second one there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="room-test-loop", daemon=True)
        self.thread.start()

    def run_until_complete(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def loop():
    lp = ThreadLoop()
    yield lp
    lp.close()


# --- one app process ----------------------------------------------------------------------------


@pytest.fixture(scope="class")
def app_url():
    with single_server(["-m", "app.serve"], []) as url:
        yield url


class TestOneProcess:
    def test_links_open_their_view_and_typing_reruns(self, app_url, loop):
        prompts = [("Tom had a red ball.", 3), ("Lily saw a big dog in the park.", 1),
                   ("The cat sat on the mat and looked at the moon.", 50)]

        async def one(prompt: str, step: int):
            s = StreamlitSession(app_url, timeout=RUN_TIMEOUT)
            try:
                opened = await s.open_page("read-along", link(prompt, step))
                typed = await s.set_text("prompt_box", f"My own words about {prompt.split()[0]}.")
                switched = await s.switch_page("token-shift")
                return s, opened, typed, switched
            finally:
                await s.close()

        out = run_all(loop, [one(p, st) for p, st in prompts])
        for (prompt, step), (s, opened, typed, switched) in zip(prompts, out):
            for r in (opened, typed, switched):
                assert r.error is None, r.error
            text, start = view(opened)
            assert text == prompt
            n_tokens = len(stepper_views(opened)[0].labels)
            assert start == min(step, n_tokens) - 1  # 1-based link step; past the end -> last token
            assert f"let step = {start}" in opened.srcdocs[0]
            assert urllib.parse.parse_qs(opened.query_string)["prompt"] == [prompt]
            new_text = f"My own words about {prompt.split()[0]}."
            assert view(typed) == (new_text, 0)  # a new text starts at its first token
            assert urllib.parse.parse_qs(typed.query_string) == {"prompt": [new_text]}
            assert switched.page == "token-shift" and view(switched) == (new_text, 1)  # token 1 has no token before it
            assert s.widget_id("prompt_box") is not None
        assert any(t.startswith("The link asked for token 50") for t in out[2][1].texts)

    def test_reconnect_without_a_run_in_flight_sends_nothing(self, app_url, loop):
        """After a dropped websocket the 1.67 frontend reruns nothing when its last run had finished;
        the next widget change reruns in the (same-process, resumed) session."""
        async def go():
            s = StreamlitSession(app_url, timeout=RUN_TIMEOUT)
            try:
                r = await s.open_page("read-along", link("Ben ran home.", 2))
                assert r.error is None, r.error
                sid = s.session_id
                await s._ws.close()  # as a network blip would
                await asyncio.wait_for(s.wait_closed(), 10)
                assert await s.reconnect(deadline_s=30) is None
                r2 = await s.rerun()
                return sid, s.session_id, r2
            finally:
                await s.close()

        sid, sid_after, r2 = loop.run_until_complete(go())
        assert r2.error is None, r2.error
        assert view(r2) == ("Ben ran home.", 1)
        assert sid_after == sid  # the same process still held the session: it was resumed


# --- a room: two app processes behind nginx ------------------------------------------------------


@pytest.fixture(scope="module")
def room():
    nginx = nginx_or_skip()
    from app.room_mode import start_room

    with start_room(processes=2, nginx=nginx, log=lambda m: None) as r:
        yield r


def participant_plan(i: int) -> tuple[str, int | None, str | None]:
    """(link prompt, link step, text typed afterwards or None): half keep the link's step, half type."""
    prompt = f"Participant {i} read a story about a red kite."
    return prompt, 1 + i % 4, (f"Participant {i} typed a new line." if i % 2 == 0 else None)


@pytest.fixture(scope="module")
def room_sessions(room, loop):
    """PARTICIPANTS sessions through the proxy, each having opened its link (and half typed a text);
    a few more (at most PARTICIPANTS) in the unlikely case that all landed on one backend."""
    async def one(i: int):
        prompt, step, typed = participant_plan(i)
        s = StreamlitSession(room.url, timeout=RUN_TIMEOUT, name=f"p{i}")
        results = [await s.open_page("read-along", link(prompt, step))]
        if typed is not None and results[-1].error is None:
            results.append(await s.set_text("prompt_box", typed))
        return s, results

    sessions = run_all(loop, [one(i) for i in range(PARTICIPANTS)])
    ports = {f"127.0.0.1:{p}" for p in room.backend_ports}
    while {s.backend for s, _ in sessions} < ports and len(sessions) < 2 * PARTICIPANTS:
        sessions += run_all(loop, [one(len(sessions))])
    yield sessions
    run_all(loop, [s.close() for s, _ in sessions])


def expected_view(i: int) -> tuple[str, int]:
    prompt, step, typed = participant_plan(i)
    return (typed, 0) if typed is not None else (prompt, step - 1)


def test_room_sessions_run_without_errors(room_sessions):
    for i, (s, results) in enumerate(room_sessions):
        for r in results:
            assert r.error is None, f"participant {i}: {r.error}"
        assert view(results[-1]) == expected_view(i)


def test_room_is_sticky_and_uses_every_backend(room, room_sessions):
    ports = {f"127.0.0.1:{p}" for p in room.backend_ports}
    landed = set()
    for i, (s, _) in enumerate(room_sessions):
        what = [w for w, _ in s.backends_seen]
        values = {v for _, v in s.backends_seen}
        assert "websocket 101" in what, f"participant {i}: no X-Room-Backend on the websocket 101: {s.backends_seen}"
        assert any(w.startswith("GET") for w in what), s.backends_seen
        assert len(values) == 1, f"participant {i} moved between backends: {s.backends_seen}"
        assert values <= ports, (values, ports)
        assert "rwkv_room" in s.cookies
        landed |= values
    assert landed == ports, f"all {len(room_sessions)} sessions landed on {landed}"


def test_room_gzips_the_scripts(room, loop):
    async def go():
        s = StreamlitSession(room.url)
        return await s.get("/app/static/plotly-cartesian.min.js", {"Accept-Encoding": "gzip"})

    r = loop.run_until_complete(go())
    assert r.status == 200
    assert r.header("content-encoding") == "gzip"
    assert len(r.body) == (REPO / "static" / "plotly-cartesian.min.js").stat().st_size
    assert r.wire_bytes < len(r.body) / 2


def test_killed_backend_every_session_comes_back_to_its_view(room, room_sessions, loop):
    """Kill backend 0: each session on it reconnects as the frontend does (to the other process, or to
    the restarted one) and the rerun its next interaction sends shows the same prompt and step."""
    dead = f"127.0.0.1:{room.backend_ports[0]}"
    on_dead = [i for i, (s, _) in enumerate(room_sessions) if s.backend == dead]
    others = [i for i in range(len(room_sessions)) if i not in on_dead]
    assert on_dead, "no session on backend 0 (see the stickiness test)"

    async def back(i: int, t_kill: float):
        s = room_sessions[i][0]
        await asyncio.wait_for(s.wait_closed(), FAILOVER_WAIT_S)
        r = await s.reconnect(deadline_s=FAILOVER_WAIT_S)
        if r is None:  # nothing was in flight: the next interaction reruns
            r = await s.rerun()
        return r, time.monotonic() - t_kill

    async def go():
        t_kill = time.monotonic()
        room.kill_backend(0)
        return await asyncio.gather(*(back(i, t_kill) for i in on_dead), return_exceptions=True)

    outcomes = loop.run_until_complete(go())
    for i, out in zip(on_dead, outcomes):
        assert not isinstance(out, BaseException), f"participant {i} lost: {out!r}"
        r, seconds = out
        assert r.error is None, f"participant {i}: {r.error}"
        assert view(r) == expected_view(i), f"participant {i} came back to another view"
        print(f"participant {i} back on its view {seconds:.2f} s after the kill")
        assert room_sessions[i][0].connects == 2
    for i in others:
        assert not room_sessions[i][0].closed.is_set(), f"participant {i} on the live backend was cut"
