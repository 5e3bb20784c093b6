"""Music for the live player: a :class:`MusicStream` decoded ahead on a
background thread into a ring buffer, so the audio callback only copies
frames out of the ring and never decodes."""

from __future__ import annotations

import logging
import threading

import numpy as np

from voicecoach.audio.music import MusicStream

__all__ = ["MusicFeeder"]

_log = logging.getLogger("voicecoach.audio.music")  # the same logger as the stream's warnings


class MusicFeeder:
    """A :class:`MusicStream` (only this feeder may read it once started) decoded
    ahead on a thread, for the audio callback, into a ring of ``seconds``
    allocated once, at most ``chunk`` frames per decode step.

    One producer (:meth:`fill`), one consumer (:meth:`take`), no lock: each side
    only *writes* its own counter, published by one attribute assignment (atomic
    under CPython's GIL) after the samples are copied. The consumer never waits;
    if the producer fails, :attr:`error` keeps why and the ring runs dry. The last
    ``kept`` seconds taken stay in the ring, so the consumer can :meth:`rewind`.
    """

    def __init__(self, stream: MusicStream, seconds: float = 3.0, chunk: int = 2048, kept: float = 0.0):
        self.stream = stream
        self.capacity = round(seconds * stream.samplerate)
        self._kept = min(round(kept * stream.samplerate), self.capacity // 2)
        self.chunk = chunk
        self._ring = np.zeros((self.capacity, stream.channels), dtype=np.float32)
        self._written = 0  # producer-owned: frames put in the ring, ever
        self._taken = 0  # consumer-owned: frames taken out, ever
        self.underruns = 0  # calls of take that found fewer frames than asked
        self.error: BaseException | None = None  # what stopped the producer, if anything did
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll = max(0.001, chunk / stream.samplerate / 4)  # a quarter of a chunk

    @property
    def available(self) -> int:
        """Frames decoded and not yet taken."""
        return self._written - self._taken

    def fill(self) -> int:
        """Decode into the ring until it is full; return the frames added. Called by
        the thread, and once by :meth:`start` before it runs, so the first track's
        errors surface in the caller; never while it runs (one producer)."""
        added = 0
        cap = self.capacity
        while True:
            free = cap - self._kept - self.available
            at = self._written % cap
            k = min(free, cap - at, self.chunk)
            if k <= 0 or self._stop.is_set():
                return added
            self.stream.read_into(self._ring[at : at + k])
            self._written += k  # publish after the copy: one atomic store
            added += k

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self.fill():
                    self._stop.wait(self._poll)
        except Exception as err:  # kept for the main thread; the ring runs dry
            self.error = err
            _log.warning("music stopped: %s", err)

    def start(self) -> MusicFeeder:
        """Fill the ring now (raising what the first read raises), then start the thread."""
        self.fill()
        self._thread = threading.Thread(target=self._run, name="voicecoach-music", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and wait for it (at most one decode step)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> MusicFeeder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def taken(self) -> int:
        """Frames taken, ever: where :meth:`rewind` can go back to."""
        return self._taken

    def rewind(self, taken: int) -> None:
        """Take again from frame ``taken`` (at most the kept seconds back); the consumer's side."""
        if not self._taken - self._kept <= taken <= self._taken:
            raise ValueError(f"cannot rewind the music to frame {taken} (taken {self._taken}, kept {self._kept})")
        self._taken = taken

    def take(self, out: np.ndarray) -> int:
        """Copy the next frames into ``out`` (float32, ``(n, channels)``, not validated:
        the callback's side); return how many. The rest of ``out`` is zeroed and one
        underrun counted. No allocation beyond views, no lock, no wait."""
        n = out.shape[0]
        k = min(n, self._written - self._taken)
        cap = self.capacity
        at = self._taken % cap
        first = min(k, cap - at)
        out[:first] = self._ring[at : at + first]
        if k > first:
            out[first:k] = self._ring[: k - first]
        if k < n:
            out[k:] = 0.0
            self.underruns += 1
        self._taken += k  # publish after the copy: one atomic store
        return k
