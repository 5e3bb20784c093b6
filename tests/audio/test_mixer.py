"""Mixer: exact samples from tiny arrays, block invariance, buses, headroom, cost."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.audio.mixer import BUSES, HEADROOM_PEAK, Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.plan.timeline import Event, Segment, Timeline

F32 = np.float32


def a32(*values: float) -> np.ndarray:
    return np.array(values, dtype=F32)


SOUNDS = {"tick": a32(0.25, 0.125), "accent": a32(0.5, 0.25, 0.125), "bell": a32(0.0625)}


def timeline(frames: int, *events: Event, samplerate: int = 48000) -> Timeline:
    return Timeline("test", samplerate, frames, (Segment("intro", 0, frames),),
                    tuple(sorted(events, key=lambda e: (e.frame, e.kind))))


def render(m: Mixer, start: int, n: int, bus: str | None = None) -> np.ndarray:
    out = np.full((n, m.channels), np.nan, dtype=F32)  # render must overwrite everything
    m.render(out, start, bus)
    return out


# ------------------------------------------------------------ exact samples
def test_clip_lands_at_its_frame_exactly():
    tl = timeline(12, Event(5, "speech", 3, "hi"))
    m = Mixer(tl, {"hi": a32(1, 2, 3) / 8}, SOUNDS)
    out = render(m, 0, 12)
    assert out.shape == (12, 1) and out.dtype == F32
    np.testing.assert_array_equal(out[:, 0], a32(0, 0, 0, 0, 0, 0.125, 0.25, 0.375, 0, 0, 0, 0))
    assert m.gain == 1.0
    assert (m.frames, m.samplerate, m.channels) == (12, 48000, 1)


def test_mono_clip_goes_to_every_channel():
    tl = timeline(6, Event(1, "tick", 2))
    out = render(Mixer(tl, {}, SOUNDS, channels=2), 0, 6)
    expected = a32(0, 0.25, 0.125, 0, 0, 0)
    np.testing.assert_array_equal(out, np.stack([expected, expected], axis=1))


def test_clip_is_cut_to_event_frames_and_to_session_end():
    tl = timeline(10, Event(1, "speech", 2, "long"), Event(8, "accent", 3))
    m = Mixer(tl, {"long": a32(0.5, 0.5, 0.5, 0.5)}, SOUNDS)
    # speech cut to 2 frames by event.frames; accent cut at frame 10 (session end)
    np.testing.assert_array_equal(render(m, 0, 12)[:, 0],
                                  a32(0, 0.5, 0.5, 0, 0, 0, 0, 0, 0.5, 0.25, 0, 0))


def test_shorter_clip_than_event_is_fine():
    tl = timeline(8, Event(2, "tick", 6))
    np.testing.assert_array_equal(render(Mixer(tl, {}, SOUNDS), 0, 8)[:, 0],
                                  a32(0, 0, 0.25, 0.125, 0, 0, 0, 0))


def test_overlapping_events_add():
    tl = timeline(6, Event(1, "tick", 2), Event(1, "accent", 3), Event(2, "speech", 1, "x"))
    m = Mixer(tl, {"x": a32(0.0625)}, SOUNDS)
    np.testing.assert_array_equal(render(m, 0, 6)[:, 0], a32(0, 0.75, 0.4375, 0.125, 0, 0))


def test_negative_start_and_beyond_end_give_zeros():
    tl = timeline(4, Event(0, "accent", 3))
    m = Mixer(tl, {}, SOUNDS)
    np.testing.assert_array_equal(render(m, -3, 5)[:, 0], a32(0, 0, 0, 0.5, 0.25))
    np.testing.assert_array_equal(render(m, 4, 3), np.zeros((3, 1), F32))
    np.testing.assert_array_equal(render(m, 10**9, 3), np.zeros((3, 1), F32))
    np.testing.assert_array_equal(render(m, -10**9, 3), np.zeros((3, 1), F32))


def test_empty_timeline_and_zero_length_block():
    m = Mixer(timeline(0), {}, SOUNDS)
    np.testing.assert_array_equal(render(m, 0, 4), np.zeros((4, 1), F32))
    m.render(np.empty((0, 1), F32), 0)  # nothing to do, no error


def test_numpy_integer_start_is_accepted():
    m = Mixer(timeline(4, Event(1, "tick", 2)), {}, SOUNDS)
    np.testing.assert_array_equal(render(m, np.int64(1), 2)[:, 0], a32(0.25, 0.125))


# ------------------------------------------------------ random timelines
def build_random(data, samplerate: int = 1000) -> tuple[Timeline, dict, dict]:
    """A random session whose clips overlap across and within buses."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    frames = data.draw(st.integers(1, 400), label="frames")
    sounds = {k: (rng.uniform(-1, 1, n)).astype(F32) for k, n in
              (("tick", data.draw(st.integers(1, 20))), ("accent", data.draw(st.integers(1, 30))),
               ("bell", data.draw(st.integers(1, 120))))}
    speech = {t: rng.uniform(-1, 1, data.draw(st.integers(1, 80))).astype(F32) for t in ("a", "b")}
    events = []
    for _ in range(data.draw(st.integers(0, 25), label="n_events")):
        kind = data.draw(st.sampled_from(["speech", "tick", "accent", "bell"]))
        events.append(Event(data.draw(st.integers(0, frames + 10)), kind,
                            data.draw(st.integers(0, 150)),
                            data.draw(st.sampled_from(["a", "b"])) if kind == "speech" else None))
    return timeline(frames, *events, samplerate=samplerate), speech, sounds


