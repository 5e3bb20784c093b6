"""The player's logic, driven block by block without any audio device."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.common.decibels import gain
from voicecoach.live.clips import Clips, make_clips
from voicecoach.live.transport import (
    MUSIC_FADE_SECONDS,
    Activity,
    Transport,
    TransportCommand,
    TransportState,
)
from voicecoach.plan.kinds import COUNT_IN
from voicecoach.plan.mix import Duck

SR = 8000     # the rate of the shared session fixture (tests/live/conftest.py)


def decibels(amplitude):
    return 20.0 * math.log10(amplitude)


def play(t, blocks):
    out = []
    for n in blocks:
        buf = np.zeros((n, 1), np.float32)
        t.render(buf)
        out.append(buf)
    return np.concatenate(out)[:, 0]


def seg(tl, **kw):
    return next(s for s in tl.segments if all(getattr(s, k) == v for k, v in kw.items()))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=30))
def test_uninterrupted_play_equals_the_export_whatever_the_blocks(session, full_mix, sizes):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    blocks = (sizes * (tl.frames // sum(sizes) + 2))
    got = play(t, blocks)
    ref = full_mix(mixer, tl)
    assert np.array_equal(got[:tl.frames], ref)
    assert not got[tl.frames:].any()               # silence after the end
    assert t.finished and t.rendered == sum(blocks)


def test_stops_exactly_at_the_last_frame(session):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    play(t, [tl.frames - 1])
    assert not t.finished
    play(t, [1])
    assert t.position == tl.frames
    play(t, [1])
    assert t.finished


def _paused_then_silent(t, clips, out):
    """The fade, the whole pause message, the music's tail, then true silence."""
    k = t.fade + len(clips.paused)
    assert np.allclose(out[t.fade:k], clips.paused)
    assert not out[k:].any()


