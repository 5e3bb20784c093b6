"""MP3 through LAME itself (the system's libmp3lame), tuned for speech.

libsndfile's MP3 writer drives LAME at its slowest algorithm quality; for a
voice over a metronome, LAME's VBR at algorithm quality 7 sounds the same
and encodes several times faster. Calling libmp3lame through ctypes also
releases the GIL while it encodes, so the mix and the stems encode on
separate cores in threads, and gives the LAME "Info" tag (encoder delay
and padding) that players need to play the file gapless and exactly as
long as the session: it is written over the first frame at the end.

:func:`available` says whether the library is there; the exporter falls
back to libsndfile's writer when it is not.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

import numpy as np

__all__ = ["VBR_QUALITY", "ALGORITHM_QUALITY", "LameWriter", "available"]

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
    for fn in ("lame_set_in_samplerate", "lame_set_out_samplerate", "lame_set_num_channels",
               "lame_set_mode", "lame_set_VBR", "lame_set_VBR_q", "lame_set_quality",
               "lame_set_bWriteVbrTag"):
        getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.lame_init_params.argtypes = [ctypes.c_void_p]
    lib.lame_encode_buffer_ieee_float.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
        ctypes.c_int]
    lib.lame_encode_buffer_interleaved_ieee_float.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    lib.lame_encode_flush.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    lib.lame_get_lametag_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.lame_get_lametag_frame.restype = ctypes.c_size_t
    lib.lame_close.argtypes = [ctypes.c_void_p]
    return lib


def _can_seek(fd: int) -> bool:
    try:
        os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return False
    return True


def available() -> bool:
    """Whether libmp3lame can be loaded."""
    return _lib() is not None


class LameWriter:
    """Streams float blocks into an MP3 file.

    Parameters
    ----------
    path : str, os.PathLike or int
        Created or truncated; or a file descriptor open for writing (it stays
        open: the writer works on a duplicate).
    samplerate : int
    channels : int
        1 or 2.
    seekable : bool, optional
        Whether the Info tag can be written over the first frame at the end
        (default: whether the file can seek). Not on a pipe, nor on a file
        opened for appending: then no frame is kept for the tag either.

    Notes
    -----
    :meth:`write` takes float32, shape ``(n, channels)``, C-contiguous, in
    ``[-1, 1]``. The file is finished by :meth:`close`, which writes the
    last frames and the Info tag.
    """

    subtype = "MPEG_LAYER_III"

    def __init__(self, path, samplerate: int, channels: int, seekable: bool | None = None):
        lib = _lib()
        if lib is None:
            raise RuntimeError("libmp3lame is not installed")
        self._lib = lib
        self._gfp = lib.lame_init()
        if not self._gfp:
            raise MemoryError("lame_init failed")
        self.channels = channels
        if seekable is None:
            seekable = not isinstance(path, int) or _can_seek(path)
        for fn, value in (("lame_set_in_samplerate", samplerate),
                          ("lame_set_out_samplerate", samplerate),
                          ("lame_set_num_channels", channels),
                          ("lame_set_mode", _MONO if channels == 1 else _JOINT_STEREO),
                          ("lame_set_VBR", _VBR_MTRH), ("lame_set_VBR_q", VBR_QUALITY),
                          ("lame_set_quality", ALGORITHM_QUALITY),
                          ("lame_set_bWriteVbrTag", int(seekable))):
            getattr(lib, fn)(self._gfp, value)
        if lib.lame_init_params(self._gfp) < 0:
            lib.lame_close(self._gfp)
            raise RuntimeError(f"LAME refuses {samplerate} Hz, {channels} channel(s)")
        if isinstance(path, int):
            self._fh = os.fdopen(os.dup(path), "wb")
        else:
            self._fh = open(path, "wb")
        self._start = self._fh.tell() if seekable else None     # where the first frame goes
        self._out = ctypes.create_string_buffer(8192)
        self.closed = False

    def _room(self, frames: int) -> int:
        need = int(1.25 * frames) + 7200
        if len(self._out) < need:
            self._out = ctypes.create_string_buffer(need)
        return len(self._out)

    def write(self, block: np.ndarray) -> None:
        n = len(block)
        if n == 0:
            return
        block = np.ascontiguousarray(block, dtype=np.float32)
        room = self._room(n)
        if self.channels == 1:
            got = self._lib.lame_encode_buffer_ieee_float(
                self._gfp, block.ctypes.data, None, n, self._out, room)
        else:
            got = self._lib.lame_encode_buffer_interleaved_ieee_float(
                self._gfp, block.ctypes.data, n, self._out, room)
        if got < 0:
            raise RuntimeError(f"LAME failed to encode (error {got})")
        self._fh.write(ctypes.string_at(self._out, got))

    def close(self) -> None:
        """Flush, write the Info tag over the first frame, close the file."""
        if self.closed:
            return
        self.closed = True
        try:
            room = self._room(0)
            got = self._lib.lame_encode_flush(self._gfp, self._out, room)
            if got < 0:
                raise RuntimeError(f"LAME failed to flush (error {got})")
            self._fh.write(ctypes.string_at(self._out, got))
            tag = self._lib.lame_get_lametag_frame(self._gfp, self._out, room)
            if 0 < tag <= room and self._start is not None:
                end = self._fh.tell()
                self._fh.seek(self._start)
                self._fh.write(ctypes.string_at(self._out, tag))
                self._fh.seek(end)
        finally:
            self._fh.close()
            self._lib.lame_close(self._gfp)
