"""Levels and the limiter: never over full scale, exact below the threshold, block-size free."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from voicecoach.audio.levels import Limiter
from voicecoach.audio.sounds import make_sounds
from voicecoach.common.decibels import gain
from voicecoach.errors import InputError
from voicecoach.plan.mix import LEVEL_RANGE_DB, Levels

F32 = np.float32
SR = 48000


# ------------------------------------------------------------------- Levels
def test_gain_and_level_defaults():
    assert gain(0) == 1.0 and gain(-20) == pytest.approx(0.1)
    assert gain(6) == pytest.approx(1.995, abs=1e-3)
    lv = Levels()
    assert (lv.voice_db, lv.tick_db, lv.music_db) == (0.0, 0.0, -6.0)
    assert (lv.voice, lv.tick) == (1.0, 1.0) and lv.music == pytest.approx(0.501, abs=1e-3)
    assert Levels(music_db=LEVEL_RANGE_DB[0]).music == pytest.approx(0.001)


@pytest.mark.parametrize("kwargs", [{"voice_db": 12.5}, {"tick_db": -61},
                                    {"music_db": float("nan")}, {"music_db": float("-inf")}])
def test_levels_out_of_range_are_input_errors_naming_the_level(kwargs):
    (name, value), = kwargs.items()
    with pytest.raises(InputError, match=f"level {name} must be between -60 and \\+12 dB"):
        Levels(**kwargs)


def test_levels_reject_non_numbers():
    with pytest.raises(TypeError):
        Levels(voice_db="loud")


# ------------------------------------------------------------------ Limiter
def limited(x: np.ndarray, limiter: Limiter | None = None) -> np.ndarray:
    y = np.array(x, dtype=F32, copy=True)
    (limiter or Limiter()).process(y)
    return y


def test_worst_case_music_voice_and_ticks_never_exceed_full_scale():
    """Full-scale music at +12 dB, the voice at +12 dB and every metronome sound
    at +12 dB, all at once, in stereo: the sum peaks near 7; nothing leaves
    the limiter above its ceiling."""
    rng = np.random.default_rng(0)
    n = SR
    lv = Levels(voice_db=12, tick_db=12, music_db=12)
    t = np.arange(n) / SR
    music = np.stack([np.sign(np.sin(2 * np.pi * 110 * t)),              # full-scale square
                      rng.uniform(-1, 1, n)], axis=1)                    # full-scale noise
    voice = 10 ** (-3 / 20) * np.sin(2 * np.pi * 180 * t) * np.sin(2 * np.pi * 3 * t)
    ticks = np.zeros(n)
    for at in range(0, n, 4800):
        for clip in make_sounds(SR).values():
            ticks[at:at + len(clip)] += clip[:n - at]
    mix = (lv.music * music + (lv.voice * voice + lv.tick * ticks)[:, None]).astype(F32)
    assert np.abs(mix).max() > 6
    lim = Limiter()
    out = mix.copy()
    for a in range(0, n, 441):                                            # the player's blocks
        lim.process(out[a:a + 441])
    assert np.abs(out).max() <= lim.ceiling <= 1.0
    assert lim.engaged > 0
    huge = limited(np.array([[1e30, -1e30], [np.inf, -np.inf], [3.0, -3.0]], F32))
    assert np.abs(huge).max() <= 1.0


def test_unity_below_the_threshold_bit_for_bit():
    lim = Limiter()
    x = np.random.default_rng(1).uniform(-1, 1, (4096, 2)).astype(F32) * lim.threshold
    x[0, 0], x[1, 1] = lim.threshold, -lim.threshold
    np.testing.assert_array_equal(limited(x, lim), x)
    assert lim.engaged == 0
    # and samples under the threshold stay exact even when others in the block are limited
    y = x.copy()
    y[100, 0] = 2.5
    z = limited(y, lim)
    keep = np.ones(y.shape, bool)
    keep[100, 0] = False
    np.testing.assert_array_equal(z[keep], x[keep])
    assert lim.threshold < z[100, 0] < lim.ceiling


@settings(max_examples=100, deadline=None)
@given(x=hnp.arrays(F32, st.tuples(st.integers(0, 300), st.sampled_from([1, 2])),
                    elements=st.floats(-8, 8, width=32)),
       cuts=st.lists(st.integers(0, 300), max_size=8))
def test_identical_output_for_any_block_split(x, cuts):
    whole = limited(x)
    lim = Limiter()
    out = x.copy()
    bounds = [0, *sorted(c for c in cuts if c <= len(x)), len(x)]
    for a, b in zip(bounds, bounds[1:]):
        lim.process(out[a:b])
    np.testing.assert_array_equal(out, whole)
    assert np.abs(whole).max(initial=0) <= 1.0


def test_curve_is_smooth_monotonic_and_odd():
    """No corner at the threshold (the slope is continuous), never decreasing,
    slope never above 1, symmetric: a peak crossing the knee does not click."""
    lim = Limiter()
    x = np.linspace(0, 4, 4001, dtype=np.float64).astype(F32)       # steps of 1e-3
    y = limited(x, lim)
    dy = np.diff(y.astype(np.float64)) / np.diff(x.astype(np.float64))
    assert np.all(dy >= 0) and dy.max() <= 1.0 + 1e-3
    assert np.abs(np.diff(dy)).max() < 0.02                  # no kink (a hard clip: 1.0)
    knee = int(np.searchsorted(x, lim.threshold))
    assert dy[knee - 5:knee + 5] == pytest.approx(1.0, abs=1e-2)
    np.testing.assert_array_equal(limited(-x, lim), -y)
    assert y[-1] < lim.ceiling and y[-1] > lim.ceiling - 1e-4


def test_process_allocates_nothing_at_a_steady_block_size():
    lim = Limiter()
    block = (np.random.default_rng(2).uniform(-3, 3, (2048, 2))).astype(F32)   # 16 kB
    lim.process(block.copy())
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(50):
            lim.process(block)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - base < 4096


def test_limiter_validates():
    with pytest.raises(ValueError):
        Limiter(threshold=1.0, ceiling=0.9)
    with pytest.raises(ValueError):
        Limiter(ceiling=1.5)
    with pytest.raises(TypeError):
        Limiter().process(np.zeros(4))
    with pytest.raises(ValueError):
        Limiter().process(np.zeros((4, 2), F32)[:, :1])
    Limiter().process(np.zeros((0, 2), F32))
    nan = limited(np.array([np.nan, 5.0, 0.5], F32))
    assert np.isnan(nan[0]) and nan[1] <= 1.0 and nan[2] == F32(0.5)


@pytest.mark.parametrize("threshold, ceiling", [(0.0, 0.5), (0.5, 0.5), (0.6, 0.5),
                                                (0.5, 1.0001), (-0.1, 0.5)])
def test_limiter_refuses_settings_that_could_not_limit(threshold, ceiling):
    with pytest.raises(ValueError):
        Limiter(threshold=threshold, ceiling=ceiling)


def test_limiter_may_reach_full_scale_and_limits_each_sign_alike():
    lim = Limiter(threshold=0.5, ceiling=1.0)
    x = np.array([[0.4, -0.4], [0.75, -0.75], [3.0, -3.0], [100.0, -100.0]], F32)
    lim.process(x)
    assert x[0].tolist() == [F32(0.4), F32(-0.4)]
    assert np.array_equal(x[:, 0], -x[:, 1])
    assert x[1, 0] == pytest.approx(0.5 + 0.5 * np.tanh(0.25 / 0.5), abs=1e-6)
    assert x[2, 0] == pytest.approx(0.5 + 0.5 * np.tanh(2.5 / 0.5), abs=1e-6)
    assert x[3, 0] <= 1.0 and x[3, 0] > 0.9999
    assert lim.engaged == 1
    lim.process(np.full((8, 1), 0.5, F32))          # at the threshold: transparent
    assert lim.engaged == 1
    with pytest.raises(TypeError):
        Limiter(threshold="0.5")
