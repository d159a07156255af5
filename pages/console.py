"""Presenter console (/console): the talk's speaker notes, timer and controls; it drives the projector window."""
import streamlit as st

from app import ui
from app.escape import user_text
from app.present import console
from app.present.talk import BUILT_IN_TALKS, TALK_ENV, TalkError, built_in_name, load_talk, talk_path
from app.room import views as room_views

ui.page_header(
    "🎤 Presenter console",
    "Keep this page on your own screen. Press **Open the projector window** and drag the new window to the "
    "projector. Then move through the talk with **Next** and **Previous**, the arrow keys or a clicker. The "
    "projector shows each view big, without your notes.",
)

path = talk_path()
name = None
if path is None:  # no talk file set by the server: a ready talk, picked here (the link's ?talk= keeps it)
    name = console.pick_talk(built_in_name(st.query_params.get_all("talk")))
try:
    talk = load_talk(path if path is not None else name)
except TalkError as exc:
    st.error(f"The talk file could not be used. {user_text(exc, limit=600)}", icon="📄")
    st.caption(f"Fix the file named by {TALK_ENV} and reload this page, or start the app without {TALK_ENV} "
               "to use the built-in talk.")
    st.stop()

opts = console.parse_console_params({key: st.query_params.get_all(key) for key in ("view", "room", "token")},
                                    len(talk.views))
for note in opts.notes:
    st.info(note, icon="🔗")
opts = console.with_session_room(opts, st.session_state.get("room_keys"))  # the room opened in this browser

polls = sum(1 for view in talk.views if view.poll)
source = (f"the ready {BUILT_IN_TALKS[name][0].lower()}" if path is None else
          f"your file ({user_text(path.name, limit=120)})")  # not the server's folders
room_line = ""
if polls:
    room_line = (f" Polls go to room {user_text(opts.room)}." if opts.room else
                 " No room is open yet: press **Open a room for the polls** before the first poll view.")
st.caption(f"**{user_text(talk.title, limit=120)}**: {len(talk.views)} views, {talk.minutes:g} minutes planned, "
           f"from {source}.{room_line}")
if polls and not opts.room and st.button("Open a room for the polls", type="primary", icon="🚪", key="console_open_room"):
    room_views.open_room_into_link(focus=('[data-testid="stCaptionContainer"]', "Polls go to room"))
ui.move_focus_if_asked()  # after Open a room for the polls: the line that names the room

console.draw(talk, opts)

if polls:
    with st.expander(f"🙋 Live polls: this talk asks the room {polls} question{'s' if polls > 1 else ''}"):
        if opts.room:
            st.success(f"Polls go to room {user_text(opts.room)}: a poll view shows its question on the projector, "
                       "and people vote on their phones.", icon="🙋")
        ui.text("Open a room on the **Room poll** page in another tab. Its address holds the room code and your "
                "presenter key (after `room=` and `token=`). Put them here. Without a room, a poll view asks "
                "you to open one.")
        with st.form("console_room", border=False):
            c1, c2 = st.columns(2)
            code = c1.text_input("Room code", value=opts.room or "", max_chars=16)
            key = c2.text_input("Presenter key", value=opts.token or "", type="password", max_chars=128)
            if st.form_submit_button("Use this room"):
                st.query_params.update({"room": code.strip(), "token": key.strip()})
                st.rerun()

with st.expander("How the console works"):
    ui.text(
        "- **Keys:** Page Down, → or ↓ for the next view; Page Up, ← or ↑ for the one before. Most clickers send "
        "Page Down and Page Up. After a click on the projector window (Reveal, Play), Page Down / Up and → / ← "
        "there move the talk too, except on a page that steps through a text: there they step through its "
        "tokens, so click back on this page to move on.\n"
        "- **Two screens:** open this page again in another tab or window of the same browser. Both stay on the "
        "same view, and a move in either one moves the projector.\n"
        "- **The timer** starts when you open the projector window or move on. It shows how long you have been on "
        "the talk and on this view, against the minutes planned.\n"
        "- **Your own talk:** copy `app/present/talk.toml`, edit it, and start the app with "
        f"`{TALK_ENV}=/path/to/talk.toml python -m app.serve`.\n"
        "- **Slides:** `python -m app.slides --out slides/` saves a picture of every view and one PDF."
    )
