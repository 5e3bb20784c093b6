"""``voicecoach play`` in-process: real speech, the real player and transport,
a recording fake audio device, scripted keys; assertions on what was heard."""

import contextlib
import json
import signal
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from fake_play import Keys, ctrl_c, playing, signal_self
from running import hangup_handled, run_in

from voicecoach.live.ahead import boundary
from voicecoach.live.player import BLOCKSIZE
from voicecoach.live.transport import FADE_SECONDS

SR = 48000
FADE = round(FADE_SECONDS * SR)


class Watch:
    """A remote control that only keeps the transport it is given."""

    def __init__(self):
        self.transport = None
        self.left = False

    @contextlib.contextmanager
    def __call__(self, transport):
        self.transport = transport
        try:
            yield
        finally:
            self.left = True


@pytest.fixture
def audio(fake_audio):
    return fake_audio()


@pytest.fixture
def watch():
    return Watch()


@pytest.fixture
def env(env, cue_cache, audio, watch):
    """The shared test environment with the fake device, its clock, no keys."""
    return playing(env, audio, cache_dir=cue_cache, controls=(watch,))


@pytest.fixture
def reference(run, short, tmp_path):
    """The export of the same session as 32-bit float, read back by libsndfile."""
    out = tmp_path / "ref.wav"
    assert run("export", str(short), "--float", "-o", str(out)).code == 0
    data, rate = sf.read(out, dtype="float32")
    assert rate == SR
    return data


def last_logged(run):
    return json.loads(run("history", "--json").out)[-1]


def block_of(poll, audio):
    """The frame where a key read at poll number ``poll`` takes effect: past the
    block the device may be taking from the ring meanwhile."""
    return boundary(poll * audio.per_sleep * audio.block + BLOCKSIZE)


def test_the_plan_the_tests_rely_on(run, short):
    plan = json.loads(run("timeline", str(short), "--json").out)
    lifts = [(s["set"], s["rep"], s["start"]) for s in plan["segments"] if s["kind"] == "concentric"]
    assert lifts[0] == (1, 1, 10 * SR) and lifts[2] == (2, 1, 21 * SR)
    rest = next(s for s in plan["segments"] if s["kind"] == "rest")
    assert (rest["start"], rest["frames"]) == (16 * SR, 5 * SR) and plan["frames"] == 31 * SR


def test_a_finished_session_sounds_like_the_export_and_is_logged(run, short, audio, reference, watch):
    r = run("play", str(short))
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["Short test: finished; underruns: 0",
                                  "Log your perfect reps later: voicecoach log short 2 2"]
    assert r.err == ""                                  # no terminal: no status line
    heard = audio.heard()
    assert len(heard) >= len(reference)
    assert np.array_equal(heard[:len(reference)], reference)   # live == export, sample for sample
    assert not heard[len(reference):].any()
    assert audio.opened == [(SR, 1, None, 0.2)] and audio.streams[0].closed
    assert audio.stops == ["CallbackStop"]
    assert watch.transport.log == [] and watch.left
    logged = last_logged(run)
    assert logged["completed"] and logged["preset"] == "short"
    assert [(s["planned"], s["perfect"]) for s in logged["sets"]] == [(2, None), (2, None)]


def test_underruns_device_and_latency_reach_the_output(run, env, short, fake_audio, tmp_path):
    flaky = fake_audio(underflow_every=100)
    r = run_in(playing(env, flaky), "play", str(short),
               "--device", "headphones", "--latency", "0.05")
    assert r.code == 0, r.err
    expected = sum(1 for i in range(len(flaky.blocks)) if i % 100 == 1)
    assert expected > 0 and f"finished; underruns: {expected}" in r.out
    assert flaky.opened == [(SR, 1, 3, 0.05)]


def test_a_bad_device_is_one_line_exit_2_before_any_sound(run, short, audio, watch):
    r = run("play", str(short), "--device", "usb")
    assert r.code == 2 and r.out == ""
    assert r.err == ("voicecoach: error: --device: no output device matches 'usb' "
                     "(have: 'Fake speakers', 'Fake headphones')\n")
    assert audio.opened == [] and watch.transport is None


def test_no_device_at_all_is_exit_1(run, env, short, fake_audio):
    r = run_in(playing(env, fake_audio(devices=[])), "play", str(short))
    assert r.code == 1
    assert r.err == ("voicecoach: error: no audio output device found; "
                    "try 'voicecoach export' to make a file\n")