def reference(tl: Timeline, speech: dict, sounds: dict, gain: float, bus: str | None) -> np.ndarray:
    """Straightforward float64 sum per bus, the way the docs describe it."""
    total = np.zeros(tl.frames + 600, dtype=np.float64)
    for e in tl.events:
        if bus is not None and (e.kind == "speech") != (bus == "voice"):
            continue
        clip = (speech[e.text] if e.kind == "speech" else sounds[e.kind])[:e.frames]
        total[e.frame:e.frame + len(clip)] += clip
    return (total[:tl.frames] * gain).astype(F32)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_block_sizes_give_the_same_samples(data):
    tl, speech, sounds = build_random(data)
    channels = data.draw(st.sampled_from([1, 2]), label="channels")
    m = Mixer(tl, speech, sounds, channels=channels)
    bus = data.draw(st.sampled_from([None, *BUSES]), label="bus")
    lo = data.draw(st.integers(-50, 0), label="lo")
    hi = tl.frames + data.draw(st.integers(0, 50), label="pad")
    whole = render(m, lo, hi - lo, bus)
    pieces, pos = [], lo
    while pos < hi:
        n = data.draw(st.integers(1, 97), label="block")
        n = min(n, hi - pos)
        pieces.append(render(m, pos, n, bus))
        pos += n
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    assert np.all(whole[:-lo] == 0) and np.all(whole[tl.frames - lo:] == 0)
    if bus is not None:
        ref = reference(tl, speech, sounds, m.gain, bus)
        np.testing.assert_allclose(whole[-lo:tl.frames - lo, 0], ref, rtol=0, atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_buses_sum_to_the_mix_exactly_and_never_clip(data):
    tl, speech, sounds = build_random(data)
    m = Mixer(tl, speech, sounds)
    mix = render(m, 0, tl.frames)
    voice, ticks = render(m, 0, tl.frames, "voice"), render(m, 0, tl.frames, "ticks")
    np.testing.assert_array_equal(voice + ticks, mix)
    assert np.max(np.abs(mix), initial=0.0) <= 1.0
    assert 0.0 < m.gain <= 1.0


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_sounding_ranges_hold_every_sample_that_is_not_zero(data):
    tl, speech, sounds = build_random(data)
    m = Mixer(tl, speech, sounds, channels=data.draw(st.sampled_from([1, 2]), label="channels"))
    bus = data.draw(st.sampled_from([None, *BUSES]), label="bus")
    join = data.draw(st.integers(0, 40), label="join")
    starts, ends = m.sounding(bus, join=join)
    assert starts.dtype == ends.dtype == np.int64
    assert np.all(starts < ends) and np.all(ends[:-1] + join <= starts[1:])
    whole = render(m, 0, tl.frames, bus)
    inside = np.zeros(tl.frames, bool)
    for a, z in zip(starts.tolist(), ends.tolist()):
        inside[a:z] = True
        out = render(m, a, z - a, bus)
        np.testing.assert_array_equal(out, whole[a:z])
    assert not whole[~inside].any()
    if join == 0:      # without joining, each range starts and ends with a clip
        edges = {e.frame for e in tl.events}
        assert all(a in edges or a == 0 for a in starts.tolist())


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_in_pcm16_units_is_the_render_times_32768_exactly(data):
    tl, speech, sounds = build_random(data)
    speech = {k: np.round(v * 20000).astype(np.int16) for k, v in speech.items()}
    m = Mixer(tl, speech, sounds).with_master(data.draw(st.floats(0.1, 3.0), label="master"))
    big = m.in_pcm16_units()
    for bus in (None, *BUSES):
        np.testing.assert_array_equal(render(big, 0, tl.frames, bus),
                                      render(m, 0, tl.frames, bus) * F32(32768))
    assert big.master == m.master * 32768


# ---------------------------------------------------------------- headroom
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_worst_peak_is_the_loudest_frame_of_cluster_peaks(data):
    """The headroom bound, found the slow way: each frame gets the peak of
    the voice cluster and of the ticks cluster sounding there (each bus
    summed in float64, as the docs say), times its level; the worst frame
    is the bound."""
    tl, speech, sounds = build_random(data)
    levels = {"voice": data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]), label="voice level"),
              "ticks": data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]), label="ticks level")}
    m = Mixer(tl, speech, sounds, levels=levels)
    frame_peaks = np.zeros(tl.frames)
    for bus in BUSES:
        summed = np.zeros(tl.frames + 600)
        for e in tl.events:
            if (e.kind == "speech") == (bus == "voice"):
                clip = (speech[e.text] if e.kind == "speech" else sounds[e.kind])[:e.frames]
                summed[e.frame:e.frame + len(clip)] += clip
        starts, ends, _, _ = m.clusters(bus)
        for a, z in zip(starts.tolist(), ends.tolist()):
            frame_peaks[a:z] += np.abs(summed[a:z]).max() * levels[bus]
    assert m.peak == pytest.approx(frame_peaks.max(initial=0.0), rel=1e-9, abs=1e-12)


