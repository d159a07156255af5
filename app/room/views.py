"""The live room poll's UI pieces ("predict, then reveal"): used by pages/room.py and pages/join.py.

The presenter opens a room (`/room`), everyone joins on a phone (`/join?room=CODE`, QR code), votes, and
the presenter reveals the answer the app computes (app/room/questions.py). Room state lives in the store
(app/room/store.py); this module never sees SQL and never computes an answer itself.

- Pure pieces (unit-tested without Streamlit): `join_url`, `base_from`, `app_link`, `is_local`, `qr_png`,
  `tally_figure`, `format_value`, `clean_code`.
- Streamlit pieces: `room_store` (one store per process) and `store_call` (a store call whose failure is a
  plain message), `voter_id` (a random id per browser session, no personal data), `room_card` (code, QR
  code, join link), `ask_panel` (question picker, Ask), `ask_from_link` (`?ask=ID`), `presenter_live` and
  `participant_live` (fragments that refresh on their own: the tally every 1.5 s, the question every 2 s;
  each refresh is one room read and, for the tally, one tally query), `reveal_view`, `code_form`.
- Page sections: `open_room_panel`, `presenter_room` (the key check), `presenter_link_box`, `room_ok`.

Every message shown for a room problem is the store's plain-English `str(RoomError)`, escaped with
`app.escape.user_text` (a code typed by a visitor may be in it). Codes, links and options are never put
into HTML unescaped.

Example:
    >>> join_url("http://10.0.0.5:8501/room", "K7M2Q")
    'http://10.0.0.5:8501/join?room=K7M2Q'
    >>> join_url(None, "K7M2Q")
    '/join?room=K7M2Q'
    >>> fig = tally_figure(("yes", "no"), [3, 1], correct=(0,))
    >>> fig.data[0].y
    ('✓ yes', 'no')
"""
from __future__ import annotations

import contextlib
import csv
import html
import io
import logging
import re
import secrets
import urllib.parse
from typing import Sequence

import plotly.graph_objects as go
import streamlit as st
from numpy import format_float_positional

from app import stepper, ui
from app.escape import user_text
from app.glossary import with_tooltips
from app.theme import FONT, OKABE_ITO, base_layout

from . import questions as bank
from .store import ROOM_TTL, RoomError, RoomStore, open_store

log = logging.getLogger(__name__)

PRESENTER_REFRESH_S = 1.5  # the presenter's tally: votes show within ~2 s without a click
PARTICIPANT_REFRESH_S = 2.0  # a phone: a newly asked question shows within ~2 s
MAX_CODE_CHARS = 16  # a typed or linked code longer than this is no code (the store says "no such room")
BAR = OKABE_ITO["blue"]  # before the reveal, and the right answer after it (with a ✓)
BAR_OTHER = "#C4C8CE"  # the other options after the reveal: light grey, far from the blue in lightness
RIGHT_MARK = "✓"
TALLY_CONFIG = {"staticPlot": True, "displayModeBar": False, "responsive": True}  # the bar texts say it all
_LOCAL_HOSTS = ("localhost", "127.", "0.0.0.0", "[::1]", "::1")
# The app's page paths (streamlit_app.py): what `base_from` takes off a page's address to get the app's root.
_PAGE_SUFFIXES = ("/room", "/join", "/console", "/glossary", "/read-along", "/token-shift", "/fading-memory",
                  "/cost-race", "/at-scale", "/caveats")

_CSS = """
<style>
.room-sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
                clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.room-code { font-size: 4.5rem; font-weight: 800; letter-spacing: 0.3rem; line-height: 1.1;
             font-family: ui-monospace, Menlo, Consolas, monospace; color: #111; overflow-wrap: anywhere; }
.room-code-label { font-size: 1.1rem; color: #4a4c57; margin-bottom: 0.2rem; }
.room-prompt { font-size: 1.45rem; font-weight: 700; line-height: 1.35; margin: 0.4rem 0 0.6rem 0;
               overflow-wrap: anywhere; }
.room-count { font-size: 1.3rem; font-weight: 700; margin: 0; }
/* Votes: big tap targets on a phone (each option a full-width box of 52 px or more). */
.st-key-room_vote [data-testid="stRadio"], .st-key-room_vote [role="radiogroup"] { width: 100%; }
.st-key-room_vote [role="radiogroup"] { gap: 0.6rem; }
.st-key-room_vote [role="radiogroup"] > div { width: 100%; }
.st-key-room_vote [data-testid="stRadioOption"] { box-sizing: border-box; width: 100%; min-height: 52px; margin: 0;
  padding: 0.7rem 1rem; border: 2px solid #0072B2; border-radius: 12px; align-items: center; background: #fff; }
.st-key-room_vote [data-testid="stRadioOption"]:has(input:checked) { background: #e6f1f8; outline: 2px solid #0072B2; }
.st-key-room_vote [data-testid="stRadioOption"]:has(input:focus-visible) { outline: 3px solid #1a1a1a;
  outline-offset: 2px; }
.st-key-room_vote [data-testid="stRadioOption"] p { font-size: 1.2rem; line-height: 1.35; }
.st-key-room_vote [data-testid="stWidgetLabel"] p { font-size: 1.1rem; font-weight: 600; }
</style>
"""


