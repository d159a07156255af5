"""The presenter console: the talk's notes, a timer and the controls, as ONE in-browser component.

Advancing never calls the server: the component holds the whole talk as JSON (escaped for a script
tag, shown with `textContent` only), opens the projector window with `window.open(url,
"rwkv-projector")`, and on every move navigates that window to the next view's link with
`present=1`. It also posts the view number on `BroadcastChannel("rwkv-explainer-talk")`, so a second
console tab stays in step, and keeps it in the console's own address (`?view=3`), so a reload comes
back to the same view. Streamlit's iframe for HTML allows scripts, same-origin access and popups that
escape its sandbox, so the projector window is an ordinary page of the app.

Example (in a page):
    talk = load_talk(talk_path())
    opts = parse_console_params({"room": "K7QX", "token": "…", "view": "3"}, len(talk.views))
    draw(talk, opts)
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field, replace

from app.stepper import safe_json_for_script

from .talk import BUILT_IN_TALKS, DEFAULT_TALK, Talk

WINDOW_NAME = "rwkv-projector"
CHANNEL = "rwkv-explainer-talk"
_ROOM_CODE = re.compile(r"[A-Za-z0-9]{1,16}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class ConsoleParams:
    """What the console's own link says: the view to start on (0-based), the open room, plain notes."""

    start: int = 0
    room: str | None = None
    token: str | None = None
    notes: list[str] = field(default_factory=list)


def _last(raw):
    if isinstance(raw, (list, tuple)):
        return raw[-1] if raw else None
    return raw


def parse_console_params(params: dict, n_views: int) -> ConsoleParams:
    """`view` (1-based), `room` and `token` from the console's query parameters. Anything odd is left
    out, with a plain note; nothing here is ever put into HTML unescaped.

    >>> parse_console_params({"view": "3", "room": "k7qx", "token": "abc_9"}, 12)
    ConsoleParams(start=2, room='K7QX', token='abc_9', notes=[])
    >>> parse_console_params({"view": "99"}, 12).start
    11
    >>> parse_console_params({"room": "<b>"}, 12).room is None
    True
    """
    notes, start = [], 0
    raw_view = _last(params.get("view"))
    if raw_view not in (None, ""):
        text = str(raw_view).strip()
        if text.isdigit() and n_views:
            start = min(max(int(text[:6]), 1), n_views) - 1
        else:
            notes.append("The link's view is not a view number, so the console starts at the first view.")
    room = _last(params.get("room"))
    room = re.sub(r"[\s-]+", "", str(room)).upper() if room not in (None, "") else None
    if room is not None and not _ROOM_CODE.fullmatch(room):
        notes.append("The link's room code is not a room code (letters and digits), so poll views will ask you "
                     "to open a room.")
        room = None
    token = _last(params.get("token"))
    token = str(token).strip() if token not in (None, "") else None
    if token is not None and not _TOKEN.fullmatch(token):
        notes.append("The link's presenter key is not a key the room page makes, so poll views leave it out.")
        token = None
    if room is None:
        token = None  # a key means nothing without its room
    return ConsoleParams(start=start, room=room, token=token, notes=notes)


def with_session_room(opts: ConsoleParams, kept_keys: dict | None) -> ConsoleParams:
    """A console opened without a room (the sidebar's link) takes the room this browser session opened last
    (`kept_keys`: the room page's {code: presenter key}), so polls go to it. A link's own room wins.

    >>> with_session_room(ConsoleParams(), {"K7QX": "abc_9"})
    ConsoleParams(start=0, room='K7QX', token='abc_9', notes=[])
    >>> with_session_room(ConsoleParams(room="AAAA"), {"K7QX": "abc_9"}).room
    'AAAA'
    """
    if opts.room is not None or not kept_keys:
        return opts
    code, token = list(kept_keys.items())[-1]
    if not _ROOM_CODE.fullmatch(str(code)) or not _TOKEN.fullmatch(str(token)):
        return opts
    return replace(opts, room=str(code), token=str(token))


