"""MP3 through LAME itself (the system's libmp3lame), tuned for speech.

libsndfile's MP3 writer drives LAME at its slowest algorithm quality; for a
voice over a metronome, LAME's VBR at algorithm quality 7 sounds the same
and encodes several times faster. Calling libmp3lame through ctypes also
releases the GIL while it encodes, so the mix and the stems encode on
separate cores in threads, and gives the LAME "Info" tag (encoder delay
and padding) that players need to play the file gapless and exactly as
long as the session.

Silence is not encoded ("islands"). A session is mostly exact digital
silence (a stem nearly all of it), and LAME spends almost as long on zeros
as on sound. The writer classifies the input on the MP3 frame grid
(``fs`` = 1152 samples a frame, 576 at the MPEG-2 rates): sound goes to a
fresh LAME instance per island, fed from ``Q = F * fs`` where ``F`` is the
global frame its first frame takes; long runs of silence become constant
empty frames (the smallest bitrate, every granule empty, no bit reservoir
used). This is exact, not an approximation:

- A fresh encoder assumes silence before its input; here it is silence
  (an island starts at the start or after at least :data:`MIN_GAP_SAMPLES`
  of zeros, more than LAME's analysis looks back), and its first frame lands at the
  frame grid position a single encoder would have given it (both delay
  their input by the same 576 samples).
- An island's first frame has ``main_data_begin = 0`` (a fresh bit
  reservoir), so its bytes stand alone; empty frames reference nothing.
- MP3 decoding is linear frame by frame (each granule's inverse transform
  overlaps into the next), and empty frames contribute zeros, so the
  decoded file is the sum of the islands' decodings at their positions.
- An island is closed only when its flushed tail (LAME pads the end to
  whole frames) ends before the next island's first frame; otherwise the
  zeros between go to the same encoder. The frame counts are checked
  against LAME's own and a mismatch raises rather than writing a broken
  file.

A workout repeats itself (the same counts, cues and ticks), and LAME is
deterministic: an island up to :data:`KEEP_SECONDS` long is kept until it
ends and looked up by its exact input, so a repeat reuses the bytes the
first one gave (one encoder's work for the lot; see
:class:`~voicecoach.encode.mp3_islands.Islands`).

The empty frames, the frame-count arithmetic and the Info tag rebuilt for
the whole stream live in :mod:`voicecoach.encode.mp3_frames`; the shared
store of encoded islands in :mod:`voicecoach.encode.mp3_islands`. A file
written to a pipe carries no tag (it cannot go back).

:func:`available` says whether the library is there; the exporter falls
back to libsndfile's writer when it is not.
"""

from __future__ import annotations

import array
import bisect
import ctypes
import ctypes.util
import hashlib
import os
import threading
from functools import cache

import numpy as np

from voicecoach.encode.crc16 import crc16, crc16_combine
from voicecoach.encode.mp3_frames import SILENT_CHUNK, SilentFrames, frames_for, info_tag
from voicecoach.encode.mp3_islands import Islands

__all__ = ["VBR_QUALITY", "ALGORITHM_QUALITY", "MIN_GAP_SAMPLES", "KEEP_SECONDS", "LameWriter",
           "available"]

