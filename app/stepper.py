"""The in-browser step-through: token chips, Next / Back / Play / Reset and arrow keys, driving any
number of Plotly figures that carry one animation frame per step. Stepping never calls the server:
the whole trace is computed once (cached), sent once, and the browser switches frames.

Safety: all data travels as JSON inside `<script type="application/json">` with `<`, `>`, `&`
escaped; token text is put on the page with `textContent` only, never parsed as HTML.

Example (in a page):
    stepper([top5_fig, state_fig], labels=trace.pieces, key="read", start=3,
            notes=["This token cost …" for _ in trace.pieces])
"""
from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import dataclass, field

from .assets import PLOTLY_JS_URL
from .glossary import GLOSS_ESCAPE_JS



@dataclass
class StepperSpec:
    """Everything the browser needs; `to_json` is what gets embedded."""

    figures: list[dict]
    heights: list[int]
    labels: list[str]
    kinds: list[str]
    notes: list[str]
    summaries: list[str]  # what a screen reader announces at each step (token, top guess, memory …)
    url_param: str | None = "step"
    play_ms: int = 700
    first_label: str = "Token"
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        raw = json.dumps(self.__dict__, separators=(",", ":"), allow_nan=False, default=_plain)
        return safe_json_for_script(raw)


def _plain(value):
    """JSON for what `json` does not know: numpy arrays and numbers (from a `go.Figure`'s JSON)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def safe_json_for_script(raw: str) -> str:
    """Make JSON text safe inside a <script> element: no `</script>`, `<!--` or entity tricks."""
    return raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def display_piece(piece: str) -> str:
    r"""Token text as a chip shows it: spaces kept visible, newlines and control characters named, and
    invisible format characters (joiners, emoji-style selectors, direction marks) shown as their code, so a
    chip is never blank and a direction mark cannot reorder what follows.

    >>> display_piece(" a\n")
    '\xa0a↵'
    >>> display_piece("\u200d")
    '⟨U+200D⟩'
    """
    out = []
    for ch in piece:
        if unicodedata.category(ch) == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F:
            out.append(f"⟨U+{ord(ch):04X}⟩")
            continue
        if ch == "\n":
            out.append("↵")
        elif ch == "\t":
            out.append("⇥")
        elif ch == " ":
            out.append("\u00a0")
        elif ord(ch) < 32:
            out.append(chr(0x2400 + ord(ch)))
        elif ord(ch) == 127:
            out.append("␡")
        else:
            out.append(ch)
    return "".join(out) or "∅"


def figure_json(fig) -> dict:
    """A figure as Plotly JSON: plain dicts (app/figures.py's stepper figures) pass through untouched."""
    return fig if isinstance(fig, dict) else fig.to_plotly_json()


def build_spec(figures: list, labels: list[str], *, kinds: list[str] | None = None,
               notes: list[str] | None = None, summaries: list[str] | None = None,
               url_param: str | None = "step", play_ms: int = 700) -> StepperSpec:
    """`figures`: Plotly figure dicts (or `go.Figure`s), each with one frame per label, or none at all
    (a still chart that belongs with the step-through, e.g. a setting of the model)."""
    n = len(labels)
    figures = [figure_json(fig) for fig in figures]
    for fig in figures:
        frames = len(fig.get("frames") or [])
        if frames not in (0, n):
            raise ValueError(f"each figure needs one frame per step (or none): {frames} frames for {n} steps")
    return StepperSpec(
        figures=figures,
        heights=[int(fig["layout"].get("height") or 380) for fig in figures],
        labels=[display_piece(s) for s in labels],
        kinds=kinds or ["prompt"] * n,
        notes=notes or [""] * n,
        summaries=summaries or [f"Token {i + 1} of {n}: “{display_piece(piece)}”." for i, piece in enumerate(labels)],
        url_param=url_param,
        play_ms=play_ms,
    )


@dataclass(frozen=True)
class PreparedStepper:
    """A stepper ready to draw: its escaped JSON (the frame sizes itself to it). Cheap to cache and show again."""

    json: str
    n_steps: int


def prepare(figures: list, labels: list[str], *, kinds=None, notes=None, summaries=None, url_param: str | None = "step",
            play_ms: int = 700) -> PreparedStepper:
    """`summaries`: one plain sentence per step for screen readers (default: the token and its number)."""
    spec = build_spec(figures, labels, kinds=kinds, notes=notes, summaries=summaries, url_param=url_param,
                      play_ms=play_ms)
    return PreparedStepper(json=spec.to_json(), n_steps=len(labels))


def prepare_still(figures: list, columns: int = 1) -> PreparedStepper:
    """Charts with no steps (a setting of the model, a cost curve): drawn by the same page as the step-through,
    so they get its phone and projector sizes and its PNG / SVG download buttons, without the step controls.

    >>> prepare_still([{"data": [], "layout": {"title": {"text": "Half-lives"}}}]).n_steps
    0
    """
    spec = build_spec(figures, [], url_param=None)
    spec.extra = {"columns": columns}  # side by side where the frame is wide enough, stacked on a phone
    return PreparedStepper(json=spec.to_json(), n_steps=0)


PRESENTER_EXTRA_FIGURE_HEIGHT = 40  # room for 20 px axis titles under each chart (projectorSizes)


@functools.lru_cache(maxsize=512)  # a room asks for the same few views again and again
def stepper_html(prepared: PreparedStepper, start: int = 0, plotly_src: str = PLOTLY_JS_URL, present: bool = False) -> str:
    """The iframe's page. `present`: projector sizes (every text at least 20 px, charts included)."""
    start = max(0, min(int(start), prepared.n_steps - 1)) if prepared.n_steps else 0
    body_class = " ".join(c for c, on in (("present", present), ("still", not prepared.n_steps)) if on)
    return (_TEMPLATE.replace("__PLOTLY_SRC__", plotly_src).replace("__START__", str(start))
            .replace("__BODY_CLASS__", body_class)
            .replace("__PRESENT__", "true" if present else "false")
            .replace("__EXTRA_FIG__", str(PRESENTER_EXTRA_FIGURE_HEIGHT))
            .replace("__GLOSS_ESCAPE__", GLOSS_ESCAPE_JS)
            .replace("__DATA__", prepared.json))


def show(prepared: PreparedStepper, start: int = 0, name: str = "Step-through: the text token by token, with its charts") -> None:
    """Draw a prepared stepper in the page: an iframe that shares the app's origin (st.iframe allows scripts
    and same-origin access), so the JSON escaping and `textContent` are the defence, not a sandbox."""
    import streamlit as st

    from .ui import presenter_on

    present = presenter_on()
    # height="content": Streamlit sizes the frame to what it holds (chips wrap more on a phone, charts grow in
    # presenter mode), so there is no blank gap under it and nothing is cut.
    st.iframe(stepper_html(prepared, start, present=present), alt=name, height="content")


def show_still(prepared: PreparedStepper, name: str = "Chart") -> None:
    """Draw charts from `prepare_still` (one element, whatever the number of charts)."""
    show(prepared, 0, name=name)


def stepper(figures: list, labels: list[str], *, kinds=None, notes=None, start: int = 0,
            url_param: str | None = "step", play_ms: int = 700) -> None:
    """Build and draw a stepper in one go (for small, cheap figures; cache `prepare` for big ones)."""
    show(prepare(figures, labels, kinds=kinds, notes=notes, url_param=url_param, play_ms=play_ms), start)


_TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Step through the text, token by token</title>
<style>
  body { font-family: "Source Sans Pro", "Source Sans 3", system-ui, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; padding: 2px 4px; color: #262730; }
  #controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
  button { font-size: 17px; padding: 6px 14px; border-radius: 8px; border: 1px solid #bbb; background: #fff; cursor: pointer; }
  button:hover { border-color: #0072B2; color: #0072B2; }
  button:focus-visible, .chip:focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; }
  #position { font-size: 17px; font-weight: 600; margin-left: 6px; }
  #chips { display: flex; flex-wrap: wrap; gap: 4px; max-height: 110px; overflow-y: auto; margin-bottom: 6px; }
  /* More chips than the box shows: the cut edge fades out, so a half row reads as "scroll for more". The
     current chip keeps clear of the fade (scroll-margin). */
  #chips .chip { scroll-margin: 16px 0; }
  #chips.more-below { -webkit-mask-image: linear-gradient(to bottom, #000 calc(100% - 16px), transparent);
                      mask-image: linear-gradient(to bottom, #000 calc(100% - 16px), transparent); }
  #chips.more-above { -webkit-mask-image: linear-gradient(to top, #000 calc(100% - 16px), transparent);
                      mask-image: linear-gradient(to top, #000 calc(100% - 16px), transparent); }
  #chips.more-above.more-below { -webkit-mask-image: linear-gradient(transparent, #000 16px, #000 calc(100% - 16px), transparent);
                                 mask-image: linear-gradient(transparent, #000 16px, #000 calc(100% - 16px), transparent); }
  .chip { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 16px; padding: 2px 6px; border-radius: 6px;
          border: 1px solid #ccc; background: #f4f4f4; cursor: pointer; white-space: pre; }
  .chip.generated { border-style: dashed; background: #fff8e6; }
  .chip.read { background: #dbeaf5; }
  .chip.current { background: #E69F00; border: 2px solid #000; color: #000; font-weight: 700; }  /* no underline: it underlined the leading space ("_upon") */
  .sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
  #note { font-size: 16px; min-height: 1.4em; margin: 4px 0 6px 0; }
  .fig { width: 100%; }
  .cell { min-width: 0; }
  @media (min-width: 700px) { #figs.cols2 { display: grid; grid-template-columns: 1fr 1fr; column-gap: 16px; } }
  #error { color: #D55E00; font-weight: 600; }
  body.still #controls, body.still #chips, body.still #note { display: none; }
  .dl { display: flex; gap: 6px; justify-content: flex-end; margin: 0 0 6px 0; }
  .dl button { font-size: 14px; padding: 3px 10px; }
  body.present .dl { display: none; }  /* the projector shows the chart, not the tools */
  body.phone .dl { display: none; }  /* a phone: the charts, not the tools (they pushed the content down) */
  body.present button, body.present #position { font-size: 24px; }
  body.present .chip { font-size: 22px; padding: 3px 8px; }
  body.present #chips { max-height: 140px; }
  body.present #note { font-size: 21px; }
  /* Touch screens: buttons a finger can hit (44 px, as phone makers advise). */
  @media (pointer: coarse) { button { min-height: 44px; min-width: 44px; } .dl button { min-height: 44px; padding: 3px 14px; }
    .chip { padding: 6px 8px; } #chips { gap: 6px; max-height: 136px; } }
</style>
</head><body class="__BODY_CLASS__">
<div id="controls" role="group" aria-label="Step through the text">
  <button id="reset" data-testid="stepper-reset" title="Back to the first token (Home)">↺ Reset</button>
  <button id="back" data-testid="stepper-back" title="Previous token (← or Page Up)">◀ Back</button>
  <button id="next" data-testid="stepper-next" title="Next token (→, Space or Page Down)">Next ▶</button>
  <button id="play" data-testid="stepper-play" title="Play / pause (P)">▶ Play</button>
  <span id="position" data-testid="stepper-position"></span>
</div>
<div id="chips" data-testid="stepper-chips" role="group" aria-label="The text, one chip per token (Enter on a chip jumps there)"></div>
<div id="note" data-testid="stepper-note"></div>
<div id="summary" class="sr-only" data-testid="stepper-summary" role="status" aria-live="polite"></div>
<div id="figs"></div>
<div id="error"></div>
<script type="application/json" id="spec">__DATA__</script>
<script>
(function () {
  const spec = JSON.parse(document.getElementById("spec").textContent);
  const n = spec.labels.length, PRESENT = __PRESENT__, PRESENTER_EXTRA_FIGURE_HEIGHT = __EXTRA_FIG__;
  const NARROW = window.innerWidth < 600;
  try { if (window.parent.innerWidth < 600) document.body.classList.add("phone"); } catch (e) { /* cross-origin */ }
  const REDUCED_MOTION = !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  let step = __START__, timer = null;
  const chipsEl = document.getElementById("chips"), figsEl = document.getElementById("figs");
  const chips = spec.labels.map(function (label, i) {
    const c = document.createElement("span");
    c.className = "chip " + (spec.kinds[i] || "prompt");
    c.textContent = label;                       // text only, never HTML
    c.title = (spec.kinds[i] === "generated" ? "written by the model · " : "") + "token " + (i + 1);
    c.setAttribute("role", "button");
    c.setAttribute("aria-label", "token " + (i + 1) + ": " + label + (spec.kinds[i] === "generated" ? " (written by the model)" : ""));
    c.tabIndex = -1;                             // one tab stop for all chips: the current one
    c.dataset.step = String(i);
    c.addEventListener("click", function () { stop(); go(i); });
    c.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); e.stopPropagation(); stop(); go(i); }
    });
    chipsEl.appendChild(c);
    return c;
  });
  function chipsFade() {
    chipsEl.classList.toggle("more-below", chipsEl.scrollTop + chipsEl.clientHeight < chipsEl.scrollHeight - 2);
    chipsEl.classList.toggle("more-above", chipsEl.scrollTop > 2);
  }
  chipsEl.addEventListener("scroll", chipsFade, {passive: true});
  // Scrolls the chip box only. scrollIntoView would also scroll the page around this frame (same origin):
  // a phone opened Start scrolled down to the teaser's chips, and Play pulled a reader back up to them.
  function chipInView(chip) {
    const box = chipsEl.getBoundingClientRect(), r = chip.getBoundingClientRect(), margin = 16;
    if (r.top < box.top + margin) chipsEl.scrollTop -= box.top + margin - r.top;
    else if (r.bottom > box.bottom - margin) chipsEl.scrollTop += r.bottom - (box.bottom - margin);
  }
  window.addEventListener("resize", chipsFade);
  const divs = [];
  if ((spec.extra || {}).columns === 2) figsEl.classList.add("cols2");
  function drawFigures() {
   if (typeof Plotly === "undefined") {
    document.getElementById("error").textContent = "The charts could not load (static/plotly-cartesian.min.js missing or static serving off). Reload the page.";
   } else {
    // Each chart is drawn in a task of its own (and its step frames added in another): one long task for
    // all of them kept the page from answering a click or a key for up to a second on a first visit.
    const jobs = [];
    spec.figures.forEach(function (fig, j) {
      const d = document.createElement("div");
      d.className = "fig"; d.dataset.testid = "stepper-figure";
      d.setAttribute("data-testid", "stepper-figure");
      d.setAttribute("role", "figure");  // not "img": the chart holds focusable buttons (Plotly's toolbar)
      const title = (fig.layout.title && fig.layout.title.text) ||
        (fig.layout.annotations || []).map(function (a) { return a.text; }).join(" and ") || "chart";
      d.setAttribute("aria-label", n ? title + " (the step's summary is read out as you step)" : title);
      const cell = document.createElement("div");
      cell.className = "cell";
      cell.appendChild(d);
      cell.appendChild(downloadRow(d, title));
      figsEl.appendChild(cell);
      d.__still = !(fig.frames || []).length;
      divs.push(d);
      jobs.push(function () { draw(d, fig, j); });
    });
    (function next(i) {
      if (i >= jobs.length) return;
      jobs[i]();
      setTimeout(function () { next(i + 1); }, 0);
    })(0);
   }
  }
  function draw(d, fig, j) {
    const layout = Object.assign({}, fig.layout, {autosize: true, height: spec.heights[j]});
    fitAxes(layout);
    if (PRESENT) projectorSizes(layout, j, fig.data);
    else if (NARROW) {
      phoneSizes(layout);
      fig.data.forEach(function (t) {  // long legend entries wrap instead of running past the chart's edge
        if (t.name && String(t.name).length > 26) t.name = wrapText(t.name, 26).join("<br>");
        // Numbers over narrow bars: Plotly shrinks them to the bar's width (6 px type); upright, full size.
        if (t.type === "bar" && t.textposition === "outside" && t.orientation !== "h") {
          t.textangle = -90; t.constraintext = "none";
        }
      });
    }
    // No Plotly toolbar: it covered the title on a phone, cluttered a slide, and put 8-10 mouse-only tools per
    // chart in a keyboard's Tab path (zoom, lasso ...); the page's own ⬇ PNG / ⬇ SVG buttons save the chart.
    Plotly.newPlot(d, fig.data, layout, {displaylogo: false, responsive: true, displayModeBar: false,
      toImageButtonOptions: {format: "png", scale: 2}}).then(function () {
        return (fig.frames || []).length ? new Promise(function (done) { setTimeout(done, 0); }) : null;
      }).then(function () {
        return Plotly.addFrames(d, fig.frames || []);
      }).then(function () { d.__ready = true; showFrame(d, step); });
  }
  function whenPlotly(then) {
    if (typeof Plotly !== "undefined") { then(); return; }
    // Load the chart code (1.5 MB) once the page around this frame has painted: it is compiled on the
    // page's own thread, and loaded first it held back everything else on a first visit.
    let asked = false;
    function load() {
      if (asked) return;
      asked = true;
      const s = document.createElement("script");
      s.src = "__PLOTLY_SRC__";
      s.onload = s.onerror = function () { setTimeout(then, 0); };  // the charts start in a task of their own
      document.head.appendChild(s);
    }
    requestAnimationFrame(function () { setTimeout(load, 0); });
    setTimeout(load, 150);  // a frame the browser does not paint yet (a background window) still gets its charts
  }
  function slug(text) {
    return String(text).replace(/<[^>]*>/g, " ").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "chart";
  }
  function downloadRow(d, title) {  // every chart saves as PNG or SVG, as it is now (at the current step)
    const row = document.createElement("div");
    row.className = "dl"; row.setAttribute("role", "group"); row.setAttribute("aria-label", "Save this chart");
    ["png", "svg"].forEach(function (format) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = "⬇ " + format.toUpperCase();
      b.dataset.testid = "chart-download-" + format; b.setAttribute("data-testid", "chart-download-" + format);
      b.setAttribute("aria-label", "Save the chart " + String(title).replace(/<[^>]*>/g, " ") + " as " + format.toUpperCase());
      b.addEventListener("click", function () {
        const name = "rwkv-explainer-" + slug(title) + (n ? "-token-" + (step + 1) : "");
        const w = Math.max(d.offsetWidth || 0, 800), h = d.offsetHeight || 400;
        Plotly.downloadImage(d, {format: format, filename: name, width: w, height: h, scale: format === "png" ? 2 : 1});
      });
      row.appendChild(b);
    });
    return row;
  }
  function axisKeys(layout) {
    return Object.keys(layout).filter(function (k) { return /^[xy]axis[0-9]*$/.test(k); });
  }
  function fitAxes(layout) {  // tick labels and axis titles push the margins out instead of overlapping
    axisKeys(layout).forEach(function (k) { layout[k] = Object.assign({automargin: true}, layout[k]); });
  }
  function wrapText(text, width) {  // Plotly does not wrap titles: break them at spaces with <br>
    const words = String(text).split(" "), lines = [""];
    words.forEach(function (w) {
      const last = lines[lines.length - 1];
      if (last && (last + " " + w).length > width) lines.push(w); else lines[lines.length - 1] = last ? last + " " + w : w;
    });
    return lines;
  }
  function thinTicks(ax, fit, label) {  // at most `fit` of an axis's own tick labels, evenly spread; null if they fit
    if (!Array.isArray(ax.tickvals) || !Array.isArray(ax.ticktext) || ax.ticktext.length <= fit) return null;
    const every = Math.ceil(ax.ticktext.length / fit), vals = [], texts = [];
    ax.tickvals.forEach(function (v, i) { if (i % every === 0) { vals.push(v); texts.push(label(ax.ticktext[i])); } });
    return {tickvals: vals, ticktext: texts};
  }
  function phoneSizes(layout) {  // a phone: titles wrapped, legends under the chart, no toolbar over the title
    const m = layout.margin || {};
    let top = m.t || 50, bottom = m.b || 40;
    if (layout.title && layout.title.text) {
      const lines = wrapText(layout.title.text, 30);
      layout.title = Object.assign({}, layout.title, {text: lines.join("<br>"), font: {size: 15}});
      top += 18 * (lines.length - 1);
    }
    (layout.annotations || []).forEach(function (a) { a.text = wrapText(a.text, 16).join("<br>"); a.font = {size: 13}; });
    axisKeys(layout).forEach(function (k) {
      const t = layout[k].title, vertical = k.charAt(0) === "y";
      if (t && t.text) layout[k] = Object.assign({}, layout[k], {title: Object.assign({}, t, {text: wrapText(t.text, vertical ? 18 : 28).join("<br>")})});
      // The x axis's labels stand a little lower, so its first one ("1K") clears the y axis's last ("10 billion").
      if (!vertical) layout[k] = Object.assign({}, layout[k], {ticklabelstandoff: 8});
      const ax = layout[k];
      // Token labels ("12:dog") along a narrow x axis collide when slanted: keep a few, numbers only, level.
      const thin = vertical ? null : thinTicks(ax, 6, function (t) { return String(t).split(":")[0]; });
      if (thin) layout[k] = Object.assign({}, ax, thin, {tickangle: 0});
    });
    if (layout.showlegend !== false && layout.legend) {  // at the very bottom, under the axis title
      layout.legend = {orientation: "h", x: 0, xanchor: "left", yref: "container", y: 0, yanchor: "bottom"};
      bottom += 110;
    }
    layout.height = (layout.height || 380) + (top - (m.t || 50)) + (bottom - (m.b || 40));
    layout.margin = Object.assign({}, m, {l: Math.min(m.l || 50, 45), r: 10, t: top, b: bottom});
  }
  function projectorSizes(layout, j, data) {  // presenter mode: no chart text under 20 px
    const m = layout.margin || {};
    layout.height = spec.heights[j] + PRESENTER_EXTRA_FIGURE_HEIGHT;
    layout.margin = Object.assign({}, m, {t: (m.t || 50) + 10, b: (m.b || 40) + 30});
    const lg = layout.legend || {};
    if (lg.orientation === "h" && (lg.y || 0) >= 1) {
      // A legend above the plot wraps to more rows at 20 px: the title goes to the top of the chart and the
      // top margin makes room for the rows the legend will need (~11 px per character at 20 px).
      const chartWidth = (document.body.clientWidth || 1200) / (figsEl.classList.contains("cols2") ? 2 : 1);
      const chars = (data || []).reduce(function (sum, t) {
        return sum + (t.name && t.showlegend !== false ? String(t.name).length + 6 : 0);
      }, 0);
      const rows = Math.max(1, Math.ceil(chars * 11 / Math.max(200, chartWidth - 120)));
      const top = 56 + rows * 30;
      layout.height += Math.max(0, top - layout.margin.t);
      layout.margin.t = Math.max(layout.margin.t, top);
      if (layout.title) layout.title = Object.assign({}, layout.title, {yref: "container", y: 1, yanchor: "top", pad: {t: 8}});
    }
    layout.font = Object.assign({}, layout.font, {size: 20});
    layout.hoverlabel = {font: {size: 20}};
    if (layout.uniformtext) layout.uniformtext = Object.assign({}, layout.uniformtext, {minsize: 18});
    if (layout.title) layout.title = Object.assign({}, layout.title, {font: {size: 24}});
    (layout.annotations || []).forEach(function (a) { a.font = Object.assign({}, a.font, {size: 22}); });
    // Token labels along an axis ("12: dog"): at 20 px they piled up; keep one per 30 px of axis.
    const width = (document.body.clientWidth || 1200) / (figsEl.classList.contains("cols2") ? 2 : 1);
    axisKeys(layout).forEach(function (k) {
      const ax = layout[k], dom = ax.domain || [0, 1];
      const span = k.charAt(0) === "y" ? layout.height - layout.margin.t - layout.margin.b : width - 220;
      const thin = thinTicks(ax, Math.max(2, Math.floor(span * (dom[1] - dom[0]) / 30)), function (t) { return t; });
      if (thin) layout[k] = Object.assign({}, ax, thin);
    });
  }
  function showFrame(d, i) {
    if (!d.__ready || d.__still) return;
    Plotly.animate(d, [String(i)], {mode: "immediate", frame: {duration: 0, redraw: true}, transition: {duration: 0}});
  }
  // Where the reader is, kept on the page around this frame: a switch or slider reruns the page, which never
  // hears of the reader's steps, and redraws this frame at the link's step. The new frame starts where the
  // reader left the same text on the same page. A page load (a link, the console, a reload) starts afresh.
  function keptKey() {
    if (!spec.url_param) return null;
    try { return window.parent.location.pathname + "|" + spec.url_param + "|" + spec.labels.join("\u0001"); }
    catch (e) { return null; }  // cross-origin embed
  }
  function keptStep() {
    try {
      const kept = window.parent.__rwkvSteps, key = keptKey();
      return kept && key !== null && Object.prototype.hasOwnProperty.call(kept, key) ? kept[key] : null;
    } catch (e) { return null; }
  }
  function keepStep() {
    try {
      const key = keptKey();
      if (key === null) return;
      (window.parent.__rwkvSteps = window.parent.__rwkvSteps || {})[key] = step;
    } catch (e) { /* cross-origin embed */ }
  }
  function syncUrl() {
    if (!spec.url_param) return;
    try {
      const u = new URL(window.parent.location.href);
      u.searchParams.set(spec.url_param, String(step + 1));
      window.parent.history.replaceState(window.parent.history.state, "", u.toString());
    } catch (e) { /* cross-origin embed: the URL stays as it was */ }
  }
  function go(i, initial) {
    if (n === 0) return;
    step = Math.max(0, Math.min(n - 1, i));
    chips.forEach(function (c, k) {
      c.classList.toggle("current", k === step);
      c.classList.toggle("read", k < step);
      if (k === step) { c.setAttribute("aria-current", "step"); c.tabIndex = 0; }
      else { c.removeAttribute("aria-current"); c.tabIndex = -1; }
    });
    if (document.activeElement && document.activeElement.classList.contains("chip") &&
        document.activeElement !== chips[step]) chips[step].focus({preventScroll: true});  // roving focus
    chipInView(chips[step]);
    chipsFade();
    document.getElementById("position").textContent = "Token " + (step + 1) + " of " + n;
    document.getElementById("note").textContent = spec.notes[step] || "";
    document.getElementById("summary").textContent = spec.summaries[step] || "";
    divs.forEach(function (d) { showFrame(d, step); });
    document.body.dataset.step = String(step);
    keepStep();
    if (!initial) syncUrl();  // the first render leaves the address as the page was opened
  }
  function stop() { if (timer) { clearInterval(timer); timer = null; } document.getElementById("play").textContent = "▶ Play"; }
  function play() {
    if (timer) { stop(); return; }
    if (step >= n - 1) go(0);
    document.getElementById("play").textContent = "⏸ Pause";
    // With "reduce motion" set, Play still steps (the reader asked for it) but slowly enough to read.
    const every = REDUCED_MOTION ? Math.max(spec.play_ms, 2500) : spec.play_ms;
    document.body.dataset.playMs = String(every);
    timer = setInterval(function () { if (step >= n - 1) { stop(); } else { go(step + 1); } }, every);
  }
  document.getElementById("next").addEventListener("click", function () { stop(); go(step + 1); });
  document.getElementById("back").addEventListener("click", function () { stop(); go(step - 1); });
  document.getElementById("reset").addEventListener("click", function () { stop(); go(0); });
  document.getElementById("play").addEventListener("click", play);
  function onKey(e, fromPage) {
    if (n === 0) {  // a chart without steps: a clicker's keys go on to the page's step-through, if it has one
      try { if (!fromPage && window.parent.__rwkvStepperKeys) window.parent.__rwkvStepperKeys(e); } catch (err) {}
      return;
    }
    const t = e.target, tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) return;
    if (!window.frameElement || !window.frameElement.isConnected) { detach(); return; }
    const k = e.key;
    if (fromPage) {
      // On the page itself only what a presenter's clicker sends (arrows, Page Up/Down), and never
      // while a control has focus, so Streamlit's own widgets keep their keys.
      // In presenter mode ↓ and ↑ step too (some clickers send them); elsewhere they scroll the page, as usual.
      const clicker = ["ArrowRight", "ArrowLeft", "PageDown", "PageUp"].concat(PRESENT ? ["ArrowDown", "ArrowUp"] : []);
      if (clicker.indexOf(k) < 0) return;
      const active = window.parent.document.activeElement;
      if (active && active.closest && active.closest(
          "button, a[href], input, textarea, select, [contenteditable], [role=slider], [role=listbox], " +
          "[role=combobox], [role=radio], [role=radiogroup], [role=switch], [role=tab], [role=menu]")) return;
    }
    if (k === " " && tag === "button") return;
    if (k === "ArrowRight" || k === "PageDown" || k === " " || (PRESENT && k === "ArrowDown")) { stop(); go(step + 1); }
    else if (k === "ArrowLeft" || k === "PageUp" || (PRESENT && k === "ArrowUp")) { stop(); go(step - 1); }
    else if (k === "Home") { stop(); go(0); }
    else if (k === "End") { stop(); go(n - 1); }
    else if (k === "p" || k === "P") { play(); }
    else return;
    e.preventDefault();
  }
  function onPageKey(e) { onKey(e, true); }
  function detach() { try { window.parent.document.removeEventListener("keydown", onPageKey); } catch (e) {} }
  document.addEventListener("keydown", function (e) { onKey(e, false); });
  try {  // presenter clickers send arrow / page keys to the page, not to this frame (charts without steps leave them be)
    if (n === 0) throw new Error("no steps");
    const p = window.parent;
    if (p.__rwkvStepperKeys) p.document.removeEventListener("keydown", p.__rwkvStepperKeys);
    p.__rwkvStepperKeys = onPageKey;
    p.document.addEventListener("keydown", onPageKey);
  } catch (e) {}
  // Escape hides a glossary definition shown by hover or focus, until the pointer or focus leaves the word
  // (WCAG 1.4.13; the box is CSS, app/ui.py). Attached to the page by each frame, the last one's wins.
  try {
    const p = window.parent;
    const onEscape = (__GLOSS_ESCAPE__)(p.document);  // app/glossary.py: GLOSS_ESCAPE_JS
    if (p.__rwkvGlossEscape) p.document.removeEventListener("keydown", p.__rwkvGlossEscape);
    p.__rwkvGlossEscape = onEscape;
    p.document.addEventListener("keydown", onEscape);
  } catch (e) {}
  window.stepperGo = go;
  const back = keptStep();
  if (typeof back === "number" && back >= 0 && back < n) step = back;
  go(step, true);
  whenPlotly(drawFigures);
  if (PRESENT && n > 0) {  // a presenter's link opens on the step-through: buttons, chips and the first chart on screen
    // Once at 0.3 s, and again at 1.2 s unless the presenter scrolled meanwhile: elements above the frame that
    // settle late (a chart drawn, a placeholder gone) moved it, and its buttons ended half under the header.
    let placedAt = null;
    const scroller = function () {
      const f = window.frameElement;
      for (let el = f && f.parentElement; el; el = el.parentElement) {
        if (el.scrollHeight > el.clientHeight + 1 && /auto|scroll/.test(el.ownerDocument.defaultView.getComputedStyle(el).overflowY)) return el;
      }
      return null;
    };
    const place = function () {
      try {
        const bar = window.parent.document.querySelector('[data-testid="stHeader"]');  // Streamlit's header bar
        const below = bar ? Math.ceil(bar.getBoundingClientRect().bottom) : 90;
        window.frameElement.style.scrollMarginTop = (below + 8) + "px";
        window.frameElement.scrollIntoView({block: "start"});
        const s = scroller();
        placedAt = s ? s.scrollTop : window.parent.scrollY;
      } catch (e) {}
    };
    setTimeout(place, 300);
    setTimeout(function () {
      try {
        const s = scroller(), now = s ? s.scrollTop : window.parent.scrollY;
        if (placedAt !== null && Math.abs(now - placedAt) < 2) place();
      } catch (e) {}
    }, 1200);
  }
})();
</script>
</body></html>
"""