# ---------------------------------------------------------------------------------------------
# Pure pieces


def clean_code(raw) -> str:
    """A room code as typed or linked: spaces and dashes dropped, upper case, at most MAX_CODE_CHARS + 1
    characters (so a long one stays long enough to be refused). Never trusted: the store checks it.

    >>> clean_code(" k7-m2q ")
    'K7M2Q'
    """
    if raw is None:
        return ""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    return re.sub(r"[\s\-]+", "", str(raw)).upper()[: MAX_CODE_CHARS + 1]


def base_from(url: str | None, host: str | None = None) -> str:
    """The app's root URL from the page's URL (`st.context.url`, e.g. "http://h:8501/room") or, failing
    that, the Host header ("http://h:8501"); "" when neither is known (links stay relative).

    >>> base_from("https://talk.example.org/app/room/")
    'https://talk.example.org/app'
    >>> base_from(None, "10.0.0.5:8501")
    'http://10.0.0.5:8501'
    """
    if url:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            path = parts.path.rstrip("/")
            for suffix in _PAGE_SUFFIXES:
                if path.endswith(suffix):
                    path = path[: -len(suffix)]
                    break
            return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    if host and re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", host):
        return f"http://{host}"
    return ""


def join_url(page_url: str | None, code: str, host: str | None = None) -> str:
    """The link participants open: `<app root>/join?room=CODE` (no presenter key in it, ever)."""
    return f"{base_from(page_url, host)}/join?{urllib.parse.urlencode({'room': code})}"


def app_link(base: str, link: str, present: bool = False) -> str:
    """An answer's relative deep link ("/read-along?prompt=…&step=3") on this app's root, with every
    character a Markdown link could trip on percent-encoded; `present=1` added for a presenter."""
    parts = urllib.parse.urlsplit(link)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if present and not any(k == "present" for k, _ in query):
        query.append(("present", "1"))
    path = urllib.parse.quote(parts.path or "/", safe="/-_.~")
    encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="")
    return f"{base}{path}" + (f"?{encoded}" if encoded else "")


def is_local(url: str) -> bool:
    """True when a phone could not open `url`: it points at this computer itself (localhost, 127.x)."""
    netloc = urllib.parse.urlsplit(url).netloc.lower()
    return any(netloc.startswith(h) for h in _LOCAL_HOSTS)


def qr_png(url: str, scale: int = 8) -> bytes:
    """A QR code of `url` as PNG bytes (segno, error correction M, a 2-module quiet zone)."""
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="png", scale=scale, border=2, dark="#000000",
                                                   light="#ffffff")
    return buf.getvalue()


def share_app_card(page: str = "read-along") -> None:
    """On a projector (the talk's last view): a square code and the address of `page` on this app, so the room
    tries it on their phones. Shows nothing where the page's address is unknown."""
    url, host = page_url()
    base = base_from(url, host)
    if not base.startswith("http"):
        return
    link = f"{base}/{page}"
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.image(qr_png(link), width=200, output_format="PNG", alt=f"QR code for {link}")
        with st.container():
            ui.text("**Try it on your phone:** point its camera at the square code, or open")
            st.code(link, language=None, wrap_lines=True)
    if is_local(link):
        st.info("Phones cannot open a localhost link: open this page with the computer's network address.", icon="📶")


