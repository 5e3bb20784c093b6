import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.plan.phrases import default_phrases
from voicecoach.training.progression import (
    LADDER,
    RULES,
    SETS,
    Recommendation,
    recommend,
    rest_advice,
)
from voicecoach.training.records import SetResult, Workout

UTC = timezone.utc
TODAY = date(2025, 6, 20)


def at(days_ago: int, hour: int = 18) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), UTC)


def session(preset="leg-lifts", reps=10, perfect=(10, 10, 10), days_ago=3, eccentric=3.0,
            stopped=None, hour=18) -> Workout:
    """A session ``days_ago`` days before TODAY; ``perfect`` per set (None:
    not logged); ``stopped=(set, rep)`` for a stopped session."""
    return Workout(
        id=None, preset=preset, exercise="leg lift", variation="", tempo="3-1-2-1",
        eccentric=eccentric, started=at(days_ago, hour), completed=stopped is None,
        stopped_set=stopped and stopped[0], stopped_rep=stopped and stopped[1],
        planned_sets=3, planned_reps=reps,
        sets=tuple(SetResult(n, reps, p) for n, p in enumerate(perfect, 1)))


def plan(*sessions: Workout, **kwargs) -> Recommendation:
    return recommend(list(sessions), TODAY, tz=UTC, **kwargs)


# ---------------------------------------------------------------- starting

def test_first_session_ever_starts_at_the_bottom_of_the_ladder():
    p = plan()
    assert p == Recommendation(
        preset="dead-bug", sets=3, reps=10,
        reason="This is your first session, so start with dead-bug 3 x 10 to learn to keep the "
               "lower back flat while the arms and legs move.",
        rest_advice=None, rest_today=False, rule="first_session")


def test_other_presets_do_not_drive_progression_but_count_as_core_days():
    p = plan(session(preset="plank", reps=1, perfect=(1, 1, 1), days_ago=1),
             session(preset="my-own", days_ago=5))
    assert (p.preset, p.reps, p.rule) == ("dead-bug", 10, "first_session")
    assert p.rest_today and "yesterday" in p.rest_advice


def test_only_unlogged_sessions_start_at_the_bottom_and_say_why():
    p = plan(session(perfect=(None, None, None), days_ago=2))
    assert (p.preset, p.reps, p.rule) == ("dead-bug", 10, "first_session")
    assert p.reason == ("Your latest session (leg-lifts) is not counted because its perfect reps "
                        "were never logged; no session counts yet, so start with dead-bug 3 x 10 "
                        "to learn to keep the lower back flat while the arms and legs move.")


# ---------------------------------------------------------------- progress

def test_all_sets_perfect_adds_a_rep():
    p = plan(session(reps=11, perfect=(11, 11, 11)))
    assert (p.preset, p.sets, p.reps, p.rule) == ("leg-lifts", 3, 12, "one_more_rep")
    assert p.reason == "All 3 sets were perfect at 11 reps last time, so the target goes up to 12."


def test_all_sets_perfect_at_15_moves_up_a_rung_at_10():
    p = plan(session(preset="single-leg", reps=15, perfect=(15, 15, 15)))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 10, "next_rung")
    assert p.reason == ("All 3 sets were perfect at 15 reps last time, so move up to leg-lifts "
                        "at 10 reps.")


def test_top_rung_at_15_stays_and_suggests_weight():
    p = plan(session(preset="hanging", reps=15, perfect=(15, 15, 15)))
    assert (p.preset, p.reps, p.rule) == ("hanging", 15, "top_of_ladder")
    assert p.reason == ("All 3 sets were perfect at 15 reps on hanging, the top of the ladder, so "
                        "stay at 15 and add weight, such as a light dumbbell held between the "
                        "feet.")


def test_fast_descent_blocks_progress():
    p = plan(session(reps=12, perfect=(12, 12, 12), eccentric=2.96))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 12, "slow_descent")
    assert p.reason == ("All 3 sets were perfect last time, but the descent took only 2.9 "
                        "seconds, so repeat 12 reps and lower over a full 3 seconds.")


def test_fast_descent_blocks_the_next_rung_too():
    p = plan(session(reps=15, perfect=(15, 15, 15), eccentric=2.0))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 15, "slow_descent")


def test_unknown_descent_does_not_block_progress():
    p = plan(session(reps=12, perfect=(12, 12, 12), eccentric=None))
    assert (p.reps, p.rule) == (13, "one_more_rep")


