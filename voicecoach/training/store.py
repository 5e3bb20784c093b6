"""The training log: workouts and their sets in one SQLite file.

The log must survive what happens to files on a home machine:

* two voicecoach processes writing at once: WAL journal, every write in one
  ``BEGIN IMMEDIATE`` transaction, and a 10 s busy timeout, so the second
  writer waits instead of failing;
* a crash or power cut in the middle of a write: a transaction is all or
  nothing, and ``synchronous=FULL`` syncs the WAL on every commit, so a
  workout reported as saved is on disk (``NORMAL`` would be safe from
  corruption too, but a power cut could take back the last commits; a few
  writes a day can afford the sync);
* a damaged file: :meth:`History.open` moves it aside, unchanged, starts a
  new log with the sessions SQLite can still read from it
  (:mod:`voicecoach.training.salvage`), and says in one line where the old
  file is and how many sessions came back;
* something at its path that is not a file (a FIFO, whose ``open()`` SQLite
  retries on every signal and so blocks even Ctrl-C, a device, a folder, a
  symbolic link to nothing, where a new log would appear): refused with
  :class:`~voicecoach.errors.InputError` before SQLite opens anything;
* a file from a newer voicecoach: refused with :class:`HistoryError` and left
  untouched.

The schema and its migrations are in :mod:`voicecoach.training.schema`.

Nothing here reads the clock: callers pass every time, so tests and the CLI
decide what "now" is. ``started`` is stored as fixed-width ISO 8601 UTC text,
so text order is time order.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from time import monotonic, sleep
from typing import Self

from voicecoach.common.files import kind_of
from voicecoach.common.numbers import is_int
from voicecoach.errors import InputError, RuntimeFailure
from voicecoach.training.records import SetResult, Workout, check_aware, check_perfect
from voicecoach.training.salvage import move_aside, readable_workouts
from voicecoach.training.schema import MIGRATIONS, SCHEMA_VERSION, SESSION_COLUMNS, SET_COLUMNS, workout_from_row

__all__ = ["BUSY_TIMEOUT", "CorruptHistoryError", "History", "HistoryError"]

BUSY_TIMEOUT = 10.0  # seconds a writer waits for another one before giving up

_CORRUPT_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB (primary codes)
_BUSY = 5  # SQLITE_BUSY


class HistoryError(RuntimeFailure):
    """The training log cannot be used (locked too long, unwritable, from a
    newer voicecoach, damaged)."""


class CorruptHistoryError(HistoryError):
    """The file is not a readable SQLite database: garbage, truncated or
    damaged. :meth:`History.open` catches it and moves the file aside."""

    def __init__(self, path: Path, detail: str):
        self.path = path
        self.detail = detail
        super().__init__(f"the training log {path} is damaged ({detail})")


def _utc_text(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC: text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _is_corrupt(exc: sqlite3.Error) -> bool:
    """Damage, as opposed to a lock, a full disk or a permission problem."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _CORRUPT_CODES


_SELECT = (
    f"SELECT {', '.join('s.' + c for c in SESSION_COLUMNS)}, {', '.join('t.' + c for c in SET_COLUMNS)} "
    "FROM sessions s LEFT JOIN sets t ON t.session_id = s.id"
)