def test_pause_and_resume_from_the_start_of_the_rep(env, run, short, audio, reference, watch):
    keys = Keys(p120=" ", p170=" ")                   # 10.24 s (rep 1 of set 1) and 4.3 s later
    tty = playing(env, audio, keys, answers="\n\n")
    code, out, err = run_in(tty, "play", str(short))
    assert code == 0, err
    paused, resumed = block_of(120, audio), block_of(170, audio)
    t = watch.transport
    assert t.log == [(paused, "toggle"), (resumed, "toggle")]
    heard = audio.heard()
    # until the key, the session; then a 5 ms fade of it
    assert np.array_equal(heard[:paused], reference[:paused])
    ramp = 1 - np.arange(1, FADE + 1, dtype=np.float32) / FADE
    assert np.allclose(heard[paused:paused + FADE], reference[paused:paused + FADE] * ramp)
    # "paused", then silence until the second key
    said = paused + FADE + len(t.clips.paused)
    assert np.array_equal(heard[paused + FADE:said], t.clips.paused)
    assert said < resumed and not heard[said:resumed].any()
    # the lead-in with its count-in, then the interrupted rep from its start
    lead = resumed + len(t.clips.resume_rep)
    assert np.array_equal(heard[resumed:lead], t.clips.resume_rep)
    rep_start = 10 * SR
    assert np.array_equal(heard[lead:lead + (31 * SR - rep_start)], reference[rep_start:])
    # the status line said so, in place, and the reps were asked for
    assert "\r\x1b[Kset 1/2  rep 1/2  PAUSED" in err
    assert keys.opened == [True] and keys.closed == 1
    assert "Set 2 of 2: perfect reps [2]: " in err
    assert "Logged 4 perfect reps (2 2)." in out and "Short test: finished" in out


def test_skip_in_the_rest_goes_to_the_count_in_of_the_next_set(env, short, audio, reference, watch):
    keys = Keys(p200="n")                               # 17.07 s: in the rest
    code, out, err = run_in(replace(env, keys=keys), "play", str(short))
    assert code == 0, err
    pressed = block_of(200, audio)
    t = watch.transport
    assert t.log == [(pressed, "skip")]
    heard = audio.heard()
    assert np.array_equal(heard[:pressed], reference[:pressed])
    spoken = pressed + FADE + len(t.clips.skip_to[2])       # "Skipping to set 2 of 2.", a gap
    assert np.array_equal(heard[pressed + FADE:spoken], t.clips.skip_to[2])
    count_in = 21 * SR - 3 * SR
    assert np.array_equal(heard[spoken:spoken + 31 * SR - count_in], reference[count_in:])
    assert "Short test: finished" in out


def test_quit_before_the_first_rep_is_done_logs_nothing(env, run, short, audio, watch):
    keys = Keys(p120="q")
    code, out, err = run_in(replace(env, keys=keys), "play", str(short))
    assert code == 0, err
    t = watch.transport
    pressed = block_of(120, audio)
    assert t.log == [(pressed, "quit")]
    heard = audio.heard()
    said = pressed + FADE + len(t.clips.quit)
    assert np.array_equal(heard[pressed + FADE:said], t.clips.quit)
    # then silence: the music's fade time, the latency and a margin, so nothing is cut
    assert not heard[said:].any() and len(heard) < said + round(0.8 * SR) + 2 * audio.block
    assert out == ("Short test: stopped at 0:10.3; underruns: 0\n"
                   "Nothing logged: not one rep was played.\n")   # not a training day
    assert json.loads(run("history", "--json").out) == []


@pytest.mark.parametrize("how", ["device", "keys"])
def test_ctrl_c_is_130_and_logs_the_sets_done(env, run, short, fake_audio, watch, how):
    audio = fake_audio(interrupt_after=1600 if how == "device" else None)   # 17.07 s: in the rest
    keys = Keys(p200=ctrl_c) if how == "keys" else Keys()
    code, out, err = run_in(playing(env, audio, keys), "play", str(short))
    assert code == 130
    assert err == "voicecoach: interrupted\n"
    assert out == "Log your perfect reps later: voicecoach log short 2\n"    # the set that was done
    assert audio.streams[0].closed and watch.left and keys.closed == 1
    assert len(audio.blocks) == 1600
    logged = last_logged(run)
    assert not logged["completed"] and [(s["planned"], s["perfect"]) for s in logged["sets"]] == [(2, None)]
    assert (logged["stopped_set"], logged["stopped_rep"]) == (2, 0)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signals_leave_debris_term_and_hup_during_play(env, run, short, fake_audio, watch, sig, code):
    """A real signal to this process mid-play ends it as Ctrl-C does, with its own status."""
    audio = fake_audio()
    keys = Keys(p199=signal_self(sig))
    with hangup_handled():
        before = signal.getsignal(sig)
        code_, out, err = run_in(playing(env, audio, keys), "play", str(short))
        assert signal.getsignal(sig) == before != signal.SIG_IGN     # put back as it was
    assert code_ == code
    assert err == f"voicecoach: stopped by {signal.Signals(sig).name}\n"
    assert audio.streams[0].closed and watch.left and keys.closed == 1
    assert not last_logged(run)["completed"]


