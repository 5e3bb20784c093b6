"""Export: real files read back with soundfile and ffprobe, atomic writes, errors."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.encode import writer as export_mod
from voicecoach.encode.chapters import Chapter, chapters, cue_sheet
from voicecoach.encode.formats import FORMATS, ExportOptions, format_for
from voicecoach.encode.streaming import stream
from voicecoach.encode.wav import WavWriter
from voicecoach.encode.writer import export
from voicecoach.errors import ExportError, InputError
from voicecoach.plan.timeline import Event, Segment, Timeline

SR = 48000
FRAMES = 3 * SR
needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")


def burst(n: int, seed: int, peak: float = 0.5) -> np.ndarray:
    """Decaying noise: a stand-in for a synthesized word."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 5))
    return (x * (peak / np.max(np.abs(x)))).astype(np.float32)


def make_timeline() -> Timeline:
    segments = (
        Segment("intro", 0, 24000),
        Segment("concentric", 24000, 24000, set=1, rep=1),
        Segment("eccentric", 48000, 24000, set=1, rep=1),
        Segment("rest", 72000, 24000),
        Segment("concentric", 96000, 24000, set=2, rep=1),
        Segment("outro", 120000, 24000),
    )
    events = (
        Event(2000, "speech", 9600, "Lift"),
        Event(24000, "accent", 2400, set=1, rep=1),
        Event(36000, "tick", 1920, set=1, rep=1),
        Event(48000, "tick", 1920, set=1, rep=1),
        Event(60000, "tick", 1920, set=1, rep=1),
        Event(72000, "bell", 72000),
        Event(100000, "speech", 14400, "Go"),       # clip is longer: cut to 14400
        Event(130000, "tick", 1920),                # over the bell's tail
    )
    return Timeline("leg-lifts", SR, FRAMES, segments, events)


TIMELINE = make_timeline()
SPEECH = {"Lift": burst(9600, 1), "Go": burst(20000, 2)}
SOUNDS = make_sounds(SR)
ONSET_EVENTS = [e for e in TIMELINE.events if e.frame in (24000, 36000, 48000, 60000)]


def make_mixer(channels: int = 1) -> Mixer:
    return Mixer(TIMELINE, SPEECH, SOUNDS, channels=channels)


def full_render(m: Mixer, bus: str | None = None) -> np.ndarray:
    out = np.empty((m.frames, m.channels), np.float32)
    m.render(out, 0, bus)
    return out


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".part-" in p.name)


def ffprobe(path: Path) -> dict:
    res = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-show_format",
                          "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def mixer() -> Mixer:
    return make_mixer()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, mixer):
    """Each format (and WAV subtype) exported once, with stems and a cue sheet."""
    root = tmp_path_factory.mktemp("exports")
    made: dict[str, tuple[Path, list[Path]]] = {}
    for key, name, subtype in [("wav-float", "float.wav", "FLOAT"), ("wav", "pcm.wav", None),
                               ("flac", "s.flac", None), ("ogg", "s.ogg", None),
                               ("opus", "s.opus", None), ("mp3", "s.mp3", None)]:
        path = root / name
        opts = ExportOptions(subtype=subtype, stems=True, cue_sheet=True, title="Leg lifts",
                             date="2026-12-01", track=4, loudness=-19.0)
        made[key] = (path, export(mixer, TIMELINE, path, opts))
    return made


# ------------------------------------------------------------ lossless files
def test_float_wav_equals_the_mixer_output(exported, mixer):
    path, written = exported["wav-float"]
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == SR and data.shape == (FRAMES, 1)
    np.testing.assert_allclose(data, full_render(mixer), rtol=0, atol=1e-7)
    assert written == [path, path.with_name("float.voice.wav"), path.with_name("float.ticks.wav"),
                       path.with_name("float.cue")]
    assert sf.info(path).subtype == "FLOAT"


@pytest.mark.parametrize("key", ["wav", "flac"])
def test_pcm16_is_within_one_lsb(exported, mixer, key):
    path, _ = exported[key]
    info = sf.info(path)
    assert (info.frames, info.samplerate, info.channels, info.subtype) == (FRAMES, SR, 1, "PCM_16")
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    err = np.abs(data - full_render(mixer))
    assert err.max() <= 1 / 32768
    assert err.max() <= 0.5 / 32768 + 1e-9   # rounded, not floored


@pytest.mark.parametrize("key", ["wav-float", "wav", "flac"])
def test_every_tick_is_at_its_frame(exported, key):
    path, _ = exported[key]
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    x = np.abs(data[:, 0])
    threshold = 1e-3
    for ev in ONSET_EVENTS:
        clip = SOUNDS[ev.kind]
        expected = ev.frame + int(np.argmax(np.abs(clip) > threshold))
        window = x[ev.frame - 480:ev.frame + 480]
        assert not window[:480].any(), f"{ev.kind} at {ev.frame}: not preceded by silence"
        found = ev.frame - 480 + int(np.argmax(window > threshold))
        assert abs(found - expected) <= 1, (ev.kind, ev.frame, found, expected)


