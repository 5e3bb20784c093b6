"""Music the user points at that is not a song: tiny files, corrupt files,
FIFOs, whole file systems. Each case ends, quickly, with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicecoach.audio import music
from voicecoach.audio.music import MusicStream, find_tracks
from voicecoach.errors import InputError

pytestmark = pytest.mark.timeout(60)

SR = 48000


def tone(path: Path, frames: int, sr: int = SR, fmt: str | None = None) -> Path:
    t = np.arange(frames) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, format=fmt)
    return path


def test_hangs_music_shorter_than_the_crossfade_is_refused(tmp_path):
    tiny = tone(tmp_path / "tiny.wav", 10)
    with pytest.raises(InputError) as info:
        find_tracks(tiny)
    assert str(info.value) == f"music: {tiny}: shorter than the 20 ms crossfade"


def test_hangs_stream_of_only_tiny_tracks_ends(tmp_path):
    tracks = [tone(tmp_path / f"t{i}.wav", n) for i, n in enumerate((10, 960, 500))]
    stream = MusicStream(tracks, SR)          # not through find_tracks: the stream guards too
    with pytest.raises(InputError, match="no track could be decoded"):
        stream.read(SR)
    assert stream.skipped == set(tracks)


def test_hangs_tiny_tracks_are_dropped_from_a_mixed_playlist(tmp_path):
    good = tone(tmp_path / "good.wav", SR // 2)
    tracks = [tone(tmp_path / "tiny.wav", 10), good]
    out = MusicStream(tracks, SR).read(3 * SR)        # loops the good track
    assert out.shape == (3 * SR, 1) and np.abs(out[SR:]).max() > 0.2


def test_hangs_folder_of_tiny_or_corrupt_files_is_bad_input(tmp_path):
    tone(tmp_path / "a.wav", 10)
    (tmp_path / "b.mp3").write_bytes(os.urandom(4000))
    (tmp_path / "c.flac").write_bytes(b"")
    with pytest.raises(InputError) as info:
        find_tracks(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"music: {tmp_path}: no audio file in this folder") and "\n" not in msg
    assert "shorter than the 20 ms crossfade: 1" in msg


def test_hangs_music_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as info:
        find_tracks(fifo)
    assert str(info.value) == f"music: {fifo}: is a FIFO, not a regular file"


def test_hangs_fifo_inside_a_music_folder_is_skipped_with_one_line(tmp_path, caplog):
    os.mkfifo(tmp_path / "live.wav")
    good = tone(tmp_path / "song.wav", SR)
    (tmp_path / "notes.txt").write_text("x")
    assert find_tracks(tmp_path) == [good]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"music: {tmp_path}: skipped not audio files: 1; "
                     "is a FIFO, not a regular file: 1"]


def test_hangs_walk_of_a_huge_tree_is_bounded(tmp_path, monkeypatch, caplog):
    """A temp tree stands in for '/': the walk stops after its bound."""
    monkeypatch.setattr(music, "MAX_WALK_ENTRIES", 50)
    tone(tmp_path / "0.wav", SR)
    for i in range(20):
        d = tmp_path / f"d{i:02}"
        d.mkdir()
        for j in range(10):
            (d / f"{j}.txt").write_text("")
    assert find_tracks(tmp_path) == [tmp_path / "0.wav"]
    assert "the rest of a folder tree over 50 entries: 1" in caplog.text


def test_hangs_proc_like_files_of_size_zero_are_not_audio(tmp_path):
    (tmp_path / "status.wav").write_bytes(b"")
    with pytest.raises(InputError, match="no audio file in this folder"):
        find_tracks(tmp_path)


def test_noise_corrupt_mp3_decoder_messages_are_summarised(tmp_path):
    """libmpg123 writes to fd 2 from C: a real process shows what reaches stderr."""
    song = tone(tmp_path / "song.mp3", 10 * SR, fmt="MP3")
    blob = bytearray(song.read_bytes())
    rng = np.random.default_rng(1)
    for start in range(len(blob) // 4, len(blob) - 2000, 3000):
        blob[start:start + 400] = rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
    song.write_bytes(bytes(blob))
    script = textwrap.dedent(f"""
        from voicecoach.audio.music import MusicStream, find_tracks
        s = MusicStream(find_tracks({str(tmp_path)!r}), 48000)
        print(s.read(48000 * 12).shape)
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "(576000, 1)"
    noise = [line for line in res.stderr.splitlines() if "MPEG" in line and "music:" not in line]
    assert noise == []
    assert len(res.stderr.splitlines()) <= 2


def test_hangs_music_feeder_thread_does_not_redirect(tmp_path):
    """The redirect is for the main thread only; a background decode still works."""
    good = tone(tmp_path / "song.wav", SR)
    out = []
    t = threading.Thread(target=lambda: out.append(MusicStream([good], SR).read(2 * SR)))
    t.start()
    t.join(timeout=30)
    assert out and out[0].shape == (2 * SR, 1)
