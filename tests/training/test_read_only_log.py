"""``history`` and ``next`` read the log without writing: a read-only data
folder (made real with the immutable attribute, which binds root too) or
no log at all still shows what there is."""

import shutil
import subprocess
from datetime import datetime, timezone

import pytest

from voicecoach.training.store import History

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def immutable(tmp_path):
    """Make paths immutable (``chattr +i``), and mutable again afterwards."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    made = []

    def freeze(*paths):
        for path in paths:
            r = subprocess.run(["chattr", "+i", str(path)], capture_output=True, timeout=10)
            if r.returncode:
                pytest.skip(f"this file system has no immutable attribute: {r.stderr!r}")
            made.append(path)
    yield freeze
    for path in reversed(made):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, timeout=10)


def test_history_and_next_read_a_log_in_a_read_only_folder(run, env, immutable):
    assert run("log", "plank", "1", "1", "1", "--date", "2026-11-20").code == 0
    data = env.data_dir
    for side in data.iterdir():
        if side.name != "history.db":         # -wal/-shm of the writer, checkpointed on close
            side.unlink()
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    immutable(data / "history.db", data)
    shown = run("history", "--json")
    assert shown.code == 0, shown.err
    assert '"preset": "plank"' in shown.out and shown.err == ""
    told = run("next")
    assert told.code == 0, told.err
    assert "Today:" in told.out
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before     # not a byte written


def test_a_log_that_cannot_be_written_is_still_refused_for_writing(run, env, immutable):
    assert run("log", "plank", "1", "1", "1").code == 0
    immutable(env.data_dir / "history.db", env.data_dir)
    r = run("log", "plank", "1", "1", "1")
    assert r.code == 1 and r.err.count("\n") == 1 and "training log" in r.err


def test_history_without_any_log_creates_nothing(run, env):
    r = run("history")
    assert r.code == 0, r.err
    assert not env.data_dir.exists()


def test_a_read_only_copy_of_an_old_schema_is_read_at_the_current_one(tmp_path):
    path = tmp_path / "history.db"
    with History(path):
        pass
    with History(path, read_only=True) as log:
        assert log.workouts() == []
    with History(None, read_only=True) as empty:
        assert empty.workouts() == [] and empty.path is None
