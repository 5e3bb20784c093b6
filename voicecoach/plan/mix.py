"""The ``[mix]`` table of a preset: the level of each source and how music ducks.

Plain settings, checked on construction; the audio stage turns them into
gains and envelopes (:mod:`voicecoach.audio.levels`, :mod:`voicecoach.audio.ducking`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voicecoach.common.decibels import gain
from voicecoach.common.numbers import is_real
from voicecoach.errors import InputError

LEVEL_RANGE_DB = (-60.0, 12.0)
"""Allowed range of every level, in dB relative to the source as prepared."""


@dataclass(frozen=True)
class Levels:
    """Gain of each source in dB, relative to how it is prepared.

    ``voice_db`` scales the speech (normalised to -3 dBFS peak), ``tick_db``
    the metronome (tick, accent, bell), ``music_db`` the user's music (as
    decoded). Each lies in :data:`LEVEL_RANGE_DB`, or it is an
    :class:`InputError`: levels come from presets and options.
    """

    voice_db: float = 0.0
    tick_db: float = 0.0
    music_db: float = -6.0

    def __post_init__(self) -> None:
        lo, hi = LEVEL_RANGE_DB
        for name in ("voice_db", "tick_db", "music_db"):
            _check("level", name, getattr(self, name), lo, hi, f"{hi:+g} dB")

    @property  # the linear gains
    def voice(self) -> float:
        return gain(self.voice_db)

    @property
    def tick(self) -> float:
        return gain(self.tick_db)

    @property
    def music(self) -> float:
        return gain(self.music_db)


MAX_DEPTH_DB = 60.0
MAX_ATTACK = 2.0
MAX_RELEASE = 5.0


@dataclass(frozen=True)
class Duck:
    """How far and how fast the music ducks under the voice: ``depth_db``
    down while it speaks (0 turns ducking off), over ``attack`` seconds before
    it starts, back over ``release`` seconds after it ends. A value out of
    range is an :class:`InputError`: these come from presets and options.
    """

    depth_db: float = 12.0
    attack: float = 0.15
    release: float = 0.4

    def __post_init__(self) -> None:
        for name, hi, unit in (
            ("depth_db", MAX_DEPTH_DB, " dB"),
            ("attack", MAX_ATTACK, " s"),
            ("release", MAX_RELEASE, " s"),
        ):
            _check("duck", name, getattr(self, name), 0.0, hi, f"{hi:g}{unit}")

    @property
    def gain(self) -> float:
        """Linear gain of the music while the voice speaks."""
        return gain(-self.depth_db)


def _check(what: str, name: str, value: Any, lo: float, hi: float, shown_hi: str) -> None:
    """A level or duck setting: a number (``TypeError``) within ``[lo, hi]`` (``InputError``)."""
    if not is_real(value):
        raise TypeError(f"{what} {name} must be a number, not {type(value).__name__}")
    if not lo <= value <= hi:  # also rejects NaN
        raise InputError(f"{what} {name} must be between {lo:g} and {shown_hi}, not {value:g}")
