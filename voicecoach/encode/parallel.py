"""Encoders on their own threads, so the mix and its stems encode at once.

libsndfile (through cffi) and libmp3lame (through ctypes) release the GIL
while they encode, so the render (main thread) and the encoders share the
cores. Each :class:`ThreadedSink` takes blocks through a short queue (memory
stays a few blocks per file), keeps the first error its encoder raised for
the caller's thread, and closes its file on its thread too: an interrupt
(main thread) never lands inside an encoder's callback.

glibc gives each new thread that allocates its own malloc arena, and the
encoders' short-lived buffers and kept islands leave those fragmented: the
encoder threads share the main arena instead (a few allocations a block: no
contention).
"""

from __future__ import annotations

import ctypes
import queue
import threading
from collections import deque
from functools import cache

import numpy as np

__all__ = ["ThreadedSink"]

_CLOSE = object()
_M_ARENA_MAX = -8  # glibc's mallopt parameter


@cache
def _one_malloc_arena() -> None:
    """Threads started from now on allocate from the main arena (glibc only)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_ARENA_MAX, 1)


class ThreadedSink:
    """Writes blocks to ``sink`` (``write(array)``, ``close()``: a
    :class:`~voicecoach.encode.sound_file.SoundFileSink`, an
    :class:`~voicecoach.encode.mp3_writer.Mp3Writer` or an
    :class:`~voicecoach.encode.formats.m4b.M4bWriter`) on a thread, with
    up to ``depth`` blocks waiting in the queue."""

    def __init__(self, sink, depth: int = 3):
        _one_malloc_arena()
        self.sink = sink
        self.subtype = sink.subtype
        self.closed = False
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._free: deque[np.ndarray] = deque()  # written blocks, to reuse
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="voicecoach-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (block := self._q.get()) is not _CLOSE:  # identity: an array has no truth value
            if self._error is None:
                try:
                    self.sink.write(block)
                except BaseException as exc:
                    self._error = exc
            self._free.append(block)
        try:
            self.sink.close()
        except BaseException as exc:
            self._error = self._error or exc

    def write(self, block: np.ndarray) -> None:
        """Queue a copy of ``block`` (the caller reuses its buffers), into a
        written block of the same shape if one is free (a fresh one costs
        page faults)."""
        if self._error is not None:
            raise self._error
        spare = self._free.popleft() if self._free else None  # only this thread takes
        if spare is None or spare.shape != block.shape or spare.dtype != block.dtype:
            spare = np.empty_like(block)
        np.copyto(spare, block)
        self._q.put(spare)

    @property
    def failed(self) -> bool:
        return self._error is not None

    def close(self) -> None:
        """Write every queued block and close the file; raise the first error."""
        if not self.closed:
            self.closed = True
            self._q.put(_CLOSE)
            self._thread.join()
        if self._error is not None:
            raise self._error
