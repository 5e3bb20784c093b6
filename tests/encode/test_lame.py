"""The MP3 writer: islands of sound, empty frames in silence, one Info tag.

Every file is decoded by ffmpeg (an independent decoder) and soundfile, its
frames walked from header to header, its LAME tag read byte by byte and its
CRCs checked with a plain bitwise CRC; the reference is one LAME encoder
fed the whole input, as the writer did before it skipped silence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import mutagen.mp3
import numpy as np
import pytest
import soundfile as sf

from voicecoach.encode import lame
from voicecoach.encode.mp3_frames import frames_for
from voicecoach.encode.mp3_islands import Islands
from voicecoach.encode.mp3_writer import MIN_GAP_SAMPLES, Mp3Writer

pytestmark = [
    pytest.mark.skipif(not lame.available(), reason="libmp3lame not installed"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed"),
]

GAP = MIN_GAP_SAMPLES // 1152          # frames of silence that end an island
NEVER = 10 ** 12                            # a gap no input has: one encoder


# ------------------------------------------------------------------ helpers
def crc_plain(data: bytes) -> int:
    """CRC-16/ARC, bit by bit."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


BITRATES = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
            False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def walk(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, size, header) of every frame; they must tile the file exactly."""
    frames, pos = [], 0
    while pos < len(data):
        h = int.from_bytes(data[pos:pos + 4], "big")
        assert h >> 21 == 0x7FF, f"no frame header at byte {pos}"
        mpeg1 = (h >> 19) & 3 == 3
        rate = RATES[(h >> 19) & 3][(h >> 10) & 3]
        size = (144 if mpeg1 else 72) * BITRATES[mpeg1][(h >> 12) & 15] * 1000 // rate \
            + ((h >> 9) & 1)
        frames.append((pos, size, h))
        pos += size
    assert pos == len(data), "the last frame runs past the end of the file"
    return frames


def tag(data: bytes) -> dict:
    """The Xing/Info header and LAME extension of the first frame."""
    x = data.find(b"Xing", 0, 64)
    x = x if x >= 0 else data.find(b"Info", 0, 64)
    assert x > 0, "no Info tag"
    lame_at = x + 120
    delay_padding = int.from_bytes(data[lame_at + 21:lame_at + 24], "big")
    return {
        "at": x, "lame": lame_at,
        "flags": int.from_bytes(data[x + 4:x + 8], "big"),
        "frames": int.from_bytes(data[x + 8:x + 12], "big"),
        "bytes": int.from_bytes(data[x + 12:x + 16], "big"),
        "toc": list(data[x + 16:x + 116]),
        "encoder": data[lame_at:lame_at + 9],
        "delay": delay_padding >> 12, "padding": delay_padding & 0xFFF,
        "music_length": int.from_bytes(data[lame_at + 28:lame_at + 32], "big"),
        "music_crc": int.from_bytes(data[lame_at + 32:lame_at + 34], "big"),
        "tag_crc": int.from_bytes(data[lame_at + 34:lame_at + 36], "big"),
    }


def decode(path, channels: int) -> np.ndarray:
    """ffmpeg's decoding, float32 ``(n, channels)``; it must say nothing."""
    res = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac",
                          str(channels), "-"], capture_output=True, check=True)
    assert res.stderr == b"", res.stderr.decode(errors="replace")
    return np.frombuffer(res.stdout, np.float32).reshape(-1, channels)


def encode(path, x: np.ndarray, sr: int, block: int = 4000, **kw) -> Mp3Writer:
    w = Mp3Writer(path, sr, x.shape[1], **kw)
    for i in range(0, len(x), block):
        w.write(x[i:i + block])
    w.close()
    return w


def signal(n: int, sr: int, channels: int, spans, seed: int = 0) -> np.ndarray:
    """Speech-like sound (a vowel-ish tone with noise, enveloped) in ``spans``."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, channels), np.float32)
    for a, b in spans:
        t = np.arange(b - a) / sr
        env = np.minimum(1, np.minimum(t, t[::-1]) * 50)
        tone = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.15 * np.sin(2 * np.pi * 660 * t)
        for c in range(channels):
            x[a:b, c] = env * (tone * (1 - 0.3 * c) + 0.02 * rng.standard_normal(b - a))
    return x


def far_from_sound(x: np.ndarray, margin: int = 2600) -> np.ndarray:
    """Samples with no sound within ``margin`` either side (MP3's reach)."""
    count = np.concatenate(([0], np.cumsum(np.any(x != 0, axis=1))))
    i = np.arange(len(x))
    return count[np.minimum(i + margin + 1, len(x))] == count[np.maximum(i - margin, 0)]


def snr(ref: np.ndarray, y: np.ndarray) -> float:
    return 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref - y) ** 2.0))


