"""The limiter that keeps the sum of voice, ticks and music from clipping.

The mixer already scales voice + ticks so that their worst case stays under
full scale. Music is unbounded (any file, any level, played under the voice
and the ticks), so the final stage is a :class:`Limiter`.
"""

from __future__ import annotations

import numpy as np

from voicecoach.common.decibels import gain
from voicecoach.common.numbers import is_real

__all__ = ["Limiter"]

class Limiter:
    """The last stage: a memoryless soft-knee clipper, so nothing ever clips.

    Below ``threshold`` a sample passes unchanged (bit for bit). Above it the
    excess is squashed by ``tanh`` into the space left up to ``ceiling``::

        y = sign(x) * (T + K * tanh((|x| - T) / K)),   K = ceiling - T

    which meets the identity with the same value *and slope* at ``T`` (no
    corner, so no click when a peak crosses it) and only approaches the
    ceiling: ``|y| <= ceiling <= 1.0`` for every finite input.

    Why memoryless, not a look-ahead peak limiter: a look-ahead limiter
    delays the signal (every event would leave its frame, which the timeline
    contract forbids, and live and export would have to agree on the delay)
    and carries gain state across blocks; a memoryless curve is exact at any
    block size by construction, costs a few vectorised passes, and the mixer's
    headroom plus ducking keep it idle except where loud music meets the
    voice. The price is some distortion on the few peaks above ``threshold``.

    Parameters
    ----------
    threshold : float
        Linear level below which the limiter is transparent (default -1 dBFS).
    ceiling : float
        Largest output magnitude, ``threshold < ceiling <= 1.0``; 0.999 by
        default so 16-bit encoding never wraps.

    Notes
    -----
    :meth:`process` keeps two scratch buffers between calls (they grow only
    for a block larger than any before): a steady block size allocates
    nothing, so the live callback can call it. A NaN sample stays NaN; the
    others are still limited.
    """

    def __init__(self, threshold: float = gain(-1.0), ceiling: float = 0.999):
        for name, v in (("threshold", threshold), ("ceiling", ceiling)):
            if not is_real(v):
                raise TypeError(f"{name} must be a number, not {type(v).__name__}")
        if not 0.0 < threshold < ceiling <= 1.0:
            raise ValueError(f"need 0 < threshold < ceiling <= 1, not threshold={threshold}, "
                             f"ceiling={ceiling}")
        self.threshold = np.float32(threshold)
        self.ceiling = np.float32(ceiling)
        self._knee = np.float32(ceiling - threshold)
        self._inv_knee = np.float32(1.0 / (ceiling - threshold))
        self._mag = np.empty(0, dtype=np.float32)
        self._sign = np.empty(0, dtype=np.float32)
        self.engaged = 0
        """Blocks in which some sample exceeded the threshold (instrumentation)."""

    def process(self, block: np.ndarray) -> None:
        """Limit ``block`` in place.

        Parameters
        ----------
        block : numpy.ndarray
            float32, shape ``(n, channels)`` (or ``(n,)``), C-contiguous, writeable.
        """
        if not isinstance(block, np.ndarray) or block.dtype != np.float32:
            raise TypeError("block must be a float32 numpy.ndarray")
        if not block.flags.c_contiguous or not block.flags.writeable:
            raise ValueError("block must be C-contiguous and writeable")
        size = block.size
        if size == 0:
            return
        if len(self._mag) < size:
            self._mag = np.empty(size, dtype=np.float32)
            self._sign = np.empty(size, dtype=np.float32)
        x = block.reshape(-1)
        mag, sign = self._mag[:size], self._sign[:size]
        np.abs(x, out=mag)
        if mag.max() <= self.threshold:                 # False with a NaN: limit the rest
            return                                      # transparent: nothing to do
        self.engaged += 1
        np.sign(x, out=sign)
        np.subtract(mag, self.threshold, out=mag)       # excess over the threshold
        np.maximum(mag, 0.0, out=mag)
        np.multiply(mag, self._inv_knee, out=mag)
        np.tanh(mag, out=mag)
        np.multiply(mag, self._knee, out=mag)           # squashed excess, in [0, K]
        np.multiply(mag, sign, out=mag)
        np.clip(x, -self.threshold, self.threshold, out=x)
        np.add(x, mag, out=x)                           # below T: x + 0 == x exactly
        np.clip(x, -self.ceiling, self.ceiling, out=x)  # float rounding of T + K
