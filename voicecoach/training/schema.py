"""The training log's SQLite schema, versioned with ``PRAGMA user_version``.

:data:`MIGRATIONS` is the ordered list of steps; a new version is one more
entry at its end. Kept apart from the store: released steps never change, so
this file only grows.
"""

from __future__ import annotations

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
)
SCHEMA_VERSION = len(MIGRATIONS)
