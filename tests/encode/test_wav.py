"""16-bit WAV written by hand: the same file libsndfile writes, silence as holes.

The reference for every byte is libsndfile itself (soundfile), given the
same samples and tags; files are read back with soundfile and ffprobe.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicecoach import __version__
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.normalise import measured_loudness, normalise_sparse
from voicecoach.audio.sounds import make_sounds
from voicecoach.encode.chapters import chapters
from voicecoach.encode.formats import ExportOptions
from voicecoach.encode.tags import tag_wav
from voicecoach.encode.wav import WavWriter, header, samples
from voicecoach.encode.writer import export
from voicecoach.errors import InputError
from voicecoach.plan.timeline import Event, Segment, Timeline

SR = 48000
SOUNDS = make_sounds(SR)


def burst(n: int, seed: int, peak: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 5))
    return (x * (peak / np.max(np.abs(x)))).astype(np.float32)


def session(seconds: int, rest: tuple[int, int] = (0, 0)) -> tuple[Timeline, dict]:
    """Sets of reps: a tick every second and a word every 3 s, silent through ``rest``
    (seconds from, to); a set per 10 s, so there are chapters."""
    events, segments = [], []
    for s in range(seconds):
        if rest[0] <= s < rest[1]:
            continue
        events.append(Event(s * SR, "tick", len(SOUNDS["tick"])))
        if s % 3 == 0:
            events.append(Event(s * SR + 6000, "speech", 20000, "lift"))
    for i, a in enumerate(range(0, seconds, 10)):
        n = min(10, seconds - a) * SR
        segments.append(Segment("concentric", a * SR, n, set=i + 1, rep=1))
    events.sort(key=lambda e: (e.frame, e.kind))
    tl = Timeline("wav-test", SR, seconds * SR, tuple(segments), tuple(events))
    return tl, {"lift": burst(20000, 1, 0.7)}


def loud_mixer(tl: Timeline, speech: dict, channels: int = 1) -> Mixer:
    """At a loud target, so the limiter's planned gain takes part."""
    m = Mixer(tl, speech, SOUNDS, channels)
    loud, plan = normalise_sparse(m, -12.0, measured_loudness(m))
    assert not plan.empty
    return m.with_master(loud.gain, plan)


def chunks(blob: bytes) -> list[tuple[bytes, object]]:
    """Top-level RIFF chunks; INFO strings as (id, text) pairs."""
    assert blob[:4] == b"RIFF" and blob[8:12] == b"WAVE"
    assert struct.unpack("<I", blob[4:8])[0] == len(blob) - 8
    out, i = [], 12
    while i < len(blob):
        cid, size = blob[i:i + 4], struct.unpack("<I", blob[i + 4:i + 8])[0]
        body = blob[i + 8:i + 8 + size]
        if cid == b"LIST" and body[:4] == b"INFO":
            items, j = [], 4
            while j < len(body):
                k, n = body[j:j + 4], struct.unpack("<I", body[j + 4:j + 8])[0]
                items.append((k, body[j + 8:j + 8 + n]))
                j += 8 + n
            body = items
        out.append((cid, body))
        i += 8 + size + (size & 1)
    return out


def libsndfile_reference(path: Path, ints: np.ndarray, tl: Timeline, opts: ExportOptions,
                         title: str) -> bytes:
    """What the exporter wrote through libsndfile: the samples, its INFO strings, our chapters."""
    with sf.SoundFile(path, "w", SR, ints.shape[1], "PCM_16", format="WAV") as f:
        f.title, f.artist, f.album = title, opts.artist, opts.album
        f.comment, f.software = f"voicecoach session: {tl.preset}", f"voicecoach {__version__}"
        f.genre, f.date, f.tracknumber = opts.genre, opts.date, str(opts.track)
        f.write(ints)
    tag_wav(path, [(c.start, c.title) for c in chapters(tl)])
    return path.read_bytes()


def without_library_name(items: list) -> list:
    """libsndfile appends its own name to the software string; ours is just ours
    (NUL-terminated, padded to an even length, as every INFO string)."""
    def ours(k: bytes, v: bytes) -> bytes:
        if k != b"ISFT":
            return v
        v = v.split(b" (libsndfile")[0] + b"\0"
        return v + b"\0" * (len(v) % 2)
    return [(cid, [(k, ours(k, v)) for k, v in body] if isinstance(body, list) else body)
            for cid, body in items]


def dense_pcm16(m: Mixer, bus: str | None = None) -> np.ndarray:
    x = np.empty((m.frames, m.channels), np.float32)
    m.render(x, 0, bus)
    return np.rint(x * np.float32(32768)).astype(np.int16)


