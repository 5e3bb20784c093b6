"""Loudness, true peak, chapters and gapless MP3 on real exports, read back by
tools we did not write: ffmpeg's ebur128 meter, ffprobe, pyloudnorm."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from voicecoach.audio.gain_rule import TOLERANCE_LU
from voicecoach.plan.preset_files import builtin_names

pytestmark = pytest.mark.e2e
ARGS = ["leg-lifts", "--sets", "2", "--reps", "6", "--rest", "10"]


def run_vc(cue_cache, *args):
    env = {**os.environ, "VOICECOACH_CACHE_DIR": str(cue_cache),
           "VOICECOACH_CONFIG_DIR": str(cue_cache / "config"),
           "VOICECOACH_DATA_DIR": str(cue_cache / "data")}
    r = subprocess.run([sys.executable, "-m", "voicecoach", *args], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def ebur128(path):
    """Integrated loudness (LUFS) and true peak (dBTP) by ffmpeg's meter."""
    err = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
                          "ebur128=peak=true", "-f", "null", "-"], capture_output=True,
                         text=True).stderr
    summary = err[err.rindex("Summary:"):]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return lufs, peak


@pytest.fixture(scope="module")
def loud_master(tmp_path_factory):
    """A music master at about -3 LUFS: bass, noise hits, brick-wall loud, stereo 44.1 kHz."""
    path = tmp_path_factory.mktemp("master") / "loud.flac"
    sr = 44100
    rng = np.random.default_rng(7)
    t = np.arange(12 * sr) / sr
    x = 0.6 * np.sin(2 * np.pi * 55 * t) + 0.3 * rng.standard_normal(len(t))
    x = np.stack([x, np.roll(x, 50)], axis=1)
    x *= 10 ** ((-3.0 - pyloudnorm.Meter(sr).integrated_loudness(x)) / 20)
    sf.write(path, np.clip(x, -0.99, 0.99), sr, subtype="PCM_16")
    lufs, _ = ebur128(path)
    assert -5.0 < lufs < -1.0, lufs
    return path


def replaygain_loudness(path):
    """The loudness a file's ReplayGain tag says (-18 LUFS reference)."""
    import mutagen
    gain = mutagen.File(path)["replaygain_track_gain"][0]
    return -18.0 - float(gain.removesuffix(" dB"))


@pytest.mark.parametrize("channels,target", [(1, -19.0), (2, -16.0)])
def test_default_export_is_at_the_spoken_word_target(tmp_path, cue_cache, channels, target):
    path = tmp_path / "s.flac"
    run_vc(cue_cache, "export", *ARGS, "-o", str(path), "--channels", str(channels))
    lufs, peak = ebur128(path)
    assert abs(lufs - target) <= TOLERANCE_LU and peak <= -1.0, (lufs, peak)
    x, sr = sf.read(path, dtype="float64")
    assert pyloudnorm.Meter(sr).integrated_loudness(x) == pytest.approx(lufs, abs=0.1)
    assert replaygain_loudness(path) == pytest.approx(lufs, abs=0.1)  # what was written, measured


@pytest.mark.parametrize("preset", builtin_names())
def test_every_built_in_preset_lands_near_the_target_by_construction(tmp_path, cue_cache, preset):
    """The gain is set from the plan before any cue exists: each built-in preset, mono and stereo, measures
    within the documented tolerance by ffmpeg's meter, its true peak under -1 dBTP, its tag says what it is."""
    for channels, target in ((1, -19.0), (2, -16.0)):
        path = tmp_path / f"{preset}-{channels}.flac"
        run_vc(cue_cache, "export", preset, "-o", str(path), "--channels", str(channels))
        lufs, peak = ebur128(path)
        assert abs(lufs - target) <= TOLERANCE_LU and peak <= -1.0, (channels, lufs, peak)
        assert replaygain_loudness(path) == pytest.approx(lufs, abs=0.1)


def test_loudness_option_sets_another_target(tmp_path, cue_cache):
    path = tmp_path / "q.wav"
    run_vc(cue_cache, "export", *ARGS, "-o", str(path), "--loudness", "-23")
    lufs, peak = ebur128(path)
    assert abs(lufs + 23.0) <= TOLERANCE_LU and peak <= -1.0


@pytest.mark.parametrize("volume", ["-12", "0", "12"])
def test_with_loud_music_at_any_volume(tmp_path, cue_cache, loud_master, volume):
    """-3 LUFS master: the mix is on target, never over -1 dBTP, no sample at
    full scale, and the lossless stems still sum to the mix."""
    path = tmp_path / "m.flac"
    run_vc(cue_cache, "export", *ARGS, "-o", str(path), "--music", str(loud_master),
           "--music-volume", volume, "--stems")
    lufs, peak = ebur128(path)
    assert abs(lufs + 19.0) <= 0.5 and peak <= -1.0, (lufs, peak)
    assert replaygain_loudness(path) == pytest.approx(lufs, abs=0.1)  # measured as the mix was written
    mix = sf.read(path, dtype="int16")[0].astype(np.int64)
    stems = sum(sf.read(tmp_path / f"m.{k}.flac", dtype="int16")[0].astype(np.int64)
                for k in ("voice", "ticks", "music"))
    assert np.max(np.abs(mix - stems)) <= 1                 # three roundings, one LSB
    assert np.max(np.abs(mix)) < 32767
    _, music_peak = ebur128(tmp_path / "m.music.flac")
    assert music_peak <= -1.0


def test_alternating_sides_give_one_chapter_per_set_in_mp3_and_wav(tmp_path, cue_cache):
    for name in ("db.mp3", "db.wav"):
        r = run_vc(cue_cache, "export", "dead-bug", "-o", str(tmp_path / name))
        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of",
                                           "json", str(tmp_path / name)],
                                          capture_output=True, text=True).stdout)
        titles = [c["tags"]["title"] for c in probe["chapters"]]
        assert titles == ["Intro", "Warm-up", "Set 1 of 3", "Rest", "Set 2 of 3", "Rest",
                          "Set 3 of 3", "Outro"], titles
        assert f"{len(titles)} chapters" in r.stdout


def test_set_chapters_start_at_the_announcement(tmp_path, cue_cache):
    path = tmp_path / "a.mp3"
    run_vc(cue_cache, "export", *ARGS, "-o", str(path))
    plan = json.loads(run_vc(cue_cache, "timeline", *ARGS, "--json").stdout)
    said = next(e for e in plan["events"] if e["kind"] == "speech" and e["set"] == 2
                and e["rep"] is None)
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of", "json",
                                       str(path)], capture_output=True, text=True).stdout)
    start = next(float(c["start_time"]) for c in probe["chapters"]
                 if c["tags"]["title"] == "Set 2 of 2")
    assert start == pytest.approx(said["frame"] // 48 / 1000, abs=0.0015), said["text"]
    first_lift = next(s for s in plan["segments"] if s["set"] == 2 and s["rep"] == 1)
    assert start < first_lift["start"] / 48000 - 1.0


def test_mp3_is_gapless_and_exact_to_the_sample(tmp_path, cue_cache):
    path = tmp_path / "g.mp3"
    run_vc(cue_cache, "export", *ARGS, "-o", str(path))
    plan = json.loads(run_vc(cue_cache, "timeline", *ARGS, "--json").stdout)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    assert len(raw) // 2 == plan["frames"]