def test_worst_case_overlap_at_full_scale_never_clips():
    n = 64
    full = np.where(np.arange(n) % 2, 1.0, -1.0).astype(F32)  # peak 1.0, every sample
    sounds = {"tick": full.copy(), "accent": full.copy(), "bell": full.copy()}
    tl = timeline(100, Event(10, "speech", n, "go"), Event(10, "accent", n),
                  Event(10, "bell", n), Event(10, "tick", n))
    m = Mixer(tl, {"go": full}, sounds, channels=2)
    mix = render(m, 0, 100)
    assert m.peak == pytest.approx(4.0)
    assert m.gain == pytest.approx(HEADROOM_PEAK / 4.0)
    assert np.max(np.abs(mix)) <= 1.0
    assert np.max(np.abs(mix)) == pytest.approx(HEADROOM_PEAK, rel=1e-6)
    np.testing.assert_array_equal(render(m, 0, 100, "voice") + render(m, 0, 100, "ticks"), mix)
    # the same gain applies to each bus alone
    assert np.max(np.abs(render(m, 0, 100, "voice"))) == pytest.approx(m.gain, rel=1e-6)


def test_real_sounds_with_normalised_speech_need_no_gain():
    sr = 48000
    speech = {"lift": (np.sin(np.arange(4800) * 0.05) * 10 ** (-3 / 20)).astype(F32)}  # -3 dBFS
    # the timeline contract's example: a cue starting on an accented beat; a bell elsewhere
    tl = timeline(2 * sr, Event(0, "speech", 4800, "lift"), Event(0, "accent", 2400),
                  Event(sr, "speech", 4800, "lift"), Event(sr, "bell", 72000), samplerate=sr)
    m = Mixer(tl, speech, make_sounds(sr))
    assert m.gain == 1.0  # -3 dBFS voice + -12 dBFS accent or bell stay under full scale


