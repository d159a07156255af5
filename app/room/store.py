"""Where room polls live: rooms, the question each room asks now, and one vote per voter per question.

One small interface (`RoomStore`) over SQLAlchemy Core, the same code for SQLite (the default: one file in
the data folder, shared by every app process on the machine) and PostgreSQL (set
`$RWKV_EXPLAINER_DATABASE_URL`, e.g. `postgresql+psycopg://user:pw@host/db`, for replicas on several
machines). Pages never see SQL; every error a participant may see is a `RoomError` whose text is plain
words, safe to show as it is (it never repeats what someone typed unless it is a well-formed code).

Example:
    >>> import tempfile, pathlib
    >>> store = open_store("sqlite:///" + str(pathlib.Path(tempfile.mkdtemp()) / "rooms.sqlite3"))
    >>> room, token = store.create_room()
    >>> store.ask(room.code, token, "next-word", n_options=5).question_id
    'next-word'
    >>> store.vote(room.code.lower(), "voter-0001", "next-word", 2)
    >>> store.tally(room.code, "next-word")
    [0, 0, 1, 0, 0]
    >>> store.reveal(room.code, token, "next-word").revealed
    True
    >>> _ = store.ask(room.code, token, "memory-growth", n_options=3)   # the next poll ...
    >>> back = store.ask(room.code, token, "next-word", n_options=5)    # ... and back: votes and answer kept
    >>> back.revealed, store.tally(room.code, "next-word")
    (True, [0, 0, 1, 0, 0])
    >>> store.join(room.code, "voter-0001"); store.join(room.code, "voter-0001"); store.joined(room.code)
    1
"""
from __future__ import annotations

import collections
import datetime
import hashlib
import hmac
import operator
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

DATABASE_ENV = "RWKV_EXPLAINER_DATABASE_URL"
DATABASE_FILE = "rooms.sqlite3"
ROOM_TTL = datetime.timedelta(hours=12)
SCHEMA_VERSION = 3  # 2: rooms.asked_round; 3: tables asked, joined (older databases are upgraded in place)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: easy to read aloud and to type
CODE_LENGTH = 5  # 31⁵ ≈ 29 million codes
CODE_TRIES = 20
TOKEN_BYTES = 24
VOTER_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
QUESTION_ID_MAX = 64
OPTIONS_MAX = 12
SQLITE_BUSY_TIMEOUT_S = 10.0

UTC = datetime.timezone.utc


# ------------------------------------------------------------------ errors a participant may see


class RoomError(Exception):
    """Its str() is a plain-English message fit to show a participant."""


class RoomNotFound(RoomError):
    """No room has this code (or the code is not shaped like one)."""


class RoomExpired(RoomError):
    """The room is older than ROOM_TTL."""


class NotPresenter(RoomError):
    """The presenter's key is missing or wrong."""


class VoteRejected(RoomError):
    """The vote (or tally) does not fit the question the room asks now."""


class TooManyRequests(RoomError):
    """One voter sent too many votes too fast."""


class SchemaMismatch(RuntimeError):
    """The database holds tables of another version of the app (for the operator, not for participants)."""


# ------------------------------------------------------------------ what a room looks like


@dataclass(frozen=True)
class Room:
    code: str  # 5 characters from CODE_ALPHABET
    created_at: datetime.datetime  # timezone-aware UTC
    expires_at: datetime.datetime  # created_at + ROOM_TTL
    question_id: str | None  # the question asked now, or None
    revealed: bool  # whether the current question's answer is shown
    n_options: int = 0  # options of the current question (0 when none is asked)
    asked_round: int = 0  # a new number each time a question is asked anew (its votes start empty)


