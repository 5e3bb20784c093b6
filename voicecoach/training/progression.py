"""What to train next: the coaching program's rules, all in this module.

The variations form a ladder, :data:`LADDER`, easiest first; the rules are
tried in :data:`RULES` order and the first that matches decides. The method,
which workout is judged, and the rules' table are in ``docs/training.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from fractions import Fraction

from voicecoach.training.records import SetResult, Workout, check_aware

LADDER = ("dead-bug", "bent-knee", "single-leg", "leg-lifts", "hanging")  # easiest -> hardest
START_REPS, TOP_REPS, SETS = 10, 15, 3
MIN_ECCENTRIC = 3.0  # seconds of lowering needed to progress
STEP_BACK_REPS = 12  # reps on the easier rung after stepping down
EASE_REPS = 2  # reps taken off when easing back
BREAK_DAYS = 14  # a longer gap eases the reps
LONG_BREAK_DAYS = 42  # a longer gap steps down a rung
STEP_BACK_BELOW = Fraction(1, 2)  # share of perfect reps under which to step down a rung
EASE_BELOW = Fraction(4, 5)  # share of perfect reps under which to ease the reps
WEEK_DAYS = 3  # core days within 7 days that call for a rest


@dataclass(frozen=True)
class Recommendation:
    """The next workout, why, and whether today should be a rest day.
    ``rule`` names the rule of :data:`RULES` that chose it."""

    preset: str
    sets: int
    reps: int
    reason: str
    rest_advice: str | None
    rest_today: bool
    rule: str


@dataclass(frozen=True)
class Facts:
    """What the rules look at, worked out once from the history."""

    workout: Workout | None  # the judged workout: latest ladder workout that counts
    sets: tuple[SetResult, ...]  # its judged sets
    days_away: int | None  # days since the latest ladder workout of any kind
    ignored: str | None  # why the latest ladder workout does not count, or None

    @property
    def judged(self) -> Workout:
        """The judged workout: every rule after :func:`first_session` has one."""
        if self.workout is None:
            raise ValueError("no ladder workout counts yet")
        return self.workout

    @property
    def rung(self) -> int:
        return LADDER.index(self.judged.preset)

    @property
    def reps(self) -> int:
        """The judged workout's target, as planned (may be outside 10-15)."""
        return self.judged.planned_reps

    @property
    def perfect(self) -> int:
        """Perfect reps of the judged sets (all logged), each counted up to the
        reps it played (a surplus in one set does not hide a shortfall in another)."""
        return sum(min(s.perfect or 0, s.reps_played) for s in self.sets)

    @property
    def planned(self) -> int:
        """Reps played in the judged sets: a set left early is judged on the reps it
        had, so moving on is no failure unless the person says its reps were not perfect."""
        return sum(s.reps_played for s in self.sets)

    @property
    def share(self) -> Fraction:
        """Perfect reps over planned reps of the judged sets, exactly."""
        return Fraction(self.perfect, self.planned)

    @property
    def clean(self) -> bool:
        """Every judged set had all its planned reps perfect (more is fine)."""
        return all((s.perfect or 0) >= s.reps_played for s in self.sets)

    @property
    def unfinished(self) -> bool:
        """Stopped early, or a set was skipped or left early: not the whole plan was done."""
        w = self.judged
        return not w.completed or any(s.skipped for s in w.sets) or any(s.cut_short for s in self.sets)

    @property
    def when(self) -> str:
        return "last time" if self.ignored is None else "in the last session that counts"


@dataclass(frozen=True)
class Choice:
    """A rule's verdict: rung index on :data:`LADDER`, reps, one sentence."""

    rung: int
    reps: int
    reason: str


def first_session(f: Facts) -> Choice | None:
    """Nothing to judge yet: begin at the bottom, where the core learns to
    stay quiet while the limbs move."""
    if f.workout is not None:
        return None
    start = "No session counts yet" if f.ignored else "This is your first session"
    return Choice(
        0,
        START_REPS,
        f"{start}, so start with {LADDER[0]} {SETS} x {START_REPS} to learn to keep the lower back flat "
        f"while the arms and legs move.",
    )


def long_break_down(f: Facts) -> Choice | None:
    """After more than six weeks away, strength and control are gone: one
    rung down."""
    if f.days_away is None or f.days_away <= LONG_BREAK_DAYS:
        return None
    rung, reps = _down(f.rung)
    action = (
        f"step down to {LADDER[rung]} at {reps} reps to rebuild"
        if rung < f.rung
        else f"start again with {LADDER[rung]} at {reps} reps"
    )
    return Choice(rung, reps, f"It has been {f.days_away} days since your last session, so {action}.")


