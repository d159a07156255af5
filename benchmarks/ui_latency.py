"""How fast the app feels in a browser: first load, one step, a room opening it at once.

Run from the repo root (needs requirements-dev.txt and Chromium at /usr/bin/chromium):

    python -m benchmarks.ui_latency [--clicks 50] [--sessions 20]

It starts its own `streamlit run streamlit_app.py` on a free loopback port and measures
1. first load: server health "ok" -> the read-along stepper's first chart drawn, in a fresh browser
   session (also "cold": from process start, and "warm": a second session once caches are filled);
2. step latency: `--clicks` clicks on Next, each timed inside the stepper frame with
   performance.now() from the click event to the next animation frame after every chart on the
   page has finished its `plotly_animated` redraw (no server round trip is involved by design);
3. concurrent load: `--sessions` headless browser contexts open read-along at the same moment; the
   time until every one of them shows its first chart (browsers and server share this machine's
   cores, so on a small box this mostly measures the client side).

Targets (printed, never asserted): step p95 <= 150 ms, first load <= 3 s. The last line is
`RESULT step_p50_ms=.. step_p95_ms=.. first_load_s=.. ...` for scripts.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import time
import urllib.parse

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, StreamlitServer, launch_chromium

PROMPT = ("Once upon a time, there was a little girl named Lily. She loved to play in the park with her dog. "
          "One day, the dog found a big red ball under a tree. Lily and the dog ran and ran until the sun went down. "
          "Then they went home, ate soup with mom, and fell asleep, happy and tired after a long day in the sun.")
TARGET_STEP_P95_MS = 150
TARGET_FIRST_LOAD_S = 3.0
TIMEOUT_MS = 120_000

FIRST_CHART_DRAWN = """() => { const f = document.querySelector("iframe[srcdoc]");
  const d = f && f.contentDocument;
  const gd = d && d.querySelector('[data-testid="stepper-figure"].js-plotly-plot');
  return !!(gd && gd.__ready && d.body.dataset.step !== undefined); }"""

# The server's part is done: the script ran to the end and the stepper's iframe is in the page.
SCRIPT_DONE = """() => !!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"] iframe[srcdoc]')"""

# Installed in the stepper frame: one latency sample per Next click (click -> all charts redrawn -> next frame).
STEP_PROBE = """() => {
  window.__lat = [];
  const figs = Array.from(document.querySelectorAll('[data-testid="stepper-figure"]'));
  let t0 = null, pending = 0;
  document.addEventListener("click", (e) => {
    if (e.target.closest('[data-testid="stepper-next"]')) { t0 = performance.now(); pending = figs.length; }
  }, true);
  figs.forEach((gd) => gd.on("plotly_animated", () => {
    if (t0 === null) return;
    if (--pending === 0) { const t = t0; t0 = null; requestAnimationFrame(() => window.__lat.push(performance.now() - t)); }
  }));
  return figs.length;
}"""


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def read_along_url(base: str, prompt: str | None = None) -> str:
    return base + "/read-along" + (("?prompt=" + urllib.parse.quote(prompt)) if prompt else "")


