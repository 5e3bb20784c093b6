"""Levels and the true-peak limiter: under the ceiling, never a clipper, block-size free, no delay."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from true_peak import true_peak

from voicecoach.audio.levels import CHUNK, TruePeakLimiter
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
CEIL = gain(-1.5)


def run_limiter(x: np.ndarray, sizes, limiter: TruePeakLimiter | None = None):
    """``x`` (n, ch) through a limiter in blocks of ``sizes`` (cycled); the
    output and the gain of every frame."""
    lim = limiter or TruePeakLimiter(x.shape[1])
    pos = [0]

    def pull(view):
        a = pos[0]
        part = x[a:a + len(view)]
        view[:len(part)] = part
        view[len(part):] = 0.0
        pos[0] += len(view)
    out = np.zeros_like(x)
    gains = []
    i = k = 0
    while i < len(x):
        n = min(sizes[k % len(sizes)], len(x) - i)
        lim.run(pull, out[i:i + n])
        gains.append(lim.gain.copy())
        i, k = i + n, k + 1
    return out, np.concatenate(gains)


def loud_music(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    """Bass, a snare-like noise burst every half second and a 7 kHz tone, stereo."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.6 * np.sin(2 * np.pi * 55 * t) + 0.3 * np.sin(2 * np.pi * 7000 * t)
    x += rng.standard_normal(len(t)) * 0.4 * (np.mod(t, 0.5) < 0.05)
    return (level * np.stack([x, np.roll(x, 37)], axis=1)).astype(F32)


def test_true_peaks_stay_under_the_ceiling_whatever_the_input_level():
    for level in (0.5, 2.0, 8.0):
        y, g = run_limiter(loud_music(3, level), [4096])
        assert true_peak(y) <= CEIL * 1.0001, level
        assert g.min() > 0


def test_never_a_clipper_the_output_is_the_input_times_a_smooth_gain():
    x = loud_music(3, 4.0)
    y, g = run_limiter(x, [4096])
    np.testing.assert_allclose(y, x * g[:, None], rtol=1e-6, atol=1e-7)
    assert np.all((g > 0) & (g <= 1))
    assert np.max(np.abs(np.diff(g))) <= 1.0 / (4 * CHUNK)   # glides over chunks, never jumps
    assert np.sum(np.abs(y) >= CEIL * 0.999) < 0.001 * y.size  # no flat tops


def test_quiet_input_passes_bit_for_bit_and_nothing_is_delayed():
    x = loud_music(2, 0.3)
    y, g = run_limiter(x, [1000])
    assert np.array_equal(y, x) and np.all(g == 1.0)
    click = np.zeros((SR, 1), F32)
    click[12345] = 0.5
    y, _ = run_limiter(click, [512])
    assert int(np.argmax(np.abs(y))) == 12345


def test_the_gain_comes_down_before_a_peak_not_after():
    x = np.full((SR, 1), 0.1, F32)
    x[30000:30010] = 0.99
    y, g = run_limiter(x, [2048])
    assert g[29990] < 1.0 and np.max(np.abs(y[30000:30010])) <= CEIL


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=6))
def test_any_block_sizes_give_the_same_samples(sizes):
    x = loud_music(1.5, 3.0, seed=3)
    ref, gref = run_limiter(x, [65536])
    got, g = run_limiter(x, sizes)
    assert np.array_equal(ref, got) and np.array_equal(gref, g)


def test_steady_block_size_allocates_little():
    lim = TruePeakLimiter(2)
    x = loud_music(1, 3.0)
    run_limiter(x, [1024], lim)
    tracemalloc.start()
    run_limiter(x, [1024], lim)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * len(x) * 2 * 4


def test_bad_ceiling_is_refused():
    with pytest.raises(ValueError, match="ceiling"):
        TruePeakLimiter(1, ceiling=1.5)


def test_one_frame_at_a_time_gives_the_same_samples():
    """A device may ask for a single frame: the limiter still reads exactly
    the frames it needs ahead."""
    x = loud_music(0.1, 3.0)
    whole, _ = run_limiter(x, [len(x)])
    ones, _ = run_limiter(x, [1, 1, 2, 1, 63, 1])
    np.testing.assert_array_equal(ones, whole)


