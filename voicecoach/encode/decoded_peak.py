"""The peaks of a written lossy file as a player decodes it.

A lossy codec does not keep the waveform: decoded, a session limited to
-1.5 dBTP peaks higher (Opus by about 0.6 dB). The exporter measures what
the file decodes to (by FFmpeg's decoders, through PyAV, as most players
decode) and re-encodes it lower when it is over the ceiling."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicecoach.audio.levels import CONTEXT, INTERPOLATOR, oversample

__all__ = ["decoded_peaks"]


def decoded_peaks(path: Path) -> tuple[float, float]:
    """The largest sample magnitude of ``path`` decoded, and its true peak
    (4x-oversampled, :mod:`voicecoach.audio.levels`), linear. Memory stays
    one decoded frame: each block is read with the frames before it."""
    import av

    sample = true = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        before = np.zeros((2 * CONTEXT, channels))
        for frame in container.decode(stream):
            a = frame.to_ndarray()
            block = a.T if frame.format.is_planar else a.reshape(-1, channels)
            sample = max(sample, float(np.abs(block).max(initial=0.0)))
            before, true = _between(before, block, true)
        _, true = _between(before, np.zeros((2 * CONTEXT, channels)), true)
    return sample, max(sample, true)


def _between(before: np.ndarray, block: np.ndarray, peak: float) -> tuple[np.ndarray, float]:
    """``peak`` raised to the interpolated values between the frames of
    ``before`` (the last ``2 * CONTEXT`` frames) and ``block``; the new ``before``."""
    x = np.concatenate([before, block])
    n = len(x) - 2 * CONTEXT
    out, tmp = np.empty((2, n, x.shape[1]))
    for h in INTERPOLATOR:
        peak = max(peak, float(np.abs(oversample(x, h, out, tmp)).max(initial=0.0)))
    return x[n:], peak