# In the projector window (the window the console opened, by its name), a clicker's keys go back to the
# console over the talk's channel, unless the page has a step-through, which takes them (its tokens). Page
# Down / Up and → / ←: ↓ and ↑ still scroll the page.
PROJECTOR_KEYS_HTML = """<script>
(function () {
  if (window.__rwkvProjectorKeys || window.name !== "%(window)s" || !window.BroadcastChannel) return;
  window.__rwkvProjectorKeys = true;
  const channel = new BroadcastChannel("%(channel)s");
  const NEXT = ["PageDown", "ArrowRight"], PREV = ["PageUp", "ArrowLeft"];
  const TYPING = "input, textarea, select, [contenteditable], [role=slider], [role=listbox], [role=combobox], " +
                 "[role=radio], [role=radiogroup], [role=switch], [role=tab], [role=menu], [role=option]";
  // A console that lost its handle on this window (it was reloaded) finds it again over the channel: it asks
  // who is there, and sends the next view's link (same origin: BroadcastChannel never crosses origins).
  channel.onmessage = function (e) {
    const d = e.data || {};
    if (d.projectorPing) channel.postMessage({projectorHere: true});
    const to = d.projectorGoto;
    if (typeof to === "string" && to.charAt(0) === "/" && to.charAt(1) !== "/") {  // a path on this app only
      window.location.href = window.location.origin + to;
    }
  };
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented || window.__rwkvStepperKeys) return;
    const forward = NEXT.indexOf(e.key) >= 0, back = PREV.indexOf(e.key) >= 0;
    if (!forward && !back) return;
    const active = document.activeElement;
    if (active && active.closest && active.closest(TYPING)) return;
    e.preventDefault();
    channel.postMessage({nudge: forward ? 1 : -1});
  });
})();
</script>""" % {"window": WINDOW_NAME, "channel": CHANNEL}


def pick_talk(linked: str) -> str:
    """The ready talk this console runs (a name in BUILT_IN_TALKS), picked on the page; `linked` is the link's
    `?talk=` (`talk.built_in_name`). A new pick goes into the link (so a reload or a second tab keeps it) and
    starts the talk at its first view."""
    import streamlit as st

    st.session_state["console_talk"] = linked  # the link is the truth; a pick below writes it first
    return st.radio("Talk", list(BUILT_IN_TALKS), key="console_talk", horizontal=True, on_change=_talk_picked,
                    format_func=lambda name: BUILT_IN_TALKS[name][0])


def _talk_picked() -> None:
    import streamlit as st

    name = st.session_state.get("console_talk", DEFAULT_TALK)
    if name == DEFAULT_TALK:
        st.query_params.pop("talk", None)
    else:
        st.query_params["talk"] = name
    st.query_params.pop("view", None)


def console_spec(talk: Talk, room: str | None = None, token: str | None = None) -> dict:
    """What the component needs: every view's title, notes, minutes and projector link (present=1).

    >>> from .talk import View
    >>> console_spec(Talk("T", (View("A", "glossary", (), "Say hi.", 1.0),)))["views"][0]["url"]
    '/glossary?present=1'
    """
    return {
        "title": talk.title,
        "minutes": talk.minutes,
        "window": WINDOW_NAME,
        "channel": CHANNEL,
        "views": [{"title": v.title, "notes": v.notes, "minutes": v.minutes, "poll": v.poll,
                   "url": v.url(present=True, room=room, token=token)} for v in talk.views],
    }


def _clock(minutes: float) -> str:
    """Minutes as m:ss.

    >>> _clock(1.5)
    '1:30'
    """
    seconds = round(minutes * 60)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _view_label(i: int, view) -> str:
    return f"{i + 1}. {view.title} ({_clock(view.minutes)})"


def console_html(talk: Talk, start: int = 0, room: str | None = None, token: str | None = None) -> str:
    """The component's page. The first view is already written into the HTML (escaped), so the notes
    show before the script runs; the script then takes over.

    >>> from .talk import View
    >>> page = console_html(Talk("T", (View("<b>A</b>", "glossary", (), "Say </script>", 1.0),)))
    >>> "<b>A</b>" in page, "Say </script>" in page
    (False, False)
    """
    views = talk.views
    start = max(0, min(int(start), len(views) - 1))
    current = views[start]
    current_mark = ' aria-current="step"'
    items = "".join(
        f'<li><button type="button" class="jump" data-index="{i}"{current_mark if i == start else ""}>'
        f"{html.escape(_view_label(i, v))}</button></li>" for i, v in enumerate(views))
    nxt = views[start + 1].title if start + 1 < len(views) else "(the end)"
    spec = safe_json_for_script(json.dumps(console_spec(talk, room, token), ensure_ascii=False, allow_nan=False))
    return (_TEMPLATE.replace("__POSITION__", f"View {start + 1} of {len(views)}")
            .replace("__TITLE__", html.escape(current.title))
            .replace("__NOTES__", html.escape(current.notes))
            .replace("__UPNEXT__", html.escape(nxt))
            .replace("__TOTAL__", _clock(talk.minutes))
            .replace("__ITEMS__", items)
            .replace("__START__", str(start))
            .replace("__DATA__", spec))