def _wrap(text: str, width: int = 26) -> str:
    """An option label for a chart axis: HTML-escaped (Plotly reads tags in labels), broken into lines."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(html.escape(part, quote=False) for part in lines)


def tally_figure(options: Sequence[str], counts: Sequence[int], correct: Sequence[int] = (),
                 font_size: int = 16, title: str | None = None) -> go.Figure:
    """One horizontal bar per option (first option on top), each labelled with its votes and share.
    With `correct` given (the reveal), the right option(s) are blue and marked "✓" in the label and the
    bar text, and the others light grey: the mark reads without colour, the two bar colours differ in
    lightness for every kind of colour vision."""
    n = len(options)
    counts = [int(c) for c in list(counts)[:n]] + [0] * max(0, n - len(counts))
    total = sum(counts)
    right = set(correct)
    labels = [(f"{RIGHT_MARK} " if i in right else "") + opt for i, opt in enumerate(options)]
    texts = []
    for i, c in enumerate(counts):
        share = f" ({100 * c / total:.0f}%)" if total else ""
        texts.append(f"{c} vote{'' if c == 1 else 's'}{share}" + (f"  {RIGHT_MARK} right" if i in right else ""))
    colors = [BAR if (not right or i in right) else BAR_OTHER for i in range(n)]
    # The votes go under each answer's label, not after its bar: beside a bar they ran off a phone's screen
    # ("1 vote (5"), while the label's margin grows to fit.
    ticktext = [_wrap(label) + f"<br><b>{html.escape(text, quote=False)}</b>" for label, text in zip(labels, texts)]
    line_px = 1.3 * font_size
    rows_px = [max(52.0, line_px * (tick.count("<br>") + 1) + 14) for tick in ticktext]
    fig = go.Figure(go.Bar(
        x=counts, y=tuple(labels), orientation="h", text=texts, textposition="none",
        marker={"color": colors, "line": {"color": "#1b1b1b", "width": [2 if i in right else 0 for i in range(n)]}},
        hovertemplate="%{y}: %{x} votes<extra></extra>",
    ))
    top = max(counts) if counts else 0
    fig.update_layout(**base_layout(
        height=round(60 + sum(rows_px) + (40 if title else 0)), margin={"l": 10, "r": 20, "t": 50 if title else 10, "b": 30},
        showlegend=False, **({"title": {"text": title}} if title else {}),
        font={**FONT, "size": font_size, "color": "#1b1b1b"}, bargap=0.3,
        xaxis={"title": None, "rangemode": "tozero", "range": [0, max(1, top) * 1.05], "dtick": max(1, -(-top // 5)),
               "gridcolor": "#e5e7eb", "fixedrange": True},
        yaxis={"autorange": "reversed", "automargin": True, "fixedrange": True, "tickfont": {"size": font_size},
               "tickvals": tuple(labels), "ticktext": ticktext},
    ))
    return fig


@st.cache_resource(max_entries=256, ttl=ROOM_TTL, show_spinner=False)
def revealed_chart(options: tuple[str, ...], counts: tuple[int, ...], correct: tuple[int, ...], font_size: int):
    """The revealed tally, prepared once and shared: after the reveal every phone redraws it every 2 s, and the
    votes can no longer change, so each of those runs is a cache hit (a ~20 ms build otherwise)."""
    return stepper.prepare_still([tally_figure(options, counts, correct, font_size=font_size,
                                               title="The room's votes")])


def format_value(value: float, label: str = "") -> str:
    """A per-option value for the reveal. Probabilities and shares (the label says so, the value is 0–1) as
    percentages; other numbers with 3 significant digits, thousands separated, never in e-notation.

    >>> format_value(0.123456), format_value(12345.6), format_value(2.0), format_value(0.00002)
    ('0.123', '12,346', '2', '0.00002')
    >>> format_value(0.999, "model's probability"), format_value(2.04e-05, "model's probability")
    ('99.9%', 'under 0.01%')
    """
    if value != value:  # NaN
        return "—"
    if any(word in label.lower() for word in ("probability", "share", "chance")) and 0 <= value <= 1:
        pct = 100 * value
        if 0 < pct < 0.01:
            return "under 0.01%"
        return f"{pct:.3g}%" if pct < 100 else "100%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == 0 or abs(value) >= 0.001:
        return f"{value:.3g}"
    return format_float_positional(value, precision=2, fractional=False, trim="-")


# ---------------------------------------------------------------------------------------------
# Streamlit pieces


def inject_css() -> None:
    """The room pages' CSS (static, no user content)."""
    st.markdown(_CSS, unsafe_allow_html=True)


@st.cache_resource(show_spinner=False)
def room_store() -> RoomStore:
    """One store per server process ($RWKV_EXPLAINER_DATA SQLite, or $RWKV_EXPLAINER_DATABASE_URL)."""
    return open_store()


def answer_for(question) -> object | None:
    """The question's computed answer (app/room/questions.py keeps it after the first time), or None with a
    plain message."""
    try:
        return question.answer()
    except Exception:  # a failed computation must not show a stack trace to a room
        log.exception("room answer for %s failed", question.id)
        st.warning("The answer to this question could not be worked out just now. Try again in a moment.", icon="⚠️")
        return None


VOTER_COOKIE = "rwkv_voter"  # a random id, no name, no device data: one vote per phone, even after a reload
VOTER_COOKIE_DAYS = 1
_VOTER_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def plain_source(source: str) -> str:
    """An answer's source as the room reads it: the papers and what was computed, without the code pointers
    (file and function names are for builders; the page the answer links to has them under For builders).

    >>> plain_source("computed now from the shipped RWKV model (model/traces.py: trace_rwkv; app/figures.py: share)")
    'computed now from the shipped RWKV model'
    >>> plain_source("cost formulas (model/cost.py: at_scale_numbers; vLLM arXiv 2309.06180 §3)")
    'cost formulas (vLLM arXiv 2309.06180 §3)'
    """
    text = re.sub(r"[\w./]+\.py(?::\s*[\w.]+)?(?:;\s*|(?=\)))", "", source)
    return re.sub(r"\s*\(\s*\)", "", text).strip()


def voter_id() -> str:
    """This phone's voter id: random (no name, no device data), from the browser's `rwkv_voter` cookie when it
    sent one, else new. A phone that reloads the page (a phone browser often does, after the camera app read
    the QR code) or moves to another app process (room mode) stays the same voter: its vote is changed, not
    counted twice."""
    if "room_voter" not in st.session_state:
        try:
            kept = st.context.cookies.get(VOTER_COOKIE)
        except Exception:  # no browser request behind this session (a test)
            kept = None
        known = isinstance(kept, str) and bool(_VOTER_RE.fullmatch(kept))
        st.session_state["room_voter"] = kept if known else secrets.token_urlsafe(16)
        st.session_state["room_voter_kept"] = known
    return st.session_state["room_voter"]


def remember_voter() -> None:
    """Has the browser keep the voter id in a first-party cookie for a day (until it sends it back, each page
    run of this session writes it again: a script that never ran must not lose it). The id is our own
    `token_urlsafe`, so it is safe inside the script."""
    voter = voter_id()
    if not st.session_state.get("room_voter_kept"):
        st.html(f"<script>document.cookie = '{VOTER_COOKIE}={voter}; path=/; max-age={VOTER_COOKIE_DAYS * 86400}; "
                "samesite=lax';</script>", unsafe_allow_javascript=True)


