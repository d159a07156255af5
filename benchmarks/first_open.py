"""How long a first-time visitor waits for a page: open by link in a fresh browser, no cache.

    python -m benchmarks.first_open [--opens 10] [--every 4] [--pages cost-race,glossary] [--settle 5]

Starts the README's `python -m app.serve` on a free loopback port (from process start, as a presenter
would), then every `--every` seconds opens each page in a new Chromium context (empty cache, like a
participant's phone opening the link for the first time) and times, from navigation start:
- `html`: the page's HTML received; `js`: Streamlit's scripts loaded (the last script resource ends);
- `painted`: what the page is for is on screen: on Cost race the measured ms per token (its metrics), on
  other pages the page title. Timed inside the page, from navigation start to the first animation frame
  after the element entered the page (the browser paints that frame right after);
- `seen`: the same as the driver saw it (Playwright's visibility check, which waits behind whatever long
  task the page runs next, e.g. the charts' code compiling in their frames, so it can read later);
and, `--settle` seconds after that paint, the browser's long tasks so far (over 50 ms on the page's thread,
the step-through frames' included): the longest one, the longest inside a frame (the charts' code and
drawing), and the blocking time (each task's part over 50 ms, summed: how long clicks and keys waited).
The first visit includes whatever the server does on a page's first run. Prints one line per open,
then p50 / p95 / max per page and a last `RESULT` line. Target for Cost race (issue 7): `painted` <= 3 s.
Browser and server share this machine's cores; nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import time

from benchmarks.ui_latency import percentile
from tests.browser.conftest import CHROMIUM, StreamlitServer, launch_chromium

TIMEOUT_MS = 60_000
TARGET_S = 3.0
# What each page is for, on screen (a CSS selector and a text it must hold).
SHOWN = {
    "cost-race": ('[data-testid="stMetricValue"]', "ms per token"),
}
TITLE = ("h1", "")

# Installed before the page's own scripts: when the element first enters the page, note the next animation frame.
PAINT_PROBE = """([selector, text]) => {
  new MutationObserver((records, observer) => {
    for (const el of document.querySelectorAll(selector)) {
      if (!text || el.textContent.includes(text)) {
        observer.disconnect();
        requestAnimationFrame(() => { window.__painted = performance.now(); });
        return;
      }
    }
  }).observe(document, {subtree: true, childList: true, characterData: true});
}"""

# Long tasks (the Long Tasks API), buffered from navigation start; frames of the same origin report to the page.
LONG_TASKS = """() => {
  window.__longTasks = [];
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.__longTasks.push([e.duration, e.name]);
  }).observe({type: "longtask", buffered: true});
}"""

TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const scripts = performance.getEntriesByType("resource").filter(r => r.initiatorType === "script");
  return {html: nav.responseEnd / 1000, js: Math.max(0, ...scripts.map(r => r.responseEnd)) / 1000,
          painted: window.__painted / 1000};
}"""


def open_once(browser, url: str, selector: str, text: str, settle: float = 0.0) -> dict:
    """One open in a new context: seconds to HTML, to scripts loaded, to the page's point painted and seen;
    with `settle`, the long tasks `settle` seconds after the paint (ms)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.add_init_script(f"({PAINT_PROBE})({[selector, text]!r})")
        page.add_init_script(f"({LONG_TASKS})()")
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.locator(selector, has_text=text).first.wait_for(state="visible", timeout=TIMEOUT_MS)
        seen = time.perf_counter() - t0
        page.wait_for_function("() => window.__painted !== undefined", timeout=TIMEOUT_MS)
        out = {"seen": seen, **page.evaluate(TIMINGS)}
        if settle > 0:
            page.wait_for_timeout(1000 * settle)
            tasks = page.evaluate("() => window.__longTasks")
            out["longest_ms"] = max((d for d, _ in tasks), default=0.0)
            out["frame_longest_ms"] = max((d for d, name in tasks if name != "self"), default=0.0)
            out["blocking_ms"] = sum(d - 50 for d, _ in tasks)
        return out
    finally:
        context.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.first_open", description=__doc__.split("\n\n")[0])
    ap.add_argument("--opens", type=int, default=10, help="opens per page (default 10)")
    ap.add_argument("--every", type=float, default=4.0, help="seconds between rounds of opens (default 4)")
    ap.add_argument("--pages", default="cost-race,glossary",
                    help="comma-separated url paths (default cost-race,glossary)")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds to wait after the paint, then report long tasks (default 0: not measured)")
    ap.add_argument("--chromium", default=CHROMIUM)
    args = ap.parse_args(argv)
    pages = [p.strip("/ ") for p in args.pages.split(",") if p.strip("/ ")]
    from playwright.sync_api import sync_playwright

    server = StreamlitServer().start()
    results: dict[str, list[dict]] = {p: [] for p in pages}
    try:
        healthy = server.wait_healthy()
        print(f"server healthy {healthy:.1f} s after start", flush=True)
        with sync_playwright() as pw:
            browser = launch_chromium(pw, args.chromium)
            for i in range(args.opens):
                t_round = time.perf_counter()
                for path in pages:
                    selector, text = SHOWN.get(path, TITLE)
                    r = open_once(browser, f"{server.base_url}/{path}", selector, text, args.settle)
                    results[path].append(r)
                    tasks = (f"  long tasks: longest {r['longest_ms']:.0f} ms, in a frame {r['frame_longest_ms']:.0f} ms, "
                             f"blocking {r['blocking_ms']:.0f} ms" if args.settle > 0 else "")
                    print(f"open {i + 1:2d} /{path:12s} html {r['html']:.2f} s  js {r['js']:.2f} s  "
                          f"painted {r['painted']:.2f} s  seen {r['seen']:.2f} s{tasks}", flush=True)
                time.sleep(max(0.0, args.every - (time.perf_counter() - t_round)))
            browser.close()
    finally:
        server.stop()
    out = {}
    for path, rs in results.items():
        key = path.replace("-", "_")
        for what in ("painted", "seen"):
            values = [r[what] for r in rs]
            out[f"{key}_{what}_p50_s"] = round(percentile(values, 50), 2)
            out[f"{key}_{what}_p95_s"] = round(percentile(values, 95), 2)
            out[f"{key}_{what}_max_s"] = round(max(values), 2)
        out[f"{key}_first_painted_s"] = round(rs[0]["painted"], 2)
        if args.settle > 0:
            for what in ("longest_ms", "frame_longest_ms", "blocking_ms"):
                out[f"{key}_{what.replace('_ms', '')}_p50_ms"] = round(percentile([r[what] for r in rs], 50))
        print(f"/{path}: painted p50 {out[f'{key}_painted_p50_s']} s, p95 {out[f'{key}_painted_p95_s']} s, "
              f"max {out[f'{key}_painted_max_s']} s (first visit {out[f'{key}_first_painted_s']} s); "
              f"seen by the driver p50 {out[f'{key}_seen_p50_s']} s, p95 {out[f'{key}_seen_p95_s']} s")
    if "cost-race" in results:
        print(f"target: Cost race's measurement painted <= {TARGET_S} s after opening, on every open")
    print("RESULT " + " ".join(f"{k}={v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
