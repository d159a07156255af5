"""One Streamlit 1.67 browser session over the wire, without a browser: for load benchmarks and tests.

It speaks Streamlit's own protobuf messages (`ForwardMsg` in, `BackMsg` out) over
`ws://HOST/_stcore/stream` the way the 1.67 frontend (`static/js/index.*.js`) does, checked frame by
frame against Chromium:

- **Handshake.** GET the page HTML; probe `<page>/_stcore/health` + `<page>/_stcore/host-config` (404),
  then 100 ms later the same two at the root (`health` sets the `_streamlit_xsrf` cookie); open the
  websocket with subprotocols `["streamlit", <xsrf cookie>]` (plus the last session id on a reconnect)
  and an `Origin` header. Every cookie is kept and sent back (e.g. a proxy's routing cookie), and the
  proxy's `X-Room-Backend` header is recorded for each response, the websocket 101 included.
- **Page open.** `rerun_script` = `ClientState(query_string, page_name=<url path>, page_script_hash="",
  context_info)`, with no widget states. Replies: `new_session`, `session_status_changed`,
  `page_config_changed`, `navigation`, deltas, `page_info_changed` (the address bar), `script_finished`.
- **Widget change.** The frontend sends *every* widget value it holds (the one changed and all the
  others as last drawn) with the current query string and the current page's `page_script_hash`
  (`page_name` empty). Widget ids are `$$ID-<hash>-<key>`; they depend on the page, so the id of
  `key="prompt_box"` differs between read-along and token-shift.
- **Page switch** (a sidebar link): the target's `page_script_hash` from the last `navigation`
  message, an empty query string (1.67 keeps only query parameters bound to widgets) and only the
  widget states of elements drawn by the main script.
- **Large messages.** `new_element` deltas of 10 KB or more are `cacheable`; the client lists their
  hashes in `cached_message_hashes` and the server then sends a `ref_hash` instead (this client keeps
  the same cache, with the same expiry by script runs, as the frontend).
- **End of a run.** `script_finished` with FINISHED_SUCCESSFULLY (or a fragment/compile-error status);
  FINISHED_EARLY_FOR_RERUN means another run follows. Errors: `exception` deltas (not warnings), a
  compile-error `session_event`, a `page_not_found` whose run did not end on the requested page, the
  websocket closing, a timeout.
- **Reconnect** (what the frontend does when its websocket closes): wait 250–500 ms (longer after
  each failed attempt, up to 4 s), ping `/_stcore/health` + `/_stcore/host-config` every 100 ms
  doubling to 4 s (jittered) until both answer, then open the websocket offering the old session id
  as third subprotocol. A fresh server process does not know that id and silently creates a new,
  empty session: **the frontend sends nothing more** unless a script run was in flight when the
  connection dropped (then it resends its widget states). The page the visitor sees stays as it was
  (and stepping keeps working in the browser); the next widget change reruns in the new session with
  the widget values and the URL the browser still holds. `rerun()` sends exactly that message.

Example:

    import asyncio
    from benchmarks.st_client import StreamlitSession, stepper_views

    async def main():
        sess = StreamlitSession("http://127.0.0.1:8501")
        await sess.connect()                                   # HTTP handshake + websocket
        r = await sess.open_page("read-along", "prompt=Hi%20there.&step=2")
        print(r.seconds, r.bytes_received, r.error, stepper_views(r)[0].start)   # ..., None, 1
        r = await sess.set_text("prompt_box", "My own sentence.")   # widget change -> rerun
        r = await sess.switch_page("token-shift")
        await sess.reconnect(); await sess.close()

    asyncio.run(main())
"""
from __future__ import annotations

import asyncio
import gzip
import json
import random
import re
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"
BACKEND_HEADER = "x-room-backend"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) st_client/1.67 (Streamlit session benchmark)"
FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
            ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
_CLOSED = object()


class StreamlitClientError(RuntimeError):
    """The handshake or the websocket failed (message says where)."""


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]  # lower-case names, in order
    body: bytes  # decoded (gzip/deflate undone)
    wire_bytes: int  # body bytes as sent (compressed if it was)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)


