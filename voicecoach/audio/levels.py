"""The last stage of every render: a true-peak look-ahead limiter.

Voice, ticks and music are summed and brought to the loudness target by one
constant gain; speech peaks and loud music can then rise over the true-peak
ceiling (-1 dBTP, and a margin for other meters' oversampling). The
:class:`TruePeakLimiter` lowers the gain smoothly *before* such a peak, so
nothing is ever clipped or flat-topped.

Why it delays nothing that the timeline placed
----------------------------------------------
Looking ahead means the gain at frame ``t`` depends on frames up to
``t + delay``. Instead of delaying the output, the limiter *pulls its input
ahead*: it asks its source for the next frames of the unlimited mix until it
holds ``delay`` frames more than it has handed out, and hands out frame
``t`` as frame ``t``. The export's source is the mixer and the music
stream; the live player's is its transport. Both are read in the same
order from frame 0, so live and export give the same samples, and every
event stays at its frame.

How the gain is made (chunks of :data:`CHUNK` frames)
----------------------------------------------------
1. ``R[c]``: the gain that brings chunk ``c``'s peak under the ceiling,
   where the peak is the larger of the samples and 4x-oversampled values
   between them (a windowed-sinc interpolator; chunks whose samples times
   the interpolator's worst-case gain stay under the ceiling are not
   oversampled at all).
2. ``m[c] = min R[c - HOLD .. c + ATTACK]``: hold, and look ahead.
3. knot ``K[c]`` = mean of ``m[c - ATTACK + 1 .. c]``; inside chunk ``c`` the
   gain goes linearly from ``K[c]`` to ``K[c + 1]``. Each ``m`` averaged into
   ``K[c]`` and ``K[c + 1]`` covers chunk ``c``, so the gain over a chunk never
   exceeds its ``R``: the ceiling holds, and the gain glides (attack and
   release over ``ATTACK`` chunks, after a ``HOLD``) instead of jumping.

The gain of each block handed out is kept in :attr:`TruePeakLimiter.gain`,
so stems are scaled exactly as the mix and still sum to it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from voicecoach.common.decibels import gain as db_gain

__all__ = ["ATTACK", "CEILING_DBTP", "CHUNK", "CONTEXT", "HOLD", "INTERPOLATOR", "TAPS",
           "TruePeakLimiter", "true_peak"]

CEILING_DBTP = -1.5
"""Where the limiter holds true peaks: the -1 dBTP of the loudness
recommendations, less 0.5 dB for meters whose interpolators read higher."""
CHUNK = 64
ATTACK = 4
HOLD = 32
TAPS = 12
"""Taps per phase of the 4x interpolator."""
CONTEXT = TAPS // 2
"""Frames of context each side of a frame that its interpolated values use."""


def _interpolator() -> np.ndarray:
    """Phases 1/4, 2/4, 3/4 of a Kaiser-windowed sinc: shape ``(3, 12)``;
    value at ``t + p/4`` is ``sum(h[p-1, k] * x[t - 5 + k])``."""
    k = np.arange(TAPS) - (CONTEXT - 1)
    out = []
    for p in (0.25, 0.5, 0.75):
        d = p - k
        w = np.kaiser(2 * TAPS + 1, 6.0)[np.clip(np.rint(d * 2 + TAPS).astype(int), 0, 2 * TAPS)]
        h = np.sinc(d) * w
        out.append(h / h.sum())
    return np.array(out)


INTERPOLATOR = _interpolator()
"""The 4x interpolator's phases 1/4, 2/4, 3/4: float64, shape ``(3, TAPS)``."""
_H32 = INTERPOLATOR.astype(np.float32)
BOUND = float(np.abs(INTERPOLATOR).sum(axis=1).max())
"""The most an interpolated value can exceed the largest sample near it."""


