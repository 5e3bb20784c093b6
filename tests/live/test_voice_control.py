"""Voice control with a fake recogniser, driven block by block: every spoken command
reaches the transport and is answered aloud, the question at a set's end holds the
timeline (live still equals the export around it), and counts are kept per set."""

import zlib
from dataclasses import dataclass

import numpy as np
import pytest

from voicecoach.audio.sounds import make_sounds
from voicecoach.live.mpris import PLAYER, PROPERTIES, MprisPlayer, Track
from voicecoach.live.now_playing import now_playing
from voicecoach.live.clips import make_clips
from voicecoach.live.transport import (
    LISTEN_SECONDS,
    Activity,
    Transport,
    TransportCommand,
    TransportState,
)
from voicecoach.live.voice_control import COMMANDS, VoiceControl

SR = 8000
BLOCK = 400


def voice(text):
    """A tone per text: different words make different clips ("8. Noted." is not "7. Noted.")."""
    n = int((0.1 + 0.05 * len(text)) * SR)
    f = 200 + 7 * (zlib.crc32(text.encode()) % 100)
    return (0.3 * np.sin(2 * np.pi * f * np.arange(n) / SR) * np.hanning(n)).astype(np.float32)


@dataclass(frozen=True)
class Said:
    """What the recogniser hands over (its intents are string enums)."""
    intent: str
    number: int | None = None
    everything: bool = False


class FakeListener:
    def __init__(self, on_heard, on_stopped, fail=None):
        self.on_heard, self.on_stopped, self.fail = on_heard, on_stopped, fail
        self.modes, self.closed, self.spans = [], False, []

    def __enter__(self):
        if self.fail:
            raise OSError(self.fail)
        return self

    def __exit__(self, *exc):
        self.closed = True

    def set_mode(self, mode):
        self.modes.append(mode)

    def sounded(self, start, end, share):
        self.spans.append((start, end, share))


@pytest.fixture(scope="module")
def clips():
    return make_clips(voice, make_sounds(SR), SR, sets=2, reps=10)   # counts confirmed up to 20


@pytest.fixture
def rig(session, clips):
    """A transport with voice control's clips, and the control on a fake recogniser,
    polled by the test (its own thread would wait an hour)."""
    tl, mixer, _ = session
    t = Transport(mixer, tl, clips)
    made = []

    def listener(on_heard, on_stopped, fail=None):
        made.append(FakeListener(on_heard, on_stopped, fail))
        return made[-1]
    control = VoiceControl(listener, poll_seconds=3600, clock=lambda: t.rendered / SR)(t)
    with control:
        yield t, control, made[0]
    assert made[0].closed


