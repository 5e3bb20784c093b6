"""A training log damaged in its later pages: the sessions SQLite can still
read come back into the new log, and ``history`` and ``next`` go on from
them instead of from zero."""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from running import run_in

from voicecoach.training.records import SetResult, Workout
from voicecoach.training.store import History

PAGE = 4096
FIRST = datetime(2025, 1, 6, 18, 0, tzinfo=UTC)


def workout(day: int) -> Workout:
    reps = 8 + day % 5
    return Workout(id=None, preset="leg-lifts", exercise="leg lift", variation="straight-leg",
                   tempo="3-1-2-1", eccentric=3.0, started=FIRST + timedelta(days=2 * day),
                   completed=True, stopped_set=None, stopped_rep=None, planned_sets=3,
                   planned_reps=reps, sets=tuple(SetResult(n, reps, reps - n) for n in (1, 2, 3)))


def damage_last_pages(path: Path, pages: int) -> None:
    """Random bytes over the last ``pages`` pages, page headers included; the
    file's header and schema (page 1) stay readable."""
    data = bytearray(path.read_bytes())
    rng = random.Random(11)
    for k in range(len(data) // PAGE - pages, len(data) // PAGE):
        data[k * PAGE:(k + 1) * PAGE] = bytes(rng.randrange(256) for _ in range(PAGE))
    path.write_bytes(bytes(data))


@pytest.fixture
def damaged_log(env) -> tuple[Path, dict[int, Workout]]:
    path = env.data_dir / "history.db"
    path.parent.mkdir(parents=True)
    with History(path) as h:
        stored = {h.add(workout(day)): workout(day) for day in range(400)}
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")     # every page in the main file
    db.close()
    assert path.stat().st_size > 12 * PAGE
    damage_last_pages(path, 3)
    return path, stored


@pytest.mark.parametrize("command", ["history", "next"])
def test_damaged_log_gives_back_the_sessions_it_can_still_read(run, env, damaged_log, command):
    path, stored = damaged_log
    res = run(command) if command == "next" else run("history", "--json")
    assert res.code == 0, res.err
    notice, = res.err.splitlines()
    kept, = (p for p in path.parent.glob("history.db.corrupt-*")
             if not p.name.endswith(("-wal", "-shm")))
    saved = int(notice.split("a new log was started with the ")[1].split()[0])
    assert notice == (f"voicecoach: The training log {path} was damaged (database disk image is "
                      f"malformed); it was kept as {kept} and a new log was started with the "
                      f"{saved} sessions that could still be read.")
    assert 0 < saved < len(stored) - 20           # the damage took some, not all
    with History(path) as h:
        back = h.workouts()
    assert len(back) == saved
    for record in back:                           # each whole, under its own id
        assert record == replace(stored[record.id], id=record.id)
    if command == "history":
        shown = json.loads(res.out)
        assert [s["id"] for s in shown] == [r.id for r in back]
        assert [s["perfect"] for s in shown[-1]["sets"]] == [s.perfect for s in back[-1].sets]
        return
    # The method goes on from what came back: as from a sound log of just
    # those sessions, not as from an empty one.
    def next_on(records: list[Workout]) -> str:
        other = replace(env, data_dir=env.data_dir.parent / f"other-{len(records)}")
        with History(other.data_dir / "history.db") as h:
            for r in records:
                h.add(replace(r, id=None))
        out = run_in(other, "next")
        assert (out.code, out.err) == (0, "")
        return out.out
    assert res.out == next_on(back) != next_on([])
