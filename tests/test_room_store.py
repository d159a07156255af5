"""The room store (app/room/store.py): rooms, votes, tallies, reveal and expiry, on SQLite and on PostgreSQL.

Every behaviour test runs twice: on a fresh SQLite file, and on PostgreSQL in a schema of its own (created
for the test, dropped after it, so runs repeat and can overlap). The PostgreSQL URL comes from
`$RWKV_EXPLAINER_TEST_DATABASE_URL` (e.g. postgresql+psycopg://rwkv:rwkv@127.0.0.1:5432/rwkv_test); without
it those tests skip with the reason, except under CI=true, where they fail.
"""
from __future__ import annotations

import datetime
import os
import threading
import uuid

import pytest
import sqlalchemy as sa

from app.room import store as room_store
from app.room.store import (
    CODE_ALPHABET, CODE_LENGTH, ROOM_TTL, SCHEMA_VERSION, NotPresenter, RateLimiter, RoomExpired, RoomNotFound,
    RoomStore, SchemaMismatch, TooManyRequests, VoteRejected, make_engine, normalise_code, open_store, token_hash,
)

TEST_DATABASE_ENV = "RWKV_EXPLAINER_TEST_DATABASE_URL"
START = datetime.datetime(2026, 11, 28, 9, 0, tzinfo=datetime.timezone.utc)
QUESTION, OTHER = "next-word", "memory-growth"


class FakeClock:
    """A clock the test moves by hand: `clock()` is the time, `clock.advance(hours=…)` moves it."""

    def __init__(self, now: datetime.datetime = START):
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += datetime.timedelta(**delta)


def voter(i: int) -> str:
    return f"voter-{i:04d}"


def postgres_url_or_skip() -> str:
    url = os.environ.get(TEST_DATABASE_ENV, "").strip()
    if url:
        return url
    msg = (f"${TEST_DATABASE_ENV} is not set, so the PostgreSQL room-store tests cannot run (set it to e.g. "
           "postgresql+psycopg://rwkv:rwkv@127.0.0.1:5432/rwkv_test).")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " CI=true, so this is a failure, not a skip.", pytrace=False)
    pytest.skip(msg)


class Database:
    """One fresh database per test: `engine()` opens another engine on it (like another app process)."""

    def __init__(self, backend: str, tmp_path):
        self.backend, self._engines = backend, []
        if backend == "sqlite":
            self.url, self.schema = "sqlite:///" + str(tmp_path / "rooms.sqlite3"), None
        else:
            self.url, self.schema = postgres_url_or_skip(), "room_test_" + uuid.uuid4().hex[:12]
            with sa.create_engine(self.url).begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))

    def engine(self) -> sa.Engine:
        engine = make_engine(self.url)
        self._engines.append(engine)
        if self.schema:
            return engine.execution_options(schema_translate_map={None: self.schema})
        return engine

    def store(self, clock=None, limiter=None) -> RoomStore:
        return RoomStore(self.engine(), clock=clock or FakeClock(), limiter=limiter)

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        if self.schema:
            admin = sa.create_engine(self.url)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    database = Database(request.param, tmp_path)
    yield database
    database.close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(db, clock):
    return db.store(clock)


@pytest.fixture
def asked(store):
    """A room asking QUESTION with 5 options: (store, room, presenter token)."""
    room, token = store.create_room()
    store.ask(room.code, token, QUESTION, 5)
    return store, room, token


# ------------------------------------------------------------------ rooms


def test_create_room_gives_a_short_readable_code_and_a_hashed_key(db, store, clock):
    room, token = store.create_room()
    assert len(room.code) == CODE_LENGTH and set(room.code) <= set(CODE_ALPHABET)
    assert not set(room.code) & set("0O1IL")
    assert room.created_at == clock() and room.expires_at - room.created_at == ROOM_TTL
    assert room.created_at.tzinfo is not None and room.created_at.utcoffset() == datetime.timedelta(0)
    assert room.question_id is None and not room.revealed
    assert len(token) >= 32
    with store.engine.connect() as conn:
        kept = conn.execute(sa.select(room_store.ROOMS.c.token_sha256)).scalar_one()
    assert kept == token_hash(token) and token not in kept


