"""Metronome sounds: tick, accent (a phase starts) and bell (a set ends).

Synthesised, not sampled, so they exist at any sample rate without
resampling and are identical on every machine. Each is windowed (raised
cosine) so it starts and ends at zero: no clicks. Peak levels sit well under
the voice (normalised to a -3 dBFS peak in :mod:`voicecoach.cues`) so that
the counts stay intelligible over the metronome:

=======  ========  =============================  ==========
sound    length    character                      peak
=======  ========  =============================  ==========
tick     40 ms     1.6 kHz woodblock-like ping    -18 dBFS
accent   50 ms     2.4 kHz + 3.6 kHz, brighter    -12 dBFS
bell     1.5 s     inharmonic partials, decaying  -12 dBFS
=======  ========  =============================  ==========
"""

from __future__ import annotations

import numpy as np

from voicecoach.common.decibels import gain
from voicecoach.common.fades import fade_in, fade_out
from voicecoach.plan.kinds import EventKind
from voicecoach.plan.metronome import SOUND_SECONDS, sound_frames

PEAK_DBFS: dict[str, float] = {EventKind.TICK: -18.0, EventKind.ACCENT: -12.0, EventKind.BELL: -12.0}


def _partials(n: int, samplerate: int, freqs: list[float], amps: list[float], decay: float) -> np.ndarray:
    """Decaying partials, float64 ``(n,)``: phases in float64 reduced to one
    turn, sines in float32 (far quicker, and every start renders the bell;
    the error is a hundred times below a 16-bit step)."""
    frame = np.arange(n, dtype=np.float64)
    sig = np.zeros(n)
    for f, a in zip(freqs, amps, strict=True):
        turns = frame * (f / samplerate)
        turns -= np.floor(turns)
        sig += a * np.sin((2 * np.pi * turns).astype(np.float32))
    sig *= np.exp((frame * (-1.0 / (samplerate * decay))).astype(np.float32))
    return sig


def make_sound(kind: str, samplerate: int) -> np.ndarray:
    """Synthesise ``kind``: float32, shape ``(sound_frames(kind, samplerate),)``,
    first and last sample 0."""
    if kind not in SOUND_SECONDS:
        raise ValueError(f"unknown sound {kind!r}; expected one of {sorted(SOUND_SECONDS)}")
    n = sound_frames(kind, samplerate)
    attack = max(1, round(0.002 * samplerate))
    if kind == EventKind.TICK:
        sig = _partials(n, samplerate, [1600.0, 3200.0], [1.0, 0.3], 0.012)
    elif kind == EventKind.ACCENT:
        sig = _partials(n, samplerate, [2400.0, 3600.0], [1.0, 0.6], 0.018)
    else:
        attack = max(1, round(0.005 * samplerate))
        sig = _partials(
            n, samplerate, [660.0, 1320.0 * 1.01, 1980.0 * 0.99, 2640.0 * 1.02], [1.0, 0.5, 0.3, 0.15], 0.45
        )
    env = np.ones(n)
    env[:attack] = fade_in(attack)
    tail = max(2, n // 4)
    env[n - tail :] *= fade_out(tail)
    sig = sig * env
    return (sig * (gain(PEAK_DBFS[kind]) / float(np.max(np.abs(sig))))).astype(np.float32)


def make_sounds(samplerate: int) -> dict[str, np.ndarray]:
    """All three sounds at ``samplerate``, keyed by event kind."""
    return {kind: make_sound(kind, samplerate) for kind in SOUND_SECONDS}
