"""Slides out of a talk: one 1920×1080 screenshot per view, in presenter mode, and one PDF of them all.

    python -m app.slides --out slides/                      # the built-in talk, on a server of its own
    python -m app.slides --talk workshop --out slides/      # the 45-minute workshop (a ready talk's name)
    python -m app.slides --talk my-talk.toml --out slides/  # your talk file
    python -m app.slides --url http://127.0.0.1:8501 --out slides/   # an app that is already running

Without `--url` it starts `python -m app.serve` on a free loopback port, waits for its health check and
stops it at the end. Each view opens in headless Chromium (Debian's /usr/bin/chromium, or the path in
RWKV_CHROMIUM) exactly as the projector shows it (`present=1`), waits until the page has finished its run
and its charts are drawn, and is saved as `DIR/01-<title>.png`, `DIR/02-…`; `img2pdf` then joins them,
without re-encoding, into `DIR/talk.pdf`, one page per view.

A poll view becomes a question card: the question and its options in big type, drawn from
app/room/questions.py, since a live room (its code, its votes) only exists during the talk. So the PDF
still has one page per view, in the talk's order.

It prints one line per slide and ends with `SLIDES … pdf=PATH pages=N`.
"""
from __future__ import annotations

import argparse
import html
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path

from .talk import TalkError, View, load_talk

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ENV = "RWKV_CHROMIUM"
SIZE = {"width": 1920, "height": 1080}
APP_READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
HEALTH_TIMEOUT_S = 120
PAGE_TIMEOUT_MS = 90_000  # a view's first visit computes (and caches) its traces
CHART_TIMEOUT_MS = 30_000


def slug(title: str, limit: int = 48) -> str:
    """A file-name-safe form of a title.

    >>> slug("Token shift: each word hears the one before!")
    'token-shift-each-word-hears-the-one-before'
    >>> slug("¿Qué?"), slug("🙋")
    ('que', 'view')
    """
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return words[:limit].rstrip("-") or "view"


def slide_name(index: int, view: View) -> str:
    """The PNG's file name for the index-th view (0-based).

    >>> slide_name(0, View("Hello!", "start"))
    '01-hello.png'
    """
    return f"{index + 1:02d}-{slug(view.title)}.png"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.slides", description=__doc__.split("\n\n")[0])
    parser.add_argument("--talk", help="a talk file, or a ready talk's name: meetup (the default, "
                        "app/present/talk.toml) or workshop (app/present/workshop.toml)")
    parser.add_argument("--url", help="the address of a running app (default: start one here)")
    parser.add_argument("--out", required=True, help="folder for the PNGs and talk.pdf")
    return parser.parse_args(argv)


def poll_card_html(view: View) -> str:
    """A question card for a poll view (every text escaped). Falls back to the poll id alone when the
    question bank is not there.

    >>> "&lt;b&gt;" in poll_card_html(View("<b>", "room", poll="no-such-question"))
    True
    """
    prompt, options = f"Question: {view.poll}", ()
    try:
        from app.room.questions import question

        q = question(view.poll)
        prompt, options = q.prompt, tuple(getattr(q, "options", ()) or ())
    except (ImportError, KeyError):
        pass
    items = "".join(f"<li>{html.escape(str(o))}</li>" for o in options)
    title = re.sub(r"^\s*(live\s+)?poll\s*[:·-]\s*", "", view.title, flags=re.I) or view.title  # "Live poll · …" says it
    title = title[:1].upper() + title[1:]
    return _CARD.replace("__TITLE__", html.escape(title)).replace("__PROMPT__", html.escape(prompt)) \
        .replace("__OPTIONS__", f"<ol>{items}</ol>" if items else "")


_CARD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Poll</title><style>
body { margin: 0; width: 1920px; height: 1080px; display: flex; flex-direction: column; justify-content: center;
       padding: 0 160px; box-sizing: border-box; background: #fff; color: #262730;
       font-family: "Source Sans Pro", "Source Sans 3", system-ui, "Segoe UI", Helvetica, Arial, sans-serif; }