class RecordingSink:
    """An encoder's seam: keeps what ``stream`` writes."""

    subtype = "FLOAT"

    def __init__(self):
        self.blocks: list[np.ndarray] = []

    def write(self, block: np.ndarray) -> None:
        self.blocks.append(block.copy())


@pytest.mark.parametrize("block", [1000, 4096, 10007, 65536])
@pytest.mark.parametrize("limited", [False, True])
def test_streamed_stems_are_the_dense_render_byte_for_byte(mixer, block, limited):
    """Stems are rendered only where their bus sounds; every sample is still
    the mixer's render of the whole bus (blocks cut inside, across and
    between sounds; with the limiter's gain plan applied too)."""
    from voicecoach.audio.normalise import limiter_plan
    m = mixer.with_master(8.0, limiter_plan(mixer, 8.0)) if limited else mixer
    if limited:
        assert m._limit is not None            # the plan really applies here
    sinks = {bus: RecordingSink() for bus in (None, "voice", "ticks")}
    assert stream(m, [(f, bus) for bus, f in sinks.items()], block=block) == m.frames
    for bus, f in sinks.items():
        got = np.concatenate(f.blocks)
        want = full_render(m, bus)
        assert got.tobytes() == want.tobytes(), bus
        assert np.any(got != 0), bus


def test_stems_sum_to_the_mix(exported):
    path, written = exported["wav-float"]
    mix, voice, ticks = (sf.read(p, dtype="float32")[0] for p in written[:3])
    np.testing.assert_allclose(voice + ticks, mix, rtol=0, atol=1e-7)
    assert np.abs(voice).max() > 0.1 and np.abs(ticks).max() > 0.1
    # the voice stem is silent where only ticks sound, and vice versa
    assert not voice[36000:38000].any() and not ticks[2000:11000].any()


def test_pcm16_stems_sum_to_the_mix_within_rounding(exported):
    mix, voice, ticks = (sf.read(p, dtype="float32")[0] for p in exported["wav"][1][:3])
    assert np.abs(voice + ticks - mix).max() <= 1.5 / 32768


# --------------------------------------------------------------- lossy files
@needs_ffprobe
@pytest.mark.parametrize("key, codec", [("ogg", "vorbis"), ("opus", "opus"), ("mp3", "mp3"),
                                        ("flac", "flac"), ("wav", "pcm_s16le")])
def test_ffprobe_decodes_with_the_right_duration(exported, key, codec):
    path, _ = exported[key]
    probe = ffprobe(path)
    (stream_info,) = probe["streams"]
    assert stream_info["codec_name"] == codec
    assert int(stream_info["sample_rate"]) == SR and stream_info["channels"] == 1
    assert abs(float(probe["format"]["duration"]) - FRAMES / SR) <= 0.060


@pytest.mark.parametrize("key", ["ogg", "opus", "mp3"])
def test_lossy_files_read_back_with_soundfile(exported, mixer, key):
    path, _ = exported[key]
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == SR and data.shape[1] == 1
    assert abs(len(data) - FRAMES) <= 0.060 * SR
    ref = full_render(mixer)[:, 0]
    # loudness where the voice speaks, silence-ish where nothing sounds
    assert np.sqrt(np.mean(data[2000:11000, 0] ** 2)) == pytest.approx(
        np.sqrt(np.mean(ref[2000:11000] ** 2)), rel=0.3)
    assert np.abs(data[13000:23000, 0]).max() < 0.01


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_mp3_mix_and_stems_decode_to_the_wav_pcm_with_exact_silence(exported, tmp_path):
    """Islands of sound and empty frames between: ffmpeg gets every sample
    where the PCM has it, as close as one LAME encoder fed all of it gets,
    and exact zeros far from any sound."""
    from voicecoach.encode.mp3_writer import Mp3Writer

    def decoded(mp3: Path) -> np.ndarray:
        res = subprocess.run(["ffmpeg", "-v", "error", "-i", str(mp3), "-f", "f32le", "-ac", "1",
                              "-"], capture_output=True, check=True)
        assert res.stderr == b""
        return np.frombuffer(res.stdout, np.float32)

    def snr(got: np.ndarray) -> float:
        return 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((got - ref) ** 2.0))

    mp3s, wavs = exported["mp3"][1][:3], exported["wav-float"][1][:3]
    for mp3, wav in zip(mp3s, wavs):
        ref = sf.read(wav, dtype="float32", always_2d=True)[0]
        one = Mp3Writer(tmp_path / "one.mp3", SR, 1, min_gap=10 ** 12)   # never an island
        one.write(ref)
        one.close()
        ref = ref[:, 0]
        got = decoded(mp3)
        assert len(got) == FRAMES, mp3.name
        count = np.concatenate(([0], np.cumsum(ref != 0)))     # no sound within 2600
        i = np.arange(FRAMES)
        far = count[np.minimum(i + 2601, FRAMES)] == count[np.maximum(i - 2600, 0)]
        assert far.sum() > 0.1 * FRAMES and not got[far].any(), mp3.name
        assert snr(got) > snr(decoded(tmp_path / "one.mp3")) - 1.0, mp3.name
        assert snr(got) > 3, mp3.name          # noise bursts: a shifted copy gives < 0


