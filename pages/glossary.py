"""Glossary (/glossary): every term of app.glossary.TERMS, A to Z, with a search box.

The search text is only used to filter; it is never shown back, so it cannot inject Markdown or HTML.
"""
import streamlit as st

from app.glossary import TERMS, search
from app.room.views import share_app_card
from app.ui import for_builders, page_header, presenter_on

page_header("Glossary", "Every term this app uses, in one or two plain sentences. Point at, tap or tab to an "
                        "underlined word on any page to see the same text.")
if presenter_on():  # the talk ends here: the room gets the app's address
    share_app_card()

query = st.text_input("Search the glossary", key="glossary_query", placeholder="e.g. memory, cache, token",
                      max_chars=60)
needle = query.strip()
terms = sorted(TERMS, key=str.casefold)
shown = search(needle)  # words that start with it: "kv" finds "KV cache", not every "RWKV"

if needle and not shown:
    st.info("No term matches that search. Try a shorter word.", icon="🔎")
elif needle:
    st.caption(f"{len(shown)} of {len(terms)} terms match.")
else:
    st.caption(f"{len(terms)} terms, A to Z.")

letter = None
for term in shown:
    first = term[0].upper()
    if first != letter:
        letter = first
        st.subheader(letter, anchor=False)  # 20 "Link to heading" stops in the Tab path otherwise
    # our own text (glossary entries), plain Markdown, no HTML
    st.markdown(f"**{term}** — {TERMS[term]}")

with for_builders("For builders: where these definitions live and how to add a term", "app/glossary.py: TERMS"):
    # our own text; it shows the marker syntax inside code spans, so it is not run through the tooltips
    st.markdown(
        "This page and the dotted-underline definitions (hover, tap or Tab) on every page read the same dictionary, `TERMS` in "
        "`app/glossary.py`: change a definition there and both change.\n\n"
        "To use a term in a page's text, write it between double square brackets, for example `[[state]]`, "
        "or `[[states|state]]` to show other words for the same entry (a plural 's' is also accepted). "
        "Text passed to `app.ui.text` or `app.ui.caption`, or through `app.glossary.with_tooltips`, turns "
        "each marker into a definition that shows on hover, tap or keyboard focus and escapes any other HTML.\n\n"
        "To add a term, add one plain sentence or two to `TERMS`. The unit test "
        "`tests/test_app_units.py::test_glossary_covers_terms_used_in_pages` scans `pages/` and `app/` for "
        "markers and fails on any term that `TERMS` does not define."
    )