def play(t, control, frames):
    out = []
    for _ in range(-(-frames // BLOCK)):
        buf = np.zeros((BLOCK, 1), np.float32)
        t.render(buf)
        control.poll()
        out.append(buf[:, 0])
    return np.concatenate(out)


def play_to(t, control, frame):
    """Play until the timeline reaches ``frame`` (questions at set ends take their time)."""
    out = [play(t, control, BLOCK)]
    while t.position < frame or t.activity != Activity.SESSION:
        out.append(play(t, control, BLOCK))
    return np.concatenate(out)


def seg(tl, **kw):
    return next(s for s in tl.segments if all(getattr(s, k) == v for k, v in kw.items()))


def mix(t, start, end):
    ref = np.zeros((end - start, 1), np.float32)
    t.mixer.render(ref, start)
    return ref[:, 0]


def find(out, clip):
    """Where ``clip`` sits, exactly, in ``out`` (or -1)."""
    for i in np.flatnonzero(np.isclose(out, clip[np.argmax(np.abs(clip))], atol=1e-7)):
        at = i - np.argmax(np.abs(clip))
        if at >= 0 and np.allclose(out[at:at + len(clip)], clip, atol=1e-7):
            return int(at)
    return -1


@pytest.mark.parametrize("intent", sorted(COMMANDS))
def test_each_command_reaches_the_transport(rig, intent):
    t, control, _ = rig
    play(t, control, 3 * SR)
    control.heard(Said(intent))
    play(t, control, BLOCK)
    assert t.log[-1][1] == COMMANDS[intent]


def test_unknown_words_and_a_bare_number_unasked_do_nothing(rig):
    t, control, _ = rig
    play(t, control, 3 * SR)
    control.heard(Said("bogus"))
    control.heard(Said("number", 8))
    play(t, control, BLOCK)
    assert t.log == [] and control.answers == {}


def test_pause_and_go_on_by_voice_and_mpris_status_follows(rig, session):
    t, control, _ = rig
    tl = session[0]
    player = MprisPlayer(Track("Leg lifts", "leg-lifts", tl.frames, SR), t.request, lambda s: None)

    def status():
        player.update(now_playing(t))
        return player.call(PROPERTIES, "Get", (PLAYER, "PlaybackStatus"))[1][0][1]
    play(t, control, seg(tl, set=1, rep=2, kind="eccentric").start + SR // 10)
    assert status() == "Playing"
    control.heard(Said("pause"))
    out = play(t, control, len(t.clips.paused) + 2 * SR)
    assert t.state == TransportState.PAUSED and not out[-SR:].any()     # silent, and stays so
    assert find(out, t.clips.paused) >= 0                                # confirmed aloud
    assert status() == "Paused"
    control.heard(Said("resume"))
    out = play(t, control, SR)
    assert t.state == TransportState.PLAYING and status() == "Playing"
    assert find(out, t.clips.resume_rep[:SR // 2]) >= 0                  # back to the rep's start, counted in


def test_next_and_again_by_voice_announce_the_set(rig, session):
    t, control, _ = rig
    tl = session[0]
    play(t, control, seg(tl, set=1, rep=1, kind="top").start)
    control.heard(Said("next"))
    out = play(t, control, 2 * SR)
    assert find(out, t.clips.skip_to[2]) >= 0 and t.activity == Activity.ASKING   # set 1 left early: asked
    control.heard(Said("again"))
    out = play(t, control, 2 * SR)
    assert find(out, t.clips.restart[1][:SR]) >= 0                      # set 1 again: it was left early


def test_repeat_says_the_last_cue_again_then_goes_on(rig, session):
    t, control, _ = rig
    tl = session[0]
    rest = seg(tl, set=1, kind="rest")
    cue = [e for e in tl.events if e.kind == "speech" and rest.start <= e.frame < rest.end][0]
    play(t, control, cue.end + SR // 2)
    heard_at = t.position
    control.heard(Said("repeat"))
    out = play(t, control, cue.frames + 3 * SR)
    fade = t.fade
    assert np.allclose(out[fade:fade + cue.frames], mix(t, cue.frame, cue.end), atol=1e-7)   # the cue, as mixed
    after = out[fade + cue.frames:]                                      # then the rest goes on where it was
    assert np.allclose(after[:SR], mix(t, heard_at, heard_at + SR), atol=1e-7)
    assert t.activity == Activity.SESSION


@pytest.mark.parametrize("where, said", [
    ({"set": 1, "rep": 2, "kind": "concentric"}, ("left_reps", 2, "left_sets", 1)),   # rep 2 of 3, then a set
    ({"set": 1, "kind": "rest"}, ("left_sets", 1)),
    ({"set": 2, "rep": 3, "kind": "eccentric"}, ("left_reps", 1)),                   # the last rep of the last set
    ({"kind": "outro"}, ("left_none",)),
])
def test_how_many_left_is_spoken(rig, session, where, said):
    t, control, _ = rig
    tl = session[0]
    play_to(t, control, seg(tl, **where).start + SR // 5)
    control.heard(Said("left"))
    out = play(t, control, 4 * SR)
    names = [said[i:i + 2] if i + 1 < len(said) and isinstance(said[i + 1], int) else (said[i],)
             for i in range(len(said)) if isinstance(said[i], str)]
    at = t.fade
    for name in names:
        clip = getattr(t.clips, name[0])
        clip = clip[name[1]] if len(name) == 2 else clip
        assert find(out, clip) == at, name
        at += len(clip)


def asked_at_set_end(t, control, tl):
    """Play to just past set 1's end: the question comes, the timeline is held there."""
    end = t.set_ends[1]
    out = play(t, control, end + BLOCK)
    assert t.log[-1][1] == TransportCommand.ASK and t.asking == 1
    return out


def test_the_question_at_a_set_end_and_the_answer(rig, session):
    t, control, fake = rig
    tl = session[0]
    heard = asked_at_set_end(t, control, tl)
    out = np.concatenate([heard, play(t, control, len(t.clips.ask) + SR)])
    assert find(out, t.clips.ask) > t.set_ends[1] and t.activity == Activity.ASKING
    assert fake.modes == ["answer"]                                       # no wake word while it waits
    control.heard(Said("number", 8))
    out = play(t, control, len(t.clips.noted[8]) + 2 * SR)
    assert control.answers == {1: 8}
    at = find(out, t.clips.noted[8])                                      # "Eight. Noted."
    assert at >= 0 and find(out, t.clips.noted[7]) < 0
    after = out[at + len(t.clips.noted[8]):]                              # then the rest, from the set's end
    assert np.allclose(after[:SR], mix(t, t.set_ends[1], t.set_ends[1] + SR), atol=1e-7)
    assert fake.modes == ["answer", "commands"]
    assert heard[:t.set_ends[1]].any()


def test_live_equals_the_export_around_the_question_and_no_answer_keeps_none(rig, session, full_mix):
    t, control, fake = rig
    tl, mixer, _ = session
    out = asked_at_set_end(t, control, tl)
    ref = full_mix(mixer, tl)
    end = t.set_ends[1]
    assert np.array_equal(out[:end], ref[:end])                           # what was played, as exported
    n = len(t.clips.ask) + len(t._listen)
    out = np.concatenate([out, play(t, control, n + 3 * SR)])
    heard_from = len(out) - 3 * SR - n - BLOCK                            # the block the question came at
    k = heard_from + t.fade
    assert np.allclose(out[k:k + len(t.clips.ask)], t.clips.ask)          # the question,
    assert not out[k + len(t.clips.ask):k + n].any()                      # a held, silent wait,
    assert np.array_equal(out[k + n:k + n + 2 * SR], ref[end:end + 2 * SR])   # then the export from the set's end
    assert control.answers == {} and fake.modes == ["answer", "commands"]
    assert len(t._listen) == round(LISTEN_SECONDS * SR)


def test_a_correction_fixes_the_count(rig, session):
    t, control, _ = rig
    asked_at_set_end(t, control, session[0])
    control.heard(Said("number", 8))
    play(t, control, 3 * SR)
    control.heard(Said("correction", 7))
    out = play(t, control, 3 * SR)
    assert control.answers == {1: 7} and find(out, t.clips.noted[7]) >= 0


def test_all_and_none_are_counts(rig, session):
    t, control, _ = rig
    asked_at_set_end(t, control, session[0])
    control.heard(Said("number", None, everything=True))
    out = play(t, control, 3 * SR)
    assert control.answers == {1: None} and find(out, t.clips.noted_all) >= 0
    control.heard(Said("correction", 0))
    play(t, control, 3 * SR)
    assert control.answers == {1: 0}


def test_a_set_left_early_is_asked_about_after_the_skip(rig, session):
    t, control, fake = rig
    tl = session[0]
    play(t, control, seg(tl, set=1, rep=2, kind="top").start)
    control.heard(Said("next"))
    out = play(t, control, len(t.clips.skip_to[2]) + len(t.clips.ask) + SR)
    skip = find(out, t.clips.skip_to[2])
    assert skip >= 0 and find(out, t.clips.ask) == skip + len(t.clips.skip_to[2])
    control.heard(Said("number", 1))
    play(t, control, 3 * SR)
    assert control.answers == {1: 1}
    assert 1 in t.asked and t.set_ends[1] not in (j[1] for j in t.jumps)   # not asked again at its end


def test_no_microphone_says_once_that_listening_stopped(session, clips):
    tl, mixer, _ = session
    t = Transport(mixer, tl, clips)
    control = VoiceControl(lambda on_heard, on_stopped: FakeListener(on_heard, on_stopped, "no such device"),
                           poll_seconds=3600)(t)
    with control:
        out = play(t, control, 3 * SR)
        control.lost("again")
        out = np.concatenate([out, play(t, control, 3 * SR)])
    assert control.stopped == "no such device"
    assert [c for _, c in t.log] == [TransportCommand.DEAF]
    assert find(out, t.clips.deaf) >= 0


def test_a_count_beyond_the_confirmed_ones_is_noted_plainly(rig, session):
    t, control, _ = rig
    asked_at_set_end(t, control, session[0])
    control.heard(Said("number", 150))
    out = play(t, control, 3 * SR)
    assert control.answers == {1: 150}
    assert find(out, voice("Noted.")) >= 0


def test_the_listener_is_told_when_the_coach_is_heard(rig, session):
    """Each block handed out reaches the listener as a span of the clock, heard the
    output latency later, sounding when the session's own sound in it is: the
    spoken cues and ticks, not the silences between them."""
    t, control, fake = rig
    t.latency = 0.25
    out = play(t, control, 8 * SR)
    blocks = out.reshape(-1, BLOCK)
    assert len(fake.spans) == len(blocks)
    for i, ((start, end, share), block) in enumerate(zip(fake.spans, blocks, strict=True)):
        assert start == pytest.approx(i * BLOCK / SR + 0.25) and end == pytest.approx((i + 1) * BLOCK / SR + 0.25)
        assert share == (1.0 if np.mean(block**2) > 10 ** (-45 / 10) else 0.0), i
    shares = [share for _, _, share in fake.spans]
    assert 0 < sum(shares) < len(shares)  # the coach is heard, and not all the time


def test_while_paused_the_silence_is_told_too(rig, session):
    t, control, fake = rig
    play(t, control, SR)
    t.request("pause")
    fake.spans.clear()
    blocks = play(t, control, 6 * SR).reshape(-1, BLOCK)  # "Paused", then nothing
    silent = ~np.any(blocks, axis=1)
    assert silent[-SR // BLOCK:].all() and t.heard.state == TransportState.PAUSED
    shares = [share for _, _, share in fake.spans]
    assert shares == [float(np.mean(b**2) > 10 ** (-45 / 10)) for b in blocks] and 1.0 in shares
    assert not any(shares[-SR // BLOCK:])