def long_break_ease(f: Facts) -> Choice | None:
    """After more than two weeks away, ease back in on the same rung."""
    if f.days_away is None or f.days_away <= BREAK_DAYS:
        return None
    reps = _clamp(f.reps - EASE_REPS)
    return Choice(
        f.rung,
        reps,
        f"It has been {f.days_away} days since your last session, so "
        f"stay on {LADDER[f.rung]} but ease back in at {reps} reps.",
    )


def unfinished(f: Facts) -> Choice | None:
    """A stopped workout never earns progress, even if the sets done were
    clean: the target is all the sets."""
    if not f.unfinished or not f.clean:
        return None
    reps = _clamp(f.reps)
    done = _plural(len(f.sets), "clean set")
    skipped = len(f.judged.sets) - len(f.judged.done_sets)
    if not f.judged.completed:
        how = f"stopped in set {f.judged.stopped_set} after {done}"
    elif skipped:
        how = f"skipped {_plural(skipped, 'set')} and did {done}"
    else:
        how = f"left {_plural(sum(s.cut_short for s in f.sets), 'set')} early"
    return Choice(
        f.rung,
        reps,
        f"You {how}, so repeat {LADDER[f.rung]} at {reps} reps and finish all {SETS} sets before moving on.",
    )


def slow_descent(f: Facts) -> Choice | None:
    """Clean reps only count toward progress with a controlled descent of
    at least 3 seconds."""
    eccentric = f.judged.eccentric
    if not f.clean or eccentric is None or eccentric >= MIN_ECCENTRIC:
        return None
    reps = _clamp(f.reps)
    return Choice(
        f.rung,
        reps,
        f"All {len(f.sets)} sets were perfect {f.when}, but the descent took only {_seconds(eccentric)} seconds, "
        f"so repeat {reps} reps and lower over a full {MIN_ECCENTRIC:g} seconds.",
    )


def top_of_ladder(f: Facts) -> Choice | None:
    """Clean at 15 on the hardest variation: keep the reps, add load."""
    if not f.clean or f.reps < TOP_REPS or f.rung < len(LADDER) - 1:
        return None
    return Choice(
        f.rung,
        TOP_REPS,
        f"All {len(f.sets)} sets were perfect at {f.reps} reps on {LADDER[f.rung]}, the top of the ladder, "
        f"so stay at {TOP_REPS} and add weight, such as a light dumbbell held between the feet.",
    )


def next_rung(f: Facts) -> Choice | None:
    """Clean at 15 with a slow descent: the method's signal to move on."""
    if not f.clean or f.reps < TOP_REPS:
        return None
    return Choice(
        f.rung + 1,
        START_REPS,
        f"All {len(f.sets)} sets were perfect at {f.reps} reps {f.when}, so move up to {LADDER[f.rung + 1]} "
        f"at {START_REPS} reps.",
    )


def one_more_rep(f: Facts) -> Choice | None:
    """Clean below 15: one more rep per set."""
    if not f.clean:
        return None
    reps = _clamp(f.reps + 1)
    return Choice(
        f.rung, reps, f"All {len(f.sets)} sets were perfect at {f.reps} reps {f.when}, so the target goes up to {reps}."
    )


def step_back(f: Facts) -> Choice | None:
    """Fewer than half the reps perfect: this rung is too hard today."""
    if f.share >= STEP_BACK_BELOW:
        return None
    rung, reps = _down(f.rung)
    action = (
        f"step back to {LADDER[rung]} at {reps} reps to rebuild your form"
        if rung < f.rung
        else f"stay on {LADDER[rung]} at {reps} reps and make every rep clean"
    )
    return Choice(rung, reps, f"{_tally(f)} {f.when}, so {action}.")


def ease_off(f: Facts) -> Choice | None:
    """Half to four fifths perfect: same rung, fewer reps, cleaner form."""
    if f.share >= EASE_BELOW:
        return None
    reps = _clamp(f.reps - EASE_REPS)
    return Choice(
        f.rung, reps, f"{_tally(f)} {f.when}, so stay on {LADDER[f.rung]} at {reps} reps until every rep is clean."
    )


def repeat(f: Facts) -> Choice | None:
    """Nearly there: the same again."""
    reps = _clamp(f.reps)
    return Choice(
        f.rung, reps, f"{_tally(f)} {f.when}, so repeat {LADDER[f.rung]} at {reps} reps until every rep is clean."
    )


Rule = Callable[[Facts], "Choice | None"]
RULES: tuple[Rule, ...] = (
    first_session,
    long_break_down,
    long_break_ease,
    unfinished,
    slow_descent,
    top_of_ladder,
    next_rung,
    one_more_rep,
    step_back,
    ease_off,
    repeat,
)


