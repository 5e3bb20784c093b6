"""Music files that are not music, through the real decoders and the real
CLI: float files of NaN, infinities or 1e30, a DC offset, damaged and empty
files, a track that vanishes while it plays, and what stderr shows besides."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from running import private_env, voicecoach

from voicecoach.audio.music import MusicStream, find_tracks
from voicecoach.errors import InputError, RuntimeFailure

pytestmark = pytest.mark.timeout(300)

SR = 48000
SESSION = ("plank", "--sets", "1", "--rest", "10", "--engine", "pyttsx3")


@pytest.fixture(scope="module")
def child_env(tmp_path_factory) -> dict[str, str]:
    """One cue cache for this module's child processes: each speaks once."""
    return private_env(tmp_path_factory.mktemp("edges"))


def tone(path: Path, seconds: float = 3.0, sr: int = 44100, **kw) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * 330 * t), sr, **kw)
    return path


def export(env: dict[str, str], music: Path, out: Path, *more: str):
    r = voicecoach(env, "export", *SESSION, "--music", str(music), "-o", str(out), *more)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


BAD = {  # name: (samples, subtype, what the one line says)
    "nan": (np.full(SR, np.nan), "FLOAT", "holds NaN or infinite samples"),
    "inf": (np.r_[np.zeros(SR // 2), np.full(SR // 2, -np.inf)], "DOUBLE",
            "holds NaN or infinite samples"),
    "huge": (np.full(SR, 1e30), "FLOAT", "holds samples at +600 dBFS, not music"),
    "dc": (np.full(SR, 0.5), "FLOAT", "holds a DC offset of 0.5, not music"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_float_file_that_is_not_music_is_refused_with_one_line(tmp_path, child_env, kind):
    """A NaN silenced the whole export (voice and ticks too) with exit 0; 1e30
    became a near full-scale DC offset."""
    samples, subtype, said = BAD[kind]
    song = tmp_path / f"{kind}.wav"
    sf.write(song, samples.astype(np.float64), SR, subtype=subtype)
    code, _, err = export(child_env, song, tmp_path / "out.wav")
    assert code == 2, err
    assert err.splitlines() == [f"voicecoach: error: music: {song}: {said}"
                                + (" (a damaged float file?)" if kind == "huge" else "")]
    assert os.listdir(tmp_path) == [song.name]                 # nothing written


def test_a_bad_file_in_a_folder_is_skipped_with_a_note_and_the_rest_plays(tmp_path, child_env):
    folder = tmp_path / "music"
    folder.mkdir()
    sf.write(folder / "a-nan.wav", np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")
    sf.write(folder / "b-huge.wav", np.full(SR, 1e30, np.float32), SR, subtype="FLOAT")
    tone(folder / "c-song.flac")
    code, _, err = export(child_env, folder, tmp_path / "s.wav", "--float", "--stems")
    assert code == 0, err
    assert err.splitlines() == [
        f"music: skipping {folder / 'a-nan.wav'}: holds NaN or infinite samples",
        (f"music: skipping {folder / 'b-huge.wav'}: holds samples at +600 dBFS, not music "
         "(a damaged float file?)")]
    mix, voice, music = (sf.read(tmp_path / f"s{k}.wav", dtype="float64")[0]
                         for k in ("", ".voice", ".music"))
    assert np.isfinite(mix).all() and np.abs(mix).max() < 1.0
    assert np.abs(voice).max() > 0.3                            # the coach is heard
    assert 0.01 < np.abs(music).max() < 0.5 and abs(music.mean()) < 1e-3   # the song, no offset


def test_the_stream_never_hands_out_what_the_check_refuses(tmp_path, caplog):
    """A float file that turns bad part-way: what was music plays, then the
    next track; the bad samples never come out."""
    t = np.arange(SR) / SR
    good = 0.3 * np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "a.wav", np.r_[good, np.full(SR, np.nan)], SR, subtype="FLOAT")
    other = tone(tmp_path / "b.wav", sr=SR)
    stream = MusicStream([tmp_path / "a.wav", other], SR)
    out = stream.read(8 * SR)
    assert np.isfinite(out).all() and np.abs(out).max() <= 0.3 * np.sqrt(2)   # a crossfade at most
    assert stream.skipped == {tmp_path / "a.wav"}
    assert [r.getMessage() for r in caplog.records] == [
        f"music: skipping {tmp_path / 'a.wav'}: holds NaN or infinite samples"]


def _damaged(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    song = tone(tmp_path / "song.mp3", format="MP3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(song.read_bytes()[:300])
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    archive = tmp_path / "archive.mp3"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "not a song " * 100)
    return {"cut": (cut, "is a truncated or damaged MP3 file"),
            "empty": (empty, "is empty (0 bytes)"),
            "zip": (archive, "is not an audio file (no format soundfile can read)")}


@pytest.mark.parametrize("kind", ["cut", "empty", "zip"])
def test_a_damaged_or_foreign_file_says_what_it_is(tmp_path, kind):
    """libsndfile calls all three "File does not exist or is not a regular
    file (possibly a pipe?)"."""
    path, said = _damaged(tmp_path)[kind]
    with pytest.raises(InputError) as info:
        find_tracks(path)
    assert str(info.value) == f"music: {path}: {said}"


def test_a_foreign_file_as_music_is_one_line_from_the_cli(tmp_path, child_env):
    path, said = _damaged(tmp_path)["zip"]
    code, _, err = export(child_env, path, tmp_path / "out.wav")
    assert (code, err) == (2, f"voicecoach: error: music: {path}: {said}\n")


def test_music_deleted_while_it_plays_says_it_went_missing(tmp_path):
    """The loop opens the file again: libsndfile says only "System error."."""
    song = tone(tmp_path / "song.flac")
    stream = MusicStream([song], SR)
    stream.read(SR)
    song.unlink()
    with pytest.raises(RuntimeFailure) as info:
        stream.read(10 * SR)
    assert str(info.value) == f"music: {song}: went missing during the session (deleted or moved)"


def test_resampled_music_leaves_stderr_empty(tmp_path, child_env):
    """soxr's resampler alive at the interpreter's exit printed about 18
    "nanobind: leaked" lines after every export with music at another rate."""
    song = tone(tmp_path / "song.flac")                        # 44.1 kHz under a 48 kHz session
    code, out, err = export(child_env, song, tmp_path / "s.mp3", "--stems")
    assert code == 0 and (tmp_path / "s.music.mp3").exists()
    assert err == "" and "wrote" in out
