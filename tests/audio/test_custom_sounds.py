"""Custom sounds: files a preset names for tick/accent/bell, and the shipped alternatives."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicecoach.audio.custom_sounds import load_sound, shipped_sound
from voicecoach.audio.sounds import PEAK_DBFS
from voicecoach.errors import InputError
from voicecoach.plan.metronome import SHIPPED_SOUNDS

ROOT = Path(__file__).resolve().parents[2]
F32 = np.float32


def click(rate: int, seconds: float = 0.08, freq: float = 1500.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.8 * np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.015)).astype(F32)


@pytest.mark.parametrize("kind", ["tick", "accent", "bell"])
def test_stereo_44k1_file_becomes_mono_at_the_session_rate_with_the_builtin_peak(tmp_path, kind):
    lead = np.zeros(round(0.03 * 44100), F32)                         # 30 ms of silence first
    left = np.concatenate([lead, click(44100)])
    path = tmp_path / "mine.wav"
    sf.write(str(path), np.stack([left, 0.5 * left], 1), 44100, subtype="PCM_24")
    out = load_sound(path, 48000, kind=kind)
    assert out.dtype == F32 and out.ndim == 1
    assert np.abs(out).max() == pytest.approx(10 ** (PEAK_DBFS[kind] / 20), rel=1e-6)
    assert out[0] == 0 and out[-1] == 0
    assert len(out) < 0.08 * 48000 + 48                  # silence trimmed (+ resampler ringing)
    onset = np.flatnonzero(np.abs(out) > 0.01 * np.abs(out).max())[0]
    assert onset < 0.001 * 48000                                       # sounds on the beat
    spectrum = np.abs(np.fft.rfft(out, 48000))
    assert abs(np.argmax(spectrum) - 1500) < 20                        # resampled, not sped up


def test_a_file_at_the_session_rate_keeps_its_shape(tmp_path):
    data = click(48000)
    path = tmp_path / "same.flac"
    sf.write(str(path), data, 48000, subtype="PCM_24")
    out = load_sound(path, 48000, kind="tick")
    first = np.flatnonzero(np.abs(data) > 1e-3 * np.abs(data).max())[0]   # data[0] == 0 is trimmed
    kept = data[first:first + len(out)]
    body = slice(200, len(out) - 1000)               # away from the fades: only scaled
    scale = np.dot(out[body], kept[body]) / np.dot(kept[body], kept[body])
    np.testing.assert_allclose(out[body], kept[body] * scale, atol=1e-6)


def test_compressed_file_loads(tmp_path):
    path = tmp_path / "c.ogg"
    with sf.SoundFile(str(path), "w", 44100, 1, format="OGG") as f:
        f.write(click(44100, 0.3))
    out = load_sound(path, 48000, kind="bell")
    assert np.abs(out).max() == pytest.approx(10 ** (PEAK_DBFS["bell"] / 20), rel=1e-6)


def bad_file(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.wav"
    if case == "missing":
        return path
    if case == "folder":
        path.mkdir()
    elif case == "not-audio":
        path.write_text("RIFF? no, just text\n")
    elif case == "silent":
        sf.write(str(path), np.zeros(4800, F32), 48000)
    elif case == "empty":
        sf.write(str(path), np.zeros(0, F32), 48000)
    elif case == "too-long":
        sf.write(str(path), np.tile(click(8000), 80), 8000)            # 6.4 s
    elif case == "nan":
        data = click(48000)
        data[10] = np.nan
        sf.write(str(path), data, 48000, subtype="FLOAT")
    return path


@pytest.mark.parametrize("case, problem", [
    ("missing", "no such file"), ("folder", "is a directory"),
    ("not-audio", "not an audio file soundfile can read"), ("silent", "is silent"),
    ("empty", "is silent"), ("too-long", "6.4 s long; a sound may last at most 5 s"),
    ("nan", "NaN"),
])
def test_bad_files_are_one_line_input_errors_naming_the_file(tmp_path, case, problem):
    path = bad_file(tmp_path, case)
    with pytest.raises(InputError) as exc:
        load_sound(path, 48000, kind="tick")
    msg = str(exc.value)
    assert str(path) in msg and problem in msg and "\n" not in msg, msg
    assert exc.value.exit_code == 2


def test_max_seconds_is_configurable_and_arguments_are_checked(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(str(path), click(48000, 1.0), 48000)
    with pytest.raises(InputError, match="at most 0.5 s"):
        load_sound(path, 48000, 0.5, kind="tick")
    with pytest.raises(ValueError, match="unknown sound kind"):
        load_sound(path, 48000, kind="gong")
    with pytest.raises(ValueError):
        load_sound(path, 0, kind="tick")


# ------------------------------------------------------------ shipped sounds
@pytest.mark.parametrize("name", SHIPPED_SOUNDS)
def test_shipped_sounds_are_small_48k_16bit_mono_and_load_for_every_kind(name):
    path = shipped_sound(name)
    assert path.parent == ROOT / "audio_cues" / "sounds" or path.is_file()
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (48000, 1, "PCM_16")
    assert path.stat().st_size < 100_000
    data, _ = sf.read(str(path), dtype="float32")
    assert data[0] == 0 and abs(data[-1]) <= 2 ** -15
    for kind in PEAK_DBFS:
        out = load_sound(path, 44100, kind=kind)
        assert np.abs(out).max() == pytest.approx(10 ** (PEAK_DBFS[kind] / 20), rel=1e-6)


def test_unknown_shipped_sound():
    with pytest.raises(InputError, match="woodblock"):
        shipped_sound("cowbell")


def test_make_sounds_script_rebuilds_the_shipped_files_exactly(tmp_path):
    script = runpy.run_path(str(ROOT / "scripts" / "make_sounds.py"))
    assert sorted(script["SOUNDS"]) == sorted(SHIPPED_SOUNDS)
    assert script["main"]([str(tmp_path)]) == 0
    for name in SHIPPED_SOUNDS:
        assert (tmp_path / f"{name}.wav").read_bytes() == shipped_sound(name).read_bytes()
