"""Encoded MP3 islands by their input, shared by the writers of one export:
LAME is deterministic and a workout repeats itself, so an island met again
is the bytes it gave the first time."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["KNOWN_BYTES", "Islands"]

KNOWN_BYTES = 2 << 20
"""Encoded islands remembered, at most: enough for every repeat of a 3-hour
session with stems (most repeats are short: counts, ticks); half as much
misses some, and is slower."""


class Islands:
    """The mix repeats most of the voice stem's islands (wherever no tick
    overlaps), so the writers of an export share one store; their encoder
    threads meet the same island at about the same time, so one encodes it
    while the others wait for its bytes. Bounded: past ``limit`` bytes new
    islands are not remembered (they are encoded again when they repeat).
    Keys include the encoder settings, so writers of any settings may share.
    """

    def __init__(self, limit: int = KNOWN_BYTES):
        self._limit, self._size = limit, 0
        self._done: dict[tuple, tuple[bytes, int]] = {}
        self._busy: dict[tuple, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, encode: Callable[[], tuple[bytes, int]]) -> tuple[tuple[bytes, int], bool]:
        """The island ``(bytes, frames)`` for ``key``, from ``encode()``
        if no writer has encoded it; and whether this call encoded it."""
        with self._lock:
            found, wait = self._done.get(key), self._busy.get(key)
            if found is None and wait is None:
                mine = self._busy[key] = threading.Event()
        if found is not None:
            return found, False
        if wait is not None:
            wait.wait()
            with self._lock:
                found = self._done.get(key)
            return (encode(), True) if found is None else (found, False)  # not kept (full), or its encoder failed
        try:
            found = encode()
            with self._lock:
                if self._size + len(found[0]) <= self._limit:
                    self._done[key] = found
                    self._size += len(found[0])
            return found, True
        finally:
            with self._lock:
                del self._busy[key]
            mine.set()
