"""Figure builders for the reading pages: pure functions, trace in, figure out.

Figures the stepper animates are plain Plotly figure dicts (`{"data", "layout", "frames"}`) built
from lists, one frame per token named "0", "1", …; each frame carries only what changes at that
step (Plotly.animate merges it into the trace). Building them as plain data instead of
`plotly.graph_objects` skips Plotly's per-object validation, which cost ~90% of a page run for a
new text; tests/test_figures.py proves that `go.Figure(fig)` validates every one of them and gives
back exactly the same data. The static charts (drawn with `st.plotly_chart`) stay `go.Figure`s.
Token text goes through `label()` (HTML-escaped: Plotly reads a few tags in text).

Example:
    >>> fig = top_guesses_figure(trace)       # trace: model.traces.RWKVTrace
    >>> len(fig["frames"]) == len(trace.ids)
    True
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from model.traces import half_life_tokens

from .stepper import display_piece
from .theme import ACCENT, DIVERGING, GPT_COLOR, NOW_COLOR, OKABE_ITO, PREV_COLOR, RWKV_COLOR, SEQUENTIAL, base_layout

# Plotly.js and plotly.py name some colour scales differently (plotly.js's "RdBu" runs the other way):
# send plotly.py's scale as explicit stops, as a graph_objects build would.
DIVERGING_STOPS = [list(stop) for stop in get_colorscale(DIVERGING)]
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1}


def label(piece: str) -> str:
    """Token text safe for Plotly labels (Plotly reads a few HTML tags): as the chips show it, HTML-escaped."""
    return html.escape(display_piece(piece), quote=False)


def nums(values, decimals: int = 4) -> list:
    """Numbers as short JSON-ready lists (float64 first, so float32 noise does not print 17 digits)."""
    return np.round(np.asarray(values, dtype=np.float64), decimals).tolist()


def _title(text: str) -> dict:
    return {"text": text}


def _figure(data: list[dict], frames: list[dict], layout: dict) -> dict:
    return {"data": data, "layout": layout, "frames": frames}


def _frames(n_steps: int, traces: list[int], data_at, layout_at=None) -> list[dict]:
    """One frame per step: `data_at(t)` gives the changed part of each trace in `traces`."""
    out = []
    for t in range(n_steps):
        frame = {"data": data_at(t), "name": str(t), "traces": traces}
        if layout_at is not None:
            frame["layout"] = layout_at(t)
        out.append(frame)
    return out


def _side_by_side(titles: tuple[str, str], spacing: float) -> dict:
    """Layout of two panels in one row, as plotly's make_subplots(rows=1, cols=2) lays them out."""
    width = (1 - spacing) / 2
    layout = {}
    for j, (lo, hi) in enumerate(((0.0, width), (1 - width, 1.0))):
        suffix = "" if j == 0 else "2"
        layout[f"xaxis{suffix}"] = {"anchor": f"y{suffix}", "domain": [lo, hi]}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [0.0, 1.0]}
    layout["annotations"] = [
        {"font": {"size": 16}, "showarrow": False, "text": title, "x": (lo + hi) / 2, "xanchor": "center",
         "xref": "paper", "y": 1.0, "yanchor": "bottom", "yref": "paper"}
        for title, (lo, hi) in zip(titles, ((0.0, width), (1 - width, 1.0)))]
    return layout


def _guess_texts(pieces: list[str], probs) -> list[str]:
    return [f"{label(p)}  {100 * q:.0f}%" for p, q in zip(pieces, probs)]


