"""Fading memory: per-channel decay, half-lives, and how much each earlier token still counts."""
import streamlit as st

from app import figures, loaders, ui
from app.reading import prompt_box

ui.page_header(
    "🌫️ Fading memory",
    "RWKV's memory does not keep every word. After each [[token]], every memory [[channel]] keeps a fixed "
    "fraction of what it held and adds the new token — so old words fade. Each channel has its own learned "
    "[[decay]]: some forget after a token or two, some remember for hundreds of tokens. Its "
    "[[half-life]] is how many tokens it takes to fade to half.",
)

ctx = prompt_box("fade")
if ctx is None:
    st.stop()

trace = loaders.rwkv_trace(ctx.ids)
ui.chart(figures.half_life_figure(trace.decay), "one dot per memory channel, placed at its half-life in tokens "
         "(log scale: each grid line is ten times longer); each row is a [[layer]].", key="half_life")

n = len(ctx.ids)
c1, c2, c3 = st.columns([1, 1, 1])
layer = c1.select_slider("Layer", options=list(range(1, trace.memory.shape[1] + 1)), value=trace.memory.shape[1], key="fade_layer") - 1
step = c2.slider("Reading token", 1, n, min(ctx.start_step + 1, n) if ctx.start_step else n, key="fade_step") - 1 if n > 1 else 0
ablation = c3.radio("Try", ["as trained", "no fading (decay frozen at 1)", "remove a token"], key="fade_ablation",
                    help="Ablations: change one thing and see what still echoes.")

ids, pieces, abl = ctx.ids, trace.pieces, "none"
if ablation.startswith("no fading"):
    abl = "no-decay"
elif ablation == "remove a token" and n > 1:
    drop = st.selectbox("Token to remove", list(range(n)), format_func=lambda i: f"{i + 1}: {pieces[i]!r}", key="fade_drop")
    ids = ctx.ids[:drop] + ctx.ids[drop + 1:]
    step = min(step, len(ids) - 1)

shown = loaders.rwkv_trace(ids, abl)
rwkv_w = loaders.rwkv_implicit_attention(ids, layer, abl)
gpt_tr = loaders.gpt_trace(ids)
gpt_w = gpt_tr.attention[layer].mean(axis=0)

left, right = st.columns(2)
with left:
    ui.chart(figures.contribution_heatmap(rwkv_w, shown.pieces, f"RWKV layer {layer + 1}: who still counts"),
             "row = the token being read, column = an earlier token; brighter = that earlier token still makes up "
             "more of what the memory returns ([[implicit attention]], computed exactly from the recurrence, averaged over channels).",
             key="rwkv_heat")
with right:
    ui.chart(figures.contribution_heatmap(gpt_w, shown.pieces, f"Transformer layer {layer + 1}: attention"),
             "the same sentence read by the same-size [[transformer]]: its real [[attention]] weights, averaged over its "
             "[[head|heads]]. It can jump back to any token; RWKV's weights can only fade smoothly.", key="gpt_heat")

ui.chart(figures.echo_figure(rwkv_w, shown.pieces, step, gpt_w, "Transformer (attention)"),
         "at the chosen token, the share of each earlier token in RWKV's memory read-out (blue) and in the transformer's "
         "attention (red).", key="echo")
if abl == "no-decay":
    ui.text("With fading switched off every channel keeps everything, so early tokens keep their weight — and the "
            "model's guesses change, because it was trained to forget.")

with ui.for_builders("For builders: decay and implicit attention (eq. 14)", "model/traces.py: rwkv_contributions, half_life_tokens"):
    st.latex(r"wkv_t = \frac{\sum_{i<t} e^{-(t-1-i)w + k_i} v_i + e^{u + k_t} v_t}{\sum_{i<t} e^{-(t-1-i)w + k_i} + e^{u+k_t}}")
    st.markdown("Per channel, token $i$'s weight in $wkv_t$ is its term divided by the denominator; the heatmap averages "
                "these weights over the channels of the layer (each row sums to 100%). The per-step decay factor is "
                "$e^{-e^{w}}$ (checkpoints store $w$ raw), so the half-life is $\\ln 2 / e^{w}$ tokens. "
                "The transformer map is softmax$(qk^T/\\sqrt{d})$ from its KV-cache steps, averaged over heads.")