@dataclass(frozen=True)
class Asked:
    """A question as this room last left it (`RoomStore.asked`): asked before, or asked now."""

    question_id: str
    n_options: int
    revealed: bool
    votes: int  # votes counted for it (kept while other questions are asked)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes in and out, on every database.

    PostgreSQL keeps them as `timestamptz`. SQLite has no time zones: it gets the UTC wall time as
    fixed-width ISO text, which sorts and compares correctly, and the zone is put back on reading.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("room times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


METADATA = sa.MetaData()
SCHEMA_TABLE = sa.Table("schema_version", METADATA, sa.Column("version", sa.Integer, nullable=False))
ROOMS = sa.Table(
    "rooms", METADATA,
    sa.Column("code", sa.String(CODE_LENGTH), primary_key=True),
    sa.Column("token_sha256", sa.String(64), nullable=False),  # the presenter's key itself is never stored
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    sa.Column("question_id", sa.String(QUESTION_ID_MAX), nullable=True),
    sa.Column("n_options", sa.Integer, nullable=False),
    sa.Column("revealed", sa.Boolean, nullable=False),
    sa.Column("asked_round", sa.Integer, nullable=False, server_default="0"),
)
VOTES = sa.Table(
    "votes", METADATA,
    sa.Column("room_code", sa.String(CODE_LENGTH), sa.ForeignKey("rooms.code", ondelete="CASCADE"), primary_key=True),
    sa.Column("question_id", sa.String(QUESTION_ID_MAX), primary_key=True),
    sa.Column("voter", sa.String(64), primary_key=True),  # a random id per browser session: no personal data
    sa.Column("option", sa.Integer, nullable=False),
    sa.Column("voted_at", UTCDateTime, nullable=False),
)
# Every question a room has asked, as it was left: going back to an earlier poll shows its votes and, if it
# was revealed, its answer again, instead of asking it anew (version 3; rooms keeps the question asked now).
ASKED = sa.Table(
    "asked", METADATA,
    sa.Column("room_code", sa.String(CODE_LENGTH), sa.ForeignKey("rooms.code", ondelete="CASCADE"), primary_key=True),
    sa.Column("question_id", sa.String(QUESTION_ID_MAX), primary_key=True),
    sa.Column("n_options", sa.Integer, nullable=False),
    sa.Column("revealed", sa.Boolean, nullable=False),
    sa.Column("asked_round", sa.Integer, nullable=False),
)
# Who opened the room's join page (random voter ids, as in votes): the presenter sees how many phones are in.
JOINED = sa.Table(
    "joined", METADATA,
    sa.Column("room_code", sa.String(CODE_LENGTH), sa.ForeignKey("rooms.code", ondelete="CASCADE"), primary_key=True),
    sa.Column("voter", sa.String(64), primary_key=True),
    sa.Column("joined_at", UTCDateTime, nullable=False),
)


# ------------------------------------------------------------------ small pure helpers


def token_hash(token: str) -> str:
    """The hex sha256 of a presenter key, which is all the store keeps of it.

    >>> token_hash("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_code(raw) -> str:
    """A typed room code, cleaned: spaces and dashes dropped, upper case. Raises RoomNotFound if it cannot be one.

    >>> normalise_code(" k7m-2q ")
    'K7M2Q'
    """
    code = re.sub(r"[\s-]", "", str(raw or "")).upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise RoomNotFound(f"A room code has {CODE_LENGTH} letters and digits, like K7M2Q. "
                           "Check the code the presenter shows and try again.")
    return code


def new_code() -> str:
    """A random room code, e.g. 'K7M2Q'."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


class RateLimiter:
    """At most `limit` events per `window_s` seconds per key (a sliding window), thread-safe.

    Kept in memory, per process: room mode sends each browser session to one process (sticky cookie) and a
    Streamlit session lives in one process, so a voter's votes all pass through the same limiter. A voter
    moved to another process after a crash gets a fresh allowance there, which is harmless.

    >>> t = [0.0]; limiter = RateLimiter(limit=2, window_s=10, clock=lambda: t[0])
    >>> limiter.allow("v"), limiter.allow("v"), limiter.allow("v")
    (True, True, False)
    >>> t[0] = 10.5; limiter.allow("v")
    True
    """

    MAX_KEYS = 100_000  # bounds memory if many ids are made up

    def __init__(self, limit: int = 10, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._events: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                if len(self._events) >= self.MAX_KEYS:
                    self._forget_idle(now)
                events = self._events[key] = collections.deque()
            while events and now - events[0] >= self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.window_s]
        for k in idle:
            del self._events[k]
        if len(self._events) >= self.MAX_KEYS:  # every key busy: drop the oldest half rather than grow
            for k in list(self._events)[: self.MAX_KEYS // 2]:
                del self._events[k]


# ------------------------------------------------------------------ the store


def _table_name(conn, table: sa.Table) -> str:
    """`table`'s quoted name for raw SQL, in the schema the connection maps it to (tests use their own)."""
    prep = conn.dialect.identifier_preparer
    schema = (conn.get_execution_options().get("schema_translate_map") or {}).get(table.schema)
    return (prep.quote_schema(schema) + "." if schema else "") + prep.quote(table.name)


def _column_names(conn, table: sa.Table) -> set[str]:
    schema = (conn.get_execution_options().get("schema_translate_map") or {}).get(table.schema)
    return {column["name"] for column in sa.inspect(conn).get_columns(table.name, schema=schema)}


def _room_from_row(row) -> Room:
    return Room(code=row.code, created_at=row.created_at, expires_at=row.expires_at, question_id=row.question_id,
                revealed=bool(row.revealed), n_options=int(row.n_options), asked_round=int(row.asked_round))


def _not_found(code: str) -> RoomNotFound:
    return RoomNotFound(f"There is no room with the code {code}. Check the code the presenter shows and try again.")


def _expired(code: str) -> RoomExpired:
    hours = int(ROOM_TTL.total_seconds() // 3600)
    return RoomExpired(f"Room {code} has ended: rooms last {hours} hours. Ask the presenter for a new code.")


class RoomStore:
    """Rooms and votes in one database. Thread-safe: every call uses its own connection and transaction.

    `engine`: a SQLAlchemy engine (`open_store` makes one per URL; tests pass their own, e.g. with a
    `schema_translate_map`). `clock`: returns the current time, timezone-aware (tests move it). `limiter`:
    the per-voter vote rate limit. Creates the tables if they are new and checks the schema version.
    """

    def __init__(self, engine: sa.Engine, clock: Callable[[], datetime.datetime] = utc_now,
                 limiter: RateLimiter | None = None):
        self.engine = engine
        self.clock = clock
        self.limiter = limiter or RateLimiter()
        self._is_sqlite = engine.dialect.name == "sqlite"
        self._setup_schema()

    # -------------------------------------------------------------- plumbing

    def _write(self):
        """A write transaction. On SQLite it takes the write lock at BEGIN (BEGIN IMMEDIATE): a transaction
        that read first and asked for the lock later could fail at once, without waiting, if another
        process wrote in between."""
        return self.engine.connect().execution_options(room_write=True)

    def _now(self) -> datetime.datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    def _setup_schema(self) -> None:
        with self._write() as conn, conn.begin():
            if self.engine.dialect.name == "postgresql":  # two processes starting at once create the tables once
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242001)"))
            METADATA.create_all(conn)
            found = conn.execute(sa.select(SCHEMA_TABLE.c.version)).scalars().all()
            if found == [1]:  # version 1 had no asked_round: add it (existing rooms start at 0)
                if "asked_round" not in _column_names(conn, ROOMS):  # it may: a roll back set the row to 1
                    conn.execute(sa.text(f"ALTER TABLE {_table_name(conn, ROOMS)} "
                                         "ADD COLUMN asked_round INTEGER NOT NULL DEFAULT 0"))
                conn.execute(SCHEMA_TABLE.update().values(version=2))
                found = [2]
            if found == [2]:  # version 2 had no table `asked` (create_all made it): rooms keep their question
                conn.execute(ASKED.delete())  # rows left by a version 3 app before a roll back are stale now
                conn.execute(SCHEMA_TABLE.update().values(version=SCHEMA_VERSION))
                found = [SCHEMA_VERSION]
            if not found:
                conn.execute(SCHEMA_TABLE.insert().values(version=SCHEMA_VERSION))
            elif found != [SCHEMA_VERSION]:
                where = conn.engine.url.render_as_string(hide_password=True)
                fix = (f"delete the file {conn.engine.url.database}" if self._is_sqlite else
                       "drop its tables asked, joined, rooms, votes and schema_version")
                raise SchemaMismatch(
                    f"The room database {where} has schema version {', '.join(map(str, found))}, but this app "
                    f"needs version {SCHEMA_VERSION}. Point ${DATABASE_ENV} at a new database, or {fix}: rooms "
                    f"last only {ROOM_TTL.total_seconds() / 3600:g} hours anyway.")

    def _live_row(self, conn, code: str, lock: str | None = None):
        """The room's row, or RoomNotFound / RoomExpired. `lock` (PostgreSQL; SQLite's write lock already
        serialises): "share" for a vote, so a presenter's change cannot slip in between the vote's check and
        its write; "update" for a presenter's change, so two at once queue instead of both holding a shared
        lock and deadlocking on the upgrade, and votes wait and then see the new question."""
        query = sa.select(ROOMS).where(ROOMS.c.code == code)
        if lock == "share":
            query = query.with_for_update(read=True)
        elif lock == "update":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise _not_found(code)
        if row.expires_at <= self._now():
            raise _expired(code)
        return row

    def _presenter_row(self, conn, code: str, token: str | None):
        row = self._live_row(conn, code, lock="update")
        if not token or not hmac.compare_digest(row.token_sha256, token_hash(str(token))):
            raise NotPresenter("Only the presenter can do this. Open the room from the link you got when you "
                               "created it.")
        return row

    # -------------------------------------------------------------- the interface

    def create_room(self) -> tuple[Room, str]:
        """A new room and its presenter key (shown once; the store keeps only its sha256)."""
        self.purge_expired()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        for _ in range(CODE_TRIES):
            now = self._now()
            room = Room(code=new_code(), created_at=now, expires_at=now + ROOM_TTL, question_id=None,
                        revealed=False, n_options=0)
            try:
                with self._write() as conn, conn.begin():
                    conn.execute(ROOMS.insert().values(
                        code=room.code, token_sha256=token_hash(token), created_at=room.created_at,
                        expires_at=room.expires_at, question_id=None, n_options=0, revealed=False))
                return room, token
            except sa.exc.IntegrityError:  # the code is taken: draw another
                continue
        raise RoomError("Could not find a free room code. Please try again in a minute.")

    def room(self, code: str) -> Room:
        """The room with this code (typed any way: ' k7m2q ' works). Raises RoomNotFound / RoomExpired."""
        code = normalise_code(code)
        with self.engine.connect() as conn:
            return _room_from_row(self._live_row(conn, code))

    def is_presenter(self, code: str, token: str | None) -> bool:
        """Whether `token` is this room's presenter key (constant-time). Raises RoomNotFound / RoomExpired."""
        code = normalise_code(code)
        with self.engine.connect() as conn:
            row = self._live_row(conn, code)
        return bool(token) and hmac.compare_digest(row.token_sha256, token_hash(str(token)))

    def ask(self, code: str, token: str | None, question_id: str, n_options: int, fresh: bool = False) -> Room:
        """Presenter only: make `question_id` the question asked now.

        The question asked now, asked again (a page rerun, or reopening after a reveal): its votes stay and
        voting opens again. A question this room asked before (the talk went back a view): it comes back as it
        was left, its votes kept and its answer shown if it was revealed. A new question, or any question with
        `fresh=True` ("start it over"): no votes, answer hidden, and a new `asked_round`."""
        code = normalise_code(code)
        if not question_id or len(question_id) > QUESTION_ID_MAX:
            raise VoteRejected("That question is not in this app.")
        if not 2 <= int(n_options) <= OPTIONS_MAX:
            raise VoteRejected(f"A question needs 2 to {OPTIONS_MAX} answers to choose from.")
        n_options = int(n_options)
        with self._write() as conn, conn.begin():
            row = self._presenter_row(conn, code, token)
            before = conn.execute(sa.select(ASKED).where(ASKED.c.room_code == code,
                                                         ASKED.c.question_id == question_id)).first()
            if row.question_id == question_id and not fresh:
                revealed, asked_round = False, row.asked_round  # reopened: voting goes on
            elif before is not None and not fresh:
                revealed, asked_round = bool(before.revealed), before.asked_round  # back as it was left
            else:
                conn.execute(VOTES.delete().where(VOTES.c.room_code == code, VOTES.c.question_id == question_id))
                rounds = conn.execute(sa.select(sa.func.max(ASKED.c.asked_round))
                                      .where(ASKED.c.room_code == code)).scalar()
                revealed, asked_round = False, max(row.asked_round, rounds or 0) + 1
            conn.execute(VOTES.delete().where(VOTES.c.room_code == code, VOTES.c.question_id == question_id,
                                              VOTES.c.option >= n_options))
            conn.execute(self._upsert_asked(code, question_id, n_options, revealed, asked_round))
            conn.execute(ROOMS.update().where(ROOMS.c.code == code).values(
                question_id=question_id, n_options=n_options, revealed=revealed, asked_round=asked_round))
            return _room_from_row(self._live_row(conn, code))

    def _upsert_asked(self, code, question_id, n_options, revealed, asked_round):
        insert = (sqlite.insert if self._is_sqlite else postgresql.insert)(ASKED).values(
            room_code=code, question_id=question_id, n_options=n_options, revealed=revealed, asked_round=asked_round)
        return insert.on_conflict_do_update(
            index_elements=[ASKED.c.room_code, ASKED.c.question_id],
            set_={"n_options": insert.excluded.n_options, "revealed": insert.excluded.revealed,
                  "asked_round": insert.excluded.asked_round})

    def asked(self, code: str, question_id: str) -> Asked | None:
        """How this room last left `question_id` (its votes, whether its answer was shown), or None if the room
        never asked it. The presenter's picker says what asking it again brings back."""
        return next((asked for asked, _ in self.results(code) if asked.question_id == question_id), None)

    def join(self, code: str, voter: str) -> None:
        """Count `voter` (a phone's random id) as in the room; joining again changes nothing."""
        voter = str(voter or "")
        if not VOTER_PATTERN.fullmatch(voter):
            raise VoteRejected("This browser's id looks wrong. Reload the page.")
        code = normalise_code(code)
        with self._write() as conn, conn.begin():
            self._live_row(conn, code, lock="share")
            insert = (sqlite.insert if self._is_sqlite else postgresql.insert)(JOINED).values(
                room_code=code, voter=voter, joined_at=self._now())
            conn.execute(insert.on_conflict_do_nothing(index_elements=[JOINED.c.room_code, JOINED.c.voter]))

    def joined(self, code: str) -> int:
        """How many phones (voter ids) have opened this room's join page."""
        code = normalise_code(code)
        with self.engine.connect() as conn:
            self._live_row(conn, code)
            return int(conn.execute(sa.select(sa.func.count()).select_from(JOINED)
                                    .where(JOINED.c.room_code == code)).scalar())

    def results(self, code: str) -> list[tuple[Asked, list[int]]]:
        """Every question this room asked, in the order asked (one started over counts as asked then), each with
        its votes per option: what the presenter downloads at the end of a workshop."""
        code = normalise_code(code)
        with self.engine.connect() as conn:
            row = self._live_row(conn, code)
            asked = {r.question_id: r for r in conn.execute(
                sa.select(ASKED).where(ASKED.c.room_code == code).order_by(ASKED.c.asked_round))}
            if row.question_id and row.question_id not in asked:  # a room from a version 2 database
                asked[row.question_id] = row
            counts: dict[str, list[int]] = {qid: [0] * int(r.n_options) for qid, r in asked.items()}
            for qid, option, n in conn.execute(
                    sa.select(VOTES.c.question_id, VOTES.c.option, sa.func.count())
                    .where(VOTES.c.room_code == code).group_by(VOTES.c.question_id, VOTES.c.option)):
                if qid in counts and 0 <= option < len(counts[qid]):
                    counts[qid][option] = int(n)
            out = []
            for qid, r in asked.items():
                revealed = bool(row.revealed) if qid == row.question_id else bool(r.revealed)
                out.append((Asked(qid, int(r.n_options), revealed, sum(counts[qid])), counts[qid]))
            return out

    def vote(self, code: str, voter: str, question_id: str, option: int) -> None:
        """Record `voter`'s choice (0-based `option`) for the question asked now; a second vote by the same
        voter replaces the first, until the reveal. Raises a RoomError saying why when the vote cannot count."""
        voter = str(voter or "")
        if not VOTER_PATTERN.fullmatch(voter):
            raise VoteRejected("Your vote could not be counted: this browser's id looks wrong. Reload the page "
                               "and vote again.")
        if not self.limiter.allow(voter):
            raise TooManyRequests("You are voting very fast. Wait a few seconds, then vote again.")
        code = normalise_code(code)
        try:
            option = None if isinstance(option, bool) else operator.index(option)  # ints, numpy ints; not "2" or 2.0
        except TypeError:
            option = None
        if option is None:
            raise VoteRejected("Pick one of the answers shown.")
        with self._write() as conn, conn.begin():
            row = self._live_row(conn, code, lock="share")
            if row.question_id is None:
                raise VoteRejected("The presenter has not asked a question yet. Wait for it, then vote.")
            if row.question_id != question_id:
                raise VoteRejected("The presenter has moved on to another question. Vote on the one shown now.")
            if row.revealed:
                raise VoteRejected("The answer is already shown, so voting on this question is closed.")
            if not 0 <= option < row.n_options:
                raise VoteRejected("Pick one of the answers shown.")
            conn.execute(self._upsert_vote(code, voter, question_id, option, self._now()))

    def _upsert_vote(self, code, voter, question_id, option, now):
        insert = (sqlite.insert if self._is_sqlite else postgresql.insert)(VOTES).values(
            room_code=code, question_id=question_id, voter=voter, option=option, voted_at=now)
        return insert.on_conflict_do_update(
            index_elements=[VOTES.c.room_code, VOTES.c.question_id, VOTES.c.voter],
            set_={"option": insert.excluded.option, "voted_at": insert.excluded.voted_at})

    def vote_of(self, code: str, voter: str, question_id: str) -> int | None:
        """The option `voter` has counted for the question asked now, or None (no vote, the question is not the
        one asked now, or it was started over). A phone shows this, not what it remembers, so a question started
        over shows no stale "your vote"."""
        code = normalise_code(code)
        with self.engine.connect() as conn:
            row = self._live_row(conn, code)
            if row.question_id != question_id:
                return None
            return conn.execute(sa.select(VOTES.c.option).where(
                VOTES.c.room_code == code, VOTES.c.question_id == question_id,
                VOTES.c.voter == str(voter or ""))).scalar()

    def tally(self, code: str, question_id: str) -> list[int]:
        """Votes per option of the question asked now, e.g. [3, 0, 5, 1, 0]. Raises VoteRejected for another
        question (an earlier one's votes are kept, and shown again when it is asked again)."""
        code = normalise_code(code)
        with self.engine.connect() as conn:
            row = self._live_row(conn, code)
            if row.question_id is None or row.question_id != question_id:
                raise VoteRejected("That question is not being asked in this room now.")
            counts = [0] * row.n_options
            rows = conn.execute(
                sa.select(VOTES.c.option, sa.func.count())
                .where(VOTES.c.room_code == code, VOTES.c.question_id == question_id)
                .group_by(VOTES.c.option))
            for option, count in rows:
                if 0 <= option < len(counts):
                    counts[option] = int(count)
            return counts

    def reveal(self, code: str, token: str | None, question_id: str) -> Room:
        """Presenter only: show the answer of the question asked now; later votes on it are rejected."""
        code = normalise_code(code)
        with self._write() as conn, conn.begin():
            row = self._presenter_row(conn, code, token)
            if row.question_id is None or row.question_id != question_id:
                raise VoteRejected("That question is not being asked in this room now.")
            conn.execute(ROOMS.update().where(ROOMS.c.code == code).values(revealed=True))
            conn.execute(self._upsert_asked(code, question_id, row.n_options, True, row.asked_round))
            return _room_from_row(self._live_row(conn, code))

    def purge_expired(self, now: datetime.datetime | None = None) -> int:
        """Delete every room that has expired by `now` (default: the clock), and its votes. Returns how many rooms."""
        now = (now or self._now()).astimezone(UTC)
        expired = sa.select(ROOMS.c.code).where(ROOMS.c.expires_at <= now)
        with self._write() as conn, conn.begin():
            conn.execute(VOTES.delete().where(VOTES.c.room_code.in_(expired)))
            conn.execute(ASKED.delete().where(ASKED.c.room_code.in_(expired)))
            conn.execute(JOINED.delete().where(JOINED.c.room_code.in_(expired)))
            return conn.execute(ROOMS.delete().where(ROOMS.c.expires_at <= now)).rowcount


# ------------------------------------------------------------------ engines


def default_url() -> str:
    """$RWKV_EXPLAINER_DATABASE_URL, else a SQLite file in the data folder (made if missing)."""
    url = os.environ.get(DATABASE_ENV, "").strip()
    if url:
        return url
    from app.race_cache import data_dir  # imported here: that module loads torch, which the store never needs

    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + str(folder / DATABASE_FILE)


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's `begin` hook emits BEGIN itself (below)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA journal_mode = WAL")  # readers never wait for the writer; several processes share the file
    cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a power cut may lose the last votes, not the file
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _on_sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("room_write") else "BEGIN")


def make_engine(url: str) -> sa.Engine:
    """An engine for the room store: SQLite in WAL mode with a busy timeout and foreign keys, or any other
    database SQLAlchemy knows (PostgreSQL) as it is."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True)
    if parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed):
        raise ValueError("The room store needs a SQLite file (processes and threads share it), not an in-memory "
                         "database: use sqlite:///path/to/rooms.sqlite3")
    engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})
    sa.event.listen(engine, "connect", _on_sqlite_connect)
    sa.event.listen(engine, "begin", _on_sqlite_begin)
    return engine


_STORES: dict[str, RoomStore] = {}
_STORES_LOCK = threading.Lock()


def open_store(url: str | None = None) -> RoomStore:
    """The process's store for `url` (else $RWKV_EXPLAINER_DATABASE_URL, else `rooms.sqlite3` in the data
    folder): one engine and connection pool per URL per process, made on first use."""
    url = url or default_url()
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _STORES[url] = RoomStore(make_engine(url))
        return store
