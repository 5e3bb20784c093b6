"""What comes back from a damaged training log: the file moved aside, unchanged,
and the sessions SQLite can still read from it, rebuilt as records.

Kept apart from :mod:`voicecoach.training.store`, which opens, writes and reads a
healthy log: this runs only when a log was found damaged, and reads only the
damaged copy (the store writes what it returns into a new log).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from voicecoach.training.records import SetResult, Workout
from voicecoach.training.schema import SESSION_COLUMNS, SET_COLUMNS, workout_from_row

__all__ = ["SIDE_FILES", "move_aside", "readable_rows", "readable_workouts"]

SIDE_FILES = ("", "-wal", "-shm")  # what a log in WAL mode is made of, moved aside together
_PROBES = 100_000  # rowid ranges tried per table: bounded work on a log damaged everywhere


def move_aside(path: Path, now: datetime | None) -> Path:
    """Rename a damaged log (and its -wal/-shm) to a free
    ``<name>.corrupt-<stamp>`` beside it (the stamp from ``now``, else the
    file's mtime); return the new main file path. Raises :class:`OSError`."""
    if now is None:
        now = datetime.fromtimestamp(path.stat().st_mtime)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    base, n = f"{path.name}.corrupt-{stamp}", 1
    while any(path.with_name(base + side).exists() for side in SIDE_FILES):
        n += 1
        base = f"{path.name}.corrupt-{stamp}-{n}"
    for side in SIDE_FILES:
        source = path.with_name(path.name + side)
        if source.exists():
            os.rename(source, path.with_name(base + side))
    return path.with_name(base)


def readable_workouts(source: sqlite3.Connection) -> list[Workout]:
    """The sessions still readable in the damaged log ``source``, with their
    sets. A session comes back whole or not at all: one whose row or sets no
    longer make a valid workout stays behind."""
    sessions = readable_rows(source, "sessions", SESSION_COLUMNS)
    sets: dict[int, list[SetResult]] = {}
    for row in readable_rows(source, "sets", ("session_id", *SET_COLUMNS)):
        with contextlib.suppress(TypeError, ValueError):
            sets.setdefault(row[0], []).append(SetResult(*row[1:]))
    records = []
    for row in sessions:
        with contextlib.suppress(TypeError, ValueError):
            done = tuple(sorted(sets.get(row[0], ()), key=lambda s: s.number))
            records.append(workout_from_row(row, done))
    return records


def readable_rows(db: sqlite3.Connection, table: str, columns: Sequence[str]) -> list[tuple]:
    """The rows of ``table`` SQLite can still read, by rowid; a column an
    older schema lacks reads as NULL.

    A query touching a damaged page fails as a whole, so a failing rowid
    range is halved until the readable rows around the damage are read and
    single unreadable rowids are given up; at most :data:`_PROBES`
    queries, so a log damaged everywhere costs a bounded time.
    """
    try:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.DatabaseError:  # the schema itself is unreadable
        return []
    try:
        top = db.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except sqlite3.DatabaseError:  # the table's last page is damaged: no row takes under
        top = pages * size // 8  # 8 bytes of file, so no rowid is past this
    if not present:
        return []
    select = (
        f"SELECT {', '.join(c if c in present else 'NULL' for c in columns)} "
        f"FROM {table} WHERE rowid BETWEEN ? AND ? ORDER BY rowid"
    )
    rows: list[tuple] = []
    todo, probes = [(1, top)], 0
    while todo and probes < _PROBES:
        low, high = todo.pop()
        probes += 1
        try:
            rows.extend(db.execute(select, (low, high)).fetchall())
        except sqlite3.DatabaseError:
            if low < high:
                middle = (low + high) // 2
                todo += [(middle + 1, high), (low, middle)]  # the lower half first
    return rows