# --------------------------------------------------------------------------- read along
def top_guesses_figure(trace, title: str = "What the model expects next", height: int = 300, color: str = RWKV_COLOR) -> dict:
    """Horizontal bars: the top-5 next-token guesses after each step."""
    K = trace.top_probs.shape[1]
    T = len(trace.ids)

    def changing(t):
        return {"type": "bar", "x": nums(trace.top_probs[t]), "text": _guess_texts(trace.top_pieces[t], trace.top_probs[t])}

    bar = {"type": "bar", "y": list(range(K, 0, -1)), "orientation": "h", "textposition": "outside", "cliponaxis": False,
           "marker": {"color": color}, "hovertemplate": "%{text}<extra></extra>"}
    data = [{**bar, **changing(0)}] if T else [{"type": "bar"}]
    layout = base_layout(title=_title(title), height=height, showlegend=False)
    layout["xaxis"] = {"range": [0, 1.35], "tickvals": [0, 0.25, 0.5, 0.75, 1], "tickformat": ".0%", "title": _title("probability")}
    layout["yaxis"] = {"showticklabels": False, "range": [0.4, K + 0.6]}
    return _figure(data, _frames(T, [0], lambda t: [changing(t)]), layout)


def _channel_order(decay: np.ndarray) -> np.ndarray:
    """Per layer, channels sorted from fastest-forgetting to longest-remembering."""
    return np.argsort(decay, axis=1)


def memory_heatmap_figure(trace, title: str = "The memory (state) after this token", height: int = 300) -> dict:
    """Layers × channels heatmap of what each memory channel holds (a/b), one frame per token."""
    order = _channel_order(trace.decay)
    T, L, C = trace.memory.shape
    mem = np.take_along_axis(trace.memory, order[None, :, :], axis=2) if T else trace.memory
    lim = float(np.percentile(np.abs(mem), 98)) if T else 1.0
    lim = round(lim or 1.0, 4)

    def changing(t):
        return {"type": "heatmap", "z": nums(mem[t], 2)}

    heat = {"type": "heatmap", "y": [f"layer {i + 1}" for i in range(L)], "colorscale": DIVERGING_STOPS,
            "zmin": -lim, "zmax": lim, "zmid": 0, "colorbar": {"title": _title("value held"), "thickness": 12,  # the sign is what the colour tells
                                                          "tickvals": [-lim, 0, lim], "ticktext": ["−", "0", "+"]},
            "hovertemplate": "%{y}, channel %{x}: %{z:.2f}<extra></extra>"}
    data = [{**heat, **changing(0)}] if T else [{"type": "heatmap"}]
    layout = base_layout(title=_title(title), height=height, margin={"l": 85, "r": 20, "t": 50, "b": 40})
    layout["xaxis"] = {"title": _title("memory channels: quick to forget ← → slow to forget"), "showticklabels": False}
    layout["yaxis"] = {"autorange": "reversed"}
    return _figure(data, _frames(T, [0], lambda t: [changing(t)]), layout)


def memory_held_figure(state_bytes: int, gpt_cache_bytes: np.ndarray, pieces: list[str], height: int = 280) -> dict:
    """Bytes held after each token: RWKV's state (flat) vs the transformer's KV cache (growing)."""
    T = len(pieces)
    x = list(range(1, T + 1))
    rwkv_kb = state_bytes / 1000
    gpt_kb = nums(np.asarray(gpt_cache_bytes, dtype=np.float64) / 1000, 3)
    ymax = round(max(max(gpt_kb) if T else 1.0, rwkv_kb) * 1.1, 3)

    def changing(t):
        return [{"type": "scatter", "x": [x[t]], "y": [rwkv_kb]}, {"type": "scatter", "x": [x[t]], "y": [gpt_kb[t]]}]

    markers = [
        {"type": "scatter", "mode": "markers", "marker": {"size": 14, "color": RWKV_COLOR}, "showlegend": False,
         "hovertemplate": "RWKV after %{x} tokens: %{y:.1f} KB<extra></extra>"},
        {"type": "scatter", "mode": "markers", "marker": {"size": 14, "color": GPT_COLOR, "symbol": "diamond"},
         "showlegend": False, "hovertemplate": "transformer after %{x} tokens: %{y:.1f} KB<extra></extra>"},
    ]
    lines = [
        {"type": "scatter", "x": x, "y": [rwkv_kb] * T, "mode": "lines", "name": "RWKV state (fixed)",
         "line": {"color": RWKV_COLOR, "width": 4}},
        {"type": "scatter", "x": x, "y": gpt_kb, "mode": "lines", "name": "transformer KV cache (grows)",
         "line": {"color": GPT_COLOR, "width": 4, "dash": "dot"}},
    ]
    data = lines + ([{**m, **c} for m, c in zip(markers, changing(0))] if T else [{"type": "scatter"}, {"type": "scatter"}])
    layout = base_layout(title=_title("Memory held while reading (KB)"), height=height,
                         margin={"l": 50, "r": 20, "t": 80, "b": 40}, legend=LEGEND_ABOVE)
    layout["xaxis"] = {"title": _title("tokens read"), "range": [0.5, max(T, 2) + 0.5]}
    layout["yaxis"] = {"title": _title("KB (1,000 bytes)"), "range": [0, ymax]}
    return _figure(data, _frames(T, [2, 3], changing), layout)


