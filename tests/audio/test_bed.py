"""The music bed: the next frames of music, ducked by the timeline, at the
music level, added under the mix; fully ducked under a spoken interruption."""

import numpy as np
import pytest

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.plan.mix import Duck
from voicecoach.plan.timeline import Event, Segment, Timeline

SR = 8000
TL = Timeline("bed", SR, 4 * SR, (Segment("intro", 0, 4 * SR),),
              (Event(SR, "speech", SR, "Words"),))


class Counter:
    """Music whose every frame is its own index, on every channel."""

    def __init__(self):
        self.pos = 0

    def __call__(self, block):
        n = len(block)
        block[:] = np.arange(self.pos, self.pos + n, dtype=np.float32)[:, None]
        self.pos += n


def envelope(start, n, duck=Duck()):
    g = np.zeros(n, np.float32)
    DuckEnvelope(TL, duck).render(g, start)
    return g


@pytest.mark.parametrize("channels", [1, 2])
def test_add_puts_the_ducked_levelled_music_under_the_block_and_returns_it(channels):
    bed = MusicBed(Counter(), DuckEnvelope(TL, Duck()), 0.5, channels, block=64)
    out = np.full((3 * SR, channels), 0.25, np.float32)     # larger than its scratch buffer
    added = bed.add(out, 0).copy()
    want = np.arange(3 * SR, dtype=np.float32) * envelope(0, 3 * SR) * np.float32(0.5)
    np.testing.assert_allclose(added, np.repeat(want[:, None], channels, 1), rtol=1e-6)
    np.testing.assert_allclose(out, 0.25 + added, rtol=1e-6)
    assert added[SR + 100, 0] < added[SR - 2000, 0] * 0.5 * (SR + 100) / (SR - 2000)  # ducked


def test_under_a_spoken_interruption_the_music_stays_fully_ducked_and_keeps_going():
    duck = Duck(depth_db=20)
    bed = MusicBed(Counter(), DuckEnvelope(TL, duck), 2.0, 1, block=16)
    first = bed.music(10, None).copy()
    np.testing.assert_allclose(first[:, 0], np.arange(10) * np.float32(duck.gain) * 2.0, rtol=1e-6)
    second = bed.music(10, 0).copy()                 # the music goes on where it was
    np.testing.assert_allclose(second[:, 0], np.arange(10, 20) * envelope(0, 10) * 2.0, rtol=1e-6)
