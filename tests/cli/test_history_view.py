"""The training log for people: marks, skipped sets, reps above the plan."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from voicecoach.cli.history_view import format_table, moves, to_json
from voicecoach.training.records import SetResult, Workout

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=timezone.utc)


def workout(preset: str, reps: int, perfect, days: int, played=None, rule=None) -> Workout:
    played = played or [None] * len(perfect)
    return Workout(
        id=days + 1, preset=preset, exercise="x", variation="", tempo="3-1-2-1", eccentric=3.0,
        started=T0 + timedelta(days=days), completed=True, stopped_set=None, stopped_rep=None,
        planned_sets=3, planned_reps=reps, rule=rule,
        sets=tuple(SetResult(n, reps, p, q) for n, (p, q) in enumerate(zip(perfect, played), 1)))


def test_moves_follow_the_ladder_and_ignore_other_presets():
    log = [workout("dead-bug", 10, [10] * 3, 0), workout("plank", 1, [1] * 3, 1),
           workout("dead-bug", 11, [11] * 3, 2), workout("dead-bug", 11, [9] * 3, 4),
           workout("bent-knee", 10, [10] * 3, 6), workout("dead-bug", 12, [12] * 3, 8)]
    assert moves(log) == [None, None, "up", None, "up", "down"]


def test_table_shows_skipped_sets_and_reps_above_the_plan():
    log = [workout("leg-lifts", 10, [12, None, 10], 0, played=[None, 0, 6], rule="repeat")]
    text = format_table(log)
    row = text.splitlines()[1]
    assert "12+ skip 10" in row and row.endswith("done, 1 set skipped, set 3 cut short")
    [doc] = to_json(log)
    assert doc["rule"] == "repeat" and doc["perfect_reps"] == 22 and doc["plan_moved"] is None
    assert [(s["played"], s["skipped"], s["cut_short"], s["perfect"]) for s in doc["sets"]] == \
        [(10, False, False, 12), (0, True, False, None), (6, False, True, 10)]


def test_a_set_left_early_shows_the_answer_and_is_marked_cut_short():
    log = [workout("leg-lifts", 10, [2, 10, 10], 0, played=[2, None, None])]
    row = format_table(log).splitlines()[1]
    assert "2 10 10" in row and row.endswith("done, set 1 cut short")
    assert [s["cut_short"] for s in to_json(log)[0]["sets"]] == [True, False, False]