def test_gain_is_one_when_nothing_overlaps():
    tl = timeline(20, Event(0, "speech", 3, "a"), Event(5, "speech", 3, "a"), Event(10, "bell", 1))
    m = Mixer(tl, {"a": a32(0.9, -0.99, 0.5)}, SOUNDS)
    assert m.gain == 1.0 and m.peak == pytest.approx(0.99)


# ------------------------------------------------------------- cost / work
def long_session(seconds: int, sr: int = 1000) -> tuple[Timeline, dict]:
    sounds = {"tick": np.full(40, 0.1, F32), "accent": np.full(50, 0.2, F32),
              "bell": np.full(1500, 0.2, F32)}
    events = [Event(s * sr, "tick", 40) for s in range(seconds)]
    events += [Event(s * sr, "accent", 50) for s in range(0, seconds, 7)]
    return timeline(seconds * sr, *events, samplerate=sr), sounds


def test_block_far_from_events_touches_nothing():
    tl, sounds = long_session(3600)
    m = Mixer(tl, {}, sounds)
    out = np.empty((256, 1), F32)
    m.render(out, 1_800_500, None)      # between two ticks, a half hour in
    assert m.touched == 0 and not out.any()
    m.render(out, 1_800_990, None)      # straddles the tick at 1_801_000
    assert m.touched == 1
    m.render(out, 1_798_990, "ticks")   # tick + accent at 1799 s (a multiple of 7)
    assert m.touched == 1               # pre-summed into one cluster


def test_work_per_block_does_not_depend_on_session_length():
    touched = []
    for seconds in (10, 10_000):
        tl, sounds = long_session(seconds)
        m = Mixer(tl, {}, sounds)
        m.render(np.empty((3000, 1), F32), 4500, None)  # covers ticks at 5 s, 6 s, 7 s
        touched.append(m.touched)
    assert touched == [3, 3]


def test_render_allocates_no_block_sized_temporaries():
    tl, sounds = long_session(60)
    m = Mixer(tl, {"x": a32(0.1)}, sounds, channels=2)
    out = np.empty((16384, 2), F32)   # 128 KiB
    assert peak_allocated(m, out, range(0, 60_000, 16384)) < 16 * 1024


def peak_allocated(m: Mixer, out: np.ndarray, starts) -> int:
    """Bytes allocated at most while rendering blocks after a warm-up render."""
    m.render(out, 0)
    tracemalloc.start()
    try:
        for start in starts:
            m.render(out, start)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("channels", [1, 2])
def test_a_block_larger_than_before_grows_the_scratch_to_that_block_only(channels):
    # a 16-bit clip on the ticks bus goes through the scratch buffer: late
    # in a long session it must grow by the block's length, not the frame
    # number's
    late, n = 50_000_000, 200_000
    clip = (np.arange(n) % 200 - 100).astype(np.int16)
    tl = timeline(late + 2 * n, Event(late, "tick", n))
    m = Mixer(tl, {}, {**SOUNDS, "tick": clip}, channels=channels)
    out = np.empty((n, channels), F32)
    tracemalloc.start()
    try:
        m.render(out, late)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * 4 * n                 # the block's own float32 scratch, and change
    for c in range(channels):
        np.testing.assert_array_equal(out[:, c], clip.astype(F32) * F32(2.0 ** -15 * m.gain))


def test_repeated_overlaps_share_one_summed_array():
    tl, sounds = long_session(700)    # 100 tick+accent pairs
    m = Mixer(tl, {}, sounds)
    bus = m._buses["ticks"]
    summed = {id(bus.sources[k]) for k, s, e in zip(bus.src, bus.starts, bus.ends) if e - s == 50}
    assert len(summed) == 1


# ------------------------------------------------------------------ errors
@pytest.fixture
def mixer() -> Mixer:
    return Mixer(timeline(8, Event(1, "tick", 2)), {}, SOUNDS, channels=2)


@pytest.mark.parametrize("out, exc", [
    (np.zeros((4, 2), np.float64), TypeError),
    (np.zeros((4, 2), np.int16), TypeError),
    ([[0.0, 0.0]] * 4, TypeError),
    (np.zeros(4, F32), ValueError),
    (np.zeros((4, 1), F32), ValueError),
    (np.zeros((4, 3), F32), ValueError),
    (np.zeros((2, 4), F32).T, ValueError),            # Fortran order
    (np.zeros((8, 2), F32)[::2], ValueError),         # strided
])
def test_render_rejects_bad_buffers(mixer, out, exc):
    with pytest.raises(exc):
        mixer.render(out, 0)


