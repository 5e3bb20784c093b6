"""The limiter's gain computed from the known future, for sessions without music.

Without music everything the session will sound is known before it plays,
so the true-peak limiter's gain (:mod:`voicecoach.audio.levels`) is computed
once, from the distinct sounds, and kept only where it is under 1: a few
"islands" around loud syllables. The mixer applies it inside ``render`` from
any frame: the mix, each stem and every live block alike, with no delay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from voicecoach.audio.levels import ATTACK, CHUNK, CONTEXT, H32, HOLD, knots, oversample, ramp
from voicecoach.common.arrays import scale_frames

__all__ = ["GainPlan", "envelope", "plan_gain", "region_gain"]

_MARGIN = HOLD + 2 * ATTACK + 2
"""Chunks around a limited chunk whose knots it can lower."""


def envelope(x: np.ndarray) -> np.ndarray:
    """Per frame of ``x`` (mono), the largest of ``|x|`` and its 4x
    interpolated values just after it: float32, from ``CONTEXT`` frames
    before ``x`` to as many after (silence around it)."""
    pad = np.zeros(len(x) + 4 * CONTEXT, dtype=np.float32)
    pad[2 * CONTEXT : 2 * CONTEXT + len(x)] = x
    n = len(x) + 2 * CONTEXT
    env = np.abs(pad[CONTEXT : CONTEXT + n])
    y, tmp = np.empty((2, n), dtype=np.float32)
    for h in H32:
        np.maximum(env, np.abs(oversample(pad, h, y, tmp)), out=env)
    return env


def region_gain(env: np.ndarray, ceiling: float) -> np.ndarray:
    """The limiter's gain per frame of ``env`` (an :func:`envelope`) for a
    region alone, its chunks counted from its first frame (an estimate of
    what the session's chunk grid gives, for measuring loudness)."""
    n = len(env)
    chunks = -(-n // CHUNK)
    peaks = np.zeros(chunks * CHUNK, dtype=np.float32)
    peaks[:n] = env
    peaks = peaks.reshape(chunks, CHUNK).max(axis=1)
    if peaks.max(initial=0.0) <= ceiling:
        return np.ones(n, dtype=np.float32)
    r = np.ones(chunks + 2 * _MARGIN)
    r[_MARGIN : _MARGIN + chunks] = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-30))
    k = knots(r)[_MARGIN - (HOLD + ATTACK - 1) :][: chunks + 1]
    g = ramp(k, np.empty(chunks * CHUNK), np.empty(chunks * CHUNK))
    return g[:n].astype(np.float32)


@dataclass(frozen=True)
class GainPlan:
    """Islands of limiter gain under 1; 1 everywhere else.

    Island ``i``'s knots, from its first chunk ``starts[i]``, are
    ``flat[offsets[i]:offsets[i + 1]]``: one flat array, as a long session
    has thousands of islands, each costing more as an array than its knots.
    """

    starts: np.ndarray  # int64, first chunk of each island
    ends: np.ndarray  # int64, first chunk after each island's last knot
    flat: np.ndarray  # float32, the knots of every island in turn
    offsets: np.ndarray  # int64, shape (len(starts) + 1,): where each island's knots begin

    @classmethod
    def of(cls, starts: np.ndarray, ends: np.ndarray, knots: Sequence[np.ndarray]) -> GainPlan:
        """A plan from each island's knots (float32 arrays)."""
        offsets = np.zeros(len(knots) + 1, np.int64)
        np.cumsum([len(k) for k in knots], out=offsets[1:])
        flat = np.concatenate(knots).astype(np.float32) if len(knots) else np.zeros(0, np.float32)
        return cls(np.asarray(starts, np.int64), np.asarray(ends, np.int64), flat, offsets)

    @property
    def knots(self) -> tuple[np.ndarray, ...]:
        """Each island's knots (views of :attr:`flat`)."""
        return tuple(self.flat[a:z] for a, z in pairwise(self.offsets.tolist()))

    @property
    def empty(self) -> bool:
        return not len(self.starts)

    def apply(self, out: np.ndarray, start: int, scratch: np.ndarray | None = None) -> None:
        """Multiply ``out`` (float32, ``(n, channels)``) holding frames from
        ``start``. With ``scratch`` (float32, ``2 * (n + 2 * CHUNK)``) for the
        gain, nothing is allocated (the audio callback's rule)."""
        n = len(out)
        if not n:
            return
        c_lo, c_hi = start // CHUNK, (start + n - 1) // CHUNK + 1
        lo = int(self.ends.searchsorted(c_lo, "right"))
        hi = int(self.starts.searchsorted(c_hi, "left"))
        for i in range(lo, hi):
            s = int(self.starts[i])
            k = self.flat[int(self.offsets[i]) : int(self.offsets[i + 1])]
            a = max(start, s * CHUNK)
            z = min(start + n, (s + len(k) - 1) * CHUNK)
            if a >= z:
                continue
            c0, c1 = a // CHUNK - s, (z - 1) // CHUNK - s + 1  # the island's chunks touched
            m = (c1 - c0) * CHUNK
            if scratch is None or len(scratch) < 2 * m:
                scratch = np.empty(2 * m, dtype=np.float32)
            g = ramp(k[c0 : c1 + 1], scratch[m : 2 * m], scratch[:m])
            skip = a - (s + c0) * CHUNK
            g = g[skip : skip + z - a]
            scale_frames(out[a - start : z - start], g)


def plan_gain(
    regions: dict[tuple, list[int]], envelope_of: Callable[[tuple], np.ndarray], scale: float, ceiling: float
) -> GainPlan:
    """The plan for regions (key -> starts) whose :func:`envelope` at gain 1
    is ``envelope_of(key)`` (asked for once per region), played at ``scale``."""
    chunks, gains = [], []
    for key, starts in regions.items():
        env = envelope_of(key)
        if env.max(initial=0.0) * scale <= ceiling:
            continue
        env = env * np.float32(scale)
        m = len(env)
        for a in starts:
            a0 = a - CONTEXT  # frame of env[0]
            c0, c1 = a0 // CHUNK, (a0 + m - 1) // CHUNK
            idx = np.arange(c0, c1 + 1) * CHUNK - a0
            idx[0] = 0
            peaks = np.maximum.reduceat(env, idx)
            over = np.flatnonzero(peaks > ceiling)
            if len(over):
                chunks.append(over + c0)
                gains.append(ceiling / peaks[over])
    if not chunks:
        return GainPlan.of(np.zeros(0, np.int64), np.zeros(0, np.int64), ())
    chunks_all = np.concatenate(chunks)
    order = np.argsort(chunks_all, kind="stable")
    chunks_all, r_all = chunks_all[order], np.concatenate(gains)[order]
    cut = np.flatnonzero(np.diff(chunks_all) > 2 * _MARGIN) + 1
    starts, ends, islands = [], [], []
    for cs, rs in zip(np.split(chunks_all, cut), np.split(r_all, cut), strict=True):
        base = int(cs[0]) - _MARGIN
        r = np.ones(int(cs[-1]) - base + _MARGIN + 1)
        np.minimum.at(r, cs - base, rs)
        # m[u] = min r[u - HOLD .. u + ATTACK]; K[c] = mean m[c - ATTACK + 1 .. c]
        k = knots(r)  # K at chunk base + HOLD + ATTACK - 1 + j
        first = base + HOLD + ATTACK - 1
        starts.append(first)
        ends.append(first + len(k))
        islands.append(k.astype(np.float32))
    return GainPlan.of(np.array(starts, np.int64), np.array(ends, np.int64), islands)
