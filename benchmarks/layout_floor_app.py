"""Read-along's layout in plain Streamlit calls, with constant data and none of the app's code.

`python -m benchmarks.page_cpu` serves this file as a second reference next to the one-widget floor: the
same elements, widgets, navigation size and step-through frame size as the read-along page (title, lead
with the project CSS in one element, the presenter switch in the sidebar, the write switch, text box and
sample picker side by side in a horizontal container, a ~137 KB frame, a caption, the builders' expander
with its code line), so the difference between this page and read-along is what the app's own code costs
per run.

With `RWKV_LAYOUT_CORE=1` it is the page's core only: the same elements without the container, the
CSS, the help texts and the builders' code line, i.e. the least a page doing read-along's job can send.
Not part of the app.
"""
import os

import streamlit as st

st.set_page_config(page_title="Layout floor", page_icon="🪶", layout="wide")
FRAME = "<!doctype html><html><body><script>const D = " + "[0.1234, -0.5678, 0.9012], " * 5000 + "</script></body></html>"
CORE = os.environ.get("RWKV_LAYOUT_CORE") == "1"
CSS = "" if CORE else "<style>" + ".x { color: #123456; } " * 100 + "</style>"
HELP = None if CORE else "Any text works."


def reading() -> None:
    st.sidebar.toggle("Presenter mode: bigger text", value=False, help=HELP)
    st.markdown(CSS + "\n# 📖 Read along\n\n" + "Type a sentence and watch a real model read it one token at a time. " * 6,
                unsafe_allow_html=True)
    st.toggle("✍️ Let it write: continue the text", value=False, key="write_on")
    if CORE:
        st.text_area("Your text", key="prompt_box", height=90, max_chars=4000)
        st.selectbox("Or pick a sample", ["—", "a", "b", "c"], key="sample_choice")
    else:
        with st.container(horizontal=True, wrap=True):
            st.text_area("Your text", key="prompt_box", height=90, max_chars=4000, help=HELP)
            st.selectbox("Or pick a sample", ["—", "a", "b", "c"], key="sample_choice", help="Short story openings.",
                         width=280)
    st.iframe(FRAME, height="content")
    st.caption("**What you see:** the chips are your text, cut into tokens. " * 5, unsafe_allow_html=True)
    with st.expander("🔧 For builders: what one step computes"):
        st.markdown("Per layer, with $x_t$ the input. " * 20 + "\n\n$$\nr_t = W_r x_t\n$$"
                    + ("" if CORE else "\n\n:small[Computed in `model/rwkv.py`.]"))


def other() -> None:
    st.write("another page")


pages = [st.Page(reading, title="Read along", icon="📖", url_path="read-along", default=True)]
pages += [st.Page(other, title=f"Page {i}", icon="📚", url_path=f"page-{i}") for i in range(10)]
st.navigation(pages).run()