# --------------------------------------------------------------------------- token shift
def previous_token_share(trace) -> dict[str, np.ndarray]:
    """Per step, layer and input (k, v, r): fraction of the mixed input that comes from the previous token.

    share = Σ_c |(1 − μ_c) x_prev,c| / (Σ_c |μ_c x_now,c| + Σ_c |(1 − μ_c) x_prev,c|)
    """
    out = {}
    for name, mu in trace.mix.items():
        now = np.abs(mu[None] * trace.x_now).sum(axis=2)
        prev = np.abs((1 - mu[None]) * trace.x_prev).sum(axis=2)
        out[name] = prev / np.maximum(now + prev, 1e-12)
    return out


def shift_share_figure(trace, height: int = 320) -> dict:
    """Grouped bars per layer: % of k, v and r's input taken from the previous token, one frame per token."""
    shares = previous_token_share(trace)
    T, L = trace.x_now.shape[:2]
    colors = {"k": OKABE_ITO["blue"], "v": OKABE_ITO["green"], "r": OKABE_ITO["orange"]}
    names = {"k": "key (what to store)", "v": "value (what it says)", "r": "receptance (gate)"}

    def changing(t):
        return [{"type": "bar", "y": nums(shares[n][t]), "text": [f"{100 * s:.0f}%" for s in shares[n][t]]}
                for n in ("k", "v", "r")]

    bars = [{"type": "bar", "x": [f"layer {i + 1}" for i in range(L)], "name": names[n], "marker": {"color": colors[n]},
             "textposition": "outside", "hovertemplate": "%{x}: %{y:.0%} from the previous token<extra>" + n + "</extra>"}
            for n in ("k", "v", "r")]
    data = [{**b, **c} for b, c in zip(bars, changing(0))] if T else [{"type": "bar"} for _ in range(3)]
    layout = base_layout(title=_title("How much comes from the previous token"), height=height, barmode="group",
                         margin={"l": 50, "r": 20, "t": 80, "b": 40}, legend=LEGEND_ABOVE)
    layout["yaxis"] = {"range": [0, 1.15], "tickformat": ".0%", "title": _title("share from previous token")}
    return _figure(data, _frames(T, [0, 1, 2], changing), layout)