async def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> HttpResponse:
    """A plain HTTP/1.1 GET (Connection: close) on asyncio streams: loopback only, no proxies.
    Handles Content-Length, chunked and read-to-close bodies, and gzip/deflate."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http":
        raise StreamlitClientError(f"only http:// URLs are supported, not {url!r}")
    port = u.port or 80
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {u.hostname}:{port}" if u.port else f"Host: {u.hostname}",
             "Connection: close", f"User-Agent: {USER_AGENT}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]

    async def go() -> bytes:
        reader, writer = await asyncio.open_connection(u.hostname, port)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            return await reader.read(-1)
        finally:
            writer.close()

    raw = await asyncio.wait_for(go(), timeout)
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise StreamlitClientError(f"GET {url}: no complete HTTP response ({len(raw)} bytes)")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    hdrs = []
    for line in header_lines:
        k, _, v = line.partition(":")
        hdrs.append((k.strip().lower(), v.strip()))
    resp = HttpResponse(status, hdrs, body, len(body))
    if (resp.header("transfer-encoding") or "").lower() == "chunked":
        out, rest = bytearray(), body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        body = bytes(out)
    elif resp.header("content-length") is not None:
        body = body[: int(resp.header("content-length"))]
    resp.wire_bytes = len(body)
    enc = (resp.header("content-encoding") or "").lower()
    if enc == "gzip":
        body = gzip.decompress(body)
    elif enc == "deflate":
        body = zlib.decompress(body)
    resp.body = body
    return resp


@dataclass
class RunResult:
    """One script run as the client saw it: from sending the BackMsg to `script_finished`."""

    seconds: float
    bytes_received: int = 0  # websocket payload bytes received during the run
    error: str | None = None
    texts: list[str] = field(default_factory=list)  # markdown/caption/text/heading/alert bodies, iframe srcdoc
    messages: int = 0
    page_not_found: bool = False  # the server sent page_not_found (even if the right page ran after it)
    page: str = ""  # url path of the page that ran ("" = the default page)
    query_string: str = ""  # the address bar's query after the run

    @property
    def srcdocs(self) -> list[str]:
        return [t for t in self.texts if t.lstrip().lower().startswith("<!doctype html")]


@dataclass(frozen=True)
class StepperView:
    """What app/stepper.py's iframe shows first: its token chips and the start step (0-based)."""

    labels: tuple[str, ...]
    start: int

    @property
    def text(self) -> str:
        """The chips joined back into text (visible spaces and newline marks undone)."""
        return "".join(self.labels).replace("\u00a0", " ").replace("↵", "\n").replace("⇥", "\t")


_SPEC = re.compile(r'<script type="application/json" id="spec">(.*?)</script>', re.S)
_START = re.compile(r"let step = (\d+)")


def stepper_views(result: RunResult) -> list[StepperView]:
    """The rwkv-explainer stepper iframes of a run (app/stepper.py: `let step = __START__`, JSON spec)."""
    views = []
    for doc in result.srcdocs:
        spec, start = _SPEC.search(doc), _START.search(doc)
        if spec and start:
            views.append(StepperView(tuple(json.loads(spec.group(1))["labels"]), int(start.group(1))))
    return views


def _widget_value(kind: str, w) -> WidgetState | None:
    """The value the frontend holds for a freshly drawn widget (its `value` if the script set one, else
    its default), as the WidgetState it would send. None for widgets without a persistent value."""
    ws = WidgetState(id=w.id)
    set_value = getattr(w, "set_value", False)
    if kind == "checkbox":
        ws.bool_value = w.value if set_value else w.default
    elif kind in ("text_area", "text_input"):
        ws.string_value = w.value if set_value else w.default
    elif kind in ("selectbox", "radio"):
        if set_value:
            ws.string_value = w.raw_value
        elif 0 <= w.default < len(w.options):
            ws.string_value = w.options[w.default]
        else:
            return None
    elif kind == "slider":
        values = list(w.value) if set_value else list(w.default)
        if w.options:  # select_slider: the option strings
            ws.string_array_value.data.extend(w.options[int(v)] for v in values if 0 <= int(v) < len(w.options))
        else:
            ws.double_array_value.data.extend(values)
    elif kind == "number_input":
        value = w.value if set_value else w.default
        if w.data_type == type(w).INT:
            ws.int_value = int(value)
        else:
            ws.double_value = value
    elif kind == "multiselect":
        idx = [] if set_value else list(w.default)
        ws.string_array_value.data.extend(list(w.raw_values) if set_value else [w.options[i] for i in idx])
    else:
        return None
    return ws