def test_a_presets_own_rep_count_is_brought_into_10_to_15():
    p = plan(session(preset="hanging", reps=8, perfect=(8, 8, 8)))
    assert (p.preset, p.reps, p.rule) == ("hanging", 10, "one_more_rep")
    p = plan(session(reps=20, perfect=(19, 18, 20)))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 15, "repeat")


# ---------------------------------------------------------------- falling back

def test_under_half_perfect_steps_back_a_rung_at_12():
    p = plan(session(reps=12, perfect=(6, 5, 6)))  # 17 of 36
    assert (p.preset, p.reps, p.rule) == ("single-leg", 12, "step_back")
    assert p.reason == ("17 of 36 reps were perfect last time, so step back to single-leg at 12 "
                        "reps to rebuild your form.")


def test_a_day_with_no_perfect_rep_steps_back():
    p = plan(session(preset="bent-knee", reps=10, perfect=(0, 0, 0)))
    assert (p.preset, p.reps, p.rule) == ("dead-bug", 12, "step_back")
    assert p.reason == ("None of the 30 reps were perfect last time, so step back to dead-bug at "
                        "12 reps to rebuild your form.")


def test_step_back_on_the_bottom_rung_stays_at_10():
    p = plan(session(preset="dead-bug", reps=13, perfect=(2, 3, 1)))
    assert (p.preset, p.reps, p.rule) == ("dead-bug", 10, "step_back")
    assert p.reason == ("6 of 39 reps were perfect last time, so stay on dead-bug at 10 reps and "
                        "make every rep clean.")


def test_half_to_four_fifths_perfect_eases_off_two_reps():
    p = plan(session(reps=13, perfect=(9, 8, 7)))  # 24 of 39
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 11, "ease_off")
    assert p.reason == ("24 of 39 reps were perfect last time, so stay on leg-lifts at 11 reps "
                        "until every rep is clean.")


def test_ease_off_never_goes_below_10():
    assert plan(session(reps=11, perfect=(6, 6, 6))).reps == 10


@pytest.mark.parametrize("perfect, rule", [
    ((5, 5, 4), "step_back"),   # 14/30, just under a half
    ((5, 5, 5), "ease_off"),    # exactly a half
    ((8, 8, 7), "ease_off"),    # 23/30, just under four fifths
    ((8, 8, 8), "repeat"),      # exactly four fifths
])
def test_share_thresholds_are_exact(perfect, rule):
    assert plan(session(perfect=perfect)).rule == rule


def test_mostly_perfect_repeats():
    p = plan(session(reps=12, perfect=(12, 11, 10)))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 12, "repeat")
    assert p.reason == ("33 of 36 reps were perfect last time, so repeat leg-lifts at 12 reps "
                        "until every rep is clean.")


# ---------------------------------------------------------------- breaks

def test_a_break_over_two_weeks_eases_the_reps():
    p = plan(session(reps=13, perfect=(13, 13, 13), days_ago=15))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 11, "long_break_ease")
    assert p.reason == ("It has been 15 days since your last session, so stay on leg-lifts but "
                        "ease back in at 11 reps.")


def test_a_break_over_six_weeks_steps_down_a_rung():
    p = plan(session(reps=13, perfect=(13, 13, 13), days_ago=43))
    assert (p.preset, p.reps, p.rule) == ("single-leg", 12, "long_break_down")
    assert p.reason == ("It has been 43 days since your last session, so step down to single-leg "
                        "at 12 reps to rebuild.")


def test_a_long_break_on_the_bottom_rung_restarts_it():
    p = plan(session(preset="dead-bug", reps=14, perfect=(14, 14, 14), days_ago=60))
    assert (p.preset, p.reps, p.rule) == ("dead-bug", 10, "long_break_down")
    assert p.reason == ("It has been 60 days since your last session, so start again with "
                        "dead-bug at 10 reps.")


@pytest.mark.parametrize("days_ago, rule", [(14, "one_more_rep"), (15, "long_break_ease"),
                                            (42, "long_break_ease"), (43, "long_break_down")])
def test_break_thresholds(days_ago, rule):
    assert plan(session(reps=12, perfect=(12, 12, 12), days_ago=days_ago)).rule == rule


def test_a_break_counts_from_the_latest_ladder_session_even_if_not_counted():
    p = plan(session(reps=12, perfect=(12, 12, 12), days_ago=30),
             session(reps=12, perfect=(None, None, None), days_ago=3))
    assert (p.reps, p.rule) == (13, "one_more_rep")


# ---------------------------------------------------------------- more than planned, skipped sets

def test_more_perfect_reps_than_planned_count_as_clean():
    p = plan(session(reps=10, perfect=(12, 11, 10)))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 11, "one_more_rep")


