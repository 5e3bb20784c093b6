"""Rendering ahead of the audio callback: the player's render thread fills a ring
of frames, sized from the output latency, and the callback only copies out of it.

A busy machine can keep the render thread from running for a while without a gap:
the ring holds what it rendered before. The callback still needs the GIL, but only
for a copy. One producer (the render thread), one consumer (the callback), no lock:
each side writes only its own counters, one attribute assignment each (atomic under
the GIL), after the samples are in place.

A command must not wait behind what is rendered ahead: the render thread takes it,
goes back to the first block boundary the callback cannot be reading
(:meth:`RenderAhead.fill`), restores the transport's :class:`~voicecoach.live.transport.Mark`
there, applies the command and renders on. Every block boundary keeps its mark,
so the callback publishes what is heard (:attr:`Transport.heard`) by one assignment.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import suppress

import numpy as np

from voicecoach.live.transport import Transport, TransportCommand

CHUNK = 512  # frames rendered per step: the grain at which a command can go back
MIN_SECONDS = 0.2  # the ring holds at least this much, whatever the latency
MAX_SECONDS = 1.0  # and at most this (the music feeder keeps as much to read again)
RT_PRIORITY = 5  # SCHED_FIFO priority asked for: low, under the sound server's own


class RenderAhead:
    """A ring of twice the output ``latency`` in seconds (rounded up to whole
    :data:`CHUNK`, within :data:`MIN_SECONDS` and :data:`MAX_SECONDS`) of ``transport``'s
    frames, filled by :meth:`fill` (its thread, or a test) and emptied by :meth:`take`
    (the audio callback). ``most`` is the largest block the callback asks for: a
    command keeps that much, which the callback may be copying while it is taken.
    ``pad`` frames of silence follow the session's end before :attr:`end`. Twice:
    a device fills its whole buffer at once when it starts or after an underflow,
    and the ring must still hold as much again for the render thread's absences.
    """

    def __init__(self, transport: Transport, latency: float, most: int, pad: int = 0):
        self.t = transport
        seconds = min(max(2 * latency, MIN_SECONDS), MAX_SECONDS)
        chunks = max(4, -(-round(seconds * transport.sr) // CHUNK))
        self.capacity = chunks * CHUNK
        self._ring = np.zeros((self.capacity, transport.mixer.channels), dtype=np.float32)
        self._marks = [transport.heard] * (chunks + 2)  # the mark at each block boundary in the ring
        self.most = most
        self.pad = pad
        self.written = 0  # producer's: frames rendered into the ring, ever
        self.limit = 0  # producer's: frames the consumer may take (below written while going back)
        self.read = 0  # consumer's: frames taken, ever
        self.late = 0  # consumer's: blocks the ring could not fill (the render thread fell behind)
        self.end: int | None = None  # producer's: the frame after the last one to play
        self._done_at: int | None = None  # where the transport's session ended in the ring
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll = CHUNK / transport.sr / 4
        self.error: BaseException | None = None  # what stopped the render thread, for the player to raise

    # -- the audio callback ------------------------------------------------
    def take(self, out: np.ndarray) -> bool:
        """Copy the next frames into ``out`` (float32, ``(n, channels)``), silence
        where the ring ran dry (counted in :attr:`late`) or after the end; publish
        the mark heard. True once the last frame is out. No allocation beyond views."""
        n = len(out)
        r = self.read
        k = max(0, min(n, self.limit - r))
        at = r % self.capacity
        first = min(k, self.capacity - at)
        out[:first] = self._ring[at : at + first]
        out[first:k] = self._ring[: k - first]
        end = self.end
        if k < n:
            out[k:] = 0.0
            if end is None or r + k < end:
                self.late += 1
        self.read = r + k
        self.t.heard = self._marks[(r + k) // CHUNK % len(self._marks)]
        return end is not None and r + k >= end

    # -- the render thread -------------------------------------------------
    def fill(self) -> None:
        """Render until the ring is full (or the end and its silence are in), going
        back first for a command asked for."""
        t = self.t
        command = t.take_request()
        if command is not None:
            self._go_back(0 if command == TransportCommand.RECOVER else self.most)
            t.apply(command)
            self._marks[self.written // CHUNK % len(self._marks)] = t.mark()
        while self.end is None and self.written + CHUNK - self.read <= self.capacity:
            if t.requested:
                return  # the next fill goes back for it
            at = self.written % self.capacity
            t.fill(self._ring[at : at + CHUNK])
            self._marks[(self.written + CHUNK) // CHUNK % len(self._marks)] = t.mark()
            self.written += CHUNK
            if t.finished:
                if self._done_at is None:
                    self._done_at = self.written
                if self.written - self._done_at >= self.pad:
                    self.end = self.written
            self.limit = self.written

    def _go_back(self, keep: int) -> None:
        """Forget what is rendered from the first block boundary at least ``keep``
        frames after those taken, where the callback cannot be copying."""
        while True:
            k = boundary(self.read + keep)
            if k >= self.written:
                self.limit = self.written
                return
            self.limit = k
            if self.read + keep <= k:  # a copy under way started at read: it stops before k
                break
        self.t.restore(self._marks[k // CHUNK % len(self._marks)])
        self.written, self.end = k, None
        if not self.t.finished:
            self._done_at = None

    @property
    def full(self) -> bool:
        """Nothing more to render until the callback takes some (or a command comes)."""
        return not self.t.requested and (self.end is not None or self.written + CHUNK - self.read > self.capacity)

    def _run(self) -> None:
        realtime()
        try:
            while not self._stop.is_set():
                self.fill()
                if self.full:
                    self._wake.wait(self._poll)
                    self._wake.clear()
        except BaseException as exc:  # the playing thread raises it
            self.error = exc

    def start(self) -> RenderAhead:
        self._thread = threading.Thread(target=self._run, name="voicecoach-render", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the render thread has filled the ring (before a stream opens,
        and in tests before each block the fake device takes)."""
        deadline = time.monotonic() + timeout
        while not self.full and time.monotonic() < deadline and self._thread is not None and self._thread.is_alive():
            self._wake.set()
            time.sleep(0.0002)


def boundary(frame: int) -> int:
    """The first block boundary of the ring at or after ``frame``: where a command
    asked for when ``frame - keep`` frames were taken is applied."""
    return -(-frame // CHUNK) * CHUNK


def realtime(tid: int = 0) -> None:
    """Ask for real-time scheduling for thread ``tid`` (0: the calling one), else a
    higher priority; quietly keep what it has where neither is allowed."""
    with suppress(AttributeError, OSError):
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        return
    with suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, tid or threading.get_native_id(), -10)


def ordinary() -> None:
    """Back to ordinary scheduling for the calling thread, after :func:`realtime`."""
    with suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    with suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 0)
