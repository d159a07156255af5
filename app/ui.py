"""Small Streamlit helpers every page uses: explained text, chart captions, the builders' expander.

Example (in a page):
    text("RWKV keeps a [[state]] that never grows.")
    chart(fig, "What you see: one bar per guess.")
    with for_builders("Eq. (16) in the paper", "model/rwkv.py: wkv_scan") as notes:
        notes.latex(r"wkv_t = ...")
"""
from __future__ import annotations

import contextlib
import copy
import functools
import json
import re
import threading

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from .escape import user_text
from .glossary import GLOSS_ESCAPE_JS, with_tooltips
from .state import PRESENT_ON, parse_present

_CSS = """
<style>
/* Glossary terms (app/glossary.py, with_tooltips): the definition shows on hover, tap, click and keyboard
   focus, from the term's own aria-description (our TERMS text, escaped); no JavaScript. */
abbr.gloss { text-decoration: underline dotted #0072B2; text-decoration-thickness: 2px; text-underline-offset: 3px;
             cursor: help; position: relative; border-radius: 3px; }
abbr.gloss:focus { outline: none; }
abbr.gloss.dismissed::after { display: none !important; }  /* Escape hides the box (app/stepper.py) */
abbr.gloss:focus-visible { outline: 3px solid #0072B2; outline-offset: 2px; }  /* 5.1:1 on white */
abbr.gloss:hover::after, abbr.gloss:focus::after {
  content: attr(aria-description); position: absolute; left: 0; top: 100%; z-index: 1000;
  width: max-content; max-width: min(24rem, 80vw); box-sizing: border-box;
  border-top: 6px solid transparent; background-clip: padding-box;  /* the pointer can move onto the box */
  padding: 0.5rem 0.75rem; border-radius: 8px; background-color: #262730; color: #ffffff;  /* 15:1 */
  box-shadow: 0 2px 10px rgba(0, 0, 0, 0.3); font-size: 0.95rem;  /* 20 px in presenter mode */
  font-weight: 400; font-style: normal;
  line-height: 1.45; letter-spacing: normal; text-align: left; text-transform: none; white-space: normal;
}
/* Where CSS anchor positioning exists (Chromium 125+, Safari 26+), the box sits under the word and flips
   to the other side instead of running off the screen; elsewhere it opens to the right of the word. */
@supports (position-area: bottom) {
  abbr.gloss { anchor-name: --gloss; anchor-scope: --gloss; }
  abbr.gloss:hover::after, abbr.gloss:focus::after {
    position: fixed; position-anchor: --gloss; left: auto; top: auto; position-area: bottom span-right;
    position-try-fallbacks: flip-inline, flip-block, flip-block flip-inline;
  }
}
/* Phones: the definition is a panel along the bottom of the screen, never cut off at the edge. */
@media (max-width: 640px) {
  abbr.gloss:hover::after, abbr.gloss:focus::after {
    position: fixed; position-area: none; position-try-fallbacks: none; left: 0.75rem; right: 0.75rem;
    top: auto; bottom: 0.75rem; width: auto; max-width: none; border-top: 0; font-size: 1rem;
  }
}
.block-container { max-width: 1200px; padding-top: 2rem; }
/* A folded-away menu (a phone) leaves the Tab path: its links sat off-screen and took the keyboard's focus. */
[data-testid="stSidebar"][data-collapsed="true"], [data-testid="stSidebar"][data-collapsed="true"] * { visibility: hidden !important; }
/* The menu's » and × buttons (30 px in Streamlit): a finger-sized target on a touch screen. */
@media (pointer: coarse) {
  [data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapseButton"] button {
    min-width: 44px !important; min-height: 44px !important; }
}
/* Page links (Start's guided path) wrap on a phone instead of being cut off mid-word. */
[data-testid="stPageLink"] a, [data-testid="stPageLink"] p, [data-testid="stPageLink-NavLink"] { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; height: auto !important; }
/* Tables (app/ui.table, Markdown): as wide as the page, never wider; headers and cells wrap on a phone. */
[data-testid="stMarkdown"] table { width: 100%; max-width: 100%; }
[data-testid="stMarkdown"] th, [data-testid="stMarkdown"] td { white-space: normal; }
[data-testid="stMarkdown"] td:first-child { white-space: nowrap; }  /* a token number or a size, in one piece */
@media (max-width: 640px) {
  [data-testid="stMarkdown"] table { font-size: 0.8rem; }
  [data-testid="stMarkdown"] th, [data-testid="stMarkdown"] td { padding: 0.25rem 0.3rem; }
}
/* Wide formulas (For builders) scroll sideways on a phone: a shadow at an edge says there is more. */
[data-testid="stMarkdown"] .katex-display { overflow-x: auto; overflow-y: hidden; padding: 0.2rem 0;
  background: linear-gradient(to right, #fff 30%, rgba(255, 255, 255, 0)) left / 2rem 100% no-repeat local,
    linear-gradient(to left, #fff 30%, rgba(255, 255, 255, 0)) right / 2rem 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, rgba(0, 0, 0, 0.3), rgba(0, 0, 0, 0)) left / 0.8rem 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, rgba(0, 0, 0, 0.3), rgba(0, 0, 0, 0)) right / 0.8rem 100% no-repeat scroll; }
/* Touch screens: a glossary term is a finger-sized target (the padding takes taps, the text does not move). */
@media (pointer: coarse) { abbr.gloss { padding: 0.6rem 0.1rem; margin: 0 -0.1rem; } }  /* no gap before an "s" */
/* Streamlit greys captions with opacity (3.9:1 on white); what-you-see captions need 4.5:1 or more. */
[data-testid="stCaptionContainer"] { color: #4a4c57 !important; opacity: 1 !important; }
</style>
"""

