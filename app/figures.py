"""Plotly figure builders for the reading pages: pure functions, trace in, figure out.

Figures meant for the stepper carry one animation frame per token, named "0", "1", … .
Token text goes through `label()` (HTML-escaped: Plotly reads a few tags in text).

Example:
    >>> fig = top_guesses_figure(trace)       # trace: model.traces.RWKVTrace
    >>> len(fig.frames) == len(trace.ids)
    True
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from model.traces import half_life_tokens

from .stepper import display_piece
from .theme import ACCENT, DIVERGING, GPT_COLOR, NOW_COLOR, OKABE_ITO, PREV_COLOR, RWKV_COLOR, SEQUENTIAL, base_layout


def label(piece: str) -> str:
    """Token text safe for Plotly labels (Plotly reads a few HTML tags): as the chips show it, HTML-escaped."""
    return html.escape(display_piece(piece), quote=False)


def _frame(i: int, data: list, traces: list[int], layout: dict | None = None) -> go.Frame:
    return go.Frame(data=data, traces=traces, name=str(i), layout=layout)


# --------------------------------------------------------------------------- read along
def top_guesses_figure(trace, title: str = "What the model expects next", height: int = 300, color: str = RWKV_COLOR) -> go.Figure:
    """Horizontal bars: the top-5 next-token guesses after each step."""
    K = trace.top_probs.shape[1]
    ys = list(range(K, 0, -1))

    def bar(t):
        probs = trace.top_probs[t]
        texts = [f"{label(p)}  {100 * q:.0f}%" for p, q in zip(trace.top_pieces[t], probs)]
        return go.Bar(x=probs, y=ys, orientation="h", text=texts, textposition="outside", cliponaxis=False,
                      marker_color=color, hovertemplate="%{text}<extra></extra>")

    fig = go.Figure(data=[bar(0)] if len(trace.ids) else [go.Bar()])
    fig.frames = [_frame(t, [bar(t)], [0]) for t in range(len(trace.ids))]
    fig.update_layout(**base_layout(title=title, height=height, showlegend=False))
    fig.update_xaxes(range=[0, 1.35], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%", title="probability")
    fig.update_yaxes(showticklabels=False, range=[0.4, K + 0.6])
    return fig


def _channel_order(decay: np.ndarray) -> np.ndarray:
    """Per layer, channels sorted from fastest-forgetting to longest-remembering."""
    return np.argsort(decay, axis=1)


def memory_heatmap_figure(trace, title: str = "The memory (state) after this token", height: int = 300) -> go.Figure:
    """Layers × channels heatmap of what each memory channel holds (a/b), one frame per token."""
    order = _channel_order(trace.decay)
    T, L, C = trace.memory.shape
    mem = np.take_along_axis(trace.memory, order[None, :, :], axis=2) if T else trace.memory
    lim = float(np.percentile(np.abs(mem), 98)) if T else 1.0
    lim = lim or 1.0
    ylabels = [f"layer {i + 1}" for i in range(L)]

    def heat(t):
        return go.Heatmap(z=mem[t], y=ylabels, colorscale=DIVERGING, zmin=-lim, zmax=lim, zmid=0,
                          colorbar=dict(title="held", thickness=12),
                          hovertemplate="%{y}, channel %{x}: %{z:.2f}<extra></extra>")

    fig = go.Figure(data=[heat(0)] if T else [go.Heatmap()])
    fig.frames = [_frame(t, [heat(t)], [0]) for t in range(T)]
    fig.update_layout(**base_layout(title=title, height=height, margin=dict(l=85, r=20, t=50, b=40)))
    fig.update_xaxes(title="memory channels: quick to forget ← → slow to forget", showticklabels=False)
    fig.update_yaxes(autorange="reversed")
    return fig


def memory_held_figure(state_bytes: int, gpt_cache_bytes: np.ndarray, pieces: list[str], height: int = 280) -> go.Figure:
    """Bytes held after each token: RWKV's state (flat) vs the transformer's KV cache (growing)."""
    T = len(pieces)
    x = np.arange(1, T + 1)
    rwkv_y = np.full(T, state_bytes / 1000)
    gpt_y = np.asarray(gpt_cache_bytes, dtype=float) / 1000
    ymax = max(float(gpt_y.max()) if T else 1.0, state_bytes / 1000) * 1.1

    def markers(t):
        return [
            go.Scatter(x=[x[t]], y=[rwkv_y[t]], mode="markers", marker=dict(size=14, color=RWKV_COLOR), showlegend=False,
                       hovertemplate="RWKV after %{x} tokens: %{y:.1f} KB<extra></extra>"),
            go.Scatter(x=[x[t]], y=[gpt_y[t]], mode="markers", marker=dict(size=14, color=GPT_COLOR, symbol="diamond"),
                       showlegend=False, hovertemplate="transformer after %{x} tokens: %{y:.1f} KB<extra></extra>"),
        ]

    fig = go.Figure(data=[
        go.Scatter(x=x, y=rwkv_y, mode="lines", name="RWKV state (fixed)", line=dict(color=RWKV_COLOR, width=4)),
        go.Scatter(x=x, y=gpt_y, mode="lines", name="transformer KV cache (grows)", line=dict(color=GPT_COLOR, width=4, dash="dot")),
    ] + (markers(0) if T else [go.Scatter(), go.Scatter()]))
    fig.frames = [_frame(t, markers(t), [2, 3]) for t in range(T)]
    fig.update_layout(**base_layout(title="Memory held while reading (KB)", height=height, margin=dict(l=50, r=20, t=80, b=40),
                                    legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1)))
    fig.update_xaxes(title="tokens read", range=[0.5, max(T, 2) + 0.5])
    fig.update_yaxes(title="KB (1,000 bytes)", range=[0, ymax])
    return fig


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


def shift_share_figure(trace, height: int = 320) -> go.Figure:
    """Grouped bars per layer: % of k, v and r's input taken from the previous token, one frame per token."""
    shares = previous_token_share(trace)
    T, L = trace.x_now.shape[:2]
    layers = [f"layer {i + 1}" for i in range(L)]
    colors = {"k": OKABE_ITO["blue"], "v": OKABE_ITO["green"], "r": OKABE_ITO["orange"]}
    names = {"k": "key (what to store)", "v": "value (what it says)", "r": "receptance (gate)"}

    def bars(t):
        return [go.Bar(x=layers, y=shares[n][t], name=names[n], marker_color=colors[n],
                       text=[f"{100 * s:.0f}%" for s in shares[n][t]], textposition="outside",
                       hovertemplate="%{x}: %{y:.0%} from the previous token<extra>" + n + "</extra>")
                for n in ("k", "v", "r")]

    fig = go.Figure(data=bars(0) if T else [go.Bar(), go.Bar(), go.Bar()])
    fig.frames = [_frame(t, bars(t), [0, 1, 2]) for t in range(T)]
    fig.update_layout(**base_layout(title="How much comes from the previous token", height=height, barmode="group",
                                    margin=dict(l=50, r=20, t=80, b=40), legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1)))
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", title="share from previous token")
    return fig


