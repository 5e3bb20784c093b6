"""The coaching program through the CLI (in-process) and its glue."""

import io
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from voicecoach.cli.app import main
from voicecoach.errors import InputError
from voicecoach.plan.preset_files import load_preset
from voicecoach.plan.schedule import build_timeline
from voicecoach.training.coach import ask_perfect_reps, history_path, log_numbers, played_record
from voicecoach.training.store import History

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def clocked(env):
    box = {"now": NOW}
    e = replace(env, now=lambda: box["now"])

    def run(*args):
        e.stdout.seek(0), e.stdout.truncate(), e.stderr.seek(0), e.stderr.truncate()
        code = main(list(args), env=e)
        return code, e.stdout.getvalue(), e.stderr.getvalue()
    run.box = box
    return e, run


@pytest.fixture(scope="module")
def legs():
    preset = load_preset("leg-lifts").with_overrides(sets=3, reps=4, rest=10)
    return preset, build_timeline(preset)


def seg(tl, **kw):
    return next(s for s in tl.segments if all(getattr(s, k) == v for k, v in kw.items()))


def test_played_record_completed(legs):
    preset, tl = legs
    r = played_record(preset, tl, tl.frames, True, NOW)
    assert r.completed and [s.number for s in r.sets] == [1, 2, 3]
    assert r.tempo == "3-1-2-1" and r.eccentric == 3 and r.planned_reps == 4
    assert all(s.perfect is None for s in r.sets)


@pytest.mark.parametrize("where, sets, stopped", [
    (dict(kind="eccentric", set=2, rep=3), [1], (2, 3)),
    (dict(kind="rest", set=1), [1], (2, 0)),
    (dict(kind="intro"), [], (1, 0)),
    (dict(kind="concentric", set=1, rep=1), [], (1, 1)),
])
def test_played_record_stopped(legs, where, sets, stopped):
    preset, tl = legs
    r = played_record(preset, tl, seg(tl, **where).start + 5, False, NOW)
    assert not r.completed
    assert [s.number for s in r.sets] == sets and (r.stopped_set, r.stopped_rep) == stopped


def test_quit_during_outro_counts_as_completed(legs):
    preset, tl = legs
    r = played_record(preset, tl, tl.segments[-1].start + 10, False, NOW)
    assert r.completed and len(r.sets) == 3


def test_ask_perfect_reps_accepts_enter_and_rejects_bad_numbers(legs):
    preset, tl = legs
    record = played_record(preset, tl, tl.frames, True, NOW)
    out = io.StringIO()
    answers = ask_perfect_reps(record, io.StringIO("\nabc\n7\n3\n0\n"), out)
    assert answers == [4, 3, 0]
    text = out.getvalue()
    assert "'abc' is not a number of reps" in text and "7 perfect reps is not between 0 and the 4" in text
    assert ask_perfect_reps(record, io.StringIO("4\n"), io.StringIO()) is None   # end of input


def test_log_numbers_checks():
    preset = load_preset("leg-lifts")
    assert log_numbers(preset, ["10", "9", "8"]) == [10, 9, 8]
    assert log_numbers(preset, ["10"]) == [10]
    for words, fragment in ([], "give the perfect reps"), (["1", "2", "3", "4"], "3 sets but 4"), \
            (["-1"], "not between 0"), (["11"], "not between 0 and the 10"), (["x"], "'x'"):
        with pytest.raises(InputError, match=fragment):
            log_numbers(preset, words)


def test_log_then_history_then_next(clocked):
    env, run = clocked
    code, out, err = run("log", "dead-bug", "10", "10", "10")
    assert code == 0 and "perfect reps 10 10 10 of 10" in out, err
    run.box["now"] = NOW + timedelta(days=2)
    code, out, _ = run("next")
    assert code == 0
    assert "Dead bug (dead-bug), 3 sets of 11." in out      # all perfect: one more rep
    code, out, _ = run("history")
    assert "dead-bug" in out and "10 10 10" in out and "done" in out
    assert "█" in out                                      # the chart
    doc = json.loads(run("history", "--json")[1])
    assert doc[0]["preset"] == "dead-bug" and [s["perfect"] for s in doc[0]["sets"]] == [10, 10, 10]


def test_next_advises_rest_the_day_after(clocked):
    env, run = clocked
    run("log", "dead-bug", "10", "10", "10")
    run.box["now"] = NOW + timedelta(days=1)
    code, out, _ = run("next")
    assert code == 0 and "rest" in out.lower()


def test_log_fills_the_unlogged_session_of_the_day(clocked, legs):
    env, run = clocked
    preset = load_preset("leg-lifts")
    tl = build_timeline(preset)
    with History(history_path(env.data_dir)) as h:
        h.add(played_record(preset, tl, tl.frames, True, NOW - timedelta(hours=1)))
    code, out, _ = run("log", "9", "8", "7")
    assert code == 0 and "the session played" in out
    with History(history_path(env.data_dir)) as h:
        sessions = h.workouts()
    assert len(sessions) == 1 and [s.perfect for s in sessions[0].sets] == [9, 8, 7]


def test_log_with_a_date_and_bad_input(clocked):
    env, run = clocked
    code, out, _ = run("log", "plank", "1", "1", "--date", "2026-11-01")
    assert code == 0 and "2026-11-01" in out
    for args, fragment in ((("log", "leg-lifts", "10", "--date", "2027-01-01"), "in the future"),
                           (("log", "leg-lifts", "10", "--date", "yesterday"), "--date"),
                           (("log", "leg-lift", "10"), "did you mean 'leg-lifts'"),
                           (("log", "leg-lifts", "99"), "not between 0 and the 10")):
        code, _, err = run(*args)
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err


def test_timeline_next_prints_the_plan_on_stderr(clocked):
    env, run = clocked
    code, out, err = run("timeline", "next", "--json")
    assert code == 0 and json.loads(out)["preset"] == "dead-bug"
    assert "first session" in err


def test_damaged_log_is_set_aside(clocked):
    env, run = clocked
    path = history_path(env.data_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    code, out, err = run("history")
    assert code == 0 and "damaged" in err and "No sessions yet" in out
    kept = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(kept) == 1 and kept[0].read_bytes() == b"this is not a database" * 100
