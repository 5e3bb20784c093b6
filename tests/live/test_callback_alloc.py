"""The audio callback allocates nothing in steady state and only copies: the
render thread's work (music, ducking, the running limiter, before and after a
pause and a skip) is done between the callbacks here, outside what is measured."""

import tracemalloc
from types import SimpleNamespace

import numpy as np

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.live.player import Player
from voicecoach.live.clips import make_clips
from voicecoach.live.transport import Transport
from voicecoach.plan.mix import Duck

SR = 8000
BLOCK = 1024


def _loud_stereo_bed(tl):
    """A loud steady tone as music, read from one array (the source itself allocates nothing)."""
    tone = (0.9 * np.sin(2 * np.pi * 110 * np.arange(4 * tl.frames) / SR)).astype(np.float32)
    at = [0]

    def pull(block):
        for c in range(block.shape[1]):
            block[:, c] = tone[at[0]:at[0] + len(block)]
        at[0] += len(block)
    return MusicBed(pull, DuckEnvelope(tl, Duck()), 1.0, 2, end=tl.frames)


def test_the_callback_allocates_nothing_with_music_ducking_and_the_limiter(session, tone_voice):
    tl = session[0]
    mixer = Mixer(tl, {t: tone_voice(t) for t in tl.texts()}, make_sounds(SR), channels=2)
    clips = make_clips(tone_voice, make_sounds(SR), SR, sets=2)
    t = Transport(mixer, tl, clips, bed=_loud_stereo_bed(tl))
    player = Player(t, backend=None)
    outdata = np.zeros((BLOCK, 2), np.float32)
    ok = SimpleNamespace(output_underflow=False)

    rendered = []
    t.fill = lambda out, fill=t.fill: rendered.append(len(out)) or fill(out)
    kept = [0]

    def blocks(n):
        """The most the callback held at once, beyond what was, over ``n`` blocks;
        what it kept adds up in ``kept``."""
        peak = 0
        for _ in range(n):
            player.ahead.fill()                # the render thread's turn
            heard = len(rendered)
            held = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            player._callback(outdata, BLOCK, None, ok)
            now, most = tracemalloc.get_traced_memory()
            peak, kept[0] = max(peak, most - held), kept[0] + now - held
            assert len(rendered) == heard      # the callback rendered nothing
        return peak

    def steady(n):
        """The callback's peak over ``n`` blocks after the one a command takes effect in."""
        blocks(1)
        return blocks(n)

    def play_through_commands():
        peaks = [steady(60)]
        for command, n in (("pause", 30), ("resume", 60), ("skip", 60)):
            t.request(command)
            peaks.append(steady(n))
        return peaks

    tracemalloc.start()
    try:
        play_through_commands()               # warm-up: every path once, scratch sized
        kept[0] = 0
        peaks = play_through_commands()
    finally:
        tracemalloc.stop()
    assert not t.finished and player.ahead.late == 0
    assert [c for _, c in t.log] == ["pause", "resume", "skip"] * 2
    # Nothing near a block's size (8 kB) held even for a moment, nothing kept:
    # the callback only copies out of the ring and publishes the mark heard.
    assert max(peaks) < 4096 and kept[0] < 1024, (peaks, kept)
    limited = 0
    for _ in range(50):                       # the limiter was at work, not idle
        blocks(1)
        limited += t.limiter.gain.min() < 1.0
    assert limited >= 10