def test_a_surplus_in_one_set_does_not_hide_a_shortfall_in_another():
    p = plan(session(reps=10, perfect=(15, 15, 0)))          # 20 of 30 counted: 67 %
    assert (p.reps, p.rule) == (10, "ease_off")
    assert p.reason.startswith("20 of 30 reps were perfect")


def skipping(perfect, skipped_set=2, **kw) -> Workout:
    s = session(perfect=perfect, **kw)
    sets = tuple(SetResult(x.number, x.planned, None, 0) if x.number == skipped_set else x
                 for x in s.sets)
    return Workout(**{**s.__dict__, "sets": sets})


def test_a_skipped_set_is_not_progress_but_not_failure_either():
    p = plan(skipping((12, None, 12), reps=12))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 12, "unfinished")
    assert p.reason == ("You skipped 1 set and did 2 clean sets, so repeat leg-lifts at 12 reps "
                        "and finish all 3 sets before moving on.")


def test_the_sets_done_around_a_skipped_one_are_judged():
    p = plan(skipping((12, None, 3), reps=12))              # 15 of 24: 62 %
    assert (p.reps, p.rule) == (10, "ease_off")
    assert p.reason.startswith("15 of 24 reps were perfect")


def leaving_early(perfect, played, **kw) -> Workout:
    """A session whose sets were left early (``n`` in the player) after ``played`` reps (None: all)."""
    s = session(perfect=perfect, **kw)
    sets = tuple(SetResult(x.number, x.planned, x.perfect, p) for x, p in zip(s.sets, played))
    return Workout(**{**s.__dict__, "sets": sets})


def test_a_set_left_early_then_stopped_is_not_a_failed_set():
    # 'n' after 2 of 10 reps, every rep played perfect, then stopped in set 2
    p = plan(leaving_early((2, 1), (2, 1), stopped=(2, 2)))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 10, "unfinished")
    assert "step back" not in p.reason and "2 of 10" not in p.reason


def test_a_set_left_early_is_not_progress_but_not_failure_either():
    p = plan(leaving_early((2, 10, 10), (2, None, None)))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 10, "unfinished")
    assert p.reason == ("You left 1 set early, so repeat leg-lifts at 10 reps "
                        "and finish all 3 sets before moving on.")


def test_a_set_left_early_counts_the_reps_the_person_says_were_not_perfect():
    # 2 played, none perfect: the person said so; 20 of 22 is judged, not 20 of 30
    p = plan(leaving_early((0, 10, 10), (2, None, None)))
    assert p.rule == "repeat" and p.reason.startswith("20 of 22 reps were perfect")


# ---------------------------------------------------------------- stopped and unlogged

def test_stopped_in_set_2_judges_set_1_only():
    # set 1 10/12 alone is 83 %: repeat; counting set 2's 0 would mean stepping back
    p = plan(session(reps=12, perfect=(10, 0), stopped=(2, 5)))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 12, "repeat")
    assert p.reason.startswith("10 of 12 reps were perfect last time")


def test_stopped_session_with_clean_sets_repeats_instead_of_progressing():
    p = plan(session(reps=12, perfect=(12, None, None), stopped=(2, 3)))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 12, "unfinished")
    assert p.reason == ("You stopped in set 2 after 1 clean set, so repeat leg-lifts at 12 reps "
                        "and finish all 3 sets before moving on.")


def test_stopped_in_the_first_set_is_ignored():
    p = plan(session(reps=11, perfect=(11, 11, 11), days_ago=5),
             session(reps=12, perfect=(3,), stopped=(1, 4), days_ago=2))
    assert (p.preset, p.reps, p.rule) == ("leg-lifts", 12, "one_more_rep")
    assert p.reason == ("Your latest session (leg-lifts) stopped in its first set, so it is not "
                        "counted; all 3 sets were perfect at 11 reps in the last session that "
                        "counts, so the target goes up to 12.")


def test_unlogged_latest_session_is_ignored_and_named():
    p = plan(session(reps=12, perfect=(5, 5, 5), days_ago=5),
             session(reps=12, perfect=(None, None, None), days_ago=2))
    assert (p.preset, p.reps, p.rule) == ("single-leg", 12, "step_back")
    assert p.reason == ("Your latest session (leg-lifts) is not counted because its perfect reps "
                        "were never logged; 15 of 36 reps were perfect in the last session that "
                        "counts, so step back to single-leg at 12 reps to rebuild your form.")


