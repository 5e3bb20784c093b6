"""The metronome as the plan sees it: its sounds' names and lengths.

The plan needs only how long each sound lasts (to keep speech clear of it);
synthesising them is :mod:`voicecoach.audio.sounds`.
"""

from __future__ import annotations

from voicecoach.plan.kinds import EventKind

SOUND_SECONDS: dict[str, float] = {EventKind.TICK: 0.040, EventKind.ACCENT: 0.050, EventKind.BELL: 1.5}
"""Length of each metronome sound, by event kind."""

SHIPPED_SOUNDS: tuple[str, ...] = ("woodblock", "clave", "chime")
"""Alternative sounds in ``audio_cues/sounds/``, by name (``NAME.wav``): a
preset's ``[sounds]`` table can use them."""


def sound_frames(kind: str, samplerate: int) -> int:
    """Length in frames of the sound ``kind`` at ``samplerate``."""
    return round(SOUND_SECONDS[kind] * samplerate)
