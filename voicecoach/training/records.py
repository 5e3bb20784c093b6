"""What the training log holds: one workout as played and its sets.

Validated on construction, so a record that exists is one the log can store
and the progression can trust, whoever built it (the player, ``voicecoach
log``, a row read back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from voicecoach.common.numbers import is_int, is_real
from voicecoach.errors import InputError


def _check_int(name: str, value: int, low: int) -> None:
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")


def check_aware(name: str, value: object) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {value!r}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive {value.isoformat()}")


MAX_REPS = 200  # the most reps a preset plans per set; a log may hold as many perfect ones


def check_perfect(set_number: int, value: int) -> int:
    """A user's count of perfect reps in a set: 0 to :data:`MAX_REPS` (more
    than planned is fine: they were done)."""
    if value < 0:
        raise InputError(f"set {set_number}: perfect reps cannot be negative, got {value}")
    if value > MAX_REPS:
        raise InputError(f"set {set_number}: {value} perfect reps is more than {MAX_REPS}, the most a set can have")
    return value


@dataclass(frozen=True)
class SetResult:
    """One set: reps planned, reps played (None: all of them; 0: the set was
    skipped), and the perfect ones once the user logs them (None until then:
    0 is a real answer). Perfect reps may exceed the plan: a user who did
    more than planned keeps them."""

    number: int
    planned: int
    perfect: int | None = None
    played: int | None = None

    def __post_init__(self) -> None:
        _check_int("set number", self.number, 1)
        _check_int(f"set {self.number} planned reps", self.planned, 1)
        if self.played is not None:
            _check_int(f"set {self.number} reps played", self.played, 0)
            if self.played > self.planned:
                raise ValueError(
                    f"set {self.number}: {self.played} reps played is more than the {self.planned} planned"
                )
        if self.perfect is not None:
            _check_int(f"set {self.number} perfect reps", self.perfect, 0)
            if self.perfect > MAX_REPS:
                raise ValueError(f"set {self.number}: {self.perfect} perfect reps is more than {MAX_REPS}")
            if self.skipped:
                raise ValueError(f"set {self.number} was skipped, so it has no perfect reps")

    @property
    def skipped(self) -> bool:
        """Skipped in the player: not one rep of it was played."""
        return self.played == 0

    @property
    def reps_played(self) -> int:
        return self.planned if self.played is None else self.played

    @property
    def cut_short(self) -> bool:
        """Left early (or stopped in): some of its reps, not all, were played."""
        return self.played is not None and 0 < self.played < self.planned


@dataclass(frozen=True)
class Workout:
    """One workout as played. ``id`` is None until :meth:`History.add`
    stores it. A stopped workout says where it ended (``stopped_set``,
    ``stopped_rep``: the set and rep in progress, 1-based; rep 0 means
    before the first rep of that set); a completed one has both None.
    ``sets`` are numbered 1, 2, ... and may be fewer than planned."""

    id: int | None
    preset: str
    exercise: str
    variation: str
    tempo: str | None
    eccentric: float | None
    started: datetime
    completed: bool
    stopped_set: int | None
    stopped_rep: int | None
    planned_sets: int
    planned_reps: int
    sets: tuple[SetResult, ...]
    rule: str | None = None  # the progression rule that chose this session, if it did

    def __post_init__(self) -> None:
        if self.id is not None:
            _check_int("workout id", self.id, 1)
        for name in ("preset", "exercise", "variation"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string, got {getattr(self, name)!r}")
        if not self.preset:
            raise ValueError("preset must not be empty")
        if self.tempo is not None and not isinstance(self.tempo, str):
            raise TypeError(f"tempo must be a string like '3-1-2-1' or None, got {self.tempo!r}")
        if self.eccentric is not None:
            if not is_real(self.eccentric):
                raise TypeError(f"eccentric must be seconds or None, got {self.eccentric!r}")
            if not 0 <= self.eccentric < float("inf"):
                raise ValueError(f"eccentric must be 0 seconds or more, got {self.eccentric!r}")
        check_aware("started", self.started)
        if not isinstance(self.completed, bool):
            raise TypeError(f"completed must be a bool, got {self.completed!r}")
        _check_int("planned sets", self.planned_sets, 1)
        _check_int("planned reps", self.planned_reps, 1)
        if self.completed:
            if self.stopped_set is not None or self.stopped_rep is not None:
                raise ValueError("a completed workout has no stopped_set or stopped_rep")
        else:
            if self.stopped_set is None or self.stopped_rep is None:
                raise ValueError("a stopped workout needs stopped_set and stopped_rep")
            _check_int("stopped_set", self.stopped_set, 1)
            _check_int("stopped_rep", self.stopped_rep, 0)
            if self.stopped_set > self.planned_sets:
                raise ValueError(f"stopped_set {self.stopped_set} is beyond the {self.planned_sets} planned sets")
        if not isinstance(self.sets, tuple) or not all(isinstance(s, SetResult) for s in self.sets):
            raise TypeError(f"sets must be a tuple of SetResult, got {self.sets!r}")
        if [s.number for s in self.sets] != list(range(1, len(self.sets) + 1)):
            raise ValueError(f"sets must be numbered 1, 2, ... in order, got {[s.number for s in self.sets]}")
        if len(self.sets) > self.planned_sets:
            raise ValueError(f"{len(self.sets)} sets recorded but only {self.planned_sets} planned")
        if self.rule is not None and (not isinstance(self.rule, str) or not self.rule):
            raise TypeError(f"rule must be a rule's name or None, got {self.rule!r}")

    @property
    def done_sets(self) -> tuple[SetResult, ...]:
        """The sets not skipped: the ones that have perfect reps to log."""
        return tuple(s for s in self.sets if not s.skipped)

    @property
    def perfect_total(self) -> int | None:
        """Perfect reps of the whole workout, or None unless every set done
        has them recorded (a partial sum would read as a bad day)."""
        done = self.done_sets
        if not done or any(s.perfect is None for s in done):
            return None
        return sum(s.perfect or 0 for s in done)

    @property
    def unlogged(self) -> bool:
        """True when no set has its perfect reps recorded yet."""
        return all(s.perfect is None for s in self.sets)
