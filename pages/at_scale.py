"""At scale (/at-scale): the cost formulas applied to real model sizes. Computed, not measured."""
import streamlit as st

from app import figures_cost as fc
from app import texts_cost as tx
from app.state import last_value
from app.texts import FLOPS_SOURCE
from app.ui import chart, for_builders, next_on_the_path, page_header, table, text
from model import cost

page_header("At scale: real model sizes", tx.SCALE_LEAD)

qp = st.query_params
raw, repeated = {}, []
for key in ("size", "context", "gqa"):
    raw[key], notes = last_value(key, qp.get_all(key))
    repeated += notes
size0, ctx0, gqa0, problems = tx.parse_scale_params(raw["size"], raw["context"], raw["gqa"])
for msg in repeated + problems:
    st.info(msg, icon="ℹ️")

c1, c2, c3 = st.columns([1, 2, 1])
size_name = c1.selectbox("Model size", list(cost.MODEL_SIZES), index=list(cost.MODEL_SIZES).index(size0),
                         key="scale_size", help="RWKV-4 models trained on the Pile, and a transformer of the "
                                                "same depth and width.")
context = c2.select_slider("Length of one conversation (tokens)", options=tx.AT_SCALE_CONTEXTS, value=ctx0,
                           format_func=fc.tokens_label, key="scale_context",
                           help="About 750 words per 1,000 tokens. 1M tokens is several novels.")
gqa = c3.toggle(tx.GQA_TOGGLE, value=gqa0, key="scale_gqa", help=tx.GQA_TOGGLE_HELP)
# The address bar always holds a shareable link to this view. Only this page's keys change: presenter mode
# (present=1), Streamlit's embed options and anything else in the link stay as they are.
for key, value in {"size": size_name, "context": str(context), "gqa": "on" if gqa else "off"}.items():
    if qp.get_all(key) != [value]:
        qp[key] = value

size = cost.MODEL_SIZES[size_name]
n = cost.at_scale_numbers(size, context, gqa, tx.GPU_GB, tx.PHONE_GB)
fits = tx.gpu_fits(size, context)  # conversations per GPU for RWKV and both transformers, whatever the switch
ctx_label = fc.tokens_label(context)

st.subheader(f"One conversation of {ctx_label} tokens, {size_name} model")
m1, m2, m3 = st.columns(3)
m1.metric("RWKV memory", cost.human_bytes(n["rwkv_bytes"]), "same at any length",
          delta_color="off", delta_arrow="off")
m2.metric("Transformer memory", cost.human_bytes(n["transformer_bytes"]),
          f"{n['memory_ratio']:,.0f}× RWKV's, {'with' if gqa else 'without'} GQA", delta_color="off",
          delta_arrow="off")
# Both cards follow the GQA switch (the sentence under them gives the other case too).
m3.metric(f"Conversations on one {tx.GPU_GB:g} GB GPU",
          f"{fits['rwkv']:,} vs {fits['transformer_gqa' if gqa else 'transformer']:,}",
          f"RWKV vs transformer, {'with' if gqa else 'without'} GQA", delta_color="off", delta_arrow="off")
text(tx.gpu_fits_sentence(fits))
st.caption(f"Memory: {tx.SRC_STATE}; {tx.SRC_KV}. Conversations per GPU: {tx.SRC_GPU}. Not measured.")

for sentence in tx.scale_sentences(n, fits):
    text("- " + sentence)
st.caption(f"FLOPs {tx.SRC_FLOPS}. Memory {tx.SRC_KV}.")
text("Memory is not the only limit: the [[GPU]] must also do the work for every conversation it holds, so "
     "the real number served at once is lower for both. These numbers count memory only, and they leave out "
     "the working memory a server needs besides (the vLLM paper shows real systems lose some to waste).")
text(tx.SCALE_QUALITY_CAVEAT)