# ------------------------------------------------------- chapters and tags
@needs_ffprobe
@pytest.mark.parametrize("key", ["mp3", "ogg", "opus", "flac"])
def test_chapters_seen_by_ffprobe(exported, key):
    path, _ = exported[key]
    got = ffprobe(path)["chapters"]
    want = chapters(TIMELINE)
    assert [c["tags"]["title"] for c in got] == [c.title for c in want]
    for c, w in zip(got, want):
        assert abs(float(c["start_time"]) - w.start / SR) <= 0.001
    assert [c.title for c in want] == ["Intro", "Set 1 of 2", "Rest", "Set 2 of 2", "Outro"]


def test_mp3_chapter_frames_are_in_time_order(exported):
    from mutagen.id3 import ID3
    path, _ = exported["mp3"]
    tags = ID3(path)
    (toc,) = tags.getall("CTOC")
    assert toc.child_element_ids == [f"chp{i}" for i in range(5)]
    chaps = {c.element_id: c for c in tags.getall("CHAP")}
    starts = [chaps[e].start_time for e in toc.child_element_ids]
    ends = [chaps[e].end_time for e in toc.child_element_ids]
    assert starts == [0, 500, 1500, 2000, 2500] and ends == [500, 1500, 2000, 2500, 3000]
    assert str(chaps["chp1"].sub_frames["TIT2"]) == "Set 1 of 2"
    assert tags.version[:2] == (2, 3)


@pytest.mark.parametrize("key", ["mp3", "ogg", "opus", "flac", "wav", "wav-float"])
def test_tags(exported, key):
    path, written = exported[key]
    if key.startswith("wav"):           # the exporter's own RIFF INFO, and libsndfile's
        with sf.SoundFile(path) as f:
            assert (f.title, f.artist, f.album) == ("Leg lifts", "voicecoach", "leg-lifts")
        with sf.SoundFile(written[1]) as f:
            assert f.title == "Leg lifts (voice)"
        return
    audio = mutagen.File(path)
    if key == "mp3":
        assert str(audio.tags["TIT2"]) == "Leg lifts"
        assert str(audio.tags["TPE1"]) == "voicecoach"
        assert str(audio.tags["TALB"]) == "leg-lifts"
    else:
        assert audio["title"] == ["Leg lifts"] and audio["artist"] == ["voicecoach"]
        assert audio["album"] == ["leg-lifts"]
        assert audio["chapter002name"] == ["Set 1 of 2"]
        assert audio["chapter002"] == ["00:00:00.500"]


@pytest.mark.parametrize("key", ["mp3", "ogg", "opus", "flac"])
def test_library_and_loudness_tags(exported, key):
    path, written = exported[key]
    audio = mutagen.File(path)
    if key == "mp3":
        got = {k: str(audio.tags[f]) for k, f in (("genre", "TCON"), ("track", "TRCK"),
                                                   ("gain", "TXXX:REPLAYGAIN_TRACK_GAIN"),
                                                   ("peak", "TXXX:REPLAYGAIN_TRACK_PEAK"))}
        assert str(audio.tags["TDRC"]).startswith("2026")
    elif key == "opus":     # R128 gains alone (RFC 7845)
        assert audio["r128_track_gain"] == [str(-4 * 256)]   # to -23 LUFS: -4 dB, Q7.8
        assert not [k for k in audio.keys() if k.lower().startswith("replaygain")]
        return
    else:
        got = {k: audio[f][0] for k, f in (("genre", "genre"), ("track", "tracknumber"),
                                           ("gain", "replaygain_track_gain"),
                                           ("peak", "replaygain_track_peak"))}
        assert audio["date"] == ["2026-12-01"]
    assert got["genre"] == "Fitness" and got["track"] == "4"
    assert got["gain"] == "+1.00 dB"                     # -18 LUFS reference, -19 measured
    # the PCM's peak, or a lossy file's as decoded (under -1 dBTP)
    assert 0 < float(got["peak"]) <= 10 ** ((-1.5 if key == "flac" else -1.0) / 20) + 1e-6
    stem = mutagen.File(written[1])
    assert "replaygain_track_gain" not in {k.lower().split(":")[-1] for k in stem.keys()}


def test_wav_carries_cue_points_with_labels(exported):
    import struct
    path, _ = exported["wav"]
    data = path.read_bytes()
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    cue = data.index(b"cue ")
    n = struct.unpack("<I", data[cue + 8:cue + 12])[0]
    frames = [struct.unpack("<I", data[cue + 12 + 24 * i + 20:cue + 12 + 24 * i + 24])[0]
              for i in range(n)]
    assert frames == [c.start for c in chapters(TIMELINE)]
    assert b"labl" in data and b"Set 1 of 2\0" in data


