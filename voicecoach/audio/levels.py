"""The last stage of every render: a true-peak look-ahead limiter.

After the loudness gain, speech peaks and loud music can rise over the
true-peak ceiling; the :class:`TruePeakLimiter` lowers the gain smoothly
*before* such a peak, so nothing is clipped or flat-topped.

It delays nothing the timeline placed: instead of delaying its output, the
limiter *pulls its input ahead* by ``delay`` frames and hands out frame
``t`` as frame ``t``. The export (mixer and music stream) and the live
transport are both read in order from frame 0, so they give the same samples.

The gain, per chunk of :data:`CHUNK` frames:
1. ``R[c]`` brings chunk ``c``'s peak under the ceiling, the peak being the
   larger of the samples and their 4x-oversampled values (chunks whose
   samples times the interpolator's worst-case gain stay under the ceiling
   are not oversampled).
2. ``m[c] = min R[c - HOLD .. c + ATTACK]``: hold, and look ahead.
3. knot ``K[c]`` = mean of ``m[c - ATTACK + 1 .. c]``; inside chunk ``c`` the
   gain goes linearly from ``K[c]`` to ``K[c + 1]``. Both knots average ``m``
   that cover chunk ``c``, so the gain there never exceeds its ``R``, and it
   glides instead of jumping.

The gain of each block handed out is kept in :attr:`TruePeakLimiter.gain`,
so stems are scaled exactly as the mix and still sum to it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voicecoach.common.decibels import gain as db_gain

__all__ = ["CEILING_DBTP", "CHUNK", "TruePeakLimiter", "knots", "oversample", "ramp"]

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
_KEEP = HOLD + 2 * ATTACK + 4
"""Chunk gains ``R`` the limiter keeps behind the newest for the hold."""


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
H32 = INTERPOLATOR.astype(np.float32)
"""The same phases in float32, as every render uses them."""
BOUND = float(np.abs(INTERPOLATOR).sum(axis=1).max())
"""The most an interpolated value can exceed the largest sample near it."""


def oversample(x: np.ndarray, h: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """One phase ``h`` of the 4x interpolation, summed in tap order: ``out[i]``
    is the value a phase after frame ``i + CONTEXT`` of ``x`` (``len(out) + 2 *
    CONTEXT`` frames); ``tmp``, like ``out``, takes the products."""
    n = len(out)
    np.multiply(x[1 : 1 + n], h[0], out=out)
    for k in range(1, TAPS):
        np.multiply(x[k + 1 : k + 1 + n], h[k], out=tmp)
        np.add(out, tmp, out=out)
    return out


def knots(r: np.ndarray, out: np.ndarray | None = None, scratch: np.ndarray | None = None) -> np.ndarray:
    """The limiter's ``len(r) - HOLD - 2 * ATTACK + 1`` knots from chunk gains
    ``r`` (float64). With ``out`` and ``scratch`` (float64, ``2 * len(r)``)
    nothing is allocated."""
    m_len = len(r) - HOLD - ATTACK
    if scratch is None:
        scratch = np.empty(2 * len(r))
    c, m = scratch[: m_len + 1], scratch[m_len + 1 : 2 * m_len + 1]
    np.copyto(m, r[:m_len])
    for j in range(1, HOLD + ATTACK + 1):
        np.minimum(m, r[j : j + m_len], out=m)
    c[0] = 0.0
    np.add.accumulate(m, out=c[1:])
    if out is None:
        out = np.empty(m_len + 1 - ATTACK)
    np.subtract(c[ATTACK:], c[:-ATTACK], out=out)
    np.divide(out, ATTACK, out=out)
    return out


def ramp(k: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """The gain of every frame of the chunks between knots ``k``, in the dtype
    of ``out`` (``(len(k) - 1) * CHUNK``; ``scratch`` as long). No broadcasting
    ufunc (it would allocate an iteration buffer)."""
    nc = len(k) - 1
    now, before = out.reshape(nc, CHUNK), scratch[: nc * CHUNK]
    np.copyto(now, k[1:, None])
    np.copyto(before.reshape(nc, CHUNK), k[:-1, None])
    np.subtract(out, before, out=out)  # K[c + 1] - K[c], per frame
    np.multiply(out, _ramp_tile(nc * CHUNK, out.dtype), out=out)
    np.add(before, out, out=out)
    return out


_ramps: dict[np.dtype, np.ndarray] = {}


def _ramp_tile(frames: int, dtype: np.dtype) -> np.ndarray:
    """Where each frame sits between its chunk's knots, over ``frames``
    (whole chunks): laid out once per dtype, grown only for a longer block."""
    tile = _ramps.get(dtype)
    if tile is None or len(tile) < frames:
        tile = _ramps[dtype] = np.tile((np.arange(CHUNK) / CHUNK).astype(dtype), -(-frames // CHUNK))
    return tile[:frames]


class TruePeakLimiter:
    """Keeps every true peak under ``ceiling`` (linear); reads its input
    ``delay`` frames ahead. :attr:`gain` (float32, ``(n,)``) is the gain of
    the last :meth:`run`'s frames, valid until the next run. Every buffer is
    sized from the largest block seen, so a steady block size allocates
    nothing: it runs in the live audio callback.
    """

    def __init__(self, channels: int, ceiling: float = db_gain(CEILING_DBTP)):
        if not 0.0 < ceiling <= 1.0:
            raise ValueError(f"ceiling must be in (0, 1], not {ceiling}")
        self.channels = channels
        self.ceiling = float(ceiling)
        self.delay = (ATTACK + 2) * CHUNK + CONTEXT
        self._buf = np.zeros((4 * CHUNK, channels), dtype=np.float32)
        self._head = -CONTEXT  # absolute frame of _buf[0]; the context before 0 is silence
        self._filled = CONTEXT  # frames held in _buf
        self._out = 0  # next frame to hand out
        self._rn = _KEEP
        self._r = np.ones(self._rn)  # R of chunks [_r0, _r0 + _rn)
        self._r0 = -self._rn  # chunks before 0 are silent: R = 1
        self._block = 0  # the largest block the scratch buffers hold
        self.gain = np.ones(0, dtype=np.float32)

    def _scratch_for(self, n: int) -> None:
        """Size every scratch buffer for blocks of up to ``n`` frames."""
        if n <= self._block:
            return
        self._block = n
        chunks = n // CHUNK + ATTACK + 4  # most chunks analysed or ramped per run
        frames, ch = chunks * CHUNK, self.channels
        self._r_spare = np.ones(_KEEP + chunks)
        self._r = np.concatenate([self._r[: self._rn], np.ones(chunks)])
        self._abs = np.empty((frames, ch), np.float32)  # |x|, then interpolated values
        self._tmp = np.empty((frames, ch), np.float32)
        self._peaks = np.empty((2, chunks), np.float32)
        self._hot = np.empty(chunks + HOLD + 2 * ATTACK, bool)
        self._tp = np.empty(chunks)
        self._k = np.empty(chunks)
        self._k_scratch = np.empty(2 * (chunks + _KEEP))
        self._g = np.empty((2, frames))
        self._gain = np.empty(frames, np.float32)

    def _pull(self, pull: Callable[[np.ndarray], object], upto: int) -> None:
        """Hold input frames up to (not including) absolute frame ``upto``."""
        need = upto - (self._head + self._filled)
        if need <= 0:
            return
        keep_from = min(self._out, (self._r0 + self._rn) * CHUNK) - CONTEXT
        drop = max(0, keep_from - self._head)
        if drop:
            flat, ch = self._buf.reshape(-1), self.channels  # 1-D: an overlapping move, no copy
            flat[: (self._filled - drop) * ch] = flat[drop * ch : self._filled * ch]
            self._head += drop
            self._filled -= drop
        if self._filled + need > len(self._buf):
            bigger = np.zeros((max(self._filled + need, 2 * len(self._buf)), self.channels), dtype=np.float32)
            bigger[: self._filled] = self._buf[: self._filled]
            self._buf = bigger
        pull(self._buf[self._filled : self._filled + need])
        self._filled += need

    def _analyse(self, upto_chunk: int) -> None:
        """Compute R for chunks up to ``upto_chunk`` (exclusive); the chunks
        that may pass the ceiling are oversampled, from the first to the last."""
        count = upto_chunk - (self._r0 + self._rn)
        if count <= 0:
            return
        a = (self._r0 + self._rn) * CHUNK - self._head  # index of the first chunk's first frame
        x = self._buf[a : a + count * CHUNK]
        y, peaks, top = self._abs[: count * CHUNK], self._peaks[0, :count], self._peaks[1, :count]
        np.maximum.reduce(np.abs(x, out=y).reshape(count, -1), axis=1, out=peaks)
        hot = self._hot[:count]
        np.greater(np.multiply(peaks, BOUND, out=top), self.ceiling, out=hot)
        r = self._append_r(count)
        if not hot.any():
            return
        lo, hi = int(hot.argmax()), count - int(hot[::-1].argmax())
        span = hi - lo
        xs = self._buf[a + lo * CHUNK - CONTEXT : a + hi * CHUNK + CONTEXT]
        y, tp = self._abs[: span * CHUNK], self._tp[:span]
        np.copyto(tp, peaks[lo:hi])
        for h in H32:
            oversample(xs, h, y, self._tmp[: span * CHUNK])
            np.maximum.reduce(np.abs(y, out=y).reshape(span, -1), axis=1, out=top[:span])
            np.maximum(tp, top[:span], out=tp)
        np.divide(self.ceiling, tp, out=tp, where=hot[lo:hi])  # a silent chunk between has 0
        np.minimum(1.0, tp, out=tp)
        np.copyto(r[lo:hi], tp, where=hot[lo:hi])

    def _append_r(self, count: int) -> np.ndarray:
        """Make room for ``count`` more R (set to 1) after those the hold
        still needs; returns their slots."""
        keep = min(self._rn, _KEEP)
        self._r0 += self._rn - keep
        spare = self._r_spare
        spare[:keep] = self._r[self._rn - keep : self._rn]
        spare[keep : keep + count] = 1.0
        self._r_spare, self._r, self._rn = self._r, spare, keep + count
        return spare[keep : keep + count]

    def run(self, pull: Callable[[np.ndarray], object], out: np.ndarray) -> None:
        """Fill ``out`` (float32, ``(n, channels)``) with the next limited frames;
        ``pull(view)`` fills ``view`` with the next frames of the unlimited
        signal, as often as needed to stay :attr:`delay` frames ahead."""
        n = len(out)
        if n == 0:
            self.gain = self.gain[:0]
            return
        self._scratch_for(n)
        p = self._out
        c_first, c_last = p // CHUNK, (p + n - 1) // CHUNK
        self._pull(pull, (c_last + 2 + ATTACK) * CHUNK + CONTEXT)
        self._analyse(c_last + 2 + ATTACK)
        lo = c_first - ATTACK + 1 - HOLD - self._r0
        r = self._r[max(lo, 0) : c_last + ATTACK + 2 - self._r0]
        src = self._buf[p - self._head : p - self._head + n]
        self.gain = self._gain[:n]
        if r.min() >= 1.0:
            out[:] = src
            self.gain.fill(1.0)
        else:
            k = knots(r, self._k[: c_last - c_first + 2], self._k_scratch)
            g = ramp(k, self._g[0, : (len(k) - 1) * CHUNK], self._g[1])
            off = p - c_first * CHUNK
            np.copyto(self.gain, g[off : off + n])
            for c in range(self.channels):  # channel by channel: a broadcast allocates
                np.multiply(src[:, c], self.gain, out=out[:, c])
        self._out = p + n