class History:
    """The training log in the SQLite file ``path`` (created with its
    folders if missing). Use as a context manager or call :meth:`close`.

    Raises :class:`CorruptHistoryError` for a damaged file (see
    :meth:`open` to recover) and :class:`HistoryError` for one written by a
    newer voicecoach or one that cannot be opened.
    """

    def __init__(self, path: Path | str | None, *, read_only: bool = False):
        self.path: Path | None = None
        if isinstance(path, (str, os.PathLike)):
            self.path = Path(path)
            _check_kind(self.path)
        elif path is not None or not read_only:  # None: an empty log, for one that cannot be read
            raise TypeError(f"path must be a path, got {path!r}")
        self._db: sqlite3.Connection | None = None
        if read_only:
            self._open_copy()
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"cannot create the folder of the training log {self.path}: {exc.strerror or exc}"
            ) from None
        with self._opening("open"):
            if self.file.exists():
                self._probe()
            self._db = sqlite3.connect(self.file, timeout=BUSY_TIMEOUT, isolation_level=None)
            self._setup()

    @property
    def file(self) -> Path:
        """The log's path (an empty stand-in log has none)."""
        if self.path is None:
            raise ValueError("this empty training log has no file")
        return self.path

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError(f"the training log {self.path} is closed")
        return self._db

    @contextlib.contextmanager
    def _opening(self, verb: str) -> Iterator[None]:
        """Close what was opened when opening fails, and say why: a damaged
        file (which :meth:`open` sets aside) or one that cannot be ``verb``-ed."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            self.close()
            if _is_corrupt(exc):
                raise CorruptHistoryError(self.file, str(exc)) from None
            raise HistoryError(f"cannot {verb} the training log {self.path}: {exc}") from None
        except BaseException:
            self.close()
            raise

    def _open_copy(self) -> None:
        """Read the log without writing a byte: a copy in memory, brought to
        the current schema there, so ``history`` and ``next`` work on a log in
        a read-only folder, on a read-only medium, or before any log exists."""
        self._db = db = sqlite3.connect(":memory:", isolation_level=None)
        with self._opening("read"):
            if self.path is not None and self.path.exists():
                self._probe()
                with contextlib.closing(_read_connection(self.file)) as source:
                    source.backup(db)
            db.execute("PRAGMA foreign_keys = ON")
            if self._user_version() < SCHEMA_VERSION:
                self._migrate()

    @classmethod
    def open(cls, path: Path | str, *, now: datetime | None = None) -> tuple[History, str | None]:
        """Open the log, recovering from a damaged file: ``(history, notice)``,
        the notice None or one line saying where the damaged file (renamed,
        not altered, to ``<name>.corrupt-<now or its mtime>``) was kept and
        how many sessions the new log took over from it."""
        try:
            return cls(path), None
        except CorruptHistoryError as exc:
            try:
                kept = move_aside(exc.path, now)
            except OSError as err:
                raise HistoryError(
                    f"the training log {exc.path} is damaged and could not be moved aside: {err.strerror or err}"
                ) from None
            history = cls(path)
            try:
                saved = history._salvage(kept)
            except BaseException:
                history.close()
                raise
            sessions = f"the {saved} session{'s' * (saved != 1)} that could still be read"
            new = f"a new log was started with {sessions}" if saved else "a new, empty log was started"
            return history, f"The training log {exc.path} was damaged ({exc.detail}); it was kept as {kept} and {new}."

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _probe(self) -> None:
        """Look at an existing file through a read-only connection first: a
        damaged or too-new file is refused before a writable connection could
        change it (closing one checkpoints the -wal into the file and deletes it)."""
        with contextlib.closing(_read_connection(self.file)) as probe:
            version = probe.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise self._too_new(version)
            problems = [row[0] for row in probe.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise CorruptHistoryError(self.file, problems[0] if problems else "no answer")

    def _setup(self) -> None:
        db = self.db
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        version = self._user_version()
        if version > SCHEMA_VERSION:  # written since the probe
            raise self._too_new(version)
        self._enable_wal()
        db.execute("PRAGMA synchronous = FULL")
        if version < SCHEMA_VERSION:
            self._migrate()

    def _enable_wal(self) -> None:
        """Switch to WAL, retrying for up to the busy timeout: unlike other
        statements the switch fails at once (SQLITE_BUSY) while another process
        holds the file, as when two create the log together. Where WAL cannot
        work (network shares) SQLite keeps its rollback journal: as safe."""

        deadline = monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != _BUSY or monotonic() > deadline:
                    raise
                sleep(0.01)

    def _user_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _too_new(self, version: int) -> HistoryError:
        return HistoryError(
            f"the training log {self.path} was written by a newer voicecoach (schema version "
            f"{version}; this one knows up to {SCHEMA_VERSION}): upgrade voicecoach to use it"
        )

    def _migrate(self) -> None:
        with self._transaction() as db:
            # Read again inside the lock: another process may have migrated meanwhile.
            version = self._user_version()
            if version > SCHEMA_VERSION:
                raise self._too_new(version)
            for step in MIGRATIONS[version:]:
                for statement in step:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; ``BEGIN IMMEDIATE`` takes the write lock up front,
        so a writer waits (busy timeout) at the start, never midway."""
        db = self.db
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """SQLite failures (locked too long, disk full, I/O) as HistoryError."""
        try:
            yield
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot {doing} the training log {self.path}: {exc}") from None

    def add(self, record: Workout) -> int:
        """Store a new workout and its sets in one transaction; return its id."""
        if not isinstance(record, Workout):
            raise TypeError(f"record must be a Workout, got {type(record).__name__}")
        if record.id is not None:
            raise ValueError(f"this workout is already stored as id {record.id}")
        with self._errors("write to"), self._transaction() as db:
            return _insert(db, record)

    def set_perfect(self, workout_id: int, perfect: Sequence[int]) -> Workout:
        """Record (or correct) the perfect reps of a workout, one number per
        set done (skipped sets have none) in order; return the updated workout.
        :class:`InputError` for an unknown workout, a wrong count of numbers or
        one out of range (:func:`check_perfect`); nothing is written then."""
        _check_id(workout_id)
        if isinstance(perfect, (str, bytes)) or not isinstance(perfect, Sequence):
            raise TypeError(f"perfect must be a sequence of ints, got {perfect!r}")
        values = list(perfect)
        for value in values:
            if not is_int(value):
                raise TypeError(f"perfect reps must be ints, got {value!r}")
        with self._errors("write to"), self._transaction() as db:
            done = [
                row[0]
                for row in db.execute(
                    "SELECT number FROM sets WHERE session_id = ? AND (played IS NULL OR played > 0) ORDER BY number",
                    (workout_id,),
                )
            ]
            if not done and db.execute("SELECT 1 FROM sessions WHERE id = ?", (workout_id,)).fetchone() is None:
                raise InputError(f"there is no session {workout_id} in the training log")
            if len(values) != len(done):
                raise InputError(
                    f"session {workout_id} has {len(done)} sets done, so give "
                    f"{len(done)} numbers of perfect reps; got {len(values)}"
                )
            db.executemany(
                "UPDATE sets SET perfect = ? WHERE session_id = ? AND number = ?",
                [
                    (check_perfect(number, value), workout_id, number)
                    for number, value in zip(done, values, strict=True)
                ],
            )
            return self._select("s.id = ?", (workout_id,))[0]

    def get(self, workout_id: int) -> Workout | None:
        """The workout with this id, or None."""
        _check_id(workout_id)
        with self._errors("read"), self._transaction(write=False):
            found = self._select("s.id = ?", (workout_id,))
        return found[0] if found else None

    def workouts(self, preset: str | None = None, since: datetime | None = None) -> list[Workout]:
        """Workouts, oldest first; only ``preset``'s if given, only those
        started at or after ``since`` (timezone-aware) if given."""
        where, args = ["1"], []
        if preset is not None:
            if not isinstance(preset, str):
                raise TypeError(f"preset must be a string, got {preset!r}")
            where.append("s.preset = ?")
            args.append(preset)
        if since is not None:
            check_aware("since", since)
            where.append("s.started >= ?")
            args.append(_utc_text(since))
        with self._errors("read"), self._transaction(write=False):
            return self._select(" AND ".join(where), tuple(args))

    def latest_unlogged(self, preset: str, day: date, tz: tzinfo | None = None) -> Workout | None:
        """The latest workout of ``preset`` started on ``day`` with no perfect
        reps recorded yet (so ``voicecoach log`` fills it instead of adding a
        duplicate), or None. ``day`` is reckoned in ``tz``; None means the
        system's local time zone."""
        if not isinstance(preset, str):
            raise TypeError(f"preset must be a string, got {preset!r}")
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"day must be a date, got {day!r}")
        start, end = (datetime.combine(d, time(), tzinfo=tz) for d in (day, day + timedelta(days=1)))
        with self._errors("read"), self._transaction(write=False):
            found = self._select(
                "s.preset = ? AND s.started >= ? AND s.started < ?", (preset, _utc_text(start), _utc_text(end))
            )
        unlogged = [s for s in found if s.unlogged]
        return unlogged[-1] if unlogged else None

    def _select(self, where: str, args: tuple) -> list[Workout]:
        rows = self.db.execute(f"{_SELECT} WHERE {where} ORDER BY s.started, s.id, t.number", args).fetchall()
        split = len(SESSION_COLUMNS)
        records = []
        for _, grouped in itertools.groupby(rows, key=lambda row: row[0]):
            group = list(grouped)
            sets = tuple(SetResult(*row[split:]) for row in group if row[split] is not None)
            records.append(workout_from_row(group[0][:split], sets))
        return records

    def _salvage(self, damaged: Path) -> int:
        """Copy the sessions still readable in the ``damaged`` log into this
        (new, empty) one; return how many."""
        try:
            source = _read_connection(damaged)
        except sqlite3.Error:
            return 0
        with contextlib.closing(source):
            records = readable_workouts(source)
        with self._errors("write to"), self._transaction() as db:
            for record in records:
                _insert(db, record)
        return len(records)


