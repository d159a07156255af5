"""Figure builders for the cost pages: plain data in, Plotly Figure out (no Streamlit). Labels come
from `model.cost.human_bytes` / `human_count`.

Measured (the cost race, rows from `model.race.race_rows`): memory held vs tokens read, milliseconds for
one more token (median and middle half of the tries), total time added up from those.
Computed (At scale, from `model.cost`): memory per conversation vs context (log axes), FLOPs per token
vs context, conversations that fit on one GPU.

Example:
    >>> fig = race_memory_figure([1, 2, 3], [100, 100, 100], [10, 20, 30])
    >>> [t.name for t in fig.data]
    ['RWKV state', 'Transformer KV cache']
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

from model.cost import human_bytes, human_count

from .theme import ACCENT, GPT_COLOR, OKABE_ITO, RWKV_COLOR, base_layout

GPT_GQA_COLOR = OKABE_ITO["purple"]
REF_COLOR = OKABE_ITO["grey"]
TITLE_FONT = dict(size=20)
_LEGEND = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0)


def _layout(title: str, **kw) -> dict:
    return base_layout(
        title=dict(text=title, font=TITLE_FONT, x=0, xanchor="left"),
        legend=_LEGEND,
        margin=dict(l=70, r=20, t=100, b=60),
        **kw,
    )


def tokens_label(n: float) -> str:
    """1024 → '1K', 1048576 → '1M', 300 → '300'."""
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n // (1 << 20):.0f}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024:.0f}K"
    return f"{n:,.0f}"


def _log_byte_ticks(lo: float, hi: float):
    lo_e = math.floor(math.log10(max(lo, 1)))
    hi_e = math.ceil(math.log10(max(hi, 1)))
    vals = [10**e for e in range(lo_e, hi_e + 1)]
    return vals, [human_bytes(v) for v in vals]


def _log_context_axis(contexts):
    lo, hi = min(contexts), max(contexts)
    vals, p = [], 1
    while p <= hi:
        if p >= lo:
            vals.append(p)
        p *= 4
    if not vals:
        vals = [lo, hi]
    return dict(type="log", tickvals=vals, ticktext=[tokens_label(v) for v in vals],
                title="Length of the conversation (tokens, log scale)")


# ------------------------------------------------------------------ measured: the cost race


def byte_unit(top: float) -> tuple[str, float]:
    """The decimal unit that suits values up to `top`: ('MB', 1e6) for 12,582,912."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if top >= scale:
            return unit, scale
    return "bytes", 1.0


def race_memory_figure(tokens, rwkv_bytes, gpt_bytes, title: str = "Memory held while reading (measured)"):
    """RWKV's state (flat) and the transformer's KV cache (growing) against tokens read, in the decimal
    unit that suits the largest value (KB, MB, …); hover shows each value in its own unit."""
    rwkv_bytes, gpt_bytes = list(rwkv_bytes), list(gpt_bytes)
    unit, scale = byte_unit(max(rwkv_bytes + gpt_bytes + [1]))
    fig = go.Figure()
    for name, ys, color, dash, short in (("RWKV state", rwkv_bytes, RWKV_COLOR, "solid", "RWKV state"),
                                         ("Transformer KV cache", gpt_bytes, GPT_COLOR, "dash", "KV cache")):
        fig.add_trace(go.Scatter(
            x=list(tokens), y=[b / scale for b in ys], name=name, mode="lines+markers",
            line=dict(color=color, width=4, dash=dash), marker=dict(size=8),
            customdata=[human_bytes(b) for b in ys],
            hovertemplate="after %{x:,} tokens: %{customdata}<extra>" + short + "</extra>",
        ))
    fig.update_layout(**_layout(title))
    fig.update_xaxes(title="Tokens read so far")
    fig.update_yaxes(title=f"Memory held ({unit})", rangemode="tozero")
    return fig


def _band_hover(name: str) -> str:
    return ("token %{x:,}: median %{y:.2f} ms<br>middle half of the tries: %{customdata}<extra>" + name + "</extra>")


def ms_per_token_figure(rows, title: str = "Time to read one more token (measured)"):
    """Median milliseconds to read token N, per model, with the middle half of the tries (25th to 75th
    percentile) as error bars. `rows` as `model.race.race_rows`: the table on the page shows the same
    rows, so chart and table agree by construction."""
    rows = list(rows)
    tokens = [r["tokens"] for r in rows]
    tries = min((r["tries"] for r in rows), default=0)
    fig = go.Figure()
    for model, name, color, symbol, dash in (("rwkv", "RWKV", RWKV_COLOR, "circle", "solid"),
                                             ("gpt", "Transformer", GPT_COLOR, "x", "dash")):
        med = [r[f"{model}_ms"] for r in rows]
        fig.add_trace(go.Scatter(
            x=tokens, y=med, mode="lines+markers", name=f"{name}: median of {tries} tries",
            line=dict(color=color, width=4, dash=dash), marker=dict(color=color, size=10, symbol=symbol),
            error_y=dict(type="data", symmetric=False, color=color, thickness=2, width=6,
                         array=[r[f"{model}_p75"] - r[f"{model}_ms"] for r in rows],
                         arrayminus=[r[f"{model}_ms"] - r[f"{model}_p25"] for r in rows]),
            customdata=[f"{r[f'{model}_p25']:.2f}–{r[f'{model}_p75']:.2f} ms" for r in rows],
            hovertemplate=_band_hover(name),
        ))
    top = max([r["gpt_p75"] for r in rows] + [r["rwkv_p75"] for r in rows] + [1.0])
    fig.update_layout(**_layout(title))
    fig.update_xaxes(title="Token number (tokens read so far)", rangemode="tozero")
    fig.update_yaxes(title="Milliseconds for that token", range=[0, top * 1.1])
    return fig