def test_render_rejects_read_only_buffer_bad_start_and_bus(mixer):
    ro = np.zeros((4, 2), F32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        mixer.render(ro, 0)
    with pytest.raises(TypeError, match="start"):
        mixer.render(np.zeros((4, 2), F32), 1.5)
    with pytest.raises(TypeError, match="start"):
        mixer.render(np.zeros((4, 2), F32), True)
    with pytest.raises(ValueError, match="music"):
        mixer.render(np.zeros((4, 2), F32), 0, "music")


def test_missing_speech_text_names_it():
    tl = timeline(8, Event(1, "speech", 2, "Exhale, lift"))
    with pytest.raises(KeyError, match="Exhale, lift"):
        Mixer(tl, {"other": a32(0.1)}, SOUNDS)


@pytest.mark.parametrize("clip, exc", [
    (np.array([0.1, 0.2]), TypeError),                 # float64
    ([0.1, 0.2], TypeError),
    (np.zeros((2, 1), F32), ValueError),
    (a32(0.1, np.nan), ValueError),
    (a32(np.inf), ValueError),
])
def test_bad_clips_are_rejected_up_front(clip, exc):
    with pytest.raises(exc):
        Mixer(timeline(8, Event(1, "speech", 2, "x")), {"x": clip}, SOUNDS)


def test_bad_constructor_arguments():
    tl = timeline(8, Event(1, "tick", 2))
    with pytest.raises(ValueError, match="channels"):
        Mixer(tl, {}, SOUNDS, channels=0)
    with pytest.raises(TypeError):
        Mixer(tl.to_dict(), {}, SOUNDS)
    with pytest.raises(KeyError, match="tick"):
        Mixer(tl, {}, {"accent": a32(0.1)})
    with pytest.raises(ValueError, match="kind"):
        Mixer(timeline(8, Event(1, "music", 2)), {}, SOUNDS)


# ------------------------------------------------------------- 16-bit speech
def test_int16_clips_sound_exactly_as_scaled_floats():
    pcm = np.array([16384, -16384, 1, 0, 32000], dtype=np.int16)   # under the headroom limit
    tl = timeline(12, Event(3, "speech", 5, "x"))
    as_int = Mixer(tl, {"x": pcm}, SOUNDS)
    as_float = Mixer(tl, {"x": pcm.astype(F32) / F32(32768)}, SOUNDS)
    a, b = np.zeros((12, 1), F32), np.zeros((12, 1), F32)
    as_int.render(a, 0)
    as_float.render(b, 0)
    assert np.array_equal(a, b)
    assert as_int.gain == 1.0 and a[3, 0] == 0.5 and a[4, 0] == -0.5 and a[5, 0] == 2.0 ** -15


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=20))
def test_int16_block_independence(sizes):
    rng = np.random.default_rng(1)
    pcm = rng.integers(-20000, 20000, 700, dtype=np.int16)
    tl = timeline(2000, Event(100, "speech", 700, "x"), Event(500, "speech", 700, "y"),
                  Event(300, "tick", 50))
    m = Mixer(tl, {"x": pcm, "y": pcm[::-1].copy()}, SOUNDS)
    ref = np.zeros((2000, 1), F32)
    m.render(ref, 0)
    got, pos = [], 0
    while pos < 2000:
        n = sizes[len(got) % len(sizes)]
        buf = np.zeros((n, 1), F32)
        m.render(buf, pos)
        got.append(buf)
        pos += n
    assert np.array_equal(np.concatenate(got)[:2000], ref)


def test_int16_render_allocates_nothing_per_block():
    pcm = np.full(48000, 1000, dtype=np.int16)
    tl = timeline(96000, Event(10, "speech", 48000, "x"))
    m = Mixer(tl, {"x": pcm}, SOUNDS)
    out = np.empty((1024, 1), F32)
    assert peak_allocated(m, out, range(0, 48000, 1024)) < 16 * 1024


