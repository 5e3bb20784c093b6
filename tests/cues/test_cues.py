"""Tests for voicecoach.cues: DSP on exact tiny arrays, the cache, the bank
with a fake engine, and the real engine (espeak-ng through pyttsx3).

No wall-clock assertions: this must pass on a slow, busy machine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.cues import bank as cue_bank_module
from voicecoach.cues import cache as cue_cache_module
from voicecoach.cues.bank import CueBank
from voicecoach.cues.cache import CueCache, cue_key
from voicecoach.cues.dsp import (
    FADE_OUT_S,
    PEAK_DBFS,
    PREROLL_S,
    TAIL_S,
    TARGET_RMS_DBFS,
    SilenceError,
    gated_rms,
    normalise,
    process,
    resample,
    trim,
)
from voicecoach.cues.engine import ENGINE_TIMEOUT_S, SpeechEngine
from voicecoach.cues.identity import engine_identity
from voicecoach.cues.settings import SpeechSettings, Voice
from voicecoach.errors import InputError, SpeechEngineError

SR = 16_000


def db(x: float) -> float:
    return 20.0 * np.log10(x)


def burst(n_before: int, n_burst: int, n_after: int, amp: float = 0.5,
          freq: float = 440.0, sr: int = SR, dtype=np.float32) -> np.ndarray:
    """Zeros, a sine burst (phase 0 at its first sample), zeros."""
    t = np.arange(n_burst) / sr
    sig = amp * np.sin(2 * np.pi * freq * t)
    return np.concatenate([np.zeros(n_before), sig, np.zeros(n_after)]).astype(dtype)


def first_above(x: np.ndarray, rel_db: float = -40.0) -> int:
    a = np.abs(x)
    return int(np.flatnonzero(a >= a.max() * 10 ** (rel_db / 20))[0])


def last_above(x: np.ndarray, rel_db: float = -40.0) -> int:
    a = np.abs(x)
    return int(np.flatnonzero(a >= a.max() * 10 ** (rel_db / 20))[-1])


# ---------------------------------------------------------------- trim

def test_trim_puts_onset_at_preroll_and_keeps_a_short_tail():
    x = burst(3000, 4000, 5000)
    y = trim(x, SR)
    preroll = round(PREROLL_S * SR)
    assert y.dtype == np.float32 and y.ndim == 1
    # the burst's first audible sample is its 2nd (sin(0) == 0)
    assert abs(first_above(y) - (preroll + 1)) <= 2
    assert y[0] == 0.0 and y[-1] == 0.0
    # tail: TAIL_S after the last audible sample of the burst
    start = first_above(x) - preroll
    assert len(y) == (last_above(x) - start) + 1 + round(TAIL_S * SR)
    # the voice itself is untouched
    np.testing.assert_array_equal(y[preroll:preroll + 3000], x[start + preroll:start + preroll + 3000])


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_trim_cuts_fades_in_and_out_exactly_as_specified(rate):
    """A steady tone between silences: the kept span, the raised-cosine fade
    in over the pre-roll and the fade out over the last FADE_OUT_S."""
    n0, n1, n2 = rate // 10, rate // 5, rate // 4
    tone = np.full(n1, 0.4, np.float32)             # level: every sample audible
    hush = 0.002                                    # -46 dB under it: not voice, but kept
    x = np.concatenate([np.full(n0, hush, np.float32), tone, np.full(n2, -hush, np.float32)])
    y = trim(x, rate).astype(np.float64)
    pre, tail, fade_out = (max(1, round(s * rate)) for s in (PREROLL_S, TAIL_S, FADE_OUT_S))
    start, end = n0 - pre, n0 + n1 + tail
    want = x[start:end].astype(np.float64)
    want[:pre] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(pre) / pre)
    want[-fade_out:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fade_out + 1) / fade_out)
    assert len(y) == len(want)
    np.testing.assert_allclose(y, want, atol=1e-7)
    assert y[pre] == pytest.approx(0.4) and y[-1] == 0.0
    assert y[-fade_out - 1] == pytest.approx(-hush) and 0 < y[1] < hush


def test_trim_burst_at_sample_zero_is_faded_not_clicked():
    x = burst(0, 4000, 2000, freq=1000.0)
    x[0] = 0.5                                        # starts at full level
    y = trim(x, SR)
    assert y[0] == 0.0
    assert first_above(y) <= round(PREROLL_S * SR)


def test_trim_ignores_low_noise_and_isolated_clicks():
    rng = np.random.default_rng(1)
    x = burst(4000, 3000, 4000, amp=0.5)
    x += (rng.standard_normal(len(x)) * 10 ** (-75 / 20)).astype(np.float32)  # under the floor
    x[500] = 0.3                                      # a click long before the voice
    x[-300] = -0.3                                    # and one long after
    y = trim(x, SR)
    assert abs(first_above(y) - (round(PREROLL_S * SR) + 1)) <= 2
    assert len(y) < 3000 + round((PREROLL_S + TAIL_S) * SR) + 10


def test_trim_keeps_sound_that_is_only_a_click():
    x = np.zeros(1000, np.float32)
    x[400] = 0.5
    y = trim(x, SR)
    assert np.abs(y).max() > 0.1


def test_trim_of_clicks_only_keeps_from_the_first_to_the_last():
    x = np.zeros(4000, np.float32)
    x[400], x[2400] = 0.5, -0.5
    y = trim(x, SR)
    pre = round(PREROLL_S * SR)
    assert len(y) == (2400 - 400) + pre + 1 + round(TAIL_S * SR)
    assert y[pre] == pytest.approx(0.5) and y[pre + 2000] == pytest.approx(-0.5)


def test_resample_changes_the_length_by_the_ratio_even_for_one_sample():
    one = np.array([0.5], np.float32)
    assert len(resample(one, 8000, 48000)) == 6
    x = burst(0, 2205, 0, amp=0.5, freq=300.0, sr=22050)
    y = resample(x, 22050, 48000)
    assert abs(len(y) - 4800) <= 1 and y.dtype == np.float32


@pytest.mark.parametrize("x", [
    np.zeros(5000, np.float32),
    np.full(5000, 10 ** (-70 / 20), np.float32),    # audible to nobody
    np.zeros(0, np.float32),
])
def test_trim_all_silent_is_value_error(x):
    with pytest.raises(ValueError):
        trim(x, SR)
    assert issubclass(SilenceError, ValueError)


@pytest.mark.parametrize("bad, exc", [
    ([0.0, 0.5, 0.0], TypeError),
    (np.zeros(10, np.int16), TypeError),
    (np.zeros((10, 2), np.float32), ValueError),
    (np.array([0.0, np.nan, 0.5], np.float32), ValueError),
])
def test_trim_rejects_bad_arrays(bad, exc):
    with pytest.raises(exc):
        trim(bad, SR)


@pytest.mark.parametrize("rate, exc", [(0, ValueError), (-1, ValueError),
                                       (16000.0, TypeError), (True, TypeError)])
def test_trim_rejects_bad_samplerate(rate, exc):
    with pytest.raises(exc):
        trim(burst(10, 100, 10), rate)


def test_trim_accepts_float64():
    y = trim(burst(100, 1000, 100, dtype=np.float64), SR)
    assert y.dtype == np.float32


# ---------------------------------------------------------------- resample

def test_resample_length_and_level():
    x = burst(0, 22050, 0, amp=0.5, freq=1000.0, sr=22050)
    y = resample(x, 22050, 48000)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 48000) <= 1
    mid = slice(4800, 43200)                          # away from the edges
    rms = np.sqrt(np.mean(y[mid].astype(np.float64) ** 2))
    assert abs(db(rms) - db(0.5 / np.sqrt(2))) < 0.1


def test_resample_identity_and_validation():
    x = burst(10, 100, 10)
    assert resample(x, SR, SR) is x
    assert resample(x.astype(np.float64), SR, SR).dtype == np.float32
    assert len(resample(np.zeros(0, np.float32), 22050, 48000)) == 0
    with pytest.raises(ValueError):
        resample(x, 0, 48000)
    with pytest.raises(TypeError):
        resample(x, 22050, 48000.0)


# ---------------------------------------------------------------- normalise

def test_normalise_two_levels_to_the_same_loudness():
    quiet = burst(2000, 8000, 6000, amp=0.02)
    loud = burst(500, 8000, 500, amp=0.6, freq=300.0)
    nq, nl = normalise(quiet, SR), normalise(loud, SR)
    assert nq.dtype == np.float32 and nq.shape == quiet.shape
    assert abs(db(gated_rms(nq, SR)) - db(gated_rms(nl, SR))) < 0.5
    # checked without gated_rms: RMS over the burst itself
    rms_q = np.sqrt(np.mean(nq[2000:10000].astype(np.float64) ** 2))
    assert abs(db(rms_q) - TARGET_RMS_DBFS) < 0.5
    for y in (nq, nl):
        assert np.abs(y).max() <= 10 ** (PEAK_DBFS / 20)


def test_normalise_caps_the_peak():
    x = burst(0, 8000, 0, amp=0.01)
    x[4000] = 0.9                                     # crest factor far above 18 dB
    y = normalise(x, SR)
    peak = float(np.abs(y).max())
    assert peak <= 10 ** (PEAK_DBFS / 20)
    assert peak > 10 ** ((PEAK_DBFS - 0.01) / 20)


def test_normalise_errors():
    with pytest.raises(ValueError):
        normalise(np.zeros(1000, np.float32), SR)
    with pytest.raises(ValueError):
        normalise(np.zeros(0, np.float32), SR)
    with pytest.raises(TypeError):
        normalise(np.zeros(100, np.int32), SR)


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(min_value=0.01, max_value=1.5), pad=st.integers(0, 3000))
def test_normalise_does_not_depend_on_input_level_or_padding(scale, pad):
    x = burst(pad, 6000, 3000 - pad, amp=0.5, freq=500.0)
    ref = normalise(x, SR)
    y = normalise((x * scale).astype(np.float32), SR)
    np.testing.assert_allclose(y, ref, atol=1e-5)


def _voiced_rms_db(y: np.ndarray, voiced: slice) -> float:
    return db(float(np.sqrt(np.mean(y[voiced].astype(np.float64) ** 2))))


@pytest.mark.parametrize("pause_s", [0.2, 1.0, 3.0])
def test_pauses_and_silence_do_not_change_a_cues_loudness(pause_s):
    """The same words with a long pause, or trailing silence, sound as loud:
    the gate leaves out what is far below the loudest windows."""
    words = burst(0, 12000, 0, amp=0.3, freq=300.0)
    pause = np.zeros(round(pause_s * SR), np.float32)
    paused = np.concatenate([words[:6000], pause, words[6000:]])
    a, b = normalise(words, SR), normalise(paused, SR)
    loud_a = _voiced_rms_db(a, slice(0, 12000))
    loud_b = _voiced_rms_db(np.concatenate([b[:6000], b[6000 + len(pause):]]), slice(0, 12000))
    assert abs(loud_a - loud_b) < 0.2
    assert abs(loud_a - TARGET_RMS_DBFS) < 0.5
    assert gated_rms(paused, SR) == pytest.approx(gated_rms(words, SR), rel=0.02)


@pytest.mark.parametrize("breath_db", [-20.0, -30.0, -45.0])
def test_breaths_and_soft_sounds_do_not_change_a_cues_loudness(breath_db):
    """Soft sounds far under the voice (a breath, a soft consonant) are gated
    out too: the voiced part reaches the same loudness with or without them."""
    rng = np.random.default_rng(3)
    words = burst(0, 9600, 0, amp=0.3, freq=300.0)
    breath = (rng.standard_normal(SR // 2) * 0.3 / np.sqrt(2) * 10 ** (breath_db / 20)
              ).astype(np.float32)
    with_breath = np.concatenate([breath, words])
    a, b = normalise(words, SR), normalise(with_breath, SR)
    assert abs(_voiced_rms_db(a, slice(0, 9600))
               - _voiced_rms_db(b, slice(len(breath), len(breath) + 9600))) < 0.3
    assert gated_rms(with_breath, SR) == pytest.approx(gated_rms(words, SR), rel=0.05)


def test_gated_rms_at_a_rate_below_one_sample_per_window_gates_single_samples():
    # At 10 Hz a 20 ms window is under one sample: each sample is its own
    # window, so the silent sample is gated out and the RMS is exactly 0.5.
    x = np.array([0.5, -0.5, 0.0], np.float32)
    assert gated_rms(x, 10) == 0.5
    np.testing.assert_allclose(normalise(x, 10), x * (10 ** (TARGET_RMS_DBFS / 20) / 0.5),
                               rtol=1e-6, atol=0)


def test_gated_rms_of_a_steady_tone_is_its_rms():
    tone = burst(0, SR, 0, amp=0.5, freq=1000.0)
    assert gated_rms(tone, SR) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)
    short = tone[:100]                         # shorter than one window
    assert gated_rms(short, SR) == pytest.approx(float(np.sqrt(np.mean(short.astype(float) ** 2))))
    assert gated_rms(np.zeros(2000, np.float32), SR) == 0.0


def test_process_chain():
    x = burst(900, 11025, 4000, amp=0.3, freq=400.0, sr=22050)
    y = process(x, 22050, 48000)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(first_above(y) - PREROLL_S * 48000) <= 0.001 * 48000
    assert np.abs(y).max() <= 10 ** (PEAK_DBFS / 20)
    assert abs(db(gated_rms(y, 48000)) - TARGET_RMS_DBFS) < 0.5


# ---------------------------------------------------------------- settings, keys

def test_speech_settings_validation():
    assert SpeechSettings() == SpeechSettings(None, None)
    with pytest.raises(TypeError):
        SpeechSettings(voice=5)
    with pytest.raises(InputError):
        SpeechSettings(voice="  ")
    with pytest.raises(TypeError):
        SpeechSettings(rate=True)
    with pytest.raises(TypeError):
        SpeechSettings(rate=150.0)
    with pytest.raises(InputError):
        SpeechSettings(rate=10)


def test_cue_key_covers_everything_that_shapes_the_sound():
    base = cue_key("One", SpeechSettings(), 48000, "eng 1")
    assert len(base) == 64 and int(base, 16) >= 0
    assert base == cue_key("One", SpeechSettings(), 48000, "eng 1")
    others = {
        cue_key("Two", SpeechSettings(), 48000, "eng 1"),
        cue_key("One", SpeechSettings(voice="en-us"), 48000, "eng 1"),
        cue_key("One", SpeechSettings(rate=150), 48000, "eng 1"),
        cue_key("One", SpeechSettings(), 44100, "eng 1"),
        cue_key("One", SpeechSettings(), 48000, "eng 2"),
    }
    assert base not in others and len(others) == 5


# ---------------------------------------------------------------- CueCache

KEY = "a" * 64


def test_cache_round_trip_is_atomic(tmp_path):
    cache = CueCache(tmp_path / "cues")
    assert cache.get(KEY) is None
    pcm = np.linspace(-0.5, 0.5, 1001, dtype=np.float32)
    cache.put(KEY, pcm)
    got = cache.get(KEY)
    np.testing.assert_array_equal(got, pcm)
    assert got.dtype == np.float32 and not got.flags.writeable
    cache.put(KEY, pcm[:10])                          # overwrite
    np.testing.assert_array_equal(cache.get(KEY), pcm[:10])
    assert sorted(p.name for p in (tmp_path / "cues").iterdir()) == [f"{KEY}.cue"]


def test_cache_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    cache = CueCache(tmp_path)

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cue_cache_module.os, "replace", boom)
    with pytest.raises(OSError):
        cache.put(KEY, np.ones(10, np.float32))
    assert list(tmp_path.iterdir()) == []


def _flip_byte(path: Path, offset: int) -> None:
    blob = bytearray(path.read_bytes())
    blob[offset] ^= 0xFF
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("damage", ["flip_payload", "flip_count", "flip_key", "flip_checksum",
                                    "flip_header_checksum", "truncate", "bad_magic", "empty",
                                    "another_cue"])
def test_cache_detects_damaged_entries(tmp_path, damage, caplog):
    cache = CueCache(tmp_path)
    cache.put(KEY, np.linspace(-0.5, 0.5, 500, dtype=np.float32))
    path = cache.path(KEY)
    size = path.stat().st_size
    if damage == "flip_payload":
        _flip_byte(path, size - 7)
    elif damage == "flip_count":
        _flip_byte(path, 9)
    elif damage == "flip_key":
        _flip_byte(path, 20)
    elif damage == "flip_checksum":
        _flip_byte(path, 49)
    elif damage == "flip_header_checksum":
        _flip_byte(path, 53)
    elif damage == "another_cue":        # a whole, valid entry of another key copied over it
        cache.put("b" * 64, np.linspace(-0.5, 0.5, 500, dtype=np.float32))
        path.write_bytes(cache.path("b" * 64).read_bytes())
    elif damage == "truncate":
        os.truncate(path, size - 4)
    elif damage == "bad_magic":
        _flip_byte(path, 0)
    else:
        os.truncate(path, 0)
    if damage != "flip_payload":          # planning's length is never the damaged header's
        assert cache.length(KEY) is None
    with caplog.at_level(logging.WARNING, logger="voicecoach.cues"):
        assert cache.get(KEY) is None
    assert not path.exists()
    assert "cue cache entry" in caplog.text


def test_an_entry_is_its_header_then_its_samples(tmp_path):
    cache = CueCache(tmp_path)
    cache.put(KEY, np.array([0.5, -1.0], dtype=np.float32))
    payload = b"\x00\x00\x00\x3f" + b"\x00\x00\x80\xbf"          # 0.5, -1.0 little-endian
    head = (b"VCCUE\x00\x03\x00" + (2).to_bytes(8, "little") + bytes.fromhex(KEY)
            + zlib.crc32(payload).to_bytes(4, "little"))
    assert cache.path(KEY).read_bytes() == head + zlib.crc32(head).to_bytes(4, "little") + payload


@pytest.mark.parametrize("version", [1, 2])
def test_an_entry_of_an_older_format_is_a_miss(tmp_path, version, caplog):
    # written by an earlier voicecoach: it does not say which cue it holds
    samples = np.linspace(-0.5, 0.5, 300, dtype=np.float32)
    payload = samples.astype("<f4").tobytes()
    cache = CueCache(tmp_path)
    path = cache.path(KEY)
    check = hashlib.sha256(payload).digest() if version == 1 else \
        zlib.crc32(payload).to_bytes(4, "little") + bytes(4)
    path.write_bytes(b"VCCUE\x00" + bytes([version, 0]) + (300).to_bytes(8, "little") + check
                     + payload)
    assert cache.length(KEY) is None
    with caplog.at_level(logging.WARNING, logger="voicecoach.cues"):
        assert cache.get(KEY) is None
    assert not path.exists() and "another format version" in caplog.text


def test_cache_validates_keys_and_arrays(tmp_path):
    cache = CueCache(tmp_path)
    for bad in ("../../etc/passwd", "A" * 64, "a" * 63):
        with pytest.raises(ValueError):
            cache.get(bad)
    with pytest.raises(TypeError):
        cache.get(123)
    with pytest.raises(TypeError):
        cache.put(KEY, np.ones(10, np.float64))
    with pytest.raises(ValueError):
        cache.put(KEY, np.ones((10, 1), np.float32))
    with pytest.raises(TypeError):
        CueCache(42)


# ---------------------------------------------------------------- CueBank with a fake engine

class FakeEngine:
    """Stands in for SpeechEngine: a sine burst per text, records calls."""

    def __init__(self, rate: int = 22050, identity: str = "fake-engine 1", silent=False):
        self.rate = rate
        self.identity = identity
        self.silent = silent
        self.calls: list[tuple[str, SpeechSettings]] = []

    def describe(self, settings=None) -> str:
        return self.identity

    def synthesize(self, text, settings):
        self.calls.append((text, settings))
        if self.silent:
            return np.zeros(5000, np.float32), self.rate
        n = self.rate // 4 + 200 * len(text)
        return burst(1000, n, 5000, amp=0.4, freq=300 + 20 * len(text), sr=self.rate), self.rate

    def close(self):
        raise AssertionError("CueBank must not close an engine it was given")


def test_bank_synthesizes_each_text_once(tmp_path):
    eng = FakeEngine()
    bank = CueBank(48000, SpeechSettings(), CueCache(tmp_path), engine=eng)
    a = bank.get("Breathe out and lift")
    assert a.dtype == np.float32 and a.ndim == 1 and not a.flags.writeable
    assert bank.get("Breathe out and lift") is a
    assert bank.frames("Breathe out and lift") == len(a)
    told: list[tuple[int, int]] = []
    bank.prefetch(["One", "Two", "One", "Breathe out and lift"], lambda done, total: told.append((done, total)))
    assert [t for t, _ in eng.calls] == ["Breathe out and lift", "One", "Two"]
    assert told == [(0, 2), (1, 2), (2, 2)]  # the misses only, counted as they are done
    bank.prefetch(["One", "Two"], lambda done, total: told.append((done, total)))
    assert len(told) == 3  # nothing to synthesise: nothing to show
    # processed at the session rate: onset at the pre-roll, the common loudness
    assert abs(first_above(a) - PREROLL_S * 48000) <= 0.001 * 48000
    assert abs(db(gated_rms(a, 48000)) - TARGET_RMS_DBFS) < 0.5
    bank.close()


def test_frames_keeps_only_the_length_of_cached_cues(tmp_path):
    eng = FakeEngine()
    bank = CueBank(48000, SpeechSettings(), CueCache(tmp_path), engine=eng)
    n = bank.frames("Halfway. Breathe out and lift")
    assert n > 0 and bank._cues == {}                 # measured, not held in memory
    assert bank.frames("Halfway. Breathe out and lift") == n
    cue = bank.get("Halfway. Breathe out and lift")  # read back from disk, not synthesised again
    assert len(cue) == n and len(eng.calls) == 1
    # without a cache the audio stays in memory, so nothing is synthesised twice
    eng2 = FakeEngine()
    nocache = CueBank(48000, SpeechSettings(), None, engine=eng2)
    assert nocache.frames("Lift") == len(nocache.get("Lift")) and len(eng2.calls) == 1


def test_cache_length_reads_the_header_only(tmp_path):
    cache = CueCache(tmp_path)
    key = "ab" * 32
    assert cache.length(key) is None
    cache.put(key, np.ones(1234, np.float32))
    assert cache.length(key) == 1234
    path = cache.path(key)
    path.write_bytes(path.read_bytes()[:-4])          # truncated: the size no longer agrees
    assert cache.length(key) is None
    path.write_bytes(b"garbage")
    assert cache.length(key) is None


def test_pcm16_is_the_cue_rounded_to_16_bits(tmp_path):
    eng = FakeEngine()
    bank = CueBank(48000, SpeechSettings(), CueCache(tmp_path), engine=eng)
    pcm = bank.pcm16("Set 2 of 3")
    cue = bank.get("Set 2 of 3")
    assert pcm.dtype == np.int16 and not pcm.flags.writeable and len(pcm) == len(cue)
    assert np.max(np.abs(pcm / 32768.0 - cue)) <= 0.5 / 32768 + 1e-9
    assert bank.pcm16("Set 2 of 3") is pcm and len(eng.calls) == 1
    assert bank.frames("Set 2 of 3") == len(pcm)


def test_warm_cache_never_constructs_an_engine(tmp_path, monkeypatch):
    texts = ["One", "Two", "Rest, 60 seconds"]
    with CueBank(48000, SpeechSettings(), CueCache(tmp_path)) as bank:
        # cold: the bank would create a real SpeechEngine; give it the fake one
        bank._engine = FakeEngine(identity=engine_identity())
        bank.prefetch(texts)
        cold = {t: np.array(bank.get(t)) for t in texts}
        bank._engine = None

    def no_engine(*args, **kwargs):
        raise AssertionError("a warm cache must not start the speech engine")

    monkeypatch.setattr(cue_bank_module, "SpeechEngine", no_engine)
    with CueBank(48000, SpeechSettings(), CueCache(tmp_path)) as warm:
        warm.prefetch(texts)
        for t in texts:
            np.testing.assert_array_equal(warm.get(t), cold[t])


def test_corrupt_entry_is_synthesized_again_and_repaired(tmp_path):
    cache = CueCache(tmp_path)
    first = FakeEngine()
    CueBank(48000, SpeechSettings(), cache, engine=first).get("One")
    (entry,) = tmp_path.glob("*.cue")
    _flip_byte(entry, entry.stat().st_size // 2)

    second = FakeEngine()
    again = CueBank(48000, SpeechSettings(), cache, engine=second).get("One")
    assert [t for t, _ in second.calls] == ["One"]
    third = FakeEngine()
    np.testing.assert_array_equal(
        CueBank(48000, SpeechSettings(), cache, engine=third).get("One"), again)
    assert third.calls == []


def test_bank_keys_depend_on_settings_and_rate(tmp_path):
    cache = CueCache(tmp_path)
    for rate, settings_ in [(48000, SpeechSettings()), (44100, SpeechSettings()),
                            (48000, SpeechSettings(rate=150)),
                            (48000, SpeechSettings(voice="en-us"))]:
        eng = FakeEngine()
        cue = CueBank(rate, settings_, cache, engine=eng).get("One")
        assert len(eng.calls) == 1, (rate, settings_)
        assert abs(len(cue) / rate - len(CueBank(48000, SpeechSettings(), cache,
                                                  engine=FakeEngine()).get("One")) / 48000) < 0.01
    assert len(list(tmp_path.glob("*.cue"))) == 4


def test_bank_without_cache_and_with_unwritable_cache(tmp_path, caplog):
    eng = FakeEngine()
    bank = CueBank(48000, SpeechSettings(), None, engine=eng)
    bank.get("One")
    assert len(eng.calls) == 1
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache dir should be")
    eng = FakeEngine()
    with caplog.at_level(logging.WARNING, logger="voicecoach.cues"):
        cue = CueBank(48000, SpeechSettings(), CueCache(blocker), engine=eng).get("One")
    assert len(cue) > 0
    assert "cue cache not written" in caplog.text


def test_bank_input_errors(tmp_path):
    bank = CueBank(48000, SpeechSettings(), None, engine=FakeEngine())
    with pytest.raises(TypeError):
        bank.get(b"One")
    with pytest.raises(ValueError):
        bank.get("   ")
    with pytest.raises(TypeError):
        bank.prefetch("One")
    with pytest.raises(TypeError):
        CueBank(48000, {"rate": 150}, None)
    with pytest.raises(TypeError):
        CueBank(48000, SpeechSettings(), str(tmp_path))
    with pytest.raises(ValueError):
        CueBank(0, SpeechSettings(), None)
    silent = CueBank(48000, SpeechSettings(), None, engine=FakeEngine(silent=True))
    with pytest.raises(InputError, match="no audible speech"):
        silent.get("...")


def test_bank_close_keeps_fetched_cues():
    bank = CueBank(48000, SpeechSettings(), None, engine=FakeEngine())
    one = bank.get("One")
    bank.close()
    assert bank.get("One") is one
    with pytest.raises(ValueError, match="closed"):
        bank.get("Two")


# ---------------------------------------------------------------- no pyttsx3 needed to import

def test_import_does_not_need_pyttsx3():
    code = textwrap.dedent("""
        import sys
        sys.modules["pyttsx3"] = None          # any import of it now fails
        import voicecoach.cues.bank, voicecoach.cues.engine
        from voicecoach.cues.identity import engine_identity
        from voicecoach.cues.settings import SpeechSettings
        assert SpeechSettings().rate is None
        assert "pyttsx3" in engine_identity()
        assert "soundfile" not in sys.modules and "soxr" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- the real engine

