"""The training log's SQLite schema, versioned with ``PRAGMA user_version``,
and the columns its rows map to records by.

:data:`MIGRATIONS` is the ordered list of steps; a new version is one more
entry at its end. Kept apart from the store: released steps never change, so
the list only grows. :data:`SESSION_COLUMNS` and :data:`SET_COLUMNS` are the
records' fields, which the store writes and reads, and salvage reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime

from voicecoach.training.records import SetResult, Workout

# Each entry upgrades the schema by one version: entry i takes user_version i
# to i + 1. Append; never edit a released entry (databases out there ran it).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: sessions and the per-set results.
    (
        """CREATE TABLE sessions (
            id           INTEGER PRIMARY KEY,
            preset       TEXT    NOT NULL,
            exercise     TEXT    NOT NULL,
            variation    TEXT    NOT NULL,
            tempo        TEXT,
            eccentric    REAL,
            started      TEXT    NOT NULL,
            completed    INTEGER NOT NULL CHECK (completed IN (0, 1)),
            stopped_set  INTEGER,
            stopped_rep  INTEGER,
            planned_sets INTEGER NOT NULL CHECK (planned_sets >= 1),
            planned_reps INTEGER NOT NULL CHECK (planned_reps >= 1)
        )""",
        """CREATE TABLE sets (
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            number     INTEGER NOT NULL CHECK (number >= 1),
            planned    INTEGER NOT NULL CHECK (planned >= 1),
            perfect    INTEGER CHECK (perfect IS NULL OR perfect BETWEEN 0 AND planned),
            PRIMARY KEY (session_id, number)
        )""",
    ),
    # v2: `voicecoach log` and the progression look sessions up by preset
    # and time; keep that fast as the log grows.
    (
        "CREATE INDEX sessions_by_preset ON sessions (preset, started)",
        "CREATE INDEX sessions_by_started ON sessions (started)",
    ),
    # v3: what happened, as it happened. Perfect reps may exceed the plan (a
    # user who did more keeps them), a set remembers how many reps were
    # played (NULL: all; 0: skipped), and a session the rule that chose it.
    # SQLite cannot drop a CHECK, so `sets` is rebuilt with its rows.
    (
        """CREATE TABLE sets_v3 (
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            number     INTEGER NOT NULL CHECK (number >= 1),
            planned    INTEGER NOT NULL CHECK (planned >= 1),
            perfect    INTEGER CHECK (perfect IS NULL OR perfect BETWEEN 0 AND 200),
            played     INTEGER CHECK (played IS NULL OR played BETWEEN 0 AND planned),
            PRIMARY KEY (session_id, number)
        )""",
        "INSERT INTO sets_v3 (session_id, number, planned, perfect) "
        "SELECT session_id, number, planned, perfect FROM sets",
        "DROP TABLE sets",
        "ALTER TABLE sets_v3 RENAME TO sets",
        "ALTER TABLE sessions ADD COLUMN rule TEXT",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# The columns are the records' fields, in their order (a workout's sets have their own table).
SESSION_COLUMNS = tuple(f.name for f in fields(Workout) if f.name != "sets")
SET_COLUMNS = tuple(f.name for f in fields(SetResult))


def workout_from_row(row: Sequence, sets: tuple[SetResult, ...]) -> Workout:
    """A workout from a ``sessions`` row, in :data:`SESSION_COLUMNS` order, and its sets."""
    values = dict(zip(SESSION_COLUMNS, row, strict=True))
    values.update(started=datetime.fromisoformat(values["started"]), completed=bool(values["completed"]))
    return Workout(**values, sets=sets)
