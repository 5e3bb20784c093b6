"""16-bit WAV files (and every WAV stream) written by hand: header, samples
where there is sound (``pwrite`` into a file sized once: the silence is a
hole), chapters. The layout is libsndfile's for the same tags (``fmt``,
``LIST/INFO``, ``data``), then ``cue `` points and ``LIST/adtl`` labels
(docs/architecture.md, "Encoding"). A stream gets the silence as zeros, in
order, and no tags."""

from __future__ import annotations

import os
import struct
import unicodedata
from collections.abc import Sequence

import numpy as np

from voicecoach.errors import InputError

__all__ = ["RIFF_LIMIT", "WavWriter", "chapter_chunks", "header", "info_chunk", "riff_text", "samples"]

RIFF_LIMIT = 0xFFFFFFFF
"""RIFF sizes are 32-bit: a file's size less 8 must fit."""

_BITS = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32}

INFO_IDS = {
    "title": b"INAM",
    "artist": b"IART",
    "album": b"IPRD",
    "comment": b"ICMT",
    "software": b"ISFT",
    "genre": b"IGNR",
    "date": b"ICRD",
    "tracknumber": b"ITRK",
}
"""RIFF INFO ids, by the names soundfile gives them."""


_SPELLED = str.maketrans("\u00d7\u2014\u2013\u2018\u2019\u201c\u201d", "x--''\"\"")
"""Times sign, dashes and curly quotes, as ASCII (NFKD spells an ellipsis)."""


def riff_text(text: str) -> str:
    """``text`` in ASCII, for RIFF INFO strings and chapter labels, which say
    no character set: Windows and mediainfo read their bytes as Latin-1 (the
    code page), FFmpeg (so mpv) as UTF-8, and only ASCII reads the
    same in both. Accents are dropped, our few signs spelled ("3 x 10"), the
    rest becomes "?"."""
    folded = unicodedata.normalize("NFKD", text.translate(_SPELLED))
    kept = "".join(c for c in folded if not unicodedata.combining(c))
    return kept.encode("ascii", "replace").decode("ascii")


def samples(x: np.ndarray, subtype: str) -> np.ndarray:
    """Float samples ``x`` (float32, ``(n, channels)``) as a WAV of
    ``subtype`` holds them, converted as libsndfile converts them
    (``round(x * 2**31)``, its top 24 bits for PCM_24; float32 as is):
    C-contiguous ``(n, channels)`` ``<i4`` or ``<f4``, or ``(n, channels, 3)``
    uint8 for PCM_24. PCM_16 is the exporter's own rounding, not this.
    """
    if subtype == "FLOAT":
        return np.ascontiguousarray(x, dtype="<f4")
    v = np.rint(x * np.float32(2.0**31)).astype("<i4")
    if subtype == "PCM_32":
        return v
    if subtype == "PCM_24":
        v >>= 8
        return np.ascontiguousarray(v.view(np.uint8).reshape(*v.shape, 4)[..., :3])
    raise ValueError(f"no conversion for {subtype!r}")


def _text(chunk_id: bytes, text: str) -> bytes:
    """One INFO string as libsndfile lays it out: NUL-terminated, padded to
    an even length, the size counting the padding."""
    data = text.encode("utf-8", "surrogateescape") + b"\0"
    data += b"\0" * (len(data) % 2)
    return chunk_id + struct.pack("<I", len(data)) + data


def info_chunk(items: Sequence[tuple[str, str]]) -> bytes:
    """A ``LIST/INFO`` chunk of ``(name, text)`` in the given order (names as
    :data:`INFO_IDS`); empty texts are left out, and nothing at all when
    every text is empty."""
    body = b"".join(_text(INFO_IDS[name], text) for name, text in items if text)
    if not body:
        return b""
    return b"LIST" + struct.pack("<I", 4 + len(body)) + b"INFO" + body


def chapter_chunks(marks: Sequence[tuple[int, str]]) -> bytes:
    """RIFF ``cue `` points and their ``LIST/adtl`` ``labl`` names for
    ``(frame, title)`` marks: what DAWs, ffmpeg and mpv read as chapters."""
    if not marks:
        return b""
    cue = struct.pack("<I", len(marks)) + b"".join(
        struct.pack("<II4sIII", i, frame, b"data", 0, 0, frame) for i, (frame, _) in enumerate(marks, start=1)
    )
    adtl = b"adtl"
    for i, (_, title) in enumerate(marks, start=1):
        body = struct.pack("<I", i) + riff_text(title).encode("ascii") + b"\0"
        adtl += b"labl" + struct.pack("<I", len(body)) + body + b"\0" * (len(body) % 2)
    return b"cue " + struct.pack("<I", len(cue)) + cue + b"LIST" + struct.pack("<I", len(adtl)) + adtl