# ------------------------------------------------------------ levels, named sounds
def test_levels_scale_each_bus_and_count_in_the_headroom():
    tl = timeline(20, Event(2, "speech", 4, "x"), Event(2, "tick", 4))
    clip = a32(0.25, 0.25, 0.25, 0.25)
    sounds = {**SOUNDS, "tick": a32(0.125, 0.125, 0.125, 0.125)}
    m = Mixer(tl, {"x": clip}, sounds, levels={"voice": 2.0, "ticks": 0.5})
    out = np.zeros((20, 1), F32)
    m.render(out, 0)
    assert m.gain == 1.0 and out[3, 0] == 0.5 + 0.0625
    loud = Mixer(tl, {"x": clip}, sounds, levels={"voice": 4.0, "ticks": 4.0})
    assert loud.peak == pytest.approx(1.5) and loud.gain == pytest.approx(HEADROOM_PEAK / 1.5)
    loud.render(out, 0)
    assert np.max(np.abs(out)) <= 1.0
    with pytest.raises(ValueError, match="unknown bus"):
        Mixer(tl, {"x": clip}, sounds, levels={"music": 1.0})
    with pytest.raises(ValueError, match="gain >= 0"):
        Mixer(tl, {"x": clip}, sounds, levels={"voice": -1.0})


def test_int16_speech_follows_its_level():
    pcm = np.array([16384, -16384], dtype=np.int16)
    tl = timeline(6, Event(1, "speech", 2, "x"))
    m = Mixer(tl, {"x": pcm}, SOUNDS, levels={"voice": 0.5})
    out = np.zeros((6, 1), F32)
    m.render(out, 0)
    assert out[1, 0] == 0.25 and out[2, 0] == -0.25


def test_attached_sounds_are_found_by_their_name():
    tl = timeline(10, Event(2, "bell", 3, sound="rest_end"), Event(6, "bell", 2))
    m = Mixer(tl, {}, {**SOUNDS, "rest_end": a32(0.5, 0.5, 0.5), "bell": a32(0.1, 0.1)})
    out = np.zeros((10, 1), F32)
    m.render(out, 0)
    assert out[2:5, 0].tolist() == [0.5] * 3 and out[6:8, 0].tolist() == pytest.approx([0.1] * 2)
    with pytest.raises(KeyError, match="rest_end"):
        Mixer(tl, {}, SOUNDS)


def test_events_out_of_order_mix_as_if_sorted():
    sr = 8000
    sounds = make_sounds(sr)
    events = [Event(3000, "tick", 320), Event(100, "accent", 400), Event(5000, "bell", 2000),
              Event(150, "tick", 320)]
    shuffled = Timeline("x", sr, 8000, (), tuple(events))
    ordered = Timeline("x", sr, 8000, (), tuple(sorted(events, key=lambda e: e.frame)))
    a, b = np.zeros((8000, 1), np.float32), np.zeros((8000, 1), np.float32)
    Mixer(shuffled, {}, sounds).render(a, 0)
    Mixer(ordered, {}, sounds).render(b, 0)
    assert np.array_equal(a, b) and np.abs(a[3000:3320]).max() > 0.01


def test_an_int16_clip_longer_than_any_block_before_is_heard_whole():
    # a long spoken cue rendered in one block larger than the mixer's first
    # int16 buffer: every sample must be there, as after smaller blocks
    rng = np.random.default_rng(7)
    pcm = rng.integers(-20000, 20000, 100_000, dtype=np.int16)
    tl = timeline(120_000, Event(5_000, "speech", 100_000, "x"))
    as_int = Mixer(tl, {"x": pcm}, SOUNDS)
    as_float = Mixer(tl, {"x": pcm.astype(F32) / F32(32768)}, SOUNDS)
    ref = render(as_float, 0, 120_000)
    small = render(as_int, 0, 1_000)                # a small block first, then a larger one
    assert np.array_equal(small, ref[:1_000])
    whole = render(as_int, 0, 120_000)
    assert np.array_equal(whole, ref)
    assert whole[5_000 + 99_999, 0] == F32(pcm[-1]) / F32(32768)


