"""Token shift: every token is blended with the one before it, by learned amounts per channel."""
import streamlit as st

from app import loaders, stepper, ui, views
from app.reading import reading_context
from app.texts import EQ, RWKV_PAPER

ui.page_header(
    "🔀 Token shift",
    "Before RWKV uses a [[token]], it blends it with the token just before it. It is like reading each word "
    "while you still hear the one before. Every [[channel]] has its own learned [[mixer]] setting. Some take "
    "almost all of the current token, some mostly the previous one. This is the [[token shift]].",
)

ctx = reading_context("shift")

trace = loaders.rwkv_trace(ctx.ids)
layer = st.select_slider("Layer to inspect", options=list(range(1, trace.memory.shape[1] + 1)), value=1, key="mix_layer") - 1
ablate = st.toggle("Switch token shift off (every mixer set to 100% this token)", key="no_shift",
                   help="A test that switches one thing off: the same model, but every mixer takes only the token being read. Watch the guesses change.")

# Token 1 has no token before it (all its bars are 0%): without a step in the link, open on token 2.
start = ctx.start_step if ctx.link_step is not None or len(ctx.ids) < 2 else 1
stepper.show(views.token_shift(ctx.ids, layer, ablate), start=start)
MIXER_CAPTION = ("The last chart stays the same as you step, because it is part of the model. It shows every channel "
                 "of this layer, sorted by its mixer setting. At 100% a channel uses only the token being read; at 0%, "
                 "only the previous token. The three lines are for key, value and receptance. Above 100% (or below 0%), "
                 "a channel takes more than all of one token and takes away some of the other. So it reacts to the "
                 "change from the previous token.")
if ablate:
    ui.caption("the first chart shows the model's top guesses with token shift (left) and without it (right). "
               "That is what switching it off changes. The next two show the mixing the trained model does, to "
               "compare: switched off, none of it happens. The second chart has a group of bars for each [[layer]]: "
               "how much of the input to the [[key]], the [[value]] and the [[receptance]] comes from the previous "
               "token at this step. The third shows the [[mixer]] of a few channels of the chosen layer: orange is "
               "from this token, blue from the previous one. " + MIXER_CAPTION)
else:
    ui.caption("the first chart has a group of bars for each [[layer]]. They show how much of the input to the "
               "[[key]], the [[value]] and the [[receptance]] comes from the previous token at this step. The rest "
               "comes from the token being read. The second shows the [[mixer]] of a few channels of the chosen "
               "layer: orange is from this token, blue from the previous one. The third shows the model's top "
               "guesses. " + MIXER_CAPTION)

with ui.for_builders(f"For builders: token shift (eqs. {EQ['rkv']} and {EQ['rk_channel']})", "model/rwkv.py: TimeMix.forward, ChannelMix.forward; app/figures.py: previous_token_share") as notes:
    notes.latex(r"r_t = W_r\,(\mu_r \odot x_t + (1-\mu_r)\odot x_{t-1}) \tag{11}")
    notes.latex(r"k_t = W_k\,(\mu_k \odot x_t + (1-\mu_k)\odot x_{t-1}) \tag{12}")
    notes.latex(r"v_t = W_v\,(\mu_v \odot x_t + (1-\mu_v)\odot x_{t-1}) \tag{13}")
    notes.latex(r"r'_t = W'_r\,(\mu'_r \odot x_t + (1-\mu'_r)\odot x_{t-1}) \tag{14}")  # one per line: fits a projector
    notes.latex(r"k'_t = W'_k\,(\mu'_k \odot x_t + (1-\mu'_k)\odot x_{t-1}) \tag{15}")
    notes.markdown("$x_t$ is the LayerNorm'd input of this token and $x_{t-1}$ of the previous one (the token-shift part of "
                "the state). The top chart's share is $\\sum_c |(1-\\mu_c)x_{t-1,c}| / (\\sum_c |\\mu_c x_{t,c}| + "
                "\\sum_c |(1-\\mu_c)x_{t-1,c}|)$. The ablation sets every $\\mu$ (time mixing and channel mixing) to 1. "
                "Token shift is a 1-D convolution of width 2 over time; it lets even the first layer combine two tokens. "
                f"Eqs. {EQ['rkv']} are time mixing, {EQ['rk_channel']} channel mixing (with its own $\\mu'$, on the "
                f"second LayerNorm's output); numbering as in the RWKV paper, {RWKV_PAPER}.")

ui.next_on_the_path("pages/token_shift.py")