def test_join_by_code_typed_any_way(asked):
    store, room, _ = asked
    typed = " " + room.code[:2].lower() + "-" + room.code[2:].lower() + " "
    joined = store.room(typed)
    assert joined.code == room.code and joined.question_id == QUESTION and joined.n_options == 5
    assert joined.created_at == room.created_at and joined.expires_at == room.expires_at  # aware UTC both ways


def test_codes_differ(store):
    codes = {store.create_room()[0].code for _ in range(20)}
    assert len(codes) == 20


def test_code_collision_draws_another(store, monkeypatch):
    first, _ = store.create_room()
    drawn = iter([first.code, first.code, "K7M2Q"])
    monkeypatch.setattr(room_store, "new_code", lambda: next(drawn))
    second, _ = store.create_room()
    assert second.code == "K7M2Q" and store.room(first.code).code == first.code


@pytest.mark.parametrize("typed", ["", "ABC", "ABCDEFG", "K7M2O", "<b>x</b>", None])
def test_malformed_code_is_not_found_and_not_echoed(store, typed):
    with pytest.raises(RoomNotFound) as err:
        store.room(typed)
    assert "like K7M2Q" in str(err.value) and "<b>" not in str(err.value)


def test_unknown_code_is_not_found(store):
    with pytest.raises(RoomNotFound, match="no room with the code KKKKK"):
        store.room("kkkkk")
    with pytest.raises(RoomNotFound):
        store.vote("KKKKK", voter(1), QUESTION, 0)


def test_presenter_key(store):
    room, token = store.create_room()
    assert store.is_presenter(room.code, token)
    assert not store.is_presenter(room.code, token + "x")
    assert not store.is_presenter(room.code, None) and not store.is_presenter(room.code, "")
    other, other_token = store.create_room()
    assert not store.is_presenter(room.code, other_token)


@pytest.mark.parametrize("bad_token", [None, "", "not-the-key"])
def test_only_the_presenter_asks_and_reveals(store, bad_token):
    room, token = store.create_room()
    with pytest.raises(NotPresenter, match="Only the presenter"):
        store.ask(room.code, bad_token, QUESTION, 5)
    store.ask(room.code, token, QUESTION, 5)
    with pytest.raises(NotPresenter):
        store.reveal(room.code, bad_token, QUESTION)
    assert not store.room(room.code).revealed


# ------------------------------------------------------------------ votes


def test_vote_change_tally_reveal(asked):
    store, room, token = asked
    assert store.tally(room.code, QUESTION) == [0, 0, 0, 0, 0]
    store.vote(room.code, voter(1), QUESTION, 2)
    store.vote(room.code, voter(2), QUESTION, 2)
    store.vote(room.code, voter(3), QUESTION, 4)
    assert store.tally(room.code, QUESTION) == [0, 0, 2, 0, 1]
    store.vote(room.code, voter(3), QUESTION, 0)  # a change of mind replaces the vote
    assert store.tally(room.code, QUESTION) == [1, 0, 2, 0, 0]
    revealed = store.reveal(room.code, token, QUESTION)
    assert revealed.revealed and store.room(room.code).revealed
    with pytest.raises(VoteRejected, match="already shown"):
        store.vote(room.code, voter(1), QUESTION, 1)
    with pytest.raises(VoteRejected):
        store.vote(room.code, voter(9), QUESTION, 1)
    assert store.tally(room.code, QUESTION) == [1, 0, 2, 0, 0]


