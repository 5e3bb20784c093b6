"""The coaching program through the CLI (in-process) and its glue."""

import io
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from running import run_in

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
        return run_in(e, *args)
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


@pytest.mark.parametrize("where, played, stopped", [
    (dict(kind="eccentric", set=2, rep=3), [None, 2], (2, 3)),    # set 2 cut short after 2 reps
    (dict(kind="bottom", set=2, rep=3), [None, 3], (2, 3)),       # rep 3's movement was done
    (dict(kind="rest", set=1), [None], (2, 0)),
    (dict(kind="intro"), [], (1, 0)),
    (dict(kind="concentric", set=1, rep=1), [], (1, 1)),
])
def test_played_record_stopped(legs, where, played, stopped):
    preset, tl = legs
    r = played_record(preset, tl, seg(tl, **where).start + 5, False, NOW)
    assert not r.completed
    assert [s.played for s in r.sets] == played and (r.stopped_set, r.stopped_rep) == stopped
    assert [s.number for s in r.sets] == list(range(1, len(played) + 1))


def test_played_record_skips(legs):
    preset, tl = legs
    into_set_2 = seg(tl, kind="concentric", set=2, rep=1).start - 3 * tl.samplerate
    # skipped set 1 at its second rep's descent, then all of set 2 from its first rep
    first = (seg(tl, kind="eccentric", set=1, rep=2).start + 100, into_set_2)
    second = (seg(tl, kind="concentric", set=2, rep=1).start + 10,
              seg(tl, kind="concentric", set=3, rep=1).start - 3 * tl.samplerate)
    r = played_record(preset, tl, tl.frames, True, NOW, jumps=[first, second], rule="repeat")
    assert r.completed and r.rule == "repeat"
    assert [(s.played, s.skipped) for s in r.sets] == [(1, False), (0, True), (None, False)]
    assert [s.reps_played for s in r.done_sets] == [1, 4]


def test_quit_during_outro_counts_as_completed(legs):
    preset, tl = legs
    r = played_record(preset, tl, tl.segments[-1].start + 10, False, NOW)
    assert r.completed and len(r.sets) == 3


def test_ask_perfect_reps_accepts_enter_and_rejects_bad_numbers(legs):
    preset, tl = legs
    record = played_record(preset, tl, tl.frames, True, NOW)
    out = io.StringIO()
    answers = ask_perfect_reps(record, io.StringIO("\nabc\n-7\n201\n5\n0\n"), out)
    assert answers == [4, 5, 0]                     # more than planned is kept
    text = out.getvalue()
    assert "'abc' is not a number of reps" in text and "cannot be negative, got -7" in text
    assert "201 perfect reps is more than 200" in text
    assert ask_perfect_reps(record, io.StringIO("4\n"), io.StringIO()) is None   # end of input


def test_ask_perfect_reps_offers_what_was_played_and_skips_skipped_sets(legs):
    preset, tl = legs
    skip = (seg(tl, kind="concentric", set=2, rep=1).start + 10,
            seg(tl, kind="concentric", set=3, rep=1).start - 3 * tl.samplerate)
    stop = seg(tl, kind="eccentric", set=3, rep=4).start
    record = played_record(preset, tl, stop, False, NOW, jumps=[skip])
    out = io.StringIO()
    assert ask_perfect_reps(record, io.StringIO("\n\n"), out) == [4, 3]
    text = out.getvalue()
    assert "Set 1 of 3: perfect reps [4]" in text and "Set 2 of 3: skipped." in text
    assert "Set 3 of 3: perfect reps [3]" in text


def test_log_numbers_checks():
    assert log_numbers(["10", "9", "8"]) == [10, 9, 8]
    assert log_numbers(["15", "200", "0"]) == [15, 200, 0]
    for words, fragment in ([], "give the perfect reps"), (["-1"], "cannot be negative"), \
            (["201"], "more than 200"), (["x"], "'x'"), (["1.5"], "'1.5'"):
        with pytest.raises(InputError, match=fragment):
            log_numbers(words)


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
                           (("log", "leg-lifts", "201"), "more than 200"),
                           (("log", "leg-lifts", "-3"), "cannot be negative, got -3"),
                           (("log", "leg-lifts", "ten"), "'ten' is not a number"),
                           (("log", "leg-lifts", "9", "9", "9", "9"), "3 sets but 4 numbers"),
                           (("log", "leg-lifts", "9", "--planned", "0"), "--planned"),
                           (("log", "leg-lifts", "10", "--date", "1899-12-31"), "before 1900"),
                           (("log", "leg-lifts", "10", "--date", "2026-11-22"), "in the future")):
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


def test_every_rule_has_a_short_spoken_plan():
    from voicecoach.training.coach import spoken_plan
    from voicecoach.training.progression import RULES, Recommendation
    for rule in RULES:
        plan = Recommendation("dead-bug", 3, 12, "why", None, False, rule.__name__)
        text = spoken_plan(plan)
        assert text.startswith("Three sets of twelve") and text.endswith(".") and len(text) < 80
    plan = Recommendation("dead-bug", 3, 11, "why", None, False, "one_more_rep")
    assert spoken_plan(plan) == "Three sets of eleven: one more than last time."


def test_a_plan_of_one_set_is_said_in_the_singular():
    from voicecoach.training.coach import spoken_plan
    from voicecoach.training.progression import Recommendation
    plan = Recommendation("dead-bug", 1, 1, "why", None, False, "repeat")
    assert spoken_plan(plan) == "One set of one: the same again, every rep clean."


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_ending_and_skips_give_a_truthful_record(legs, data):
    """However the user skipped and stopped, the record holds: a set's reps
    played are never more than the reps whose movement was over by the end,
    exactly those without skips; no set after the stop; all of them when
    the session was completed."""
    preset, tl = legs
    skips, at = [], 0
    for _ in range(data.draw(st.integers(0, 3))):
        src = data.draw(st.integers(at, tl.frames))
        at = data.draw(st.integers(src, tl.frames))
        skips.append((src, at))
    end = data.draw(st.integers(at, tl.frames))          # playback goes on from the last jump
    r = played_record(preset, tl, end, data.draw(st.booleans()), NOW, jumps=skips)
    heard_until = tl.frames if r.completed else end
    for s in r.sets:
        over = sum(1 for x in tl.segments
                   if x.set == s.number and x.kind == "eccentric" and x.end <= heard_until)
        assert 0 <= s.reps_played <= over
        if not skips:
            assert s.reps_played == over
    if r.completed:
        assert [s.number for s in r.sets] == list(range(1, preset.sets + 1))
    else:
        assert all(s.number <= r.stopped_set for s in r.sets)


def test_rewinds_replay_what_a_skip_left_out(legs):
    preset, tl = legs
    rep2 = seg(tl, kind="eccentric", set=1, rep=2).start + 100
    set2 = seg(tl, kind="concentric", set=2, rep=1).start - 3 * tl.samplerate
    paused = seg(tl, kind="eccentric", set=2, rep=3).start + 100
    rewinds = [(rep2, set2),                                   # skipped set 1 at rep 2...
               (set2 + 10, seg(tl, kind="concentric", set=1, rep=1).start),   # ...then started it again
               (paused, seg(tl, kind="concentric", set=2, rep=3).start)]      # a pause: the rep again
    r = played_record(preset, tl, tl.frames, True, NOW, jumps=rewinds)
    assert [s.played for s in r.sets] == [None, None, None]      # every rep heard through once
