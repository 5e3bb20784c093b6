"""The coaching program at the command line: where the log lives, what a
played session records, asking for perfect reps, and today's workout.

Glue between :mod:`voicecoach.training.store` (storage), :mod:`voicecoach.training.progression`
(the rules) and the CLI; every function takes what it needs (paths, clock,
streams) so the CLI stays thin and tests run it in-process.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import IO, Sequence

from voicecoach.errors import InputError
from voicecoach.plan.kinds import REP_KINDS, SegmentKind
from voicecoach.plan.preset import Preset
from voicecoach.plan.preset_files import load_preset
from voicecoach.plan.timeline import Timeline
from voicecoach.training.progression import Recommendation, recommend
from voicecoach.training.records import SetResult, Workout
from voicecoach.training.store import History


def history_path(data_dir: Path) -> Path:
    return Path(data_dir) / "history.db"


def open_history(data_dir: Path, now: datetime, warn: IO) -> History:
    """The training log; a damaged one is set aside with a note on ``warn``."""
    history, notice = History.open(history_path(data_dir), now=now)
    if notice:
        print(f"voicecoach: {notice}", file=warn)
    return history


def local_day(moment: datetime) -> date:
    """The calendar day of ``moment`` where the user is."""
    return moment.astimezone().date()


def played_record(preset: Preset, timeline: Timeline, position: int, completed: bool,
                  started: datetime) -> Workout:
    """What a played (or stopped) session goes into the log as.

    Only sets played to the end are recorded; a stopped session says which
    set and rep were under way (rep 0: before the set began).
    """
    stopped_set = stopped_rep = None
    done = preset.sets
    if not completed:
        seg = timeline.segment_at(min(position, timeline.frames - 1))
        if seg.kind == SegmentKind.OUTRO:
            completed = True
        elif seg.kind in REP_KINDS:
            done, stopped_set, stopped_rep = seg.set - 1, seg.set, seg.rep
        elif seg.kind == SegmentKind.REST:
            done, stopped_set, stopped_rep = seg.set, seg.set + 1, 0
        else:                                    # intro, warm-up, get ready
            done, stopped_set, stopped_rep = 0, 1, 0
    if completed:
        stopped_set = stopped_rep = None
        done = preset.sets
    return _record(preset, started, stopped_set, stopped_rep,
                   tuple(SetResult(i, preset.reps_per_set) for i in range(1, done + 1)))


def _record(preset: Preset, started: datetime, stopped_set: int | None, stopped_rep: int | None,
            sets: tuple[SetResult, ...]) -> Workout:
    return Workout(
        id=None, preset=preset.name, exercise=preset.exercise, variation=preset.variation,
        tempo=str(preset.tempo) if preset.tempo else None,
        eccentric=preset.tempo.eccentric if preset.tempo else None,
        started=started, completed=stopped_set is None, stopped_set=stopped_set,
        stopped_rep=stopped_rep, planned_sets=preset.sets, planned_reps=preset.reps_per_set,
        sets=sets)


def ask_perfect_reps(record: Workout, stdin: IO, out: IO) -> list[int] | None:
    """Ask, set by set, how many reps were perfect; Enter accepts the plan.

    Returns None when the user gives up (end of input): the workout stays
    in the log, unlogged, for ``voicecoach log`` later.
    """
    answers = []
    print("Only perfect reps count: back flat, slow descent. Enter accepts the number shown.",
          file=out)
    for s in record.sets:
        while True:
            out.write(f"Set {s.number} of {record.planned_sets}: perfect reps [{s.planned}]: ")
            out.flush()
            line = stdin.readline()
            if not line:
                out.write("\n")
                return None
            text = line.strip()
            if not text:
                answers.append(s.planned)
                break
            try:
                answers.append(check_reps(text, s.number, s.planned))
                break
            except InputError as exc:
                print(f"  {exc}", file=out)
    return answers


def check_reps(text: str, set_number: int, planned: int) -> int:
    """One answer: a whole number from 0 to the reps planned for the set."""
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"set {set_number}: {text!r} is not a number of reps") from None
    if not 0 <= value <= planned:
        raise InputError(f"set {set_number}: {value} perfect reps is not between 0 and "
                         f"the {planned} planned")
    return value


def log_numbers(preset: Preset, words: Sequence[str]) -> list[int]:
    """``voicecoach log``'s numbers: one per set, at most one per planned set."""
    if not words:
        raise InputError("log: give the perfect reps of each set, e.g. 'voicecoach log 10 9 8'")
    if len(words) > preset.sets:
        raise InputError(f"log: {preset.name} has {preset.sets} sets but {len(words)} numbers "
                         f"were given ({' '.join(words)})")
    return [check_reps(w, i, preset.reps_per_set) for i, w in enumerate(words, start=1)]


def log_workout(history: History, preset: Preset, numbers: list[int], day: date,
                now: datetime) -> tuple[Workout, bool]:
    """Record perfect reps for ``day``: fill that day's unlogged workout of
    the preset if there is one, else add a workout. Returns it, and whether
    it was an existing one."""
    if day > local_day(now):
        raise InputError(f"log: --date {day.isoformat()} is in the future")
    open_one = history.latest_unlogged(preset.name, day)
    if open_one is not None and len(open_one.sets) == len(numbers):
        return history.set_perfect(open_one.id, numbers), True
    started = now if day == local_day(now) else \
        datetime.combine(day, time(12, 0)).astimezone().astimezone(timezone.utc)
    complete = len(numbers) == preset.sets
    record = _record(preset, started, None if complete else len(numbers) + 1, None if complete else 0,
                     tuple(SetResult(i, preset.reps_per_set, n) for i, n in enumerate(numbers, 1)))
    return history.get(history.add(record)), False


def todays_recommendation(history: History, now: datetime) -> Recommendation:
    return recommend(history.workouts(), local_day(now), now)


def recommended_preset(recommendation: Recommendation, config_dir: Path | None) -> Preset:
    """The preset a recommendation names, with its sets and reps."""
    return load_preset(recommendation.preset, config_dir).with_overrides(
        sets=recommendation.sets, reps=recommendation.reps)