def _insert(db: sqlite3.Connection, record: Workout) -> int:
    """Store ``record`` (under its own id, if it has one) inside the caller's transaction."""
    row = {name: getattr(record, name) for name in SESSION_COLUMNS}
    row.update(
        eccentric=None if record.eccentric is None else float(record.eccentric),
        started=_utc_text(record.started),
        completed=int(record.completed),
    )
    cursor = db.execute(
        f"INSERT INTO sessions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
    )
    workout_id = cursor.lastrowid
    assert workout_id is not None
    db.executemany(
        "INSERT INTO sets (session_id, number, planned, perfect, played) VALUES (?, ?, ?, ?, ?)",
        [(workout_id, s.number, s.planned, s.perfect, s.played) for s in record.sets],
    )
    return workout_id


def _check_id(workout_id: object) -> None:
    if not is_int(workout_id):
        raise TypeError(f"workout id must be an int, got {workout_id!r}")


def _check_kind(path: Path) -> None:
    """Refuse a log (or a side file of it) that is not a regular file or a
    symbolic link to one, looked at with ``lstat`` before SQLite opens it."""
    for side in ("", "-wal", "-shm", "-journal"):
        name = path.with_name(path.name + side)
        try:
            mode = os.lstat(name).st_mode
            if stat.S_ISLNK(mode) and not os.path.exists(name):
                raise InputError(
                    f"the training log {name} is a symbolic link to nothing "
                    f"({os.readlink(name)}): point it at a file or remove it"
                )
            mode = os.stat(name).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise HistoryError(f"cannot open the training log {name}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(mode):
            raise InputError(f"the training log {name} is {kind_of(mode)}, not a regular file")


def _read_connection(path: Path) -> sqlite3.Connection:
    """A connection that cannot write the file. A log in WAL mode wants a
    ``-shm`` file beside it even to read; where the folder refuses one
    (read-only), the file is opened as immutable instead."""
    uri = path.resolve().as_uri()
    try:
        return _opened(uri + "?mode=ro")
    except sqlite3.OperationalError:
        return _opened(uri + "?immutable=1")


def _opened(uri: str) -> sqlite3.Connection:
    """A connection to ``uri`` that has really opened its file (connecting is lazy)."""
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)
    try:
        db.execute("PRAGMA user_version").fetchone()
    except BaseException:
        db.close()
        raise
    return db