@pytest.fixture(scope="module")
def engine():
    with SpeechEngine() as eng:
        yield eng


def test_engine_identity_is_cheap_and_specific():
    ident = engine_identity()
    assert ident.startswith("pyttsx3 ")
    assert "espeak" in ident and "libespeak" in ident
    eng = SpeechEngine()
    try:
        assert eng.describe() == ident
        assert eng._res.worker is None                # describe() did not start it
    finally:
        eng.close()


def test_real_synthesis_is_quiet_on_stdout(capfd):
    with SpeechEngine() as eng:                       # worker spawned while capfd is active
        pcm, rate = eng.synthesize("Breathe out and lift", SpeechSettings())
        directory = eng._res.worker.directory
        assert os.path.basename(directory).startswith("voicecoach-tts-")
        assert all(n.endswith(".log") for n in os.listdir(directory))  # wav deleted
    out, _ = capfd.readouterr()
    assert out == ""
    assert not os.path.exists(directory)
    assert pcm.dtype == np.float32 and pcm.ndim == 1
    assert isinstance(rate, int) and rate == 22050    # espeak's rate, from the header
    assert np.abs(pcm).max() > 0.1


def test_real_cue_onset_and_level(engine):
    pcm, rate = engine.synthesize("Breathe out and lift", SpeechSettings())
    lead = first_above(pcm) / rate                    # espeak's own leading silence
    assert 0.0 <= lead < 0.2
    cue = process(pcm, rate, 48000)
    assert first_above(cue) <= 0.005 * 48000
    assert np.abs(cue).max() <= 10 ** (PEAK_DBFS / 20)
    assert 0.4 < len(cue) / 48000 < len(pcm) / rate


