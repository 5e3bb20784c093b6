"""The player's logic, driven block by block without any audio device."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.audio.sounds import make_sounds
from voicecoach.live.transport import CLIP_NAMES, Transport, make_clips

SR = 8000     # the rate of the shared session fixture (tests/live/conftest.py)


def play(t, blocks):
    out = []
    for n in blocks:
        buf = np.zeros((n, 1), np.float32)
        t.render(buf)
        out.append(buf)
    return np.concatenate(out)[:, 0]


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


def test_pause_resumes_from_the_start_of_the_rep_with_a_lead_in(session, full_mix):
    tl, mixer, clips = session
    rep2 = [s for s in tl.segments if s.set == 1 and s.rep == 2]
    middle = rep2[2].start + 100                     # inside the eccentric of rep 2
    t = Transport(mixer, tl, clips)
    before = play(t, [middle])
    d = t.ahead                  # commands act on the frames the limiter reads ahead
    t.request("pause")
    paused = play(t, [d + t.fade + len(clips["paused"]) + 5000])
    assert t.state == "paused" and t.position == rep2[0].start
    assert np.allclose(paused[d + t.fade:d + t.fade + len(clips["paused"])], clips["paused"])
    assert not paused[d + t.fade + len(clips["paused"]):].any()      # silence while paused
    # the fade-out is short, starts at the level we were at and ends at zero
    ramp = paused[d:d + t.fade]
    assert abs(ramp[-1]) < 1e-3
    t.request("resume")
    lead = len(clips["resume"])
    d2 = t.ahead
    after = play(t, [d2 + lead + SR])
    assert not after[:d2].any()
    assert np.allclose(after[d2:d2 + lead], clips["resume"])
    ref = full_mix(mixer, tl)
    assert np.array_equal(after[d2 + lead:], ref[rep2[0].start:rep2[0].start + SR])
    assert np.array_equal(before, ref[:middle])
    assert np.array_equal(paused[:d], ref[middle:middle + d])


def test_skip_in_a_set_goes_to_the_next_set_count_in(session, full_mix):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    first_rep_set2 = next(s for s in tl.segments if s.set == 2 and s.kind == "concentric")
    play(t, [tl.segments[5].start + 10])
    d = t.ahead
    t.request("skip")
    out = play(t, [d + t.fade + len(clips["skip"]) + 3 * SR])
    assert t.position == first_rep_set2.start + t.ahead
    ref = full_mix(mixer, tl)
    k = d + t.fade + len(clips["skip"])
    assert np.array_equal(out[k:], ref[first_rep_set2.start - 3 * SR:first_rep_set2.start])


def test_skip_in_the_last_set_goes_to_the_outro_and_quit_ends(session):
    tl, mixer, clips = session
    outro = tl.segments[-1]
    t = Transport(mixer, tl, clips)
    last_rep = [s for s in tl.segments if s.set == 2 and s.rep == 3][0]
    play(t, [last_rep.start])
    t.request("skip")
    play(t, [100])
    assert t.position == outro.start
    t.request("quit")
    play(t, [t.limiter.delay + t.fade + len(clips["quit"]) + 1])
    assert t.finished and t.quit_requested


def test_toggle_and_unknown_command(session):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    play(t, [SR * 3])
    t.request("toggle")
    play(t, [t.limiter.delay + 10])
    assert t.state == "paused"
    t.request("toggle")
    play(t, [t.limiter.delay + 10])
    assert t.state == "playing"
    with pytest.raises(ValueError):
        t.request("rewind")
    with pytest.raises(ValueError, match="missing transport clips"):
        Transport(mixer, tl, {})


def test_recover_restarts_the_rep(session):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    rep = [s for s in tl.segments if s.set == 1 and s.rep == 3]
    play(t, [rep[1].start + 50])
    t.request("recover")
    out = play(t, [len(clips["recovered"]) + 100])
    assert np.allclose(out[:len(clips["recovered"])], clips["recovered"])
    assert t.position == rep[0].start + 100 + t.ahead


def test_clips_have_count_in(session):
    _, _, clips = session
    assert set(clips) == set(CLIP_NAMES)
    assert len(clips["resume"]) % SR == 0 and len(clips["resume"]) >= 4 * SR


# ---- the spoken clips: words, order and timing against the beat

def labelled_speech(seconds=0.3):
    """Each text is a constant clip whose value names it, so a mix can be read back."""
    values, said = {}, []

    def speech(text):
        said.append(text)
        value = values.setdefault(text, 0.01 * (len(values) + 1))
        return np.full(round(seconds * SR), value, np.float32)
    speech.values = values
    speech.said = said
    return speech


TICK = np.full(40, 0.5, np.float32)


@pytest.mark.parametrize("name, head_text", [("resume", "Back to the start of this rep."),
                                              ("recovered", "Sound is back. From the start of this rep.")])
@pytest.mark.parametrize("head_seconds", [0.3, 0.74, 0.76, 1.9])
def test_resume_clip_says_its_words_then_counts_three_two_one_on_the_beat(name, head_text,
                                                                        head_seconds):
    speech = labelled_speech(head_seconds)
    clips = make_clips(speech, {"tick": TICK}, SR)
    clip = clips[name]
    head = round(head_seconds * SR)
    v = speech.values
    assert np.all(clip[:head] == v[head_text])               # the words first, alone
    beat0 = len(clip) - 3 * SR
    assert beat0 % SR == 0                                    # the count lands on whole seconds
    assert head + SR // 4 <= beat0 < head + SR // 4 + SR      # after a breath, not on the words
    assert not clip[head:beat0].any()
    count = [beat0 + i * SR for i in range(3)]
    word_len = min(head, SR)               # every text lasts head_seconds here
    for at, word in zip(count, ("Three", "Two", "One")):
        assert np.allclose(clip[at:at + len(TICK)], TICK + v[word])   # a tick on each count
        assert np.all(clip[at + len(TICK):at + word_len] == v[word])
        assert not clip[at + word_len:at + SR].any()


def test_a_long_count_word_is_cut_at_its_beat():
    speech = labelled_speech(1.5)           # every word lasts longer than a beat
    clip = make_clips(speech, {"tick": TICK}, SR)["resume"]
    beat0 = len(clip) - 3 * SR
    v = speech.values
    for i, word in enumerate(("Three", "Two", "One")):
        at = beat0 + i * SR
        assert np.all(clip[at + len(TICK):at + SR] == v[word])


def test_the_other_clips_are_their_words_alone():
    speech = labelled_speech(0.5)
    clips = make_clips(speech, {"tick": TICK}, SR)
    v = speech.values
    for name, text in (("paused", "Paused. Press space to carry on."), ("skip", "Skipping ahead."),
                       ("quit", "Stopping here. Well done.")):
        assert len(clips[name]) == round(0.5 * SR) and np.all(clips[name] == v[text])


def test_after_resume_the_rep_starts_one_beat_after_the_count_ends(session, full_mix):
    tl, mixer, clips = session
    rep = [s for s in tl.segments if s.set == 2 and s.rep == 2]
    t = Transport(mixer, tl, clips)
    play(t, [rep[1].start + 17])
    t.request("pause")
    play(t, [t.fade + len(clips["paused"]) + 10])
    t.request("resume")
    out = play(t, [len(clips["resume"]) + 2 * SR])
    ref = full_mix(mixer, tl)
    assert np.array_equal(out[:len(clips["resume"])], clips["resume"])
    assert np.array_equal(out[len(clips["resume"]):], ref[rep[0].start:rep[0].start + 2 * SR])
    assert t.position == rep[0].start + 2 * SR


def test_pause_outside_a_rep_resumes_where_it_was(session, full_mix):
    tl, mixer, clips = session
    rest = next(s for s in tl.segments if s.kind == "rest")
    where = rest.start + 1234
    t = Transport(mixer, tl, clips)
    play(t, [where])
    t.request("pause")
    play(t, [t.fade + len(clips["paused"])])
    assert t.position == where
    t.request("resume")
    out = play(t, [len(clips["resume"]) + SR])
    assert np.array_equal(out[len(clips["resume"]):], full_mix(mixer, tl)[where:where + SR])


def test_skip_in_a_rest_ends_it_at_the_count_in_and_is_heard_after_its_words(session, full_mix):
    tl, mixer, clips = session
    rest = next(s for s in tl.segments if s.kind == "rest")
    t = Transport(mixer, tl, clips)
    play(t, [rest.start + SR])
    t.request("skip")
    k = t.fade + len(clips["skip"])
    out = play(t, [k + 4 * SR])
    assert np.array_equal(out[t.fade:k], clips["skip"])
    target = rest.end - 3 * SR                         # the count-in of the next set
    assert np.array_equal(out[k:], full_mix(mixer, tl)[target:target + 4 * SR])
    assert t.log == [(rest.start + SR, "skip")]




def test_a_command_during_a_spoken_clip_fades_that_clip_out(session, full_mix):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    play(t, [tl.segments[5].start + 10])
    t.request("skip")
    into = 2000                                          # well inside the skip clip
    play(t, [t.fade + into])
    t.request("pause")
    out = play(t, [t.fade + len(clips["paused"]) + 100])
    ramp = 1.0 - np.arange(1, t.fade + 1, dtype=np.float32) / t.fade
    np.testing.assert_allclose(out[:t.fade], clips["skip"][into:into + t.fade] * ramp, atol=1e-7)
    assert np.array_equal(out[t.fade:t.fade + len(clips["paused"])], clips["paused"])
    assert t.state == "paused" and not out[t.fade + len(clips["paused"]):].any()


def test_skip_from_the_very_first_segment_goes_to_the_next_set():
    """A timeline may start with a rep (tools build their own): skipping in
    set 1 goes to set 2's count-in, not to the next rep of set 1."""
    from voicecoach.audio.mixer import Mixer
    from voicecoach.plan.timeline import Segment, Timeline
    segs = (Segment("concentric", 0, 2 * SR, 1, 1), Segment("eccentric", 2 * SR, 2 * SR, 1, 1),
            Segment("concentric", 4 * SR, 2 * SR, 1, 2), Segment("rest", 6 * SR, 5 * SR, 1),
            Segment("concentric", 11 * SR, 2 * SR, 2, 1), Segment("outro", 13 * SR, SR))
    tl = Timeline("bare", SR, 14 * SR, segs, ())
    clips = make_clips(labelled_speech(0.2), {"tick": TICK}, SR)
    t = Transport(Mixer(tl, {}, {}), tl, clips)
    assert t.skip_target(100) == 8 * SR
    assert t.skip_target(5 * SR) == 8 * SR
    assert t.skip_target(12 * SR) == 13 * SR            # in the last set: the outro
    assert t.rep_start(3 * SR) == 0 and t.rep_start(5 * SR) == 4 * SR
    assert t.rep_start(7 * SR) == 7 * SR                 # a rest is not a rep


