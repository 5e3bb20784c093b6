"""Ducking: exact envelopes, look-ahead, merging, block invariance, and real music under a voice."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.errors import InputError
from voicecoach.plan.mix import Duck
from voicecoach.plan.timeline import Event, Segment, Timeline

F32 = np.float32


def timeline(frames: int, *events: Event, samplerate: int = 48000) -> Timeline:
    return Timeline("test", samplerate, frames, (Segment("intro", 0, frames),),
                    tuple(sorted(events, key=lambda e: (e.frame, e.kind))))


def speech(frame: int, frames: int) -> Event:
    return Event(frame, "speech", frames, "hi")


def gains(env: DuckEnvelope, start: int, n: int) -> np.ndarray:
    out = np.full(n, np.nan, dtype=F32)                 # render must overwrite everything
    env.render(out, start)
    return out


def reference(events: list[tuple[int, int]], attack: int, release: int, depth: float,
              start: int, n: int) -> np.ndarray:
    """Frame by frame, the minimum over every (unmerged) speech event's shape,
    with the same arithmetic as the ramp tables."""
    d32 = float(F32(depth))
    d = 1.0 - d32
    out = np.ones(n, dtype=F32)
    for i, t in enumerate(range(start, start + n)):
        g = F32(1.0)
        for s, length in events:
            e = s + length
            if s - attack <= t < s:
                x = (t - (s - attack)) / attack
                v = F32(d32 + d * 0.5 * (1.0 + math.cos(math.pi * x)))
            elif s <= t < e:
                v = F32(d32)
            elif e <= t < e + release:
                x = (t - e) / release
                v = F32(d32 + d * 0.5 * (1.0 - math.cos(math.pi * x)))
            else:
                continue
            g = min(g, v)
        out[i] = g
    return out


# --------------------------------------------------------------------- Duck
def test_duck_defaults_and_gain():
    duck = Duck()
    assert (duck.depth_db, duck.attack, duck.release) == (12.0, 0.15, 0.4)
    assert duck.gain == pytest.approx(10 ** (-12 / 20))
    assert Duck(depth_db=0).gain == 1.0


@pytest.mark.parametrize("kwargs, name", [
    ({"depth_db": -1}, "depth_db"), ({"depth_db": 61}, "depth_db"),
    ({"depth_db": float("nan")}, "depth_db"), ({"attack": -0.01}, "attack"),
    ({"attack": 2.5}, "attack"), ({"release": 5.1}, "release"),
    ({"release": float("inf")}, "release"),
])
def test_duck_rejects_values_out_of_range_with_a_clear_message(kwargs, name):
    with pytest.raises(InputError, match=f"duck {name} must be between 0 and") as exc:
        Duck(**kwargs)
    assert isinstance(exc.value, ValueError)


def test_duck_rejects_non_numbers():
    with pytest.raises(TypeError):
        Duck(depth_db="12")
    with pytest.raises(TypeError):
        Duck(attack=True)


# ----------------------------------------------------------- exact samples
def test_exact_envelope_on_a_tiny_timeline():
    # 10 Hz: attack 4 frames, release 3 frames, depth 20 dB = 0.1
    tl = timeline(20, speech(10, 5), samplerate=10)
    env = DuckEnvelope(tl, Duck(depth_db=20, attack=0.4, release=0.3))
    down = [1.0, 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4)), 0.55,
            0.1 + 0.9 * 0.5 * (1 + math.cos(3 * math.pi / 4))]
    up = [0.1, 0.1 + 0.9 * 0.25, 0.1 + 0.9 * 0.75]
    expected = np.array([1] * 6 + down + [0.1] * 5 + up + [1, 1], dtype=F32)
    np.testing.assert_allclose(gains(env, 0, 20), expected, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(gains(env, -50, 10), np.ones(10, F32))     # before the session


def test_overlapping_and_touching_speech_merge_into_one_duck():
    env = DuckEnvelope(timeline(100, speech(10, 20), speech(20, 20), speech(40, 5),
                                samplerate=10), Duck(attack=0.5, release=0.5))
    one = DuckEnvelope(timeline(100, speech(10, 35), samplerate=10), Duck(attack=0.5, release=0.5))
    assert env.starts.tolist() == [10] and env.ends.tolist() == [45]
    np.testing.assert_array_equal(gains(env, 0, 100), gains(one, 0, 100))


def test_near_ducks_merge_into_one_dip_never_below_depth():
    duck = Duck(depth_db=12, attack=0.5, release=0.5)
    env = DuckEnvelope(timeline(100, speech(10, 5), speech(21, 5), samplerate=10), duck)
    g = gains(env, 0, 40)
    assert g.min() == pytest.approx(duck.gain) and np.all(g >= F32(duck.gain))
    assert g[15:21].max() < 1.0                  # the 6-frame gap does not come back up
    np.testing.assert_array_equal(g, reference([(10, 5), (21, 5)], 5, 5, duck.gain, 0, 40))


def test_zero_depth_and_no_speech_are_unity():
    tl = timeline(1000, speech(100, 50), Event(300, "tick", 10))
    np.testing.assert_array_equal(gains(DuckEnvelope(tl, Duck(depth_db=0)), 0, 1000), np.ones(1000))
    tl = timeline(1000, Event(300, "tick", 10), Event(400, "bell", 10))
    np.testing.assert_array_equal(gains(DuckEnvelope(tl, Duck()), 0, 1000), np.ones(1000))


def test_zero_attack_and_release_are_hard_edges():
    env = DuckEnvelope(timeline(10, speech(3, 4), samplerate=10),
                       Duck(depth_db=20, attack=0, release=0))
    np.testing.assert_allclose(gains(env, 0, 10), [1, 1, 1, .1, .1, .1, .1, 1, 1, 1], atol=1e-7)


events_st = st.lists(st.tuples(st.integers(-20, 300), st.integers(0, 40)), max_size=8)


@settings(max_examples=150, deadline=None)
@given(events=events_st, attack=st.integers(0, 30), release=st.integers(0, 40),
       depth=st.sampled_from([0.0, 6.0, 12.0, 60.0]),
       cuts=st.lists(st.integers(0, 400), max_size=10))
def test_matches_reference_for_any_events_and_any_block_split(events, attack, release, depth, cuts):
    sr = 100
    tl = timeline(350, *(speech(s, n) for s, n in events), samplerate=sr)
    env = DuckEnvelope(tl, Duck(depth_db=depth, attack=attack / sr, release=release / sr))
    whole = gains(env, -30, 400)
    expected = reference([(s, n) for s, n in events if n > 0], attack, release,
                         10 ** (-depth / 20), -30, 400)
    np.testing.assert_array_equal(whole, expected)
    bounds = [0, *sorted(cuts), 400]
    parts = [gains(env, -30 + a, b - a) for a, b in zip(bounds, bounds[1:])]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_cost_grows_with_nearby_speech_not_session_length():
    sr = 48000
    events = [speech(i * 2 * sr, sr // 2) for i in range(20000)]       # 11 hours
    env = DuckEnvelope(timeline(40000 * sr, *events), Duck())
    out = np.empty(512, F32)
    env.render(out, 30000 * sr + sr)                    # between two events: none acts
    assert env.touched == 0 and np.all(out == 1)
    env.render(out, 30000 * sr - 1000)                  # in an attack
    assert env.touched == 1 and out[0] < 1


def test_apply_scales_every_channel_and_validates():
    env = DuckEnvelope(timeline(10, speech(3, 4), samplerate=10),
                       Duck(depth_db=20, attack=0, release=0))
    block = np.ones((10, 2), F32)
    env.apply(block, 0)
    np.testing.assert_allclose(block[:, 0], [1, 1, 1, .1, .1, .1, .1, 1, 1, 1], atol=1e-7)
    np.testing.assert_array_equal(block[:, 0], block[:, 1])
    with pytest.raises(TypeError):
        env.render(np.ones(4), 0)
    with pytest.raises(ValueError):
        env.render(np.ones((4, 1), F32), 0)
    with pytest.raises(TypeError):
        env.render(np.ones(4, F32), 1.5)
    with pytest.raises(TypeError):
        DuckEnvelope(timeline(10), "12 dB")


# --------------------------------------------------------- real music, real timeline
SR = 48000


def session() -> Timeline:
    """Ten seconds: intro, a rep, a rest; three lines of speech."""
    segs = (Segment("intro", 0, 2 * SR), Segment("concentric", 2 * SR, 3 * SR, 1, 1),
            Segment("eccentric", 5 * SR, 3 * SR, 1, 1), Segment("rest", 8 * SR, 2 * SR, 1))
    events = (speech(SR // 2, SR), Event(2 * SR, "accent", 2400), speech(2 * SR, SR // 2),
              Event(5 * SR, "accent", 2400), speech(6 * SR, 3 * SR // 4))
    tl = Timeline("test", SR, 10 * SR, segs, tuple(sorted(events, key=lambda e: (e.frame, e.kind))))
    assert sum(s.frames for s in tl.segments) == tl.frames
    return tl


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize("duck", [Duck(), Duck(depth_db=20, attack=0.05, release=0.2),
                                  Duck(depth_db=6, attack=0.3, release=1.0)])
def test_music_under_a_voice_ducks_by_the_depth_on_time_and_without_clicks(duck):
    tl = session()
    t = np.arange(tl.frames) / SR
    music = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(F32)[:, None]     # 50 ms = 11 cycles
    ducked = music.copy()
    env = DuckEnvelope(tl, duck)
    rng = np.random.default_rng(1)
    at = 0
    while at < tl.frames:                               # like the player: blocks of any size
        n = min(int(rng.integers(64, 4096)), tl.frames - at)
        env.apply(ducked[at:at + n], at)
        at += n
    x = ducked[:, 0]
    w = SR // 20
    between = rms_db(x[int(4.0 * SR):int(4.0 * SR) + w])                # 1.5 s from any speech
    assert between == pytest.approx(rms_db(music[:w, 0]), abs=0.01)
    free_until = 0                                     # where the previous duck has released
    for ev in (e for e in tl.events if e.kind == "speech"):
        for a in range(ev.frame, ev.end - w + 1, w):                     # while the voice speaks
            assert between - rms_db(x[a:a + w]) >= duck.depth_db - 1.0
        # look-ahead: already down in the first 50 ms of the voice
        assert between - rms_db(x[ev.frame:ev.frame + w]) == pytest.approx(duck.depth_db, abs=1.0)
        # and still at full level just before its attack begins
        lead = ev.frame - round(duck.attack * SR)
        if lead - w >= free_until:
            assert rms_db(x[lead - w:lead]) == pytest.approx(between, abs=0.01)
        free_until = ev.end + round(duck.release * SR)
    # no edge jumps more than the music itself does from one sample to the next
    assert np.abs(np.diff(x)).max() <= np.abs(np.diff(music[:, 0])).max() * 1.001


def test_the_music_bed_fades_out_at_the_end_whatever_the_blocks():
    """No click at the end: the last second fades to nothing, in any block split."""
    from voicecoach.audio.bed import END_FADE_SECONDS, MusicBed
    sr = 8000
    tl = timeline(5 * sr, speech(sr, sr // 2), samplerate=sr)

    def tone():
        k = [0]

        def pull(block):
            n = len(block)
            block[:, 0] = 0.5 * np.sin(2 * np.pi * 110 * np.arange(k[0], k[0] + n) / sr)
            k[0] += n
        return pull
    outs = []
    for block in (tl.frames + 500, 333):
        bed = MusicBed(tone(), DuckEnvelope(tl, Duck()), 1.0, 1, end=tl.frames)
        out = np.zeros((tl.frames + 500, 1), F32)
        for at in range(0, len(out), block):
            out[at:at + block] = bed.music(len(out[at:at + block]), at)
        outs.append(out[:, 0])
    x = outs[0]
    assert np.array_equal(outs[0], outs[1])
    fade = round(END_FADE_SECONDS * sr)
    assert rms_db(x[tl.frames - fade - sr // 2:tl.frames - fade]) == pytest.approx(
        rms_db(0.5 * np.sin(2 * np.pi * 110 * np.arange(sr) / sr)), abs=0.1)   # full before
    assert np.max(np.abs(x[tl.frames - sr // 100:])) < 0.01 and not x[tl.frames:].any()
    assert np.abs(np.diff(x)).max() <= 0.5 * 2 * np.pi * 110 / sr * 1.01    # no step anywhere
