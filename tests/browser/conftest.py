"""Browser (end-to-end) fixtures: one Streamlit server and one headless Chromium for the whole session.

In the style of Streamlit's own e2e suite: the app runs as a real `streamlit run` subprocess on a
free loopback port; tests wait for `/_stcore/health` and then for the app's "notRunning" state.

- `app_server`: base URL of the running app (session scope), e.g. "http://127.0.0.1:53117".
- `browser`: a Playwright Chromium (Debian's /usr/bin/chromium; no browser download happens).
- `page`: a fresh 1280x720 context + page per test, with every dialog recorded (see `dialogs`).
- `wait_for_app(page)`: wait until the script finished its run (no spinner, no pending rerun).
- `stepper_frame(page)`: the first stepper iframe as a Playwright `Frame`, its first figure drawn.
- `wait_for_still_charts(page, n)`: the charts drawn with ui.chart (still-chart frames), all drawn.

Chromium missing: with CI=true the tests FAIL (so CI can never pass by silently skipping them);
anywhere else they skip with the reason. `RWKV_E2E_ENTRY` picks another entry script (default
streamlit_app.py), `RWKV_CHROMIUM` another browser binary.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENTRY = os.environ.get("RWKV_E2E_ENTRY", "streamlit_app.py")
CHROMIUM = os.environ.get("RWKV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
HEALTH_TIMEOUT_S = 90
APP_TIMEOUT_MS = 60_000  # first run of a page computes (and caches) its traces on a busy 2-core box
APP_READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PROJECTOR = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}

# Runs in every frame (main page and the stepper's srcdoc iframe) before any page script:
# alert/confirm/prompt only record their call, so a payload that manages to run is seen even when
# the iframe's sandbox would block real modals. `window.__dialogHook` proves the hook ran there.
DIALOG_HOOK = """
(() => {
  window.__dialogHook = true;
  window.__dialogCalls = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    const record = function (...args) { window.__dialogCalls.push(name + ":" + args.map(String).join(",")); return name === "confirm" ? false : null; };
    try { Object.defineProperty(window, name, {value: record, configurable: false, writable: false}); }
    catch (e) { window[name] = record; }
  }
})();
"""


def chromium_or_skip() -> str:
    """Path of the Chromium binary; fail (CI=true) or skip (elsewhere) when it is missing."""
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    msg = (f"Chromium not found at {CHROMIUM}: the browser tests need it "
           "(Debian: apt-get install -y chromium; .ci/run does this).")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " CI=true, so this is a failure, not a skip.", pytrace=False)
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV",
                                                        "PYTHONPATH", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                        "RWKV_EXPLAINER_DATA")}
    env.setdefault("PATH", os.defpath)
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join(lines[-n:]) or "(server log empty)"


def health_ok(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().decode().strip() == "ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False


class StreamlitServer:
    """The README's `python -m app.serve` (or `python -m streamlit run <entry>` for another entry script)
    on a free loopback port, log in a temp file."""

    def __init__(self, entry: str = ENTRY, port: int | None = None):
        self.entry = entry
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="streamlit-e2e-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def launcher(self) -> list[str]:
        """What follows `python` on the command line, before the server options."""
        return ["-m", "app.serve"] if self.entry == "streamlit_app.py" else ["-m", "streamlit", "run", self.entry]

    def start(self) -> "StreamlitServer":
        cmd = [sys.executable, *self.launcher(), "--server.port", str(self.port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self._log = open(self.log_path, "wb")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=server_env(), stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def wait_healthy(self, timeout_s: float = HEALTH_TIMEOUT_S) -> float:
        """Seconds from process start until /_stcore/health said "ok"; raises RuntimeError otherwise."""
        deadline = self.started_at + timeout_s
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode} before it was healthy.\n"
                                   f"--- server log ({self.log_path}) ---\n{tail(self.log_path)}")
            if health_ok(self.base_url):
                return time.perf_counter() - self.started_at
            time.sleep(0.1)
        raise RuntimeError(f"{self.base_url}/_stcore/health was not 'ok' after {timeout_s:.0f} s.\n"
                           f"--- server log ({self.log_path}) ---\n{tail(self.log_path)}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()


def launch_chromium(playwright, executable: str = CHROMIUM):
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


def wait_for_app(page, timeout_ms: int = APP_TIMEOUT_MS) -> None:
    """Wait until the Streamlit script has finished its run (the app's notRunning state)."""
    page.wait_for_selector(APP_READY, timeout=timeout_ms)
    # A rerun queued right after the first (e.g. query params written back) flips the state again;
    # give the frontend a beat and wait once more so the page is really settled.
    page.wait_for_timeout(300)
    page.wait_for_selector(APP_READY, timeout=timeout_ms)


# JS in the page: every chart drawn by ui.chart (a still-chart frame: body.still), as Plotly's graph divs.
# The frames are srcdoc, same origin, so the page can reach into them.
STILL_CHART_DIVS = """Array.from(document.querySelectorAll("iframe")).flatMap(f => {
  const d = f.contentDocument;
  return d && d.body && d.body.classList.contains("still")
    ? Array.from(d.querySelectorAll('[data-testid="stepper-figure"]')) : []; })"""
STILL_CHARTS_DRAWN = "(n) => { const g = " + STILL_CHART_DIVS + "; return g.length >= n && g.every(d => d.__ready); }"


def wait_for_still_charts(page, at_least: int, timeout_ms: int = APP_TIMEOUT_MS) -> int:
    """Wait until at least `at_least` ui.chart charts are on the page and every one is drawn; their number."""
    page.wait_for_function(STILL_CHARTS_DRAWN, arg=at_least, timeout=timeout_ms)
    return page.evaluate("() => (" + STILL_CHART_DIVS + ").length")


def still_frames(page, at_least_charts: int = 1, timeout_ms: int = APP_TIMEOUT_MS) -> list:
    """Every still-chart frame (ui.chart) as a `Frame`, once at least `at_least_charts` charts are drawn."""
    wait_for_still_charts(page, at_least_charts, timeout_ms)
    frames = [f for f in page.frames if f != page.main_frame
              and f.evaluate("() => !!document.body && document.body.classList.contains('still')")]
    assert frames, f"no still-chart frame on {page.url}"
    return frames


def stepper_frame(page, index: int = 0, timeout_ms: int = APP_TIMEOUT_MS):
    """The index-th stepper iframe (charts with steps, not a still chart) as a `Frame`, its first figure drawn."""
    page.wait_for_function(
        """(i) => Array.from(document.querySelectorAll("iframe")).filter(f => f.contentDocument && f.contentDocument.body
              && f.contentDocument.querySelector('[data-testid="stepper-figure"]')
              && !f.contentDocument.body.classList.contains("still")).length > i""",
        arg=index, timeout=timeout_ms)
    iframes = page.locator("iframe")
    seen = -1
    for i in range(iframes.count()):
        frame = iframes.nth(i).element_handle().content_frame()
        if frame is None or frame.evaluate("() => document.body.classList.contains('still')"):
            continue
        seen += 1
        if seen == index:
            frame.locator('[data-testid="stepper-figure"].js-plotly-plot').first.wait_for(state="attached",
                                                                                          timeout=timeout_ms)
            frame.wait_for_function("() => document.body.dataset.step !== undefined", timeout=timeout_ms)
            return frame
    raise AssertionError(f"no stepper number {index + 1} on {page.url}")


def dialog_calls(page) -> dict[str, list[str]]:
    """Recorded alert/confirm/prompt calls per frame (frame url -> calls); hook presence is checked too."""
    out = {}
    for i, frame in enumerate(page.frames):
        try:
            hooked, calls = frame.evaluate("() => [window.__dialogHook === true, window.__dialogCalls || []]")
        except Exception as exc:  # a frame that went away mid-check
            out[f"frame{i}:{frame.url}"] = [f"(could not read: {exc})"]
            continue
        out[f"frame{i}:{frame.url}"] = calls if hooked else ["(dialog hook missing in this frame)"] + calls
    return out


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return chromium_or_skip()


@pytest.fixture(scope="session")
def app_server(chromium_path):
    """Base URL of one Streamlit server shared by all browser tests."""
    server = StreamlitServer().start()
    problem = None
    try:
        server.wait_healthy()
    except RuntimeError as exc:
        problem = str(exc)
    if problem:
        server.stop()
        pytest.fail(problem, pytrace=False)
    yield server.base_url
    server.stop()
    if server.proc and server.proc.returncode not in (0, -15, None):
        print(f"streamlit exited with {server.proc.returncode}; log tail:\n{tail(server.log_path)}")
    else:
        server.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def playwright_instance(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance, chromium_path):
    b = launch_chromium(playwright_instance, chromium_path)
    yield b
    b.close()


def new_page(browser, viewport: dict = PROJECTOR):
    """A fresh context + page with the dialog hook; `page.dialogs` lists dialogs Playwright saw,
    `page.page_errors` uncaught JS errors."""
    context = browser.new_context(viewport=viewport, service_workers="block")
    context.add_init_script(DIALOG_HOOK)
    page = context.new_page()
    page.set_default_timeout(APP_TIMEOUT_MS)
    page.dialogs = []
    page.page_errors = []
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))

    def on_dialog(dialog):
        page.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


@pytest.fixture
def page(browser):
    p = new_page(browser)
    yield p
    p.context.close()


@pytest.fixture
def phone_page(browser):
    p = new_page(browser, PHONE)
    yield p
    p.context.close()