def test_the_meter_sees_the_overshoot_past_the_last_and_before_the_first_sample():
    """A render that ends on a loud sample overshoots as it drops into the
    silence after it: the meter must count that value, as it would for the
    same samples followed by silence, or a hot ending passes unchecked."""
    x = np.array([0.0, 0.0, 0.3, -0.6, 1.0])
    padded = np.concatenate([x, np.zeros(20)])
    assert true_peak(x) == pytest.approx(true_peak(padded), abs=1e-12)
    assert true_peak(x) > 1.02                    # above every sample
    assert true_peak(x[::-1]) == pytest.approx(true_peak(padded[::-1]), abs=1e-12)
    assert true_peak(np.stack([0.5 * x, x], axis=1)) == pytest.approx(true_peak(x), abs=1e-12)


@pytest.mark.parametrize("tail", [1, 17, CHUNK - 1])
@pytest.mark.parametrize("sizes", [[CHUNK], [3 * CHUNK + 1], [CHUNK + 1, CHUNK - 1], [10_000]])
def test_a_final_partial_chunk_is_limited_like_any_other(tail, sizes):
    """A render rarely ends on a chunk boundary: a loud hit in its last few
    frames, or just after a block's end, must still be brought under the
    ceiling, by a gain that came down ahead of it, whatever the blocks."""
    n = 40 * CHUNK + tail
    x = np.full((n, 2), 0.2, F32)
    x[n - tail:] = 0.99 * np.sign(np.sin(np.arange(tail) + 0.5))[:, None]   # hot to the last frame
    x[20 * CHUNK + 1, :] = 0.98                                             # one past a block end
    ref, gref = run_limiter(x, [n])
    y, g = run_limiter(x, sizes)
    assert len(g) == n
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(g, gref)
    np.testing.assert_allclose(y, x * g[:, None], rtol=1e-6, atol=1e-7)
    assert true_peak(y) <= CEIL * 1.0001
    assert g[n - tail - 1] < 1.0 and g[20 * CHUNK] < 1.0        # came down before the hits
    assert np.all(g[: 10 * CHUNK] == 1.0)                        # untouched far from them


@pytest.mark.parametrize("size", [1, 63, 64, 65, 1000, 1024])
def test_it_never_reads_more_than_its_delay_ahead(size):
    """What the limiter reads ahead is how late a pause or skip is heard in
    live play: always enough for the look-ahead, never more than ``delay``."""
    lim = TruePeakLimiter(1)
    pulled = [0]

    def pull(view):
        view[:] = 0.1
        pulled[0] += len(view)
    out = 0
    for _ in range(50):
        lim.run(pull, np.zeros((size, 1), F32))
        out += size
        assert lim.delay - CHUNK <= pulled[0] - out <= lim.delay, out


def test_the_meter_reads_a_signal_and_its_reversal_alike():
    """Band-limited interpolation has no direction: the 1/4 and 3/4 phases are
    mirror images, so a hit and its time-reversal measure the same true peak."""
    from voicecoach.audio.levels import INTERPOLATOR
    np.testing.assert_allclose(INTERPOLATOR[2], INTERPOLATOR[0][::-1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(INTERPOLATOR[1], INTERPOLATOR[1][::-1], rtol=0, atol=1e-15)
    rng = np.random.default_rng(7)
    for _ in range(20):
        x = rng.uniform(-1.0, 1.0, 16)
        assert true_peak(x) == pytest.approx(true_peak(x[::-1]), rel=0, abs=1e-12)


def test_an_empty_block_reads_nothing_ahead_and_has_no_gain():
    pulled = []
    lim = TruePeakLimiter(1)
    lim.run(lambda view: pulled.append(len(view)), np.zeros((0, 1), np.float32))
    assert pulled == [] and lim.gain.shape == (0,)
    lim.run(lambda view: pulled.append(len(view)), np.zeros((64, 1), np.float32))
    assert pulled and len(lim.gain) == 64                       # a real block does read ahead