.kicker { font-size: 44px; color: #0072B2; font-weight: 700; margin: 0 0 24px; }
h1 { font-size: 76px; line-height: 1.15; margin: 0 0 40px; }
ol { font-size: 48px; line-height: 1.5; margin: 0 0 40px; padding-left: 1.4em; }
.foot { font-size: 36px; color: #4a4c57; margin: 0; }
</style></head><body>
<p class="kicker">🙋 Live poll · __TITLE__</p>
<h1>__PROMPT__</h1>
__OPTIONS__
<p class="foot">Vote on your phone: scan the room's code or open its join link.</p>
</body></html>"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/_stcore/health", timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class AppServer:
    """`python -m app.serve` on a free loopback port, for the length of a `with` block."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="rwkv-slides-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "AppServer":
        cmd = [sys.executable, "-m", "app.serve", "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app server stopped (code {self.proc.returncode}); its log: {self.log}")
            if healthy(self.base_url):
                return self
            time.sleep(0.2)
        timeout = RuntimeError(f"the app server was not up after {HEALTH_TIMEOUT_S} s; its log: {self.log}")
        self.__exit__(RuntimeError, timeout, None)  # an error: the log is kept for the reader
        raise timeout

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if not exc or exc[0] is None:
            self.log.unlink(missing_ok=True)


def wait_until_drawn(page) -> list[str]:
    """Wait for the app's run to end and every chart to be drawn; returns what did not finish in time."""
    from playwright.sync_api import Error as PlaywrightError

    late = []
    try:
        page.wait_for_selector(APP_READY, timeout=PAGE_TIMEOUT_MS)
        page.wait_for_timeout(300)  # a rerun queued by the first run (the URL written back) flips the state again
        page.wait_for_selector(APP_READY, timeout=PAGE_TIMEOUT_MS)
    except PlaywrightError:
        late.append("the page was still running")
    try:  # a measurement in progress (the cost race) shows its bar until its numbers are in
        page.wait_for_function("() => !document.querySelector('[data-testid=stProgress]')", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_selector(APP_READY, timeout=PAGE_TIMEOUT_MS)
    except PlaywrightError:
        late.append("a measurement")
    for frame in page.frames[1:]:  # the step-throughs: Plotly draws inside each frame
        try:
            frame.wait_for_load_state("load", timeout=CHART_TIMEOUT_MS)  # plotly.js loads before the charts exist
            if frame.locator('[data-testid="stepper-figure"]').count():
                frame.wait_for_function(
                    "() => Array.from(document.querySelectorAll('[data-testid=stepper-figure]'))"
                    ".every(d => d.classList.contains('js-plotly-plot') && d.querySelector('.main-svg'))",
                    timeout=CHART_TIMEOUT_MS)
        except PlaywrightError:
            late.append("a step-through chart")
    try:
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]'))"
            ".every(c => c.querySelector('.js-plotly-plot .main-svg'))", timeout=CHART_TIMEOUT_MS)
    except PlaywrightError:
        late.append("a chart")
    page.evaluate("() => document.fonts ? document.fonts.ready.then(() => true) : true")
    page.wait_for_timeout(900)  # presenter links scroll to the step-through 300 ms after it draws
    return late


def chromium_path() -> str:
    path = os.environ.get(CHROMIUM_ENV) or CHROMIUM
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise RuntimeError(f"Chromium was not found at {path}. Install it (Debian: apt-get install chromium) or "
                           f"set {CHROMIUM_ENV} to its path.")
    return path


def make_slides(views, base_url: str, out: Path, say=None) -> list[Path]:
    """Screenshot every view (present=1) into `out`; returns the PNG paths in talk order."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    say = say or (lambda line: print(line, flush=True))
    base_url = base_url.rstrip("/")
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            context = browser.new_context(viewport=SIZE, device_scale_factor=1, service_workers="block")
            for i, view in enumerate(views):
                started = time.monotonic()
                page = context.new_page()
                path = out / slide_name(i, view)
                if view.poll:
                    page.set_content(poll_card_html(view))
                    where, late = f"poll {view.poll} (a question card)", []
                else:
                    where = view.url(present=True)
                    try:
                        page.goto(base_url + where, timeout=PAGE_TIMEOUT_MS)
                        late = wait_until_drawn(page)
                    except PlaywrightError as exc:
                        late = [f"the page did not open ({str(exc).splitlines()[0]})"]
                page.screenshot(path=str(path))
                page.close()
                shots.append(path)
                warn = f"  (not finished in time: {', '.join(late)})" if late else ""
                say(f"SLIDE {i + 1:02d}/{len(views):02d} {path.name} {where} {time.monotonic() - started:.1f}s{warn}")
        finally:
            browser.close()
    return shots


def write_pdf(pngs: list[Path], pdf: Path) -> int:
    """Join the PNGs into one PDF, one page each (lossless: img2pdf embeds them as they are)."""
    import img2pdf

    pdf.write_bytes(img2pdf.convert([str(p) for p in pngs]))
    return len(pngs)


def quiet_streamlit_logs() -> None:
    """A question card builds its question (app.loaders) outside a Streamlit run: that is expected here."""
    import logging

    import streamlit.runtime.caching  # noqa: F401  (Streamlit sets its loggers' levels on import: import first)
    import streamlit.runtime.scriptrunner_utils.script_run_context  # noqa: F401

    for name in ("streamlit.runtime.scriptrunner_utils.script_run_context", "streamlit.runtime.caching.cache_data_api",
                 "streamlit.runtime.caching.cache_resource_api"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_streamlit_logs()
    started = time.monotonic()
    try:
        talk = load_talk(args.talk)
    except TalkError as exc:
        print(f"SLIDES ERROR {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        chromium_path()
        if args.url:
            if not healthy(args.url.rstrip("/")):
                raise RuntimeError(f"no app answers at {args.url} (its /_stcore/health did not say ok).")
            shots = make_slides(talk.views, args.url, out)
        else:
            with AppServer() as server:
                print(f"SERVER {server.base_url}", flush=True)
                shots = make_slides(talk.views, server.base_url, out)
        pdf = out / "talk.pdf"
        pages = write_pdf(shots, pdf)
    except Exception as exc:  # no server, no browser, a full disk: one plain line, not a traceback
        print(f"SLIDES ERROR {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 1
    print(f"SLIDES {len(shots)} views in {time.monotonic() - started:.0f}s pdf={pdf} pages={pages}")
    return 0
