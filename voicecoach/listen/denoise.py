"""Steady noise taken out before decoding: spectral subtraction against a
tracked noise spectrum. The acoustic model was trained on clean speech; a
fan, a room or a music bed under the voice turns its words into others."""

from __future__ import annotations

import numpy as np

WINDOW = 512  # samples at 16 kHz; half-overlapped
OVER = 1.5  # how much of the noise estimate is taken out
FLOOR = 0.2  # the least gain a bin keeps (-14 dB): less leaves "musical" noise


class Denoiser:
    """Samples in, the same samples less the steady noise out, 256 later."""

    def __init__(self) -> None:
        self._window = np.sqrt(np.hanning(WINDOW + 1)[:WINDOW]).astype(np.float32)
        self._input = np.zeros(WINDOW // 2, np.float32)
        self._tail = np.zeros(WINDOW // 2, np.float32)
        self._noise: np.ndarray | None = None

    def process(self, samples: np.ndarray) -> np.ndarray:
        """``samples``: shape (n,), float32; returns as many as whole hops allow."""
        hop = WINDOW // 2
        data = np.concatenate([self._input, samples.astype(np.float32)])
        out = []
        while len(data) >= WINDOW:
            spectrum = np.fft.rfft(data[:WINDOW] * self._window)
            power = np.abs(spectrum) ** 2
            if self._noise is None:
                self._noise = power.copy()
            quiet = power < 3 * self._noise  # a bin likely holding noise only
            self._noise = np.where(quiet, 0.95 * self._noise + 0.05 * power, self._noise * 1.002)
            gain = np.maximum(1 - OVER * self._noise / np.maximum(power, 1e-12), FLOOR)
            frame = np.fft.irfft(spectrum * np.sqrt(gain), WINDOW).astype(np.float32) * self._window
            out.append(frame[:hop] + self._tail)
            self._tail = frame[hop:]
            data = data[hop:]
        self._input = data
        return np.concatenate(out) if out else np.zeros(0, np.float32)
