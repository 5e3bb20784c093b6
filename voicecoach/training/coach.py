"""The coaching program at the command line: where the log lives, what a
played session records, asking for perfect reps, and today's workout.

Glue between :mod:`voicecoach.training.store` (storage), :mod:`voicecoach.training.progression`
(the rules) and the CLI; every function takes what it needs (paths, clock,
streams) so the CLI stays thin and tests run it in-process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO

from voicecoach.errors import InputError
from voicecoach.plan.kinds import MOVING_KINDS, REP_KINDS, SegmentKind
from voicecoach.plan.phrases import PhraseBook, default_phrases, number_word
from voicecoach.plan.preset import Preset
from voicecoach.plan.preset_files import load_preset
from voicecoach.plan.timeline import Timeline
from voicecoach.training.progression import Recommendation, recommend
from voicecoach.training.records import MAX_REPS, SetResult, Workout, check_perfect
from voicecoach.training.store import CorruptHistoryError, History, HistoryError

NEXT = "next"  # the preset name that means today's recommended workout
FIRST_YEAR = 1900  # the earliest year a workout can be logged for
_DONE_WHEN = frozenset({*MOVING_KINDS, SegmentKind.HOLD})  # a rep is done once these end


def history_path(data_dir: Path) -> Path:
    return Path(data_dir) / "history.db"


def open_history(data_dir: Path, now: datetime, warn: IO, *, read_only: bool = False) -> History:
    """The training log; a damaged one is set aside with a note on ``warn``.

    ``read_only`` (for ``history`` and ``next``) reads a copy and writes
    nothing: not the folder, not the log, not even a damaged log's move aside.
    """
    if read_only:
        try:
            return History(history_path(data_dir), read_only=True)
        except CorruptHistoryError:
            pass  # set it aside below, if the folder lets us
    try:
        history, notice = History.open(history_path(data_dir), now=now)
    except HistoryError as exc:
        if not read_only:
            raise
        print(f"voicecoach: {exc}; showing an empty log", file=warn)
        return History(None, read_only=True)
    if notice:
        print(f"voicecoach: {notice}", file=warn)
    return history


def local_day(moment: datetime) -> date:
    """The calendar day of ``moment`` where the user is."""
    return moment.astimezone().date()


def played_record(
    preset: Preset,
    timeline: Timeline,
    position: int,
    completed: bool,
    started: datetime,
    jumps: Sequence[tuple[int, int]] = (),
    rule: str | None = None,
) -> Workout:
    """What a played (or stopped) session goes into the log as.

    ``position`` is the timeline frame where playback ended and ``jumps``
    every move of the position on the way, as ``(from, to)`` frames (skips
    forward, rewinds to a rep's or a set's start). A rep counts as played
    when one stretch of playback heard its movement through; a set with
    none is recorded as skipped, one with fewer as cut short, with the reps
    actually played; a set not reached is not recorded. A stopped session says which set and rep
    were under way (rep 0: before the set began).
    """
    stopped_set = stopped_rep = None
    end = position
    if not completed:
        seg = timeline.segment_at(min(position, timeline.frames - 1))
        if seg.kind == SegmentKind.OUTRO or position >= timeline.frames:
            completed = True
        elif seg.kind in REP_KINDS:
            stopped_set, stopped_rep = seg.set, seg.rep
        elif seg.kind == SegmentKind.REST and seg.set is not None:
            stopped_set, stopped_rep = seg.set + 1, 0
        else:  # intro, warm-up, get ready
            stopped_set, stopped_rep = 1, 0
    if completed:
        stopped_set = stopped_rep = None
        end = timeline.frames
    heard = _heard(end, jumps)
    moves = _rep_moves(timeline)
    sets = []
    for number in range(1, (stopped_set or preset.sets) + 1):
        spans = moves.get(number, [])
        played = sum(1 for start, finish in spans if any(a <= start and finish <= b for a, b in heard))
        if number == stopped_set and played == 0:
            break  # stopped before a rep of it was done
        sets.append(SetResult(number, preset.reps_per_set, played=None if played == len(spans) else played))
    stopped = None if stopped_set is None or stopped_rep is None else (stopped_set, stopped_rep)
    return _record(preset, started, stopped, tuple(sets), rule)


def with_counts(record: Workout, counts: Mapping[int, int | None]) -> Workout:
    """``record`` with the perfect reps said aloud for its sets (set number to count;
    None: "all", every rep it played), as ``voicecoach log`` records them. A set
    skipped, or one not in ``record``, takes none; a count out of range is dropped."""

    def said(s: SetResult) -> SetResult:
        count = counts.get(s.number, -1)
        if s.skipped or (count is not None and not 0 <= count <= MAX_REPS):
            return s
        return replace(s, perfect=s.reps_played if count is None else count)

    return replace(record, sets=tuple(map(said, record.sets)))


def _heard(end: int, jumps: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of the timeline played from the start, jump by jump, to ``end``."""
    heard, at = [], 0
    for src, dst in jumps:
        if src > at:
            heard.append((at, src))
        at = dst
    if end > at:
        heard.append((at, end))
    return heard


