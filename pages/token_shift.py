"""Token shift: every token is blended with the one before it, by learned amounts per channel."""
import streamlit as st

from app import figures, loaders, stepper, ui, views
from app.reading import reading_context

ui.page_header(
    "🔀 Token shift",
    "Before RWKV uses a [[token]], it blends it with the token just before it — like reading each word "
    "while still hearing the previous one. Every [[channel]] has its own learned mixer setting: some take "
    "almost all of the current token, some mostly the previous one. This is the [[token shift]].",
)

ctx = reading_context("shift")

trace = loaders.rwkv_trace(ctx.ids)
layer = st.select_slider("Layer to inspect", options=list(range(1, trace.memory.shape[1] + 1)), value=1, key="mix_layer") - 1
ablate = st.toggle("Switch token shift off (every mixer set to 100% this token)", key="no_shift",
                   help="An ablation: the same model, with μ = 1 everywhere. Watch the guesses change.")

stepper.show(views.token_shift(ctx.ids, layer, ablate), start=ctx.start_step)
if ablate:
    ui.caption("first: for each [[layer]], how much of the key, value and receptance input comes from the previous "
               "token at this step; second: the mixer of a few channels of the chosen layer (orange from this token, "
               "blue from the previous one); last: the model's top guesses with token shift (left) and without (right).")
else:
    ui.caption("first: for each [[layer]], how much of what feeds the key, the value and the [[receptance]] comes from "
               "the previous token at this step (the rest comes from the token being read); second: the mixer of a few "
               "channels of the chosen layer (orange from this token, blue from the previous one); last: the model's "
               "top guesses.")

ui.chart(figures.mix_profile_figure(trace, layer), "every channel of this layer sorted by its mixer setting μ: at 100% "
         "it uses only the token being read, at 0% only the previous token; the three lines are for key, value and receptance. "
         "Above 100% (or below 0%) a channel takes more than all of one token and subtracts some of the other: it "
         "reacts to the change from the previous token.",
         key="mix_profile")

with ui.for_builders("For builders: token shift (eqs. 11–13, 16–17)", "model/rwkv.py: TimeMix.forward, ChannelMix.forward; app/figures.py: previous_token_share"):
    st.latex(r"r_t = W_r\,(\mu_r \odot x_t + (1-\mu_r)\odot x_{t-1}) \tag{11}")
    st.latex(r"k_t = W_k\,(\mu_k \odot x_t + (1-\mu_k)\odot x_{t-1}) \tag{12}")
    st.latex(r"v_t = W_v\,(\mu_v \odot x_t + (1-\mu_v)\odot x_{t-1}) \tag{13}")
    st.latex(r"r'_t = W'_r\,(\mu'_r \odot x_t + (1-\mu'_r)\odot x_{t-1}),\; k'_t = W'_k\,(\mu'_k \odot x_t + (1-\mu'_k)\odot x_{t-1}) \tag{16, 17}")
    st.markdown("$x_t$ is the LayerNorm'd input of this token and $x_{t-1}$ of the previous one (the token-shift part of "
                "the state). The top chart's share is $\\sum_c |(1-\\mu_c)x_{t-1,c}| / (\\sum_c |\\mu_c x_{t,c}| + "
                "\\sum_c |(1-\\mu_c)x_{t-1,c}|)$. The ablation sets every $\\mu$ (time mixing and channel mixing) to 1. "
                "Token shift is a 1-D convolution of width 2 over time; it lets even the first layer combine two tokens.")