ctx = tx.CHART_CONTEXTS
refs = {f"a phone: {tx.PHONE_GB:g} GB": tx.PHONE_GB * cost.GB, f"one GPU: {tx.GPU_GB:g} GB": tx.GPU_GB * cost.GB}
fig = fc.memory_at_scale_figure(cost.memory_curves(size, ctx), size_name, size.gqa_kv_heads, context, refs,
                                show_gqa=True)
chart(fig, "both axes grow by multiplying. RWKV's [[state]] is a flat line; the [[KV cache]] grows in step with "
           "the length, and [[GQA]] only lowers that line, it does not flatten it. Dotted lines: a phone's and a "
           "GPU's whole memory. Computed, not measured.", key="scale_memory")

fig = fc.flops_at_scale_figure(cost.flops_curves(size, ctx, gqa), size_name, context)
chart(fig, "the work to write one more token. RWKV's is the same at every length; the transformer's grows, "
           "slowly at first (the model's own weights dominate) and then steeply, as looking back over the whole "
           "text takes over. Computed, not measured.", key="scale_flops")

bars_ctx = [4096, 32768, 131072, 1_048_576]
fig = fc.gpu_fit_figure(cost.gpu_fit_rows(size, bars_ctx, tx.GPU_GB), size_name, tx.GPU_GB, show_gqa=True)
chart(fig, "how many conversations of each length fit in one 80 GB [[GPU]] once the model's [[weights]] are "
           "loaded (memory only, an upper bound). '0' means not even one fits. Computed, not measured.",
      key="scale_gpu")

with for_builders("For builders: the formulas and the assumptions", "model/cost.py"):
    st.markdown(
        f"**{size_name}**: {size.n_layer} layers (L) × width {size.d_model} (D), vocabulary V = {size.vocab:,} "
        f"(RWKV-4 Pile models, arXiv 2305.13048). The transformer: same L and D, {size.n_heads} heads of "
        f"{size.head_dim}; with GQA {size.gqa_kv_heads} key/value heads (arXiv 2305.13245). KV cache and weights "
        f"in fp16 (2 bytes). {tx.state_dtype_note(size)}"
    )
    st.markdown("RWKV parameters (arXiv 2305.13048, §4 and Table 2) and FLOPs per token "
                f"({FLOPS_SOURCE}):")
    st.latex(r"N_{\text{RWKV}} = 2VD + 13D^2L + D(11L+4) \qquad C_{\text{RWKV}} = 2(VD + 13D^2L)")
    st.markdown("RWKV state, any length (arXiv 2305.13048, appendix D), all in fp32:")
    st.latex(r"M_{\text{RWKV}} = 5 \cdot L \cdot D \cdot 4\ \text{bytes}")
    st.markdown(f"KV cache per conversation of n tokens (vLLM, arXiv 2309.06180 §3). {tx.kv_units_note(row_below=True)}")
    st.latex(r"M_{\text{KV}}(n) = 2 \cdot L \cdot n_{kv} \cdot d_{head} \cdot 2\ \text{bytes} \cdot n")
    st.markdown("Transformer FLOPs for the next token (Kaplan et al. arXiv 2001.08361 eq. 2.2, "
                "$C \\approx 2N + 2\\,n_{layer}\\,n_{ctx}\\,d_{attn}$, with the head and both attention products):")
    st.latex(r"C_{\text{transformer}}(n) = 2(VD + 12D^2L) + 4\,L\,n\,D")
    st.markdown("With GQA the key and value projections shrink, so $12D^2L$ becomes "
                "$L(10D^2 + 2D\\,n_{kv}\\,d_{head})$; the attention term stays: every query head still reads "
                "every cached token.")
    st.markdown("Conversations per GPU (weights: parameters × 2 bytes):")
    st.latex(r"\left\lfloor \frac{80\,\text{GB} - \text{weights}}{M_{\text{per conversation}}} \right\rfloor")
    sizes_table, memory_table = tx.size_tables(cost.size_table())  # two narrow tables: a phone sees every column
    table(sizes_table)
    table(memory_table)
    st.markdown("Deep link: `?size=7B&context=32768&gqa=on`.")

next_on_the_path("pages/at_scale.py")
