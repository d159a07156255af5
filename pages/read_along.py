"""Read along: the model reads your text token by token; step through it in the browser."""
import streamlit as st

from app import loaders, stepper, ui, views
from app.reading import note_split_characters, reading_context, splits_characters
from app.state import MAX_TOKENS, WRITE_PARAMS, WRITE_SEED, WRITE_TEMPERATURE, WRITE_TOKENS, WriteRequest, parse_write
from app.texts import EQ, FLOPS_SOURCE, RWKV_PAPER

ui.page_header(
    "📖 Read along",
    "Type a sentence and watch a real [[RWKV]] [[model]] read it one [[token]] at a time. It is like a person "
    "reading a line with a finger under each word. After every token, the model updates its [[state]]: a fixed "
    "set of numbers that is its whole memory. Then it guesses what comes next. Use **Next**, **Back** and "
    "**Play** (or the arrow keys on a keyboard) to step through.",
)

request, write_notes = parse_write({key: st.query_params.get_all(key) for key in WRITE_PARAMS})
ctx = reading_context("read", extra_tokens=request.tokens if request else 0)  # a link may step into written text
if request is not None and "write" not in st.query_params:  # the text was just edited: what was written goes
    request, write_notes = None, []
for note in write_notes:
    st.info(note, icon="🔗")
if request is None:  # temperature or seed without write mean nothing: said once above, then gone from the link
    for key in ("temperature", "seed"):
        if key in st.query_params:
            del st.query_params[key]
# A switch, not an expander: its controls cost the page nothing until someone wants them.
if st.toggle("✍️ Let it write: continue the text", value=request is not None, key="write_on"):
    ui.text("The model keeps going on its own. Each token it writes is read back in, exactly like your text. "
            "At [[temperature]] 0 it always takes its top guess ([[greedy]]). Higher values let it take less "
            "likely tokens. The dice [[seed]] makes a run repeatable.")
    c1, c2, c3 = st.columns(3)
    n_new = c1.slider("Tokens to write", *WRITE_TOKENS, request.tokens if request else 20, key="write_n")
    temperature = c2.slider("Temperature", *WRITE_TEMPERATURE, request.temperature if request else 0.0, 0.1,
                            key="write_temp", help="0 = always the top guess; 1 = as the model's probabilities say.")
    seed = c3.number_input("Dice seed", *WRITE_SEED, request.seed if request else 7, key="write_seed",
                           help="Same seed, same text.")
    if st.button("Let it write", type="primary", key="write_go"):
        request = WriteRequest(int(n_new), round(float(temperature), 2), int(seed))
        st.query_params.update({"write": str(request.tokens), "temperature": str(request.temperature),
                                "seed": str(request.seed)})  # the link shows the written text too
elif request is not None:  # switched off: the link goes back to the text alone
    request = None
    for key in WRITE_PARAMS:
        if key in st.query_params:
            del st.query_params[key]

ids, kinds = ctx.ids, ["prompt"] * len(ctx.ids)
if request is not None:
    room = MAX_TOKENS - len(ctx.ids)
    if room <= 0:
        st.warning(f"Your text already fills the {MAX_TOKENS} tokens this page shows. There is no room to write more. "
                   "Make it shorter to let the model go on.", icon="✂️")
    else:
        ids = loaders.continue_text(ctx.ids, min(request.tokens, room), request.temperature, request.seed)
        kinds = ["prompt"] * len(ctx.ids) + ["generated"] * (len(ids) - len(ctx.ids))
        st.caption("Dashed chips were written by the model.")
        if not splits_characters(ctx.ids):  # else the text box has said it already
            note_split_characters(ids[len(ctx.ids):])

start = ctx.start_step
if len(ids) > len(ctx.ids) and ctx.link_step is None:  # no step in the link: open on the first written token
    start = len(ctx.ids)
stepper.show(views.read_along(tuple(ids), tuple(kinds)), start=min(start, len(ids) - 1))
ui.caption("the chips are your text, cut into tokens. The orange chip is the one being read. The bars are the "
           "model's top five guesses for the next token. The [[heatmap]] is a picture of its memory: what each "
           "[[channel]] of each [[layer]] holds now, one row per layer. Blue and red are opposite signs, and white is near zero. The last chart compares "
           "the memory each model holds. RWKV's is measured: it is the size of its state. A same-size "
           "[[transformer]] holds a [[KV cache]] instead. It grows with every token read: a key and a value for each "
           "layer and channel, 4 bytes each. That is computed, as in the [[vLLM]] paper (§3). The Cost race page "
           "measures it.")

with ui.for_builders("For builders: what one step computes", "model/rwkv.py: RWKV.step; model/traces.py: trace_rwkv") as notes:
    notes.markdown("Per layer, with $x_t$ the LayerNorm'd input and $x_{t-1}$ the previous token's (RWKV paper, "
                f"{RWKV_PAPER}, section 3 and appendix D; equation numbers as there: the WKV written as a recurrence, "
                f"eqs. {EQ['wkv_rnn']} and {EQ['ab_rnn']}, is eq. {EQ['wkv']} step by step). Time mixing:")
    notes.latex(r"r_t = W_r\,(\mu_r \odot x_t + (1-\mu_r) \odot x_{t-1}) \tag{11}")
    notes.latex(r"k_t = W_k\,(\mu_k \odot x_t + (1-\mu_k) \odot x_{t-1}) \tag{12}")
    notes.latex(r"v_t = W_v\,(\mu_v \odot x_t + (1-\mu_v) \odot x_{t-1}) \tag{13}")
    notes.latex(r"wkv_t = \frac{a_{t-1} + e^{u+k_t} \odot v_t}{b_{t-1} + e^{u+k_t}} \tag{%s}" % EQ["wkv_rnn"])
    notes.latex(r"a_t = e^{-w} \odot a_{t-1} + e^{k_t} \odot v_t,\quad b_t = e^{-w} \odot b_{t-1} + e^{k_t} \tag{%s}" % EQ["ab_rnn"])
    notes.latex(r"o_t = W_o\,(\sigma(r_t) \odot wkv_t) \tag{%s}" % EQ["out"])
    notes.markdown(f"Channel mixing blends $x_t$ and $x_{{t-1}}$ the same way into $r'_t$ and $k'_t$ (eqs. {EQ['rk_channel']}, "
                "with its own $\\mu'$, on the second LayerNorm's output), then:")
    notes.latex(r"o'_t = \sigma(r'_t) \odot \left(W'_v \max(k'_t, 0)^2\right) \tag{%s}" % EQ["channel_out"])
    notes.markdown("$w = e^{\\text{time\\_decay}} > 0$ per channel, $u$ is the bonus (`time_first`). The heatmap shows "
                "$a_t/b_t$ per channel (the running weighted average of the values read so far, this one included), channels sorted by their decay. "
                "The state is 5 vectors per layer: $x_{t-1}$ for time mixing and for channel mixing, $a$, $b$, and the "
                "running maximum exponent $p$ that keeps the exponentials finite (appendix D). "
                f"FLOPs per token: $2(VD + 13D^2L)$, {FLOPS_SOURCE}.")

ui.next_on_the_path("pages/read_along.py")