@pytest.mark.parametrize("option", [-1, 5, 99, "2", 2.0, True, None])
def test_option_out_of_range_or_not_a_number(asked, option):
    store, room, _ = asked
    with pytest.raises(VoteRejected, match="Pick one of the answers"):
        store.vote(room.code, voter(1), QUESTION, option)
    assert store.tally(room.code, QUESTION) == [0] * 5


def test_numpy_ints_are_options(asked):
    np = pytest.importorskip("numpy")
    store, room, _ = asked
    store.vote(room.code, voter(1), QUESTION, np.int64(3))
    assert store.tally(room.code, QUESTION)[3] == 1


def test_vote_on_another_question_or_before_any(store):
    room, token = store.create_room()
    with pytest.raises(VoteRejected, match="not asked a question yet"):
        store.vote(room.code, voter(1), QUESTION, 0)
    store.ask(room.code, token, QUESTION, 3)
    with pytest.raises(VoteRejected, match="moved on"):
        store.vote(room.code, voter(1), OTHER, 0)
    with pytest.raises(VoteRejected):
        store.tally(room.code, OTHER)
    with pytest.raises(VoteRejected):
        store.reveal(room.code, token, OTHER)


@pytest.mark.parametrize("bad_voter", ["", "short", "x" * 65, "voter 0001", "voter-0001<script>", None])
def test_voter_id_must_look_sane(asked, bad_voter):
    store, room, _ = asked
    with pytest.raises(VoteRejected, match="id looks wrong"):
        store.vote(room.code, bad_voter, QUESTION, 0)


def test_asking_again_keeps_votes_and_a_new_question_starts_fresh(asked):
    store, room, token = asked
    store.vote(room.code, voter(1), QUESTION, 1)
    store.vote(room.code, voter(2), QUESTION, 4)
    store.ask(room.code, token, QUESTION, 5)  # a page rerun asks again
    assert store.tally(room.code, QUESTION) == [0, 1, 0, 0, 1]
    store.reveal(room.code, token, QUESTION)
    reopened = store.ask(room.code, token, QUESTION, 5)
    assert not reopened.revealed and store.tally(room.code, QUESTION) == [0, 1, 0, 0, 1]
    store.vote(room.code, voter(3), QUESTION, 1)  # open again after the re-ask
    moved = store.ask(room.code, token, OTHER, 3)
    assert moved.question_id == OTHER and moved.n_options == 3 and not moved.revealed
    assert store.tally(room.code, OTHER) == [0, 0, 0]
    back = store.ask(room.code, token, QUESTION, 5)  # back to the first (the talk went back a view): as left
    assert not back.revealed and store.tally(room.code, QUESTION) == [0, 2, 0, 0, 1]
    fresh = store.ask(room.code, token, QUESTION, 5, fresh=True)  # "Start it over"
    assert not fresh.revealed and store.tally(room.code, QUESTION) == [0] * 5


def test_going_back_to_a_revealed_question_shows_its_answer_and_votes_again(asked):
    """A -> reveal -> B -> A (Previous on the console): A's votes and answer come back, not a new poll; its
    voting stays closed; B's votes are kept too, for when the talk goes forward again."""
    store, room, token = asked
    store.vote(room.code, voter(1), QUESTION, 1)
    store.vote(room.code, voter(2), QUESTION, 1)
    revealed = store.reveal(room.code, token, QUESTION)
    store.ask(room.code, token, OTHER, 3)
    store.vote(room.code, voter(1), OTHER, 2)
    back = store.ask(room.code, token, QUESTION, 5)
    assert (back.question_id, back.revealed, back.asked_round) == (QUESTION, True, revealed.asked_round)
    assert store.tally(room.code, QUESTION) == [0, 2, 0, 0, 0]
    assert store.vote_of(room.code, voter(1), QUESTION) == 1
    with pytest.raises(VoteRejected):
        store.vote(room.code, voter(3), QUESTION, 0)
    forward = store.ask(room.code, token, OTHER, 3)
    assert not forward.revealed and store.tally(room.code, OTHER) == [0, 0, 1]