def _rep_moves(timeline: Timeline) -> dict[int, list[tuple[int, int]]]:
    """Per set, each rep's movement as ``(start, end)`` frames: from its first
    segment to the end of its last moving phase (the closing pause is rest)."""
    reps: dict[tuple[int, int], list[int]] = {}
    for seg in timeline.segments:
        if seg.kind in REP_KINDS and seg.set is not None and seg.rep is not None:
            span = reps.setdefault((seg.set, seg.rep), [seg.start, seg.start])
            if seg.kind in _DONE_WHEN:
                span[1] = seg.end
    out: dict[int, list[tuple[int, int]]] = {}
    for (set_, _), (start, finish) in sorted(reps.items()):
        out.setdefault(set_, []).append((start, finish))
    return out


def _record(
    preset: Preset,
    started: datetime,
    stopped: tuple[int, int] | None,
    sets: tuple[SetResult, ...],
    rule: str | None,
    planned: tuple[int, int] | None = None,
) -> Workout:
    """A new workout of ``preset``, stopped at ``(set, rep)`` or complete, planned
    as ``(sets, reps)`` (default: the preset's own)."""
    planned_sets, planned_reps = planned or (preset.sets, preset.reps_per_set)
    stopped_set, stopped_rep = stopped or (None, None)
    return Workout(
        id=None,
        preset=preset.name,
        exercise=preset.exercise,
        variation=preset.variation,
        tempo=str(preset.tempo) if preset.tempo else None,
        eccentric=preset.tempo.eccentric if preset.tempo else None,
        started=started,
        completed=stopped is None,
        stopped_set=stopped_set,
        stopped_rep=stopped_rep,
        planned_sets=planned_sets,
        planned_reps=planned_reps,
        sets=sets,
        rule=rule,
    )


def ask_perfect_reps(record: Workout, stdin: IO, out: IO, phrases: PhraseBook | None = None) -> list[int] | None:
    """Ask, set by set, how many reps were perfect, in the session's language; Enter accepts the
    count already said aloud, else the reps played. Skipped sets are not asked: they have none.

    Returns one number per set done, or None when the user gives up (end of
    input): the workout stays in the log, unlogged, for ``voicecoach log``.
    """
    answers = []
    book = phrases or default_phrases()
    print(book.text("log_ask"), file=out)
    for s in record.sets:
        if s.skipped:
            print(book.text("log_skipped", set=s.number, sets=record.planned_sets), file=out)
            continue
        shown = s.reps_played if s.perfect is None else s.perfect  # a count said aloud, else the reps played
        while True:
            out.write(book.text("log_prompt", set=s.number, sets=record.planned_sets, reps=shown) + " ")
            out.flush()
            line = stdin.readline()
            if not line:
                out.write("\n")
                return None
            text = line.strip()
            if not text:
                answers.append(shown)
                break
            try:
                answers.append(check_reps(text, s.number))
                break
            except InputError as exc:
                print(f"  {exc}", file=out)
    return answers


