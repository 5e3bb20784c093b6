"""A FLAC seek table, which libsndfile's FLAC writer leaves out.

Players (and phones) use it to jump to a chapter without scanning the file.
The audio frames are found by their sync code and checked by the CRC-8 of
their header; a seek point every :data:`SEEK_SECONDS` names the frame that
starts there. The file is read through mmap, so memory stays flat.
"""

from __future__ import annotations

import mmap
from pathlib import Path

from fastcrc import crc8

__all__ = ["SEEK_SECONDS", "add_seektable"]

SEEK_SECONDS = 10
_BLOCK_SIZES = {1: 192, **{k: 576 << (k - 2) for k in range(2, 6)}, **{k: 256 << (k - 8) for k in range(8, 16)}}


def _frame_header(buf, pos: int, want: int) -> tuple[int, int] | None:
    """``(frame number, block size)`` of a fixed-blocksize frame at ``pos``
    that is the first to start at or after sample ``want``, if one is there."""
    if buf[pos] != 0xFF or buf[pos + 1] != 0xF8:
        return None
    bs_code, sr_code = buf[pos + 2] >> 4, buf[pos + 2] & 0x0F
    if bs_code == 0 or sr_code == 15 or buf[pos + 3] & 1:
        return None
    i = pos + 4
    first = buf[i]
    ones = 8 - (first ^ 0xFF).bit_length()  # the frame number is UTF-8 coded: its leading ones
    if ones == 1 or ones > 6:
        return None
    n_extra = max(ones - 1, 0)
    number = first & (0x7F >> n_extra)
    for k in range(n_extra):
        b = buf[i + 1 + k]
        if b >> 6 != 2:
            return None
        number = number << 6 | (b & 0x3F)
    i += 1 + n_extra
    size = _BLOCK_SIZES.get(bs_code)
    if bs_code == 6:
        size, i = buf[i] + 1, i + 1
    elif bs_code == 7:
        size, i = (buf[i] << 8 | buf[i + 1]) + 1, i + 2
    i += {12: 1, 13: 2, 14: 2}.get(sr_code, 0)
    if size is None or not want <= number * size < want + size:  # a real frame is not far beyond it
        return None
    if i >= len(buf) or crc8.smbus(bytes(buf[pos:i])) != buf[i]:  # the header's CRC-8
        return None
    return number, size


def add_seektable(path: Path) -> None:
    """Add a SEEKTABLE block to the FLAC file at ``path``."""
    from mutagen.flac import FLAC, SeekPoint, SeekTable

    audio = FLAC(path)
    if audio.seektable is not None:
        return
    info = audio.info
    step = SEEK_SECONDS * info.sample_rate
    points = []
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        start = _first_frame(buf)
        pos, want = start, 0
        while want < info.total_samples and pos >= 0:
            pos = buf.find(b"\xff\xf8", pos)
            if pos < 0 or pos + 16 > len(buf):
                break
            head = _frame_header(buf, pos, want)
            if head is not None and head[1] == info.max_blocksize:
                number, size = head
                sample = number * size
                points.append(SeekPoint(sample, pos - start, size))
                want = (sample // step + 1) * step
            pos += 2
    table = SeekTable(None)
    table.seekpoints = points
    audio.metadata_blocks.insert(1, table)
    audio.seektable = table
    audio.save()


def _first_frame(buf) -> int:
    """Byte offset where the audio frames begin (after the metadata blocks)."""
    pos = 4
    while True:
        last, size = buf[pos] & 0x80, int.from_bytes(buf[pos + 1 : pos + 4], "big")
        pos += 4 + size
        if last:
            return pos