def test_asked_says_how_the_room_left_a_question(asked):
    store, room, token = asked
    assert store.asked(room.code, OTHER) is None  # never asked here
    assert store.asked(room.code, QUESTION) == room_store.Asked(QUESTION, 5, False, 0)
    store.vote(room.code, voter(1), QUESTION, 4)
    store.reveal(room.code, token, QUESTION)
    store.ask(room.code, token, OTHER, 3)
    assert store.asked(room.code, QUESTION) == room_store.Asked(QUESTION, 5, True, 1)
    assert store.asked(room.code, OTHER) == room_store.Asked(OTHER, 3, False, 0)
    with pytest.raises(RoomNotFound):
        store.asked("ZZZZZ", QUESTION)


def test_asked_round_goes_up_only_when_votes_start_fresh(asked):
    store, room, token = asked
    first = store.room(room.code).asked_round
    store.ask(room.code, token, QUESTION, 5)  # asked again (a rerun): same round, votes kept
    store.reveal(room.code, token, QUESTION)
    assert store.ask(room.code, token, QUESTION, 5).asked_round == first  # reopened after the reveal
    other = store.ask(room.code, token, OTHER, 3).asked_round
    assert other == first + 1
    back = store.ask(room.code, token, QUESTION, 5)  # back as left (reopened, so not revealed): its round
    assert (back.question_id, back.revealed, back.asked_round) == (QUESTION, False, first)
    again = store.ask(room.code, token, QUESTION, 5, fresh=True)
    # Same question, not revealed, as a phone that looked before and after saw it: only the round tells.
    assert (again.question_id, again.revealed) == (QUESTION, False) and again.asked_round == first + 2
    assert store.ask(room.code, token, OTHER, 3, fresh=True).asked_round == first + 3


def test_joined_counts_each_phone_once_per_room(store, clock):
    room, _ = store.create_room()
    other, _ = store.create_room()
    assert store.joined(room.code) == 0
    for _ in range(3):
        store.join(room.code.lower(), voter(1))
    store.join(room.code, voter(2))
    store.join(other.code, voter(1))
    assert (store.joined(room.code), store.joined(other.code)) == (2, 1)
    with pytest.raises(VoteRejected):
        store.join(room.code, "bad id")
    with pytest.raises(RoomNotFound):
        store.join("ZZZZZ", voter(3))
    clock.advance(hours=13)
    with pytest.raises(RoomExpired):
        store.join(room.code, voter(3))
    store.purge_expired()
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(room_store.JOINED)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(room_store.ASKED)).scalar() == 0


def test_results_list_every_question_asked_with_its_votes(asked):
    store, room, token = asked
    store.vote(room.code, voter(1), QUESTION, 4)
    store.vote(room.code, voter(2), QUESTION, 4)
    store.reveal(room.code, token, QUESTION)
    store.ask(room.code, token, OTHER, 3)
    store.vote(room.code, voter(1), OTHER, 0)
    assert store.results(room.code) == [
        (room_store.Asked(QUESTION, 5, True, 2), [0, 0, 0, 0, 2]),
        (room_store.Asked(OTHER, 3, False, 1), [1, 0, 0]),
    ]
    store.ask(room.code, token, QUESTION, 5, fresh=True)  # asked anew: now the last one asked
    assert [a.question_id for a, _ in store.results(room.code)] == [OTHER, QUESTION]
    empty, _ = store.create_room()
    assert store.results(empty.code) == []


def test_vote_of_is_what_the_store_counted(asked):
    store, room, token = asked
    assert store.vote_of(room.code, voter(1), QUESTION) is None
    store.vote(room.code, voter(1), QUESTION, 3)
    store.vote(room.code, voter(1), QUESTION, 2)
    assert store.vote_of(room.code, voter(1), QUESTION) == 2
    assert store.vote_of(room.code, voter(2), QUESTION) is None
    assert store.vote_of(room.code, voter(1), OTHER) is None  # not the question asked now
    store.ask(room.code, token, OTHER, 3)
    store.ask(room.code, token, QUESTION, 5)  # back to it: the vote is still counted
    assert store.vote_of(room.code, voter(1), QUESTION) == 2
    store.ask(room.code, token, QUESTION, 5, fresh=True)  # started over: its old votes are gone, and this one
    assert store.vote_of(room.code, voter(1), QUESTION) is None


