"""The music bed: the user's music under the coach, ducked by the timeline.

One object adds music to blocks that the mixer (or the live transport) has
already filled: the next frames of music, times the duck envelope at the
block's timeline position, times the music level. The limiter is not here:
it is the last stage of the whole render (:mod:`voicecoach.audio.levels`),
after the loudness gain. Export reads the music stream
directly; live play takes it from a :class:`~voicecoach.live.music_feed.MusicFeeder`
that a background thread fills, so nothing is decoded in the callback.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from voicecoach.audio.ducking import DuckEnvelope

#: A source of music: fills a float32 (n, channels) block with its next frames.
Pull = Callable[[np.ndarray], object]


class MusicBed:
    """Adds ducked, levelled music to mixed blocks.

    Parameters
    ----------
    pull : callable
        ``pull(block)`` fills ``block`` (float32, ``(n, channels)``) with the
        next frames of music: ``MusicStream.read_into`` for export,
        ``MusicFeeder.take`` live.
    envelope : DuckEnvelope
        The session's ducking, from its timeline.
    level : float
        Linear gain of the music.
    channels : int
    block : int
        Largest block expected; a larger one grows the scratch buffer once.
    """

    def __init__(self, pull: Pull, envelope: DuckEnvelope, level: float, channels: int,
                 block: int = 65536):
        self.pull = pull
        self.envelope = envelope
        self.level = np.float32(level)
        self.ducked = np.float32(envelope.duck.gain)
        self.channels = channels
        self._music = np.zeros((block, channels), dtype=np.float32)

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
            m *= self.ducked * self.level
        else:
            self.envelope.apply(m, start)
            m *= self.level
        return m

    def add(self, out: np.ndarray, start: int | None) -> np.ndarray:
        """Add the music to ``out`` (float32, ``(n, channels)``) and return
        the music added (for the music stem)."""
        m = self.music(len(out), start)
        out += m
        return m