def test_a_limiter_plan_lowers_exactly_its_frames_and_an_empty_one_changes_nothing():
    from voicecoach.audio.gain_plan import GainPlan
    from voicecoach.audio.levels import CHUNK

    tl = timeline(10 * CHUNK, Event(0, "speech", 10 * CHUNK, "x"))
    m = Mixer(tl, {"x": np.full(10 * CHUNK, 0.5, F32)}, SOUNDS)
    # one island: chunk 2 held at half gain (knots at chunks 2 and 3)
    plan = GainPlan.of(np.array([2], np.int64), np.array([4], np.int64), (a32(0.5, 0.5),))
    limited = m.with_master(1.0, plan)
    assert limited.limited
    out = render(limited, 0, 10 * CHUNK)[:, 0]
    assert np.all(out[2 * CHUNK:3 * CHUNK] == 0.25)
    assert np.all(out[:2 * CHUNK] == 0.5) and np.all(out[3 * CHUNK:] == 0.5)
    empty = GainPlan.of(np.zeros(0, np.int64), np.zeros(0, np.int64), ())
    unlimited = m.with_master(1.0, empty)
    assert not unlimited.limited
    assert np.array_equal(render(unlimited, 0, 10 * CHUNK), render(m.with_master(1.0), 0, 10 * CHUNK))
    # the 16-bit export's mixer keeps the limit
    assert limited.in_pcm16_units().limited
    pcm = render(limited.in_pcm16_units(), 0, 10 * CHUNK)[:, 0]
    assert pcm[2 * CHUNK] == 0.25 * 32768 and pcm[0] == 0.5 * 32768


def test_the_fingerprint_changes_with_anything_heard_and_only_then():
    # it keys the cached loudness gain: a session that sounds different must
    # never reuse another's gain, the same session always finds its own
    tl = timeline(40, Event(3, "speech", 4, "x"), Event(20, "tick", 2))
    clip = a32(0.25, -0.25, 0.5, 0.125)
    base = Mixer(tl, {"x": clip}, SOUNDS).fingerprint()
    assert len(base) == 20
    assert Mixer(tl, {"x": clip.copy()}, SOUNDS).fingerprint() == base
    assert Mixer(tl, {"x": clip}, SOUNDS).with_master(2.0).fingerprint() == base
    different = [
        Mixer(tl, {"x": a32(0.25, -0.25, 0.5, 0.0625)}, SOUNDS),              # same peak, other samples
        Mixer(tl, {"x": clip.view(np.int16).copy()}, SOUNDS),                 # same bytes, other type
        Mixer(tl, {"x": clip}, {**SOUNDS, "tick": a32(0.5, 0.5)}),            # other tick
        Mixer(timeline(40, Event(4, "speech", 4, "x"), Event(20, "tick", 2)),
              {"x": clip}, SOUNDS),                                           # other frame
        Mixer(timeline(41, Event(3, "speech", 4, "x"), Event(20, "tick", 2)),
              {"x": clip}, SOUNDS),                                           # other length
        Mixer(tl, {"x": clip}, SOUNDS, levels={"voice": 0.5}),                # other level
        Mixer(tl, {"x": clip}, SOUNDS, channels=2),                           # other layout
    ]
    prints = [m.fingerprint() for m in different]
    assert base not in prints and len(set(prints)) == len(prints)


def test_bad_master_gain_bus_and_speech_event_are_named():
    tl = timeline(10, Event(2, "speech", 2, "x"))
    m = Mixer(tl, {"x": a32(0.1, 0.1)}, SOUNDS)
    for master in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="master gain must be > 0"):
            m.with_master(master)
    with pytest.raises(ValueError, match="unknown bus 'music'"):
        m.bus_gain("music")
    assert m.bus_gain("voice") == 1.0 and m.with_master(2.0).bus_gain("ticks") == 2.0
    with pytest.raises(ValueError, match="speech event at frame 2 has no text"):
        Mixer(timeline(10, Event(2, "speech", 2)), {}, SOUNDS)
    with pytest.raises(TypeError, match="channels must be an int"):
        Mixer(tl, {"x": a32(0.1, 0.1)}, SOUNDS, channels=1.0)
    with pytest.raises(TypeError, match="speech must be a mapping"):
        Mixer(tl, [("x", a32(0.1))], SOUNDS)