# ------------------------------------------------------------------- tests
def test_frames_for_is_what_one_lame_encoder_writes(tmp_path):
    """The arithmetic the islands rely on, against LAME's own tag."""
    for n in (1, 575, 576, 1151, 1152, 10 * 1152 + 577):
        x = signal(n, 48000, 1, [(0, n)])
        encode(tmp_path / "one.mp3", x, 48000, min_gap=NEVER)
        t = tag((tmp_path / "one.mp3").read_bytes())
        assert (t["frames"], t["padding"]) == frames_for(n, 1152), n


@pytest.mark.parametrize("extra", [0, 1, 575, 576, 1151])
@pytest.mark.parametrize("sr, channels", [(48000, 1), (44100, 2)])
def test_exact_length_and_sound_around_frame_boundaries(tmp_path, sr, channels, extra):
    n = 40 * 1152 + extra
    spans = [(0, 5000), (5000 + (GAP + 3) * 1152, 5000 + (GAP + 10) * 1152), (n - 3000, n)]
    x = signal(n, sr, channels, spans)
    path, one = tmp_path / "islands.mp3", tmp_path / "one.mp3"
    w = encode(path, x, sr)
    encode(one, x, sr, min_gap=NEVER)
    assert w.islands == 3

    y = decode(path, channels)
    assert len(y) == n == len(sf.read(path)[0])
    assert round(mutagen.mp3.MP3(path).info.length * sr) == n
    quiet = far_from_sound(x)
    assert quiet.sum() > 5000 and not y[quiet].any()        # exact digital silence
    assert snr(x, y) > snr(x, decode(one, channels)) - 1.0
    assert snr(x, y) > 15

    data, ref = path.read_bytes(), one.read_bytes()
    t, t_one = tag(data), tag(ref)
    assert (t["frames"], t["delay"], t["padding"]) == (t_one["frames"], 576, t_one["padding"])
    assert t["encoder"] == t_one["encoder"] and t["flags"] == t_one["flags"] == 15


