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

from voicecoach.plan.phrases import PhraseBook, Sentence, default_phrases, sentence
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
    ignored: Sentence | None  # why the latest ladder workout does not count, or None

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
    def when(self) -> Sentence:
        return sentence("advice_when_last" if self.ignored is None else "advice_when_counted")


@dataclass(frozen=True)
class Choice:
    """A rule's verdict: rung index on :data:`LADDER`, reps, one sentence."""

    rung: int
    reps: int
    reason: Sentence


def first_session(f: Facts) -> Choice | None:
    """Nothing to judge yet: begin at the bottom, where the core learns to
    stay quiet while the limbs move."""
    if f.workout is not None:
        return None
    start = sentence("advice_start_none" if f.ignored else "advice_start_first")
    return Choice(
        0, START_REPS, sentence("advice_first_session", start=start, rung=LADDER[0], sets=SETS, reps=START_REPS)
    )


def long_break_down(f: Facts) -> Choice | None:
    """After more than six weeks away, strength and control are gone: one
    rung down."""
    if f.days_away is None or f.days_away <= LONG_BREAK_DAYS:
        return None
    rung, reps = _down(f.rung)
    action = sentence("advice_step_down" if rung < f.rung else "advice_start_again", rung=LADDER[rung], reps=reps)
    return Choice(rung, reps, sentence("advice_long_break", days=f.days_away, action=action))


def long_break_ease(f: Facts) -> Choice | None:
    """After more than two weeks away, ease back in on the same rung."""
    if f.days_away is None or f.days_away <= BREAK_DAYS:
        return None
    reps = _clamp(f.reps - EASE_REPS)
    return Choice(f.rung, reps, sentence("advice_long_break_ease", days=f.days_away, rung=LADDER[f.rung], reps=reps))


def unfinished(f: Facts) -> Choice | None:
    """A stopped workout never earns progress, even if the sets done were
    clean: the target is all the sets."""
    if not f.unfinished or not f.clean:
        return None
    reps = _clamp(f.reps)
    done = sentence("advice_clean_sets", n=len(f.sets))
    skipped = len(f.judged.sets) - len(f.judged.done_sets)
    if not f.judged.completed:
        how = sentence("advice_stopped", set=f.judged.stopped_set, done=done)
    elif skipped:
        how = sentence("advice_skipped", skipped=sentence("advice_sets", n=skipped), done=done)
    else:
        how = sentence("advice_left_early", left=sentence("advice_sets", n=sum(s.cut_short for s in f.sets)))
    return Choice(f.rung, reps, sentence("advice_unfinished", how=how, rung=LADDER[f.rung], reps=reps, sets=SETS))


def slow_descent(f: Facts) -> Choice | None:
    """Clean reps only count toward progress with a controlled descent of
    at least 3 seconds."""
    eccentric = f.judged.eccentric
    if not f.clean or eccentric is None or eccentric >= MIN_ECCENTRIC:
        return None
    reps = _clamp(f.reps)
    took, minimum = _seconds(eccentric), f"{MIN_ECCENTRIC:g}"
    said = sentence("advice_slow_descent", n=len(f.sets), when=f.when, seconds=took, reps=reps, minimum=minimum)
    return Choice(f.rung, reps, said)


def top_of_ladder(f: Facts) -> Choice | None:
    """Clean at 15 on the hardest variation: keep the reps, add load."""
    if not f.clean or f.reps < TOP_REPS or f.rung < len(LADDER) - 1:
        return None
    said = sentence("advice_top_of_ladder", n=len(f.sets), done=f.reps, rung=LADDER[f.rung], reps=TOP_REPS)
    return Choice(f.rung, TOP_REPS, said)


def next_rung(f: Facts) -> Choice | None:
    """Clean at 15 with a slow descent: the method's signal to move on."""
    if not f.clean or f.reps < TOP_REPS:
        return None
    rung = LADDER[f.rung + 1]
    said = sentence("advice_next_rung", n=len(f.sets), done=f.reps, when=f.when, rung=rung, reps=START_REPS)
    return Choice(f.rung + 1, START_REPS, said)