def test_two_presenter_actions_at_once_both_finish(asked):
    """Ask and reveal racing on one room (two presenter windows): the exclusive lock queues them; neither
    deadlocks on PostgreSQL nor fails on SQLite."""
    import threading

    store, room, token = asked
    errors = []

    def act(i):
        try:
            for _ in range(5):
                if i % 2:
                    store.ask(room.code, token, QUESTION, 5)
                else:
                    try:
                        store.reveal(room.code, token, QUESTION)
                    except VoteRejected:
                        pass  # already revealed or re-asked in between: a plain refusal, not a crash
        except Exception as exc:  # a deadlock or "database is locked" would land here
            errors.append(repr(exc))

    threads = [threading.Thread(target=act, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_asking_again_with_fewer_options_drops_votes_out_of_range(asked):
    store, room, token = asked
    store.vote(room.code, voter(1), QUESTION, 1)
    store.vote(room.code, voter(2), QUESTION, 4)
    store.ask(room.code, token, QUESTION, 3)
    assert store.tally(room.code, QUESTION) == [0, 1, 0]


@pytest.mark.parametrize("n_options", [0, 1, 13])
def test_a_question_needs_a_sane_number_of_options(store, n_options):
    room, token = store.create_room()
    with pytest.raises(VoteRejected):
        store.ask(room.code, token, QUESTION, n_options)


def test_rate_limit_per_voter(db, clock):
    seconds = [0.0]
    store = db.store(clock, RateLimiter(limit=10, window_s=10.0, clock=lambda: seconds[0]))
    room, token = store.create_room()
    store.ask(room.code, token, QUESTION, 5)
    for i in range(10):
        store.vote(room.code, voter(1), QUESTION, i % 5)
    with pytest.raises(TooManyRequests, match="Wait a few seconds"):
        store.vote(room.code, voter(1), QUESTION, 0)
    store.vote(room.code, voter(2), QUESTION, 0)  # others are not slowed down
    seconds[0] = 10.5
    store.vote(room.code, voter(1), QUESTION, 3)
    assert store.tally(room.code, QUESTION) == [1, 0, 0, 1, 0]


def test_rate_limiter_forgets_idle_voters():
    seconds = [0.0]
    limiter = RateLimiter(limit=1, window_s=1.0, clock=lambda: seconds[0])
    limiter.MAX_KEYS = 3
    for key in "abc":
        assert limiter.allow(key)
    seconds[0] = 5.0
    assert limiter.allow("d") and len(limiter._events) == 1


# ------------------------------------------------------------------ expiry


def test_room_expires_after_12_hours(asked, clock):
    store, room, token = asked
    store.vote(room.code, voter(1), QUESTION, 0)
    clock.advance(hours=11, minutes=59)
    assert store.room(room.code).code == room.code
    clock.advance(minutes=1)
    for call in (lambda: store.room(room.code), lambda: store.vote(room.code, voter(2), QUESTION, 0),
                 lambda: store.ask(room.code, token, QUESTION, 5), lambda: store.reveal(room.code, token, QUESTION),
                 lambda: store.tally(room.code, QUESTION), lambda: store.is_presenter(room.code, token)):
        with pytest.raises(RoomExpired, match="12 hours"):
            call()


def test_purge_deletes_expired_rooms_and_their_votes(asked, clock):
    store, old, _ = asked
    store.vote(old.code, voter(1), QUESTION, 0)
    clock.advance(hours=6)
    young, young_token = store.create_room()
    store.ask(young.code, young_token, QUESTION, 5)
    store.vote(young.code, voter(1), QUESTION, 1)
    assert store.purge_expired(clock.now + datetime.timedelta(hours=5)) == 0
    assert store.purge_expired(clock.now + datetime.timedelta(hours=6)) == 1
    with pytest.raises(RoomNotFound):
        store.room(old.code)
    with store.engine.connect() as conn:
        left = conn.execute(sa.select(room_store.VOTES.c.room_code)).scalars().all()
    assert left == [young.code] and store.tally(young.code, QUESTION) == [0, 1, 0, 0, 0]


def test_creating_a_room_purges_expired_ones(store, clock):
    old, _ = store.create_room()
    clock.advance(hours=13)
    store.create_room()
    with pytest.raises(RoomNotFound):
        store.room(old.code)


# ------------------------------------------------------------------ several processes and threads


def test_two_stores_on_one_database_see_each_others_votes(db, clock):
    first, second = db.store(clock), db.store(clock)  # like two app processes
    room, token = first.create_room()
    second.ask(room.code, token, QUESTION, 4)
    first.vote(room.code, voter(1), QUESTION, 3)
    second.vote(room.code, voter(2), QUESTION, 3)
    assert first.tally(room.code, QUESTION) == second.tally(room.code, QUESTION) == [0, 0, 0, 2]
    first.reveal(room.code, token, QUESTION)
    with pytest.raises(VoteRejected):
        second.vote(room.code, voter(3), QUESTION, 0)


def test_concurrent_votes_from_threads_are_all_counted(asked):
    store, room, _ = asked
    threads_n, votes_each = 8, 6
    errors = []

    def cast(t: int) -> None:
        try:
            for i in range(votes_each):
                store.vote(room.code, voter(t * 100 + i), QUESTION, (t + i) % 5)
        except Exception as exc:  # reported below: an exception in a thread does not fail the test by itself
            errors.append(exc)

    threads = [threading.Thread(target=cast, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors
    counts = store.tally(room.code, QUESTION)
    assert sum(counts) == threads_n * votes_each
    expected = [sum(1 for t in range(threads_n) for i in range(votes_each) if (t + i) % 5 == o) for o in range(5)]
    assert counts == expected


# ------------------------------------------------------------------ schema and engines


def test_schema_version_is_written_and_checked(db, clock):
    store = db.store(clock)
    with store.engine.begin() as conn:
        assert conn.execute(sa.select(room_store.SCHEMA_TABLE.c.version)).scalars().all() == [SCHEMA_VERSION]
        conn.execute(room_store.SCHEMA_TABLE.update().values(version=SCHEMA_VERSION + 98))
    with pytest.raises(SchemaMismatch) as err:
        db.store(clock)
    message = str(err.value)
    assert f"version {SCHEMA_VERSION + 98}" in message and f"needs version {SCHEMA_VERSION}" in message
    if db.backend == "postgresql" and sa.make_url(db.url).password:
        assert "***" in message and f":{sa.make_url(db.url).password}@" not in message


def test_a_version_1_database_is_upgraded_in_place(db, clock):
    """Version 1 had no `asked_round`: a running room and its votes survive the upgrade."""
    engine = db.engine()
    v1_rooms = sa.Table(
        "rooms", sa.MetaData(),
        sa.Column("code", sa.String(CODE_LENGTH), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", room_store.UTCDateTime, nullable=False),
        sa.Column("expires_at", room_store.UTCDateTime, nullable=False, index=True),
        sa.Column("question_id", sa.String(room_store.QUESTION_ID_MAX), nullable=True),
        sa.Column("n_options", sa.Integer, nullable=False),
        sa.Column("revealed", sa.Boolean, nullable=False),
    )
    with engine.begin() as conn:
        v1_rooms.metadata.create_all(conn)
        room_store.SCHEMA_TABLE.create(conn)
        conn.execute(room_store.SCHEMA_TABLE.insert().values(version=1))
        now = clock()
        conn.execute(v1_rooms.insert().values(code="K7M2Q", token_sha256=token_hash("key" * 12), created_at=now,
                                              expires_at=now + ROOM_TTL, question_id=QUESTION, n_options=5,
                                              revealed=False))
    store = db.store(clock)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(room_store.SCHEMA_TABLE.c.version)).scalars().all() == [SCHEMA_VERSION]
    assert store.room("K7M2Q").asked_round == 0
    store.vote("K7M2Q", voter(1), QUESTION, 2)
    assert store.tally("K7M2Q", QUESTION) == [0, 0, 1, 0, 0]
    assert store.ask("K7M2Q", "key" * 12, OTHER, 3).asked_round == 1
    db.store(clock)  # a second process starting on the upgraded database finds the current version
    with store.engine.begin() as conn:  # rolled back to an older app (deploy/README.md), then forward again
        conn.execute(room_store.SCHEMA_TABLE.update().values(version=1))
    assert db.store(clock).room("K7M2Q").asked_round == 1


def test_a_version_2_database_is_upgraded_in_place(db, clock):
    """Version 2 had no table `asked`: a running room keeps its question, votes and round, and the next
    question gets a round after it."""
    store = db.store(clock)
    room, token = store.create_room()
    store.ask(room.code, token, QUESTION, 5)
    store.ask(room.code, token, OTHER, 3)
    store.vote(room.code, voter(1), OTHER, 2)
    with store.engine.begin() as conn:  # what version 2 left: no `asked` table
        conn.execute(room_store.ASKED.delete())
        room_store.ASKED.drop(conn)
        conn.execute(room_store.SCHEMA_TABLE.update().values(version=2))
    upgraded = db.store(clock)
    with upgraded.engine.connect() as conn:
        assert conn.execute(sa.select(room_store.SCHEMA_TABLE.c.version)).scalars().all() == [SCHEMA_VERSION]
    assert upgraded.room(room.code).asked_round == 2 and upgraded.tally(room.code, OTHER) == [0, 0, 1]
    assert upgraded.asked(room.code, OTHER) == room_store.Asked(OTHER, 3, False, 1)
    assert upgraded.asked(room.code, QUESTION) is None  # version 2 kept no record of it
    assert upgraded.ask(room.code, token, QUESTION, 5).asked_round == 3


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine("sqlite:///" + str(tmp_path / "r.sqlite3"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_is_refused(url):
    with pytest.raises(ValueError, match="SQLite file"):
        make_engine(url)


def test_open_store_defaults_to_a_file_in_the_data_folder_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.delenv(room_store.DATABASE_ENV, raising=False)
    monkeypatch.setenv("RWKV_EXPLAINER_DATA", str(tmp_path / "data"))
    store = open_store()
    try:
        assert store is open_store() and (tmp_path / "data" / room_store.DATABASE_FILE).exists()
        room, _ = store.create_room()
        url = "sqlite:///" + str(tmp_path / "data" / room_store.DATABASE_FILE)
        assert open_store(url) is store  # one store (engine, pool) per URL per process
        assert RoomStore(make_engine(url)).room(room.code).code == room.code  # another process sees the room
        monkeypatch.setenv(room_store.DATABASE_ENV, "sqlite:///" + str(tmp_path / "other.sqlite3"))
        assert open_store() is not store and (tmp_path / "other.sqlite3").exists()
    finally:
        for key in [k for k in room_store._STORES if str(tmp_path) in k]:
            room_store._STORES.pop(key).engine.dispose()


def test_normalise_code():
    assert normalise_code(" k7m-2q ") == "K7M2Q"
    with pytest.raises(RoomNotFound):
        normalise_code("K7M2")


def test_clock_must_be_timezone_aware(db):
    store = db.store(clock=lambda: datetime.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.create_room()


def test_the_docstring_examples_hold():
    import doctest

    assert doctest.testmod(room_store).failed == 0
