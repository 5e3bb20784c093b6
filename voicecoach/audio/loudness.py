"""Programme loudness per ITU-R BS.1770: K-weighting, 400 ms gated blocks.

The streamed meter keeps one number per 100 ms sub-block (its K-weighted
energy), never the audio, so a three-hour session costs under a megabyte.
Gating follows BS.1770-4 (400 ms blocks every 100 ms, gates at -70 LUFS and
10 LU under the blocks above it). Channels weigh 1.0, so a mono signal copied
to two channels reads 3.01 LU louder, as phones and ffmpeg's meter see it.
K-weighting is applied as its truncated impulse response by FFT convolution:
numpy has no recursive filter.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

import numpy as np

__all__ = ["ABSOLUTE_GATE", "KWeighting", "LoudnessMeter", "integrated_loudness", "k_weighting_ir", "subblock_frames"]

ABSOLUTE_GATE = -70.0
"""LUFS under which a 400 ms block is silence."""
RELATIVE_GATE = -10.0
"""LU under the ungated loudness under which a block does not count."""
_OFFSET = -0.691


def subblock_frames(samplerate: int) -> int:
    """Frames in 100 ms: the step between gating blocks."""
    return max(1, round(samplerate / 10))


def _biquads(samplerate: int) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """``(b, a)`` of the K-weighting stages at ``samplerate`` (BS.1770 Annex 1,
    re-derived from the analogue prototypes so every rate is exact)."""
    fs = float(samplerate)
    f0, g_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (g_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = (
        ((vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0),
        (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0),
    )
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / fs)
    a0 = 1.0 + k / q + k * k
    high = (1.0, -2.0, 1.0), (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0)
    return [shelf, high]


@cache
def k_weighting_ir(samplerate: int) -> np.ndarray:
    """Impulse response of the K-weighting filter, float64, shape ``(n,)``:
    about 0.08 s, when the high-pass (38 Hz, Q 0.5) is under -170 dB."""
    n = 1 << max(8, math.ceil(math.log2(0.08 * samplerate)))
    x = [0.0] * n
    x[0] = 1.0
    for (b0, b1, b2), (_, a1, a2) in _biquads(samplerate):
        y = [0.0] * n
        x1 = x2 = y1 = y2 = 0.0
        for i in range(n):
            xi = x[i]
            yi = b0 * xi + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            y[i] = yi
            x2, x1, y2, y1 = x1, xi, y1, yi
        x = y
    ir = np.asarray(x)
    ir.flags.writeable = False  # cached and shared
    return ir


class KWeighting:
    """K-weights a stream of blocks: overlap-save FFT convolution."""

    def __init__(self, samplerate: int, channels: int):
        self.samplerate = samplerate
        self._tail = np.zeros((len(k_weighting_ir(samplerate)) - 1, channels))

    def process(self, block: np.ndarray) -> np.ndarray:
        """The K-weighted ``block`` (shape ``(n, channels)``), float64, same shape."""
        n = len(block)
        full = np.concatenate([self._tail, block])
        nfft = 1 << math.ceil(math.log2(len(full)))
        y = np.fft.irfft(
            np.fft.rfft(full, nfft, axis=0) * _spectrum(self.samplerate, nfft, False)[:, None], nfft, axis=0
        )
        self._tail = full[len(full) - len(self._tail) :]
        return y[len(self._tail) : len(self._tail) + n]


@lru_cache(maxsize=64)
def _spectrum(samplerate: int, nfft: int, single: bool) -> np.ndarray:
    """The K-weighting's spectrum for FFTs of ``nfft`` (of its float32 impulse response when ``single``)."""
    ir = k_weighting_ir(samplerate)
    return np.fft.rfft(ir.astype(np.float32) if single else ir, nfft)


def weighted(x: np.ndarray, samplerate: int) -> np.ndarray:
    """A whole (short) signal K-weighted with its tail (as long as the filter's
    impulse response less one). float32 FFTs: the energies it feeds are summed
    in float64, and float32's rounding is far under the meter's 0.1 LU."""
    n = len(x) + len(k_weighting_ir(samplerate)) - 1
    nfft = 1 << math.ceil(math.log2(max(n, 1)))
    return np.fft.irfft(np.fft.rfft(np.asarray(x, dtype=np.float32), nfft) * _spectrum(samplerate, nfft, True), nfft)[
        :n
    ]


class LoudnessMeter:
    """Integrated loudness of a stream, per BS.1770: fed raw audio
    (:meth:`add`), K-weighted energies per frame (:meth:`add_frames`) or per
    sub-block (:meth:`add_energy`, sparse sessions); read at any time."""

    def __init__(self, samplerate: int, channels: int):
        self.samplerate = samplerate
        self.channels = channels
        self.step = subblock_frames(samplerate)
        self.energies = np.zeros(1024)
        """K-weighted energy (sum of squares over channels) of each 100 ms sub-block."""
        self.frames = 0
        self._k: KWeighting | None = None

    def _grow(self, subblocks: int) -> None:
        if subblocks > len(self.energies):
            bigger = np.zeros(max(subblocks, 2 * len(self.energies)))
            bigger[: len(self.energies)] = self.energies
            self.energies = bigger

    def add(self, block: np.ndarray) -> None:
        """Measure the next frames: float, shape ``(n, channels)``."""
        if self._k is None:
            self._k = KWeighting(self.samplerate, self.channels)
        y = self._k.process(block)
        self.add_frames(np.einsum("ij,ij->i", y, y))

    def add_frames(self, e: np.ndarray) -> None:
        """Measure the next frames from their K-weighted energies: float64,
        shape ``(n,)``, summed over channels (or a product of two signals'
        K-weighted frames, to meter a mix at any balance afterwards)."""
        start, n = self.frames, len(e)
        self.frames += n
        self._grow(self.frames // self.step + 1)
        c = np.concatenate([[0.0], np.cumsum(e)])
        first, last = start // self.step, (start + n - 1) // self.step if n else start // self.step
        bounds = np.clip(np.arange(first, last + 2) * self.step - start, 0, n)
        self.energies[first : last + 1] += np.diff(c[bounds])

    def add_energy(self, subblocks: np.ndarray, energy: np.ndarray) -> None:
        """Add K-weighted ``energy`` to the sub-blocks of index ``subblocks``."""
        if len(subblocks):
            self._grow(int(subblocks.max()) + 1)
            np.add.at(self.energies, subblocks, energy)

    def set_length(self, frames: int) -> None:
        """The measured signal's length, for energies added with :meth:`add_energy`."""
        self.frames = int(frames)
        self._grow(self.frames // self.step + 1)

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS; ``-inf`` for silence."""
        return integrated_loudness(self.energies, self.frames, self.step)


def integrated_loudness(energies: np.ndarray, frames: int, step: int) -> float:
    """Gated loudness (LUFS) from per-sub-block K-weighted energies."""
    whole = frames // step
    if whole < 4:
        return float("-inf")
    e = energies[:whole]
    blocks = (e[:-3] + e[1:-2] + e[2:-1] + e[3:]) / (4 * step)  # 400 ms, every 100 ms
    with np.errstate(divide="ignore"):
        lk = _OFFSET + 10 * np.log10(blocks)
    kept = blocks[lk > ABSOLUTE_GATE]
    if not len(kept):
        return float("-inf")
    gate = _OFFSET + 10 * math.log10(kept.mean()) + RELATIVE_GATE
    kept = blocks[lk > max(gate, ABSOLUTE_GATE)]
    return _OFFSET + 10 * math.log10(kept.mean())