def check_reps(text: str, set_number: int) -> int:
    """One answer: a whole number of perfect reps from 0 to :data:`MAX_REPS`
    (more than planned is fine: they were done)."""
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"set {set_number}: {text!r} is not a number of reps") from None
    return check_perfect(set_number, value)


def log_numbers(words: Sequence[str]) -> list[int]:
    """``voicecoach log``'s numbers: perfect reps, one per set."""
    if not words:
        raise InputError("log: give the perfect reps of each set, e.g. 'voicecoach log 10 9 8'")
    return [check_reps(w, i) for i, w in enumerate(words, start=1)]


def check_log_day(day: date, now: datetime) -> None:
    """A workout can be logged from 1900 up to today."""
    if day > local_day(now):
        raise InputError(f"log: --date {day.isoformat()} is in the future")
    if day.year < FIRST_YEAR:  # dates that far back break time zones
        raise InputError(f"log: --date {day.isoformat()} is before {FIRST_YEAR}-01-01; give a day from then to today")


def log_moment(day: date, now: datetime) -> datetime:
    """When a workout logged for ``day`` took place: now if today, else noon."""
    if day == local_day(now):
        return now
    return datetime.combine(day, time(12, 0)).astimezone().astimezone(UTC)


def log_workout(
    history: History,
    spec: str,
    numbers: list[int],
    day: date,
    now: datetime,
    config_dir: Path | None,
    planned: int | None = None,
) -> tuple[Workout, bool]:
    """Record perfect reps for ``day`` (checked by the caller with
    :func:`check_log_day`): fill that day's unlogged workout of the preset if
    there is one with as many sets done, else add a workout. Returns it, and
    whether it was an existing one.

    The plan followed: ``next`` is the workout recommended for that day; a
    preset that is the recommendation is taken at the recommended sets and
    reps; any other at its own count, raised to the most reps logged.
    ``planned`` overrides the reps. More numbers than sets is an :class:`InputError`.
    """
    plan = recommend(history.workouts(), day, log_moment(day, now))
    preset = load_preset(plan.preset if spec == NEXT else spec, config_dir)
    if preset.name == plan.preset:
        sets, reps, rule = plan.sets, plan.reps, plan.rule
    else:
        sets, reps, rule = preset.sets, max([preset.reps_per_set, *numbers]), None
    if planned is not None:
        if not 1 <= planned <= MAX_REPS:
            raise InputError(f"log: --planned must be between 1 and {MAX_REPS}, got {planned}")
        reps = planned
    if len(numbers) > sets:
        raise InputError(
            f"log: {preset.name} has {sets} sets but {len(numbers)} numbers were given ({' '.join(map(str, numbers))})"
        )
    open_one = history.latest_unlogged(preset.name, day)
    if open_one is not None and open_one.id is not None and len(open_one.done_sets) == len(numbers):
        return history.set_perfect(open_one.id, numbers), True
    stopped = None if len(numbers) == sets else (len(numbers) + 1, 0)
    sets_done = tuple(SetResult(i, reps, n) for i, n in enumerate(numbers, 1))
    record = _record(preset, log_moment(day, now), stopped, sets_done, rule, (sets, reps))
    return replace(record, id=history.add(record)), False


def todays_recommendation(history: History, now: datetime, phrases: PhraseBook | None = None) -> Recommendation:
    return recommend(history.workouts(), local_day(now), now, phrases=phrases)


def spoken_plan(plan: Recommendation, phrases: PhraseBook | None = None) -> str:
    """Today's plan and why, in one short sentence for the intro, in the
    language of ``phrases``: "Three sets of eleven: one more than last time." """
    phrases = phrases or default_phrases()
    sets, reps = phrases.number(plan.sets), number_word(plan.reps, phrases.language)
    amount = phrases.variants("plan_amount", count=plan.sets, sets=sets, reps=reps)[0]
    return phrases.variants(f"plan_{plan.rule}", amount=amount)[0]
