"""The coaching loop through the real CLI, in-process: log what was done,
climb the whole ladder, step back when form fails, and see it in history."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from running import run_in


DAY0 = datetime(2026, 3, 2, 18, 0, tzinfo=timezone.utc)
LADDER = ["dead-bug", "bent-knee", "single-leg", "leg-lifts", "hanging"]
NEXT = re.compile(r"^Today: .+ \((?P<preset>[a-z-]+)\), (?P<sets>\d+) sets of (?P<reps>\d+)\. "
                  r"(?P<why>.+)$")


@pytest.fixture
def cli(env):
    """Run the CLI at the clock in ``cli.now``; return (code, stdout, stderr)."""
    state = {"now": DAY0}
    e = replace(env, now=lambda: state["now"])

    def run(*args: str):
        return run_in(e, *args)
    run.state = state
    return run


def today(cli) -> dict:
    code, out, err = cli("next")
    assert code == 0, err
    found = NEXT.match(out.splitlines()[0])
    assert found, out
    return {**found.groupdict(), "text": out.splitlines()[0]}


def climb(cli, sessions: int) -> list[dict]:
    """Log each recommended session as perfect, two days apart."""
    seen = []
    for _ in range(sessions):
        plan = today(cli)
        seen.append(plan)
        reps = plan["reps"]
        code, out, err = cli("log", "next", reps, reps, reps)
        assert code == 0, err
        assert f"{plan['preset']}, perfect reps {reps} {reps} {reps} of {reps} planned." in out
        cli.state["now"] += timedelta(days=2)
    return seen


def test_next_on_a_rest_day_says_one_thing_about_when_to_train(cli):
    code, _, err = cli("log", "next", "10", "10", "10")
    assert code == 0, err
    code, out, err = cli("next")
    assert code == 0, err
    assert "train again the day after tomorrow at the earliest" in out
    assert out.count("tomorrow") == 1, out                  # not also "it can wait for tomorrow"
    assert "'voicecoach play next' plays it" in out


def test_perfect_sessions_climb_the_whole_ladder_then_add_weight(cli):
    seen = climb(cli, 30)
    steps = [(p["preset"], int(p["reps"])) for p in seen]
    assert steps == [(rung, reps) for rung in LADDER for reps in range(10, 16)]
    assert all(p["sets"] == "3" for p in seen)
    top = today(cli)
    assert (top["preset"], top["reps"]) == ("hanging", "15")
    assert "the top of the ladder, so stay at 15 and add weight" in top["why"]
    # every step says why
    assert seen[0]["why"].startswith("This is your first session, so start with dead-bug")
    for before, after in zip(seen, seen[1:] + [top]):
        if before["preset"] != after["preset"]:
            assert f"perfect at 15 reps last time, so move up to {after['preset']} at 10" \
                in after["why"]
        elif after is not top:
            assert (f"perfect at {before['reps']} reps last time, so the target goes up to "
                    f"{after['reps']}") in after["why"]
    print("\n".join(p["text"] for p in seen + [top]))   # the climb, for the record (pytest -s)


def test_failing_sessions_step_back_as_the_rules_say(cli):
    climb(cli, 24)                                       # up to hanging at 10
    assert (today(cli)["preset"], today(cli)["reps"]) == ("hanging", "10")
    assert cli("log", "next", "4", "3", "2")[0] == 0     # 9 of 30: under half
    plan = today(cli)
    assert (plan["preset"], plan["reps"]) == ("leg-lifts", "12")
    assert "9 of 30 reps were perfect last time, so step back to leg-lifts at 12" in plan["why"]
    cli.state["now"] += timedelta(days=2)
    assert cli("log", "next", "9", "9", "9")[0] == 0     # 27 of 36: 75 %
    plan = today(cli)
    assert (plan["preset"], plan["reps"]) == ("leg-lifts", "10")
    assert "stay on leg-lifts at 10 reps until every rep is clean" in plan["why"]
    cli.state["now"] += timedelta(days=2)
    assert cli("log", "next", "10", "10", "9")[0] == 0   # 29 of 30: nearly
    plan = today(cli)
    assert (plan["preset"], plan["reps"]) == ("leg-lifts", "10")
    assert "repeat leg-lifts at 10 reps" in plan["why"]


def test_history_marks_where_the_plan_moved_and_json_names_the_rule(cli):
    climb(cli, 7)                                        # dead bug 10..15, bent-knee 10
    cli("log", "next", "2", "2", "2")                    # bent-knee at 11: 6 of 33
    code, out, _ = cli("history")
    rows = [line for line in out.splitlines() if line[:4].isdigit()]
    assert [row.split()[2] for row in rows] == ["dead-bug"] * 6 + ["bent-knee"] * 2
    assert [row.split()[3] for row in rows] == [f"3x{n}" for n in (10, 11, 12, 13, 14, 15, 10, 11)]
    assert [("↑" in row, "↓" in row) for row in rows] == \
        [(False, False)] + [(True, False)] * 7
    doc = json.loads(cli("history", "--json")[1])
    assert [d["rule"] for d in doc] == ["first_session"] + ["one_more_rep"] * 5 + \
        ["next_rung", "one_more_rep"]
    assert [d["plan_moved"] for d in doc] == [None] + ["up"] * 7
    last = doc[-1]
    assert (last["planned_reps"], last["perfect_reps"]) == (11, 6)
    assert [(s["planned"], s["perfect"], s["skipped"]) for s in last["sets"]] == \
        [(11, 2, False)] * 3
    cli.state["now"] += timedelta(days=2)
    cli("log", "next", "11", "11", "11")                 # dead bug again, at 12: a step down
    code, out, _ = cli("history")
    assert "↓" in [line for line in out.splitlines() if line[:4].isdigit()][-1]


def test_log_a_preset_at_todays_recommended_reps(cli):
    climb(cli, 1)                                        # next: dead bug at 11
    code, out, err = cli("log", "dead-bug", "11", "11", "11")
    assert code == 0, err
    assert "dead-bug, perfect reps 11 11 11 of 11 planned." in out
    assert today(cli)["reps"] == "12"


def test_log_more_perfect_reps_than_the_preset_plans(cli):
    code, out, err = cli("log", "leg-lifts", "15", "15", "15")
    assert code == 0, err
    assert "leg-lifts, perfect reps 15 15 15 of 15 planned." in out   # raised to what was done
    code, out, err = cli("log", "leg-lifts", "12", "15", "--planned", "12", "--date", "2026-03-01")
    assert code == 0, err
    assert "perfect reps 12 15 of 12 planned (1 set above the plan)." in out
    doc = json.loads(cli("history", "--json")[1])
    assert [(s["planned"], s["perfect"]) for s in doc[0]["sets"]] == [(12, 12), (12, 15)]
    assert doc[0]["stopped_set"] == 3                    # two sets of three
    assert [(s["planned"], s["perfect"]) for s in doc[1]["sets"]] == [(15, 15)] * 3
    code, out, _ = cli("history")
    assert "12 15+" in out                               # above the plan: kept and shown


def test_log_next_follows_a_user_preset_that_shadows_a_built_in(cli, env):
    folder = env.config_dir / "presets"
    folder.mkdir(parents=True)
    (folder / "dead-bug.toml").write_text(
        'name = "dead-bug"\ntitle = "My dead bug"\nexercise = "dead bug"\nsets = 3\nreps = 8\n'
        'tempo = "2-0-2-0"\n')
    code, out, err = cli("log", "next", "10", "10", "10")
    assert code == 0, err
    doc = json.loads(cli("history", "--json")[1])
    assert (doc[0]["preset"], doc[0]["tempo"], doc[0]["planned_reps"]) == ("dead-bug", "2-0-2-0", 10)


def test_the_intro_of_todays_session_says_the_plan_and_why(cli):
    climb(cli, 1)
    code, out, err = cli("timeline", "next", "--json")
    assert code == 0, err
    doc = json.loads(out)
    intro = next(s for s in doc["segments"] if s["kind"] == "intro")
    said = [e["text"] for e in doc["events"]
            if e["kind"] == "speech" and e["frame"] < intro["start"] + intro["frames"]]
    assert said[:2] == ["Dead bug. 3 sets of 11.", "Three sets of eleven: one more than last time."]
    code, out, err = cli("timeline", "next", "--json", "--reps", "9")      # not the plan any more
    assert code == 0, err
    assert "one more than last time" not in out
    code, out, err = cli("timeline", "dead-bug", "--json")                 # not played as the plan
    assert "one more than last time" not in out
