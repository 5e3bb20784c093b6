"""The names the timeline, the preset and the player agree on, as enums.

Each is a :class:`~enum.StrEnum`: it compares equal to, and serialises as, its
value, so the timeline JSON and the preset files keep their plain strings
while the code passes and compares typed kinds.
"""

from __future__ import annotations

from enum import StrEnum


class SegmentKind(StrEnum):
    """What a stretch of the session is for."""

    INTRO = "intro"
    WARMUP = "warmup"
    GET_READY = "get_ready"
    CONCENTRIC = "concentric"
    TOP = "top"
    ECCENTRIC = "eccentric"
    BOTTOM = "bottom"
    HOLD = "hold"
    REST = "rest"
    OUTRO = "outro"


class EventKind(StrEnum):
    """What is heard at an event: the voice or one of the metronome's sounds."""

    SPEECH = "speech"
    TICK = "tick"
    ACCENT = "accent"
    BELL = "bell"


class Side(StrEnum):
    """How a preset works two sides: not at all, rep by rep, or one then the other."""

    NONE = "none"
    ALTERNATE = "alternate"
    EACH = "each"


REP_KINDS: frozenset[SegmentKind] = frozenset(
    {SegmentKind.CONCENTRIC, SegmentKind.TOP, SegmentKind.ECCENTRIC, SegmentKind.BOTTOM, SegmentKind.HOLD}
)
"""The segments of a rep: the movement and its pauses, or an isometric hold."""

MOVING_KINDS: tuple[SegmentKind, ...] = (SegmentKind.ECCENTRIC, SegmentKind.CONCENTRIC)
"""The phases that move (and can be counted aloud); the others are pauses."""

COUNT_IN = 3
"""Seconds counted down (``Three, two, one``) before every set and after a pause."""


class EngineKind(StrEnum):
    """Which speech engine a preset's ``[speech] engine`` and ``--engine`` ask for."""

    AUTO = "auto"  # piper when a neural voice is installed, else pyttsx3
    PIPER = "piper"  # neural (optional dependency group ``neural``)
    PYTTSX3 = "pyttsx3"  # espeak-ng on Linux, SAPI5 / NSSS elsewhere; always there
