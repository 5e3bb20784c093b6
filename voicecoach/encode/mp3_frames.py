"""MPEG audio frames built without an encoder, which make the MP3 writer's
pieces one valid stream: how many frames LAME writes for an input, the empty
frames at any global frame index, and the LAME Info tag rebuilt for the
whole stream from a throwaway encoder's tag."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fastcrc import crc16

__all__ = ["SILENT_CHUNK", "SilentFrames", "frames_for", "info_tag", "stream_info_tag"]

SILENT_CHUNK = 4096
"""Empty frames built at a time."""
_TOC = 100


def frames_for(samples: int, framesize: int, delay: int = 576) -> tuple[int, int]:
    """Frames and end padding LAME writes for ``samples`` of input.

    LAME delays the input by ``delay`` and pads the end to whole frames,
    with at least 576 samples of padding (its flush).
    """
    pad = framesize - (delay + samples) % framesize
    if pad < 576:
        pad += framesize
    return (delay + samples + pad) // framesize, pad


class SilentFrames:
    """Empty MPEG frames matching the stream, at any global frame index.

    The smallest bitrate (index 1), side information all zeros: no main
    data, ``main_data_begin = 0``. Frame ``k`` is ``floor((k+1)R) - floor(kR)``
    bytes long (``R = fs/8 * bitrate / rate``), the standard padding rule, so
    a run's size has a closed form.
    """

    def __init__(self, header: bytes, framesize: int, samplerate: int):
        h = int.from_bytes(header[:4], "big")
        mpeg1 = (h >> 19) & 3 == 3
        kbps = 32 if mpeg1 else 8
        h = (h & ~(0xF << 12)) | (1 << 12)  # bitrate index 1
        h &= ~((1 << 9) | (3 << 4))  # no padding, no mode extension
        self.header = np.frombuffer(h.to_bytes(4, "big"), dtype=np.uint8)
        self.num, self.den = framesize // 8 * kbps * 1000, samplerate
        self.base = self.num // self.den
        # At most rates every empty frame is the same: one run's bytes serve every run.
        self.fixed = self.frames(0, SILENT_CHUNK).tobytes() if self.num % self.den == 0 else None

    def run(self, a: int, b: int) -> bytes:
        """The bytes of empty frames ``a .. b-1`` (at most a chunk)."""
        if self.fixed is None:
            return self.frames(a, b).tobytes()
        return self.fixed[: (b - a) * self.base]

    def offset(self, k: int) -> int:
        """Bytes of the empty frames ``0 .. k-1``."""
        return k * self.num // self.den

    def frames(self, a: int, b: int) -> np.ndarray:
        """The bytes of empty frames ``a .. b-1``, dtype uint8."""
        k = np.arange(a, b + 1, dtype=np.int64)
        ends = k * self.num // self.den - a * self.num // self.den
        starts, sizes = ends[:-1], np.diff(ends)
        out = np.zeros(int(ends[-1]), dtype=np.uint8)
        for j in range(4):
            out[starts + j] = self.header[j]
        out[starts[sizes > self.base] + 2] |= 0x02
        return out


def info_tag(
    template: bytes, total: int, padding: int, delay: int, audio_bytes: int, crc: int, byte_at: Callable[[int], int]
) -> bytes:
    """The Info tag frame for the whole stream, from an encoder's ``template``.

    ``total`` frames of ``audio_bytes`` (CRC-16 ``crc``) follow the tag;
    ``byte_at(frame)`` says where a frame starts (for the seek table);
    ``delay`` and ``padding`` are the encoder delay and end padding in samples.
    """
    t = bytearray(template)
    x = max(t.find(b"Xing"), t.find(b"Info"))
    if x < 0:
        raise RuntimeError("LAME's Info tag has no Xing header")
    size = len(t) + audio_bytes
    t[x + 8 : x + 12] = total.to_bytes(4, "big")
    t[x + 12 : x + 16] = size.to_bytes(4, "big")
    audio = max(audio_bytes, 1)
    t[x + 16 : x + 16 + _TOC] = bytes(min(255, 256 * byte_at(i * total // _TOC) // audio) for i in range(_TOC))
    lame = x + 120
    t[lame + 21 : lame + 24] = ((delay << 12) | padding).to_bytes(3, "big")
    t[lame + 28 : lame + 32] = size.to_bytes(4, "big")
    t[lame + 32 : lame + 34] = crc.to_bytes(2, "big")
    t[lame + 34 : lame + 36] = crc16.arc(bytes(t[: lame + 34])).to_bytes(2, "big")
    return bytes(t)


def stream_info_tag(template: bytes, total: int, padding: int, delay: int) -> bytes:
    """The Info tag frame a stream starts with, from what is known before any
    frame: ``total`` frames follow, ``delay`` and ``padding`` samples. The
    byte count and seek table (a VBR stream's sizes are not known yet) are
    left out, their flags cleared; the LAME extension follows the frame count
    and quality, its music length and CRC zero (unknown)."""
    t = bytearray(template)
    x = max(t.find(b"Xing"), t.find(b"Info"))
    if x < 0:
        raise RuntimeError("LAME's Info tag has no Xing header")
    quality, lame = t[x + 116 : x + 120], bytearray(t[x + 120 : x + 156])
    t[x + 4 :] = bytes(len(t) - x - 4)
    t[x + 4 : x + 16] = (0x1 | 0x8).to_bytes(4, "big") + total.to_bytes(4, "big") + quality
    lame[21:24] = ((delay << 12) | padding).to_bytes(3, "big")
    lame[28:34] = bytes(6)
    t[x + 16 : x + 52] = lame
    t[x + 50 : x + 52] = crc16.arc(bytes(t[: x + 50])).to_bytes(2, "big")
    return bytes(t)