def cumulative_time_figure(tokens, rwkv_s, gpt_s, title: str = "Total time to read the whole text (estimated)"):
    """Seconds to read every token up to N, added up from the measured times per token: a straight line
    means constant cost per token; a line that bends upwards means each token costs more than the last."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(tokens), y=list(rwkv_s), name="RWKV", mode="lines+markers",
                             line=dict(color=RWKV_COLOR, width=4), marker=dict(size=8),
                             hovertemplate="%{x:,} tokens: %{y:.2f} s<extra>RWKV</extra>"))
    fig.add_trace(go.Scatter(x=list(tokens), y=list(gpt_s), name="Transformer", mode="lines+markers",
                             line=dict(color=GPT_COLOR, width=4, dash="dash"), marker=dict(size=8, symbol="x"),
                             hovertemplate="%{x:,} tokens: %{y:.2f} s<extra>Transformer</extra>"))
    fig.update_layout(**_layout(title))
    fig.update_xaxes(title="Tokens read", rangemode="tozero")
    fig.update_yaxes(title="Seconds for all of them", rangemode="tozero")
    return fig


def add_trained_context_marker(fig, ctx_len: int, label: str = "transformer's trained length"):
    """A vertical dotted line where the transformer leaves the length it was trained on."""
    fig.add_vline(x=ctx_len, line=dict(color=REF_COLOR, dash="dot", width=2),
                  annotation_text=f"{label} ({ctx_len})", annotation_position="top right",
                  annotation_font=dict(size=13, color="#555555"))
    return fig


def race_figures(rows: list[dict], ctx_len: int) -> tuple:
    """The cost race's three charts from one set of rows (`model.race.race_rows`): time per token, memory held,
    total time; the first two marked where the transformer leaves its trained length."""
    toks = [r["tokens"] for r in rows]
    ms = add_trained_context_marker(ms_per_token_figure(rows), ctx_len)
    memory = add_trained_context_marker(
        race_memory_figure(toks, [r["rwkv_bytes"] for r in rows], [r["gpt_bytes"] for r in rows]), ctx_len)
    total = cumulative_time_figure(toks, [r["rwkv_total_s"] for r in rows], [r["gpt_total_s"] for r in rows])
    return ms, memory, total


# ------------------------------------------------------------------ computed: at scale


def memory_at_scale_figure(curves: dict, size_name: str, gqa_kv_heads: int | None = None,
                           mark_context: int | None = None, references: dict | None = None,
                           show_gqa: bool = True):
    """Bytes per conversation vs context, log–log: RWKV state (flat), KV cache (every head), KV cache
    with grouped-query attention. `curves` as `model.cost.memory_curves`. `references`: horizontal
    lines such as {"a phone: 8 GB": 8e9}."""
    ctx = curves["contexts"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ctx, y=curves["rwkv"], name="RWKV state (never grows)", mode="lines",
                             line=dict(color=RWKV_COLOR, width=4),
                             customdata=[human_bytes(b) for b in curves["rwkv"]],
                             hovertemplate="%{x:,} tokens: %{customdata}<extra>RWKV</extra>"))
    fig.add_trace(go.Scatter(x=ctx, y=curves["transformer"], name="Transformer KV cache", mode="lines",
                             line=dict(color=GPT_COLOR, width=4, dash="dash"),
                             customdata=[human_bytes(b) for b in curves["transformer"]],
                             hovertemplate="%{x:,} tokens: %{customdata}<extra>KV cache</extra>"))
    if show_gqa and "transformer_gqa" in curves:
        gname = "Transformer KV cache with GQA" + (f" ({gqa_kv_heads} KV heads)" if gqa_kv_heads else "")
        fig.add_trace(go.Scatter(x=ctx, y=curves["transformer_gqa"], name=gname, mode="lines",
                                 line=dict(color=GPT_GQA_COLOR, width=4, dash="dot"),
                                 customdata=[human_bytes(b) for b in curves["transformer_gqa"]],
                                 hovertemplate="%{x:,} tokens: %{customdata}<extra>KV cache, GQA</extra>"))
    ys = curves["rwkv"] + curves["transformer"] + list((references or {}).values())
    vals, text = _log_byte_ticks(min(ys), max(ys))
    for label, y in (references or {}).items():
        # shapes and annotations placed by hand: plotly's add_hline annotation misplaces itself on log axes
        fig.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y,
                      line=dict(color=REF_COLOR, dash="dot", width=2))
        fig.add_annotation(xref="paper", x=0, yref="y", y=math.log10(y), text=label, showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(size=13, color="#555555"))
    if mark_context:
        _mark_log_x(fig, mark_context)
    fig.update_layout(**_layout(f"Memory per conversation, {size_name} model (computed)"))
    fig.update_xaxes(**_log_context_axis(ctx))
    fig.update_yaxes(type="log", tickvals=vals, ticktext=text, title="Memory (log scale)",
                     range=[math.log10(vals[0]), math.log10(vals[-1])])
    return fig


def _mark_log_x(fig, x: float) -> None:
    """Vertical line and label at `x` on a log x axis (annotation x is given in log10 units there)."""
    fig.add_shape(type="line", xref="x", x0=x, x1=x, yref="paper", y0=0, y1=1, line=dict(color=ACCENT, width=2))
    fig.add_annotation(xref="x", x=math.log10(x), yref="paper", y=0.98, text=f"your choice: {tokens_label(x)}",
                       showarrow=False, xanchor="left", yanchor="top", font=dict(size=13))


def flops_at_scale_figure(curves: dict, size_name: str, mark_context: int | None = None):
    """FLOPs to write the next token vs context, log–log (like the memory chart), with ticks at powers of
    ten written in words; `curves` as `model.cost.flops_curves`."""
    ctx = curves["contexts"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ctx, y=curves["rwkv"], name="RWKV (same for every token)",
                             mode="lines", line=dict(color=RWKV_COLOR, width=4),
                             customdata=[human_count(f) for f in curves["rwkv"]],
                             hovertemplate="%{x:,} tokens: %{customdata} FLOPs<extra>RWKV</extra>"))
    fig.add_trace(go.Scatter(x=ctx, y=curves["transformer"], name="Transformer (grows with the context)",
                             mode="lines", line=dict(color=GPT_COLOR, width=4, dash="dash"),
                             customdata=[human_count(f) for f in curves["transformer"]],
                             hovertemplate="%{x:,} tokens: %{customdata} FLOPs<extra>Transformer</extra>"))
    if mark_context:
        _mark_log_x(fig, mark_context)
    ys = curves["rwkv"] + curves["transformer"]
    lo, hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    vals = [10**e for e in range(lo, hi + 1)]
    fig.update_layout(**_layout(f"Work for the next token, {size_name} model (computed)"))
    fig.update_xaxes(**_log_context_axis(ctx))
    fig.update_yaxes(type="log", title="FLOPs per token (log scale)", tickvals=vals,
                     ticktext=[human_count(v) for v in vals], range=[lo, hi])
    return fig


def gpu_fit_figure(rows: dict, size_name: str, gpu_gb: float = 80.0, show_gqa: bool = True):
    """Grouped bars: conversations of each length that fit on one GPU (weights loaded first).
    `rows` as `model.cost.gpu_fit_rows`. Log y axis (the gap spans several powers of ten); a design
    that fits none gets a '0' label instead of a bar."""
    labels = [tokens_label(c) for c in rows["contexts"]]
    series = [("RWKV", rows["rwkv"], RWKV_COLOR, "")]
    series.append(("Transformer", rows["transformer"], GPT_COLOR, "/"))
    if show_gqa and "transformer_gqa" in rows:
        series.append(("Transformer with GQA", rows["transformer_gqa"], GPT_GQA_COLOR, "."))
    fig = go.Figure()
    for name, ys, color, pattern in series:
        fig.add_trace(go.Bar(
            x=labels, y=[y if y > 0 else None for y in ys], name=name,
            marker=dict(color=color, pattern=dict(shape=pattern)),
            text=[f"{y:,}" for y in ys], textposition="outside", cliponaxis=False,
            hovertemplate="%{x} tokens each: %{text} conversations<extra>" + name + "</extra>",
        ))
    n = len(series)
    for i, (name, ys, color, _) in enumerate(series):
        offset = (i - (n - 1) / 2) * 0.8 / n  # grouped bars share 80% of each category's width
        for j, y in enumerate(ys):
            if y <= 0:  # no bar on a log axis: say so where the bar would be
                fig.add_annotation(x=j + offset, y=0, text="0", showarrow=False, yanchor="bottom",
                                   font=dict(size=15, color=color))
    top = max([y for _, ys, _, _ in series for y in ys] + [10])
    fig.update_layout(**_layout(f"Conversations that fit on one {gpu_gb:g} GB GPU, {size_name} model (computed)"),
                      barmode="group")
    fig.update_xaxes(title="Length of each conversation (tokens)", type="category")
    fig.update_yaxes(type="log", title="Conversations at once (log scale)", dtick=1,
                     range=[-0.3, math.log10(top) + 0.6])
    return fig
