"""An MP3 file from LAME encoders that encode only the sound ("islands").

A session is mostly exact digital silence, and LAME spends almost as long on
zeros as on sound. On the MP3 frame grid (``fs`` = 1152 samples, 576 at the
MPEG-2 rates) each run of frames that is not exact silence goes to a fresh
encoder fed from the grid position its first frame takes; silence of
:data:`MIN_GAP_SAMPLES` or more becomes empty frames. Why the file still
decodes, sample for sample, as one encoder's would is in
docs/architecture.md ("Encoding"); the frame counts are checked against
LAME's own and a mismatch raises rather than writing a broken file. A short
island is kept and looked up by its exact input: a repeat is the bytes it
gave before (:class:`~voicecoach.encode.mp3_islands.Islands`). Empty frames,
frame arithmetic and the Info tag are :mod:`voicecoach.encode.mp3_frames`'s.
"""

from __future__ import annotations

import array
import bisect
import hashlib
import os
from collections.abc import Iterator

import numpy as np
from fastcrc import crc16

from voicecoach.encode.lame import LameEncoder
from voicecoach.encode.mp3_frames import SILENT_CHUNK, SilentFrames, frames_for, info_tag, stream_info_tag
from voicecoach.encode.mp3_islands import Islands

__all__ = ["KEEP_SECONDS", "MIN_GAP_SAMPLES", "Mp3Writer"]

MIN_GAP_SAMPLES = 6 * 1152
"""Silence shorter than this stays inside an island. It must exceed LAME's
look-back (about 1700 samples) with room for the island's flushed tail;
shorter islands repeat more often (see :data:`KEEP_SECONDS`)."""
KEEP_SECONDS = 10
"""An island up to this long is kept until it ends and looked up by its
exact input (a repeat's frames are the bytes it gave before); a longer one
streams to its encoder (memory stays flat)."""


def _can_seek(fd: int) -> bool:
    try:
        os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return False
    return True


class _Island:
    """The island being written. While short, its input is kept (``pieces``:
    offsets in the writer's sound buffer, ``None`` for zeros) to be looked up
    by its SHA-1, its runs of zeros and its length; once too long to keep,
    ``encoder`` takes it as it comes."""

    def __init__(self, first_frame: int, first_byte: int):
        self.first_frame, self.first_byte = first_frame, first_byte
        self.fed = 0  # samples given
        self.encoder: LameEncoder | None = None
        self.pieces: list[tuple[int | None, int]] | None = []  # (offset or None, samples)
        self.zero_runs: list[tuple[int, int]] = []  # (at, samples), merged
        self.sound_hash = hashlib.sha1(usedforsecurity=False)
        self.kept = 0  # samples of sound kept


class _SeekIndex:
    """Each island's first frame, frames, first byte and bytes for the Info
    tag's seek table, in int64 arrays (a 3-hour stem has thousands of islands)."""

    def __init__(self, empty: SilentFrames):
        self.empty = empty
        self.columns = tuple(array.array("q") for _ in range(4))

    def add(self, first: int, frames: int, byte: int, size: int) -> None:
        for column, value in zip(self.columns, (first, frames, byte, size), strict=True):
            column.append(value)

    def byte_at(self, frame: int) -> int:
        """Where global frame ``frame`` starts, from the first audio frame
        (inside an island interpolated: a seek table is coarse anyway)."""
        i = bisect.bisect_right(self.columns[0], frame) - 1
        if i < 0:
            return self.empty.offset(frame)
        first, frames, byte, size = (column[i] for column in self.columns)
        if frame < first + frames:
            return byte + size * (frame - first) // frames
        end = first + frames
        return byte + size + self.empty.offset(frame) - self.empty.offset(end)