def test_real_rate_changes_apply_back_to_back(engine):
    text = "Breathe in and lower"
    slow, r1 = engine.synthesize(text, SpeechSettings(rate=120))
    fast, r2 = engine.synthesize(text, SpeechSettings(rate=360))
    default, r3 = engine.synthesize(text, SpeechSettings())
    slow_again, _ = engine.synthesize(text, SpeechSettings(rate=120))
    assert len(slow) > 1.8 * len(fast)
    assert len(fast) < len(default) < len(slow)
    assert abs(len(slow_again) - len(slow)) < 0.05 * len(slow)


def test_real_voices_and_voice_selection(engine):
    voices = engine.voices()
    assert voices and all(isinstance(v, Voice) for v in voices)
    assert any(v.id == "gmw/en-us" for v in voices)
    pcm, _ = engine.synthesize("One", SpeechSettings(voice="en-us"))
    assert np.abs(pcm).max() > 0.05
    assert engine._resolve_voice("english").startswith("gmw/en")
    with pytest.raises(InputError) as info:
        engine.synthesize("One", SpeechSettings(voice="no-such-voice-xyz"))
    message = str(info.value)
    assert "no-such-voice-xyz" in message and "gmw/en" in message


def test_real_stuck_engine_times_out_and_recovers():
    with SpeechEngine(timeout=1.0) as eng:
        # A missing folder makes pyttsx3's write fail inside espeak's
        # callback: the utterance never finishes (the hang in docs/pitfalls.md).
        with pytest.raises(SpeechEngineError, match="did not answer within 1 s") as info:
            eng._synthesize_to("Two", {"voice": None, "rate": None},
                               "/nonexistent-voicecoach-dir/x.wav")
        # the worker's stderr (the failed write) is quoted, on one line
        assert "engine log:" in str(info.value) and "nonexistent-voicecoach-dir" in str(info.value)
        assert "\n" not in str(info.value)
        # the stuck phrase ran in a child the worker killed: the worker itself is fine
        assert eng._res.worker is not None and eng._res.worker.alive
        # recovery must not depend on how fast this machine is
        eng._timeout = ENGINE_TIMEOUT_S
        again, rate = eng.synthesize("One", SpeechSettings())
        assert rate == 22050 and np.abs(again).max() > 0.05


