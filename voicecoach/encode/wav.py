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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from voicecoach.encode.tags import TEXT_IDS
from voicecoach.errors import InputError

__all__ = ["RIFF_LIMIT", "WavWriter", "chapter_chunks", "header", "info_chunk", "riff_text", "samples"]

RIFF_LIMIT = 0xFFFFFFFF
"""RIFF sizes are 32-bit: a file's size less 8 must fit."""

_BITS = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32}

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


def info_chunk(texts: dict[str, str]) -> bytes:
    """A ``LIST/INFO`` chunk of ``texts`` (by soundfile's names, as
    :data:`~voicecoach.encode.tags.TEXT_IDS`), laid out as libsndfile lays it
    out: each NUL-terminated, padded to an even length that its size counts.
    Empty texts are left out, and nothing at all when every text is empty."""
    body = b""
    for name, text in texts.items():
        if text:
            data = text.encode("utf-8", "surrogateescape") + b"\0"
            data += b"\0" * (len(data) % 2)
            body += TEXT_IDS[name][0] + struct.pack("<I", len(data)) + data
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
    fmt = struct.pack("<IHHIIHH", 16, tag, channels, samplerate, samplerate * align, align, bits)
    return b"RIFF" + struct.pack("<I", total) + b"WAVEfmt " + fmt + info + b"data" + struct.pack("<I", data)


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
        self._fd, self.subtype, self._seekable = fd, subtype, seekable
        if not seekable:
            info = tail = b""
        self._tail = tail
        head = header(frames, channels, samplerate, subtype, info, len(tail))
        self._align = channels * _BITS[subtype] // 8
        self._end = frames * self._align  # bytes of samples
        self.failed = self.closed = False
        self.min_hole = 0
        """Silences shorter than this many bytes are to be written as zeros
        (a file's holes cost its file system; see the exporter)."""
        with self._failing():
            if seekable:
                base = os.lseek(fd, 0, os.SEEK_CUR)
                self._data = base + len(head)
                os.ftruncate(fd, self._data + self._end + len(tail))
                self._pwrite(head, base)
            else:
                self._pos = 0  # bytes of samples written so far
                self._write(head)

    @contextmanager
    def _failing(self) -> Iterator[None]:
        """An :class:`OSError` inside marks the file failed."""
        try:
            yield
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
        while nbytes:
            k = min(nbytes, 1 << 20)
            self._write(bytes(k))
            nbytes -= k

    def write_at(self, frame: int, data: np.ndarray) -> None:
        """Write ``data`` (``n`` frames as the file holds them) as frames ``[frame, frame + n)``."""
        at = frame * self._align
        with self._failing():
            if self._seekable:
                self._pwrite(data, self._data + at)
            else:
                if at < self._pos:
                    raise ValueError(f"frame {frame} is before what a stream already holds")
                self._zeros(at - self._pos)
                self._write(data)
                self._pos = at + data.nbytes

    def close(self) -> None:
        """Write what follows the last sound: zeros on a stream, the chapters on a file."""
        if self.closed:
            return
        self.closed = True
        with self._failing():
            if self._seekable:
                if self._tail:
                    self._pwrite(self._tail, self._data + self._end)
                os.lseek(self._fd, self._data + self._end + len(self._tail), os.SEEK_SET)
            else:
                self._zeros(self._end - self._pos)
                self._pos = self._end