def draw(talk: Talk, params: ConsoleParams) -> None:
    """Draw the console component (an iframe sized to its content)."""
    import streamlit as st

    st.iframe(console_html(talk, params.start, params.room, params.token), height="content",
              alt="Presenter console: the view's notes, the timer and the talk's controls")


_TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Presenter console</title>
<style>
  body { font-family: "Source Sans Pro", "Source Sans 3", system-ui, "Segoe UI", Helvetica, Arial, sans-serif;
         margin: 0; padding: 4px; color: #262730; }
  #bar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
  button { font: inherit; font-size: 20px; padding: 8px 18px; border-radius: 8px; border: 1px solid #8a8d96;
           background: #fff; color: #262730; cursor: pointer; }
  button:hover { border-color: #0072B2; color: #0072B2; }
  button.primary { background: #0072B2; border-color: #0072B2; color: #fff; }
  button.primary:hover { background: #005a8c; color: #fff; }
  button:focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; }
  button:disabled { opacity: 0.45; cursor: default; }
  #position { font-size: 20px; font-weight: 600; margin-left: 4px; }
  #clock { display: flex; flex-wrap: wrap; gap: 6px 22px; align-items: center; margin: 12px 0 4px;
           font-size: 20px; font-variant-numeric: tabular-nums; }
  #clock button { font-size: 16px; padding: 4px 10px; }
  .late { color: #9e3600; font-weight: 700; }
  #projector { font-size: 17px; margin: 6px 0 0; min-height: 1.3em; }
  #grid { display: grid; grid-template-columns: minmax(0, 2fr) minmax(16rem, 1fr); gap: 28px; margin-top: 10px; }
  @media (max-width: 860px) { #grid { grid-template-columns: minmax(0, 1fr); } }
  #title { font-size: 34px; line-height: 1.2; margin: 4px 0 10px; }
  #notes { font-size: 26px; line-height: 1.5; white-space: pre-wrap; margin: 0; }
  #upnext { font-size: 19px; color: #4a4c57; margin-top: 18px; }
  h3 { font-size: 19px; margin: 4px 0 8px; }
  ol { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 5px; }
  .jump { width: 100%; text-align: left; font-size: 17px; padding: 6px 10px; }
  .jump[aria-current] { background: #FFE8B3; border: 2px solid #000; font-weight: 700; color: #000; }
  .sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
             clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
</style>
</head><body>
<div id="bar" role="group" aria-label="Talk controls">
  <button type="button" id="prev" data-testid="console-prev" title="Previous view (Page Up, ← or ↑)">◀ Previous</button>
  <button type="button" id="next" class="primary" data-testid="console-next" title="Next view (Page Down, → or ↓)">Next ▶</button>
  <button type="button" id="open" data-testid="console-open">Open the projector window</button>
  <span id="position" data-testid="console-position">__POSITION__</span>
</div>
<p id="projector" data-testid="console-projector">The projector window is not open yet.</p>
<div id="clock" data-testid="console-clock">
  <span>Talk <span id="elapsed">0:00</span> of __TOTAL__ planned</span>
  <span>This view <span id="viewElapsed">0:00</span> of <span id="viewPlanned">–</span></span>
  <span id="plan">The timer starts when you open the projector window or move on.</span>
  <button type="button" id="restart" data-testid="console-restart">Restart the timer</button>
</div>
<div id="grid">
  <section aria-label="This view">
    <h2 id="title" data-testid="console-title">__TITLE__</h2>
    <p id="notes" data-testid="console-notes">__NOTES__</p>
    <p id="upnext" data-testid="console-upnext">Next: __UPNEXT__</p>
  </section>
  <nav aria-label="All views of the talk">
    <h3>Jump to a view</h3>
    <ol id="views" data-testid="console-views">__ITEMS__</ol>
  </nav>
</div>
<div id="live" class="sr-only" role="status" aria-live="polite" data-testid="console-live"></div>
<script type="application/json" id="talk">__DATA__</script>
<script>
(function () {
  const talk = JSON.parse(document.getElementById("talk").textContent);
  const views = talk.views, n = views.length;
  const KEY_START = "rwkv-talk-start", KEY_VIEW = "rwkv-talk-view-start";
  const $ = function (id) { return document.getElementById(id); };
  const jumps = Array.prototype.slice.call(document.querySelectorAll(".jump"));
  let index = __START__;
  const host = (function () { try { return window.parent; } catch (e) { return null; } })();
  const store = (function () { try { return window.sessionStorage; } catch (e) { return null; } })();
  const channel = ("BroadcastChannel" in window) ? new BroadcastChannel(talk.channel) : null;

  // The app's address, from the page around this frame (this frame's own address is about:srcdoc).
  // The console is <base>/console, so links work under a proxy path too.
  function appBase() {
    try {
      const loc = host.location;
      return loc.origin + loc.pathname.replace(/console\/?$/, "");
    } catch (e) {}
    try { if (document.referrer) { const r = new URL(document.referrer); return r.origin + r.pathname.replace(/console\/?$/, ""); } }
    catch (e) {}
    return window.location.origin + "/";
  }
  function projectorUrl(i) { return new URL(views[i].url.replace(/^\//, ""), appBase()).toString(); }

  function clock(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function stored(key) { const v = store && Number(store.getItem(key)); return v > 0 ? v : null; }
  function remember(key, value) { try { if (store) store.setItem(key, String(value)); } catch (e) {} }
  function startTimer() {
    if (!stored(KEY_START)) { remember(KEY_START, Date.now()); remember(KEY_VIEW, Date.now()); }
  }
  function tick() {
    const t0 = stored(KEY_START), v0 = stored(KEY_VIEW), now = Date.now();
    $("viewPlanned").textContent = clock(views[index].minutes * 60000);
    if (!t0) return;
    const talkMs = now - t0, viewMs = now - (v0 || t0);
    $("elapsed").textContent = clock(talkMs);
    $("viewElapsed").textContent = clock(viewMs);
    $("viewElapsed").className = viewMs > views[index].minutes * 60000 ? "late" : "";
    let before = 0;
    for (let k = 0; k < index; k++) before += views[k].minutes * 60000;
    const after = before + views[index].minutes * 60000, plan = $("plan");
    if (talkMs > after) { plan.textContent = "Behind plan by " + clock(talkMs - after); plan.className = "late"; }
    else if (talkMs < before - 30000) { plan.textContent = "Ahead of plan by " + clock(before - talkMs); plan.className = ""; }
    else { plan.textContent = "On plan"; plan.className = ""; }
  }

  let farProjector = false;  // a projector window this console did not open (before a reload) answered
  function projector() {
    try { const w = host.__rwkvProjector; return w && !w.closed ? w : null; } catch (e) { return null; }
  }
  function keepProjector(w) { try { host.__rwkvProjector = w; } catch (e) {} }
  function say(text) { $("projector").textContent = text; }
  function openProjector() {
    const w = window.open(projectorUrl(index), talk.window, "popup,width=1280,height=720");
    if (!w) {
      say("The browser blocked the window. Allow pop-ups for this site, then press the button again.");
      return;
    }
    keepProjector(w);
    startTimer();
    say("The projector window shows view " + (index + 1) + ". Drag it to the projector screen and press F11 " +
        "for full screen. Then click back on this window: the keys work where you clicked last.");
  }
  function showOnProjector() {
    const w = projector();
    if (!w && farProjector && channel) {  // this console was reloaded: the window it opened answered on the channel
      const u = new URL(projectorUrl(index));
      channel.postMessage({projectorGoto: u.pathname + u.search});
      say("The projector window shows view " + (index + 1) + ".");
      return;
    }
    if (!w) {
      if (host && host.__rwkvProjector) say("The projector window was closed. Press “Open the projector window” to open it again.");
      return;
    }
    try { w.location.href = projectorUrl(index); }
    catch (e) { window.open(projectorUrl(index), talk.window); }
    say("The projector window shows view " + (index + 1) + ".");
  }

  function syncUrl() {
    try {
      const u = new URL(host.location.href);
      u.searchParams.set("view", String(index + 1));
      host.history.replaceState(host.history.state, "", u.toString());
    } catch (e) {}
  }
  function render() {
    const v = views[index];
    $("position").textContent = "View " + (index + 1) + " of " + n;
    $("title").textContent = v.title;
    $("notes").textContent = v.notes;
    $("upnext").textContent = "Next: " + (index + 1 < n ? views[index + 1].title : "(the end)");
    // A button about to be disabled under the keyboard's focus hands the focus to the other one (a disabled
    // button drops it to the page's top).
    if (index === 0 && document.activeElement === $("prev")) $("next").focus();
    if (index === n - 1 && document.activeElement === $("next")) $("prev").focus();
    $("prev").disabled = index === 0;
    $("next").disabled = index === n - 1;
    jumps.forEach(function (b, k) {
      if (k === index) b.setAttribute("aria-current", "step"); else b.removeAttribute("aria-current");
    });
    document.body.dataset.view = String(index);
    tick();
  }
  // from: "me" (this console moved: the projector follows, other tabs are told) or "channel".
  function go(i, from) {
    i = Math.max(0, Math.min(n - 1, i));
    if (i === index) return;
    index = i;
    startTimer();
    remember(KEY_VIEW, Date.now());
    render();
    $("live").textContent = "View " + (index + 1) + " of " + n + ": " + views[index].title;
    syncUrl();
    if (from === "me") {
      showOnProjector();
      if (channel) channel.postMessage({talk: talk.title, view: index});
    } else if (projector()) {
      showOnProjector();  // another tab moved the talk: the tab that opened the projector window moves it
    }
  }
  window.consoleGo = function (i) { go(i, "me"); };

  $("next").addEventListener("click", function () { go(index + 1, "me"); });
  $("prev").addEventListener("click", function () { go(index - 1, "me"); });
  $("open").addEventListener("click", openProjector);
  $("restart").addEventListener("click", function () {
    remember(KEY_START, Date.now()); remember(KEY_VIEW, Date.now()); tick();
  });
  jumps.forEach(function (b, k) { b.addEventListener("click", function () { go(k, "me"); }); });
  if (channel) {
    channel.onmessage = function (e) {
      const d = e.data || {};
      // A clicker's key pressed while the projector window has the focus (after Reveal was clicked there):
      // the tab that drives the projector moves the talk.
      if (d.nudge && (projector() || farProjector)) { go(index + (d.nudge > 0 ? 1 : -1), "me"); return; }
      if (d.projectorHere && !projector()) {
        farProjector = true;
        say("The projector window is open. It follows this console again.");
        return;
      }
      if (d.talk !== talk.title) return;
      if (d.hello) { channel.postMessage({talk: talk.title, view: index}); return; }  // a new tab asks where we are
      if (typeof d.view === "number") go(d.view, "channel");
    };
    // A tab opened later joins the talk where it is (it opened on view 1: its Next pulled every tab back to 2).
    channel.postMessage({talk: talk.title, hello: true});
    if (!projector()) channel.postMessage({projectorPing: true});  // after a reload: is the window still open?
  }

  const NEXT = ["PageDown", "ArrowRight", "ArrowDown"], PREV = ["PageUp", "ArrowLeft", "ArrowUp"];
  const TYPING = "input, textarea, select, [contenteditable], [role=slider], [role=listbox], [role=combobox], " +
                 "[role=radio], [role=radiogroup], [role=switch], [role=tab], [role=menu], [role=option]";
  function onKey(e, onPage) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    const forward = NEXT.indexOf(e.key) >= 0, back = PREV.indexOf(e.key) >= 0;
    if (!forward && !back) return;
    if (onPage && (!window.frameElement || !window.frameElement.isConnected)) { detach(); return; }
    const active = onPage ? host.document.activeElement : document.activeElement;
    if (active && active.closest && active.closest(TYPING)) return;  // their own keys stay theirs
    e.preventDefault();
    go(index + (forward ? 1 : -1), "me");
  }
  function onPageKey(e) { onKey(e, true); }
  function detach() { try { host.document.removeEventListener("keydown", onPageKey); } catch (e) {} }
  document.addEventListener("keydown", function (e) { onKey(e, false); });
  try {  // a clicker sends its keys to the page around this frame when the frame has no focus
    if (host.__rwkvConsoleKeys) host.document.removeEventListener("keydown", host.__rwkvConsoleKeys);
    host.__rwkvConsoleKeys = onPageKey;
    host.document.addEventListener("keydown", onPageKey);
  } catch (e) {}

  if (projector()) {
    say("The projector window is open. Moving on shows the next view there.");
    try {  // a room was just opened here: a poll view the projector shows without one gets it now
      const v = views[index], w = projector();
      if (v.poll && v.url.indexOf("room=") >= 0 && w.location.search.indexOf("room=") < 0) showOnProjector();
    } catch (e) {}
  }
  render();
  setInterval(tick, 1000);
})();
</script>
</body></html>
"""