def count_me_in(code: str) -> None:
    """Counts this phone as in room `code` once per session (the presenter sees how many joined). A failure only
    costs the count, so it is logged, not shown: the phone can still vote."""
    counted: set = st.session_state.setdefault("room_counted", set())
    if code in counted:
        return
    try:
        room_store().join(code, voter_id())
        counted.add(code)
    except Exception:
        log.warning("could not count a phone in room %s", code, exc_info=True)


def joined_words(n: int) -> str:
    """'1 phone joined', '12 phones joined'."""
    return f"{n} phone{'' if n == 1 else 's'} joined"


def page_url() -> tuple[str | None, str | None]:
    """(the page's URL as the browser reports it, the Host header): what the join link is built from."""
    try:
        url = st.context.url
    except Exception:
        url = None
    try:
        host = st.context.headers.get("host")
    except Exception:
        host = None
    return url, host


def problem(exc: Exception) -> None:
    """A room problem as one plain message (never a stack trace)."""
    if isinstance(exc, RoomError):
        st.warning(user_text(str(exc), limit=400), icon="🚪")
    else:
        log.error("room store failed", exc_info=exc)
        st.warning("The room could not be reached just now. The page tries again by itself in a moment.", icon="⚠️")


def store_call(method: str, *args):
    """`room_store().<method>(*args)`, or None after showing the problem as a plain message (opening the
    store can fail too: a database that is down, a bad URL)."""
    try:
        return getattr(room_store(), method)(*args)
    except Exception as exc:  # RoomError: the store's message; anything else: a generic one
        problem(exc)
        return None


def question_or_none(question_id: str | None):
    if not question_id:
        return None
    try:
        return bank.question(question_id)
    except KeyError:
        return None


def show_prompt(question) -> None:
    st.markdown(f'<div class="room-prompt" data-testid="room-prompt">{html.escape(question.prompt, quote=False)}</div>',
                unsafe_allow_html=True)


def room_card(code: str) -> str:
    """The code in big type, the QR code and the join link (one narrow column's worth). Returns the link."""
    url, host = page_url()
    link = join_url(url, code, host)
    st.markdown('<div class="room-code-label">Room code</div>'
                f'<div class="room-code" data-testid="room-code">{html.escape(code)}</div>',
                unsafe_allow_html=True)
    if link.startswith("http"):
        st.image(qr_png(link), width=220, output_format="PNG", alt=f"QR code for the join link {link}")
    ui.text("To join, point a phone's camera at the square code, or open:")
    st.code(link, language=None, wrap_lines=True)
    if is_local(link):
        st.info("Phones cannot open a localhost link. Open this page with the computer's network address "
                "instead, like `http://192.168.1.20:8501/room` (yours is different: the computer's network settings "
                "show it, and phones must be on the same Wi-Fi). The link and the square code then use it too.",
                icon="📶")
    return link


PAGE_TITLES = {"start": "Start here", "read-along": "Read along", "token-shift": "Token shift",
               "fading-memory": "Fading memory", "cost-race": "Cost race", "at-scale": "At scale",
               "caveats": "Claims and caveats", "glossary": "Glossary"}


def question_picker(current: str | None) -> str:
    """A choice over the question bank, grouped by page in the app's order ("Page · question"); returns the id."""
    order = list(PAGE_TITLES)
    ranked = sorted(enumerate(bank.QUESTIONS),
                    key=lambda iq: (order.index(iq[1].page) if iq[1].page in order else len(order), iq[0]))
    ids = [q.id for _, q in ranked]
    by_id = {q.id: q for q in bank.QUESTIONS}
    if st.session_state.get("room_pick") not in by_id:
        st.session_state["room_pick"] = current if current in by_id else ids[0]
    return st.selectbox("Question to ask", ids, key="room_pick",
                        format_func=lambda qid: f"{PAGE_TITLES.get(by_id[qid].page, by_id[qid].page)} · "
                                                f"{by_id[qid].prompt}")


def options_of(question) -> tuple[str, ...] | None:
    """The question's options (the first time, computed from the models), or None with a plain message."""
    try:
        return question.options
    except Exception:  # a failed computation must not show a stack trace to a room
        log.exception("room question %s could not be built", question.id)
        st.warning("This question could not be prepared just now. Try again in a moment, or pick another one.",
                   icon="⚠️")
        return None


def tally_chart(fig: go.Figure, what_you_see: str, key: str, live: str = "") -> None:
    """The tally as Streamlit's own Plotly chart, not `ui.chart`'s frame: it refreshes every 1–2 s, and
    Streamlit updates this chart in place (a frame would reload, and flash, at every new vote). `live`: a
    short line a screen reader says when it changes ("3 votes so far"), unseen, in the caption's element."""
    st.plotly_chart(fig, width="stretch", config=TALLY_CONFIG, key=key, theme=None)
    status = f' <span class="room-sr-only" role="status">{html.escape(live)}</span>' if live else ""
    st.caption(with_tooltips("**What you see:** " + what_you_see) + status, unsafe_allow_html=True)


