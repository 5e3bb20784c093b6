"""Chapter labels of odd length in a WAV: each ``labl`` is padded to an even
length its size does not count, so every chunk after it is still found."""

import json
import os
import struct
import subprocess

import numpy as np
import soundfile as sf

from voicecoach.encode.wav import WavWriter, chapter_chunks

SR = 8000
FRAMES = 3 * SR
MARKS = [(0, "Intro"), (SR, "Set 1!"), (2 * SR, "Outro")]  # labl bodies of 10, 11 and 10 bytes


def chunks(data, start, end):
    """``(id, offset of the body, size)`` of the RIFF chunks in ``data[start:end]``;
    asserts they tile it exactly, each padded to an even length."""
    found = []
    at = start
    while at < end:
        assert at + 8 <= end, f"a chunk header is cut at byte {at}"
        cid, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        found.append((cid, at + 8, size))
        at += 8 + size + size % 2
    assert at == end
    return found


def test_odd_length_labels_are_padded_and_every_reader_finds_every_chapter(tmp_path):
    path = tmp_path / "labels.wav"
    x = (np.arange(FRAMES) % 200 - 100).astype(np.int16)[:, None]
    tail = chapter_chunks(MARKS)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    try:
        w = WavWriter(fd, FRAMES, 1, SR, tail=tail)
        w.write_at(0, x)
        w.close()
    finally:
        os.close(fd)
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    top = chunks(data, 12, len(data))
    assert [c[0] for c in top] == [b"fmt ", b"data", b"cue ", b"LIST"]
    _, at, size = top[3]
    assert data[at:at + 4] == b"adtl"
    labels = chunks(data, at + 4, at + size)
    assert [(c[0], c[2]) for c in labels] == [(b"labl", 10), (b"labl", 11), (b"labl", 10)]
    for i, (_, body, size) in enumerate(labels, start=1):
        title = MARKS[i - 1][1].encode() + b"\0"
        assert data[body:body + size] == struct.pack("<I", i) + title
    odd = labels[1][1] + labels[1][2]
    assert data[odd:odd + 1] == b"\0" and data[odd + 1:odd + 5] == b"labl"  # the pad byte, then the next label

    y, sr = sf.read(path, dtype="int16", always_2d=True)
    assert sr == SR and np.array_equal(y, x)
    probe = subprocess.run(["ffprobe", "-v", "error", "-of", "json", "-show_chapters", str(path)],
                           capture_output=True, text=True, check=True)
    chapters = json.loads(probe.stdout)["chapters"]
    assert [(c["start"], c["tags"]["title"]) for c in chapters] == [(f, t) for f, t in MARKS]
