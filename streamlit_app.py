"""rwkv-explainer entry point: page config and navigation only (run: streamlit run streamlit_app.py)."""
import streamlit as st

from app.ui import initial_sidebar_state, page_list

st.set_page_config(page_title="RWKV Explainer", page_icon="🪶", layout="wide", initial_sidebar_state=initial_sidebar_state())


def all_pages() -> list:  # called once per process (app/ui.page_list)
    return [
        st.Page("pages/start.py", title="Start here", icon="👋", url_path="start", default=True),
        st.Page("pages/read_along.py", title="Read along", icon="📖", url_path="read-along"),
        st.Page("pages/token_shift.py", title="Token shift", icon="🔀", url_path="token-shift"),
        st.Page("pages/fading_memory.py", title="Fading memory", icon="🌫️", url_path="fading-memory"),
        st.Page("pages/cost_race.py", title="Cost race", icon="🏁", url_path="cost-race"),
        st.Page("pages/at_scale.py", title="At scale", icon="🏗️", url_path="at-scale"),
        st.Page("pages/caveats.py", title="Claims and caveats", icon="⚖️", url_path="caveats"),
        st.Page("pages/glossary.py", title="Glossary", icon="📚", url_path="glossary"),
        st.Page("pages/room.py", title="Room poll", icon="🙋", url_path="room"),
        st.Page("pages/join.py", title="Join a room", icon="📱", url_path="join"),
        st.Page("pages/console.py", title="Presenter console", icon="🎤", url_path="console"),
    ]


st.navigation(page_list(all_pages)).run()
