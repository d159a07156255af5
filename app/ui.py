"""Small Streamlit helpers every page uses: explained text, chart captions, the builders' expander.

Example (in a page):
    text("RWKV keeps a [[state]] that never grows.")
    chart(fig, "What you see: one bar per guess.")
    with for_builders("Eq. (14) in the paper", "model/rwkv.py: wkv_scan"):
        st.latex(r"wkv_t = ...")
"""
from __future__ import annotations

import contextlib

import streamlit as st

from .glossary import with_tooltips

_CSS = """
<style>
abbr.gloss { text-decoration: underline dotted #0072B2; cursor: help; }
.block-container { max-width: 1200px; padding-top: 2rem; }
</style>
"""

PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}, "responsive": True}


def inject_css() -> None:
    """Project CSS (static, no user content)."""
    st.markdown(_CSS, unsafe_allow_html=True)


def text(markdown: str) -> None:
    """Our own Markdown, with [[token]]-style glossary hovers. Everything else in it is escaped."""
    st.markdown(with_tooltips(markdown), unsafe_allow_html=True)


def chart(fig, what_you_see: str, key: str | None = None) -> None:
    """A Plotly chart with its one-sentence "what you see" caption underneath."""
    st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG, key=key)
    caption(what_you_see)


def caption(what_you_see: str) -> None:
    st.caption(with_tooltips("**What you see:** " + what_you_see), unsafe_allow_html=True)


@contextlib.contextmanager
def for_builders(title: str = "For builders: the maths", code_pointer: str | None = None):
    with st.expander(f"🔧 {title}"):
        yield
        if code_pointer:
            st.caption(f"Computed in `{code_pointer}`.")


def page_header(title: str, lead: str) -> None:
    inject_css()
    st.title(title)
    text(lead)
