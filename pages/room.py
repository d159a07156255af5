"""Room poll (presenter): open a room, show its code and QR code, ask a question, watch the votes, reveal."""
import streamlit as st

from app import ui
from app.room import views

ui.page_header(
    "🙋 Room poll",
    "Ask the room a question about the [[model]]. Everyone votes on a phone, and you watch the votes come in. "
    "Then show the real answer, worked out by the app itself.",
    presenter_lead="",  # on a projector the question, the votes and Reveal fit one screen without it
    escape_key=True,  # no chart frame on this page to add the key
)
views.inject_css()

code = views.clean_code(st.query_params.get("room"))
token = views.presenter_key(code) if code else ""  # on a projector it leaves the address bar
if not code:
    if st.query_params.get("ask"):  # a poll view from the presenter console, sent before a room was open
        views.no_room_for_this_poll()
    else:
        views.open_room_panel()
    st.stop()
room = views.presenter_room(code, token)
if room is None:
    st.stop()

current = views.ask_from_link(code, token, room.question_id)
join, live = st.columns([2, 3], gap="large")
with join:
    views.room_card(code)
    ui.move_focus_if_asked()  # after Open a room: the room's code
with live:
    views.ask_panel(code, token, current)
    views.presenter_live(code, token)
views.results_panel(code)
st.divider()
views.presenter_link_box(code, token)