VBR_QUALITY = 2
"""LAME ``-V 2``: with the fast algorithm below, speech comes out at a lower
bitrate and a higher signal-to-noise ratio than ``ffmpeg -q:a 4`` (``-V 4``
at algorithm quality 5) gives, in less time (measured: README)."""
ALGORITHM_QUALITY = 7
"""LAME ``-q 7``: the fast psychoacoustics; inaudible for speech (see README)."""
MIN_GAP_SAMPLES = 6 * 1152
"""Silence shorter than this stays inside an island. It must exceed LAME's
look-back (about 1700 samples) with room for the island's flushed tail;
shorter islands repeat more often (see :data:`KEEP_SECONDS`)."""
KEEP_SECONDS = 10
"""An island up to this long is kept until it ends and looked up by its
exact input: a workout repeats the same cues and ticks, and LAME is
deterministic, so a repeated island's frames are the bytes it gave before.
A longer island streams to its encoder (memory stays flat)."""

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
    for fn in ("lame_init_params", "lame_get_framesize", "lame_get_encoder_delay",
               "lame_get_frameNum"):
        getattr(lib, fn).argtypes = [ctypes.c_void_p]
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
    """Streams float blocks into an MP3 file, encoding only the sound.

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
    min_gap : int, optional
        Silence (in samples) that ends an island; default
        :data:`MIN_GAP_SAMPLES`, rounded up to whole frames.
    keep : int, optional
        Samples of an island kept to be looked up (default
        :data:`KEEP_SECONDS`); a longer island streams to its encoder.
    islands : Islands, optional
        Encoded islands shared with other writers (default: its own).

    Notes
    -----
    :meth:`write` takes float32, shape ``(n, channels)``, C-contiguous, in
    ``[-1, 1]``. The file is finished by :meth:`close`, which writes the
    last frames and the Info tag.
    """

    subtype = "MPEG_LAYER_III"

    def __init__(self, path, samplerate: int, channels: int, seekable: bool | None = None,
                 min_gap: int = MIN_GAP_SAMPLES, keep: int | None = None,
                 islands: Islands | None = None):
        lib = _lib()
        if lib is None:
            raise RuntimeError("libmp3lame is not installed")
        self._lib = lib
        self.samplerate, self.channels = samplerate, channels
        if seekable is None:
            seekable = not isinstance(path, int) or _can_seek(path)
        self._out = ctypes.create_string_buffer(8192)
        probe = self._encoder(tag=True)      # checks the settings; its tag is the template
        try:
            self._fs = lib.lame_get_framesize(probe)
            self._delay = lib.lame_get_encoder_delay(probe)
            got = lib.lame_encode_flush(probe, self._out, len(self._out))
            size = lib.lame_get_lametag_frame(probe, self._out, len(self._out)) if got >= 0 else 0
            if not 0 < size <= len(self._out):
                raise RuntimeError("LAME gave no Info tag")
            self._template = bytearray(ctypes.string_at(self._out, size))
        finally:
            lib.lame_close(probe)
        self._silence = SilentFrames(self._template, self._fs, samplerate)
        self._min_gap = max(-(-min_gap // self._fs), -(-2304 // self._fs) + 1)
        self._zeros = np.zeros((min(self._min_gap, 64) * self._fs, channels), dtype=np.float32)
        self._carry = np.zeros((self._fs, channels), dtype=np.float32)
        self._carried = 0
        self._n = 0                  # samples received
        self._slots = 0              # whole frame slots classified
        self._gfp = None             # the open island's encoder, once it streams
        self._island = False         # whether an island is open
        self._pending: list | None = None   # its input while short: (at, n), at -1 for zeros
        self._store = np.empty((0, channels), np.float32)
        self._stored = 0
        self._keep = KEEP_SECONDS * samplerate if keep is None else keep
        self.encoded = 0             # islands LAME encoded (the others were repeats)
        self._known = Islands() if islands is None else islands
        self._first = 0              # its first global frame
        self._fed = 0                # samples it was given
        self._cursor = 0             # global frames written
        self._bytes = 0              # audio bytes written
        self._crc = 0
        # Each island's first frame, frames, first byte and bytes, for the seek
        # table: flat arrays of int64 (a 3-hour stem has thousands of islands;
        # a tuple each would cost five times the memory).
        self._islands = tuple(array.array("q") for _ in range(4))
        if isinstance(path, int):
            self._fh = os.fdopen(os.dup(path), "wb")
        else:
            self._fh = open(path, "wb")
        self.closed = False
        self._start = None
        try:
            if seekable:
                self._start = self._fh.tell()              # where the tag goes
                self._fh.write(bytes(len(self._template)))
        except BaseException:
            self._fh.close()
            raise

    # -- encoders -------------------------------------------------------

    def _encoder(self, tag: bool = False) -> int:
        lib = self._lib
        gfp = lib.lame_init()
        if not gfp:
            raise MemoryError("lame_init failed")
        for fn, value in (("lame_set_in_samplerate", self.samplerate),
                          ("lame_set_out_samplerate", self.samplerate),
                          ("lame_set_num_channels", self.channels),
                          ("lame_set_mode", _MONO if self.channels == 1 else _JOINT_STEREO),
                          ("lame_set_VBR", _VBR_MTRH), ("lame_set_VBR_q", VBR_QUALITY),
                          ("lame_set_quality", ALGORITHM_QUALITY),
                          ("lame_set_bWriteVbrTag", int(tag))):
            getattr(lib, fn)(gfp, value)
        if lib.lame_init_params(gfp) < 0:
            lib.lame_close(gfp)
            raise RuntimeError(f"LAME refuses {self.samplerate} Hz, {self.channels} channel(s)")
        return gfp

    def _room(self, frames: int) -> int:
        need = int(1.25 * frames) + 7200
        if len(self._out) < need:
            self._out = ctypes.create_string_buffer(need)
        return len(self._out)

    def _emit(self, data, crc: int | None = None) -> None:
        """Write ``data``; ``crc``: its CRC from 0, if known."""
        self._fh.write(data)
        self._bytes += len(data)
        if crc is None:
            self._crc = crc16(data, self._crc)
        else:
            self._crc = crc16_combine(self._crc, crc, len(data))

    def _encode(self, samples: np.ndarray) -> bytes:
        n = len(samples)
        room = self._room(n)
        if self.channels == 1:
            got = self._lib.lame_encode_buffer_ieee_float(
                self._gfp, samples.ctypes.data, None, n, self._out, room)
        else:
            got = self._lib.lame_encode_buffer_interleaved_ieee_float(
                self._gfp, samples.ctypes.data, n, self._out, room)
        if got < 0:
            raise RuntimeError(f"LAME failed to encode (error {got})")
        return ctypes.string_at(self._out, got)

    def _flush(self) -> tuple[bytes, int]:
        """The encoder's last frames, and how many frames it made in all."""
        gfp, self._gfp = self._gfp, None
        try:
            got = self._lib.lame_encode_flush(gfp, self._out, self._room(0))
            if got < 0:
                raise RuntimeError(f"LAME failed to flush (error {got})")
            return ctypes.string_at(self._out, got), self._lib.lame_get_frameNum(gfp)
        finally:
            self._lib.lame_close(gfp)

    def _feed(self, samples: np.ndarray) -> None:
        """Give the island ``samples``: kept (to look up) while it is short,
        streamed to its encoder once it is long."""
        n = len(samples)
        self._fed += n
        if self._pending is not None and self._fed > self._keep:
            self.encoded += 1                       # too long to keep: stream it
            self._gfp = self._encoder()
            for piece in self._pieces():
                self._emit(self._encode(piece))
            self._pending = None
        if self._pending is None:
            self._emit(self._encode(samples))
            return
        # The key: the sound's samples, where the zeros between go, the length.
        if samples.base is self._zeros:
            at = self._fed - n
            if self._gaps and sum(self._gaps[-1]) == at:
                at, before = self._gaps.pop()
                n += before
            self._gaps.append((at, n))
            self._pending.append((-1, len(samples)))
            return
        self._hash.update(samples)
        end = self._stored + n                      # kept in one reused buffer
        if len(self._store) < end:
            grown = np.empty((max(end, 2 * len(self._store)), self.channels), np.float32)
            grown[:self._stored] = self._store[:self._stored]
            self._store = grown
        self._store[self._stored:end] = samples
        self._pending.append((self._stored, n))
        self._stored = end

    def _pieces(self):
        """The kept island's input, piece by piece."""
        for at, n in self._pending:
            yield self._zeros[:n] if at < 0 else self._store[at:at + n]

    def _quiet(self, end: int) -> None:
        """Empty frames up to global frame ``end``."""
        if end < self._cursor:
            raise AssertionError(f"an island would overlap frame {end} (at {self._cursor})")
        for a in range(self._cursor, end, SILENT_CHUNK):
            self._emit(*self._silence.run(a, min(a + SILENT_CHUNK, end)))
        self._cursor = end

    def _open(self, frame: int) -> None:
        self._quiet(frame)
        self._island, self._first, self._fed = True, frame, 0
        self._island_byte = self._bytes
        self._pending, self._hash = [], hashlib.sha1(usedforsecurity=False)
        self._stored = 0
        self._gaps: list[tuple[int, int]] = []

    def _close_island(self) -> None:
        self._island = False
        if self._pending is None:                 # a long island, streamed
            data, made = self._flush()
            self._emit(data)
        else:
            key = (self.samplerate, self.channels, self._hash.digest(), tuple(self._gaps),
                   self._fed)
            (data, made, crc), encoded = self._known.get(key, self._encode_pending)
            self.encoded += encoded
            self._pending = None
            self._emit(data, crc)
        expected = frames_for(self._fed, self._fs, self._delay)[0]
        if made != expected:
            raise AssertionError(f"LAME wrote {made} frames for {self._fed} samples, "
                                 f"not {expected}")
        for column, value in zip(self._islands, (self._first, made, self._island_byte,
                                                 self._bytes - self._island_byte)):
            column.append(value)
        self._cursor = self._first + made

    def _encode_pending(self) -> tuple[bytes, int, int]:
        """The kept island's bytes, frames and CRC (from 0)."""
        self._gfp = self._encoder()
        parts = [self._encode(piece) for piece in self._pieces()]
        data, made = self._flush()
        parts.append(data)
        data = b"".join(parts)
        return data, made, crc16(data)

    def _sound(self, samples: np.ndarray, slot: int) -> None:
        """Encode ``samples`` (sound) starting at frame slot ``slot``."""
        if self._island:
            gap = slot * self._fs - (self._first * self._fs + self._fed)   # zeros since
            if gap >= self._min_gap * self._fs:
                self._close_island()
                self._open(slot)
            else:
                while gap > 0:
                    step = min(gap, len(self._zeros))
                    self._feed(self._zeros[:step])
                    gap -= step
        else:
            self._open(slot)
        self._feed(samples)

    def _classify(self, x: np.ndarray) -> None:
        """Whole frame slots: encode the runs that are not exact silence."""
        fs = self._fs
        k = len(x) // fs
        loud = np.any(x.reshape(k, fs * self.channels) != 0, axis=1)
        if loud.all():
            edges = [0, k]
        elif not loud.any():
            edges = []
        else:
            edges = (np.flatnonzero(loud[1:] != loud[:-1]) + 1).tolist()
            edges = [0] * bool(loud[0]) + edges + [k] * bool(loud[-1])
        for a, b in zip(edges[::2], edges[1::2]):
            self._sound(x[a * fs:b * fs], self._slots + a)
        self._slots += k

    # -- public -----------------------------------------------------------

    @property
    def islands(self) -> int:
        """Islands of sound written so far."""
        return len(self._islands[0])

    @property
    def island_frames(self) -> list[int]:
        """The frame (after the tag frame) where each island starts."""
        return self._islands[0].tolist()

    def write(self, block: np.ndarray) -> None:
        """Take the next samples, float32 ``(n, channels)``; whole frame slots
        are classified now, a partial one waits for the next block."""
        n = len(block)
        if n == 0:
            return
        block = np.ascontiguousarray(block, dtype=np.float32).reshape(n, self.channels)
        self._n += n
        fs = self._fs
        if self._carried:
            take = min(n, fs - self._carried)
            self._carry[self._carried:self._carried + take] = block[:take]
            self._carried += take
            block = block[take:]
            if self._carried < fs:
                return
            self._carried = 0
            self._classify(self._carry)
        whole = len(block) // fs * fs
        if whole:
            self._classify(block[:whole])
        rest = len(block) - whole
        if rest:
            self._carry[:rest] = block[whole:]
            self._carried = rest

    def close(self) -> None:
        """Flush, write the Info tag over the first frame, close the file."""
        if self.closed:
            return
        self.closed = True
        try:
            if self._carried and np.any(self._carry[:self._carried] != 0):
                self._sound(self._carry[:self._carried], self._slots)
            total, padding = frames_for(self._n, self._fs, self._delay)
            if self._island:
                tail = self._n - (self._first * self._fs + self._fed)
                if tail >= self._min_gap * self._fs:
                    self._close_island()
                else:                          # the encoder pads to the end itself
                    while tail > 0:
                        step = min(tail, len(self._zeros))
                        self._feed(self._zeros[:step])
                        tail -= step
                    self._close_island()
                    if self._cursor != total:
                        raise AssertionError(f"{self._cursor} frames, not {total}")
            self._quiet(total)
            if self._start is not None:
                tag = self._tag(total, padding)
                self._fh.flush()
                end = self._fh.tell()
                self._fh.seek(self._start)
                self._fh.write(tag)
                self._fh.seek(end)
        finally:
            try:
                self._fh.close()
            finally:
                if self._gfp is not None:
                    self._lib.lame_close(self._gfp)
                    self._gfp = None

    # -- the Info tag -----------------------------------------------------

    def _byte_at(self, frame: int) -> int:
        """Where global frame ``frame`` starts, from the first audio frame
        (inside an island interpolated: a seek table is coarse anyway)."""
        i = bisect.bisect_right(self._islands[0], frame) - 1
        if i < 0:
            return self._silence.offset(frame)
        first, frames, byte, size = (column[i] for column in self._islands)
        if frame < first + frames:
            return byte + size * (frame - first) // frames
        end = first + frames
        return byte + size + self._silence.offset(frame) - self._silence.offset(end)

    def _tag(self, total: int, padding: int) -> bytes:
        return info_tag(self._template, total, padding, self._delay, self._bytes, self._crc,
                        self._byte_at)
