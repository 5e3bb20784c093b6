"""Rendering ahead of the audio callback: the ring, going back for a command,
and what is reported as heard. The device here is a loop that asks for one
block per tick of its own clock; the render thread's turn is a call of fill."""

import threading

import numpy as np
import pytest

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.live.ahead import CHUNK, RenderAhead
from voicecoach.live.now_playing import now_playing
from voicecoach.live.player import Hooks, Player
from voicecoach.live.clips import make_clips
from voicecoach.live.transport import Transport
from voicecoach.plan.mix import Duck

SR = 8000
BLOCK = 256


class Device:
    """Takes ``BLOCK`` frames per tick from the ring, as PortAudio's callback would;
    the render thread gets its turn before each tick unless ``starve``d."""

    def __init__(self, ahead):
        self.ahead, self.blocks = ahead, []

    def tick(self, n=1, starve=False):
        for _ in range(n):
            if not starve:
                self.ahead.fill()
            out = np.full((BLOCK, self.ahead.t.mixer.channels), np.nan, np.float32)
            self.ahead.take(out)
            self.blocks.append(out)

    def heard(self):
        return np.concatenate(self.blocks)[:, 0]


def first_rep(tl):
    return next(s.start for s in tl.segments if s.kind == "concentric")


def test_a_command_is_heard_a_block_later_not_a_ring_later(session, full_mix):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    ahead = RenderAhead(t, latency=0.25, most=BLOCK)
    device = Device(ahead)
    device.tick(first_rep(tl) // BLOCK + 3)                  # into the first rep
    asked = ahead.read
    assert ahead.written - asked >= ahead.capacity - CHUNK   # the ring is full: 0.5 s rendered ahead
    t.request("pause")
    device.tick(100)
    [(applied, command)] = t.log
    assert command == "pause" and asked + BLOCK <= applied <= asked + BLOCK + CHUNK
    heard, mix = device.heard(), full_mix(mixer, tl)
    assert np.array_equal(heard[:applied], mix[:applied])   # what was kept, then the fade and "paused"
    ramp = 1 - np.arange(1, t.fade + 1, dtype=np.float32) / t.fade
    assert np.allclose(heard[applied:applied + t.fade], mix[applied:applied + t.fade] * ramp)
    said = applied + t.fade
    assert np.array_equal(heard[said:said + len(t.clips.paused)], t.clips.paused)
    assert ahead.late == 0


def test_what_is_reported_is_what_was_heard_not_what_was_rendered(session):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    ahead = RenderAhead(t, latency=0.25, most=BLOCK)
    device = Device(ahead)
    device.tick(first_rep(tl) // CHUNK * CHUNK // BLOCK + 8)   # on a boundary of the ring
    heard = ahead.read
    assert t.position - heard >= ahead.capacity - CHUNK - BLOCK      # rendered a ring ahead
    now = now_playing(t)
    assert now.position == heard - heard % CHUNK and now.state == "playing"
    t.request("skip")
    device.tick(1)                                            # rendered, not yet heard
    assert t.seeks == 1 and t.heard.seeks == 0 and now_playing(t).activity == "session"
    assert now_playing(t).position == heard
    device.tick(2 * CHUNK // BLOCK)                           # the skip reaches the ears
    assert now_playing(t).seeks == 1 and now_playing(t).activity == "skipping"


def test_a_starved_render_thread_leaves_silence_and_counts_it(session, full_mix):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    ahead = RenderAhead(t, latency=0.1, most=BLOCK)
    device = Device(ahead)
    device.tick(4)
    taken = ahead.written
    device.tick((taken - ahead.read) // BLOCK + 3, starve=True)   # the ring runs dry
    assert ahead.late == 3 and ahead.read == taken
    assert not device.heard()[taken:].any()
    device.tick(20)                                            # then goes on where it was
    heard = device.heard()
    gap = 3 * BLOCK
    assert np.array_equal(heard[taken + gap:], full_mix(mixer, tl)[taken:len(heard) - gap])


class Tone:
    """Music from one array: the feeder's two calls the transport uses (take, and
    rewind to a frame already taken)."""

    def __init__(self, frames):
        self.tone = (0.9 * np.sin(2 * np.pi * 110 * np.arange(frames) / SR)).astype(np.float32)
        self.taken = 0

    def pull(self, block):
        for c in range(block.shape[1]):
            block[:, c] = self.tone[self.taken:self.taken + len(block)]
        self.taken += len(block)

    def rewind(self, taken):
        self.taken = taken


def with_music(tl, tone_voice):
    mixer = Mixer(tl, {t: tone_voice(t) for t in tl.texts()}, make_sounds(SR), channels=2)
    clips = make_clips(tone_voice, make_sounds(SR), SR, sets=2)
    music = Tone(4 * tl.frames)
    bed = MusicBed(music.pull, DuckEnvelope(tl, Duck()), 1.0, 2, end=tl.frames)
    return Transport(mixer, tl, clips, bed=bed, music=music)


def test_going_back_renders_the_same_frames_again_music_and_limiter_included(session, tone_voice):
    tl = session[0]
    plain = with_music(tl, tone_voice)
    ref = np.zeros((30 * CHUNK, 2), np.float32)
    limited = 0
    for i in range(30):
        plain.render(ref[i * CHUNK:(i + 1) * CHUNK])
        limited += plain.limiter.gain.min() < 1.0
    t = with_music(tl, tone_voice)
    ahead = RenderAhead(t, latency=0.25, most=BLOCK)
    device = Device(ahead)
    for _ in range(6):
        device.tick(9)
        t.request("resume")                                   # while playing: changes nothing but goes back
    device.tick(30 * CHUNK // BLOCK - len(device.blocks))
    assert len(t.log) == 6 and ahead.late == 0
    assert limited >= 5                                       # the limiter was at work
    assert np.array_equal(np.concatenate(device.blocks), ref)


@pytest.mark.parametrize("key", ["n", "q"])
def test_the_device_thread_never_renders(session, fake_audio, key):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    renderers = set()
    t.fill = lambda out, fill=t.fill: renderers.add(threading.current_thread().name) or fill(out)
    audio = fake_audio()
    script = [None] * 10 + [key]
    hooks = Hooks(keys=lambda: script.pop(0) if script else None, clock=audio.clock, sleep=audio.sleep)
    result = Player(t, audio, hooks=hooks).run()
    assert renderers == {"voicecoach-render"}                   # the fake device calls back on this thread
    assert result.underruns == 0 and [c for _, c in result.commands] == ["skip" if key == "n" else "quit"]
    assert not any(th.name == "voicecoach-render" for th in threading.enumerate())