def test_tag_fields_and_crcs_verified_independently(tmp_path):
    sr, n = 44100, 60 * 1152 + 100
    x = signal(n, sr, 2, [(2000, 9000), (30000, 40000), (60000, 61000)])
    path = tmp_path / "t.mp3"
    w = encode(path, x, sr)
    assert w.islands == 3
    data = path.read_bytes()
    frames = walk(data)
    t = tag(data)
    tag_size = frames[0][1]
    assert t["frames"] == len(frames) - 1 == frames_for(n, 1152)[0]
    assert t["bytes"] == t["music_length"] == len(data) == sum(f[1] for f in frames)
    assert t["music_crc"] == crc_plain(data[tag_size:])
    assert t["tag_crc"] == crc_plain(data[:t["lame"] + 34])
    lengths = mutagen.mp3.MP3(path).info
    assert (lengths.sample_rate, lengths.channels) == (sr, 2)
    toc = t["toc"]
    assert toc[0] == 0 and all(a <= b for a, b in zip(toc, toc[1:])) and toc[-1] <= 255
    # the table points where the frames are: entry i is frame i% of the way
    audio = len(data) - tag_size
    for i in (10, 40, 80):
        pos = frames[1 + i * t["frames"] // 100][0] - tag_size
        assert abs(toc[i] - 256 * pos / audio) <= 4, i


def test_all_silent_file_is_empty_frames_that_decode_to_zeros(tmp_path):
    n = 30 * 1152 + 7
    x = np.zeros((n, 1), np.float32)
    path = tmp_path / "silent.mp3"
    w = encode(path, x, 48000)
    assert w.islands == 0
    y = decode(path, 1)
    assert len(y) == n and not y.any()
    frames = walk(path.read_bytes())
    assert {size for _, size, _ in frames[1:]} == {96}       # 32 kbit/s at 48 kHz
    assert tag(path.read_bytes())["padding"] == frames_for(n, 1152)[1]


def test_empty_frames_pad_to_the_exact_average_at_44100(tmp_path):
    n = 300 * 1152
    path = tmp_path / "silent.mp3"
    encode(path, np.zeros((n, 2), np.float32), 44100)
    frames = walk(path.read_bytes())[1:]
    sizes = [size for _, size, _ in frames]
    assert set(sizes) == {104, 105}
    # 144 * 32000 / 44100 bytes a frame on average, never off by a whole byte
    assert abs(sum(sizes) - len(sizes) * 144 * 32000 / 44100) < 1
    assert not decode(path, 2).any()


@pytest.mark.parametrize("gap, islands", [(GAP - 1, 1), (GAP, 2)])
def test_gap_just_below_and_at_the_threshold(tmp_path, gap, islands):
    sr, lead = 48000, 10 * 1152
    start = lead + gap * 1152                   # sound ends on a frame, resumes after gap
    n = start + 10 * 1152
    x = signal(n, sr, 1, [(1000, lead), (start, n)])
    path = tmp_path / "g.mp3"
    w = encode(path, x, sr)
    assert w.islands == islands
    y = decode(path, 1)
    assert len(y) == n
    quiet = far_from_sound(x)
    assert not y[quiet].any()
    assert snr(x, y) > 15


@pytest.mark.parametrize("sr, channels", [(24000, 1), (8000, 2)])
def test_low_rates_use_the_half_frame_grid(tmp_path, sr, channels):
    n = 3 * sr + 333
    x = signal(n, sr, channels, [(0, sr // 4), (2 * sr, 2 * sr + sr // 3)])
    path = tmp_path / "low.mp3"
    w = encode(path, x, sr)
    assert w.islands == 2
    y = decode(path, channels)
    assert len(y) == n
    assert not y[far_from_sound(x)].any()
    t = tag(path.read_bytes())
    assert (t["frames"], t["padding"]) == frames_for(n, 576)


def test_block_size_does_not_change_a_byte(tmp_path):
    x = signal(50 * 1152 + 9, 48000, 1, [(100, 9000), (30000, 31000), (50000, 57000)])
    a, b, c = (tmp_path / f"{k}.mp3" for k in "abc")
    encode(a, x, 48000, block=65536)
    encode(b, x, 48000, block=777)
    encode(c, x, 48000, block=1)
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()


def test_a_repeated_island_is_the_same_bytes_as_encoding_it_again(tmp_path):
    """Looking islands up by their input gives the very file streaming gives."""
    sr, period = 48000, 40 * 1152
    word = signal(9000, sr, 1, [(0, 9000)], seed=5)
    x = np.zeros((6 * period, 1), np.float32)
    for k in range(6):
        x[k * period + 300:k * period + 9300] = word      # the same phase on the grid
    looked_up, streamed = tmp_path / "l.mp3", tmp_path / "s.mp3"
    w = encode(looked_up, x, sr)
    encode(streamed, x, sr, keep=0)
    assert w.islands == 6 and w.encoded == 1
    assert looked_up.read_bytes() == streamed.read_bytes()
    y = decode(looked_up, 1)
    assert len(y) == len(x)
    np.testing.assert_array_equal(y[300:300 + period], y[3 * period + 300:4 * period + 300])


def test_a_pipe_gets_the_same_frames_without_the_tag(tmp_path):
    x = signal(30 * 1152 + 5, 48000, 1, [(0, 4000), (20000, 25000)])
    path = tmp_path / "file.mp3"
    encode(path, x, 48000)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    fd = os.open(fifo, os.O_WRONLY)
    try:
        w = Mp3Writer(fd, 48000, 1)
        w.write(x)
        w.close()
    finally:
        os.close(fd)
    reader.join(10)
    data = path.read_bytes()
    assert got[0] == data[walk(data)[0][1]:]          # everything after the tag frame
    assert b"Xing" not in got[0][:64] and b"Info" not in got[0][:64]


def test_each_island_starts_with_its_own_bit_reservoir(tmp_path):
    """main_data_begin = 0 where an island starts (the frame slot of its first
    sound, after empty frames): its bytes stand alone."""
    spans = [(0, 9000), (25000, 30000), (50000, 60000)]
    x = signal(60 * 1152, 48000, 1, spans)
    path = tmp_path / "r.mp3"
    w = encode(path, x, 48000)
    assert w.islands == 3
    data = path.read_bytes()
    frames = walk(data)[1:]
    for first in (start // 1152 for start, _ in spans):
        if first:                                         # silence before: empty frames
            pos, size, _ = frames[first - 1]
            assert not any(data[pos + 4:pos + size]), first
        pos = frames[first][0]
        assert any(data[pos + 6:pos + frames[first][1]]), first          # sound
        assert int.from_bytes(data[pos + 4:pos + 6], "big") >> 7 == 0, first   # 9 bits


def test_the_same_sounds_with_other_gaps_are_another_island(tmp_path):
    """The look-up key tells islands apart by where their short gaps fall."""
    sr, f = 48000, 1152
    a, b, c = (signal(f, sr, 1, [(0, f)], seed=s) for s in (1, 2, 3))
    x = np.zeros((80 * f, 1), np.float32)
    for start, gaps in ((0, (1, 2)), (40 * f, (2, 1))):     # s1 . s2 .. s3 / s1 .. s2 . s3
        at = start
        for piece, gap in zip((a, b, c), gaps + (0,)):
            x[at:at + f] = piece
            at += (1 + gap) * f
    path = tmp_path / "k.mp3"
    w = encode(path, x, sr)
    assert (w.islands, w.encoded) == (2, 2)
    y = decode(path, 1)
    for start in (0, 40 * f):
        part = slice(start, start + 8 * f)
        assert snr(x[part], y[part]) > 15


def test_writers_sharing_islands_encode_each_once_even_at_once(tmp_path):
    """Two encoder threads meeting the same islands: one encodes, the other
    waits for its bytes; both files are what each alone would write."""
    sr, period = 48000, 30 * 1152
    words = [signal(7000, sr, 1, [(0, 7000)], seed=s) for s in (7, 8, 9)]
    x = np.zeros((9 * period, 1), np.float32)
    for k in range(9):
        x[k * period + 100:k * period + 7100] = words[k % 3]
    alone = tmp_path / "alone.mp3"
    encode(alone, x, sr)
    shared = Islands()
    writers = [Mp3Writer(tmp_path / f"{i}.mp3", sr, 1, islands=shared) for i in range(2)]
    start = threading.Barrier(2)

    def run(w):
        start.wait()
        for i in range(0, len(x), 5000):
            w.write(x[i:i + 5000])
        w.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(w.encoded for w in writers) == 3 and all(w.islands == 9 for w in writers)
    assert (tmp_path / "0.mp3").read_bytes() == (tmp_path / "1.mp3").read_bytes() \
        == alone.read_bytes()


def test_a_full_island_store_still_writes_every_island(tmp_path):
    x = np.zeros((6 * 30 * 1152, 1), np.float32)
    word = signal(7000, 48000, 1, [(0, 7000)], seed=4)
    for k in range(6):
        x[k * 30 * 1152:k * 30 * 1152 + 7000] = word
    full, roomy = tmp_path / "full.mp3", tmp_path / "roomy.mp3"
    w = encode(full, x, 48000, islands=Islands(limit=0))
    encode(roomy, x, 48000)
    assert (w.islands, w.encoded) == (6, 6)
    assert full.read_bytes() == roomy.read_bytes()


def test_how_much_is_kept_does_not_change_a_byte(tmp_path):
    """Kept and looked up, streamed from the start, or kept and then streamed
    when the island grows too long (short gaps inside): the same file."""
    sr, f = 48000, 1152
    x = signal(60 * f, sr, 1, [(100, 3 * f), (5 * f, 9 * f), (10 * f, 14 * f),
                               (30 * f, 33 * f), (35 * f, 37 * f)])
    files = []
    for keep in (0, 2 * f, 6 * f, 11 * f, None):
        path = tmp_path / f"k{keep}.mp3"
        encode(path, x, sr, block=1000, keep=keep)
        files.append(path.read_bytes())
    assert all(data == files[0] for data in files)
    assert len(decode(tmp_path / "kNone.mp3", 1)) == len(x)
