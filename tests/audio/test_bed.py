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


QUIET = Timeline("quiet", SR, 4 * SR, (Segment("intro", 0, 4 * SR),), ())


class Ones:
    """Music at a steady 1.0, so what comes out is the bed's gain curve."""

    def __call__(self, block):
        block[:] = 1.0


def end_curve(frames, end, n):
    """The expected end fade: 1 before it, a raised cosine that is 0 on the
    last frame, silence from ``end`` on."""
    t = np.asarray(frames, dtype=np.float64)
    x = (t - (end - n) + 1) / n
    g = np.where(t < end - n, 1.0, 0.5 + 0.5 * np.cos(np.pi * np.clip(x, 0, 1)))
    return np.where(t >= end, 0.0, g)


@pytest.mark.parametrize("block", [SR // 3, 1000, 5 * SR])
def test_the_music_fades_out_smoothly_over_the_last_second_and_is_silent_from_the_end(block):
    """A listener hears the music die away over the session's last second, not
    cut off with a click, whatever block size the player or export uses; it
    is exactly 0 on the last frame and stays silent after the session."""
    end = 4 * SR
    bed = MusicBed(Ones(), DuckEnvelope(QUIET, Duck()), 0.5, 2, block=64, end=end)
    total = 5 * SR
    got = np.concatenate([bed.music(min(block, total - s), s)[:, 0].copy()
                          for s in range(0, total, block)])
    want = 0.5 * end_curve(np.arange(total), end, SR)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.all(got[: end - SR] == np.float32(0.5))         # untouched before the fade
    assert got[end - SR] < 0.5 and got[end - SR] > 0.4999     # the fade starts at once, gently
    assert got[end - 1] == 0.0 and got[end - 2] > 0.0          # reaches exactly 0 on the last frame
    assert np.all(got[end:] == 0.0)
    assert np.all(np.diff(got[end - SR - 1:end]) <= 0)         # only ever goes down
    assert np.max(np.abs(np.diff(got))) < 2.0 / SR             # no step anywhere: no click


def test_the_gain_curve_has_its_values_at_known_frames():
    """Half-way through the last second the music is at half level, a quarter
    of the way in at 0.85: the fade is a raised cosine, the same live and exported."""
    end = 3 * SR
    bed = MusicBed(Ones(), DuckEnvelope(QUIET, Duck()), 1.0, 1, end=end)
    f = end - SR
    for frame, gain in [(f - 1, 1.0), (f + SR // 2 - 1, 0.5), (f + SR // 4 - 1, 0.5 + 0.5 * np.cos(np.pi / 4)),
                        (end - 1, 0.0), (end, 0.0), (end + 10, 0.0)]:
        assert bed.music(1, frame)[0, 0] == pytest.approx(gain, abs=1e-6), frame


def test_a_session_shorter_than_the_fade_fades_over_the_whole_session():
    """A half-second session still starts at full music and ends at exactly 0."""
    end = SR // 2
    bed = MusicBed(Ones(), DuckEnvelope(QUIET, Duck()), 1.0, 1, end=end)
    got = bed.music(SR, 0)[:, 0].copy()
    np.testing.assert_allclose(got, end_curve(np.arange(SR), end, end), atol=1e-6)
    assert got[0] > 0.99999 and got[end - 1] == 0.0 and np.all(got[end:] == 0.0)


def test_without_an_end_the_music_never_fades():
    """A bed with no session end (open-ended live play) keeps the music at level."""
    bed = MusicBed(Ones(), DuckEnvelope(QUIET, Duck()), 0.5, 1)
    assert np.all(bed.music(2 * SR, 3 * SR) == np.float32(0.5))


@pytest.mark.parametrize("end", [1, 2, 3])
def test_even_a_session_of_a_few_frames_ends_in_silence(end):
    """However short the fade has to be, its last frame is exactly 0."""
    bed = MusicBed(Ones(), DuckEnvelope(QUIET, Duck()), 1.0, 1, end=end)
    got = bed.music(8, 0)[:, 0].copy()
    np.testing.assert_allclose(got, end_curve(np.arange(8), end, end), atol=1e-6)
    assert got[end - 1] == 0.0 and not got[end:].any()
