"""The true peak of a signal, for tests that check the limiter held it."""

from __future__ import annotations

import numpy as np

from voicecoach.audio.levels import CONTEXT, INTERPOLATOR, oversample


def true_peak(x: np.ndarray) -> float:
    """Largest magnitude of ``x`` (``(n,)`` or ``(n, channels)``) and of its
    4x-oversampled values."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    pad = np.zeros((len(x) + 2 * CONTEXT + 1, x.shape[1]))
    pad[CONTEXT + 1 : CONTEXT + 1 + len(x)] = x
    y, tmp = np.empty((2, len(x) + 1, x.shape[1]))
    peak = float(np.abs(x).max(initial=0.0))
    for h in INTERPOLATOR:
        peak = max(peak, float(np.abs(oversample(pad, h, y, tmp)).max(initial=0.0)))
    return peak
