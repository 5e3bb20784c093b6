"""M4B export on the real path: PyAV encodes, ffprobe/ffmpeg and mutagen read back;
every built-in preset through the real CLI."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from running import private_env, voicecoach

from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.encode.chapters import Chapter
from voicecoach.encode.formats import ExportOptions, writer
from voicecoach.encode.formats.base import Job, check_job
from voicecoach.encode.formats.m4b import PRIMING, SAMPLERATES, M4bFormat, M4bWriter, smpb
from voicecoach.encode.tags import Tags
from voicecoach.encode.writer import export
from voicecoach.errors import InputError
from voicecoach.plan.timeline import Event, Segment, Timeline

pytest.importorskip("av")
pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None,
                                reason="ffmpeg/ffprobe not installed")

SR = 48000
FRAMES = 3 * SR + 777                   # not a whole number of AAC frames
CLICK = 50_001
CHAPTERS = [Chapter(0, "Intro"), Chapter(30_000, "Set 1 of 2"), Chapter(70_001, "Rest"),
            Chapter(100_003, "Set 2 of 2"), Chapter(140_000, "Outro")]
TAGS = Tags(title="Leg lifts", artist="voicecoach", album="leg-lifts",
            comment="voicecoach session: leg-lifts", genre="Fitness", date="2026-12-07",
            track=4, loudness=-19.5, peak=0.891251)


def session(frames: int, sr: int, channels: int = 1) -> np.ndarray:
    """Quiet speech-like noise bursts, and one click at :data:`CLICK` in the last channel."""
    rng = np.random.default_rng(7)
    x = np.zeros((frames, channels), np.float32)
    for start in range(sr // 10, frames - sr // 2, sr // 2):
        n = sr // 5
        x[start:start + n] = 0.05 * rng.standard_normal((n, channels)) * np.hanning(n)[:, None]
    if frames > CLICK:
        x[CLICK - 2000:CLICK + 2000] = 0
        x[CLICK, -1] = 0.9
    return x


def write(path: Path, x: np.ndarray, sr: int, blocks: list[int] | None = None,
          chapters: list[Chapter] = CHAPTERS) -> Path:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    try:
        w = M4bWriter(fd, sr, x.shape[1], chapters, len(x))
        pos = 0
        for n in blocks or [len(x)]:
            w.write(x[pos:pos + n])
            pos += n
        w.write(x[pos:])
        w.close()
        assert w.closed
    finally:
        os.close(fd)
    return path


def ffprobe(path: Path) -> dict:
    res = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-show_format",
                          "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def ffmpeg_decode(path: Path, channels: int) -> np.ndarray:
    res = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a",
                          "-f", "f32le", "-"], capture_output=True, check=True)
    return np.frombuffer(res.stdout, np.float32).reshape(-1, channels)


@pytest.fixture(scope="module")
def mono(tmp_path_factory) -> Path:
    path = write(tmp_path_factory.mktemp("m4b") / "s.m4b", session(FRAMES, SR), SR)
    M4bFormat(Job(FRAMES, 1, SR, "AAC", tuple(CHAPTERS), stream=False)).tag(path, TAGS)
    return path


def test_codec_is_aac_lc_and_duration_is_the_sessions(mono):
    info = ffprobe(mono)
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert [(s["codec_name"], s["profile"], int(s["sample_rate"]), s["channels"])
            for s in audio] == [("aac", "LC", SR, 1)]
    assert abs(float(info["format"]["duration"]) - FRAMES / SR) < 0.001
    assert int(audio[0]["duration_ts"]) == FRAMES       # the edit list, to the sample


def test_ffmpeg_decodes_the_session_rounded_up_to_whole_aac_frames(mono):
    """The priming is cut; FFmpeg keeps the last frame's padding (players that
    honour the edit list or iTunSMPB do not)."""
    y = ffmpeg_decode(mono, 1)
    assert len(y) == -(-FRAMES // 1024) * 1024
    assert np.abs(y[FRAMES:]).max() < 0.01             # the padding is silence


def test_click_decodes_at_its_frame(mono):
    y = ffmpeg_decode(mono, 1)[:, 0]
    near = slice(CLICK - 1500, CLICK + 1500)
    assert abs(int(np.argmax(np.abs(y[near]))) + near.start - CLICK) <= 2


def test_chapters_read_by_ffprobe(mono):
    chaps = ffprobe(mono)["chapters"]
    assert [c["tags"]["title"] for c in chaps] == [c.title for c in CHAPTERS]
    starts = [float(c["start_time"]) for c in chaps]
    assert np.allclose(starts, [c.start / SR for c in CHAPTERS], atol=0.001)
    assert abs(float(chaps[-1]["end_time"]) - FRAMES / SR) < 0.001


def test_chapters_read_by_mutagen(mono):
    from mutagen.mp4 import MP4
    chaps = MP4(mono).chapters
    assert chaps is not None
    assert [c.title for c in chaps] == [c.title for c in CHAPTERS]
    assert np.allclose([c.start for c in chaps], [c.start / SR for c in CHAPTERS], atol=0.001)


def test_tags_read_by_mutagen(mono):
    from mutagen.mp4 import MP4
    t = MP4(mono).tags
    assert t is not None
    assert (t["\xa9nam"], t["\xa9ART"], t["\xa9alb"], t["\xa9gen"], t["\xa9day"], t["\xa9cmt"]) == (
        ["Leg lifts"], ["voicecoach"], ["leg-lifts"], ["Fitness"], ["2026-12-07"],
        ["voicecoach session: leg-lifts"])
    assert t["trkn"] == [(4, 0)]
    assert t["\xa9too"][0].startswith("voicecoach ")
    free = {k.rsplit(":", 1)[1]: bytes(v[0]).decode() for k, v in t.items() if k.startswith("----")}
    assert free["replaygain_track_gain"] == "+1.50 dB"
    assert free["replaygain_track_peak"] == "0.891251"
    fields = free["iTunSMPB"].split()
    assert [int(f, 16) for f in fields[1:4]] == [PRIMING, -FRAMES % 1024, FRAMES]


def test_smpb_is_itunes_layout():
    assert smpb(2048) == (" 00000000 00000400 00000000 0000000000000800"
                          + " 00000000" * 8)


def test_odd_block_sizes_give_the_same_bytes(tmp_path):
    x = session(SR + 5, SR)
    whole = write(tmp_path / "whole.m4b", x, SR).read_bytes()
    odd = write(tmp_path / "odd.m4b", x, SR, blocks=[1, 0, 1023, 1025, 7, 4096, 333]).read_bytes()
    assert odd == whole


def test_stereo_click_in_its_channel(tmp_path):
    path = write(tmp_path / "st.m4a", session(2 * SR + 5, SR, channels=2), SR, chapters=[])
    info = ffprobe(path)
    assert [s["channels"] for s in info["streams"]] == [2]
    assert info["chapters"] == []
    y = ffmpeg_decode(path, 2)
    right = np.abs(y[CLICK - 1500:CLICK + 1500])
    assert abs(int(np.argmax(right[:, 1])) + CLICK - 1500 - CLICK) <= 2
    assert right[:, 0].max() < 0.05 * right[:, 1].max()


@pytest.mark.parametrize("sr", [22050, 44100])
def test_other_rates_keep_the_length(tmp_path, sr):
    frames = 2 * sr + 123
    path = write(tmp_path / "r.m4b", session(frames, sr), sr,
                 chapters=[Chapter(0, "Intro"), Chapter(sr, "Set 1 of 1")])
    info = ffprobe(path)
    assert int(info["streams"][0]["sample_rate"]) == sr
    assert abs(float(info["format"]["duration"]) - frames / sr) < 0.001
    assert [round(float(c["start_time"]) * sr) for c in info["chapters"]] == [0, sr]


@pytest.mark.parametrize("sr", [44000, 7350, 192000])
def test_bad_samplerate_is_refused(sr):
    assert sr not in SAMPLERATES
    with pytest.raises(InputError, match=f"^m4b cannot be written at {sr} Hz; use one of 8000, "):
        check_job(M4bFormat, None, sr)


TIMELINE = Timeline("p", SR, SR, (Segment("intro", 0, SR // 2), Segment("outro", SR // 2, SR // 2)),
                    (Event(100, "tick", 1920),))


@pytest.mark.parametrize("name", ["m4b", "m4a"])
def test_both_names_are_the_registered_writer(name, tmp_path):
    assert writer(name) is M4bFormat
    assert (M4bFormat.subtypes, M4bFormat.streams, M4bFormat.lossy) == (("AAC",), False, True)
    mixer = Mixer(TIMELINE, {}, make_sounds(SR))
    written = export(mixer, TIMELINE, tmp_path / f"s.{name}", ExportOptions(stems=True, title="T"))
    assert [p.name for p in written] == [f"s.{name}", f"s.voice.{name}", f"s.ticks.{name}"]
    for path, title in zip(written, ["T", "T (voice)", "T (ticks)"], strict=True):
        info = ffprobe(path)
        assert info["streams"][0]["codec_name"] == "aac"
        assert int(info["streams"][0]["duration_ts"]) == SR
        assert info["format"]["tags"]["title"] == title
        assert [c["tags"]["title"] for c in info["chapters"]] == ["Intro", "Outro"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)


def test_a_fifo_is_refused_in_one_line_before_anything_opens(tmp_path):
    fifo = tmp_path / "pipe.m4b"
    os.mkfifo(fifo)                  # never opened: opening a FIFO with no reader would block
    with pytest.raises(InputError) as info:
        export(Mixer(TIMELINE, {}, make_sounds(SR)), TIMELINE, fifo, ExportOptions())
    assert str(info.value) == (f"--output: {fifo}: m4b cannot be written to a stream "
                               "(standard output, a FIFO or a device); name a file")
    assert info.value.exit_code == 2 and os.listdir(tmp_path) == ["pipe.m4b"]


@pytest.mark.parametrize("fmt", ["m4b", "m4a"])
def test_standard_output_is_refused_by_the_cli_before_synthesis(run, fmt):
    r = run("export", "--engine", "pyttsx3", "-o", "-", "--format", fmt)
    assert r.code == 2 and r.out == ""
    assert r.err.splitlines() == [f"voicecoach: error: --output: standard output: {fmt} cannot be written to a stream "
                                     "(standard output, a FIFO or a device); name a file"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_is_an_oserror_the_exporter_reports():
    fd = os.open("/dev/full", os.O_RDWR)
    try:
        w = M4bWriter(fd, SR, 1, CHAPTERS, FRAMES)
        with pytest.raises(OSError) as caught:
            for _ in range(20):
                w.write(session(SR, SR))
            w.close()
        assert caught.value.errno == errno.ENOSPC
        w.close()                                  # the exporter's clean-up: no second error
        assert w.closed
    finally:
        os.close(fd)


# ------------------------------------------------------------ every built-in preset, through the CLI
EXPORT_RATE = 16000     # the plan is the same at any rate; a low one encodes fast


def chapter_list(path: Path) -> list[tuple[str, float]]:
    return [(c["tags"]["title"], float(c["start_time"])) for c in ffprobe(path)["chapters"]]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_builtin_preset_exports_to_m4b(tmp_path, shared_cache_dir):
    from mutagen.flac import FLAC
    from mutagen.mp4 import MP4

    env = dict(private_env(tmp_path), VOICECOACH_CACHE_DIR=str(shared_cache_dir))
    listed = voicecoach(env, "presets", "list", check=True).stdout.decode()
    presets = [line.split()[0] for line in listed.splitlines() if line and not line.startswith("Make your own")]
    assert {"leg-lifts", "plank", "warmup"} <= set(presets)
    plans = {name: json.loads(voicecoach(env, "timeline", name, "--engine", "pyttsx3", "--json", check=True).stdout)
             for name in presets}     # one at a time: this synthesises the cues into the cache

    def export(path: Path) -> None:
        voicecoach(env, "export", path.stem, "--engine", "pyttsx3", "--samplerate", str(EXPORT_RATE),
                   "-o", str(path), check=True)

    with ThreadPoolExecutor(2) as pool:     # the two cores
        list(pool.map(export, [tmp_path / f"{name}.{ext}" for name in presets for ext in ("m4b", "flac")]))
    for name, plan in plans.items():
        m4b, flac = tmp_path / f"{name}.m4b", tmp_path / f"{name}.flac"
        info = ffprobe(m4b)
        assert [s["codec_name"] for s in info["streams"] if s["codec_type"] == "audio"] == ["aac"], name
        assert abs(float(info["format"]["duration"]) - plan["frames"] / plan["samplerate"]) <= 0.001, name
        got, want = chapter_list(m4b), chapter_list(flac)
        assert [t for t, _ in got] == [t for t, _ in want], name
        assert all(abs(a - b) <= 0.001 for (_, a), (_, b) in zip(got, want, strict=True)), name
        sets = {s["set"] for s in plan["segments"] if s["set"] is not None}
        named = [int(t.split()[1]) for t, _ in got if t.startswith("Set ")]
        assert set(named) == sets and len(named) == len(sets) * (1 + any("left" in t for t, _ in got)), name
        tags, flac_tags = MP4(m4b).tags, FLAC(flac)
        assert tags is not None
        assert (tags["\xa9nam"], tags["\xa9ART"], tags["\xa9alb"]) == (
            flac_tags["title"], ["voicecoach"], flac_tags["album"]), name
        assert tags["\xa9nam"][0] and tags["\xa9alb"][0], name