def test_skip_in_the_outro_ends_the_session_instead_of_replaying_it(session):
    tl, mixer, clips = session
    outro = tl.segments[-1]
    assert outro.kind == "outro"
    t = Transport(mixer, tl, clips)
    assert t.skip_target(outro.start + SR) == tl.frames
    play(t, [outro.start + SR])
    t.request("skip")
    out = play(t, [t.fade + len(clips["skip"]) + 10])
    assert np.array_equal(out[t.fade:t.fade + len(clips["skip"])], clips["skip"])
    assert t.finished and not out[t.fade + len(clips["skip"]):].any()


def test_resume_while_playing_changes_nothing(session, full_mix):
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    first = play(t, [3 * SR])
    t.request("resume")
    rest = play(t, [2 * SR])
    ref = full_mix(mixer, tl)
    assert np.array_equal(np.concatenate([first, rest]), ref[:5 * SR])
    assert t.state == "playing"


def test_live_music_is_ducked_levelled_and_limited_as_in_the_export(session, full_mix):
    from voicecoach.audio.bed import MusicBed
    from voicecoach.audio.ducking import DuckEnvelope
    from voicecoach.audio.levels import CEILING_DBTP
    from voicecoach.audio.normalise import limited
    from voicecoach.plan.mix import Duck
    tl, mixer, clips = session
    tone = (0.97 * np.sin(2 * np.pi * 220 * np.arange(tl.frames + SR) / SR)).astype(np.float32)
    pos = [0]

    def pull(block):
        block[:] = tone[pos[0]:pos[0] + len(block), None]
        pos[0] += len(block)
    t = Transport(mixer, tl, clips, bed=MusicBed(pull, DuckEnvelope(tl, Duck()), 1.0, 1))
    got = play(t, [1000] * (tl.frames // 1000) + [tl.frames % 1000])
    gain = np.zeros(tl.frames, np.float32)
    DuckEnvelope(tl, Duck()).render(gain, 0)
    raw = full_mix(mixer, tl) + tone[:tl.frames] * gain
    assert np.abs(raw).max() > 1.0                         # loud enough to need the limiter
    np.testing.assert_allclose(got[:tl.frames], limited(raw.astype(np.float64)), rtol=0, atol=1e-6)
    assert np.abs(got).max() <= 10 ** (CEILING_DBTP / 20)
