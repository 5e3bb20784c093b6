import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicecoach.errors import InputError, RuntimeFailure
from voicecoach.training.records import SetResult, Workout
from voicecoach.training.schema import MIGRATIONS, SCHEMA_VERSION
from voicecoach.training.store import CorruptHistoryError, History, HistoryError

UTC = timezone.utc
T0 = datetime(2025, 6, 2, 18, 30, tzinfo=UTC)


def record(**changes) -> Workout:
    base = Workout(
        id=None, preset="leg-lifts", exercise="leg lift", variation="straight-leg",
        tempo="3-1-2-1", eccentric=3.0, started=T0, completed=True, stopped_set=None,
        stopped_rep=None, planned_sets=3, planned_reps=10,
        sets=tuple(SetResult(n, 10, None) for n in (1, 2, 3)))
    return replace(base, **changes)


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def user_version(path: Path) -> int:
    db = raw(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.db"


@pytest.fixture
def history(path: Path):
    with History(path) as h:
        yield h


# ---------------------------------------------------------------- records

def test_perfect_total_sums_only_when_every_set_is_recorded():
    assert record().perfect_total is None
    full = record(sets=(SetResult(1, 10, 10), SetResult(2, 10, 8), SetResult(3, 10, 0)))
    assert full.perfect_total == 18
    partial = record(sets=(SetResult(1, 10, 10), SetResult(2, 10, None), SetResult(3, 10, 7)))
    assert partial.perfect_total is None
    assert record(sets=()).perfect_total is None


def test_more_perfect_reps_than_planned_are_kept(history):
    session_id = history.add(record())
    updated = history.set_perfect(session_id, [12, 11, 10])
    assert [(s.planned, s.perfect) for s in updated.sets] == [(10, 12), (10, 11), (10, 10)]
    assert updated.perfect_total == 33


def test_a_skipped_set_has_no_perfect_reps_to_log(history):
    sets = (SetResult(1, 10), SetResult(2, 10, played=0), SetResult(3, 10, played=6))
    session_id = history.add(record(sets=sets))
    back = history.get(session_id)
    assert [(s.skipped, s.reps_played) for s in back.sets] == [(False, 10), (True, 0), (False, 6)]
    assert back.done_sets == (sets[0], sets[2])
    with pytest.raises(InputError, match="has 2 sets done"):
        history.set_perfect(session_id, [10, 0, 6])
    logged = history.set_perfect(session_id, [9, 5])
    assert [s.perfect for s in logged.sets] == [9, None, 5]
    assert logged.perfect_total == 14


def test_the_rule_that_chose_a_session_is_kept(history):
    session_id = history.add(record(rule="one_more_rep"))
    assert history.get(session_id).rule == "one_more_rep"
    with pytest.raises(TypeError):
        record(rule="")


def test_unlogged_means_no_set_recorded():
    assert record().unlogged
    assert not record(sets=(SetResult(1, 10, 0), SetResult(2, 10, None))).unlogged


@pytest.mark.parametrize("changes, error", [
    (dict(started=datetime(2025, 6, 2, 18, 30)), ValueError),
    (dict(started="2025-06-02"), TypeError),
    (dict(preset=""), ValueError),
    (dict(preset=None), TypeError),
    (dict(completed=1), TypeError),
    (dict(stopped_set=2, stopped_rep=3), ValueError),
    (dict(completed=False), ValueError),
    (dict(completed=False, stopped_set=4, stopped_rep=1), ValueError),
    (dict(eccentric=-1.0), ValueError),
    (dict(eccentric="3"), TypeError),
    (dict(planned_sets=0), ValueError),
    (dict(sets=[SetResult(1, 10)]), TypeError),
    (dict(sets=(SetResult(2, 10),)), ValueError),
    (dict(sets=tuple(SetResult(n, 10) for n in range(1, 5))), ValueError),
    (dict(id=True), TypeError),
])
def test_session_record_rejects_bad_values(changes, error):
    with pytest.raises(error):
        record(**changes)


@pytest.mark.parametrize("args, error", [
    ((1, 10, 201), ValueError), ((1, 10, -1), ValueError), ((0, 10, None), ValueError),
    ((1, 10, None, 11), ValueError), ((1, 10, None, -1), ValueError), ((1, 10, 0, 0), ValueError),
    ((1, 0, None), ValueError), ((1, 10.0, None), TypeError), ((1, 10, True), TypeError),
])
def test_set_result_rejects_bad_values(args, error):
    with pytest.raises(error):
        SetResult(*args)


# ---------------------------------------------------------------- basics

def test_add_and_read_back(history):
    rec = record(started=datetime(2025, 6, 2, 20, 30, tzinfo=timezone(timedelta(hours=2))),
                 completed=False, stopped_set=2, stopped_rep=4, eccentric=None, tempo=None)
    workout_id = history.add(rec)
    [back] = history.workouts()
    assert back == replace(rec, id=workout_id)
    assert back.started.tzinfo == UTC and back.started == T0
    assert history.get(workout_id) == back
    assert history.get(workout_id + 1) is None


def test_new_file_and_folders_are_created_with_the_chosen_settings(path):
    assert not path.parent.exists()
    with History(path) as h:
        db = h._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    assert user_version(path) == SCHEMA_VERSION == 3


def test_add_rejects_a_stored_record_and_other_types(history):
    with pytest.raises(ValueError, match="already stored"):
        history.add(record(id=7))
    with pytest.raises(TypeError):
        history.add({"preset": "leg-lifts"})
    assert history.workouts() == []


def test_sessions_are_oldest_first_and_filter_by_preset_and_since(history):
    later = history.add(record(started=T0 + timedelta(days=2)))
    plank = history.add(record(preset="plank", started=T0 + timedelta(days=1)))
    first = history.add(record(started=T0))
    assert [s.id for s in history.workouts()] == [first, plank, later]
    assert [s.id for s in history.workouts("leg-lifts")] == [first, later]
    assert [s.id for s in history.workouts(since=T0 + timedelta(days=1))] == [plank, later]
    since_local = (T0 + timedelta(days=1)).astimezone(timezone(timedelta(hours=-5)))
    assert [s.id for s in history.workouts("plank", since=since_local)] == [plank]
    with pytest.raises(ValueError, match="timezone-aware"):
        history.workouts(since=datetime(2025, 6, 1))


def test_set_perfect_fills_and_overwrites(history):
    workout_id = history.add(record())
    updated = history.set_perfect(workout_id, [10, 9, 7])
    assert [s.perfect for s in updated.sets] == [10, 9, 7]
    history.set_perfect(workout_id, (8, 8, 0))
    assert [s.perfect for s in history.get(workout_id).sets] == [8, 8, 0]
    assert history.get(workout_id).perfect_total == 16


@pytest.mark.parametrize("numbers, message", [
    ([10, 10], "has 3 sets"),
    ([10, 10, 10, 10], "has 3 sets"),
    ([10, -1, 10], "negative"),
    ([10, 201, 10], "more than 200"),
])
def test_set_perfect_rejects_bad_numbers_and_writes_nothing(history, numbers, message):
    workout_id = history.add(record())
    with pytest.raises(InputError, match=message):
        history.set_perfect(workout_id, numbers)
    assert history.get(workout_id).unlogged


def test_set_perfect_rejects_unknown_session_and_wrong_types(history):
    with pytest.raises(InputError, match="no session 99"):
        history.set_perfect(99, [10, 10, 10])
    workout_id = history.add(record())
    with pytest.raises(TypeError):
        history.set_perfect(workout_id, "101010")
    with pytest.raises(TypeError):
        history.set_perfect(workout_id, [10, 10.0, 10])
    with pytest.raises(TypeError):
        history.set_perfect(str(workout_id), [10, 10, 10])


def test_latest_unlogged_finds_the_days_unlogged_session_of_the_preset(history):
    day = T0.date()
    assert history.latest_unlogged("leg-lifts", day, UTC) is None
    early = history.add(record(started=T0 - timedelta(hours=8)))
    late = history.add(record(started=T0 + timedelta(hours=1)))
    history.add(record(preset="plank", started=T0 + timedelta(hours=2)))
    logged = history.add(record(started=T0 + timedelta(hours=3)))
    history.set_perfect(logged, [10, 10, 10])
    history.add(record(started=T0 + timedelta(days=1)))
    assert history.latest_unlogged("leg-lifts", day, UTC).id == late
    history.set_perfect(late, [9, 9, 9])
    assert history.latest_unlogged("leg-lifts", day, UTC).id == early
    assert history.latest_unlogged("dead-bug", day, UTC) is None


def test_latest_unlogged_reckons_the_day_in_the_given_zone(history):
    late_evening_utc = datetime(2025, 6, 2, 23, 30, tzinfo=UTC)  # 3 June in Berlin summer time
    workout_id = history.add(record(started=late_evening_utc))
    berlin = timezone(timedelta(hours=2))
    assert history.latest_unlogged("leg-lifts", date(2025, 6, 3), berlin).id == workout_id
    assert history.latest_unlogged("leg-lifts", date(2025, 6, 2), berlin) is None
    assert history.latest_unlogged("leg-lifts", date(2025, 6, 2), UTC).id == workout_id
    with pytest.raises(TypeError):
        history.latest_unlogged("leg-lifts", late_evening_utc, UTC)


def test_closed_history_refuses_work(path):
    h = History(path)
    h.close()
    h.close()  # twice is fine
    with pytest.raises(ValueError, match="closed"):
        h.workouts()


# ---------------------------------------------------------------- schema

V1_SCHEMA = (  # as released: a real v1 file, frozen here on purpose
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY, preset TEXT NOT NULL, exercise TEXT NOT NULL,
        variation TEXT NOT NULL, tempo TEXT, eccentric REAL, started TEXT NOT NULL,
        completed INTEGER NOT NULL CHECK (completed IN (0, 1)), stopped_set INTEGER,
        stopped_rep INTEGER, planned_sets INTEGER NOT NULL CHECK (planned_sets >= 1),
        planned_reps INTEGER NOT NULL CHECK (planned_reps >= 1))""",
    """CREATE TABLE sets (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        number INTEGER NOT NULL CHECK (number >= 1),
        planned INTEGER NOT NULL CHECK (planned >= 1),
        perfect INTEGER CHECK (perfect IS NULL OR perfect BETWEEN 0 AND planned),
        PRIMARY KEY (session_id, number))""",
)


def make_v1(path: Path) -> None:
    db = raw(path)
    for statement in V1_SCHEMA:
        db.execute(statement)
    db.execute("INSERT INTO sessions VALUES (5, 'dead-bug', 'dead bug', 'alternating', "
               "'3-1-2-0', 3.0, '2025-05-01T07:00:00.000000+00:00', 1, NULL, NULL, 3, 10)")
    db.executemany("INSERT INTO sets VALUES (5, ?, 10, ?)", [(1, 10), (2, 9), (3, 8)])
    db.execute("PRAGMA user_version = 1")
    db.close()


def shape(path: Path) -> dict:
    db = raw(path)
    names = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")]
    out = {name: db.execute(f"PRAGMA table_info('{name}')").fetchall() or
           db.execute(f"PRAGMA index_info('{name}')").fetchall() for name in names}
    db.close()
    return out


def test_v1_database_is_migrated_keeping_its_rows(tmp_path):
    old = tmp_path / "old.db"
    make_v1(old)
    with History(old) as h:
        [session] = h.workouts()
    assert session.id == 5 and session.preset == "dead-bug"
    assert session.started == datetime(2025, 5, 1, 7, tzinfo=UTC)
    assert [s.perfect for s in session.sets] == [10, 9, 8]
    assert user_version(old) == SCHEMA_VERSION
    with History(tmp_path / "new.db"):
        pass
    assert shape(old) == shape(tmp_path / "new.db")
    assert "sessions_by_preset" in shape(old)


def test_v2_database_migrates_to_perfect_reps_above_plan_and_skipped_sets(tmp_path):
    old = tmp_path / "v2.db"
    make_v1(old)
    db = raw(old)
    for statement in MIGRATIONS[1]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    with pytest.raises(sqlite3.IntegrityError):   # the v2 file refuses more than planned
        db.execute("UPDATE sets SET perfect = 11 WHERE session_id = 5 AND number = 1")
    db.close()
    with History(old) as h:
        [session] = h.workouts()
        assert [(s.perfect, s.played) for s in session.sets] == [(10, None), (9, None), (8, None)]
        assert session.rule is None
        assert [s.perfect for s in h.set_perfect(5, [11, 10, 9]).sets] == [11, 10, 9]
    assert user_version(old) == SCHEMA_VERSION == 3


def test_migrations_apply_one_version_each():
    assert SCHEMA_VERSION == len(MIGRATIONS)
    assert all(isinstance(step, tuple) and step for step in MIGRATIONS)


def test_database_from_a_newer_voicecoach_is_refused_and_left_alone(path):
    path.parent.mkdir(parents=True)
    db = raw(path)
    db.execute("CREATE TABLE future (x)")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = path.read_bytes()
    for opener in (History, History.open):
        with pytest.raises(HistoryError, match="newer voicecoach") as caught:
            opener(path)
        assert not isinstance(caught.value, CorruptHistoryError)
        assert isinstance(caught.value, RuntimeFailure) and caught.value.exit_code == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.db"]


def test_a_path_that_cannot_be_opened_is_an_error_not_corruption(tmp_path):
    folder = tmp_path / "is-a-folder"
    folder.mkdir()
    with pytest.raises(InputError, match="is a directory, not a regular file") as caught:
        History.open(folder)
    assert not isinstance(caught.value, CorruptHistoryError)
    assert folder.is_dir()


# ---------------------------------------------------------------- damage

STAMP = datetime(2025, 3, 4, 5, 6, 7)


def assert_fresh_and_working(path: Path, salvaged: int = 0) -> None:
    with History(path) as h:
        assert len(h.workouts()) == salvaged
        workout_id = h.add(record())
        assert h.get(workout_id).preset == "leg-lifts"


def test_garbage_file_is_kept_aside_and_a_new_log_started(path):
    path.parent.mkdir(parents=True)
    garbage = b"this is not a database, just some bytes\x00\xff" * 200
    path.write_bytes(garbage)
    with pytest.raises(CorruptHistoryError):
        History(path)
    assert path.read_bytes() == garbage
    history, notice = History.open(path, now=STAMP)
    history.close()
    kept = path.with_name("history.db.corrupt-20250304-050607")
    assert kept.read_bytes() == garbage
    assert notice == (f"The training log {path} was damaged (file is not a database); "
                      f"it was kept as {kept} and a new, empty log was started.")
    assert "\n" not in notice
    assert_fresh_and_working(path)


def test_truncated_file_is_kept_aside_and_a_new_log_started(path):
    with History(path) as h:
        for i in range(300):
            h.add(record(started=T0 + timedelta(minutes=i)))
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[:len(data) // 2])
    history, notice = History.open(path, now=STAMP)
    history.close()
    kept = path.with_name("history.db.corrupt-20250304-050607")
    assert kept.read_bytes() == data[:len(data) // 2]
    assert "damaged" in notice and str(kept) in notice
    assert_fresh_and_working(path)


def test_wal_and_shm_files_move_with_the_damaged_file(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage" * 100)
    path.with_name("history.db-wal").write_bytes(b"old wal")
    path.with_name("history.db-shm").write_bytes(b"old shm")
    History.open(path, now=STAMP)[0].close()
    stem = "history.db.corrupt-20250304-050607"
    assert path.with_name(stem).read_bytes() == b"garbage" * 100
    assert path.with_name(stem + "-wal").read_bytes() == b"old wal"
    assert path.with_name(stem + "-shm").exists()  # only an index SQLite rebuilds; may change


def test_a_second_damaged_file_does_not_overwrite_the_first(path):
    path.parent.mkdir(parents=True)
    for content in (b"first garbage" * 50, b"second garbage" * 50):
        path.write_bytes(content)
        History.open(path, now=STAMP)[0].close()
        path.unlink()
        for side in ("-wal", "-shm"):
            path.with_name(path.name + side).unlink(missing_ok=True)
    kept = path.with_name("history.db.corrupt-20250304-050607")
    assert kept.read_bytes() == b"first garbage" * 50
    assert kept.with_name(kept.name + "-2").read_bytes() == b"second garbage" * 50


def test_without_now_the_stamp_is_the_damaged_files_last_change(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage" * 100)
    when = datetime(2024, 12, 31, 23, 59, 58).timestamp()
    os.utime(path, (when, when))
    _, notice = History.open(path)
    assert path.with_name("history.db.corrupt-20241231-235958").exists()
    assert "history.db.corrupt-20241231-235958" in notice


def test_healthy_file_opens_without_notice(path):
    with History(path) as h:
        h.add(record())
    history, notice = History.open(path)
    with history:
        assert notice is None
        assert len(history.workouts()) == 1


# ---------------------------------------------------------------- concurrency and crashes

def _writer(path: str, worker: int, barrier) -> None:
    barrier.wait()  # both open (and create) the file at the same moment,
    with History(Path(path)) as h:
        barrier.wait()  # then both write at once
        for i in range(50):
            h.add(record(preset=f"worker-{worker}", started=T0 + timedelta(seconds=i)))


def test_two_processes_writing_at_once_lose_nothing(path):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    workers = [ctx.Process(target=_writer, args=(str(path), n, barrier)) for n in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    with History(path) as h:
        sessions = h.workouts()
    assert len(sessions) == 100
    assert len({s.id for s in sessions}) == 100
    assert sorted({s.preset for s in sessions}) == ["worker-0", "worker-1"]
    assert sum(s.preset == "worker-0" for s in sessions) == 50
    assert all(len(s.sets) == 3 for s in sessions)


KILLED_WRITER = """
import sys
from datetime import datetime, timedelta, timezone
from voicecoach.training.records import SetResult, Workout
from voicecoach.training.store import History
history = History(sys.argv[1])
for i in range(100000):
    workout_id = history.add(Workout(
        id=None, preset="leg-lifts", exercise="leg lift", variation="straight-leg",
        tempo="3-1-2-1", eccentric=3.0,
        started=datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=i),
        completed=True, stopped_set=None, stopped_rep=None, planned_sets=3, planned_reps=10,
        sets=tuple(SetResult(n, 10, n) for n in (1, 2, 3))))
    print(workout_id, flush=True)