class Mp3Writer:
    """Streams float blocks into an MP3 file, encoding only the sound.

    ``path``: created or truncated, or a descriptor open for writing (left
    open: the writer works on a duplicate). ``seekable``: whether the Info
    tag can be written over the first frame at the end (default: whether the
    file can seek); not on a pipe, nor on a file opened for appending, where
    no frame is kept for it either, unless ``frames`` (the samples the stream
    will take) lets a stream start with its Info tag (:func:`stream_info_tag`:
    the length, delay and padding, without sizes). ``min_gap``: samples of silence that end
    an island (rounded up to whole frames); ``keep``: samples of an island
    kept to be looked up (default :data:`KEEP_SECONDS`); ``islands``: the
    store shared with the export's other writers. :meth:`write` takes float32
    ``(n, channels)`` in ``[-1, 1]``; :meth:`close` writes the last frames
    and the Info tag.
    """

    subtype = "MPEG_LAYER_III"

    def __init__(
        self,
        path: str | os.PathLike[str] | int,
        samplerate: int,
        channels: int,
        seekable: bool | None = None,
        min_gap: int = MIN_GAP_SAMPLES,
        keep: int | None = None,
        islands: Islands | None = None,
        frames: int | None = None,
    ):
        self.samplerate, self.channels = samplerate, channels
        probe = LameEncoder(samplerate, channels, info_tag=True)  # its tag is the template
        try:
            self.framesize, self.delay = probe.framesize, probe.delay
            probe.finish()
            self.info_template = probe.info_frame()
        finally:
            probe.close()
        fs = self.framesize
        self.empty = SilentFrames(self.info_template, fs, samplerate)
        self.min_gap_frames = max(-(-min_gap // fs), -(-2304 // fs) + 1)
        self.keep_samples = KEEP_SECONDS * samplerate if keep is None else keep
        self.store = Islands() if islands is None else islands
        self.encoded = 0  # islands LAME encoded (the others were repeats)
        self.samples_in = 0  # samples received
        self.slots_done = 0  # whole frame slots classified
        self.partial = np.zeros((fs, channels), dtype=np.float32)  # a slot's start, waiting
        self.partial_len = 0
        self.zeros = np.zeros((min(self.min_gap_frames, 64) * fs, channels), dtype=np.float32)
        self.sound = np.empty((0, channels), np.float32)  # a short island's sound, reused
        self.island: _Island | None = None
        self.frames_done = 0  # global frames written
        self.audio_bytes = 0
        self.crc = 0
        self.index = _SeekIndex(self.empty)
        if seekable is None:
            seekable = not isinstance(path, int) or _can_seek(path)
        self._fh = os.fdopen(os.dup(path), "wb") if isinstance(path, int) else open(path, "wb")  # noqa: SIM115 -- closed by close()
        self.closed = False
        self.tag_at: int | None = None
        self.stream_frames = None if seekable else frames
        try:
            if seekable:
                self.tag_at = self._fh.tell()
                self._fh.write(bytes(len(self.info_template)))
            elif frames is not None:
                total, padding = frames_for(frames, fs, self.delay)
                self._fh.write(stream_info_tag(self.info_template, total, padding, self.delay))
        except BaseException:
            self._fh.close()
            raise

    @property
    def islands(self) -> int:
        """Islands of sound written so far."""
        return len(self.index.columns[0])

    def write(self, block: np.ndarray) -> None:
        """Take the next samples, float32 ``(n, channels)``; whole frame slots
        are classified now, a partial one waits for the next block."""
        n = len(block)
        if n == 0:
            return
        block = np.ascontiguousarray(block, dtype=np.float32).reshape(n, self.channels)
        self.samples_in += n
        fs = self.framesize
        if self.partial_len:
            take = min(n, fs - self.partial_len)
            self.partial[self.partial_len : self.partial_len + take] = block[:take]
            self.partial_len += take
            block = block[take:]
            if self.partial_len < fs:
                return
            self.partial_len = 0
            self._classify(self.partial)
        whole = len(block) // fs * fs
        if whole:
            self._classify(block[:whole])
        rest = len(block) - whole
        if rest:
            self.partial[:rest] = block[whole:]
            self.partial_len = rest

    def close(self) -> None:
        """Flush, write the Info tag over the first frame, close the file."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.partial_len and np.any(self.partial[: self.partial_len] != 0):
                self._sound(self.partial[: self.partial_len], self.slots_done)
            total, padding = frames_for(self.samples_in, self.framesize, self.delay)
            if self.stream_frames not in (None, self.samples_in):
                raise AssertionError(f"the stream's Info tag said {self.stream_frames} samples, not {self.samples_in}")
            if self.island is not None:
                tail = self.samples_in - self._island_end()
                if tail < self.min_gap_frames * self.framesize:
                    self._feed_zeros(tail)  # the encoder pads to the end itself
                    self._close_island()
                    if self.frames_done != total:
                        raise AssertionError(f"{self.frames_done} frames, not {total}")
                else:
                    self._close_island()
            self._quiet(total)
            if self.tag_at is not None:
                tag = info_tag(
                    self.info_template, total, padding, self.delay, self.audio_bytes, self.crc, self.index.byte_at
                )
                self._fh.flush()
                end = self._fh.tell()
                self._fh.seek(self.tag_at)
                self._fh.write(tag)
                self._fh.seek(end)
        finally:
            try:
                self._fh.close()
            finally:
                if self.island is not None and self.island.encoder is not None:
                    self.island.encoder.close()

    # -- sound and silence ------------------------------------------------

    def _classify(self, x: np.ndarray) -> None:
        """Whole frame slots: encode the runs that are not exact silence."""
        fs = self.framesize
        k = len(x) // fs
        loud = np.any(x.reshape(k, fs * self.channels) != 0, axis=1)
        if loud.all():
            edges = [0, k]
        elif not loud.any():
            edges = []
        else:
            edges = (np.flatnonzero(loud[1:] != loud[:-1]) + 1).tolist()
            edges = [0] * bool(loud[0]) + edges + [k] * bool(loud[-1])
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            self._sound(x[a * fs : b * fs], self.slots_done + a)
        self.slots_done += k

    def _island_end(self) -> int:
        """The sample after the open island's input."""
        assert self.island is not None
        return self.island.first_frame * self.framesize + self.island.fed

    def _sound(self, samples: np.ndarray, slot: int) -> None:
        """Encode ``samples`` (sound) starting at frame slot ``slot``."""
        if self.island is not None:
            gap = slot * self.framesize - self._island_end()  # zeros since
            if gap >= self.min_gap_frames * self.framesize:
                self._close_island()
                self._open_island(slot)
            else:
                self._feed_zeros(gap)
        else:
            self._open_island(slot)
        self._feed(samples)

    def _quiet(self, end: int) -> None:
        """Empty frames up to global frame ``end``."""
        if end < self.frames_done:
            raise AssertionError(f"an island would overlap frame {end} (at {self.frames_done})")
        for a in range(self.frames_done, end, SILENT_CHUNK):
            self._emit(self.empty.run(a, min(a + SILENT_CHUNK, end)))
        self.frames_done = end

    def _emit(self, data: bytes) -> None:
        self._fh.write(data)
        self.audio_bytes += len(data)
        self.crc = crc16.arc(data, self.crc)  # CRC-16/ARC, the Info tag's music CRC

    # -- islands ------------------------------------------------------------

    def _open_island(self, frame: int) -> None:
        self._quiet(frame)
        self.island = _Island(frame, self.audio_bytes)

    def _feed_zeros(self, count: int) -> None:
        while count > 0:
            step = min(count, len(self.zeros))
            self._feed(self.zeros[:step], zeros=True)
            count -= step

    def _feed(self, samples: np.ndarray, zeros: bool = False) -> None:
        """Give the island ``samples``: kept (to look up) while it is short,
        streamed to its encoder once it is long."""
        island = self.island
        assert island is not None
        n = len(samples)
        island.fed += n
        if island.pieces is not None and island.fed > self.keep_samples:
            self.encoded += 1  # too long to keep: stream it
            island.encoder = LameEncoder(self.samplerate, self.channels)
            for piece in self._kept_pieces(island):
                self._emit(island.encoder.encode(piece))
            island.pieces = None
        if island.encoder is not None:
            self._emit(island.encoder.encode(samples))
            return
        assert island.pieces is not None
        if zeros:  # the key: where the zeros go
            at = island.fed - n
            if island.zero_runs and sum(island.zero_runs[-1]) == at:
                at, before = island.zero_runs.pop()
                n += before
            island.zero_runs.append((at, n))
            island.pieces.append((None, len(samples)))
            return
        island.sound_hash.update(samples.data)
        end = island.kept + n  # kept in one reused buffer
        if len(self.sound) < end:
            grown = np.empty((max(end, 2 * len(self.sound)), self.channels), np.float32)
            grown[: island.kept] = self.sound[: island.kept]
            self.sound = grown
        self.sound[island.kept : end] = samples
        island.pieces.append((island.kept, n))
        island.kept = end

    def _kept_pieces(self, island: _Island) -> Iterator[np.ndarray]:
        """The kept island's input, piece by piece."""
        assert island.pieces is not None
        for at, n in island.pieces:
            yield self.zeros[:n] if at is None else self.sound[at : at + n]

    def _close_island(self) -> None:
        island, self.island = self.island, None
        assert island is not None
        if island.encoder is not None:  # a long island, streamed
            try:
                data, made = island.encoder.finish()
            finally:
                island.encoder.close()
            self._emit(data)
        else:
            key = (self.samplerate, self.channels, island.sound_hash.digest(), tuple(island.zero_runs), island.fed)
            (data, made), encoded = self.store.get(key, lambda: self._encode_kept(island))
            self.encoded += encoded
            self._emit(data)
        expected = frames_for(island.fed, self.framesize, self.delay)[0]
        if made != expected:
            raise AssertionError(f"LAME wrote {made} frames for {island.fed} samples, not {expected}")
        self.index.add(island.first_frame, made, island.first_byte, self.audio_bytes - island.first_byte)
        self.frames_done = island.first_frame + made

    def _encode_kept(self, island: _Island) -> tuple[bytes, int]:
        """The kept island's bytes and frames."""
        encoder = LameEncoder(self.samplerate, self.channels)
        try:
            parts = [encoder.encode(piece) for piece in self._kept_pieces(island)]
            data, made = encoder.finish()
        finally:
            encoder.close()
        return b"".join(parts) + data, made