def test_pause_in_a_rep_resumes_from_its_start_with_a_count_in(session, full_mix):
    tl, mixer, clips = session
    rep2 = seg(tl, set=1, rep=2, kind="concentric")
    middle = seg(tl, set=1, rep=2, kind="eccentric").start + 100
    t = Transport(mixer, tl, clips)
    before = play(t, [middle])
    t.request("pause")
    paused = play(t, [t.fade + len(clips.paused) + 5000])
    assert t.state == TransportState.PAUSED and t.position == rep2.start and t.seeks == 1
    _paused_then_silent(t, clips, paused)
    ramp = paused[:t.fade]                         # short, from the level we were at, to zero
    assert abs(ramp[-1]) < 1e-3
    t.request(TransportCommand.RESUME)
    lead = len(clips.resume_rep)
    after = play(t, [SR // 2])
    assert t.activity == Activity.COUNT_IN          # the status line follows the count-in
    after = np.concatenate([after, play(t, [lead - SR // 2 + SR])])
    assert np.allclose(after[:lead], clips.resume_rep)
    ref = full_mix(mixer, tl)
    assert np.array_equal(after[lead:], ref[rep2.start:rep2.start + SR])
    assert np.array_equal(before, ref[:middle])
    assert t.activity == Activity.SESSION


@pytest.mark.parametrize("which, pause, resume", [(1, "toggle", "toggle"),
                                                   (0, "pause", "resume")])
def test_pause_in_the_intro_resumes_at_the_cut_phrase_without_a_count_in(
        session, full_mix, which, pause, resume):
    """A phrase of the intro cut mid-word is said again whole, after "carrying
    on" and no count-in; the session's very first words (phrase 0) too."""
    tl, mixer, clips = session
    phrase = [e for e in tl.events if e.kind == "speech"][which]
    assert tl.segment_at(phrase.frame).kind == "intro"
    t = Transport(mixer, tl, clips)
    play(t, [phrase.frame + phrase.frames // 2])                  # mid-word
    t.request(pause)
    play(t, [t.fade + len(clips.paused) + SR])
    assert t.position == phrase.frame
    t.request(resume)
    after = play(t, [len(clips.resume) + SR])
    assert np.allclose(after[:len(clips.resume)], clips.resume)  # "carrying on", no count-in
    ref = full_mix(mixer, tl)
    assert np.array_equal(after[len(clips.resume):], ref[phrase.frame:phrase.frame + SR])
    assert len(clips.resume) < SR                                  # no "three, two, one" in it


def test_pause_in_a_rest_goes_back_to_the_cut_phrase_and_keeps_one_count_in(session, full_mix):
    tl, mixer, clips = session
    rest = seg(tl, kind="rest")
    announce = next(e for e in tl.events if e.kind == "speech" and e.text.startswith("Next up"))
    ref = full_mix(mixer, tl)
    t = Transport(mixer, tl, clips)
    play(t, [announce.frame + 1000])
    t.request("pause")
    play(t, [t.fade + len(clips.paused) + SR])
    assert t.position == announce.frame
    t.request("resume")
    after = play(t, [len(clips.resume_rest) + SR])
    n = len(clips.resume_rest)
    assert np.allclose(after[:n], clips.resume_rest)              # "back to your rest"
    assert np.array_equal(after[n:], ref[announce.frame:announce.frame + SR])
    # paused inside the rest's closing count-in: the whole count-in again, once
    t = Transport(mixer, tl, clips)
    play(t, [rest.end - SR - 10])                                  # at "one"
    t.request("pause")
    play(t, [t.fade + len(clips.paused) + SR])
    assert t.position == rest.end - 3 * SR


def test_skip_in_a_set_names_the_next_set_then_its_count_in(session, full_mix):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    first_rep_set2 = seg(tl, set=2, kind="concentric")
    play(t, [tl.segments[5].start + 10])
    t.request("skip")
    k = t.fade + len(clips.skip_to[2])
    out = play(t, [k + 3 * SR])
    assert t.position == first_rep_set2.start
    assert np.allclose(out[t.fade:k], clips.skip_to[2])
    assert t.jumps == [(tl.segments[5].start + 10, first_rep_set2.start - 3 * SR)]
    ref = full_mix(mixer, tl)
    assert np.array_equal(out[k:], ref[first_rep_set2.start - 3 * SR:first_rep_set2.start])
    # the announcement ends with a gap before "three"
    words = np.flatnonzero(np.abs(clips.skip_to[2]) > 1e-4)
    assert len(clips.skip_to[2]) - words[-1] >= SR // 2


def test_skip_in_the_last_set_goes_to_the_outro_and_quit_ends(session):
    tl, mixer, clips = session
    outro = tl.segments[-1]
    t = Transport(mixer, tl, clips)
    last_rep = seg(tl, set=2, rep=3)
    play(t, [last_rep.start])
    t.request("skip")
    out = play(t, [t.fade + len(clips.skip_end) + 100])
    assert t.position == outro.start + 100
    assert np.allclose(out[t.fade:t.fade + len(clips.skip_end)], clips.skip_end)
    t.request("quit")
    out = play(t, [SR // 4])
    assert t.activity == Activity.STOPPING
    out = np.concatenate([out, play(t, [4 * SR])])
    assert t.finished and t.quit_requested
    n = len(clips.quit)
    assert np.allclose(out[t.fade:t.fade + n], clips.quit)          # the whole message
    assert not out[t.fade + n:].any()


def test_restart_goes_back_to_the_count_in_of_the_current_set(session, full_mix):
    tl, mixer, clips = session
    first = seg(tl, set=2, kind="concentric")
    t = Transport(mixer, tl, clips)
    play(t, [seg(tl, set=2, rep=3).start + 50])
    t.request(TransportCommand.RESTART)
    k = t.fade + len(clips.restart[2])
    out = play(t, [k + 3 * SR])
    assert np.allclose(out[t.fade:k], clips.restart[2])
    ref = full_mix(mixer, tl)
    assert np.array_equal(out[k:], ref[first.start - 3 * SR:first.start])
    assert t.restart_target(10) == (0, None)                     # before any set: the top


def test_toggle_and_unknown_command(session):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    play(t, [SR * 3])
    t.request("toggle")
    play(t, [10])
    assert t.state == "paused"
    t.request("toggle")
    play(t, [10])
    assert t.state == "playing"
    with pytest.raises(ValueError):
        t.request("rewind")
    with pytest.raises(TypeError, match="Clips"):
        Transport(mixer, tl, {})


def test_recover_in_a_rep_restarts_it_with_a_count_in(session):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    rep = [s for s in tl.segments if s.set == 1 and s.rep == 3]
    play(t, [rep[1].start + 50])
    t.request("recover")
    out = play(t, [len(clips.recovered_rep) + 100])
    assert np.allclose(out[:len(clips.recovered_rep)], clips.recovered_rep)
    assert t.position == rep[0].start + 100


def test_clips_have_count_in_and_name_every_set(session, tone_voice):
    speech_clip = tone_voice
    _, _, clips = session
    assert isinstance(clips, Clips) and len(clips.skip_to) == 3 and len(clips.restart) == 3
    assert len(clips.resume_rep) % SR == 0 and len(clips.resume_rep) >= 4 * SR
    said = []
    make_clips(lambda text: said.append(text) or speech_clip(text), make_sounds(SR), SR, sets=2)
    assert {"Skipping to set 2 of 2.", "From the top of set 1.", "Back to your rest.",
            "Back to the start of this rep.", "Stopping here. Well done."} <= set(said)


# ------------------------------------------------------- levels of the messages

def _loud(x):
    """Peak of the speech in ``x`` (the test voice is a steady tone)."""
    return float(np.max(np.abs(x)))


def test_messages_use_the_session_voice_and_tick_levels(session, tone_voice):
    """--voice-volume -12 --tick-volume -10: the player's words and count-in
    ticks sound exactly as loud as the session's own."""
    speech_clip = tone_voice
    tl, _, _ = session
    sounds = make_sounds(SR)
    mixer = Mixer(tl, {t: speech_clip(t) for t in tl.texts()}, sounds,
                  levels={"voice": gain(-12), "ticks": gain(-10)})
    clips = make_clips(speech_clip, sounds, SR, sets=2, voice_gain=mixer.bus_gain("voice"),
                       tick_gain=mixer.bus_gain("ticks"))
    louder = mixer.with_master(2.0)                  # the loudness gain is in the bus gains too
    assert louder.bus_gain("voice") == pytest.approx(2.0 * mixer.bus_gain("voice"))
    ref = np.zeros((tl.frames, 1), np.float32)
    mixer.render(ref, 0)
    lift = next(e for e in tl.events if e.text == "Breathe out and lift")
    session_voice = _loud(ref[lift.frame:lift.end, 0])
    ticks = np.zeros((tl.frames, 1), np.float32)
    mixer.render(ticks, 0, bus="ticks")
    tick = next(e for e in tl.events if e.kind == "tick")
    session_tick = _loud(ticks[tick.frame:tick.end, 0])

    t = Transport(mixer, tl, clips)
    play(t, [lift.frame + 100])
    t.request("pause")
    heard = play(t, [t.fade + len(clips.paused) + SR])[t.fade:]
    assert abs(decibels(_loud(heard)) - decibels(session_voice)) < 0.5
    t.request("resume")
    heard = play(t, [len(clips.resume_rep)])
    beat0 = len(clips.resume_rep) - 3 * SR
    tick_heard = heard[beat0:beat0 + len(sounds["tick"])]
    word = np.asarray(speech_clip("Three"))[:len(tick_heard)] * np.float32(mixer.bus_gain("voice"))
    assert abs(decibels(_loud(tick_heard - word)) - decibels(session_tick)) < 0.5


# ------------------------------------------------------------------ the music

def _tone_bed(tl, end=None):
    """A steady tone as music, so steps and fades are easy to see."""
    phase = [0]

    def pull(block):
        n = len(block)
        k = np.arange(phase[0], phase[0] + n)
        block[:, 0] = 0.5 * np.sin(2 * np.pi * 110 * k / SR)
        phase[0] += n
    return MusicBed(pull, DuckEnvelope(tl, Duck()), 1.0, 1, end=end)


def test_music_stays_ducked_under_messages_and_fades_around_a_pause(session):
    tl, mixer, clips = session
    rest = seg(tl, kind="rest")
    at = rest.start + 2 * SR + 300                   # between phrases: music at full level
    t = Transport(mixer, tl, clips, bed=_tone_bed(tl))
    play(t, [at])
    d = t.ahead                                      # the limiter reads this far ahead
    t.request("pause")
    n = d + t.fade + len(clips.paused)
    tail = round(MUSIC_FADE_SECONDS * SR)
    out = play(t, [n + tail + SR])
    music = out[d + t.fade:n] - t.clips.paused
    assert np.max(np.abs(music)) <= 0.5 * Duck().gain * 1.01     # ducked under the message
    fading = out[n:n + tail]
    assert np.max(np.abs(fading[-SR // 100:])) < 0.01               # faded to nothing...
    assert np.max(np.abs(np.diff(out[n - 1:n + tail + 1]))) < 0.05  # ...without a step
    assert not out[n + tail:].any()                                  # silent while paused
    d = t.ahead
    t.request("resume")
    out = play(t, [d + len(clips.resume_rest)])[d:]
    said = t.clips.resume_rest
    assert abs(out[0]) < 0.01 and np.max(np.abs(np.diff(out[:SR // 10] - said[:SR // 10]))) < 0.05


def test_music_fades_out_at_the_end_of_the_session_and_after_quit(session):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips, bed=_tone_bed(tl, end=tl.frames))
    out = play(t, [tl.frames + t.limiter.delay + 100])
    assert t.finished
    d = t.limiter.delay
    assert np.max(np.abs(out[d + tl.frames - 10:])) < 1e-3              # no click at the end
    assert np.max(np.abs(out[d + tl.frames - 2 * SR:d + tl.frames - SR])) > 0.1   # music was there
    t = Transport(mixer, tl, clips, bed=_tone_bed(tl, end=tl.frames))
    play(t, [seg(tl, kind="rest").start + 3 * SR])
    d = t.ahead
    t.request("quit")
    out = play(t, [d + 4 * SR])
    n = d + t.fade + len(clips.quit) + round(MUSIC_FADE_SECONDS * SR)
    assert t.finished
    assert np.max(np.abs(out[n - 10:n])) < 1e-2 and not out[n:].any()


# ---- the count-in clips: words, order and timing against the beat

def labelled_speech(seconds=0.3):
    """Each text is a constant clip whose value names it, so a mix can be read back."""
    values = {}

    def speech(text):
        value = values.setdefault(text, 0.01 * (len(values) + 1))
        return np.full(round(seconds * SR), value, np.float32)
    speech.values = values
    return speech


TICK = np.full(40, 0.5, np.float32)


@pytest.mark.parametrize("name, phrase", [("resume_rep", "player_resume_rep"),
                                          ("recovered_rep", "player_recovered_rep")])
@pytest.mark.parametrize("head_seconds", [0.3, 0.74, 0.76, 1.9])
def test_count_in_clip_says_its_words_then_three_two_one_on_the_beat(name, phrase,
                                                                     head_seconds):
    from voicecoach.plan.phrases import default_phrases
    speech = labelled_speech(head_seconds)
    clip = getattr(make_clips(speech, {"tick": TICK}, SR), name)
    head_text = default_phrases().variants(phrase)[0]
    head = round(head_seconds * SR)
    v = speech.values
    assert np.all(clip[:head] == v[head_text])               # the words first, alone
    beat0 = len(clip) - 3 * SR
    assert beat0 % SR == 0                                    # the count lands on whole seconds
    assert head + SR // 4 <= beat0 < head + SR // 4 + SR      # after a breath, not on the words
    assert not clip[head:beat0].any()
    word_len = min(head, SR)               # every text lasts head_seconds here
    for i, word in enumerate(("Three", "Two", "One")):
        at = beat0 + i * SR
        assert np.allclose(clip[at:at + len(TICK)], TICK + v[word])   # a tick on each count
        assert np.all(clip[at + len(TICK):at + word_len] == v[word])
        assert not clip[at + word_len:at + SR].any()


def test_resume_while_playing_changes_nothing(session, full_mix):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    first = play(t, [3 * SR])
    t.request("resume")
    rest = play(t, [2 * SR])
    ref = full_mix(mixer, tl)
    assert np.array_equal(np.concatenate([first, rest]), ref[:5 * SR])


def test_rep_start_is_the_reps_first_frame_inside_a_rep_and_the_frame_itself_elsewhere(session):
    """After an interruption the player goes back to where the rep began; in
    the get-ready, a rest or past the end there is no rep to go back to, so
    the position is kept as it is (never lost, never moved)."""
    from voicecoach.plan.kinds import REP_KINDS
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    reps = {}
    for s in tl.segments:
        if s.kind in REP_KINDS:
            reps.setdefault((s.set, s.rep, s.side), []).append(s)
    assert len(reps) == 6
    for phases in reps.values():
        first = phases[0].start
        for s in phases:
            for f in (s.start, s.start + s.frames // 2, s.end - 1):
                assert t.rep_start(f) == first, (s, f)
                assert t.resume_point(f) == (first, True)
    for kind in ("get_ready", "rest", "intro"):
        for s in (s for s in tl.segments if s.kind == kind):
            for f in (s.start, s.start + s.frames // 2, s.end - 1):
                assert t.rep_start(f) == f, (s, f)
    assert t.rep_start(0) == 0
    assert t.rep_start(tl.frames - 1) == tl.frames - 1


def test_with_music_it_also_stops_exactly_at_the_last_frame(session):
    """With music the limiter reads ahead, yet the session is over on its last
    frame, not a block later: the player closes the stream on time."""
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips, bed=_tone_bed(tl, end=tl.frames))
    play(t, [tl.frames - 1])
    assert not t.finished
    play(t, [1])
    assert t.finished and t.rendered == tl.frames


def test_the_limiter_stays_the_same_distance_ahead_through_the_end_of_the_session(session):
    # a command takes effect `ahead` frames on: after the last sound the
    # limiter still reads silence ahead, and the distance holds
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips, bed=_tone_bed(tl, end=tl.frames))
    play(t, [tl.frames - 4 * 1024])
    distances = []
    for _ in range(12):
        play(t, [1024])
        distances.append(t.ahead)
    assert t.finished and min(distances) >= t.limiter.delay - 1024
    assert max(distances) - min(distances) < 1024 + 64


def test_a_players_message_says_the_preferred_of_its_variants():
    from voicecoach.plan.phrases import PhraseBook, default_phrases
    book = PhraseBook({**default_phrases().entries,
                       "player_paused": ["Paused, first choice.", "Paused."]})
    said = []
    make_clips(lambda text: said.append(text) or np.zeros(10, np.float32), make_sounds(SR), SR,
               book, sets=2)
    assert "Paused, first choice." in said and "Paused." not in said


def test_resuming_in_a_rest_goes_back_to_the_cut_phrase_and_only_to_one_being_said(session):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    rest = seg(tl, kind="rest")
    said = [e for e in tl.events if e.kind == "speech" and rest.start <= e.frame
            and e.frame + e.frames < rest.end - COUNT_IN * SR]
    first, second = said[0], said[1]
    assert first.frame + first.frames < second.frame      # silence between them
    inside = first.frame + first.frames // 2
    between = (first.frame + first.frames + second.frame) // 2
    assert t.resume_point(inside) == (first.frame, False)   # the cut phrase again, whole
    assert t.resume_point(between) == (between, False)      # nothing was cut: right there


def test_a_sessions_clips_announce_a_skip_to_each_of_its_sets(session):
    from types import SimpleNamespace

    from voicecoach.live.clips import session_clips
    tl, mixer, _ = session
    said = []
    prepared = SimpleNamespace(timeline=tl, mixer=mixer, sounds=make_sounds(SR), phrases=None,
                               bank=SimpleNamespace(get=lambda text: said.append(text)
                                                    or np.full(4800, 0.1, np.float32)))
    clips = session_clips(prepared)
    assert len(clips.skip_to) == 3 and len(clips.skip_to[0]) == 0    # sets 1 and 2
    assert "Skipping to set 2 of 2." in said and "From the top of set 2." in said


def test_music_stays_ducked_while_a_message_cut_by_a_pause_fades(session):
    # silent messages, so what is heard is the music alone
    tl, mixer, _ = session
    quiet = make_clips(lambda text: np.zeros(SR, np.float32), make_sounds(SR), SR, sets=2)
    t = Transport(mixer, tl, quiet, bed=_tone_bed(tl))
    play(t, [seg(tl, kind="rest").start + 2 * SR + 300])     # between phrases: music at full level
    d = t.ahead
    t.request("skip")                                         # "Skipping to set 2 of 2"...
    play(t, [d + SR // 4])
    d = t.ahead
    t.request("pause")                                        # ...cut a quarter second in
    out = play(t, [d + t.fade])
    assert np.max(np.abs(out[:d])) > 0.5 * Duck().gain * 0.9        # ducked under the message
    assert np.max(np.abs(out[d:])) <= 0.5 * Duck().gain * 1.01      # and still while it fades