def true_peak(x: np.ndarray) -> float:
    """Largest magnitude of ``x`` (``(n,)`` or ``(n, channels)``) and of its
    4x-oversampled values (for tests and offline checks)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    pad = np.concatenate([np.zeros((CONTEXT, x.shape[1])), x, np.zeros((CONTEXT, x.shape[1]))])
    peak = float(np.abs(x).max(initial=0.0))
    n = len(x) + 1
    for h in INTERPOLATOR:
        y = sum(h[k] * pad[k:k + n] for k in range(TAPS))
        peak = max(peak, float(np.abs(y).max(initial=0.0)))
    return peak


class TruePeakLimiter:
    """Keeps every true peak under ``ceiling``; reads its input ahead.

    Parameters
    ----------
    channels : int
    ceiling : float
        Linear true-peak ceiling (default :data:`CEILING_DBTP`).

    Attributes
    ----------
    delay : int
        Frames read ahead of the frames handed out.
    gain : numpy.ndarray
        float32, shape ``(n,)``: the gain of the last :meth:`run`'s frames.
    engaged : int
        Chunks that needed a gain under 1 (instrumentation).
    """

    def __init__(self, channels: int, ceiling: float = db_gain(CEILING_DBTP)):
        if not 0.0 < ceiling <= 1.0:
            raise ValueError(f"ceiling must be in (0, 1], not {ceiling}")
        self.channels = channels
        self.ceiling = float(ceiling)
        self.delay = (ATTACK + 2) * CHUNK + CONTEXT
        self._buf = np.zeros((4 * CHUNK, channels), dtype=np.float32)
        self._head = -CONTEXT       # absolute frame of _buf[0]; the context before 0 is silence
        self._filled = CONTEXT      # frames held in _buf
        self._out = 0            # next frame to hand out
        self._rn = HOLD + 2 * ATTACK + 4
        self._r = np.ones(self._rn)     # R of chunks [_r0, _r0 + _rn)
        self._r0 = -self._rn            # chunks before 0 are silent: R = 1
        self.gain = np.ones(0, dtype=np.float32)
        self.engaged = 0

    # --------------------------------------------------------------- input
    def _pull(self, pull: Callable[[np.ndarray], object], upto: int) -> None:
        """Hold input frames up to (not including) absolute frame ``upto``."""
        need = upto - (self._head + self._filled)
        if need <= 0:
            return
        keep_from = min(self._out, self._rn_frames_needed()) - CONTEXT
        drop = max(0, keep_from - self._head)
        if drop:
            self._buf[:self._filled - drop] = self._buf[drop:self._filled]
            self._head += drop
            self._filled -= drop
        if self._filled + need > len(self._buf):
            bigger = np.zeros((max(self._filled + need, 2 * len(self._buf)), self.channels),
                              dtype=np.float32)
            bigger[:self._filled] = self._buf[:self._filled]
            self._buf = bigger
        view = self._buf[self._filled:self._filled + need]
        pull(view)
        self._filled += need

    def _rn_frames_needed(self) -> int:
        """First frame whose chunk still needs its R computed."""
        return (self._r0 + self._rn) * CHUNK

    # ------------------------------------------------------------ analysis
    def _analyse(self, upto_chunk: int) -> None:
        """Compute R for chunks up to ``upto_chunk`` (exclusive)."""
        first = self._r0 + self._rn
        count = upto_chunk - first
        if count <= 0:
            return
        a = first * CHUNK - self._head                 # index of the first chunk's first frame
        x = self._buf[a:a + count * CHUNK]
        peaks = np.abs(x).reshape(count, -1).max(axis=1)
        r = np.ones(count)
        hot = np.flatnonzero(peaks * BOUND > self.ceiling)
        if len(hot):
            starts = a + hot * CHUNK - CONTEXT
            ctx = self._buf[starts[:, None] + np.arange(CHUNK + 2 * CONTEXT)]   # (hot, 76, ch)
            tp = peaks[hot].astype(np.float64)
            for h in _H32:
                y = h[0] * ctx[:, 1:1 + CHUNK]
                for k in range(1, TAPS):
                    y += h[k] * ctx[:, k + 1:k + 1 + CHUNK]
                np.maximum(tp, np.abs(y).reshape(len(hot), -1).max(axis=1), out=tp)
            r[hot] = np.minimum(1.0, self.ceiling / tp)
        # append to the R window, keeping what the hold still needs
        keep = HOLD + 2 * ATTACK + 4
        old = self._r[:self._rn]
        if self._rn > keep:
            old = old[self._rn - keep:]
            self._r0 += self._rn - keep
        merged = np.concatenate([old, r])
        self._r, self._rn = merged, len(merged)

    def _knots(self, c0: int, c1: int) -> np.ndarray:
        """Knots ``K[c0 .. c1]`` (inclusive), from the R window."""
        lo = c0 - ATTACK + 1 - HOLD - self._r0
        hi = c1 + ATTACK + 1 - self._r0
        r = self._r[lo:hi]
        w = HOLD + ATTACK + 1
        m = np.lib.stride_tricks.sliding_window_view(r, w).min(axis=1)   # m[c0-ATTACK+1 .. c1]
        c = np.concatenate([[0.0], np.cumsum(m)])
        return (c[ATTACK:] - c[:-ATTACK]) / ATTACK

    # -------------------------------------------------------------- output
    def run(self, pull: Callable[[np.ndarray], object], out: np.ndarray) -> None:
        """Fill ``out`` (float32, ``(n, channels)``) with the next limited frames.

        ``pull(view)`` must fill ``view`` (float32, ``(k, channels)``) with
        the next ``k`` frames of the unlimited signal; it is called as often
        as needed to stay :attr:`delay` frames ahead.
        """
        n = len(out)
        if n == 0:
            self.gain = self.gain[:0]
            return
        p = self._out
        c_first, c_last = p // CHUNK, (p + n - 1) // CHUNK
        self._pull(pull, (c_last + 2 + ATTACK) * CHUNK + CONTEXT)
        self._analyse(c_last + 2 + ATTACK)
        lo = c_first - ATTACK + 1 - HOLD - self._r0
        window = self._r[max(lo, 0):c_last + 1 + ATTACK + 1 - self._r0]
        src = self._buf[p - self._head:p - self._head + n]
        if window.min() >= 1.0:
            out[:] = src
            if len(self.gain) != n or self.gain[0] != 1.0 or self.gain.min() < 1.0:
                self.gain = np.ones(n, dtype=np.float32)
        else:
            k = self._knots(c_first, c_last + 1)
            ramp = np.arange(CHUNK) / CHUNK
            g = (k[:-1, None] + np.diff(k)[:, None] * ramp).reshape(-1)
            off = p - c_first * CHUNK
            self.gain = g[off:off + n].astype(np.float32)
            np.multiply(src, self.gain[:, None], out=out)
            self.engaged += int((k < 1.0).sum())
        self._out = p + n