def test_real_closed_engine_refuses_requests():
    eng = SpeechEngine()
    eng.synthesize("One", SpeechSettings())
    process_ = eng._res.worker.process
    eng.close()
    eng.close()                                       # idempotent
    assert not process_.is_alive()
    with pytest.raises(ValueError, match="closed"):
        eng.synthesize("One", SpeechSettings())


def test_real_bank_cold_then_warm(tmp_path, monkeypatch):
    texts = ["One", "Two", "Rest, 60 seconds"]
    with CueBank(48000, SpeechSettings(), CueCache(tmp_path)) as bank:
        bank.prefetch(texts)
        cold = {t: np.array(bank.get(t)) for t in texts}
    monkeypatch.setattr(cue_bank_module, "SpeechEngine", None)  # constructing one would fail
    with CueBank(48000, SpeechSettings(), CueCache(tmp_path)) as warm:
        for t in texts:
            np.testing.assert_array_equal(warm.get(t), cold[t])
            assert warm.frames(t) == len(cold[t])


def _fake_package(root: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


def test_missing_pyttsx3_names_the_fix(tmp_path, monkeypatch):
    _fake_package(tmp_path, {"pyttsx3.py": "raise ImportError('No module named pyttsx3')\n"})
    monkeypatch.syspath_prepend(str(tmp_path))       # the spawned worker gets our sys.path
    with SpeechEngine() as eng:
        with pytest.raises(SpeechEngineError, match="pip install pyttsx3"):
            eng.synthesize("One", SpeechSettings())


def test_missing_espeak_library_names_the_fix(tmp_path, monkeypatch):
    _fake_package(tmp_path, {
        "pyttsx3/__init__.py": "",
        "pyttsx3/drivers/__init__.py": "",
        "pyttsx3/drivers/_espeak.py":
            "raise RuntimeError('This means you probably do not have eSpeak or "
            "eSpeak-ng installed!')\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    with SpeechEngine() as eng:
        with pytest.raises(SpeechEngineError, match="apt-get install espeak-ng") as info:
            eng.synthesize("One", SpeechSettings())
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- the spoken timeline

def _prefetch_order(monkeypatch):
    """Record what spoken_timeline asks the bank to synthesise ahead."""
    asked: list[list[str]] = []
    real = CueBank.prefetch

    def prefetch(self, texts, progress=None):
        texts = list(texts)
        asked.append(texts)
        return real(self, texts, progress)

    monkeypatch.setattr(CueBank, "prefetch", prefetch)
    return asked


def test_a_warm_cache_plans_once_and_gives_the_same_timeline(tmp_path, monkeypatch):
    from voicecoach.cues import timing
    from voicecoach.plan.preset_files import load_preset
    from voicecoach.plan.schedule import build_timeline

    preset = load_preset("dead-bug")
    cold_engine = FakeEngine()
    cold_bank = CueBank(48000, SpeechSettings(), CueCache(tmp_path), engine=cold_engine)
    asked = _prefetch_order(monkeypatch)
    cold = timing.spoken_timeline(preset, cold_bank)
    assert len(asked) == 1 and cold_engine.calls            # a cold cache: listed, synthesised
    assert cold == build_timeline(preset, cold_bank.frames, 48000)

    warm_engine = FakeEngine()
    warm_bank = CueBank(48000, SpeechSettings(), CueCache(tmp_path), engine=warm_engine)
    monkeypatch.setattr(timing, "speech_texts",
                        lambda *a, **k: pytest.fail("a warm cache needs no list of phrases"))
    assert timing.spoken_timeline(preset, warm_bank) == cold   # one plan, the same frames
    assert warm_engine.calls == [] and len(asked) == 1


def test_one_phrase_missing_from_the_cache_is_synthesised_and_planned_with(tmp_path, monkeypatch):
    from voicecoach.cues import timing
    from voicecoach.plan.preset_files import load_preset

    preset = load_preset("dead-bug")
    full = timing.spoken_timeline(preset, CueBank(48000, SpeechSettings(), CueCache(tmp_path),
                                                  engine=FakeEngine()))
    said = next(e.text for e in full.events if e.text)
    key = CueBank(48000, SpeechSettings(), CueCache(tmp_path), engine=FakeEngine())._key(said)
    CueCache(tmp_path).path(key).unlink()                    # forget one phrase heard
    engine = FakeEngine()
    asked = _prefetch_order(monkeypatch)
    again = timing.spoken_timeline(preset, CueBank(48000, SpeechSettings(), CueCache(tmp_path),
                                                   engine=engine))
    assert [t for t, _ in engine.calls] == [said]            # only the missing one, once
    assert len(asked) == 1 and said in asked[0]
    assert again == full


def test_a_window_exactly_at_the_relative_gate_is_kept():
    # 20 ms windows of one sample at 50 Hz: ten of power 1 and one of 100.
    # Their mean is 10, and -10 dB under it is exactly 1: the gate drops only
    # what is below it, so all eleven count (a strict gate would leave 100).
    x = np.array([1.0] * 10 + [10.0])
    assert gated_rms(x, 50) == pytest.approx(np.sqrt(10.0), rel=1e-12)


def test_the_fade_out_is_ten_milliseconds_even_when_that_is_one_sample():
    # at 100 Hz, 10 ms is one sample: only the last is faded (to exact silence)
    out = trim(np.full(50, 0.5, np.float32), 100)
    assert len(out) == 50 and out[-1] == 0.0 and np.all(out[1:-1] == np.float32(0.5))


def test_a_cue_whose_peak_is_exactly_the_audible_floor_is_still_normalised():
    from voicecoach.common.decibels import gain
    from voicecoach.cues.dsp import AUDIBLE_FLOOR_DBFS
    floor = gain(AUDIBLE_FLOOR_DBFS)
    x = np.array([floor, -floor / 2] * 400)           # float64: the peak is the floor exactly
    assert float(np.abs(x).max()) == floor
    y = normalise(x, SR)
    assert y.dtype == np.float32 and np.abs(y).max() > floor
    with pytest.raises(SilenceError):
        normalise(x * 0.999, SR)                      # just under it: nothing audible