def _vote_caption(total: int) -> str:
    return f"{total} vote{'' if total == 1 else 's'} so far"


def reveal_view(question, counts: Sequence[int], my_vote: int | None = None) -> None:
    """The tally against the computed answer: the right option(s) marked, the explanation, the values per
    option (if any), the source, and a link to the view that explains it."""
    answer = answer_for(question)
    if answer is None:
        return
    right = [question.options[i] for i in answer.correct if 0 <= i < len(question.options)]
    st.success(user_text("The answer: " + " / ".join(right), limit=400), icon="✅")
    if my_vote is not None and 0 <= my_vote < len(question.options):
        verdict = "You got it!" if my_vote in answer.correct else "Not this time, but now you know why."
        st.markdown(f"**Your vote:** {user_text(question.options[my_vote], limit=200)}. {verdict}")
    # After the reveal the votes are final, so the chart never changes: it is drawn like every other chart
    # (ui.chart: PNG / SVG buttons for a slide; the same page again on each refresh, so no flash).
    present = ui.presenter_on()

    def explanation() -> None:
        try:
            ui.text(answer.explanation)
        except KeyError:  # a [[term]] the glossary lacks: the text still shows
            st.markdown(user_text(answer.explanation, limit=4000))

    if present:  # on a projector the why comes first, on the screen; the votes under it
        explanation()
    ui.chart(revealed_chart(tuple(question.options), tuple(int(c) for c in counts), tuple(answer.correct),
                            20 if present else 16),
             f"one bar per answer, with how many people picked it. {RIGHT_MARK} marks the right answer "
             f"({_vote_caption(sum(counts)).replace(' so far', ' in all')}).", name="Chart: the room's votes")
    if not present:
        explanation()
    if answer.values:
        label = answer.value_label or "value"
        rows = [f"- {user_text(opt, limit=200)}: **{format_value(v, label)}**"
                for opt, v in zip(question.options, answer.values)]
        st.markdown(f"**{user_text(label[:1].upper() + label[1:], limit=120)}, worked out by the app:**\n"
                    + "\n".join(rows))
    st.caption(f"Source: {user_text(plain_source(answer.source), limit=600)}")
    if answer.link:
        url, host = page_url()
        target = app_link(base_from(url, host), answer.link, present=ui.presenter_on())
        st.link_button("See it on the page that explains it", target, icon="🔎")


# ---------------------------------------------------------------------------------------------
# Live views (fragments: they refresh on their own, and only they rerun)


@st.fragment(run_every=PRESENTER_REFRESH_S)
def presenter_live(code: str, token: str) -> None:
    """The current question, its live tally (one store read for the room, one tally query), Reveal."""
    if "room_reveal_problem" in st.session_state:
        problem(st.session_state.pop("room_reveal_problem"))
    room = store_call("room", code)
    if room is None:
        return
    question = question_or_none(room.question_id)
    joined = store_call("joined", code) or 0
    if question is None:
        st.info(f"No question yet ({joined_words(joined)} so far). Pick one above and press **Ask this question**. "
                "Phones show it at once.", icon="🙋")
        return
    show_prompt(question)
    options = options_of(question)
    counts = store_call("tally", code, question.id) if options else None
    if counts is None:
        return
    if room.revealed:
        reveal_view(question, counts)
        ui.move_focus_if_asked()
        return
    present = ui.presenter_on()

    def reveal_button() -> None:
        st.button("Reveal the answer", type="primary", key="room_reveal_button", icon="🎉", on_click=_reveal,
                  args=(code, token, question.id))

    so_far = f"{_vote_caption(sum(counts))}, {joined_words(joined)}"
    if present:  # on a projector (1280×720 too) the button and the count stay on the screen, above the votes
        with st.container(horizontal=True, vertical_alignment="center"):
            reveal_button()
            st.markdown(f'<p class="room-count" data-testid="room-count">{html.escape(so_far)}</p>',
                        unsafe_allow_html=True)
    tally_chart(tally_figure(options, counts, font_size=20 if present else 16),
                f"one bar per answer; it fills in as phones vote ({so_far}). "
                "People can change their vote until you reveal.", key="room_tally", live=so_far)
    if not present:
        reveal_button()


def _reveal(code: str, token: str, question_id: str) -> None:
    """The Reveal button's callback: it runs before the tally redraws, so the same run shows the answer.
    A refusal (another question asked meanwhile, the room ended) is shown by that run."""
    try:
        room_store().reveal(code, token, question_id)
        ui.focus_next_run('[data-testid="stAlert"]', "The answer:")  # the button is gone: the answer takes the focus
    except Exception as exc:
        st.session_state["room_reveal_problem"] = exc


def participant_live(code: str) -> None:
    """A phone's view of the room, drawn by the page run, and a small watcher that redraws it only when the
    presenter asks or reveals: with the answer on 200 phones, each 2 s refresh is one room read, not the
    whole reveal sent again."""
    participant_watch(code, participant_view(code))


@st.fragment(run_every=PARTICIPANT_REFRESH_S)
def participant_watch(code: str, drawn: tuple | None) -> None:
    """Every 2 s: has the room moved on from what this phone shows (`drawn`: `_drawn_state`)?"""
    try:
        now = _drawn_state(room_store().room(code))
    except Exception:  # the page run says what went wrong, in plain words
        now = None
    if now != drawn:
        st.rerun()


