"""Music: playlists, the endless crossfaded stream from real files, the live feeder."""

from __future__ import annotations

import logging
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.audio.music import CROSSFADE_SECONDS, MusicStream, find_tracks
from voicecoach.errors import InputError
from voicecoach.live.music_feed import MusicFeeder

SR = 48000
F32 = np.float32


def sine(freq: float, seconds: float, rate: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(F32)


def write(path: Path, data: np.ndarray, rate: int = SR, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate, **kw)
    return path


def ramp_file(tmp_path: Path, n: int = 1000, name: str = "ramp.wav") -> tuple[Path, np.ndarray]:
    """A track whose every sample is distinct and exact in float WAV."""
    data = (np.arange(n, dtype=F32) + 1) / np.float32(2 * n)
    return write(tmp_path / name, data, subtype="FLOAT"), data


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# ------------------------------------------------------------- find_tracks
def test_find_tracks_file_and_folder_sorted_recursive_skipping_non_audio(tmp_path):
    a = write(tmp_path / "music" / "b.wav", sine(220, 0.1))
    b = write(tmp_path / "music" / "A.flac", sine(220, 0.1))
    c = write(tmp_path / "music" / "sub" / "c.ogg", sine(220, 0.1))
    (tmp_path / "music" / "notes.txt").write_text("not audio")
    (tmp_path / "music" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    write(tmp_path / "music" / ".hidden.wav", sine(220, 0.1))
    assert find_tracks(tmp_path / "music") == [b, a, c]
    assert find_tracks(a) == [a]
    assert find_tracks(str(a)) == [a]


def test_find_tracks_shuffle_is_seedable_permutation(tmp_path):
    for i in range(8):
        write(tmp_path / f"{i}.wav", sine(220, 0.05))
    ordered = find_tracks(tmp_path)
    one = find_tracks(tmp_path, shuffle=True, seed=3)
    assert one == find_tracks(tmp_path, shuffle=True, seed=3)
    assert sorted(one) == sorted(ordered) and one != ordered


@pytest.mark.parametrize("setup, fragment", [
    (lambda p: p / "nope", "no such file or folder"),
    (lambda p: (p / "x.txt").write_text("hello") and p / "x.txt", "not an audio file"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no audio file in this folder"),
    (lambda p: ((p / "d").mkdir(), (p / "d" / "x.txt").write_text("x")) and p / "d",
     "no audio file in this folder"),
    (lambda p: write(p / "zero.wav", np.zeros(0, F32)), "holds no audio"),
])
def test_find_tracks_bad_input_one_line_naming_the_path(tmp_path, setup, fragment):
    path = setup(tmp_path)
    with pytest.raises(InputError) as exc:
        find_tracks(path)
    msg = str(exc.value)
    assert str(path) in msg and fragment in msg and "\n" not in msg


# ------------------------------------------------------------ MusicStream
def test_without_crossfade_the_stream_is_the_file_repeated_exactly(tmp_path):
    path, data = ramp_file(tmp_path)
    s = MusicStream([path], SR, 1, crossfade=0)
    out = s.read(3500)
    assert out.shape == (3500, 1) and out.dtype == F32
    np.testing.assert_array_equal(out[:, 0], np.tile(data, 4)[:3500])
    assert s.position == 3500


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=25),
       channels=st.sampled_from([1, 2]))
def test_reads_of_any_sizes_give_exact_counts_and_the_same_samples(tmp_path, sizes, channels):
    path = tmp_path / "t.wav"
    if not path.exists():
        write(path, np.stack([sine(330, 0.05), sine(440, 0.05)], 1))
    whole = MusicStream([path, path], SR, channels).read(sum(sizes))
    s = MusicStream([path, path], SR, channels)
    parts = [s.read(n) for n in sizes]
    assert [p.shape for p in parts] == [(n, channels) for n in sizes]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_loops_a_short_file_for_five_seconds_without_clicks(tmp_path):
    # 217 Hz over 0.3 s ends mid-cycle: a hard loop would jump by 0.3
    data = sine(217, 0.3)
    path = write(tmp_path / "loop.wav", data, subtype="FLOAT")
    out = MusicStream([path], SR, 1).read(5 * SR)[:, 0]
    fade = round(CROSSFADE_SECONDS * SR)
    period = len(data) - fade
    step = np.abs(np.diff(data)).max()
    assert np.abs(np.diff(out)).max() <= 1.5 * step            # crossfades, not clicks
    # between joins, the file itself, sample for sample
    for k in range(1, 5 * SR // period - 1):
        at = fade + k * period
        np.testing.assert_array_equal(out[at:at + period - fade], data[fade:len(data) - fade])
    # the stream starts with a fade-in, not at full level
    assert abs(out[0]) < 1e-3 and np.array_equal(out[fade:period], data[fade:period])
    hard = MusicStream([path], SR, 1, crossfade=0).read(2 * SR)[:, 0]
    assert np.abs(np.diff(hard)).max() > 10 * step               # what the crossfade prevents


def test_stereo_44k1_file_becomes_mono_48k(tmp_path):
    left, right = sine(440, 1.0, 44100, 0.5), sine(440, 1.0, 44100, 0.25)
    path = write(tmp_path / "st.wav", np.stack([left, right], 1), 44100, subtype="FLOAT")
    out = MusicStream([path], SR, 1).read(SR)
    assert out.shape == (SR, 1)
    mid = out[SR // 10:SR * 9 // 10, 0]              # away from the fade-in and the loop join
    expected = sine(440, 1.0, SR, 0.375)[SR // 10:SR * 9 // 10]   # the average, resampled
    assert np.abs(mid - expected).max() < 1e-3


def test_mono_file_is_copied_to_both_channels(tmp_path):
    path = write(tmp_path / "m.wav", sine(440, 0.2))
    out = MusicStream([path], SR, 2).read(SR // 2)
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    assert np.abs(out).max() > 0.4


@pytest.mark.parametrize("fmt", ["MP3", "OGG"])
def test_compressed_files_written_by_soundfile_play_back(tmp_path, fmt):
    data = sine(440, 2.0, 44100, 0.5)
    path = tmp_path / f"song.{fmt.lower()}"
    with sf.SoundFile(str(path), "w", 44100, 1, format=fmt) as f:
        for i in range(0, len(data), 8192):          # blocks: see docs/pitfalls.md (OGG)
            f.write(data[i:i + 8192])
    assert find_tracks(tmp_path) == [path]
    s = MusicStream([path], SR, 2)
    out = np.concatenate([s.read(n) for n in (1000, 23456, 4321, 50000)])
    assert out.shape == (78777, 2)
    mid = out[SR // 4:SR * 3 // 2, 0]
    assert abs(rms_db(mid) - rms_db(sine(440, 1.0, SR, 0.5))) < 0.5
    spectrum = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    assert abs(np.argmax(spectrum) * SR / len(mid) - 440) < 2


@pytest.mark.parametrize("fmt", ["MP3", "OGG", "FLAC"])
def test_block_decoding_equals_a_whole_file_read(tmp_path, fmt):
    # soundfile's seek after each read garbles MP3 from the second block on
    # (libsndfile 1.2.2); MusicStream must not, whatever the read sizes
    data = sine(440, 1.0, SR) + sine(1234, 1.0, SR, 0.2)
    path = tmp_path / f"x.{fmt.lower()}"
    with sf.SoundFile(str(path), "w", SR, 1, format=fmt) as f:
        for i in range(0, len(data), 8192):
            f.write(data[i:i + 8192])
    whole, _ = sf.read(str(path), dtype="float32")
    s = MusicStream([path], SR, 1, crossfade=0)
    got = np.concatenate([s.read(n) for n in (777, 10000, 8192, 30000)])[:, 0]
    np.testing.assert_array_equal(got[:len(whole)], whole[:len(got)])


def test_memory_stays_flat_over_sixty_minutes(tmp_path):
    path = write(tmp_path / "short.wav", sine(220, 1.0))
    s = MusicStream([path], SR, 1)
    block = np.empty((SR, 1), dtype=F32)
    s.read_into(block)
    tracemalloc.start()
    try:
        for _ in range(60 * 60 - 1):
            s.read_into(block)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert s.position == 60 * 60 * SR
    # a few decode blocks, plus cffi's own bounded cast cache (~1 MB, 2 MB
    # while it resizes); 60 minutes of float32 would be 690 MB
    assert peak < 5_000_000, peak


def test_memory_stays_flat_while_resampling(tmp_path):
    path = write(tmp_path / "short.wav", np.stack([sine(220, 1.0, 44100)] * 2, 1), 44100)
    s = MusicStream([path], SR, 1)
    block = np.empty((SR, 1), dtype=F32)
    s.read_into(block)
    tracemalloc.start()
    try:
        for _ in range(5 * 60):
            s.read_into(block)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak


def test_track_that_can_not_be_opened_is_skipped_with_one_warning(tmp_path, caplog):
    good, data = ramp_file(tmp_path)
    bad = tmp_path / "bad.wav"
    bad.write_text("this is no RIFF")
    s = MusicStream([good, bad], SR, 1, crossfade=0)
    with caplog.at_level(logging.WARNING, logger="voicecoach.audio.music"):
        out = s.read(5000)[:, 0]
    np.testing.assert_array_equal(out, np.tile(data, 5))
    assert s.skipped == {bad}
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and str(bad) in warnings[0]


def test_track_failing_midway_plays_what_it_decoded_then_the_next(tmp_path, monkeypatch, caplog):
    good, data = ramp_file(tmp_path)
    broken = tmp_path / "broken.wav"
    write(broken, -data, subtype="FLOAT")
    real = MusicStream._decode

    def decode(self, path):
        for i, block in enumerate(real(self, path)):
            if path == broken:
                yield block[:300]
                raise RuntimeError("Internal psf_fseek() failed.")
            yield block

    monkeypatch.setattr(MusicStream, "_decode", decode)
    s = MusicStream([broken, good], SR, 1, crossfade=0)
    with caplog.at_level(logging.WARNING, logger="voicecoach.audio.music"):
        out = s.read(2600)[:, 0]
    expected = np.concatenate([-data[:300], data, -data[:300], data])[:2600]
    np.testing.assert_array_equal(out, expected)
    assert s.skipped == set()                     # it did play something: kept
    assert len(caplog.records) == 1 and "psf_fseek" in caplog.records[0].getMessage()


def test_every_track_failing_is_an_input_error_every_time(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.mp3"
    a.write_text("nope")
    b.write_bytes(b"\x00" * 64)
    s = MusicStream([a, b], SR, 1)
    for _ in range(2):
        with pytest.raises(InputError, match="no track could be decoded"):
            s.read(10)


def test_stream_validates_its_arguments(tmp_path):
    path, _ = ramp_file(tmp_path)
    with pytest.raises(ValueError):
        MusicStream([], SR, 1)
    with pytest.raises(ValueError):
        MusicStream([path], 0, 1)
    with pytest.raises(TypeError):
        MusicStream([path], 48000.0, 1)
    with pytest.raises(ValueError):
        MusicStream([path], SR, 0)
    s = MusicStream([path], SR, 2)
    with pytest.raises(ValueError):
        s.read(-1)
    with pytest.raises(ValueError):
        s.read_into(np.zeros((10, 1), F32))


# -------------------------------------------------------------- MusicFeeder
def test_feeder_delivers_the_streams_samples_in_order(tmp_path):
    path = write(tmp_path / "m.wav", np.stack([sine(220, 0.4), sine(330, 0.4)], 1))
    expected = MusicStream([path], SR, 2).read(SR)
    got = np.zeros((SR, 2), F32)
    rng = np.random.default_rng(7)
    with MusicFeeder(MusicStream([path], SR, 2), seconds=0.1, chunk=512) as feeder:
        at = 0
        deadline = time.monotonic() + 20
        while at < SR and time.monotonic() < deadline:
            n = min(int(rng.integers(1, 2000)), SR - at)
            if feeder.available < n:              # the test waits; a callback would not
                time.sleep(0.001)
                continue
            assert feeder.take(got[at:at + n]) == n
            at += n
    assert at == SR and feeder.underruns == 0 and feeder.error is None
    np.testing.assert_array_equal(got, expected)


def test_take_never_allocates(tmp_path):
    path = write(tmp_path / "m.wav", np.stack([sine(220, 0.4), sine(330, 0.4)], 1))
    feeder = MusicFeeder(MusicStream([path], SR, 2), seconds=3.0)
    feeder.fill()
    out = np.empty((1024, 2), F32)                 # 8 kB: a copy would show
    feeder.take(out)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(130):                       # wraps around the ring
            assert feeder.take(out) == 1024
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 2048 and current - base < 1024
    assert feeder.underruns == 0


def test_dry_ring_gives_zeros_and_counts_underruns(tmp_path):
    path, data = ramp_file(tmp_path)
    feeder = MusicFeeder(MusicStream([path], SR, 1, crossfade=0), seconds=0.05, chunk=1000)
    out = np.full((100, 1), 9.0, F32)
    assert feeder.take(out) == 0 and not out.any() and feeder.underruns == 1
    assert feeder.fill() == 2400 and feeder.fill() == 0        # full
    out = np.full((3000, 1), 9.0, F32)
    assert feeder.take(out) == 2400
    np.testing.assert_array_equal(out[:2400, 0], np.tile(data, 3)[:2400])
    assert not out[2400:].any() and feeder.underruns == 2
    assert feeder.fill() == 2400                                 # wrapped, continues in order
    feeder.take(out[:1000])
    np.testing.assert_array_equal(out[:1000, 0], np.tile(data, 4)[2400:3400])


def test_the_feeder_keeps_what_was_taken_to_be_taken_again(tmp_path):
    path, data = ramp_file(tmp_path)
    feeder = MusicFeeder(MusicStream([path], SR, 1, crossfade=0), seconds=0.05, chunk=1000, kept=0.02)
    music = np.tile(data, 4)
    out = np.empty((900, 1), F32)
    for _ in range(3):                                           # around the ring, refilled each time
        feeder.fill()
        feeder.take(out)
    assert feeder.fill() == 900 and feeder.available == 2400 - 960   # the last 960 taken are kept
    feeder.rewind(feeder.taken - 960)
    feeder.take(out)
    np.testing.assert_array_equal(out[:, 0], music[2700 - 960:2700 - 60])
    with pytest.raises(ValueError, match="cannot rewind"):
        feeder.rewind(feeder.taken - 961)


def test_feeder_start_raises_bad_music_in_the_caller(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("no")
    feeder = MusicFeeder(MusicStream([bad], SR, 1))
    with pytest.raises(InputError):
        feeder.start()
    feeder.stop()


def test_feeder_thread_stops_and_keeps_its_error(tmp_path, monkeypatch):
    path, _ = ramp_file(tmp_path)
    stream = MusicStream([path], SR, 1)
    feeder = MusicFeeder(stream, seconds=0.05, chunk=256)
    feeder.start()
    boom = RuntimeError("disk gone")
    monkeypatch.setattr(stream, "read_into", lambda out: (_ for _ in ()).throw(boom))
    out = np.empty((256, 1), F32)
    deadline = time.monotonic() + 5
    while feeder.error is None and time.monotonic() < deadline:
        feeder.take(out)
        time.sleep(0.002)
    assert feeder.error is boom
    feeder.stop()
    assert not any(t.name == "voicecoach-music" for t in threading.enumerate())
