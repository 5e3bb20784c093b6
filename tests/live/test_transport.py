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
    assert t.skips == [(tl.segments[5].start + 10 + d, first_rep_set2.start - 3 * SR)]
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
