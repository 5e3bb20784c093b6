"""What real decoders get from an export: streams (``-o -`` into a pipe) that
decode to exactly the session, read by ``flac -t``, mp3val and ffmpeg; and
lossy files whose decoded true peak, measured by ffmpeg's ``ebur128``, stays
under -1 dBTP with the tags telling the decoded peak."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from running import TINY_PRESET, private_env, voicecoach
from workers import one_worker_at_a_time, run_wide_folder

pytestmark = pytest.mark.timeout(600)

SR = 48000


@pytest.fixture(scope="module")
def cli(tmp_path_factory, shared_cache_dir) -> tuple[dict, Path]:
    """A private environment (but for the run's cue cache) and a short preset."""
    root = tmp_path_factory.mktemp("streams")
    preset = root / "tiny.toml"
    preset.write_text(TINY_PRESET)
    return dict(private_env(root), VOICECOACH_CACHE_DIR=str(shared_cache_dir)), preset


def frames_of(env: dict, preset: str) -> int:
    res = voicecoach(env, "timeline", preset, "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["frames"]


def streamed(env: dict, preset: str, fmt: str, *args: str) -> bytes:
    """What ``export -o -`` writes into a pipe."""
    res = voicecoach(env, "export", preset, "-o", "-", "--format", fmt, *args)
    assert res.returncode == 0, res.stderr
    return res.stdout


def decode(source: bytes | Path) -> np.ndarray:
    """Every sample ffmpeg decodes, float32 mono, from a pipe or a file."""
    pipe = isinstance(source, bytes)
    res = subprocess.run(["ffmpeg", "-v", "error", "-i", "-" if pipe else str(source), "-ac", "1",
                          "-f", "f32le", "-"], input=source if pipe else None, capture_output=True,
                         timeout=120, check=True)
    return np.frombuffer(res.stdout, dtype="<f4")


# ------------------------------------------------------------------- streams
@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "opus", "mp3"])
def test_every_streamed_format_decodes_to_exactly_the_sessions_frames(cli, fmt):
    env, preset = cli
    data = decode(streamed(env, str(preset), fmt))
    assert len(data) == frames_of(env, str(preset))
    assert np.abs(data).max() > 0.05


def test_a_flac_stream_passes_flac_t_and_decodes_to_the_session(cli, tmp_path):
    """libFLAC rewrites STREAMINFO at the end: on a pipe those bytes trailed
    the last frame and ``flac -t`` failed. The stream's header now carries
    the length before the first frame."""
    env, preset = cli
    blob = streamed(env, str(preset), "flac")
    test = subprocess.run(["flac", "-t", "-"], input=blob, capture_output=True, timeout=60)
    assert test.returncode == 0, test.stderr.decode()
    frames = frames_of(env, str(preset))
    info = blob[8:26]    # STREAMINFO after "fLaC" and its block header
    assert int.from_bytes(info[10:18], "big") & ((1 << 36) - 1) == frames
    wav = tmp_path / "x.wav"
    assert voicecoach(env, "export", str(preset), "-o", str(wav)).returncode == 0
    np.testing.assert_array_equal(decode(blob), decode(wav))    # every sample, in place


def test_an_mp3_stream_starts_with_its_info_tag_and_decodes_in_place(cli, tmp_path):
    """Without an Info tag a stream decoded 1,920 samples longer than the
    session, every sound 23 ms late; it now has the tag up front (frames,
    delay, padding), mp3val accepts it and ffmpeg decodes it exactly."""
    env, preset = cli
    blob = streamed(env, str(preset), "mp3")
    assert b"Xing" in blob[:200] or b"Info" in blob[:200]
    data = decode(blob)
    assert len(data) == frames_of(env, str(preset))
    wav = tmp_path / "x.wav"
    assert voicecoach(env, "export", str(preset), "-o", str(wav)).returncode == 0
    ref = decode(wav)
    timeline = json.loads(voicecoach(env, "timeline", str(preset), "--json").stdout)
    tick = next(e for e in timeline["events"] if e["kind"] == "tick")
    at, span = tick["frame"], slice(tick["frame"] - 200, tick["frame"] + tick["frames"])
    lags = range(-1500, 1501)     # the old stream was 1,105 samples late
    error = [float(np.sum((ref[span] - data[span.start + k:span.stop + k]) ** 2)) for k in lags]
    assert abs(lags[int(np.argmin(error))]) <= 2

    def onset(x: np.ndarray) -> int:
        return int(np.flatnonzero(np.abs(x[at - 1500:at + 200]) > 0.02)[0]) - 1500
    assert abs(onset(data) - onset(ref)) <= 2
    path = tmp_path / "s.mp3"
    path.write_bytes(blob)
    check = subprocess.run(["mp3val", str(path)], capture_output=True, text=True, timeout=60)
    problems = [line for line in check.stdout.splitlines()
                if line.startswith(("WARNING", "ERROR")) and "No supported tags" not in line]
    assert check.returncode == 0 and problems == [], check.stdout