def test_a_lost_device_that_comes_back_resumes_the_rep(env, short, fake_audio, reference, watch):
    audio = fake_audio(lose_after=1000, refuse=2)           # lost at 10.67 s, in rep 1
    code, out, err = run_in(playing(env, audio), "play", str(short))
    assert code == 0, err
    assert err.splitlines() == [
        "voicecoach: audio device lost; waiting for it to come back...",
        "voicecoach: audio device back; resuming from the start of the rep"]
    assert out.startswith("Short test: finished; underruns: 0; device recovered 1x\n")
    assert audio.refreshes == 3 and len(audio.streams) == 2 and all(s.closed for s in audio.streams)
    lost = 1000 * audio.block
    heard = audio.heard()
    assert np.array_equal(heard[:lost], reference[:lost])
    clip = watch.transport.clips.recovered_rep
    assert np.array_equal(heard[lost:lost + len(clip)], clip)
    rep_start = 10 * SR
    assert np.array_equal(heard[lost + len(clip):lost + len(clip) + 31 * SR - rep_start],
                          reference[rep_start:])


def test_a_device_lost_for_good_is_exit_1_with_one_clear_line(env, run, short, fake_audio):
    audio = fake_audio(lose_after=1000, refuse=10**6)
    code, out, err = run_in(playing(env, audio), "play", str(short))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == "voicecoach: audio device lost; waiting for it to come back..."
    assert lines[1:] == ["voicecoach: error: the audio device went away and did not come back "
                         "within 30 s (no device)"]
    assert audio.refreshes >= 30 and all(s.closed for s in audio.streams)


def test_the_reps_are_asked_for_at_a_terminal(env, run, short, audio):
    tty = playing(env, audio, answers="-1\n3\n\n")
    code, out, err = run_in(tty, "play", str(short))
    assert code == 0, err
    assert "Set 1 of 2: perfect reps [2]: " in err
    assert "set 1: perfect reps cannot be negative, got -1" in err
    lines = out.splitlines()
    assert lines[1] == "Logged 5 perfect reps (3 2)." and lines[2].startswith("Next session: ")
    assert [s["perfect"] for s in last_logged(run)["sets"]] == [3, 2]     # more than planned: kept


def test_end_of_input_at_the_prompt_leaves_the_session_unlogged(env, run, short, audio):
    code, out, err = run_in(playing(env, audio, answers=""), "play", str(short))
    assert code == 0, err
    assert "Logged" not in out
    assert [s["perfect"] for s in last_logged(run)["sets"]] == [None, None]


def test_music_is_laid_under_play_as_under_the_export(run, env, short, audio, tmp_path):
    song = tmp_path / "song.wav"
    t = np.arange(4 * SR) / SR
    sf.write(song, (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SR, subtype="FLOAT")
    out = tmp_path / "with-music.wav"
    assert run("export", str(short), "--float", "--music", str(song), "-o", str(out)).code == 0
    exported, _ = sf.read(out, dtype="float32")
    r = run("play", str(short), "--music", str(song))
    assert r.code == 0, r.err
    # the first seconds of music are decoded before the stream opens: deterministic
    heard = audio.heard()[:2 * SR]
    assert np.abs(heard).max() > 0.05                  # the music is there under the intro
    assert np.allclose(heard, exported[:2 * SR], atol=1e-6)


def test_a_missing_music_file_is_exit_2_before_any_sound(run, short, audio, tmp_path):
    r = run("play", str(short), "--music", str(tmp_path / "nope.mp3"))
    assert r.code == 2 and audio.opened == []
    assert len(r.err.splitlines()) == 1 and "nope.mp3" in r.err


def test_a_session_bus_that_does_not_answer_leaves_play_as_before(env, short, audio, monkeypatch):
    """A desktop whose bus is gone (or --no-mpris): the session plays, nothing is said
    about it; the MPRIS note is only for --debug."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/voicecoach-test-bus")
    for extra in ([], ["--no-mpris"]):
        code, out, err = run_in(env, "play", str(short), *extra)
        assert code == 0 and err == "" and out.startswith("Short test: finished")
    code, out, err = run_in(env, "--debug", "play", str(short))
    assert code == 0 and "voicecoach: debug: MPRIS off" in err