def text(markdown: str) -> None:
    """Our own Markdown, with [[token]]-style glossary hovers. Everything else in it is escaped."""
    st.markdown(with_tooltips(markdown), unsafe_allow_html=True)


LIVE_CHART_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}  # no mouse-only tools in the Tab path


def chart(fig, what_you_see: str, key: str | None = None, name: str = "Chart", live: bool = False) -> None:
    """A chart with its one-sentence "what you see" caption underneath. `fig`: a Plotly figure (dict or
    `go.Figure`), or charts already prepared with `stepper.prepare_still` (cache those). Drawn by the
    step-through's page: phone and projector sizes, PNG / SVG download buttons.

    `live=True`: a chart redrawn every second or so while something fills in (a race in progress): Streamlit's
    own chart, which it updates in place (`key` keeps it the same element); a frame would reload, and flash,
    at every change."""
    from . import stepper

    if live:
        st.plotly_chart(fig, width="stretch", config=LIVE_CHART_CONFIG, key=key)
        caption(what_you_see)
        return
    prepared = fig if isinstance(fig, stepper.PreparedStepper) else stepper.prepare_still([fig])
    if name == "Chart":  # a page's frames list tells its charts apart by their titles
        name = chart_name(fig)
    stepper.show_still(prepared, name=name)
    caption(what_you_see)


def chart_name(fig) -> str:
    """The accessible name of a chart's frame: "Chart: " and the figure's title, without its markup.

    >>> chart_name({"data": [], "layout": {"title": {"text": "Memory held<br>(measured)"}}})
    'Chart: Memory held (measured)'
    >>> chart_name({"data": []})
    'Chart'
    """
    try:
        layout = fig["layout"] if isinstance(fig, dict) else fig.layout.to_plotly_json()
        title = layout.get("title") or {}
        text = title.get("text") if isinstance(title, dict) else title
    except (AttributeError, KeyError, TypeError):
        text = None
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(text or ""))).strip()
    return f"Chart: {text}" if text else "Chart"


_FOCUS_KEY = "_focus_after_run"


def focus_next_run(selector: str, text: str | None = None) -> None:
    """After a button that removes itself (Open a room, Reveal), the next run moves the keyboard's focus to
    what replaced it: the first element matching `selector` (and holding `text`, if given). Without this
    the focus fell to the top of the page and a screen reader heard nothing of the result."""
    st.session_state[_FOCUS_KEY] = (selector, text)


def move_focus_if_asked() -> None:
    """Call where the page's new content has been drawn (the end of the page or fragment): sends a one-off
    script, this run only, that waits for the target and focuses it (made focusable with tabindex -1)."""
    target = st.session_state.pop(_FOCUS_KEY, None)
    if not target:
        return
    selector, text = (json.dumps(part) for part in target)  # our own constants, as JS string literals
    st.html(f"""<script>
(function () {{
  let tries = 0;
  (function look() {{
    const el = Array.from(document.querySelectorAll({selector}))
      .find(function (e) {{ return {text} === null || e.textContent.indexOf({text}) >= 0; }});
    if (!el) {{ if (++tries < 50) setTimeout(look, 100); return; }}
    if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    el.focus();
  }})();
}})();
</script>""", unsafe_allow_javascript=True)


