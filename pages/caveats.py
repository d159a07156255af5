"""Claims and caveats (/caveats): what the RWKV paper claims and does not, and what this app's toy models are.
The words live in app/texts_caveats.py."""
import streamlit as st

from app import texts_caveats as words
from app import texts_cost as tx
from app.glossary import with_tooltips
from app.ui import for_builders, next_on_the_path, page_header, table, text

page_header("Claims and caveats", words.LEAD, escape_key=True)

st.header("What the RWKV paper shows")
text(words.PAPER_SHOWS)
st.caption(words.PAPER_SHOWS_SOURCE)

st.header("What it does not claim, and what the paper itself warns about")
for paragraph in words.NOT_CLAIMED:
    text(paragraph)
text(tx.SCALE_QUALITY_CAVEAT)  # the paper's models at lengths past their training: here, not under this app's models

st.header("What came after RWKV-4")
text(words.AFTER_RWKV4)
st.caption(words.AFTER_RWKV4_NOTE)

st.header("About this app's models")
text(words.TOY_MODELS)
facts = tx.toy_model_facts()
if facts:
    table(tx.by_model(facts))  # one column per model: every column fits a phone
    st.caption(with_tooltips(words.FACTS_CAPTION), unsafe_allow_html=True)
else:
    st.info(words.NO_MODELS, icon="ℹ️")

with for_builders("For builders: state size vs KV cache, and where the claims are in the papers",
                  "model/cost.py: rwkv4_state_bytes, kv_cache_bytes") as notes:
    for kind, content in words.builders_notes(tx.kv_units_note()):
        if kind == "latex":
            notes.latex(content)
        else:
            notes.markdown(content)

st.header("Sources")
st.markdown(words.SOURCES)

next_on_the_path("pages/caveats.py")
