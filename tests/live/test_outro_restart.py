"""Restart said during the outro: the listener goes back to the last set's count-in."""

import numpy as np

from voicecoach.live.transport import Activity, Transport, TransportCommand, TransportState
from voicecoach.plan.kinds import COUNT_IN

SR = 8000  # the rate of the shared session fixture (tests/live/conftest.py)


def play(t, n):
    buf = np.zeros((n, 1), np.float32)
    t.render(buf)
    return buf[:, 0]


def test_restart_in_the_outro_names_the_last_set_then_plays_its_count_in(session, full_mix):
    """Not the top of the session and not nothing: the set just finished, as in a rest."""
    tl, mixer, clips = session
    outro = tl.segments[-1]
    assert outro.kind == "outro"
    first = next(s for s in tl.segments if s.set == 2 and s.kind == "concentric")
    count_in = first.start - COUNT_IN * SR
    t = Transport(mixer, tl, clips)
    play(t, outro.start + 200)
    t.request(TransportCommand.RESTART)
    k = t.fade + len(clips.restart[2])
    out = play(t, k + COUNT_IN * SR + 100)
    assert t.jumps[-1] == (outro.start + 200, count_in)
    assert np.allclose(out[t.fade:k], clips.restart[2])  # "restarting set two"
    ref = full_mix(mixer, tl)
    assert np.array_equal(out[k:], ref[count_in:first.start + 100])  # its count-in, then its first rep
    assert t.state == TransportState.PLAYING and t.activity == Activity.SESSION
    assert t.position == first.start + 100