class StreamlitSession:
    """One browser tab's Streamlit session (see the module docstring for the protocol).

    `base_url` is the app's root, e.g. "http://127.0.0.1:8501". Attributes worth reading:
    `session_id`, `query_string` (the address bar), `page` (url path), `backend` (the proxy's
    `X-Room-Backend` on the websocket 101, or of the last HTTP response), `backends_seen` (every such
    header value, handshake and websocket, in order), `cookies`, `closed` (an Event set when the
    websocket drops), `connects` (websocket opens so far).
    """

    def __init__(self, base_url: str, *, timeout: float = 120.0, name: str = ""):
        self.base_url = base_url.rstrip("/")
        u = urllib.parse.urlsplit(self.base_url)
        self._host = u.netloc
        self._ws_url = f"ws://{u.netloc}{u.path}/_stcore/stream"
        self.timeout = timeout
        self.name = name
        self.cookies: dict[str, str] = {}
        self.backend: str | None = None
        self.backends_seen: list[tuple[str, str]] = []  # (what, header value)
        self.session_id: str | None = None
        self.query_string = ""
        self.page = ""
        self.page_script_hash = ""  # the current page (from the last navigation message)
        self.main_script_hash = ""
        self.pages: dict[str, str] = {}  # url path -> page_script_hash
        self.closed = asyncio.Event()
        self.close_reason = ""
        self.connects = 0
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._widgets: dict[str, tuple[WidgetState, str]] = {}  # id -> (state, active script hash)
        self._cache: dict[str, list] = {}  # hash -> [ForwardMsg bytes, run count when last used]
        self._cache_runs = 0
        self._max_cache_age = 2
        self._in_flight = False
        self._pending_query: tuple[str, str] | None = None  # (page hash, query) of a page switch on its way

    # ---- HTTP --------------------------------------------------------------------------------
    async def get(self, path: str, headers: dict[str, str] | None = None) -> HttpResponse:
        """GET `path` (relative to the app root) with this session's cookies; keeps Set-Cookie."""
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        resp = await http_get(self.base_url + path, h, timeout=self.timeout)
        self._absorb_headers(resp.headers, f"GET {path.split('?')[0]}")
        return resp

    def _absorb_headers(self, headers, what: str) -> None:
        for k, v in headers:
            if k == "set-cookie":
                pair = v.split(";", 1)[0]
                name, _, value = pair.partition("=")
                attrs = v.lower()
                if "max-age=0" in attrs or (value == "" and "expires=thu, 01 jan 1970" in attrs):
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = value.strip()
            elif k == BACKEND_HEADER:
                self.backend = v
                self.backends_seen.append((what, v))

    async def _ping(self, prefixes: list[str], deadline: float) -> str:
        """The frontend's DoInitPings: health + host-config together per base path, cycling through the
        candidates; 100 ms after the first round, then doubling (jittered 70–100 %) up to 4 s."""
        attempt, i = 0, 0
        while True:
            prefix = prefixes[i]
            if i == 0:
                attempt += 1
            try:
                health, host = await asyncio.gather(self.get(prefix + "/_stcore/health"),
                                                     self.get(prefix + "/_stcore/host-config"))
                if health.status == 200 and host.status == 200:
                    return prefix
            except (OSError, asyncio.TimeoutError, StreamlitClientError, ValueError, IndexError):
                pass
            delay = 0.1 if attempt == 1 else min(4.0, 0.1 * 2 ** (attempt - 1)) * (0.7 + 0.3 * random.random())
            if time.monotonic() + delay > deadline:
                raise StreamlitClientError(f"{self.base_url}: /_stcore/health did not answer in time")
            await asyncio.sleep(delay)
            i = (i + 1) % len(prefixes)

    # ---- websocket ---------------------------------------------------------------------------
    async def connect(self, page: str = "", query: str = "") -> None:
        """What a browser does for a link to `page` before the app runs: the page HTML, the pings,
        the websocket. `open_page` calls it when needed."""
        deadline = time.monotonic() + self.timeout
        path = "/" + page.strip("/")
        html = await self.get(path + (f"?{query}" if query else ""), {"Accept": "text/html"})
        if html.status != 200:
            raise StreamlitClientError(f"GET {path}: HTTP {html.status}")
        prefixes = ([path.rstrip("/")] if path != "/" else []) + [""]
        await self._ping(prefixes, deadline)
        await self._open_ws()
        self.page, self.query_string = page.strip("/"), query

    async def _open_ws(self) -> None:
        from websockets.asyncio.client import connect as ws_connect

        xsrf = self.cookies.get(XSRF_COOKIE)
        protocols = ["streamlit", xsrf or "PLACEHOLDER_AUTH_TOKEN"] + ([self.session_id] if self.session_id else [])
        headers = {"User-Agent": USER_AGENT}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        u = urllib.parse.urlsplit(self.base_url)
        try:
            ws = await ws_connect(self._ws_url, subprotocols=protocols, additional_headers=headers,
                                  origin=f"{u.scheme}://{u.netloc}", user_agent_header=None, proxy=None,
                                  max_size=None, ping_interval=None, open_timeout=min(self.timeout, 15),
                                  close_timeout=2)
        except Exception as exc:  # InvalidStatus (e.g. 502 from a proxy), refused, timeout
            raise StreamlitClientError(f"websocket {self._ws_url}: {type(exc).__name__}: {exc}") from exc
        self._absorb_headers(list((k.lower(), v) for k, v in ws.response.headers.raw_items()), "websocket 101")
        self._ws = ws
        self.connects += 1
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._queue = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(ws))

    async def _read(self, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                if isinstance(raw, str):
                    self._queue.put_nowait((len(raw), None))
                    continue
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._queue.put_nowait((len(raw), msg))
        except ConnectionClosed as exc:
            self.close_reason = f"websocket closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        except Exception as exc:  # a parse error or a dropped socket
            self.close_reason = f"websocket error: {type(exc).__name__}: {exc}"
        else:
            rc = ws.close_code
            self.close_reason = f"websocket closed ({rc})"
        finally:
            self.closed.set()
            self._queue.put_nowait((0, _CLOSED))

    async def close(self) -> None:
        if self._ws is not None:
            try:
                await self._ws.close()
            except Exception:
                pass
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
                self._reader.cancel()

    # ---- runs --------------------------------------------------------------------------------
    def _context_info(self, ci) -> None:
        ci.timezone, ci.timezone_offset, ci.locale = "UTC", 0, "en-US"
        ci.url = f"{self.base_url}/{self.page}"
        ci.is_embedded, ci.color_scheme = False, "light"

    async def _run(self, cs: ClientState, expect_page: str | None) -> RunResult:
        if self._ws is None or self.closed.is_set():
            return RunResult(0.0, error=self.close_reason or "not connected")
        cs.cached_message_hashes.extend(self._cache)
        self._context_info(cs.context_info)
        msg = BackMsg()
        msg.rerun_script.CopyFrom(cs)
        # drop what is left of earlier runs (a trailing status change) before timing this one
        while not self._queue.empty():
            if self._queue.get_nowait()[1] is _CLOSED:
                return RunResult(0.0, error=self.close_reason or "websocket closed")
        self._in_flight = True
        t0 = time.perf_counter()
        try:
            await self._ws.send(msg.SerializeToString())
        except Exception as exc:
            return RunResult(0.0, error=f"send failed: {type(exc).__name__}: {exc}")
        res = RunResult(0.0)
        started, seen_widgets, deadline = False, {}, t0 + self.timeout
        while True:
            left = deadline - time.perf_counter()
            try:
                size, fmsg = await asyncio.wait_for(self._queue.get(), max(0.001, left))
            except asyncio.TimeoutError:
                res.error = f"timeout after {self.timeout:.0f} s"
                break
            if fmsg is _CLOSED:
                res.error = self.close_reason or "websocket closed"
                break
            res.bytes_received += size
            res.messages += 1
            if fmsg is None:
                res.error = "text frame from server"
                continue
            fmsg = self._resolve(fmsg, res)
            if fmsg is None:
                continue
            kind = fmsg.WhichOneof("type")
            if kind == "new_session":
                started = True
                ns = fmsg.new_session
                if ns.HasField("initialize") and ns.initialize.session_id:
                    self.session_id = ns.initialize.session_id
                self.main_script_hash = ns.main_script_hash or self.main_script_hash
                if ns.config.max_cached_message_age:
                    self._max_cache_age = ns.config.max_cached_message_age
                seen_widgets = {}
                res.texts.clear()
            elif not started:
                continue  # left over from an earlier run
            elif kind == "delta":
                self._delta(fmsg, res, seen_widgets)
            elif kind == "navigation":
                nav = fmsg.navigation
                self.pages = {p.url_pathname: p.page_script_hash for p in nav.app_pages}
                self.page_script_hash = nav.page_script_hash
                if self._pending_query and self._pending_query[0] == nav.page_script_hash:
                    self.query_string = self._pending_query[1]
                self._pending_query = None
                self.page = next((p.url_pathname for p in nav.app_pages
                                  if p.page_script_hash == nav.page_script_hash), self.page)
            elif kind == "page_info_changed":
                self.query_string = fmsg.page_info_changed.query_string
            elif kind == "page_not_found":
                res.page_not_found = True
            elif kind == "session_event" and fmsg.session_event.HasField("script_compilation_exception"):
                res.error = "compile error: " + fmsg.session_event.script_compilation_exception.message
            elif kind == "script_finished":
                status = fmsg.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    started = False  # another run follows
                    continue
                self._finish_run(seen_widgets)
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR and not res.error:
                    res.error = "script finished with a compile error"
                break
        res.seconds = time.perf_counter() - t0
        if res.error is None or not res.error.startswith(("websocket", "timeout", "send")):
            self._in_flight = False
        res.page, res.query_string = self.page, self.query_string
        if res.page_not_found and expect_page is not None and res.error is None and self.page != expect_page:
            res.error = f"page_not_found: asked for {expect_page!r}, ran {self.page!r}"
        return res

    def _resolve(self, fmsg: ForwardMsg, res: RunResult) -> ForwardMsg | None:
        """The frontend's ForwardMsg cache: keep cacheable messages, expand `ref_hash` references."""
        if fmsg.WhichOneof("type") == "ref_hash":
            entry = self._cache.get(fmsg.ref_hash)
            if entry is None:
                res.error = f"cached message {fmsg.ref_hash} missing"
                return None
            entry[1] = self._cache_runs
            full = ForwardMsg()
            full.ParseFromString(entry[0])
            full.metadata.CopyFrom(fmsg.metadata)
            return full
        if fmsg.metadata.cacheable and fmsg.hash and fmsg.hash not in self._cache:
            self._cache[fmsg.hash] = [fmsg.SerializeToString(), self._cache_runs]
        return fmsg

    def _finish_run(self, seen_widgets: dict) -> None:
        # widgets not drawn in this run are dropped, as the frontend's removeInactive does
        self._widgets = seen_widgets
        self._cache_runs += 1
        for h in [h for h, (_, used) in self._cache.items() if self._cache_runs - used > self._max_cache_age]:
            del self._cache[h]

    def _delta(self, fmsg: ForwardMsg, res: RunResult, seen_widgets: dict) -> None:
        d = fmsg.delta
        if not d.HasField("new_element"):
            return
        el = d.new_element
        kind = el.WhichOneof("type")
        if kind in ("markdown", "text", "heading"):
            res.texts.append(getattr(el, kind).body)
        elif kind == "alert":
            res.texts.append(el.alert.body)
        elif kind == "iframe":
            res.texts.append(el.iframe.srcdoc or el.iframe.src)
        elif kind == "exception":
            ex = el.exception
            res.texts.append(f"{ex.type}: {ex.message}")
            if not ex.is_warning and res.error is None:
                res.error = f"exception: {ex.type}: {ex.message}"[:500]
        else:
            w = getattr(el, kind, None) if kind else None
            wid = getattr(w, "id", "") if w is not None else ""
            if wid:
                old = self._widgets.get(wid)
                if old is not None and not getattr(w, "set_value", False):
                    seen_widgets[wid] = (old[0], fmsg.metadata.active_script_hash)
                else:
                    state = _widget_value(kind, w)
                    if state is not None:
                        seen_widgets[wid] = (state, fmsg.metadata.active_script_hash)

    def widget_id(self, key: str) -> str | None:
        """The element id of the widget with user key `key` drawn in the last run (ids end in `-<key>`)."""
        return next((wid for wid in self._widgets if wid.endswith("-" + key)), None)

    def _all_widget_states(self, cs: ClientState, only_script_hash: str | None = None) -> None:
        for state, script_hash in self._widgets.values():
            if only_script_hash is None or script_hash == only_script_hash:
                cs.widget_states.widgets.append(state)

    # ---- what a visitor does -----------------------------------------------------------------
    async def open_page(self, page: str = "", query: str = "") -> RunResult:
        """Open `/<page>?<query>` as a new tab would (connecting first if needed)."""
        t0 = time.perf_counter()
        if self._ws is None:
            try:
                await self.connect(page, query)
            except (OSError, asyncio.TimeoutError, StreamlitClientError) as exc:
                return RunResult(time.perf_counter() - t0, error=f"connect: {type(exc).__name__}: {exc}")
        self.page, self.query_string = page.strip("/"), query
        cs = ClientState(query_string=query, page_name=page.strip("/"), page_script_hash="")
        return await self._run(cs, expect_page=page.strip("/"))

    async def set_text(self, key: str, text: str) -> RunResult:
        """Type `text` into the text_area/text_input with user key `key` and leave it (a widget change)."""
        wid = self.widget_id(key)
        if wid is None:
            return RunResult(0.0, error=f"no widget with key {key!r} in the last run")
        self._widgets[wid][0].string_value = text
        return await self.rerun()

    async def set_widget(self, key: str, **value) -> RunResult:
        """Any other widget change, e.g. `set_widget("no_shift", bool_value=True)`."""
        wid = self.widget_id(key)
        if wid is None:
            return RunResult(0.0, error=f"no widget with key {key!r} in the last run")
        state = self._widgets[wid][0]
        for k, v in value.items():
            if isinstance(v, (list, tuple)):
                getattr(state, k).data[:] = list(v)
            else:
                setattr(state, k, v)
        return await self.rerun()

    async def rerun(self) -> RunResult:
        """The frontend's `sendUpdateWidgetsMessage`: every widget value, the current query string and
        page. What any widget change sends; also what a reconnecting tab sends when a run was cut off."""
        cs = ClientState(query_string=self.query_string, page_script_hash=self.page_script_hash)
        if not self.page_script_hash:  # no page has run yet: the page comes from the URL path
            cs.page_name = self.page
        self._all_widget_states(cs)
        return await self._run(cs, expect_page=None if self.page_script_hash else self.page)

    async def switch_page(self, page: str, query: str = "") -> RunResult:
        """Click the sidebar link to `page` (its url path, e.g. "token-shift")."""
        target = self.pages.get(page.strip("/"))
        if target is None:
            return RunResult(0.0, error=f"page {page!r} not in the navigation ({sorted(self.pages)})")
        # the address bar changes when the new page's navigation message arrives, not before: a tab
        # that reconnects in between reruns the old page with the old URL, as the frontend does
        self._pending_query = (target, query if target != self.page_script_hash else self.query_string)
        cs = ClientState(query_string=self._pending_query[1], page_script_hash=target)
        self._all_widget_states(cs, only_script_hash=self.main_script_hash)
        return await self._run(cs, expect_page=page.strip("/"))

    async def wait_closed(self) -> None:
        await self.closed.wait()

    async def reconnect(self, *, rerun: bool | None = None, deadline_s: float | None = None) -> RunResult | None:
        """Reconnect after the websocket dropped, as the 1.67 frontend does (module docstring).

        `rerun=None` mirrors the frontend: rerun only if a run was in flight when the connection
        dropped. `rerun=True` then sends the rerun a visitor's next widget change would send
        (`rerun()`); `False` never. Returns that run's result, or None when nothing was rerun.
        Raises StreamlitClientError when no connection could be made within `deadline_s`
        (default: the session timeout).
        """
        deadline = time.monotonic() + (deadline_s or self.timeout)
        if self._ws is not None:
            await self.close()
            self._ws = None
        attempt = 0
        while True:
            attempt += 1
            hi = min(4.0, 0.5 * 2 ** (attempt - 1))
            lo = 0.25 if attempt == 1 else hi / 2
            await asyncio.sleep(lo + random.random() * (hi - lo))
            try:
                await self._ping([""], deadline)
                await self._open_ws()
                break
            except (OSError, asyncio.TimeoutError, StreamlitClientError) as exc:
                if time.monotonic() >= deadline:
                    raise StreamlitClientError(f"reconnect to {self.base_url} failed: {exc}") from exc
        if rerun or (rerun is None and self._in_flight):
            return await self.rerun()
        return None