def caption(what_you_see: str) -> None:
    st.caption(with_tooltips("**What you see:** " + what_you_see), unsafe_allow_html=True)


def markdown_table(rows: list[dict]) -> str:
    """Rows (one dict per row, the same keys) as a Markdown table, every header and cell escaped. Columns whose
    cells all start with a digit are right-aligned.

    >>> print(markdown_table([{"token": 1, "RWKV ms": "1.50"}, {"token": 64, "RWKV ms": "1.62"}]))
    | token | RWKV ms |
    | ---: | ---: |
    | 1 | 1\\.50 |
    | 64 | 1\\.62 |
    """
    if not rows:
        return ""
    columns = list(rows[0])
    numeric = [all(str(row[c])[:1].isdigit() for row in rows) for c in columns]
    lines = ["| " + " | ".join(user_text(c, limit=200) for c in columns) + " |",
             "| " + " | ".join("---:" if num else "---" for num in numeric) + " |"]
    lines += ["| " + " | ".join(user_text(row[c], limit=200) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def table(rows: list[dict]) -> None:
    """A small table drawn as Markdown: the browser needs no extra code for it (Streamlit's `st.table` loads
    ~1 MB of dataframe code on a page's first visit, which held back everything else on the page)."""
    st.markdown(markdown_table(rows))

class BuildersNotes:
    """Collects a builders' expander's text and formulas, drawn as ONE Markdown element when the block ends
    (KaTeX `$$ … $$` for the formulas): a page run of a room sends one element, not ten."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def markdown(self, text: str) -> None:
        self.parts.append(text)

    def latex(self, expression: str) -> None:
        """A display formula. Its equation number follows it on the same line (`\\tag` pins the number to the
        right edge, where it sat on top of a wide formula on a phone)."""
        expression = re.sub(r"\\tag\{([^{}]*)\}", lambda m: r"\qquad\text{(" + m.group(1) + ")}", expression)
        self.parts.append(f"$$\n{expression}\n$$")


@contextlib.contextmanager
def for_builders(title: str = "For builders: the maths", code_pointer: str | None = None):
    """The collapsed "For builders" expander. Use what it yields for text and formulas (`notes.latex(...)`,
    `notes.markdown(...)`); other Streamlit calls in the block still work and come first."""
    notes = BuildersNotes()
    with st.expander(f"🔧 {title}"):
        yield notes
        if code_pointer:  # in the same element as the notes: one element less per page run
            notes.markdown(f":small[Computed in `{code_pointer}`.]")
        if notes.parts:
            st.markdown("\n\n".join(notes.parts))


_PRESENTER_CSS = """
<style>
html { font-size: 24px; }  /* 17 px text becomes 24 px: readable from the back of a room */
.block-container { max-width: 1600px; }
</style>
"""
PRESENT_VALUES = PRESENT_ON


def presenter_toggle() -> bool:
    """Sidebar switch for projector-sized text; `?present=1` in a link turns it on, and the URL follows it.
    The bigger type itself is `_PRESENTER_CSS`, which `page_header` sends."""
    from_link, notes = parse_present(st.query_params.get("present"))
    for note in notes:
        st.info(note, icon="🔗")
    # No widget key: widget state is dropped on a page switch, this plain session value is not.
    current = from_link or st.session_state.get("_presenter_on", False)
    on = st.sidebar.toggle("Presenter mode: bigger text", value=current,
                           help="For a projector: everything on the page grows. Links keep it (?present=1).")
    st.session_state["_presenter_on"] = on
    if on:
        if st.query_params.get("present") != "1":
            st.query_params["present"] = "1"
    elif "present" in st.query_params:
        del st.query_params["present"]
    return on


def initial_sidebar_state() -> str:
    """A presenter's link (?present=1) opens with the sidebar folded away: the projector shows the page."""
    return "collapsed" if parse_present(st.query_params.get("present"))[0] else "auto"


def presenter_on() -> bool:
    """Whether this session is in presenter mode (set by the sidebar switch or ?present=1)."""
    return bool(st.session_state.get("_presenter_on", False))


# Escape hides a glossary definition shown by hover or focus until it leaves the word (WCAG 1.4.13). Pages
# with a chart frame get it from the frame's script (app/stepper.py); `page_header(escape_key=True)` sends
# this for pages without one, once per browser page.
GLOSS_ESCAPE_HTML = f"""<script>
(function () {{
  if (window.__rwkvGlossEscapeMain) return;
  window.__rwkvGlossEscapeMain = true;
  document.addEventListener("keydown", ({GLOSS_ESCAPE_JS})(document));
}})();
</script>"""


def page_header(title: str, lead: str, presenter_lead: str | None = None, escape_key: bool = False) -> None:
    """The sidebar's presenter switch, then the title (a Markdown `#` heading: the same `<h1>` as `st.title`)
    and the lead paragraph, with the project CSS, in ONE element: every element adds a little server time to
    each page run of a room (benchmarks/page_cpu.py). The CSS is static and the title and lead are escaped
    by `with_tooltips`. `escape_key`: a page without a chart frame sends `GLOSS_ESCAPE_HTML` (in the sidebar:
    no gap above the title)."""
    present = presenter_toggle()
    if escape_key:
        st.sidebar.html(GLOSS_ESCAPE_HTML, unsafe_allow_javascript=True)
    if present:  # in the console's projector window a clicker's keys reach the console (app/present/console.py)
        from .present.console import PROJECTOR_KEYS_HTML

        st.sidebar.html(PROJECTOR_KEYS_HTML, unsafe_allow_javascript=True)  # no gap above the title
    if present and presenter_lead is not None:  # decided here: the switch has just read the link (first run too)
        lead = presenter_lead
    st.markdown(header_markdown(title, lead, present), unsafe_allow_html=True)


@functools.lru_cache(maxsize=64)
def header_markdown(title: str, lead: str, present: bool = False) -> str:
    """What `page_header` draws (cached: pages pass constant texts).

    >>> header_markdown("📖 Read along", "Hello.").endswith("# 📖 Read along\\n\\nHello.")
    True
    """
    return _CSS + (_PRESENTER_CSS if present else "") + "\n# " + with_tooltips(title) + "\n\n" + with_tooltips(lead)


# The guided path, in order: Start lists it, and each step ends with a link to the next one.
GUIDED_PATH = (
    ("pages/read_along.py", "Read along — watch a real model read your sentence", "📖"),
    ("pages/token_shift.py", "Token shift — how each word hears the one before", "🔀"),
    ("pages/fading_memory.py", "Fading memory — what the model still remembers", "🌫️"),
    ("pages/cost_race.py", "Cost race — RWKV against a same-size transformer, measured", "🏁"),
    ("pages/at_scale.py", "At scale — what it means for big models", "🏗️"),
    ("pages/caveats.py", "Claims and caveats — what a fixed memory cannot do", "⚖️"),
)


def guided_path_links() -> None:
    """Start's numbered list of the guided path."""
    for number, (path, label, icon) in enumerate(GUIDED_PATH, 1):
        st.page_link(path, label=f"{number}. {label}", icon=icon)


def next_on_the_path(current: str) -> None:
    """The last line of a guided page: a link to the next step (Start's link after the last), so a visitor on
    a phone goes on without the menu.

    Example (the end of pages/read_along.py):
        next_on_the_path("pages/read_along.py")   # → "Next, step 2 of 6: Token shift — …"
    """
    paths = [path for path, _, _ in GUIDED_PATH]
    at = paths.index(current)
    if at + 1 < len(GUIDED_PATH):
        path, label, icon = GUIDED_PATH[at + 1]
        label = f"Next, step {at + 2} of {len(GUIDED_PATH)}: {label}"
    else:
        path, label, icon = "pages/start.py", "That was the last step. Back to the start", "👋"
    try:
        st.page_link(path, label=label, icon=icon)
    except StreamlitPageNotFoundError:  # the page run on its own (a test), outside the app's navigation
        pass


_PAGE_TEMPLATES: list = []
_PAGE_LOCK = threading.Lock()


def page_list(build) -> list:
    """The app's `st.Page` list, built by `build()` once per process; every run gets fresh shallow copies.

    Building 11 pages resolves 11 paths and checks 11 icons (~1.4 ms of every page run). The objects cannot
    simply be shared: `st.navigation` marks the page it returns as runnable and `Page.run` clears the mark,
    so two sessions running at once would trip over one shared object. A copy per run is ~20 µs.

    Example (streamlit_app.py):
        st.navigation(page_list(lambda: [st.Page("pages/start.py", default=True), ...])).run()
    """
    with _PAGE_LOCK:
        if not _PAGE_TEMPLATES:
            _PAGE_TEMPLATES.extend(build())
        return [copy.copy(page) for page in _PAGE_TEMPLATES]