def _drawn_state(room) -> tuple:
    """What a phone's view depends on: the question, whether it is revealed, and the round it was asked in
    (started over, its votes were cleared: "your vote" must go even if the phone never saw it happen)."""
    return room.question_id, room.revealed, room.asked_round


def participant_view(code: str) -> tuple | None:
    """The current question and a vote, or the reveal. Returns what it drew (`_drawn_state`), or None
    when it could only show a message."""
    voter = voter_id()
    sent: dict = st.session_state.setdefault("room_sent", {})  # (code, question id) -> option index the store took
    shown = st.session_state.get("room_shown")  # (code, question id) drawn last time

    # A vote tapped since the last run goes to the store first: the store decides (closed, changed, too fast).
    refused = False
    if shown and shown[0] == code:
        widget = _vote_key(*shown)
        pending = st.session_state.get(widget)
        if pending is not None and pending != sent.get(shown):
            try:
                room_store().vote(code, voter, shown[1], pending)
                sent[shown] = pending
            except Exception as exc:
                problem(exc)
                refused = True
                st.session_state[widget] = sent.get(shown)  # the choice the store kept (or none)

    room = store_call("room", code)
    if room is None:
        st.session_state.pop("room_shown", None)
        return None
    drawn = _drawn_state(room)
    question = question_or_none(room.question_id)
    if question is None:
        st.session_state.pop("room_shown", None)
        st.info("You are in! Wait for the presenter to ask a question. It shows up here by itself.", icon="⏳")
        return drawn
    here = (code, question.id)
    if shown and shown != here and shown[0] == code and not refused:
        st.info("The presenter moved on to a new question.", icon="➡️")
    st.session_state["room_shown"] = here
    show_prompt(question)
    options = options_of(question)
    if options is None:
        return drawn
    # What the store counted, not what this phone remembers: if the presenter started this question over, its
    # votes were cleared, and "your vote" must go too.
    counted = store_call("vote_of", code, voter, question.id)
    if counted is None:
        sent.pop(here, None)
    else:
        sent[here] = int(counted)
    mine = sent.get(here)
    if room.revealed:
        counts = store_call("tally", code, question.id)
        if counts is not None:
            reveal_view(question, counts, my_vote=mine)
        return drawn
    widget = _vote_key(*here)
    if widget in st.session_state and st.session_state[widget] != mine:
        st.session_state[widget] = mine
    with st.container(key="room_vote"):
        st.radio("Tap your answer", list(range(len(options))), index=None, key=widget,
                 format_func=lambda i: user_text(options[i], limit=200), width="stretch")
    if mine is None:
        st.caption("Nobody sees who voted what. You can change your vote until the answer is shown.")
    else:
        st.markdown(f"**Your vote:** {user_text(options[mine], limit=200)}. "
                    "You can change it until the answer is shown.")
    return drawn


def _vote_key(code: str, question_id: str) -> str:
    return f"vote__{code}__{question_id}"


# ---------------------------------------------------------------------------------------------
# Page sections


