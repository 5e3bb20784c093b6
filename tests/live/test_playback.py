"""play(): the live core on a recording fake device, with commands from another thread."""

import contextlib
import threading

import numpy as np
import pytest
import soundfile as sf

from voicecoach.audio.session import Session
from voicecoach.audio.sounds import make_sounds
from voicecoach.live.ahead import boundary
from voicecoach.live.playback import Hooks, PlayInterrupted, play
from voicecoach.live.player import BLOCKSIZE
from voicecoach.plan.preset_files import load_preset


SR = 8000          # the rate of the shared live session


class Bank:
    """The cue bank's one method play() uses: a phrase's samples (a tone as long as the text)."""

    def get(self, text):
        n = int((0.1 + 0.05 * len(text)) * SR)
        return (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / SR)).astype(np.float32)


@pytest.fixture(scope="module")
def live_session(session):
    tl, mixer, _ = session
    assert tl.samplerate == SR
    preset = load_preset("leg-lifts").with_overrides(sets=2, reps=3, rest=8)
    return Session(preset, tl, mixer, Bank(), make_sounds(SR))


def hooks_for(audio, **kw):
    return Hooks(clock=audio.clock, sleep=audio.sleep, **kw)


def test_plays_to_the_end_equal_to_the_mix(live_session, fake_audio, full_mix):
    audio = fake_audio()
    statuses = []
    result = play(live_session, audio, device=3, latency="high",
                  hooks=hooks_for(audio, status=lambda t: statuses.append(t.position)))
    tl = live_session.timeline
    assert result.completed and result.position == tl.frames and result.commands == []
    assert np.array_equal(audio.heard()[:tl.frames], full_mix(live_session.mixer, tl))
    assert audio.opened == [(SR, 1, 3, "high")]
    assert statuses == sorted(statuses) and len(statuses) > 10     # redrawn as it went


def test_a_control_on_another_thread_reaches_the_transport(live_session, fake_audio):
    audio = fake_audio()
    seen = []

    @contextlib.contextmanager
    def remote(transport):
        # what a desktop media-key service does: request from its own thread
        worker = threading.Thread(target=transport.request, args=("quit",))
        worker.start()
        worker.join()
        seen.append(transport)
        yield
        seen.append("left")

    result = play(live_session, audio, hooks=hooks_for(audio), controls=[remote])
    t = seen[0]
    assert seen[1] == "left"
    assert result.commands == [(0, "quit")] and not result.completed
    said = t.fade + len(t.clips.quit)                     # a 5 ms fade of the mix, then "quit"
    assert np.array_equal(audio.heard()[t.fade:said], t.clips.quit)
    assert not audio.heard()[said:].any()


def test_keys_from_the_hook_become_commands(live_session, fake_audio):
    audio = fake_audio()
    script = [None] * 5 + ["n"] + [None] * 5 + ["x", "Q"]        # unknown keys are ignored
    result = play(live_session, audio,
                  hooks=hooks_for(audio, keys=lambda: script.pop(0) if script else None))
    block = audio.per_sleep * audio.block                    # applied past what the device may take meanwhile
    assert result.commands == [(boundary(5 * block + BLOCKSIZE), "skip"), (boundary(12 * block + BLOCKSIZE), "quit")]


def test_ctrl_c_carries_how_far_it_got(live_session, fake_audio):
    audio = fake_audio(interrupt_after=80)
    with pytest.raises(PlayInterrupted) as caught:
        play(live_session, audio, hooks=hooks_for(audio))
    assert isinstance(caught.value, KeyboardInterrupt)
    got = caught.value.result
    assert not got.completed and got.position == 80 * audio.block
    assert audio.streams[0].closed


def test_an_interrupted_play_reports_its_jumps(live_session, fake_audio):
    polls = iter([None] * 20 + ["n"] + [None] * 20)

    def keys():
        key = next(polls, None)
        if key is None and audio.now > 3.0:
            raise KeyboardInterrupt
        return key

    audio = fake_audio()
    hooks = Hooks(keys=keys, clock=audio.clock, sleep=audio.sleep)
    with pytest.raises(PlayInterrupted) as caught:
        play(live_session, audio, hooks=hooks)
    [(src, dst)] = caught.value.result.jumps
    assert src < dst and caught.value.result.position >= dst


def test_a_device_gone_for_good_carries_how_far_it_got(live_session, fake_audio):
    from voicecoach.errors import AudioDeviceError
    from voicecoach.live.playback import DeviceLost
    audio = fake_audio(lose_after=60, refuse=1000)
    with pytest.raises(DeviceLost) as caught:
        play(live_session, audio, hooks=hooks_for(audio))
    assert isinstance(caught.value, AudioDeviceError) and "did not come back" in str(caught.value)
    got = caught.value.result
    assert not got.completed and got.position == 60 * audio.block


def test_music_is_fed_from_a_thread_that_stops_with_play(live_session, fake_audio, tmp_path):
    song = tmp_path / "song.wav"
    t = np.arange(2 * SR) / SR
    sf.write(song, (0.4 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), SR)
    audio = fake_audio()
    result = play(live_session, audio, music=live_session.music(song), hooks=hooks_for(audio))
    assert result.completed
    heard = audio.heard()[:SR // 2]       # the intro's first half second: music pre-decoded
    ref = np.zeros((SR // 2, 1), np.float32)
    live_session.mixer.render(ref, 0)
    assert np.abs(heard - ref[:, 0]).max() > 0.05          # there is music under the mix
    assert not any(th.name == "voicecoach-music" for th in threading.enumerate())