def header(frames: int, channels: int, samplerate: int, subtype: str, info: bytes = b"", tail: int = 0) -> bytes:
    """The RIFF header up to the ``data`` chunk's samples.

    ``info`` goes between ``fmt `` and ``data``; ``tail`` is the size of the
    chunks that will follow the samples (counted in the RIFF size).

    Raises
    ------
    InputError
        The file would pass RIFF's 4 GiB.
    """
    bits = _BITS[subtype]
    align = channels * bits // 8
    data = frames * align
    total = 36 + len(info) + data + tail  # the RIFF size: the file's, less 8
    if total > RIFF_LIMIT:
        raise InputError(
            f"a WAV file holds at most 4 GiB; this session needs {data} bytes (use flac, ogg, opus or mp3)"
        )
    tag = 3 if subtype == "FLOAT" else 1
    return (
        b"RIFF"
        + struct.pack("<I", total)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, tag, channels, samplerate, samplerate * align, align, bits)
        + info
        + b"data"
        + struct.pack("<I", data)
    )


class WavWriter:
    """A WAV of exactly ``frames`` frames, written at frame offsets.

    ``fd`` is left open. ``seekable`` (a regular file, not opened for
    appending): the file is written from the descriptor's offset by
    ``pwrite`` and sized up front, so frames never written are a hole; it
    gets ``info`` (an :func:`info_chunk`) and ``tail`` (the chunks after the
    samples: :func:`chapter_chunks`). Otherwise it is written in sequence,
    silence as zeros, without them. :meth:`write_at` takes the samples as the
    file holds them (int16 for PCM_16, else :func:`samples`), C-contiguous,
    at frames in increasing order.
    """

    def __init__(
        self,
        fd: int,
        frames: int,
        channels: int,
        samplerate: int,
        info: bytes = b"",
        tail: bytes = b"",
        seekable: bool = True,
        subtype: str = "PCM_16",
    ):
        self._fd, self.frames, self.channels, self.subtype = fd, frames, channels, subtype
        self._seekable = seekable
        if not seekable:
            info = tail = b""
        self._tail = tail
        head = header(frames, channels, samplerate, self.subtype, info, len(tail))
        self._align = channels * _BITS[subtype] // 8
        self._end = frames * self._align  # bytes of samples
        self.failed = False
        self.closed = False
        self.min_hole = 0
        """Silences shorter than this many bytes are to be written as zeros
        (a file's holes cost its file system; see the exporter)."""
        try:
            if seekable:
                self._base = os.lseek(fd, 0, os.SEEK_CUR)
                self._data = self._base + len(head)
                os.ftruncate(fd, self._data + self._end + len(tail))
                self._pwrite(head, self._base)
            else:
                self._pos = 0  # bytes of samples written so far
                self._write(head)
        except OSError:
            self.failed = True
            raise

    def _pwrite(self, data, offset: int) -> None:
        view = memoryview(data).cast("B")
        if not hasattr(os, "pwrite"):  # Windows: seek, then write
            os.lseek(self._fd, offset, os.SEEK_SET)
            self._write(view)
            return
        while view:
            n = os.pwrite(self._fd, view, offset)
            if n <= 0:
                raise OSError(28, os.strerror(28))
            view, offset = view[n:], offset + n

    def _write(self, data) -> None:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(self._fd, view) :]

    def _zeros(self, nbytes: int) -> None:
        """Silence on a stream, in pieces of at most 1 MiB."""
        piece = bytes(min(nbytes, 1 << 20))
        while nbytes:
            k = min(nbytes, len(piece))
            self._write(memoryview(piece)[:k])
            nbytes -= k

    def write_at(self, frame: int, data: np.ndarray) -> None:
        """Write ``data`` (``n`` frames as the file holds them) as frames ``[frame, frame + n)``."""
        try:
            at = frame * self._align
            if self._seekable:
                self._pwrite(data, self._data + at)
            else:
                if at < self._pos:
                    raise ValueError(f"frame {frame} is before what a stream already holds")
                self._zeros(at - self._pos)
                self._write(data)
                self._pos = at + data.nbytes
        except OSError:
            self.failed = True
            raise

    def close(self) -> None:
        """Write what follows the last sound: zeros on a stream, the chapters on a file."""
        if self.closed:
            return
        self.closed = True
        try:
            if self._seekable:
                if self._tail:
                    self._pwrite(self._tail, self._data + self._end)
                os.lseek(self._fd, self._data + self._end + len(self._tail), os.SEEK_SET)
            else:
                self._zeros(self._end - self._pos)
                self._pos = self._end
        except OSError:
            self.failed = True
            raise
