"""Start here: the story in a minute, a teaser, a guided path, credits."""
import streamlit as st

from app import stepper, ui, views
from app.texts import CREDITS, EQ, FLOPS_SOURCE, RWKV_PAPER, model_card_markdown

ui.page_header(
    "👋 How RWKV reads",
    "Chatbots like ChatGPT are [[transformers|transformer]]: for every new word they write, they look back at "
    "**every** word so far. That gets slower and needs more memory as the conversation grows. "
    "[[RWKV]] is a different design. It reads one [[token]] at a time and keeps a **fixed-size memory** "
    "(its [[state]]). It is like a person who reads a story once and keeps a few notes. Each new word is "
    "added, and older words slowly fade.",
)

# A workshop participant who typed only the app's address lands here: the way to the room's poll is on top.
st.page_link("pages/join.py", label="In a workshop? Join its poll with the room code", icon="📱")

st.subheader("The idea in a minute")
ui.text(
    "1. **It reads like an [[RNN]]** — one token at a time, updating a memory that never grows.\n"
    "2. **Each token is blended with the one before it** ([[token shift]]), so it always hears the previous word.\n"
    "3. **Its memory fades at learned rates** ([[decay]]). Some parts forget within a word or two, some hold on "
    "longer. But nothing is kept word for word (the Fading memory page shows how long).\n"
    "4. **So each new token costs the same**, while a transformer pays more and more as its [[KV cache]] grows.\n"
    "5. **Yet it trains like a transformer**: the same maths can be run on a whole text at once "
    "([[parallel mode]]). That is what made large RWKV models possible."
)

words = ["Once", "upon", "a", "time", "there", "was", "a", "little", "cat", "who", "loved", "milk"]
stepper.show(views.teaser(tuple(words)))
ui.caption("press Play. With every word, RWKV's memory stays one box of the same size. The transformer's "
           "[[KV cache]] stacks up one more entry per word.")

st.subheader("A guided path")
ui.guided_path_links()
st.page_link("pages/glossary.py", label="Glossary — every term in plain words", icon="📚")

with st.expander("Predict, then reveal (for workshops)"):
    ui.text("Let the room guess first. Open a **Room poll**: it shows a square code that phones scan to vote. Ask, "
            "for example, *after reading 500 tokens, how much bigger is RWKV's memory than after 5?* Watch the votes "
            "come in, then reveal the answer. The app works it out from the models when you reveal it. The "
            "**Presenter console** runs a ready 15-minute talk with these polls in it.")
    st.page_link("pages/room.py", label="Open a room poll", icon="🙋")
    st.page_link("pages/console.py", label="Open the presenter console", icon="🎤")

with ui.for_builders("For builders: the whole model on one card", "model/rwkv.py (RWKV-4), model/gpt.py (the baseline)") as notes:
    notes.markdown(f"RWKV-4 ({RWKV_PAPER}; equation numbers as there): embedding → LayerNorm → L blocks of *time "
                f"mixing* (token shift, eqs. {EQ['rkv']}, then the WKV weighted average of eq. {EQ['wkv']} with "
                f"per-channel decay $w$ and bonus $u$, gated by $\\sigma(r)$, eq. {EQ['out']}) and *channel mixing* "
                f"(token shift, eqs. {EQ['rk_channel']}; squared ReLU and receptance gate, eq. {EQ['channel_out']}) "
                "→ LayerNorm → head. Recurrent form: a state of 5 vectors per layer, constant size (appendix D). "
                "Parallel form: every position's projections at once and the WKV in one pass over the text, which "
                "is how it trains; it gives the recurrent form's results.")
    notes.latex(r"\text{state floats} = 5LD \qquad \text{FLOPs/token} \approx 2(VD + 13D^2L)")
    notes.markdown(f"The FLOPs formula is {FLOPS_SOURCE}.")
    notes.markdown("The baseline is a GPT-style pre-LN transformer of the same width, depth and vocabulary, with rotary "
                "positions and a KV cache of $2LD$ numbers per token read.")

st.divider()
st.caption(CREDITS)
with ui.for_builders("For builders: the model card (how the two small models were trained and scored)",
                     "model/weights/MODEL_CARD.md, written by model/card.py") as notes:
    notes.markdown(model_card_markdown())
