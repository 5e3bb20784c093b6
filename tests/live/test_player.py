"""The player loop with a fake backend that records: no PortAudio needed."""

import types

import numpy as np
import pytest

from voicecoach.errors import AudioDeviceError, InputError
from voicecoach.live.player import Player, parse_latency
from voicecoach.live.transport import Transport

BLOCK = 512
OK = types.SimpleNamespace(output_underflow=False)
UNDERFLOW = types.SimpleNamespace(output_underflow=True)


class FakeStream:
    def __init__(self, backend, callback, finished, channels):
        self.backend, self.callback, self.finished = backend, callback, finished
        self.channels = channels
        self.active = True
        self.latency = 0.01
        self.closed = False

    def pump(self, n):
        """What PortAudio does: ask the callback for blocks."""
        for _ in range(n):
            if not self.active:
                return
            out = np.full((BLOCK, self.channels), np.nan, np.float32)   # garbage in, must be overwritten
            status = UNDERFLOW if self.backend.underflow_every and \
                len(self.backend.blocks) % self.backend.underflow_every == 1 else OK
            try:
                self.callback(out, BLOCK, None, status)
            except Exception as exc:            # CallbackStop
                self.active = False
                self.backend.stops.append(type(exc).__name__)
            assert not np.isnan(out).any()
            self.backend.blocks.append(out[:, 0].copy())
            if self.backend.lose_after is not None and len(self.backend.blocks) == self.backend.lose_after:
                self.active = False
                self.finished()
                return

    def abort(self):
        self.active = False

    def stop(self):
        self.active = False
        self.stopped = True

    def close(self):
        self.closed = True


class FakeBackend:
    def __init__(self, lose_after=None, refuse=0, underflow_every=0):
        self.blocks, self.stops, self.streams, self.opened = [], [], [], []
        self.lose_after, self.refuse, self.underflow_every = lose_after, refuse, underflow_every
        self.refreshes = 0

    def open(self, *, samplerate, channels, device, latency, callback, finished):
        self.opened.append((samplerate, channels, device, latency))
        if len(self.streams) and self.refuse > 0:
            self.refuse -= 1
            raise AudioDeviceError("no device")
        stream = FakeStream(self, callback, finished, channels)
        self.streams.append(stream)
        if len(self.streams) > 1:
            self.lose_after = None
        return stream

    def refresh(self):
        self.refreshes += 1


class Clock:
    def __init__(self, backend, per_sleep=8):
        self.now = 0.0
        self.backend = backend
        self.per_sleep = per_sleep

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        if self.backend.streams:
            self.backend.streams[-1].pump(self.per_sleep)


def make_player(session, backend, keys=(), **kw):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    script = list(keys)
    clock = Clock(backend)
    notices = []
    player = Player(t, backend, keys=lambda: script.pop(0) if script else None,
                    clock=clock, sleep=clock.sleep, notice=notices.append, **kw)
    return t, player, notices


def test_plays_the_whole_session_sample_exact(session, full_mix):
    tl, mixer, _ = session
    backend = FakeBackend()
    t, player, _ = make_player(session, backend)
    result = player.run()
    got = np.concatenate(backend.blocks)
    assert result.completed and result.underruns == 0
    assert np.array_equal(got[:tl.frames], full_mix(mixer, tl))
    assert backend.stops == ["CallbackStop"] and backend.streams[0].closed


def test_underflows_are_counted(session):
    backend = FakeBackend(underflow_every=50)
    _, player, _ = make_player(session, backend)
    result = player.run()
    expected = sum(1 for i in range(len(backend.blocks)) if i % 50 == 1)
    assert expected > 0 and result.underruns == expected


def test_keys_pause_resume_skip_quit(session):
    backend = FakeBackend()
    keys = [None] * 20 + [" "] + [None] * 10 + [" "] + [None] * 5 + ["n"] + [None] * 5 + ["q"]
    t, player, _ = make_player(session, backend, keys)
    result = player.run()
    assert [c for _, c in result.commands] == ["toggle", "toggle", "skip", "quit"]
    assert not result.completed


def test_device_lost_then_back_resumes_from_rep_start(session, full_mix):
    tl, mixer, clips = session
    backend = FakeBackend(lose_after=200, refuse=2)
    t, player, notices = make_player(session, backend)
    result = player.run()
    assert result.completed and result.recoveries == 1
    assert backend.refreshes == 3 and len(backend.streams) == 2
    assert "lost" in notices[0] and "back" in notices[-1]
    lost_at = 200 * BLOCK
    rep_start, in_rep = t.resume_point(lost_at)
    got = np.concatenate(backend.blocks)
    said = clips.recovered_rep if in_rep else clips.recovered
    lead = len(said)
    assert np.allclose(got[lost_at:lost_at + lead], said)
    ref = full_mix(mixer, tl)
    assert np.array_equal(got[lost_at + lead:lost_at + lead + tl.samplerate],
                          ref[rep_start:rep_start + tl.samplerate])


def test_device_never_comes_back_gives_up(session):
    backend = FakeBackend(lose_after=50, refuse=10**6)
    _, player, _ = make_player(session, backend, recover_seconds=5)
    with pytest.raises(AudioDeviceError, match="did not come back within 5 s"):
        player.run()


def test_latency_parsing():
    assert parse_latency("high") == "high" and parse_latency("0.3") == 0.3
    for bad in ("fast", "0", "5"):
        with pytest.raises(InputError, match="--latency"):
            parse_latency(bad)


class RecordingControl:
    """A control that records its life and presses stop on its tenth tick."""

    def __init__(self):
        self.events, self.seen = [], []

    def attach(self, send):
        self.send = send
        self.events.append("attach")

    def tick(self, now):
        self.seen.append(now)
        if len(self.seen) == 10:
            self.send("quit")

    def detach(self):
        self.events.append("detach")


def test_controls_share_the_keys_seam_and_see_the_state(session):
    backend = FakeBackend()
    control = RecordingControl()
    _, player, _ = make_player(session, backend, controls=[control])
    result = player.run()
    assert not result.completed and [c for _, c in result.commands] == ["quit"]
    assert control.events == ["attach", "detach"]
    assert control.seen[-1].quitting and control.seen[-1].phase == "stopping"


def test_the_end_plays_out_before_the_stream_closes(session):
    tl, _, clips = session
    backend = FakeBackend()
    control = RecordingControl()
    t, player, _ = make_player(session, backend, controls=[control])
    player.run()
    stream = backend.streams[0]
    assert stream.stopped and stream.closed and backend.stops == ["CallbackStop"]
    got = np.concatenate(backend.blocks)
    quit_at = next(frame for frame, c in t.log if c == "quit")
    said = got[quit_at + t.fade:quit_at + t.fade + len(clips.quit)]
    assert np.allclose(said, clips.quit)                 # the goodbye, whole


def test_portaudio_messages_in_our_words():
    from voicecoach.live.player import in_our_words
    said = in_our_words(Exception("Error querying device -1"))
    assert "no output device" in said and "-1" not in said
    assert in_our_words(Exception("Device unavailable")) == "Device unavailable"