"""


def test_a_writer_killed_mid_write_loses_nothing_committed(path):
    with History(path):
        pass
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed = []
    while len(printed) < 40:
        line = child.stdout.readline()
        assert line, f"writer died early: {child.stderr.read()}"
        printed.append(int(line))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    printed += [int(line) for line in out.splitlines(keepends=True) if line.endswith("\n")]
    assert child.returncode == -signal.SIGKILL

    db = raw(path)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()
    with History(path) as h:
        sessions = {s.id: s for s in h.workouts()}
    assert set(printed) <= set(sessions)
    assert all([r.perfect for r in s.sets] == [1, 2, 3] for s in sessions.values())


# ---------------------------------------------------------------- partial damage, busy switch

def test_damaged_pages_behind_a_valid_header_are_detected_and_kept_aside(path):
    with History(path) as h:
        for i in range(300):
            h.add(record(started=T0 + timedelta(minutes=i)))
    data = bytearray(path.read_bytes())
    page = 4096
    assert data[:16] == b"SQLite format 3\x00" and len(data) > 8 * page
    rng = random.Random(7)
    for k in range(3, 6):                                   # pages 4 to 6: table contents
        data[k * page + 8:(k + 1) * page] = bytes(rng.randrange(256) for _ in range(page - 8))
    path.write_bytes(bytes(data))
    assert user_version(path) == SCHEMA_VERSION             # the header still reads fine
    with pytest.raises(CorruptHistoryError):
        History(path)
    assert path.read_bytes() == bytes(data)                 # refused without a change
    history, notice = History.open(path, now=STAMP)
    history.close()
    kept = path.with_name("history.db.corrupt-20250304-050607")
    assert kept.read_bytes() == bytes(data) and "damaged" in notice
    salvaged = int(notice.split("started with the ")[1].split()[0])    # the rows on other pages
    assert 200 < salvaged < 300
    assert_fresh_and_working(path, salvaged)


def test_the_switch_to_wal_waits_while_another_connection_holds_the_file(path):
    path.parent.mkdir(parents=True)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE held (x)")
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    other.execute("BEGIN")
    other.execute("SELECT * FROM held").fetchall()          # a shared lock: WAL must wait
    probe = sqlite3.connect(path, isolation_level=None, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as busy:
        probe.execute("PRAGMA journal_mode = WAL")          # what History meets at first
    probe.close()
    assert busy.value.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    released = threading.Event()

    def release():
        released.wait(30)
        other.execute("COMMIT")

    thread = threading.Thread(target=release)
    thread.start()
    timer = threading.Timer(0.3, released.set)
    timer.start()
    try:
        with History(path) as h:
            assert h.add(record()) == 1
    finally:
        released.set()
        thread.join()
        other.close()
    db = raw(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


class _BusyOnWal:
    """A connection whose switch to WAL answers SQLITE_BUSY (or another error)
    the first ``times`` times, as when two processes create the log at once."""

    def __init__(self, real, times, code, log):
        self._real, self._times, self._code, self._log = real, times, code, log

    def execute(self, sql, *args):
        if sql.startswith("PRAGMA journal_mode") and self._times > 0:
            self._times -= 1
            self._log.append(sql)
            exc = sqlite3.OperationalError("database is locked")
            exc.sqlite_errorcode = self._code
            raise exc
        return self._real.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._real, name)


def _busy_connections(monkeypatch, times, code=sqlite3.SQLITE_BUSY):
    from voicecoach.training import store
    real_connect = sqlite3.connect
    log = []

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        if kwargs.get("isolation_level", "") is None:       # History's own connection
            return _BusyOnWal(conn, times, code, log)
        return conn
    monkeypatch.setattr(store.sqlite3, "connect", connect)
    monkeypatch.setattr(store, "sleep", lambda s: None)
    return log


def test_a_busy_switch_to_wal_is_retried_until_it_succeeds(path, monkeypatch):
    log = _busy_connections(monkeypatch, times=5)
    with History(path) as h:
        h.add(record())
    assert len(log) == 5
    monkeypatch.undo()
    db = raw(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_switch_to_wal_that_fails_otherwise_is_not_retried(path, monkeypatch):
    log = _busy_connections(monkeypatch, times=5, code=sqlite3.SQLITE_IOERR)
    with pytest.raises(HistoryError):
        History(path)
    assert len(log) == 1


def test_a_switch_to_wal_busy_for_longer_than_the_timeout_gives_up(path, monkeypatch):
    from voicecoach.training import store
    log = _busy_connections(monkeypatch, times=10**6)
    clock = iter(range(10**6))
    monkeypatch.setattr(store, "monotonic", lambda: next(clock))   # one second per look
    with pytest.raises(HistoryError, match="locked"):
        History(path)
    assert 5 <= len(log) <= store.BUSY_TIMEOUT + 2