# ------------------------------------------------------------- the same file
@pytest.mark.parametrize("channels", [1, 2])
def test_the_file_is_libsndfile_s_byte_for_byte_but_its_name(tmp_path, channels):
    tl, speech = session(40, rest=(12, 25))
    m = loud_mixer(tl, speech, channels)
    opts = ExportOptions(channels=channels, stems=True, title="Lifts", album="Legs", date="2026-12-01",
                         track=7)
    written = export(m, tl, tmp_path / "s.wav", opts)
    for path, bus in zip(written, (None, "voice", "ticks")):
        title = "Lifts" if bus is None else f"Lifts ({bus})"
        ref = libsndfile_reference(tmp_path / f"ref-{bus}.wav", dense_pcm16(m, bus), tl, opts, title)
        ours = path.read_bytes()
        assert chunks(ours) == without_library_name(chunks(ref))
        assert (dict(chunks(ours)[1][1])[b"ISFT"].rstrip(b"\0")
                == f"voicecoach {__version__}".encode())
        assert ours[-400:] == ref[-400:]                 # the chapters, and the samples before them
        data, sr = sf.read(path, dtype="int16", always_2d=True)
        assert sr == SR and np.array_equal(data, dense_pcm16(m, bus))


def test_silence_is_left_as_holes_that_read_as_zeros_and_an_old_file_gets_the_same_bytes(tmp_path):
    probe = tmp_path / "probe"
    with open(probe, "wb") as f:
        f.truncate(1 << 22)
    if os.stat(probe).st_blocks * 512 >= 1 << 22:
        pytest.skip("this file system has no holes")
    tl, speech = session(120, rest=(20, 110))          # silent for 90 of 120 s
    m = loud_mixer(tl, speech)
    new = tmp_path / "new.wav"
    export(m, tl, new, ExportOptions(date="2026-12-01"))
    st = os.stat(new)
    assert st.st_blocks * 512 < 0.4 * st.st_size        # most of it never written
    data, _ = sf.read(new, dtype="int16", always_2d=True)
    assert np.array_equal(data, dense_pcm16(m)) and not data[21 * SR:109 * SR].any()
    old = tmp_path / "old.wav"
    old.write_bytes(b"\x7f" * (st.st_size + 12345))      # longer, and no zeros anywhere
    export(m, tl, old, ExportOptions(date="2026-12-01"))
    assert old.read_bytes() == new.read_bytes()


def test_progress_and_blocks_do_not_change_a_byte(tmp_path):
    tl, speech = session(30, rest=(5, 17))
    m = loud_mixer(tl, speech)
    seen: list[int] = []
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    export(m, tl, a, ExportOptions(date="2026-12-01", block=SR), progress=seen.append)
    export(m, tl, b, ExportOptions(date="2026-12-01", block=997))
    assert seen == [SR * k for k in range(1, 31)]
    assert a.read_bytes() == b.read_bytes()


# ------------------------------------------------------------------ streams
def test_a_stream_gets_the_samples_in_order_with_zeros_for_silence():
    r, w = os.pipe()
    try:
        writer = WavWriter(w, 10, 1, SR, info=b"LIST", tail=b"cue ", seekable=False)
        writer.write_at(2, np.array([[1], [2]], np.int16))
        writer.write_at(7, np.array([[3]], np.int16))
        with pytest.raises(ValueError, match="before"):
            writer.write_at(6, np.array([[4]], np.int16))
        writer.close()
        blob = os.read(r, 1000)
    finally:
        os.close(r)
        os.close(w)
    assert blob[:44] == header(10, 1, SR, "PCM_16") and len(blob) == 64   # no INFO, no chapters
    assert np.array_equal(np.frombuffer(blob[44:], "<i2"), [0, 0, 1, 2, 0, 0, 0, 3, 0, 0])


@pytest.mark.parametrize("subtype", ["PCM_24", "PCM_32", "FLOAT"])
def test_other_subtypes_are_converted_as_libsndfile_converts_them(subtype):
    rng = np.random.default_rng(2)
    x = ((rng.random((3000, 2)) - 0.5) * 1.98).astype(np.float32)
    x[:6, 0] = [0.0, 1e-9, -0.5 / 2 ** 23, 1.5 / 2 ** 23, 2.5 / 2 ** 31, -0.999]
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", SR, 2, subtype, endian="LITTLE", format="RAW") as f:
        f.write(x)
    assert samples(x, subtype).tobytes() == buf.getvalue()


def test_a_file_too_large_for_riff_is_refused_up_front():
    with pytest.raises(InputError, match="4 GiB"):
        header(2 ** 31, 1, SR, "PCM_16")
    assert len(header(2 ** 31 - 100, 1, SR, "PCM_16")) == 44


def test_without_pwrite_the_same_file_is_written(tmp_path, monkeypatch):
    """Where the system has no positioned write (Windows), seek and write give the same bytes."""
    tl, speech = session(20, rest=(4, 12))
    m = loud_mixer(tl, speech)
    export(m, tl, tmp_path / "a.wav", ExportOptions(date="2026-12-01"))
    monkeypatch.delattr(os, "pwrite")
    export(m, tl, tmp_path / "b.wav", ExportOptions(date="2026-12-01"))
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
