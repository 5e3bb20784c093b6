"""The built-in metronome sounds against their formula in float64."""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.audio.sounds import PEAK_DBFS, make_sound
from voicecoach.common.fades import fade_in, fade_out
from voicecoach.plan.kinds import EventKind
from voicecoach.plan.metronome import sound_frames

PARTIALS = {  # kind: (freqs, amps, decay, attack seconds), as the module's table says
    EventKind.TICK: ([1600.0, 3200.0], [1.0, 0.3], 0.012, 0.002),
    EventKind.ACCENT: ([2400.0, 3600.0], [1.0, 0.6], 0.018, 0.002),
    EventKind.BELL: ([660.0, 1320.0 * 1.01, 1980.0 * 0.99, 2640.0 * 1.02],
                     [1.0, 0.5, 0.3, 0.15], 0.45, 0.005),
}


def formula(kind: EventKind, samplerate: int) -> np.ndarray:
    freqs, amps, decay, attack = PARTIALS[kind]
    n = sound_frames(kind, samplerate)
    t = np.arange(n) / samplerate
    sig = sum(a * np.sin(2 * np.pi * f * t) for f, a in zip(freqs, amps)) * np.exp(-t / decay)
    env = np.ones(n)
    a = max(1, round(attack * samplerate))
    env[:a] = fade_in(a)
    tail = max(2, n // 4)
    env[n - tail:] *= fade_out(tail)
    sig = sig * env
    return sig * (10 ** (PEAK_DBFS[kind] / 20) / np.abs(sig).max())


@pytest.mark.parametrize("samplerate", [8000, 44100, 48000, 192000])
@pytest.mark.parametrize("kind", list(PARTIALS))
def test_each_sound_is_its_formula_within_a_hundredth_of_a_16_bit_step(kind, samplerate):
    # the sines are taken in float32 of a phase reduced to one turn: without
    # the reduction a 1.5 s bell's phase reaches 25,000 radians, where float32
    # is off by a few thousandths
    got = make_sound(kind, samplerate)
    assert got.dtype == np.float32 and got[0] == 0 and got[-1] == 0
    assert np.abs(got - formula(kind, samplerate)).max() < 0.01 / 32768