def channel_mixer_figure(trace, layer: int, name: str = "k", n_channels: int = 24, height: int = 340) -> go.Figure:
    """One frame per token: for a few channels of one layer, how much of the mixed input comes from this token
    (|μ·x_t|) and how much from the previous one (|(1 − μ)·x_{t−1}|), as stacked bars — the mixer itself.

    The channels shown are the n/2 with the lowest μ (lean on the previous token) and the n/2 with the highest.
    """
    mu = trace.mix[name][layer]
    order = np.argsort(mu)
    half = max(1, n_channels // 2)
    chosen = np.concatenate([order[:half], order[-half:]]) if len(order) > n_channels else order
    x = [f"ch {c}" for c in chosen]
    now = np.abs(mu[chosen][None] * trace.x_now[:, layer, chosen])
    prev = np.abs((1 - mu[chosen])[None] * trace.x_prev[:, layer, chosen])
    top = float(np.max(now + prev)) * 1.05 if len(trace.ids) else 1.0

    def bars(t):
        return [go.Bar(x=x, y=now[t], name="from this token", marker_color=NOW_COLOR,
                       hovertemplate="%{x}: %{y:.2f} from this token<extra></extra>"),
                go.Bar(x=x, y=prev[t], name="from the previous token", marker_color=PREV_COLOR,
                       hovertemplate="%{x}: %{y:.2f} from the previous token<extra></extra>")]

    fig = go.Figure(data=bars(0) if len(trace.ids) else [go.Bar(), go.Bar()])
    fig.frames = [_frame(t, bars(t), [0, 1]) for t in range(len(trace.ids))]
    fig.update_layout(**base_layout(title=f"Layer {layer + 1}, the mixer for the key: {len(chosen)} channels",
                                    height=height, barmode="stack", margin=dict(l=50, r=20, t=80, b=40),
                                    legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1)))
    fig.update_xaxes(title="channels, from 'mostly previous token' (left) to 'mostly this token' (right)", tickangle=-45)
    fig.update_yaxes(title="size of the input", range=[0, top])
    return fig


