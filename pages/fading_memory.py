"""Fading memory: per-channel decay, half-lives, and how much each earlier token still counts."""
import streamlit as st

from app import figures, loaders, stepper, ui, views
from app.texts import EQ, RWKV_PAPER, bonus_summary, fading_summary
from app.reading import reading_context

ui.page_header(
    "🌫️ Fading memory",
    "RWKV's memory does not keep every word. After each [[token]], every memory [[channel]] keeps a fixed "
    "part of what it held and adds the new token. So old words fade. Each channel has its own learned "
    "[[decay]]: some forget within a token or two, others hold on longer. A channel's "
    "[[half-life]] is how many tokens it takes to fade to half.",
)

ctx = reading_context("fade")

trace = loaders.rwkv_trace(ctx.ids)
ui.chart(views.half_lives(trace.decay), "one dot per memory channel, placed at its half-life in tokens. Each row "
         "is a [[layer]]. The axis has a [[log scale]]: each grid line is ten times longer than the one before.",
         name="Chart: every memory channel's half-life")
facts = views.memory_facts(trace.decay, trace.bonus)  # computed from the shipped model, never typed
ui.text(fading_summary(facts))

n_layers = min(trace.memory.shape[1], loaders.gpt_model().cfg.n_layer)
c1, c2 = st.columns([1, 2])
layer = c1.select_slider("Layer", options=list(range(1, n_layers + 1)), value=n_layers, key="fade_layer") - 1
ablation = c2.radio("Try", ["as trained", "no fading (decay frozen at 1)", "remove a token"], key="fade_ablation",
                    horizontal=True, help="Ablations: change one thing and see what still echoes.")

# Opens on the last token unless the link names one: on token 1 nothing has had time to fade (two 100% bars).
ids, abl, start = ctx.ids, "none", ctx.start_step if ctx.link_step is not None else len(ctx.ids) - 1
if ablation.startswith("no fading"):
    abl = "no-decay"
elif ablation == "remove a token":
    if len(ctx.ids) < 2:
        st.info("There is only one token: nothing to remove.")
    else:
        drop = st.selectbox("Token to remove", list(range(len(ctx.ids))),
                            format_func=lambda i: f"{i + 1}: “{stepper.display_piece(trace.pieces[i])}”", key="fade_drop")
        ids = ctx.ids[:drop] + ctx.ids[drop + 1:]
        start = min(start, len(ids) - 1)

stepper.show(views.fading_echo(tuple(ids), layer, abl), start=start)
ui.caption("how much each earlier token counts at the token being read (orange chip). Blue is its share in what "
           "RWKV's memory returns ([[implicit attention]]). Red-orange is its share in the same-size [[transformer]]'s "
           f"[[attention]]. Both are for layer {layer + 1}, averaged over channels and [[heads|head]]. The chart shows "
           "the last 48 tokens.")
if abl == "no-decay":
    ui.text("With fading switched off, every channel keeps everything. So early tokens keep their weight. And the "
            "model's guesses change, because it was trained to forget.")

ui.chart(views.echo_maps(tuple(ids), layer, abl),
         "two [[heatmap]]s. In each, a row is the token being read and a column an earlier token. The brighter "
         "a square, the more that earlier token counts there. The first map: what RWKV's memory returns, computed exactly "
         "from how the memory is updated, averaged over channels. The second map: the same sentence read by the same-size "
         "[[transformer]], its real [[attention]] weights averaged over its [[heads|head]]. It can look back at any "
         "token it chooses while reading. RWKV cannot. It sets how strongly a token is written into its memory "
         "only once, when it reads it (its [[key]]). " + bonus_summary(facts)
         + (f" Long text: the maps show the last {figures.HEATMAP_MAX_TOKENS} tokens."
            if len(ids) > figures.HEATMAP_MAX_TOKENS else ""),
         name="Heatmaps: who still counts, RWKV and transformer")
with ui.for_builders(f"For builders: decay and implicit attention (eq. {EQ['wkv']})",
                    "model/traces.py: rwkv_contributions, half_life_tokens; app/texts.py: memory_facts") as notes:
    notes.latex(r"wkv_t = \frac{\sum_{i=1}^{t-1} e^{-(t-1-i)w + k_i} v_i + e^{u + k_t} v_t}{\sum_{i=1}^{t-1} e^{-(t-1-i)w + k_i} + e^{u+k_t}} \tag{%s}" % EQ["wkv"])
    notes.markdown("Here $w = e^{\\text{time\\_decay}} > 0$ per channel (checkpoints store `time_decay` raw), so each "
                "step multiplies the memory by $e^{-w}$ and the half-life is $\\ln 2 / w$ tokens. Token $i$'s weight "
                "in $wkv_t$ is its term divided by the denominator; the charts average these weights over the "
                "channels of the layer (each row sums to 100%). The transformer's map is "
                "softmax$(qk^\\top/\\sqrt{d})$ from its KV-cache steps, averaged over heads. "
                "\"No fading\" sets $w = 0$; \"remove a token\" re-reads the text without it. "
                f"Equation numbers as in the RWKV paper, {RWKV_PAPER}.")
    notes.markdown("Token $i$'s unnormalised weight is $e^{u+k_i}$ on its own step and $e^{k_i}$ one step later, then "
                "$e^{-(t-1-i)w + k_i}$: it changes by $e^{-u}$ between its own step and the next, and only fades after. "
                f"In this model $u$ runs from {facts['u_lo']:.2f} to {facts['u_hi']:.2f} (so $e^{{-u}}$ from "
                f"{facts['rise_lo']:.2f} to {facts['rise_hi']:.2f}); the longest half-life is "
                f"{facts['longest']:.1f} tokens, and {100 * facts['fast_lo']:.0f}–{100 * facts['fast_hi']:.0f}% of "
                "each layer's channels have a half-life of 2 tokens or less (computed from the loaded weights).")

ui.next_on_the_path("pages/fading_memory.py")
