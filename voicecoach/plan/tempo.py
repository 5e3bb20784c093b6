"""Lifting tempo notation: eccentric, bottom pause, concentric, top pause.

``3-1-2-1`` means a 3 s lowering, 1 s pause at the bottom, 2 s lift, 1 s
pause at the top. Accepted spellings: ``3-1-2-1``, ``3/1/2/1`` and the
compact ``3121`` (one digit per phase). ``X`` (explosive) stands for a short
fixed time, :data:`EXPLOSIVE_SECONDS`. Fractions such as ``3.5`` need a
separator, since ``3.5121`` would be ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voicecoach.common.numbers import is_real
from voicecoach.errors import TempoError
from voicecoach.plan.kinds import MOVING_KINDS, SegmentKind

EXPLOSIVE_SECONDS = 1.0
MAX_PHASE_SECONDS = 60.0
MIN_PHASE_SECONDS = 0.1
"""A phase that is not 0 lasts at least this: shorter ones round to no frames
at all (a session of "reps" with nothing in them)."""
PHASES = (SegmentKind.ECCENTRIC, SegmentKind.BOTTOM, SegmentKind.CONCENTRIC, SegmentKind.TOP)

_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+|[xX])"
_SEPARATED = re.compile(rf"^\s*({_NUMBER})\s*([-/])\s*({_NUMBER})\s*\2\s*({_NUMBER})\s*\2\s*({_NUMBER})\s*$")
_COMPACT = re.compile(r"^\s*([0-9xX])([0-9xX])([0-9xX])([0-9xX])\s*$")


@dataclass(frozen=True)
class Tempo:
    """Seconds of each phase of a rep, in notation order."""

    eccentric: float
    bottom: float
    concentric: float
    top: float

    def __post_init__(self) -> None:
        for name in PHASES:
            value = getattr(self, name)
            if not is_real(value):
                raise TypeError(f"tempo {name} must be a number of seconds, got {value!r}")
            if not 0 <= value <= MAX_PHASE_SECONDS:
                raise TempoError(f"tempo {name} must be between 0 and {MAX_PHASE_SECONDS:g} seconds, got {value:g}")
        for name in MOVING_KINDS:
            if getattr(self, name) <= 0:
                raise TempoError(f"tempo {name} must be longer than 0 seconds: a rep needs movement")
        for name in PHASES:
            if 0 < (value := getattr(self, name)) < MIN_PHASE_SECONDS:
                raise TempoError(f"tempo {name} must be 0 or at least {MIN_PHASE_SECONDS:g} seconds, got {value:g}")

    @property
    def seconds(self) -> float:
        """Length of one rep."""
        return self.eccentric + self.bottom + self.concentric + self.top

    def phase_seconds(self, phase: SegmentKind) -> float:
        return float(getattr(self, phase))

    def __str__(self) -> str:
        return "-".join(f"{getattr(self, p):g}" for p in PHASES)


def parse_tempo(text: str) -> Tempo:
    """Parse lifting tempo notation into a :class:`Tempo`: a :class:`TempoError`
    when it does not parse or a phase is impossible (negative, over a minute,
    no movement at all)."""
    if not isinstance(text, str):
        raise TypeError(f"tempo must be a string like '3-1-2-1', got {type(text).__name__}")
    match = _SEPARATED.match(text) or _COMPACT.match(text)
    if match is None:
        raise TempoError(
            f"tempo {text!r} does not parse: write eccentric-bottom-concentric-top, "
            "e.g. '3-1-2-1', '3/1/2/1' or '3121' (X = explosive)"
        )
    groups = [g for g in match.groups() if g not in ("-", "/")]
    return Tempo(*(EXPLOSIVE_SECONDS if g in ("x", "X") else float(g) for g in groups))