def test_cue_sheet_file(exported):
    path, written = exported["mp3"]
    text = written[-1].read_text(encoding="utf-8")
    assert written[-1] == path.with_suffix(".cue")
    assert 'FILE "s.mp3" MP3' in text
    lines = [ln.strip() for ln in text.splitlines()]
    assert lines.count("TRACK 01 AUDIO") == 1 and "TRACK 05 AUDIO" in lines
    idx = [ln.split()[-1] for ln in lines if ln.startswith("INDEX 01")]
    assert idx == ["00:00:00", "00:00:37", "00:01:37", "00:02:00", "00:02:37"]  # 75 ff/s, floored
    assert 'TITLE "Set 2 of 2"' in lines
    wav_cue = exported["wav"][1][-1].read_text(encoding="utf-8")
    assert 'FILE "pcm.wav" WAVE' in wav_cue


def test_cue_sheet_long_session_and_quotes():
    chaps = [Chapter(0, 'Say "go"'), Chapter(SR * 3725 + SR // 2, "Rest"), Chapter(SR * 3725 + SR // 2, "x")]
    text = cue_sheet(chaps, "a b.wav", SR, title="T")
    assert 'TITLE "Say \u201dgo\u201d"' in text      # no escape exists: typographic quotes
    assert 'FILE "a b.wav" WAVE' in text
    assert "INDEX 01 62:05:37" in text
    assert text.count("TRACK") == 2   # same CD frame: the later chapter is dropped


@pytest.mark.parametrize("name", ['say "go".wav', "a\nb.wav", " lead.wav"])
def test_cue_sheet_refuses_a_file_name_it_cannot_hold(name):
    with pytest.raises(InputError, match="--cue: a cue sheet cannot name"):
        cue_sheet([Chapter(0, "Intro")], name, SR)


def _set(n, start, sides, reps=2):
    """Segments of set ``n`` from ``start``: reps of 10 frames on ``sides`` in turn."""
    out, t = [], start
    for rep, side in zip(range(1, reps + 1), sides):
        out += [Segment("concentric", t, 5, set=n, rep=rep, side=side),
                Segment("eccentric", t + 5, 5, set=n, rep=rep, side=side)]
        t += 10
    return out, t


def test_alternating_sides_live_inside_one_chapter_per_set_from_its_announcement():
    s1, t = _set(1, 20, ["Left", "Right", "Left", "Right"], reps=4)
    s2, end = _set(2, t + 30, ["Left", "Right", "Left", "Right"], reps=4)
    seg = [Segment("intro", 0, 10), Segment("get_ready", 10, 10, set=1), *s1,
           Segment("rest", t, 30, set=1), *s2, Segment("outro", end, 10)]
    events = (Event(12, "speech", 5, "Set 1 of 2. Get ready.", set=1),
              Event(t + 2, "speech", 5, "Rest", set=1),
              Event(t + 20, "speech", 5, "Next up, set 2 of 2.", set=2),
              Event(t + 26, "speech", 2, "One", set=2))
    tl = Timeline("p", SR, end + 10, tuple(seg), events)
    assert chapters(tl) == [Chapter(0, "Intro"), Chapter(10, "Set 1 of 2"), Chapter(t, "Rest"),
                            Chapter(t + 20, "Set 2 of 2"), Chapter(end, "Outro")]


def test_chapters_merge_reps_and_open_sets_at_get_ready():
    seg = [Segment("intro", 0, 10), Segment("warmup", 10, 10),
           Segment("get_ready", 20, 5, set=1), Segment("concentric", 25, 5, set=1, rep=1, side="left"),
           Segment("eccentric", 30, 5, set=1, rep=1, side="left"),
           Segment("concentric", 35, 5, set=1, rep=1, side="right"),
           Segment("rest", 40, 10), Segment("rest", 50, 10),
           Segment("get_ready", 60, 5, set=2), Segment("hold", 65, 5, set=2, rep=1),
           Segment("outro", 70, 10)]
    tl = Timeline("p", SR, 80, tuple(seg), ())
    assert chapters(tl) == [
        Chapter(0, "Intro"), Chapter(10, "Warm-up"), Chapter(20, "Set 1 of 2, left"),
        Chapter(35, "Set 1 of 2, right"), Chapter(40, "Rest"), Chapter(60, "Set 2 of 2"),
        Chapter(70, "Outro")]


# ---------------------------------------------------------- format choice
@pytest.mark.parametrize("path, fmt, want", [
    ("a.wav", None, "wav"), ("A.MP3", None, "mp3"), ("x.opus", None, "opus"),
    ("x.ogg", None, "ogg"), ("x.flac", None, "flac"), ("x.wav", "flac", "flac"),
    ("noext", "OGG", "ogg"), ("x.bin", ".mp3", "mp3"), ("x.M4B", None, "m4b"), ("x.m4a", None, "m4a"),
])
def test_format_for(path, fmt, want):
    assert format_for(Path(path), fmt) == want


@pytest.mark.parametrize("path, fmt, named", [
    ("a.aiff", None, "'aiff'"), ("a.wav", "aac", "'aac'"), ("noext", None, "noext"),
])
def test_format_for_rejects_unknown(path, fmt, named):
    with pytest.raises(InputError) as info:
        format_for(Path(path), fmt)
    msg = str(info.value)
    assert named in msg and all(f in msg for f in FORMATS)
    assert info.value.exit_code == 2


def test_opus_at_44100_is_an_input_error(tmp_path):
    tl = Timeline("p", 44100, 100, (Segment("intro", 0, 100),), ())
    m = Mixer(tl, {}, make_sounds(44100))
    with pytest.raises(InputError, match="44100") as info:
        export(m, tl, tmp_path / "x.opus", ExportOptions(samplerate=44100))
    assert "48000" in str(info.value) and info.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []
    # the same rate is fine for ogg/vorbis
    export(m, tl, tmp_path / "x.ogg", ExportOptions(samplerate=44100))


def test_bad_options(mixer, tmp_path):
    with pytest.raises(InputError, match="channels"):
        ExportOptions(channels=3)
    with pytest.raises(InputError, match="sample rate"):
        ExportOptions(samplerate=0)
    with pytest.raises(ValueError, match="block"):
        ExportOptions(block=0)
    with pytest.raises(TypeError):
        ExportOptions(format=3)
    with pytest.raises(TypeError):
        ExportOptions(stems="yes")
    with pytest.raises(InputError, match="FLOAT"):
        export(mixer, TIMELINE, tmp_path / "x.flac", ExportOptions(subtype="FLOAT"))
    with pytest.raises(ValueError, match="channels"):
        export(mixer, TIMELINE, tmp_path / "x.wav", ExportOptions(channels=2))
    with pytest.raises(ValueError, match="sample rates"):
        export(mixer, TIMELINE, tmp_path / "x.wav", ExportOptions(samplerate=24000))
    assert list(tmp_path.iterdir()) == []


def test_stereo_wav_has_the_mix_on_both_channels(tmp_path):
    m = make_mixer(channels=2)
    path = tmp_path / "st.wav"
    export(m, TIMELINE, path, ExportOptions(channels=2, subtype="FLOAT"))
    data, _ = sf.read(path, dtype="float32")
    assert data.shape == (FRAMES, 2)
    np.testing.assert_array_equal(data[:, 0], data[:, 1])
    np.testing.assert_allclose(data, full_render(m), atol=1e-7, rtol=0)


def test_no_extension_with_format_names_stems_sensibly(mixer, tmp_path):
    written = export(mixer, TIMELINE, tmp_path / "session",
                     ExportOptions(format="wav", stems=True, cue_sheet=True))
    assert [p.name for p in written] == ["session", "session.voice.wav", "session.ticks.wav",
                                         "session.cue"]
    assert sf.info(written[0]).frames == FRAMES


# -------------------------------------------------- progress and streaming
def test_progress_after_each_block(mixer, tmp_path):
    seen: list[int] = []
    export(mixer, TIMELINE, tmp_path / "p.wav", ExportOptions(block=50000), progress=seen.append)
    assert seen == [50000, 100000, FRAMES]


def test_stream_into_bytesio(mixer):
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", SR, 1, "FLOAT", format="WAV") as f:
        assert stream(mixer, [(f, None)], block=1000) == FRAMES
    buf.seek(0)
    data, _ = sf.read(buf, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(data, full_render(mixer))


def test_stream_pcm16_rounds_to_nearest():
    tl = Timeline("p", SR, 6, (Segment("intro", 0, 6),), (Event(0, "speech", 6, "x"),))
    x = np.array([0.25, -0.4, 0.3, 0.4499, -0.4499, 1e-5], np.float32)   # under the limiter
    m = Mixer(tl, {"x": x}, SOUNDS)
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", SR, 1, "PCM_16", format="WAV") as f:
        stream(m, [(f, None)], block=4)
    buf.seek(0)
    ints, _ = sf.read(buf, dtype="int16")
    np.testing.assert_array_equal(ints, np.rint(x.astype(np.float64) * 32768).astype(np.int16))


# ------------------------------------------------------------ atomic writes
def _interrupting(monkeypatch, mixer, after_calls: int, exc: BaseException):
    calls = {"n": 0}
    real = mixer.render

    def render(out, start, bus=None):
        calls["n"] += 1
        if calls["n"] > after_calls:
            raise exc
        real(out, start, bus)

    monkeypatch.setattr(mixer, "render", render)
    return calls


@pytest.mark.parametrize("name", ["old.wav", "old.ogg", "old.mp3"])
def test_interrupt_keeps_the_old_file_and_leaves_no_temps(monkeypatch, mixer, tmp_path, name):
    target = tmp_path / name
    target.write_bytes(b"previous export")
    _interrupting(monkeypatch, mixer, 5, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        export(mixer, TIMELINE, target, ExportOptions(block=4096, stems=True, cue_sheet=True))
    assert target.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_interrupt_with_no_old_file_leaves_nothing(monkeypatch, mixer, tmp_path):
    _interrupting(monkeypatch, mixer, 2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        export(mixer, TIMELINE, tmp_path / "new.flac", ExportOptions(block=4096))
    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_tagging_leaves_the_old_file(monkeypatch, mixer, tmp_path):
    target = tmp_path / "t.ogg"
    target.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("voicecoach.encode.formats.base.tag_vorbis", boom)
    with pytest.raises(KeyboardInterrupt):
        export(mixer, TIMELINE, target, ExportOptions(cue_sheet=True))
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_tagging_failure_is_an_export_error(monkeypatch, mixer, tmp_path):
    def broken(*args, **kwargs):
        raise mutagen.MutagenError("tag too large")

    monkeypatch.setattr("voicecoach.encode.formats.mp3.tag_mp3", broken)
    with pytest.raises(ExportError, match=r"t\.mp3: tag too large") as info:
        export(mixer, TIMELINE, tmp_path / "t.mp3", ExportOptions())
    assert info.value.exit_code == 1 and list(tmp_path.iterdir()) == []


def test_encoder_failure_is_an_export_error(monkeypatch, mixer, tmp_path):
    def failing_write(self, data):
        raise sf.LibsndfileError(1, prefix="Error writing: ")

    monkeypatch.setattr(sf.SoundFile, "write", failing_write)
    with pytest.raises(ExportError, match=r"cannot write .*e\.flac") as info:
        export(mixer, TIMELINE, tmp_path / "e.flac", ExportOptions())
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_new_file_mode_follows_umask_and_old_mode_is_kept(mixer, tmp_path):
    fresh = tmp_path / "fresh.wav"
    old = os.umask(0o022)
    try:
        export(mixer, TIMELINE, fresh, ExportOptions())
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o644     # not mkstemp's 0600
    kept = tmp_path / "kept.wav"
    kept.write_bytes(b"x")
    kept.chmod(0o640)
    export(mixer, TIMELINE, kept, ExportOptions())
    assert kept.stat().st_mode & 0o777 == 0o640 and sf.info(kept).frames == FRAMES


# ---------------------------------------------------------- unusable targets
@pytest.mark.parametrize("make_path, cause", [
    (lambda tmp: (tmp / "plain").write_text("x") and tmp / "plain" / "x.wav", "is not a folder"),
    (lambda tmp: tmp / "missing" / "x.wav", "does not exist"),
])
def test_unusable_folder_is_bad_input(mixer, tmp_path, make_path, cause):
    path = make_path(tmp_path)
    with pytest.raises(InputError) as info:
        export(mixer, TIMELINE, path, ExportOptions())
    msg = str(info.value)
    assert str(path) in msg and cause in msg and "\n" not in msg
    assert info.value.exit_code == 2


def test_target_is_a_directory(mixer, tmp_path):
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        export(mixer, TIMELINE, tmp_path / "d.wav", ExportOptions())
    assert (tmp_path / "d.wav").is_dir() and list((tmp_path / "d.wav").iterdir()) == []


# ------------------------------------------------------------------ disk full
def long_timeline(seconds: int, speech_frames: int = 38400) -> tuple[Timeline, dict]:
    """A tick each second, an accent and a 0.8 s cue every 7 s."""
    events = []
    for s in range(seconds):
        if s % 7 == 0:
            events += [Event(s * SR, "accent", 2400), Event(s * SR + 4800, "speech", speech_frames, "count")]
        events.append(Event(s * SR, "tick", 1920))
    events.sort(key=lambda e: (e.frame, e.kind))
    tl = Timeline("long", SR, seconds * SR, (Segment("intro", 0, seconds * SR),), tuple(events))
    return tl, {"count": burst(speech_frames, 3)}


@pytest.fixture
def tiny_fs(tmp_path):
    """A 16 KiB tmpfs, mounted for the test and unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill up needs root")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"mount -t tmpfs not permitted here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("name", ["full.wav", "full.flac", "full.ogg", "full.opus", "full.mp3"])
def test_disk_full_is_an_export_error_and_leaves_nothing(tiny_fs, name):
    tl, speech = long_timeline(20)
    m = Mixer(tl, speech, SOUNDS)
    target = tiny_fs / name
    with pytest.raises(ExportError) as info:
        export(m, tl, target, ExportOptions(stems=True, cue_sheet=True, block=8192))
    msg = str(info.value)
    # names the file that hit the wall (the mix or a stem) and the cause, on one line
    assert "No space left on device" in msg and str(tiny_fs / "full.") in msg and "\n" not in msg
    assert list(tiny_fs.iterdir()) == []


@pytest.mark.parametrize("stems", [False, True], ids=["mix", "stems"])
@pytest.mark.parametrize("name", ["full.wav", "full.flac", "full.ogg", "full.opus", "full.mp3"])
def test_a_disk_full_before_the_first_block_says_so(tiny_fs, name, stems):
    """Every encoder's first write fails: libsndfile's FLAC encoder then
    reports "problem with initialization of the flac decoder", which is not
    what the user must free up. (With stems, whether the disk fills before
    or after a stem's encoder starts depends on its thread: this is that
    race, made certain.)"""
    filler = tiny_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, bytes(512))
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    tl, speech = long_timeline(20)
    with pytest.raises(ExportError) as info:
        export(Mixer(tl, speech, SOUNDS), tl, tiny_fs / name, ExportOptions(stems=stems))
    msg = str(info.value)
    assert "No space left on device" in msg and str(tiny_fs / "full.") in msg, msg
    assert list(tiny_fs.iterdir()) == [filler]


# ------------------------------------------------------------------- memory
MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_export import long_timeline, SOUNDS
    from voicecoach.encode.formats import ExportOptions
    from voicecoach.encode.writer import export
    from voicecoach.audio.mixer import Mixer
    tl, speech = long_timeline(int(sys.argv[1]) * 60)
    out = Path(sys.argv[2])
    export(Mixer(tl, speech, SOUNDS), tl, out, ExportOptions())
    size = out.stat().st_size
    out.unlink()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, size)
""")


def test_memory_does_not_grow_with_session_length(tmp_path):
    """Peak RSS for 60 minutes stays near that of 2 minutes (no timing asserts)."""
    script = tmp_path / "mem.py"
    script.write_text(MEMORY_SCRIPT.format(tests=str(Path(__file__).parent)))
    peaks = {}
    for minutes in (2, 60):
        res = subprocess.run([sys.executable, str(script), str(minutes), str(tmp_path / "m.wav")],
                             capture_output=True, text=True, check=True)
        rss_kib, size = map(int, res.stdout.split())
        assert size > 2 * minutes * 60 * SR          # PCM_16 data really was written
        peaks[minutes] = rss_kib
    # the whole 60-minute mix would be 690 MB as float32; allow 24 MB of slack
    assert peaks[60] - peaks[2] < 24 * 1024, peaks


@pytest.mark.parametrize("subtype, dtype", [("FLOAT", "float32"), ("PCM_16", "int16")])
def test_wav_stream_header_reads_back_as_its_subtype(subtype, dtype):
    from voicecoach.encode.wav import header as wav_header
    x = (np.sin(np.arange(1000) / 7) * 0.5).astype(np.float32)
    body = x if dtype == "float32" else np.rint(x * 32767).astype(np.int16)
    head = wav_header(len(x), 1, 16000, subtype)
    assert len(head) == 44
    data, sr = sf.read(io.BytesIO(head + body.tobytes()), dtype=dtype)
    info = sf.info(io.BytesIO(head + body.tobytes()))
    assert sr == 16000 and info.subtype == subtype and np.array_equal(data, body)


def test_wav_stream_header_takes_exactly_up_to_four_gib():
    from voicecoach.encode.wav import header as wav_header
    most = (0xFFFFFFFF - 36) // 3                    # 24-bit mono: 3 bytes a frame, to the byte
    assert most * 3 == 0xFFFFFFFF - 36
    head = wav_header(most, 1, 48000, "PCM_24")
    assert int.from_bytes(head[4:8], "little") == 0xFFFFFFFF
    with pytest.raises(InputError, match="4 GiB"):
        wav_header(most + 1, 1, 48000, "PCM_24")


# ------------------------------------------------- arguments export takes or refuses
def test_export_takes_the_path_as_a_string(mixer, tmp_path):
    path = tmp_path / "s.wav"
    written = export(mixer, TIMELINE, str(path), ExportOptions(subtype="FLOAT"))
    assert written == [path]
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == SR
    np.testing.assert_array_equal(data, full_render(mixer))


def test_export_refuses_options_that_are_not_export_options(mixer, tmp_path):
    with pytest.raises(TypeError, match="^options must be ExportOptions, not dict$"):
        export(mixer, TIMELINE, tmp_path / "s.wav", {"format": "wav"})
    assert list(tmp_path.iterdir()) == []


def test_flac_to_standard_output_whose_reader_went_away_says_so(mixer, monkeypatch):
    r, w = os.pipe()

    def reader_goes_away_then_stream(*args, **kwargs):
        os.close(r)              # after the encoder opened: the samples meet a closed pipe
        return stream(*args, **kwargs)

    monkeypatch.setattr(export_mod, "stream", reader_goes_away_then_stream)
    saved = os.dup(1)
    try:
        os.dup2(w, 1)
        with pytest.raises(ExportError) as err:
            export(mixer, TIMELINE, Path("-"), ExportOptions(format="ogg"))
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(w)
    assert str(err.value) == ("cannot write standard output: "
                              "the reader stopped reading (Broken pipe)")


# ------------------------------------------- WAV writers fed only where there is sound
def test_pcm16_wav_over_an_old_file_is_the_same_file_with_exact_silence(mixer, tmp_path):
    # Over an old file short silences (here 11600..24000, between "Lift" and
    # the accent) are written as zeros instead of left as holes.
    fresh = tmp_path / "fresh.wav"
    export(mixer, TIMELINE, fresh, ExportOptions())
    path = tmp_path / "again.wav"
    path.write_bytes(b"an old file")
    export(mixer, TIMELINE, path, ExportOptions())
    assert path.read_bytes() == fresh.read_bytes()
    ints, _ = sf.read(path, dtype="int16")
    assert not ints[11600:24000].any()


def test_stream_into_wav_writers_takes_a_block_of_zero_as_one_frame(tmp_path):
    tl = Timeline("p", SR, 6, (Segment("intro", 0, 6),), (Event(0, "speech", 6, "x"),))
    x = np.array([0.25, -0.4, 0.3, 0.4499, -0.4499, 1e-5], np.float32)
    m = Mixer(tl, {"x": x}, SOUNDS)
    seen: list[int] = []

    def progress(done: int) -> None:
        seen.append(done)
        if len(seen) > 6:
            raise RuntimeError(f"no progress: {seen}")

    blobs = []
    for block, report in [(0, progress), (6, None)]:
        path = tmp_path / f"b{block}.wav"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            f = WavWriter(fd, 6, 1, SR)
            assert stream(m, [(f, None)], block=block, progress=report) == 6
            f.close()
        finally:
            os.close(fd)
        blobs.append(path.read_bytes())
    assert seen == [1, 2, 3, 4, 5, 6]
    assert blobs[0] == blobs[1]
    ints, _ = sf.read(io.BytesIO(blobs[0]), dtype="int16")
    np.testing.assert_array_equal(ints, np.rint(x.astype(np.float64) * 32768).astype(np.int16))


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_24"])
def test_wav_to_a_fifo_has_the_samples_of_the_same_export_to_a_file(mixer, tmp_path, subtype):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    export(mixer, TIMELINE, fifo, ExportOptions(subtype=subtype))
    reader.join(timeout=60)
    streamed, sr = sf.read(io.BytesIO(got[0]), dtype="float32", always_2d=True)
    path = tmp_path / "file.wav"
    export(mixer, TIMELINE, path, ExportOptions(subtype=subtype))
    on_disk, _ = sf.read(path, dtype="float32", always_2d=True)
    assert sr == SR and sf.info(io.BytesIO(got[0])).subtype == subtype
    assert np.abs(on_disk).max() > 0.1
    np.testing.assert_array_equal(streamed, on_disk)


def test_a_sound_file_on_a_descriptor_leaves_it_open_for_its_owner(tmp_path):
    """The exporter opens each file's descriptor and closes it once, last: a
    sound file that closed it too would have the exporter close a number
    the system may since have given to another file."""
    from voicecoach.encode.sound_file import SoundFileSink
    fd = os.open(tmp_path / "x.flac", os.O_RDWR | os.O_CREAT)
    try:
        f = SoundFileSink(fd, SR, 1, "PCM_16", "FLAC")
        f.write(np.zeros(480, np.int16))
        f.close()
        assert os.fstat(fd).st_size > 0                 # still ours, and written
    finally:
        os.close(fd)


@pytest.mark.parametrize("room, ours", [(0, False), (1 << 20, True)], ids=["too-long", "fits"])
def test_a_wav_is_ours_only_when_its_samples_chapters_and_header_fit_riffs_limit(
        tmp_path, monkeypatch, room, ours):
    """16-bit stereo: 4 bytes a frame. Past RIFF's limit (made small here)
    libsndfile writes the file (its name in the software tag); under it,
    the exporter's own writer. Both give the same samples and chapters."""
    from voicecoach.encode.formats import wav as wav_format
    m = make_mixer(channels=2)
    monkeypatch.setattr(wav_format, "RIFF_LIMIT", m.frames * 4 + room)
    out = tmp_path / "s.wav"
    export(m, TIMELINE, out, ExportOptions(channels=2))
    blob = out.read_bytes()
    assert (b"(libsndfile-" not in blob) is ours and b"cue " in blob
    got, _ = sf.read(out, dtype="int16")
    assert got.shape == (m.frames, 2)


@pytest.mark.parametrize("kind, frames, failing", [
    # 16 KiB, four pages. A 1920-frame tick fits in each file's header page:
    # the mix's chapters take the last page, and the voice stem's, written
    # as it closes, find the disk full. A 2400-frame accent does not: the
    # mix takes the last page for it, and the ticks stem's copy is the
    # write, while rendering, that finds the disk full.
    ("tick", 1920, "full.voice.wav"), ("accent", 2400, "full.ticks.wav")])
def test_a_disk_that_fills_on_a_stem_names_that_stem(tiny_fs, kind, frames, failing):
    tl = Timeline("one", SR, SR, (Segment("intro", 0, SR),), (Event(0, kind, frames),))
    with pytest.raises(ExportError) as info:
        export(Mixer(tl, {}, SOUNDS), tl, tiny_fs / "full.wav", ExportOptions(stems=True))
    assert str(info.value) == f"cannot write {tiny_fs / failing}: No space left on device"
    assert list(tiny_fs.iterdir()) == []
