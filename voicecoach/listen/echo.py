"""What the player played and when, to tell the coach's own voice coming
back through open speakers from the person's.

The player says, as it goes, over which span of time how much of what it
handed out was sounding (`heard`); blocks of samples can be given instead
(`played`: the corpus and the benchmark). Only spans are kept, in a ring of
fixed size, so neither allocates.
"""

from __future__ import annotations

import threading

import numpy as np

SOUNDING = 10 ** (-45 / 10)  # mean square over a block above -45 dBFS: the coach is heard
KEEP = 4096  # blocks remembered: minutes of play at any usual block size


class PlayedLog:
    """Spans of the monotonic clock and the share of each the player was heard in.

    ``rate``: the sample rate of the blocks given to `played`.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._start = np.full(KEEP, -np.inf)
        self._end = np.full(KEEP, -np.inf)
        self._share = np.zeros(KEEP)
        self._next = 0
        self._lock = threading.Lock()

    def played(self, block: np.ndarray, when: float) -> None:
        """Note a block (frames x channels, float32) heard from ``when``."""
        first = block[:, 0] if block.ndim == 2 else block
        level = float(np.dot(first, first)) / max(len(first), 1)
        self.heard(when, when + len(first) / self.rate, 1.0 if level > SOUNDING else 0.0)

    def heard(self, start: float, end: float, share: float) -> None:
        """Over ``[start, end]`` the player was heard ``share`` of the time (0 to 1)."""
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be within 0 and 1, got {share}")
        with self._lock:
            i = self._next % KEEP
            self._start[i], self._end[i], self._share[i] = start, end, share
            self._next += 1

    def sounding(self, start: float, end: float) -> float:
        """The share of ``[start, end]`` during which the player was heard."""
        if end <= start:
            return 0.0
        with self._lock:
            lo = np.clip(self._start, start, end)
            hi = np.clip(self._end, start, end)
            return min(float(np.dot(hi - lo, self._share)) / (end - start), 1.0)