def time_load(browser, target: str) -> tuple[float, object]:
    """Seconds from navigation start to the first stepper chart drawn; returns (seconds, page)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    t = time.perf_counter()
    page.goto(target, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_function(FIRST_CHART_DRAWN, timeout=TIMEOUT_MS, polling=20)
    return time.perf_counter() - t, page


def step_latencies(page, clicks: int) -> tuple[list[float], list[float]]:
    """(in-frame ms per click, round trip ms as the driver saw it) over `clicks` Next clicks."""
    frame = page.locator("iframe[srcdoc]").first.element_handle().content_frame()
    frame.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=stepper-figure]'))"
                            ".every(d => d.__ready)", timeout=TIMEOUT_MS)
    n_steps = frame.evaluate("() => document.querySelectorAll('[data-testid=stepper-chips] .chip').length")
    frame.evaluate(STEP_PROBE)
    nxt, reset = frame.get_by_test_id("stepper-next"), frame.get_by_test_id("stepper-reset")
    driver_ms = []
    for i in range(clicks):
        step = frame.evaluate("() => Number(document.body.dataset.step)")
        if step >= n_steps - 1:  # wrap around (not timed)
            reset.click()
            frame.wait_for_function("() => document.body.dataset.step === '0'")
            page.wait_for_timeout(100)
        t = time.perf_counter()
        nxt.click()
        frame.wait_for_function("(n) => window.__lat.length >= n", arg=i + 1, timeout=10_000, polling="raf")
        driver_ms.append(1000 * (time.perf_counter() - t))
        page.wait_for_timeout(30)
    return frame.evaluate("() => window.__lat"), driver_ms


async def concurrent_load(base: str, sessions: int, executable: str) -> list[tuple[float, float]]:
    """Open read-along in `sessions` fresh contexts at once; per session, seconds until its script
    finished (stepper iframe in the page) and until its first chart was drawn."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        contexts = [await browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(sessions)]
        pages = [await c.new_page() for c in contexts]
        t0 = time.perf_counter()

        async def one(page):
            await page.goto(read_along_url(base), wait_until="commit", timeout=TIMEOUT_MS)
            await page.wait_for_function(SCRIPT_DONE, timeout=TIMEOUT_MS, polling=100)
            t_script = time.perf_counter() - t0
            await page.wait_for_function(FIRST_CHART_DRAWN, timeout=TIMEOUT_MS, polling=100)
            return t_script, time.perf_counter() - t0

        try:
            return list(await asyncio.gather(*(one(pg) for pg in pages)))
        finally:
            await browser.close()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clicks", type=int, default=50, help="Next clicks to time (default 50)")
    ap.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions (default 20, 0 = skip)")
    ap.add_argument("--entry", default="streamlit_app.py", help="entry script (default streamlit_app.py)")
    ap.add_argument("--chromium", default=CHROMIUM, help=f"browser binary (default {CHROMIUM})")
    args = ap.parse_args(argv)
    sessions = max(0, min(args.sessions, 50))  # bounded: this is a loopback check, not a load generator

    from playwright.sync_api import sync_playwright

    server = StreamlitServer(entry=args.entry)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p, args.chromium)  # launched first: not part of the load times
            server.start()
            health_s = server.wait_healthy()
            t_health = time.perf_counter()
            _, page = time_load(browser, read_along_url(server.base_url))
            cold_s = time.perf_counter() - server.started_at
            first_s = time.perf_counter() - t_health
            page.context.close()
            warm_s, page = time_load(browser, read_along_url(server.base_url, PROMPT))
            warm_default_s, page2 = time_load(browser, read_along_url(server.base_url))
            page2.context.close()
            in_frame, driver = step_latencies(page, args.clicks)
            n_tokens = page.locator("iframe[srcdoc]").first.element_handle().content_frame().evaluate(
                "() => document.querySelectorAll('[data-testid=stepper-chips] .chip').length")
            browser.close()
        # the async API needs its own event loop, outside the sync one
        together = asyncio.run(concurrent_load(server.base_url, sessions, args.chromium)) if sessions else []
    finally:
        server.stop()
        if server.proc and server.proc.returncode in (0, -15):
            server.log_path.unlink(missing_ok=True)
        else:
            print(f"server log kept: {server.log_path}")

    p50, p95 = percentile(in_frame, 50), percentile(in_frame, 95)
    print(f"server start -> health ok:              {health_s:6.2f} s")
    print(f"first load (health ok -> first chart):  {first_s:6.2f} s   target <= {TARGET_FIRST_LOAD_S:.0f} s "
          f"[{'ok' if first_s <= TARGET_FIRST_LOAD_S else 'MISSED'}]")
    print(f"cold (process start -> first chart):    {cold_s:6.2f} s")
    print(f"new session, new {n_tokens}-token prompt:     {warm_s:6.2f} s")
    print(f"new session, cached default prompt:     {warm_default_s:6.2f} s")
    print(f"step, click -> all charts redrawn ({len(in_frame)} clicks, {n_tokens} tokens, 3 charts): "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(in_frame):.1f} ms   target p95 <= {TARGET_STEP_P95_MS} ms "
          f"[{'ok' if p95 <= TARGET_STEP_P95_MS else 'MISSED'}]")
    print(f"step as the test driver sees it (incl. Playwright round trips): p50 {percentile(driver, 50):.1f} ms, "
          f"p95 {percentile(driver, 95):.1f} ms")
    conc = ""
    if together:
        script, drawn = [t[0] for t in together], [t[1] for t in together]
        print(f"{sessions} sessions opening read-along at once: all rendered after {max(drawn):.2f} s "
              f"(median session {percentile(drawn, 50):.2f} s); scripts finished: median {percentile(script, 50):.2f} s, "
              f"last {max(script):.2f} s. The browsers share this machine's cores with the server: on a small box "
              "the gap between the two is mostly client-side work that a real room spreads over its own devices.")
        conc = f" concurrent{sessions}_all_s={max(drawn):.2f} concurrent{sessions}_scripts_s={max(script):.2f}"
    print(f"RESULT step_p50_ms={p50:.1f} step_p95_ms={p95:.1f} first_load_s={first_s:.2f} cold_s={cold_s:.2f} "
          f"warm_load_s={warm_default_s:.2f}{conc}")


if __name__ == "__main__":
    main()
