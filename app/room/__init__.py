"""Room polls ("predict, then reveal"): a presenter opens a room, the audience joins with a short code and
votes on a question about the model, then the presenter reveals the answer. The package owns the room
store (`store`: rooms, votes and tallies behind one small interface, SQLite by default and PostgreSQL by
URL; no SQL anywhere else), the question bank (`questions`: each question's options and answer, computed
from the shipped models and the cost formulas, never typed) and the join and presenter views (`views`),
which the thin pages `pages/room.py` and `pages/join.py` call. It may import `model/`, the rest of `app/`
(loaders, texts) and SQLAlchemy; `store` imports no Streamlit and, from the app, only the data folder.
"""
