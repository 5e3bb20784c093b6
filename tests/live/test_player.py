"""The player loop with a fake backend that records: no PortAudio needed."""

import numpy as np
import pytest

from voicecoach.errors import AudioDeviceError, InputError
from voicecoach.live.player import Device, Hooks, Player, parse_latency, resolve_device
from voicecoach.live.transport import Transport

def make_player(session, backend, keys=(), **kw):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    script = list(keys)
    notices = []
    hooks = Hooks(keys=lambda: script.pop(0) if script else None,
                  clock=backend.clock, sleep=backend.sleep, notice=notices.append)
    player = Player(t, backend, hooks=hooks, **kw)
    return t, player, notices


def test_plays_the_whole_session_sample_exact(session, full_mix, fake_audio):
    tl, mixer, _ = session
    backend = fake_audio()
    t, player, _ = make_player(session, backend)
    result = player.run()
    got = backend.heard()
    assert result.completed and result.underruns == 0
    assert np.array_equal(got[:tl.frames], full_mix(mixer, tl))
    assert backend.stops == ["CallbackStop"] and backend.streams[0].closed


def test_underflows_are_counted(session, fake_audio):
    backend = fake_audio(underflow_every=50)
    _, player, _ = make_player(session, backend)
    result = player.run()
    expected = sum(1 for i in range(len(backend.blocks)) if i % 50 == 1)
    assert expected > 0 and result.underruns == expected


def test_keys_pause_resume_skip_quit(session, fake_audio):
    backend = fake_audio()
    keys = [None] * 20 + [" "] + [None] * 10 + [" "] + [None] * 5 + ["n"] + [None] * 5 + ["q"]
    t, player, _ = make_player(session, backend, keys)
    result = player.run()
    assert [c for _, c in result.commands] == ["toggle", "toggle", "skip", "quit"]
    assert not result.completed


def test_device_lost_then_back_resumes_from_rep_start(session, full_mix, fake_audio):
    tl, mixer, clips = session
    backend = fake_audio(lose_after=200, refuse=2)
    t, player, notices = make_player(session, backend)
    result = player.run()
    assert result.completed and result.recoveries == 1
    assert backend.refreshes == 3 and len(backend.streams) == 2
    assert "lost" in notices[0] and "back" in notices[-1]
    lost_at = 200 * backend.block
    rep_start, in_rep = t.resume_point(lost_at)
    got = backend.heard()
    said = clips.recovered_rep if in_rep else clips.recovered
    lead = len(said)
    assert np.allclose(got[lost_at:lost_at + lead], said)
    ref = full_mix(mixer, tl)
    assert np.array_equal(got[lost_at + lead:lost_at + lead + tl.samplerate],
                          ref[rep_start:rep_start + tl.samplerate])


def test_device_never_comes_back_gives_up(session, fake_audio):
    backend = fake_audio(lose_after=50, refuse=10**6)
    _, player, _ = make_player(session, backend, recover_seconds=5)
    with pytest.raises(AudioDeviceError, match="did not come back within 5 s"):
        player.run()


def test_latency_parsing():
    assert parse_latency("high") == "high" and parse_latency("0.3") == 0.3
    for bad in ("fast", "0", "5"):
        with pytest.raises(InputError, match="--latency"):
            parse_latency(bad)


def test_keys_pause_skip_restart_and_quit(session, fake_audio):
    backend = fake_audio()
    keys = [None] * 20 + [" "] + [None] * 10 + ["p"] + [None] * 5 + ["n"] + [None] * 5 \
        + ["b"] + [None] * 5 + ["x", "Q"]
    _, player, _ = make_player(session, backend, keys)
    result = player.run()
    assert [c for _, c in result.commands] == ["toggle", "toggle", "skip", "restart", "quit"]


def test_the_end_plays_out_before_the_stream_closes(session, fake_audio):
    tl, _, clips = session
    backend = fake_audio()
    t, player, _ = make_player(session, backend, keys=[None] * 30 + ["q"])
    player.run()
    stream = backend.streams[0]
    assert stream.stopped and stream.closed and backend.stops == ["CallbackStop"]
    got = backend.heard()
    quit_at = next(frame for frame, c in t.log if c == "quit")
    said = got[quit_at + t.fade:quit_at + t.fade + len(clips.quit)]
    assert np.allclose(said, clips.quit)                 # the goodbye, whole
    # then silence for the latency and more: what a host API drops on stop is silence
    assert len(got) - (quit_at + t.fade + len(clips.quit)) >= round(0.3 * tl.samplerate)


def test_portaudio_messages_in_our_words():
    from voicecoach.live.player import in_our_words
    said = in_our_words(Exception("Error querying device -1"))
    assert "no output device" in said and "-1" not in said
    assert in_our_words(Exception("Device unavailable")) == "Device unavailable"


def test_device_resolution_by_index_or_name():
    devices = [Device(0, "HDA Intel PCH: ALC257 Analog", "ALSA", 2, 48000.0, True),
               Device(4, "pulse", "ALSA", 32, 44100.0, False),
               Device(5, "pulse monitor", "ALSA", 2, 44100.0, False)]
    assert resolve_device(None, devices) is None
    assert resolve_device("4", devices) == 4
    assert resolve_device("alc257", devices) == 0
    assert resolve_device("Pulse", devices) == 4            # the exact name wins over a substring
    for spec, fragment in (("7", "no output device with index 7"), ("usb", "no output device matches"),
                           ("puls", "matches several devices")):
        with pytest.raises(InputError, match=fragment):
            resolve_device(spec, devices)
    with pytest.raises(AudioDeviceError, match="no audio output device found"):
        resolve_device(None, [])