def recommend(
    history: Sequence[Workout], today: date, now: datetime | None = None, *, tz: tzinfo | None = None
) -> Recommendation:
    """The next workout, given every workout so far (any order).

    Calendar days are reckoned in ``tz`` (None: the system's local zone, the
    one ``today`` should come from). ``now``, if given, is the current
    instant: workouts that start after it (a clock that was wrong) are left
    out.
    """
    workouts = _check(history, today, now, tz)
    if now is not None:
        workouts = [s for s in workouts if s.started <= now]
    facts = judge(workouts, today, tz)
    choice, rule = next((c, r) for r in RULES if (c := r(facts)) is not None)  # repeat always chooses
    reason = choice.reason
    if facts.ignored is not None:
        reason = f"{facts.ignored}; {reason[0].lower()}{reason[1:]}"
    advice = rest_advice(workouts, today, tz)
    return Recommendation(
        preset=LADDER[choice.rung],
        sets=SETS,
        reps=choice.reps,
        reason=reason,
        rest_advice=advice,
        rest_today=advice is not None,
        rule=rule.__name__,
    )


def judge(history: Sequence[Workout], today: date, tz: tzinfo | None = None) -> Facts:
    """The :class:`Facts` the rules see."""
    ladder = sorted((s for s in history if s.preset in LADDER), key=lambda s: s.started)
    if not ladder:
        return Facts(None, (), None, None)
    days_away = max(0, (today - _day(ladder[-1], tz)).days)
    ignored = None
    for workout in reversed(ladder):
        sets, why = _judged_sets(workout)
        if why is None:
            return Facts(workout, sets, days_away, ignored)
        if workout is ladder[-1]:
            ignored = f"Your latest session ({workout.preset}) {why}"
    return Facts(None, (), days_away, ignored)


def rest_advice(history: Sequence[Workout], today: date, tz: tzinfo | None = None) -> str | None:
    """Whether today should be a rest day, as one line, or None if training
    today is fine. Every workout counts, whatever its preset."""
    days = {_day(s, tz) for s in history}
    if today in days:
        return "You already trained today: rest now, and train again the day after tomorrow at the earliest."
    if today - timedelta(days=1) in days:
        return "You trained yesterday: rest today, no two core days in a row."
    week = sum(1 for d in days if today - timedelta(days=6) <= d <= today)
    if week >= WEEK_DAYS:
        return f"You trained on {week} of the last 7 days: rest today, three this week is enough."
    return None


def _judged_sets(workout: Workout) -> tuple[tuple[SetResult, ...], str | None]:
    """The sets to judge, or why the workout does not count."""
    if workout.completed:
        sets = workout.done_sets
    elif workout.stopped_set == 1:
        return (), "stopped in its first set, so it is not counted"
    else:
        sets = tuple(s for s in workout.done_sets if s.number < (workout.stopped_set or 0))
    if not sets:
        return (), "has no sets recorded, so it is not counted"
    if all(s.perfect is None for s in sets):
        return (), "is not counted because its perfect reps were never logged"
    if any(s.perfect is None for s in sets):
        return (), "is not counted because its perfect reps were only partly logged"
    return sets, None


def _check(history: object, today: object, now: object, tz: object) -> list[Workout]:
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise TypeError(f"history must be a sequence of Workout, got {history!r}")
    for item in history:
        if not isinstance(item, Workout):
            raise TypeError(f"history must hold Workout items, got {type(item).__name__}")
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError(f"today must be a date, got {today!r}")
    if now is not None:
        check_aware("now", now)
    if tz is not None and not isinstance(tz, tzinfo):
        raise TypeError(f"tz must be a tzinfo or None, got {tz!r}")
    return list(history)


def _day(workout: Workout, tz: tzinfo | None) -> date:
    return workout.started.astimezone(tz).date()


def _seconds(value: float) -> str:
    """Rounded down to a tenth, so a 2.96 s descent never reads as 3."""
    return f"{math.floor(value * 10) / 10:g}"


def _clamp(reps: int) -> int:
    return max(START_REPS, min(TOP_REPS, reps))


def _down(rung: int) -> tuple[int, int]:
    """One rung down at :data:`STEP_BACK_REPS`; the bottom rung restarts at 10."""
    return (rung - 1, STEP_BACK_REPS) if rung > 0 else (0, START_REPS)


def _tally(f: Facts) -> str:
    if f.perfect == 0:
        return f"None of the {f.planned} reps were perfect"
    return f"{f.perfect} of {f.planned} reps were perfect"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