def one_more_rep(f: Facts) -> Choice | None:
    """Clean below 15: one more rep per set."""
    if not f.clean:
        return None
    reps = _clamp(f.reps + 1)
    return Choice(f.rung, reps, sentence("advice_one_more_rep", n=len(f.sets), done=f.reps, when=f.when, reps=reps))


def step_back(f: Facts) -> Choice | None:
    """Fewer than half the reps perfect: this rung is too hard today."""
    if f.share >= STEP_BACK_BELOW:
        return None
    rung, reps = _down(f.rung)
    key = "advice_step_back_rung" if rung < f.rung else "advice_step_back_stay"
    action = sentence(key, rung=LADDER[rung], reps=reps)
    return Choice(rung, reps, sentence("advice_step_back", tally=_tally(f), when=f.when, action=action))


def ease_off(f: Facts) -> Choice | None:
    """Half to four fifths perfect: same rung, fewer reps, cleaner form."""
    if f.share >= EASE_BELOW:
        return None
    reps = _clamp(f.reps - EASE_REPS)
    return Choice(
        f.rung, reps, sentence("advice_ease_off", tally=_tally(f), when=f.when, rung=LADDER[f.rung], reps=reps)
    )


def repeat(f: Facts) -> Choice | None:
    """Nearly there: the same again."""
    reps = _clamp(f.reps)
    return Choice(f.rung, reps, sentence("advice_repeat", tally=_tally(f), when=f.when, rung=LADDER[f.rung], reps=reps))


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
    history: Sequence[Workout],
    today: date,
    now: datetime | None = None,
    *,
    tz: tzinfo | None = None,
    phrases: PhraseBook | None = None,
) -> Recommendation:
    """The next workout, given every workout so far (any order), its reasons
    said in the language of ``phrases`` (English when None).

    Calendar days are reckoned in ``tz`` (None: the system's local zone, the
    one ``today`` should come from). ``now``, if given, is the current
    instant: workouts that start after it (a clock that was wrong) are left
    out.
    """
    book = phrases or default_phrases()
    workouts = _check(history, today, now, tz)
    if now is not None:
        workouts = [s for s in workouts if s.started <= now]
    facts = judge(workouts, today, tz)
    choice, rule = next((c, r) for r in RULES if (c := r(facts)) is not None)  # repeat always chooses
    reason = book.say(choice.reason)
    if facts.ignored is not None:
        reason = book.text("advice_ignored_then", ignored=book.say(facts.ignored), reason=book.continued(reason))
    said = rest_advice(workouts, today, tz)
    advice = None if said is None else book.say(said)
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
            ignored = sentence("advice_ignored", preset=workout.preset, why=why)
    return Facts(None, (), days_away, ignored)


def rest_advice(history: Sequence[Workout], today: date, tz: tzinfo | None = None) -> Sentence | None:
    """Whether today should be a rest day, as one sentence, or None if training
    today is fine. Every workout counts, whatever its preset."""
    days = {_day(s, tz) for s in history}
    if today in days:
        return sentence("advice_rest_today")
    if today - timedelta(days=1) in days:
        return sentence("advice_rest_yesterday")
    week = sum(1 for d in days if today - timedelta(days=6) <= d <= today)
    if week >= WEEK_DAYS:
        return sentence("advice_rest_week", days=week)
    return None


def _judged_sets(workout: Workout) -> tuple[tuple[SetResult, ...], Sentence | None]:
    """The sets to judge, or why the workout does not count."""
    if workout.completed:
        sets = workout.done_sets
    elif workout.stopped_set == 1:
        return (), sentence("advice_why_first_set")
    else:
        sets = tuple(s for s in workout.done_sets if s.number < (workout.stopped_set or 0))
    if not sets:
        return (), sentence("advice_why_no_sets")
    if all(s.perfect is None for s in sets):
        return (), sentence("advice_why_unlogged")
    if any(s.perfect is None for s in sets):
        return (), sentence("advice_why_part_logged")
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


def _tally(f: Facts) -> Sentence:
    if f.perfect == 0:
        return sentence("advice_tally_none", planned=f.planned)
    return sentence("advice_tally", perfect=f.perfect, planned=f.planned)
