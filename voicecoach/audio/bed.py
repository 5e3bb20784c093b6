"""The music bed: the user's music under the coach, ducked by the timeline.

It adds to blocks the mixer (or the live transport) filled the next frames
of music, times the duck envelope and the music level; the limiter comes
after, on the whole render. Export reads the music stream directly; live
play takes it from a :class:`~voicecoach.live.music_feed.MusicFeeder` that a
background thread fills, so nothing is decoded in the callback.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.common.arrays import scale_frames

#: A source of music: fills a float32 (n, channels) block with its next frames.
Pull = Callable[[np.ndarray], object]

END_FADE_SECONDS = 1.0
"""The music fades out over the session's last second (no click at the end)."""


class MusicBed:
    """Adds ducked, levelled music to mixed blocks.

    ``pull(block)`` fills ``block`` (float32, ``(n, channels)``) with the next
    frames of music (``MusicStream.read_into`` for export, ``MusicFeeder.take``
    live); ``level`` is the music's linear gain. With ``end`` (the session's
    length) the music fades out over the :data:`END_FADE_SECONDS` before it
    and is silent from it on, live and in the export alike.
    """

    def __init__(
        self,
        pull: Pull,
        envelope: DuckEnvelope,
        level: float,
        channels: int,
        block: int = 65536,
        end: int | None = None,
    ):
        self.pull = pull
        self.envelope = envelope
        self.level = np.float32(level)
        self.channels = channels
        self._music = np.zeros((block, channels), dtype=np.float32)  # grown once for a larger block
        n = min(end, round(END_FADE_SECONDS * envelope.samplerate)) if end is not None else 0
        x = np.arange(1, n + 1, dtype=np.float64) / max(n, 1)
        self._end_ramp = (0.5 + 0.5 * np.cos(np.pi * x)).astype(np.float32)  # reaches 0 at end
        self._fade = (end - n, end) if end is not None else None  # where it fades, and ends

    def music(self, n: int, start: int | None) -> np.ndarray:
        """The next ``n`` frames of music as they sound under the session at
        timeline frame ``start`` (None: under a spoken interruption, ducked
        all through). A view of a scratch buffer, valid until the next call.
        """
        if len(self._music) < n:
            self._music = np.zeros((n, self.channels), dtype=np.float32)
        m = self._music[:n]
        self.pull(m)
        if start is None:
            m *= self.envelope.depth * self.level
            return m
        self.envelope.apply(m, start)
        m *= self.level
        if self._fade is not None and start + n > self._fade[0]:  # the end fade, then silence
            f, end = self._fade
            a, z = max(start, f), min(start + n, end)
            if a < z:
                scale_frames(m[a - start : z - start], self._end_ramp[a - f : z - f])
            if start + n > end:
                m[max(end - start, 0) :] = 0.0
        return m

    def add(self, out: np.ndarray, start: int | None) -> np.ndarray:
        """Add the music to ``out`` (float32, ``(n, channels)``) and return
        the music added (for the music stem)."""
        m = self.music(len(out), start)
        out += m
        return m