def open_room_panel() -> None:
    """/room with no room yet: how it works, and the button that opens one (code and key go in the URL)."""
    from .store import ROOM_TTL

    hours = int(ROOM_TTL.total_seconds() // 3600)
    ui.text("**How it works**\n\n"
            "1. Press **Open a room**. You get a short room code and a square code that phone cameras can read "
            "(a QR code).\n"
            "2. People scan it, or open the join link. No sign-up and no names.\n"
            "3. Pick a question and press **Ask this question**. Each phone shows it, and the votes appear here "
            "within a few seconds.\n"
            "4. Press **Reveal the answer**. Everyone sees the right answer and why. The app works it out with the "
            f"real [[model]], so it is never typed in by hand.\n\n"
            f"A room stays open for {hours} hours.")
    if st.button("Open a room", type="primary", icon="🚪", key="room_open"):
        open_room_into_link()


def open_room_into_link(focus: tuple[str, str | None] = ('[data-testid="room-code"]', None)) -> None:
    """Opens a room and puts its code and presenter key in this page's address (and this session's keys,
    which the presenter console reads), then reruns; a store problem is one plain message. `focus`: where the
    keyboard's focus goes in the next run (`ui.focus_next_run`): the button is gone then."""
    made = store_call("create_room")
    if made is not None:
        room, token = made
        ui.focus_next_run(*focus)
        st.session_state.setdefault("room_keys", {})[room.code] = token
        st.query_params.update({"room": room.code, "token": token})
        st.session_state.pop("room_pick", None)
        st.rerun()


def no_room_for_this_poll() -> None:
    """/room?ask=… without a room: a poll view the presenter console sent before a room was open. A room
    opened here would be this window's alone (the console would not know it, and the next poll would ask
    for a new one), so it says where to open it."""
    st.info("No room is open for this talk's polls yet. On the presenter console, press **Open a room for the "
            "polls**. This window then shows the question and the code to join.", icon="🙋")


def presenter_room(code: str, token: str):
    """Room `code` if this link can run it, else None. If the room is gone, or the key is missing or wrong,
    says so plainly (a wrong key gets the phone's view of the room instead, so the visitor can still vote)."""
    room = store_call("room", code)
    if room is None:
        st.page_link("pages/room.py", label="Open a new room", icon="🚪")
        return None
    if token and store_call("is_presenter", code, token):
        return room
    shown = user_text(code, limit=MAX_CODE_CHARS + 1)
    if not token and ui.presenter_on():  # a projector window reloaded: its key was never in its address
        projector_without_key(code, shown)
        return None
    if token:
        st.warning(f"This link's presenter key does not match room {shown}, so you cannot ask questions here. "
                   "You can still vote, below. To run your own poll, open a new room.", icon="🔑")
    else:
        st.warning(f"This link has no presenter key for room {shown}, so you cannot ask questions here. "
                   "You can still vote, below. To run your own poll, open a new room.", icon="🔑")
    st.page_link("pages/room.py", label="Open a new room", icon="🚪")
    participant_live(code)
    return None


def projector_without_key(code: str, shown: str) -> None:
    """A projector that lost its presenter key (a reload: in presenter mode the key leaves the address bar, so
    the room cannot read it off the screen). It keeps showing what the room needs, the code, the square code
    and the question asked, not a voting form, and tells the presenter how to get the controls back."""
    st.warning(f"This window lost the presenter key for room {shown} when it reloaded (on a projector the key "
               "never stays in the address). To get the controls back, press **Next** or **Previous** on the "
               "presenter console, or open your presenter link again. People can still join and vote. (To vote "
               "from this window instead, switch presenter mode off.)", icon="🔑")
    join, live = st.columns([2, 3], gap="large")
    with join:
        room_card(code)
    with live:
        projector_question(code)


@st.fragment(run_every=PARTICIPANT_REFRESH_S)
def projector_question(code: str) -> None:
    """The question asked now, refreshed like a phone's view (it may be asked from another window)."""
    room = store_call("room", code)
    question = question_or_none(room.question_id) if room is not None else None
    if question is not None:
        show_prompt(question)


def presenter_key(code: str) -> str:
    """The presenter key for room `code`: from the link (`token=`), then kept in this session. In presenter mode
    (the projector, where the console sends its poll views) the key leaves the address bar at once, so the room
    cannot read it off the screen; the session keeps it.

    A bookmark or the console puts it back in the next link, so a projector that reconnects gets it again."""
    keys: dict = st.session_state.setdefault("room_keys", {})
    raw = st.query_params.get("token")
    if raw:
        keys[code] = str(raw)
        if ui.presenter_on():
            del st.query_params["token"]
    return keys.get(code, "")


def presenter_link_box(code: str, token: str) -> None:
    """The bookmarkable presenter link, folded away; not shown at all in presenter mode (the projector)."""
    if ui.presenter_on():
        return
    url, host = page_url()
    link = f"{base_from(url, host)}/room?" + urllib.parse.urlencode({"room": code, "token": token})
    st.caption("🔑 This page's address holds your presenter key. Keep it to yourself. Share only the join link or "
               "the square code: they do not contain the key.")
    with st.expander("Your presenter link (keep it private)"):
        st.caption("Bookmark it to come back to this room from any computer for the next hours.")
        st.code(link, language=None, wrap_lines=True)
        # The ready talk's poll views ask their question in this room when the console knows its code and key.
        st.page_link("pages/console.py", label="Give a talk with this room: open the presenter console", icon="🎤",
                     query_params={"room": code, "token": token})


def ask_from_link(code: str, token: str, current: str | None) -> str | None:
    """`?ask=QUESTION_ID` (the presenter console's links): ask that question unless it is already the
    current one. The parameter leaves the URL once used, so the picker is not overridden later.
    Returns the current question id after it."""
    raw = st.query_params.get("ask")
    if raw is None:
        return current
    del st.query_params["ask"]
    question = question_or_none(str(raw).strip())
    if question is None:
        st.info(f'The link asks question "{user_text(raw)}", which this app does not have. Pick one below.',
                icon="🔗")
        return current
    st.session_state["room_pick"] = question.id
    options = options_of(question)
    if question.id == current or options is None:
        return current
    room = store_call("ask", code, token, question.id, len(options))
    return room.question_id if room is not None else current


def ask_panel(code: str, token: str, current: str | None) -> None:
    """The question picker and the Ask button; in presenter mode, once a question is asked, folded away so the
    projector shows the question and its tally on the first screen."""
    fold = ui.presenter_on() and current is not None
    with st.expander("Ask another question", expanded=False) if fold else contextlib.nullcontext():
        _ask_controls(code, token, current)


def _ask_controls(code: str, token: str, current: str | None) -> None:
    chosen = question_picker(current)
    kept = store_call("asked", code, chosen)  # after the buttons' callbacks: a question just asked reads as such
    if kept is not None and chosen != current:
        st.caption(asked_before_note(kept))
    ask, over = st.columns(2)
    with ask:
        st.button("Ask this question", type="primary", key="room_ask", icon="🙋", on_click=_ask,
                  args=(code, token, False))
    with over:  # for a question this room asked already (its count may grow after this run: no number here)
        if kept is not None:
            st.button("Start it over", key="room_ask_fresh", icon="🔄", on_click=_ask, args=(code, token, True),
                      help="Ask it again with no votes: the votes it has are cleared and its answer is hidden.")


def _ask(code: str, token: str, fresh: bool) -> None:
    """The Ask / Start it over buttons' callback: it runs before the page, so the page shows the question asked.
    The question is the picker's value now (a choice made in the same round trip as the click counts)."""
    question = question_or_none(st.session_state.get("room_pick"))
    options = options_of(question) if question is not None else None
    if options and store_call("ask", code, token, question.id, len(options), fresh) is not None:
        st.toast("Asked. Phones show it within a few seconds.", icon="📱")


def asked_before_note(kept) -> str:
    """What asking an earlier question again brings back, e.g. "Asked before in this room: 12 votes, answer
    shown. Asking it again shows them again; Start it over clears them."."""
    votes = f"{kept.votes} vote{'' if kept.votes == 1 else 's'}"
    shown = "answer shown" if kept.revealed else "answer not shown yet"
    if not kept.votes:
        return f"Asked before in this room: no votes yet, {shown}."
    return (f"Asked before in this room: {votes}, {shown}. Asking it again brings them back; "
            "**Start it over** clears them.")


def results_rows(results, answers: dict, prompts: dict | None = None) -> list[dict]:
    """One row per option of every question asked, for the results file: the question's id and words, the
    option, votes, share of the question's votes, and whether it is right ("yes"/"no" once revealed, blank
    before: a download must not give the answer away). `results`: `RoomStore.results`; `answers`: question id
    -> (options, correct indices); `prompts`: question id -> its words."""
    rows = []
    for asked, counts in results:
        options, correct = answers.get(asked.question_id, ((), ()))
        total = sum(counts)
        for i, votes in enumerate(counts):
            rows.append({
                "question": asked.question_id,
                "asked": (prompts or {}).get(asked.question_id, ""),
                "option": options[i] if i < len(options) else f"option {i + 1}",
                "votes": votes,
                "share": f"{votes / total:.0%}" if total else "",
                "right": ("yes" if i in correct else "no") if asked.revealed else "",
            })
    return rows


def csv_text(rows: list[dict]) -> str:
    """The rows as CSV. A cell that a spreadsheet would read as a formula (it starts with =, +, -, @, a tab or
    a carriage return: model-written options can) gets a leading apostrophe.

    >>> csv_text([{"option": "=1+1", "votes": 3}]).splitlines()
    ['option,votes', "'=1+1,3"]
    """
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v)
                         for k, v in row.items()})
    return out.getvalue()