def mix_profile_figure(trace, layer: int, height: int = 320) -> go.Figure:
    """Learned μ per channel of one layer, sorted: 1 = all this token, 0 = all the previous token."""
    fig = go.Figure()
    colors = {"k": OKABE_ITO["blue"], "v": OKABE_ITO["green"], "r": OKABE_ITO["orange"]}
    for name in ("k", "v", "r"):
        mu = np.sort(trace.mix[name][layer])
        fig.add_trace(go.Scatter(x=np.arange(1, len(mu) + 1), y=mu, mode="lines", name=f"μ_{name}",
                                 line=dict(color=colors[name], width=3)))
    fig.update_layout(**base_layout(title=f"Layer {layer + 1}: the mixer setting of every channel", height=height,
                                    margin=dict(l=50, r=20, t=80, b=40), legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1)))
    fig.update_xaxes(title="channels, sorted")
    fig.update_yaxes(title="mixer setting μ (100% = only this token)", tickformat=".0%")
    return fig


def compare_guesses_figure(trace, other, title_a: str, title_b: str, height: int = 320) -> go.Figure:
    """Two top-5 panels side by side (e.g. normal vs ablated), one frame per token."""
    K = trace.top_probs.shape[1]
    ys = list(range(K, 0, -1))
    fig = make_subplots(rows=1, cols=2, subplot_titles=(title_a, title_b), horizontal_spacing=0.18)

    def bars(t):
        out = []
        for tr, color in ((trace, RWKV_COLOR), (other, ACCENT)):
            texts = [f"{label(p)}  {100 * q:.0f}%" for p, q in zip(tr.top_pieces[t], tr.top_probs[t])]
            out.append(go.Bar(x=tr.top_probs[t], y=ys, orientation="h", text=texts, textposition="outside",
                              cliponaxis=False, marker_color=color, showlegend=False,
                              hovertemplate="%{text}<extra></extra>"))
        return out

    T = len(trace.ids)
    for j, b in enumerate(bars(0) if T else [go.Bar(), go.Bar()]):
        fig.add_trace(b, row=1, col=j + 1)
    fig.frames = [_frame(t, bars(t), [0, 1]) for t in range(T)]
    fig.update_layout(**base_layout(height=height))
    fig.update_xaxes(range=[0, 1.5], tickvals=[0, 0.5, 1], tickformat=".0%")
    fig.update_yaxes(showticklabels=False, range=[0.4, K + 0.6])
    return fig


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
                         colorscale: str = SEQUENTIAL, max_tokens: int = HEATMAP_MAX_TOKENS) -> go.Figure:
    """Token × step heatmap: row = the token being read, column = an earlier token, colour = its share.

    Long texts show their last `max_tokens` tokens (rows and columns), so the page stays light.
    """
    T = len(pieces)
    first = max(0, T - max_tokens)
    idx = np.arange(first, T)
    z = np.asarray(weights, dtype=np.float32)[first:T, first:T].copy()
    z[np.triu_indices(len(idx), 1)] = np.nan
    ticks = idx[:: max(1, len(idx) // 20)]
    ticktext = [f"{i + 1}:{label(pieces[i])}" for i in ticks]
    fig = go.Figure(go.Heatmap(
        z=z, x=idx + 1, y=idx + 1, colorscale=colorscale, zmin=0, zmax=float(np.nanmax(z)) if T else 1,
        colorbar=dict(title="share", thickness=12, tickformat=".0%"),
        hovertemplate="reading token %{y}, earlier token %{x}: %{z:.1%}<extra></extra>"))
    fig.update_layout(**base_layout(title=title, height=height))
    fig.update_xaxes(title="earlier token", tickvals=ticks + 1, ticktext=ticktext, tickangle=-60)
    fig.update_yaxes(title="now reading", tickvals=ticks + 1, ticktext=ticktext, autorange="reversed")
    return fig


def echo_figure(weights: np.ndarray, pieces: list[str], other: np.ndarray | None = None, other_name: str = "",
                window: int = 48, height: int = 340) -> go.Figure:
    """One frame per token: how much each earlier token (the last `window`) still counts, RWKV vs another model."""
    T = len(pieces)

    def bars(t):
        lo = max(0, t - window + 1)
        x = np.arange(lo, t + 1) + 1
        out = [go.Bar(x=x, y=weights[t, lo: t + 1], name="RWKV (from its memory)", marker_color=RWKV_COLOR,
                      hovertemplate="token %{x}: %{y:.1%}<extra>RWKV</extra>")]
        if other is not None:
            out.append(go.Bar(x=x, y=other[t, lo: t + 1], name=other_name, marker_color=GPT_COLOR,
                              hovertemplate="token %{x}: %{y:.1%}<extra>transformer</extra>"))
        return out

    n_traces = 1 if other is None else 2
    fig = go.Figure(data=bars(0) if T else [go.Bar() for _ in range(n_traces)])
    fig.frames = [_frame(t, bars(t), list(range(n_traces)),
                         layout={"xaxis": {"range": [max(0, t - window + 1) + 0.5, t + 1.5]}}) for t in range(T)]
    fig.update_layout(**base_layout(title="While reading this token, who still counts", height=height, barmode="group",
                                    margin=dict(l=50, r=20, t=80, b=40), legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1)))
    fig.update_xaxes(title="earlier token (number in the text)", range=[0.5, 1.5])
    fig.update_yaxes(tickformat=".0%", title="share", rangemode="tozero")
    return fig


# --------------------------------------------------------------------------- start page teaser
def teaser_figure(words: list[str], height: int = 320) -> go.Figure:
    """Two panels growing word by word: RWKV's memory stays one box; the transformer's cache stacks up."""
    n = len(words)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("RWKV: one memory box", "Transformer: a growing cache"),
                        horizontal_spacing=0.1)

    def panels(t):
        rwkv = go.Scatter(x=[0.5], y=[0.5], mode="markers+text", text=[f"state<br>after {t + 1} word{'s' if t else ''}"],
                          textposition="middle center", marker=dict(symbol="square", size=120, color=PREV_COLOR),
                          showlegend=False, hoverinfo="skip")
        gpt = go.Bar(x=[1] * (t + 1), y=[1] * (t + 1), base=list(range(t + 1)), width=0.8, orientation="v",
                     text=[label(w) for w in words[: t + 1]], textposition="inside", marker_color=NOW_COLOR,
                     showlegend=False, hoverinfo="skip")
        return [rwkv, gpt]

    for j, tr in enumerate(panels(0) if n else [go.Scatter(), go.Bar()]):
        fig.add_trace(tr, row=1, col=j + 1)
    fig.frames = [_frame(t, panels(t), [0, 1]) for t in range(n)]
    fig.update_layout(**base_layout(height=height))
    fig.update_xaxes(visible=False, range=[0, 1], row=1, col=1)
    fig.update_yaxes(visible=False, range=[0, 1], row=1, col=1)
    fig.update_xaxes(visible=False, range=[0.4, 1.6], row=1, col=2)
    fig.update_yaxes(visible=False, range=[0, max(n, 1)], row=1, col=2)
    return fig
