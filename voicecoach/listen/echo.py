"""What the player played and when, to tell the coach's own voice coming
back through open speakers from the person's.

The player hands over every block it plays; we keep only its level, in a
ring of fixed size, so `played` allocates nothing and costs one dot product.
"""

from __future__ import annotations

import threading

import numpy as np

SOUNDING = 10 ** (-45 / 10)  # mean square over a block above -45 dBFS: the coach is heard
KEEP = 4096  # blocks remembered: minutes of play at any usual block size


class PlayedLog:
    """Levels of the blocks played, by the monotonic time they are heard."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._start = np.full(KEEP, -np.inf)
        self._end = np.full(KEEP, -np.inf)
        self._loud = np.zeros(KEEP, dtype=bool)
        self._next = 0
        self._lock = threading.Lock()

    def played(self, block: np.ndarray, when: float) -> None:
        """Note a block (frames x channels, float32) heard from ``when``."""
        first = block[:, 0] if block.ndim == 2 else block
        level = float(np.dot(first, first)) / max(len(first), 1)
        with self._lock:
            i = self._next % KEEP
            self._start[i] = when
            self._end[i] = when + len(first) / self.rate
            self._loud[i] = level > SOUNDING
            self._next += 1

    def sounding(self, start: float, end: float) -> float:
        """The share of ``[start, end]`` during which the player was heard."""
        if end <= start:
            return 0.0
        with self._lock:
            lo = np.clip(self._start[self._loud], start, end)
            hi = np.clip(self._end[self._loud], start, end)
        return float(np.sum(hi - lo)) / (end - start)