@st.fragment
def results_panel(code: str) -> None:
    """Every question this room asked, its votes and (once revealed) how many got it right, with a CSV
    download: for the end of a workshop. A fragment: its Refresh button reruns only this panel."""
    results = store_call("results", code)
    if not results:
        return
    with st.expander(f"📋 Results of this room: {len(results)} question{'' if len(results) == 1 else 's'} asked"):
        answers, prompts, table = {}, {}, []
        for asked, counts in results:
            question = question_or_none(asked.question_id)
            options = options_of(question) if question is not None else None
            if options is None:
                continue
            correct = question.answer().correct
            answers[asked.question_id] = (options, correct)
            prompts[asked.question_id] = question.prompt
            right = sum(counts[i] for i in correct if i < len(counts))
            table.append({"Question": question.prompt, "Votes": sum(counts),
                          "Got it right": (f"{right / sum(counts):.0%}" if sum(counts) else "no votes")
                          if asked.revealed else "answer not shown yet"})
        st.dataframe(table, hide_index=True, width="stretch")
        c1, c2 = st.columns(2)
        # UTF-8 with a byte-order mark, so a spreadsheet reads the curly quotes and emoji right
        data = "\ufeff" + csv_text(results_rows(results, answers, prompts))
        c1.download_button("Download the results (CSV)", data,
                           file_name=f"room-{code}-results.csv", mime="text/csv", icon="⬇️", key="room_results_csv")
        c2.button("Refresh", key="room_results_refresh", icon="🔄", help="Read the votes again.")
        st.caption("One line per answer in the file: the question, the answer, its votes and share, and "
                   "whether it is right (left blank until you reveal it). No names: the app keeps none.")


def room_badge(code: str) -> None:
    """A phone's reminder of which room it is in (the code, escaped; the store accepted it)."""
    st.caption(f"Room {user_text(code, limit=MAX_CODE_CHARS + 1)}. This page updates by itself.")


def room_ok(code: str) -> bool:
    """/join: whether room `code` can be joined; if not, the store's plain message."""
    return store_call("room", code) is not None


def code_form(code: str = "") -> None:
    """/join with no (good) code: a small form to type one; the code goes into the URL."""
    with st.form("join_form", border=True):
        typed = st.text_input("Room code", value="", max_chars=MAX_CODE_CHARS, key="join_code",
                              placeholder="for example K7M2Q", help="The short code on the presenter's screen.")
        if st.form_submit_button("Join", type="primary", icon="📱"):
            cleaned = clean_code(typed)
            if not cleaned:
                st.warning("Type the room code from the presenter's screen first.", icon="⌨️")
            else:
                st.query_params["room"] = cleaned
                st.session_state.pop("room_shown", None)
                st.rerun()