# ------------------------------------------------------- peaks after the codec
def ebur128(source: Path | bytes) -> dict[str, float]:
    """The "Summary:" of ffmpeg's ``ebur128=peak=true+sample``: true and sample
    peak in dBFS of what ffmpeg decodes (a file, or a stream from a pipe)."""
    pipe = isinstance(source, bytes)
    res = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", "-" if pipe else str(source),
                          "-af", "ebur128=peak=true+sample", "-f", "null", "-"],
                         input=source if pipe else None, capture_output=True, timeout=300, check=True)
    summary = res.stderr.decode().rsplit("Summary:", 1)[1]
    found = dict(re.findall(r"(True|Sample) peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary))
    return {"true": float(found["True"]), "sample": float(found["Sample"])}


def tag_peak(path: Path) -> float:
    import mutagen
    tags = mutagen.File(path).tags
    if path.suffix == ".mp3":
        return float(tags["TXXX:REPLAYGAIN_TRACK_PEAK"].text[0])
    return float(tags["REPLAYGAIN_TRACK_PEAK"][0])


LOSSY = [(preset, fmt) for preset in ("hanging", "leg-lifts") for fmt in ("opus", "ogg", "mp3")]


@pytest.fixture(scope="module")
def lossy_files(cli, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Whole built-in sessions in each lossy format, exported once a run: both
    workers decode them (an export renames its file into place when done)."""
    env, _ = cli
    folder = run_wide_folder(tmp_path_factory, "lossy")
    out = {}
    with one_worker_at_a_time(tmp_path_factory, "lossy"):
        for preset, fmt in LOSSY:
            path = out[preset, fmt] = folder / f"{preset}.{fmt}"
            if not path.exists():
                res = voicecoach(env, "export", preset, "--channels", "1", "-o", str(path), timeout=600)
                assert res.returncode == 0, res.stderr
    return out


@pytest.mark.parametrize("preset, fmt", LOSSY)
def test_a_lossy_file_decodes_under_minus_1_dbtp_and_tags_its_decoded_peak(lossy_files, preset, fmt):
    """Lossy codecs overshoot the limiter's -1.5 dBTP (hanging in Opus decoded
    to -0.89 dBTP) and the ReplayGain peak was the PCM's (0.841 against 0.899
    decoded): each file is now decoded, encoded again lower if over, and
    tagged with what it decodes to."""
    path = lossy_files[preset, fmt]
    measured = ebur128(path)
    assert measured["true"] <= -1.0
    import mutagen
    tags = mutagen.File(path).tags
    if fmt == "opus":    # R128 gains alone (RFC 7845)
        assert not [k for k in tags.keys() if k.upper().startswith("REPLAYGAIN")]
        assert "R128_TRACK_GAIN" in {k.upper() for k in tags.keys()}
    else:
        assert abs(tag_peak(path) - 10 ** (measured["sample"] / 20)) <= 0.01


def test_a_lossy_stream_is_encoded_lower_up_front(cli):
    """A stream cannot be encoded again: Opus, the codec that overshoots
    most, streams with a margin under the ceiling."""
    env, _ = cli
    assert ebur128(streamed(env, "hanging", "opus", "--channels", "1"))["true"] <= -1.0