def test_overlapping_int16_clips_sum_as_their_scaled_samples():
    """Two 16-bit phrases that overlap are pre-summed: each sample k sounds as
    k * 2**-15, so the overlap is their sum, not something far louder."""
    x = np.array([8192, 8192, 8192], dtype=np.int16)        # 0.25
    y = np.array([4096, -4096, 4096], dtype=np.int16)       # +-0.125
    tl = timeline(8, Event(1, "speech", 3, "x"), Event(2, "speech", 3, "y"))
    m = Mixer(tl, {"x": x, "y": y}, SOUNDS)
    assert m.gain == 1.0 and m.peak == 0.375
    np.testing.assert_array_equal(render(m, 0, 8)[:, 0],
                                  a32(0, 0.25, 0.375, 0.125, 0.125, 0, 0, 0))


def test_int16_speech_at_a_level_is_scaled_in_float32_while_rendering():
    """16-bit speech at voice level 0.3 sounds as float32(k) times the float32
    factor 0.3 * 2**-15: the same samples in every block, live and exported."""
    pcm = np.arange(-5, 6, dtype=np.int16) * 3001
    tl = timeline(14, Event(2, "speech", 11, "x"))
    m = Mixer(tl, {"x": pcm}, SOUNDS, levels={"voice": 0.3})
    expected = np.zeros(14, F32)
    expected[2:13] = pcm.astype(F32) * F32(0.3 * 2.0 ** -15)
    np.testing.assert_array_equal(render(m, 0, 14)[:, 0], expected)
    np.testing.assert_array_equal(render(m, 0, 14, "voice")[:, 0], expected)


def test_clips_whose_bytes_run_on_from_one_to_the_next_differ_by_their_type():
    # Two sessions of two 2-sample clips: float32 then int16, against int16
    # then float32. The twelve bytes of the clips in turn are the same, and so
    # are every event's frames and peak (0.5: 16384 / 32768 as int16, and the
    # float32 whose low half is 16384 is a denormal, far under 0.5); only the
    # types tell them apart.
    tiny = np.array([0x4000], np.uint32).view(np.float32)[0]
    raw = np.array([tiny, 0.5, tiny], np.float32).tobytes()
    tl = timeline(20, Event(2, "speech", 2, "x"), Event(9, "speech", 2, "y"))
    first = Mixer(tl, {"x": np.frombuffer(raw[:8], np.float32).copy(),
                       "y": np.frombuffer(raw[8:], np.int16).copy()}, SOUNDS)
    second = Mixer(tl, {"x": np.frombuffer(raw[:4], np.int16).copy(),
                        "y": np.frombuffer(raw[4:], np.float32).copy()}, SOUNDS)
    a, b = np.zeros((20, 1), np.float32), np.zeros((20, 1), np.float32)
    first.render(a, 0)
    second.render(b, 0)
    assert a[3, 0] == b[2, 0] == 0.5 and not np.array_equal(a, b)   # they sound different...
    assert first.fingerprint() != second.fingerprint()        # ...so they never share a loudness


def test_a_limited_render_allocates_nothing_whatever_the_blocks_alignment():
    # the audio callback's rule, under the limiter's gain too: a block larger
    # than the first scratch buffer (40030 frames, 63 into a chunk) touches
    # 627 chunks of gain, 98 frames more than itself
    from voicecoach.audio.gain_plan import GainPlan
    from voicecoach.audio.levels import CHUNK
    frames = 1000 * CHUNK
    tl = timeline(frames, Event(0, "speech", frames, "x"))
    plan = GainPlan.of(np.array([0], np.int64), np.array([1001], np.int64),
                       (np.full(1001, 0.5, F32),))
    m = Mixer(tl, {"x": np.full(frames, 0.5, F32)}, SOUNDS).with_master(1.0, plan)
    out = np.empty((40030, 1), F32)
    m.render(out, CHUNK - 1)           # the gain's ramp is laid out once for the longest span
    assert peak_allocated(m, out, [k * CHUNK + CHUNK - 1 for k in range(0, 300, 37)]) < 16 * 1024
    assert np.all(out == 0.25)