def test_the_latest_ladder_session_is_judged_whatever_the_input_order():
    sessions = [session(preset="bent-knee", reps=15, perfect=(15, 15, 15), days_ago=d)
                for d in (12, 9, 7)]
    sessions.append(session(preset="single-leg", reps=10, perfect=(10, 10, 10), days_ago=4))
    sessions.append(session(preset="plank", reps=1, perfect=(0, 0, 0), days_ago=2))
    random.Random(4).shuffle(sessions)
    p = recommend(sessions, TODAY, tz=UTC)
    assert (p.preset, p.reps, p.rule) == ("single-leg", 11, "one_more_rep")


def test_sessions_after_now_are_left_out():
    now = at(0, hour=9)
    p = plan(session(reps=11, perfect=(11, 11, 11), days_ago=4),
             session(reps=12, perfect=(0, 0, 0), days_ago=0, hour=20), now=now)
    assert (p.reps, p.rule, p.rest_today) == (12, "one_more_rep", False)


# ---------------------------------------------------------------- rest advice

def test_rest_after_training_today():
    p = plan(session(days_ago=0, hour=7))
    assert p.rest_today
    assert p.rest_advice.startswith("You already trained today")


def test_rest_after_training_yesterday():
    p = plan(session(preset="warmup", days_ago=1))
    assert p.rest_today
    assert p.rest_advice == "You trained yesterday: rest today, no two core days in a row."


def test_rest_after_three_core_days_this_week():
    p = plan(session(days_ago=6), session(preset="plank", days_ago=4), session(days_ago=2))
    assert p.rest_today
    assert p.rest_advice == ("You trained on 3 of the last 7 days: rest today, three this week "
                             "is enough.")


def test_two_days_ago_is_fine():
    p = plan(session(days_ago=2))
    assert (p.rest_advice, p.rest_today) == (None, False)


def test_a_week_counts_days_not_sessions_and_only_the_last_seven():
    assert rest_advice([session(days_ago=2), session(preset="warmup", days_ago=2),
                        session(days_ago=4)], TODAY, UTC) is None
    assert rest_advice([session(days_ago=7), session(days_ago=4), session(days_ago=2)],
                       TODAY, UTC) is None


def test_rest_days_are_reckoned_in_the_given_zone():
    late = session(days_ago=1, hour=23)  # 23:00 UTC yesterday is 01:00 today in UTC+2
    say = default_phrases().say
    assert say(rest_advice([late], TODAY, UTC)).startswith("You trained yesterday")
    assert say(rest_advice([late], TODAY, timezone(timedelta(hours=2)))).startswith(
        "You already trained today")


# ---------------------------------------------------------------- API

def test_next_session_rejects_wrong_types():
    with pytest.raises(TypeError):
        recommend([session()], datetime(2025, 6, 20, tzinfo=UTC), tz=UTC)
    with pytest.raises(TypeError):
        recommend([{"preset": "leg-lifts"}], TODAY, tz=UTC)
    with pytest.raises(TypeError):
        recommend(session(), TODAY, tz=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        recommend([], TODAY, now=datetime(2025, 6, 20, 9), tz=UTC)


def test_the_training_docs_list_the_rules_in_order():
    doc = (Path(__file__).parents[2] / "docs" / "training.md").read_text()
    positions = [doc.index(f"\n| {rule.__name__} |") for rule in RULES]
    assert positions == sorted(positions)
    assert all(rule.__doc__ for rule in RULES)


# ---------------------------------------------------------------- property

@st.composite
def histories(draw):
    sessions = []
    for _ in range(draw(st.integers(0, 8))):
        reps = draw(st.integers(1, 20))
        stopped = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(0, reps)))
        count = 3 if stopped is None else draw(st.integers(0, stopped[0]))
        perfect = draw(st.lists(st.none() | st.integers(0, reps + 5), min_size=count, max_size=count))
        sessions.append(session(
            preset=draw(st.sampled_from(LADDER + ("plank", "warmup"))), reps=reps,
            perfect=tuple(perfect), days_ago=draw(st.integers(-2, 120)),
            eccentric=draw(st.none() | st.floats(0, 8)), stopped=stopped,
            hour=draw(st.integers(0, 23))))
    return sessions


@settings(max_examples=300, deadline=None)
@given(histories())
def test_any_history_gives_a_sensible_plan(history):
    p = recommend(history, TODAY, tz=UTC)
    assert p.preset in LADDER
    assert 10 <= p.reps <= 15
    assert p.sets == SETS == 3
    assert p.reason and "\n" not in p.reason and p.reason.endswith(".")
    assert ". " not in p.reason  # one sentence
    assert p.reason[0].isupper() or p.reason[0].isdigit()
    assert p.rest_today == (p.rest_advice is not None)
    assert p.rule in {rule.__name__ for rule in RULES}