def channel_mixer_figure(trace, layer: int, name: str = "k", n_channels: int = 24, height: int = 340) -> dict:
    """One frame per token: for a few channels of one layer, how much of the mixed input comes from this token
    (|μ·x_t|) and how much from the previous one (|(1 − μ)·x_{t−1}|), as stacked bars — the mixer itself.

    The channels shown are the n/2 with the lowest μ (lean on the previous token) and the n/2 with the highest.
    """
    mu = trace.mix[name][layer]
    order = np.argsort(mu)
    half = max(1, n_channels // 2)
    chosen = np.concatenate([order[:half], order[-half:]]) if len(order) > n_channels else order
    T = len(trace.ids)
    now = np.abs(mu[chosen][None] * trace.x_now[:, layer, chosen])
    prev = np.abs((1 - mu[chosen])[None] * trace.x_prev[:, layer, chosen])
    top = round(float(np.max(now + prev)) * 1.05, 4) if T else 1.0

    def changing(t):
        return [{"type": "bar", "y": nums(now[t], 3)}, {"type": "bar", "y": nums(prev[t], 3)}]

    x = [f"ch {c}" for c in chosen]
    bars = [{"type": "bar", "x": x, "name": "from this token", "marker": {"color": NOW_COLOR},
             "hovertemplate": "%{x}: %{y:.2f} from this token<extra></extra>"},
            {"type": "bar", "x": x, "name": "from the previous token", "marker": {"color": PREV_COLOR},
             "hovertemplate": "%{x}: %{y:.2f} from the previous token<extra></extra>"}]
    data = [{**b, **c} for b, c in zip(bars, changing(0))] if T else [{"type": "bar"}, {"type": "bar"}]
    layout = base_layout(title=_title(f"Layer {layer + 1}, the mixer for the key: {len(chosen)} channels"),
                         height=height, barmode="stack", margin={"l": 50, "r": 20, "t": 80, "b": 40}, legend=LEGEND_ABOVE)
    layout["xaxis"] = {"title": _title("channels, from 'mostly previous token' (left) to 'mostly this token' (right)"),
                       "tickangle": -45}
    layout["yaxis"] = {"title": _title("input size"), "range": [0, top]}
    return _figure(data, _frames(T, [0, 1], changing), layout)


def mix_profile_figure(trace, layer: int, height: int = 320) -> dict:
    """Learned μ per channel of one layer, sorted: 1 = all this token, 0 = all the previous token.

    A still chart (no frames): the mixer is part of the model, the same at every step.
    """
    colors = {"k": OKABE_ITO["blue"], "v": OKABE_ITO["green"], "r": OKABE_ITO["orange"]}
    names = {"k": "key", "v": "value", "r": "receptance"}
    data = []
    for name in ("k", "v", "r"):
        mu = np.sort(trace.mix[name][layer])
        data.append({"type": "scatter", "x": list(range(1, len(mu) + 1)), "y": nums(mu), "mode": "lines",
                     "name": names[name], "line": {"color": colors[name], "width": 3}})
    layout = base_layout(title=_title(f"Layer {layer + 1}: the mixer setting of every channel"), height=height,
                         margin={"l": 50, "r": 20, "t": 80, "b": 40}, legend=LEGEND_ABOVE)
    layout["xaxis"] = {"title": _title("channels, sorted")}
    layout["yaxis"] = {"title": _title("mixer setting (100% = only this token)"), "tickformat": ".0%"}
    return _figure(data, [], layout)


def compare_guesses_figure(trace, other, title_a: str, title_b: str, height: int = 320) -> dict:
    """Two top-5 panels side by side (e.g. normal vs ablated), one frame per token."""
    K = trace.top_probs.shape[1]
    T = len(trace.ids)

    def changing(t):
        return [{"type": "bar", "x": nums(tr.top_probs[t]), "text": _guess_texts(tr.top_pieces[t], tr.top_probs[t])}
                for tr in (trace, other)]

    bars = [{"type": "bar", "y": list(range(K, 0, -1)), "orientation": "h", "textposition": "outside", "cliponaxis": False,
             "marker": {"color": color}, "showlegend": False, "hovertemplate": "%{text}<extra></extra>"}
            for color in (RWKV_COLOR, ACCENT)]
    data = [{**b, **c} for b, c in zip(bars, changing(0))] if T else [{"type": "bar"}, {"type": "bar"}]
    for trace_json, axes in zip(data, (("x", "y"), ("x2", "y2"))):
        trace_json["xaxis"], trace_json["yaxis"] = axes
    layout = base_layout(height=height)
    layout.update(_side_by_side((title_a, title_b), spacing=0.18))
    for suffix in ("", "2"):
        layout["xaxis" + suffix].update({"range": [0, 1.5], "tickvals": [0, 0.5, 1], "tickformat": ".0%"})
        layout["yaxis" + suffix].update({"showticklabels": False, "range": [0.4, K + 0.6]})
    return _figure(data, _frames(T, [0, 1], changing), layout)


# --------------------------------------------------------------------------- fading memory
def half_life_figure(decay: np.ndarray, height: int = 340) -> go.Figure:
    """Every memory channel's half-life in tokens, one row of dots per layer (log scale)."""
    hl = half_life_tokens(decay)
    L, C = hl.shape
    fig = go.Figure()
    cap = 1e6
    for li in range(L):
        vals = np.minimum(hl[li], cap)
        jitter = (np.arange(C) % 7 - 3) * 0.05
        fig.add_trace(go.Scatter(
            x=vals, y=np.full(C, li + 1) + jitter, mode="markers", name=f"layer {li + 1}",
            marker=dict(size=7, color=RWKV_COLOR, opacity=0.55), showlegend=False,
            hovertemplate=f"layer {li + 1}: half-life %{{x:.3g}} tokens<extra></extra>"))
    fig.update_layout(**base_layout(title="How long each memory channel remembers", height=height))
    fig.update_xaxes(type="log", dtick=1, title="half-life in tokens (log scale)")
    fig.update_yaxes(title="layer", tickvals=list(range(1, L + 1)), autorange="reversed")
    return fig


HEATMAP_MAX_TOKENS = 160


def contribution_heatmap(weights: np.ndarray, pieces: list[str], title: str, height: int = 460,
                         colorscale: str = SEQUENTIAL, max_tokens: int = HEATMAP_MAX_TOKENS) -> dict:
    """Token × step heatmap: row = the token being read, column = an earlier token, colour = its share.
    Cells above the diagonal (later tokens) are gaps. A plain figure dict, like the stepper's: a
    `go.Figure` cost ~15 ms of every new text's page run, and sent plotly.py's whole template along.

    Long texts show their last `max_tokens` tokens (rows and columns), so the page stays light.
    """
    T = len(pieces)
    first = max(0, T - max_tokens)
    idx = list(range(first + 1, T + 1))  # token numbers, from 1
    shares = nums(np.asarray(weights)[first:T, first:T])  # 4 decimals: the hover shows 0.1%
    z = [[v if j <= i else None for j, v in enumerate(row)] for i, row in enumerate(shares)]
    ticks = idx[:: max(1, len(idx) // 20)]
    ticktext = [f"{i}:{label(pieces[i - 1])}" for i in ticks]
    heatmap = {"type": "heatmap", "z": z, "x": idx, "y": idx, "zmin": 0,
               "zmax": max((v for row in z for v in row if v is not None), default=1),
               "colorscale": [list(stop) for stop in get_colorscale(colorscale)],
               "colorbar": {"title": _title("share"), "thickness": 12, "tickformat": ".0%"},
               "hovertemplate": "reading token %{y}, earlier token %{x}: %{z:.1%}<extra></extra>"}
    layout = base_layout(title=_title(title), height=height)
    # Plain lists (not a typed array): the phone layout thins these labels in the browser.
    # The columns are the same tokens as the rows: numbers only (the rows name them), so they never overlap.
    column_ticks = idx[:: max(1, -(-len(idx) // 8))]  # at most 8: they stay level, side by side on a phone
    layout["xaxis"] = {"title": _title("earlier token (number, as in the rows)"), "tickvals": column_ticks,
                       "ticktext": [str(i) for i in column_ticks], "tickangle": 0}
    layout["yaxis"] = {"title": _title("now reading"), "tickvals": ticks, "ticktext": ticktext, "autorange": "reversed"}
    return _figure([heatmap], [], layout)


def echo_figure(weights: np.ndarray, pieces: list[str], other: np.ndarray | None = None, other_name: str = "",
                window: int = 48, height: int = 340) -> dict:
    """One frame per token: how much each earlier token (the last `window`) still counts, RWKV vs another model."""
    T = len(pieces)
    series = [(weights, "RWKV (from its memory)", RWKV_COLOR, "RWKV")]
    if other is not None:
        series.append((other, other_name, GPT_COLOR, "transformer"))

    def window_start(t):
        return max(0, t - window + 1)

    def changing(t):
        lo = window_start(t)
        return [{"type": "bar", "x": list(range(lo + 1, t + 2)), "y": nums(w[t, lo: t + 1])} for w, *_ in series]

    bars = [{"type": "bar", "name": name, "marker": {"color": color},
             "hovertemplate": "token %{x}: %{y:.1%}<extra>" + short + "</extra>"} for _, name, color, short in series]
    data = [{**b, **c} for b, c in zip(bars, changing(0))] if T else [{"type": "bar"} for _ in series]
    layout = base_layout(title=_title("While reading this token, who still counts"), height=height, barmode="group",
                         margin={"l": 50, "r": 20, "t": 80, "b": 40}, legend=LEGEND_ABOVE)
    layout["xaxis"] = {"title": _title("earlier token (number in the text)"), "range": [0.5, 1.5]}
    layout["yaxis"] = {"tickformat": ".0%", "title": _title("share"), "rangemode": "tozero"}
    frames = _frames(T, list(range(len(series))), changing,
                     lambda t: {"xaxis": {"range": [window_start(t) + 0.5, t + 1.5]}})
    return _figure(data, frames, layout)


# --------------------------------------------------------------------------- start page teaser
def teaser_figure(words: list[str], height: int = 360) -> dict:
    """Two panels growing word by word: RWKV's memory stays one box; the transformer's cache stacks up."""
    n = len(words)

    def changing(t):
        return [{"type": "scatter", "text": [f"state after<br>{t + 1} word{'s' if t else ''}"]},  # fits the box at 20 px
                {"type": "bar", "x": [1] * (t + 1), "y": [1] * (t + 1), "base": list(range(t + 1)),
                 "text": [label(w) for w in words[: t + 1]]}]

    panels = [{"type": "scatter", "x": [0.5], "y": [0.5], "mode": "markers+text", "textposition": "middle center",
               "marker": {"symbol": "square", "size": 120, "color": PREV_COLOR}, "showlegend": False, "hoverinfo": "skip",
               "xaxis": "x", "yaxis": "y"},
              {"type": "bar", "width": 0.8, "orientation": "v", "textposition": "inside", "textangle": 0,
               "insidetextanchor": "middle", "marker": {"color": NOW_COLOR},
               "showlegend": False, "hoverinfo": "skip", "xaxis": "x2", "yaxis": "y2"}]
    data = [{**p, **c} for p, c in zip(panels, changing(0))] if n else [
        {"type": "scatter", "xaxis": "x", "yaxis": "y"}, {"type": "bar", "xaxis": "x2", "yaxis": "y2"}]
    # Words on the stacked bars stay level and readable (Plotly would shrink a word to fit its bar, to ~7 px):
    # at least 12 px, 18 px on a projector (stepper.projectorSizes).
    layout = base_layout(height=height, uniformtext={"mode": "show", "minsize": 12})
    layout.update(_side_by_side(("RWKV: one memory box", "Transformer: a growing cache"), spacing=0.1))
    layout["xaxis"].update({"visible": False, "range": [0, 1]})
    layout["yaxis"].update({"visible": False, "range": [0, 1]})
    layout["xaxis2"].update({"visible": False, "range": [0.4, 1.6]})
    layout["yaxis2"].update({"visible": False, "range": [0, max(n, 1)]})
    return _figure(data, _frames(n, [0, 1], changing), layout)
