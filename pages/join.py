"""Join a room (a participant, usually on a phone): the presenter's current question, a vote, the reveal."""
import streamlit as st

from app import ui
from app.room import views

ui.page_header(
    "📱 Join a room",
    "Vote on the presenter's question from your phone. Nobody sees who voted what: the app keeps no names.",
)
views.inject_css()

code = views.clean_code(st.query_params.get("room"))
if not code or not views.room_ok(code):
    views.code_form()
    st.stop()
views.room_badge(code)
views.remember_voter()
views.count_me_in(code)
views.participant_live(code)
