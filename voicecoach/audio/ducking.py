"""Ducking: the music steps back while the coach speaks.

The timeline says when the voice comes, so the duck looks ahead: the music
goes down over ``attack`` seconds *before* each speech event, holds while it
speaks, and comes back over ``release`` seconds after (raised cosines, no
clicks). Like the mixer, the gain at a frame depends only on the timeline,
never on how a range is cut into blocks.
"""

from __future__ import annotations

import math

import numpy as np

from voicecoach.audio.mixer import merged_spans
from voicecoach.common.arrays import scale_frames
from voicecoach.common.numbers import is_int
from voicecoach.plan.kinds import EventKind
from voicecoach.plan.mix import Duck
from voicecoach.plan.timeline import Timeline

__all__ = ["VOICE_OVER_MUSIC_DB", "DuckEnvelope", "music_trim"]

VOICE_OVER_MUSIC_DB = 10.5
"""How far the ducked music is put under the voice while it speaks (K-weighted
energy over the speech): a duck by a fixed depth leaves a track mastered near
full scale almost as loud as the coach. Half a dB over the 10 dB promised:
the limiter takes more from the voice's peaks than from the music."""


def music_trim(voice: float, music: float) -> float:
    """The gain (at most 1) on the music that puts its ducked energy ``music``
    :data:`VOICE_OVER_MUSIC_DB` under the voice's ``voice``, over the same frames."""
    if voice <= 0.0 or music <= 0.0:
        return 1.0
    return min(1.0, math.sqrt(voice / music) * 10.0 ** (-VOICE_OVER_MUSIC_DB / 20.0))


class DuckEnvelope:
    """The music's gain over a session: 1.0 at full level, ``duck.gain`` under
    the voice (the timeline's speech events).

    Speech events that overlap or touch are merged into one interval. The gain
    is the minimum of the intervals' ramp-hold-ramp shapes: :meth:`render`
    writes the hold and takes ``np.minimum`` with slices of two ramp tables,
    so ramps of nearby intervals merge into one dip never below the depth.
    """

    def __init__(self, timeline: Timeline, duck: Duck):
        if not isinstance(timeline, Timeline):
            raise TypeError(f"timeline must be a Timeline, not {type(timeline).__name__}")
        if not isinstance(duck, Duck):
            raise TypeError(f"duck must be a Duck, not {type(duck).__name__}")
        self.samplerate = int(timeline.samplerate)
        self.depth = np.float32(duck.gain)
        self.attack = round(duck.attack * self.samplerate)
        self.release = round(duck.release * self.samplerate)

        speech = [e for e in timeline.events if e.kind == EventKind.SPEECH and e.frames > 0]
        starts = np.array([e.frame for e in speech], dtype=np.int64)
        frames = np.array([e.frames for e in speech], dtype=np.int64)
        self.starts, self.ends = merged_spans(starts, starts + frames, join=1)  # touching ones merge too
        self._from = self.starts - self.attack  # where each duck begins to act
        self._to = self.ends + self.release  # where it stops acting

        d = 1.0 - float(self.depth)
        x = np.arange(self.attack, dtype=np.float64) / max(self.attack, 1)
        self._down = (self.depth + d * 0.5 * (1.0 + np.cos(np.pi * x))).astype(np.float32)
        """Attack ramp: 1.0 at ``start - attack``, approaching the depth at ``start``."""
        x = np.arange(self.release, dtype=np.float64) / max(self.release, 1)
        self._up = (self.depth + d * 0.5 * (1.0 - np.cos(np.pi * x))).astype(np.float32)
        """Release ramp: the depth at ``end``, approaching 1.0 at ``end + release``."""
        self._scratch = np.empty(0, dtype=np.float32)
        self.touched = 0
        """Intervals the last :meth:`render` looked at (instrumentation for tests)."""

    def render(self, out: np.ndarray, start: int) -> None:
        """Fill ``out`` (float32, ``(n,)``) with the gain of frames ``[start,
        start + n)``; ``start`` may be negative or past the session."""
        if not isinstance(out, np.ndarray) or out.dtype != np.float32:
            raise TypeError("out must be a float32 numpy.ndarray")
        if out.ndim != 1 or not out.flags.writeable:
            raise ValueError(f"out must be writeable with shape (n,), not {out.shape}")
        if not is_int(start):
            raise TypeError(f"start must be an int, not {type(start).__name__}")
        start = int(start)
        stop = start + out.shape[0]
        out.fill(1.0)
        lo = int(self._to.searchsorted(start, "right"))  # first duck still acting at start
        hi = int(self._from.searchsorted(stop, "left"))  # ducks acting before stop
        self.touched = max(0, hi - lo)
        for s, e in zip(self.starts[lo:hi].tolist(), self.ends[lo:hi].tolist(), strict=True):
            a, z = max(s - self.attack, start), min(s, stop)  # attack ramp
            if a < z:
                seg = out[a - start : z - start]
                np.minimum(seg, self._down[a - (s - self.attack) : z - (s - self.attack)], out=seg)
            a, z = max(s, start), min(e, stop)  # hold
            if a < z:
                out[a - start : z - start] = self.depth
            a, z = max(e, start), min(e + self.release, stop)  # release ramp
            if a < z:
                seg = out[a - start : z - start]
                np.minimum(seg, self._up[a - e : z - e], out=seg)

    def apply(self, block: np.ndarray, start: int) -> None:
        """Multiply ``block`` (float32, ``(n, channels)``) by the gain, in place,
        through a scratch buffer: a steady block size allocates nothing."""
        if not isinstance(block, np.ndarray) or block.dtype != np.float32 or block.ndim != 2:
            raise TypeError("block must be a float32 numpy.ndarray of shape (n, channels)")
        n = block.shape[0]
        if len(self._scratch) < n:
            self._scratch = np.empty(n, dtype=np.float32)
        gain = self._scratch[:n]
        self.render(gain, start)
        scale_frames(block, gain)
