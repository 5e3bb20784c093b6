"""What ``voicecoach play`` puts in the training log, in-process with the
real player and a fake audio device: every way a session ends records the
sets done once, skipped and cut-short sets as they happened, and ``play
next`` climbs the whole ladder."""

from __future__ import annotations

import json
import re
import signal
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from fake_play import Keys, ctrl_c, playing, signal_self
from running import run_in

# The short session (conftest.py); the fake device takes 8 blocks of 512
# frames a poll: poll k is heard at k * 85 ms.
SET1_REP1 = 130      # 11.1 s: set 1, rep 1 under way
SET2_REP2 = 299      # 25.5 s: set 2, rep 2 under way (rep 1 done)
SET2_REP2_BLOCKS = SET2_REP2 * 8
DAY0 = datetime(2026, 3, 2, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def player_env(env, cue_cache, fake_audio):
    """``player_env(audio=None, keys=None, answers=None)``: the test environment
    playing through a fake device on its clock; ``answers`` makes it a terminal."""
    def make(audio=None, keys=None, answers=None, now=DAY0):
        return playing(env, audio or fake_audio(), keys, answers, cache_dir=cue_cache,
                       now=lambda: now)
    return make


def logged(env) -> list[dict]:
    code, out, err = run_in(env, "history", "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("how, code, played, stopped", [
    ("finished", 0, [2, 2], None),
    ("q", 0, [2, 1], (2, 2)),
    ("ctrl-c", 130, [2, 1], (2, 2)),
    ("device lost", 1, [2, 1], (2, 2)),
    ("sigterm", 143, [2, 1], (2, 2)),
])
def test_every_way_a_session_ends_records_the_sets_done_once(player_env, fake_audio, short, how,
                                                               code, played, stopped):
    audio = fake_audio(lose_after=SET2_REP2_BLOCKS, refuse=1000) if how == "device lost" \
        else fake_audio()
    action = {"q": "q", "ctrl-c": ctrl_c, "sigterm": signal_self(signal.SIGTERM)}.get(how)
    keys = Keys(**{f"p{SET2_REP2}": action}) if action else Keys()
    env = player_env(audio, keys)
    before = signal.getsignal(signal.SIGTERM)
    got, out, err = run_in(env, "play", str(short))
    assert got == code, err
    assert signal.getsignal(signal.SIGTERM) == before            # the handler is put back
    [workout] = logged(env)                                      # once, whatever the ending
    assert [s["played"] for s in workout["sets"]] == played
    assert workout["completed"] == (stopped is None)
    assert (workout["stopped_set"], workout["stopped_rep"]) == (stopped or (None, None))
    assert f"voicecoach log short {' '.join(map(str, played))}" in out
    assert "Traceback" not in err
    if how == "sigterm":
        assert err.splitlines()[-1] == "voicecoach: stopped by SIGTERM"
    if how == "device lost":
        assert err.splitlines()[-1].startswith("voicecoach: error: the audio device went away")


def test_a_session_ended_before_its_first_rep_is_not_a_training_day(player_env, short):
    env = player_env(keys=Keys(p50=ctrl_c))                       # in the intro
    code, out, err = run_in(env, "play", str(short))
    assert code == 130 and out == ""
    assert logged(env) == []
    code, out, _ = run_in(env, "next")
    assert "rest" not in out.lower()                             # no training today yet


def test_a_skipped_set_is_recorded_as_skipped_and_not_asked(player_env, short):
    env = player_env(keys=Keys(**{f"p{SET1_REP1}": "n"}), answers="\n")
    code, out, err = run_in(env, "play", str(short))
    assert code == 0, err
    assert "Set 1 of 2: skipped." in err and "Set 2 of 2: perfect reps [2]: " in err
    assert "Logged 2 perfect reps (2)." in out
    [workout] = logged(env)
    assert workout["completed"]
    assert [(s["skipped"], s["played"], s["perfect"]) for s in workout["sets"]] == \
        [(True, 0, None), (False, 2, 2)]


def test_a_set_cut_short_offers_the_reps_played(player_env, short):
    env = player_env(keys=Keys(**{f"p{SET2_REP2}": "n"}), answers="\n\n")
    code, out, err = run_in(env, "play", str(short))
    assert code == 0, err
    assert "Set 1 of 2: perfect reps [2]: " in err and "Set 2 of 2: perfect reps [1]: " in err
    assert "Logged 3 perfect reps (2 1)." in out
    [workout] = logged(env)
    assert [(s["played"], s["perfect"]) for s in workout["sets"]] == [(2, 2), (1, 1)]


@pytest.mark.slow
def test_play_next_climbs_the_whole_ladder(player_env, fake_audio):
    """The whole climb, two days apart, every rep perfect: dead bug to hanging,
    then weight. ``play next`` plays the session of each rule (the first, one
    more rep, the next rung, the top of the ladder) to the end, and every rep
    is called perfect at the prompt; the sessions between, the same rule
    again, are logged with ``log next``, which records what ``play next``
    records (the test below)."""
    rungs = ["dead-bug", "bent-knee", "single-leg", "leg-lifts", "hanging"]
    ladder = [(rung, reps) for rung in rungs for reps in range(10, 16)] + [("hanging", 15)]
    played = {0, 1, 6, len(ladder) - 1}
    for day, (preset, reps) in enumerate(ladder):
        now = DAY0 + timedelta(days=2 * day)
        if day not in played:
            code, out, err = run_in(player_env(now=now), "log", "next", *[str(reps)] * 3)
            assert code == 0, err
            continue
        audio = fake_audio(block=4800, per_sleep=10)             # a second a poll: quick
        env = player_env(audio, answers="\n\n\n", now=now)
        code, out, err = run_in(env, "play", "next", "--rest", "5")
        assert code == 0, err
        today = re.search(r"Today: .+ \(([a-z-]+)\), 3 sets of (\d+)\. (.*)", err)
        assert (today.group(1), int(today.group(2))) == (preset, reps)
        assert f"Logged {3 * reps} perfect reps ({reps} {reps} {reps})." in out
    assert "add weight" in out.splitlines()[-1]                  # what the prompt says next
    workouts = logged(env)
    assert [(w["preset"], w["planned_reps"]) for w in workouts] == ladder
    assert [w["rule"] for w in workouts] == \
        ["first_session"] + ["one_more_rep"] * 5 + (["next_rung"] + ["one_more_rep"] * 5) * 4 + ["top_of_ladder"]
    assert all(w["completed"] for w in workouts)


def test_log_next_records_what_play_next_records(player_env, fake_audio, tmp_path):
    played_env = player_env(fake_audio(block=4800, per_sleep=10))
    code, out, err = run_in(played_env, "play", "next")
    assert code == 0, err
    assert "Log your perfect reps later: voicecoach log dead-bug 10 10 10" in out
    logged_env = replace(player_env(), data_dir=tmp_path / "other")
    code, out, err = run_in(logged_env, "log", "next", "10", "10", "10")
    assert code == 0, err
    [played], [logged_] = logged(played_env), logged(logged_env)
    same = ("preset", "exercise", "variation", "tempo", "completed", "planned_sets",
            "planned_reps", "rule")
    assert {k: played[k] for k in same} == {k: logged_[k] for k in same}
    assert played["rule"] == "first_session" and played["planned_reps"] == 10
    assert [s["planned"] for s in played["sets"]] == [s["planned"] for s in logged_["sets"]]
