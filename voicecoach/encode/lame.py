"""libmp3lame through ctypes: one encoder at our settings, tuned for speech.

LAME's VBR at algorithm quality 7 sounds as good for a voice over a
metronome as libsndfile's MP3 writer (LAME at its slowest) and encodes
several times faster; ctypes releases the GIL while it encodes; and LAME's
Info tag tells players the encoder delay and padding. The file is built by
:mod:`voicecoach.encode.mp3_writer`."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

import numpy as np

__all__ = ["ALGORITHM_QUALITY", "VBR_QUALITY", "LameEncoder", "available"]

VBR_QUALITY = 2
"""LAME ``-V 2``: with the fast algorithm below, speech comes out at a lower
bitrate and a higher signal-to-noise ratio than ``ffmpeg -q:a 4`` (``-V 4``
at algorithm quality 5) gives, in less time (measured: README)."""
ALGORITHM_QUALITY = 7
"""LAME ``-q 7``: the fast psychoacoustics; inaudible for speech (see README)."""

_VBR_MTRH = 4
_MONO, _JOINT_STEREO = 3, 1


@cache
def _lib() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("mp3lame") or "libmp3lame.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.lame_init.restype = ctypes.c_void_p
    for fn in (
        "lame_set_in_samplerate",
        "lame_set_out_samplerate",
        "lame_set_num_channels",
        "lame_set_mode",
        "lame_set_VBR",
        "lame_set_VBR_q",
        "lame_set_quality",
        "lame_set_bWriteVbrTag",
    ):
        getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_int]
    for fn in ("lame_init_params", "lame_get_framesize", "lame_get_encoder_delay", "lame_get_frameNum"):
        getattr(lib, fn).argtypes = [ctypes.c_void_p]
    lib.lame_encode_buffer_ieee_float.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
    ]
    lib.lame_encode_buffer_interleaved_ieee_float.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
    ]
    lib.lame_encode_flush.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    lib.lame_get_lametag_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.lame_get_lametag_frame.restype = ctypes.c_size_t
    lib.lame_close.argtypes = [ctypes.c_void_p]
    return lib


def available() -> bool:
    """Whether libmp3lame can be loaded."""
    return _lib() is not None


class LameEncoder:
    """One libmp3lame encoder: VBR ``-V 2`` at algorithm quality 7; with
    ``info_tag`` it makes an Info tag frame (:meth:`info_frame`)."""

    def __init__(self, samplerate: int, channels: int, info_tag: bool = False):
        lib = _lib()
        if lib is None:
            raise RuntimeError("libmp3lame is not installed")
        handle = lib.lame_init()
        if not handle:
            raise MemoryError("lame_init failed")
        for fn, value in (
            ("lame_set_in_samplerate", samplerate),
            ("lame_set_out_samplerate", samplerate),
            ("lame_set_num_channels", channels),
            ("lame_set_mode", _MONO if channels == 1 else _JOINT_STEREO),
            ("lame_set_VBR", _VBR_MTRH),
            ("lame_set_VBR_q", VBR_QUALITY),
            ("lame_set_quality", ALGORITHM_QUALITY),
            ("lame_set_bWriteVbrTag", int(info_tag)),
        ):
            getattr(lib, fn)(handle, value)
        if lib.lame_init_params(handle) < 0:
            lib.lame_close(handle)
            raise RuntimeError(f"LAME refuses {samplerate} Hz, {channels} channel(s)")
        self._lib, self._handle, self.channels = lib, handle, channels
        self._out = ctypes.create_string_buffer(8192)
        self.framesize: int = lib.lame_get_framesize(handle)
        """Samples a frame: 1152, or 576 at 24 kHz and below."""
        self.delay: int = lib.lame_get_encoder_delay(handle)
        """Samples of silence LAME puts before the input."""

    def _room(self, samples: int) -> int:
        need = int(1.25 * samples) + 7200
        if len(self._out) < need:
            self._out = ctypes.create_string_buffer(need)
        return len(self._out)

    def encode(self, samples: np.ndarray) -> bytes:
        """The frames ``samples`` (float32, ``(n, channels)``, C-contiguous) complete."""
        n = len(samples)
        room = self._room(n)
        if self.channels == 1:
            got = self._lib.lame_encode_buffer_ieee_float(self._handle, samples.ctypes.data, None, n, self._out, room)
        else:
            got = self._lib.lame_encode_buffer_interleaved_ieee_float(
                self._handle, samples.ctypes.data, n, self._out, room
            )
        if got < 0:
            raise RuntimeError(f"LAME failed to encode (error {got})")
        return ctypes.string_at(self._out, got)

    def finish(self) -> tuple[bytes, int]:
        """The last frames (LAME pads the end to whole frames), and how many
        frames it made in all."""
        got = self._lib.lame_encode_flush(self._handle, self._out, self._room(0))
        if got < 0:
            raise RuntimeError(f"LAME failed to flush (error {got})")
        return ctypes.string_at(self._out, got), self._lib.lame_get_frameNum(self._handle)

    def info_frame(self) -> bytes:
        """The Info tag frame of what was encoded (after :meth:`finish`)."""
        size = self._lib.lame_get_lametag_frame(self._handle, self._out, len(self._out))
        if not 0 < size <= len(self._out):
            raise RuntimeError("LAME gave no Info tag")
        return ctypes.string_at(self._out, size)

    def close(self) -> None:
        if self._handle:
            self._lib.lame_close(self._handle)
            self._handle = None
