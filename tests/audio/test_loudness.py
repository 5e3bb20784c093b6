"""The BS.1770 meter against an independent one, and the session's loudness gain."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from voicecoach.audio.loudness import LoudnessMeter, subblock_frames
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.normalise import default_target, loudness_gain, measured_loudness, normalise_sparse
from voicecoach.audio.sounds import make_sounds
from voicecoach.plan.timeline import Event, Segment, Timeline

SR = 48000


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise shaped like syllables (4 Hz bursts), with pauses: the gate has work."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    env = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) * (np.mod(t, 3.0) < 2.0)
    return rng.standard_normal(len(t)) * env * 0.1


@pytest.mark.parametrize("channels", [1, 2])
def test_meter_agrees_with_pyloudnorm_in_any_blocks(channels):
    x = np.stack([speechlike(20, 1), 0.5 * speechlike(20, 2)], axis=1)[:, :channels]
    meter = LoudnessMeter(SR, channels)
    for a in range(0, len(x), 7777):
        meter.add(x[a:a + 7777])
    assert meter.integrated() == pytest.approx(pyloudnorm.Meter(SR).integrated_loudness(x), abs=0.1)


def test_silence_reads_minus_infinity():
    meter = LoudnessMeter(SR, 1)
    meter.add(np.zeros((SR * 2, 1)))
    assert meter.integrated() == float("-inf")
    assert subblock_frames(SR) == 4800 and subblock_frames(44100) == 4410


def _clips_of(seconds: int) -> tuple[dict, dict]:
    return {"go": (speechlike(1.2, 5) * 3).astype(np.float32)}, make_sounds(SR)


def _timeline_of(seconds: int) -> Timeline:
    speech, sounds = _clips_of(seconds)
    events = [Event(f * SR, "tick", len(sounds["tick"])) for f in range(seconds)]
    events += [Event(f * SR + SR // 3, "speech", len(speech["go"]), text="go")
               for f in range(0, seconds, 4)]
    events.sort(key=lambda e: (e.frame, e.kind))
    return Timeline("t", SR, seconds * SR, (Segment("intro", 0, seconds * SR),), tuple(events))


def sparse_session(seconds: int = 60) -> Mixer:
    """A voice phrase every 4 s and a tick every second, as a session is built."""
    return Mixer(_timeline_of(seconds), *_clips_of(seconds), 1)


def _normalised(mixer: Mixer, target: float, progress=None):
    """The gain and limiter plan for a mixer whose loudness before the gain is taken as measured (the
    sessions here are not made of normalised cues, so the rule by construction does not apply to them)."""
    loudness = measured_loudness(mixer)
    return normalise_sparse(mixer, target, loudness, *(() if progress is None else (progress,)))


def test_sparse_measure_equals_rendering_everything_through_the_limiter():
    from voicecoach.audio.levels import TruePeakLimiter
    mixer = sparse_session()
    found = loudness_gain(mixer, -19.0)
    loud = mixer.with_master(found.gain)
    lim, pos = TruePeakLimiter(1), [0]

    def pull(view):
        loud.render(view, pos[0])
        pos[0] += len(view)
    out = np.empty((loud.frames, 1), np.float32)
    lim.run(pull, out)
    assert pyloudnorm.Meter(SR).integrated_loudness(out[:, 0].astype(np.float64)) == \
        pytest.approx(-19.0, abs=0.2)
    assert default_target(1) == -19.0 and default_target(2) == -16.0


def test_gain_is_only_measured_once():
    mixer = sparse_session(20)
    with pytest.raises(ValueError, match="before its loudness gain"):
        loudness_gain(mixer.with_master(2.0), -19.0)


def test_planned_limiter_gain_holds_the_ceiling_in_any_blocks_and_for_each_bus():
    from true_peak import true_peak
    mixer = sparse_session(40)
    found, plan = _normalised(mixer, -16.0)      # loud: the voice peaks need limiting
    loud = mixer.with_master(found.gain, plan)
    assert loud.limited and not plan.empty
    whole = np.empty((loud.frames, 1), np.float32)
    loud.render(whole, 0)
    assert true_peak(whole) <= 10 ** (-1.5 / 20) * 1.0001
    pieces, at = [], 0
    for n in [997, 4096, 31, 65536] * 200:
        if at >= loud.frames:
            break
        block = np.empty((min(n, loud.frames - at), 1), np.float32)
        loud.render(block, at)
        pieces.append(block)
        at += len(block)
    assert np.array_equal(np.concatenate(pieces), whole)
    buses = sum(np.asarray(_bus(loud, b), np.float64) for b in ("voice", "ticks"))
    assert np.max(np.abs(buses - whole)) < 1e-6
    assert pyloudnorm.Meter(SR).integrated_loudness(whole[:, 0].astype(np.float64)) == \
        pytest.approx(-16.0, abs=0.3)


def _bus(mixer, bus):
    out = np.empty((mixer.frames, 1), np.float32)
    mixer.render(out, 0, bus)
    return out


def test_measuring_tells_its_progress_and_the_same_gain_comes_out():
    mixer = sparse_session(30)
    told: list[tuple[int, int]] = []
    loud, plan = _normalised(mixer, -19.0, lambda done, total: told.append((done, total)))
    total = told[0][1]
    assert told[0] == (0, total) and told[-1] == (total, total) and total >= 2
    assert [d for d, _ in told] == sorted(d for d, _ in told) and {t for _, t in told} == {total}
    quiet, plan2 = _normalised(mixer, -19.0)
    assert loud == quiet and np.array_equal(plan.flat, plan2.flat) and np.array_equal(plan.starts, plan2.starts)


def test_the_result_is_kept_and_reused_for_the_same_session_only(tmp_path):
    from voicecoach.audio import loudness_cache
    mixer = sparse_session(30)
    loud, plan = _normalised(mixer, -19.0)
    path = loudness_cache.path_for(tmp_path, mixer.fingerprint(), -19.0)
    assert loudness_cache.load(path) is None
    loudness_cache.store(path, loud, plan)
    again, plan2 = loudness_cache.load(path)
    assert again == loud
    a, b = np.empty((mixer.frames, 1), np.float32), np.empty((mixer.frames, 1), np.float32)
    mixer.with_master(loud.gain, plan).render(a, 0)
    mixer.with_master(again.gain, plan2).render(b, 0)
    assert np.array_equal(a, b)
    other = sparse_session(31)
    assert other.fingerprint() != mixer.fingerprint()
    assert loudness_cache.path_for(tmp_path, mixer.fingerprint(), -16.0) != path
    path.write_bytes(b"not a cache file")
    assert loudness_cache.load(path) is None


def test_a_stored_plan_whose_knots_do_not_add_up_is_not_used(tmp_path):
    from voicecoach.audio import loudness_cache
    mixer = sparse_session(12)
    loud, plan = _normalised(mixer, -14.0)
    assert len(plan.starts) > 1
    path = tmp_path / "plan.npz"
    loudness_cache.store(path, loud, plan)
    with np.load(path) as z:
        parts = dict(z)
    assert parts["lengths"].tolist() == [len(k) for k in plan.knots]
    parts["lengths"][0] += 1                     # one knot more than the file holds
    with open(path, "wb") as fh:
        np.savez(fh, **parts)
    assert loudness_cache.load(path) is None


def _gain_by_the_formula(plan, start: int, n: int) -> np.ndarray:
    """The planned gain of frames ``[start, start + n)``, frame by frame from its
    definition: ``K[c] + (K[c + 1] - K[c]) * (t % CHUNK) / CHUNK`` in island chunk ``c``."""
    from voicecoach.audio.levels import CHUNK
    g = np.ones(n, np.float32)
    for s, k in zip(plan.starts.tolist(), plan.knots):
        for t in range(max(start, s * CHUNK), min(start + n, (s + len(k) - 1) * CHUNK)):
            c = t // CHUNK - s
            g[t - start] = k[c] + (k[c + 1] - k[c]) * np.float32((t % CHUNK) / CHUNK)
    return g


def test_planned_gain_is_its_formula_from_any_frame():
    _, plan = _normalised(sparse_session(12), -14.0)
    assert len(plan.starts) > 3
    rng = np.random.default_rng(3)
    for _ in range(40):
        start = int(rng.integers(0, 12 * SR - 5000))
        n = int(rng.integers(1, 5000))
        x = np.ones((n, 2), np.float32)
        plan.apply(x, start, np.empty(n + 128, np.float32) if n % 2 else None)
        want = _gain_by_the_formula(plan, start, n)
        assert np.array_equal(x[:, 0], want) and np.array_equal(x[:, 1], want)


def test_live_render_with_the_planned_gain_allocates_nothing():
    """The audio callback's rule: a block over a limited syllable allocates no array."""
    import tracemalloc

    mixer = sparse_session(12)
    found, plan = _normalised(mixer, -14.0)
    loud = mixer.with_master(found.gain, plan)
    out = np.empty((1024, 1), np.float32)
    limited = [a for a in range(0, loud.frames - 1024, 1024)
               if not np.array_equal(_gain_by_the_formula(plan, a, 1024), np.ones(1024))]
    assert len(limited) > 10
    loud.render(out, limited[0])                         # the scratch exists from here on
    tracemalloc.start()
    try:
        for a in limited:
            loud.render(out, a)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2048, peak                             # a few small Python objects at most


def test_stereo_live_render_allocates_nothing_and_is_the_mono_mix_twice():
    import tracemalloc

    mono = sparse_session(12)
    found, plan = _normalised(mono, -14.0)
    mono = mono.with_master(found.gain, plan)
    stereo = Mixer(_timeline_of(12), *_clips_of(12), 2).with_master(found.gain, plan)
    one, two = np.empty((1024, 1), np.float32), np.empty((1024, 2), np.float32)
    stereo.render(two, 0)
    tracemalloc.start()
    try:
        for a in range(0, stereo.frames - 1024, 1024):
            stereo.render(two, a)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2048, peak
    for a in range(0, stereo.frames - 1024, 5 * 1024):
        mono.render(one, a)
        stereo.render(two, a)
        assert np.array_equal(two[:, 0], one[:, 0]) and np.array_equal(two[:, 1], one[:, 0])


def test_the_measured_loudness_is_what_the_limited_mixer_renders():
    """What an export is tagged with: the sparse measurement of the mixer with its gain and limiter plan."""
    mixer = sparse_session(40)
    found, plan = _normalised(mixer, -14.0)              # loud: the limiter takes its share
    loud = mixer.with_master(found.gain, plan)
    whole = np.empty((loud.frames, 1), np.float32)
    loud.render(whole, 0)
    heard = pyloudnorm.Meter(SR).integrated_loudness(whole[:, 0].astype(np.float64))
    assert measured_loudness(loud) == pytest.approx(heard, abs=0.05)
    assert heard < -14.0 - 0.1                          # no make-up: the limiter's share is not given back


def test_the_rule_meters_each_sound_at_its_own_energy_wherever_it_falls():
    """Ticks alone: the plan's constant energy per event is the meter's reading of the rendered ticks."""
    from voicecoach.audio.gain_rule import planned_loudness
    _, sounds = _clips_of(30)
    events = [Event(f * SR + 1234 * (f % 7), "tick" if f % 4 else "accent", len(sounds["tick" if f % 4 else "accent"]))
              for f in range(30)]
    tl = Timeline("t", SR, 30 * SR, (Segment("intro", 0, 30 * SR),), tuple(events))
    whole = np.empty((tl.frames, 1), np.float32)
    Mixer(tl, {}, sounds, 1, {"ticks": 0.5}).render(whole, 0)
    heard = pyloudnorm.Meter(SR).integrated_loudness(whole[:, 0].astype(np.float64))
    assert planned_loudness(tl, sounds, {"ticks": 0.5}, 1) == pytest.approx(heard, abs=0.2)
    assert planned_loudness(tl, sounds, {"ticks": 0.5}, 2) == pytest.approx(heard + 10 * np.log10(2), abs=0.2)


def test_the_rule_follows_the_voice_level_and_not_the_spoken_words():
    """Speech counts by its planned length at the cues' common loudness: the voice's level moves the
    session's loudness by as much, and what the cues say (their samples) does not enter."""
    from voicecoach.audio.gain_rule import SPEECH_LOUDNESS_DB, planned_loudness
    events = tuple(Event(f * SR, "speech", SR // 2, text="go") for f in range(0, 30, 2))
    tl = Timeline("t", SR, 30 * SR, (Segment("intro", 0, 30 * SR),), events)
    at_0 = planned_loudness(tl, {}, {"voice": 1.0}, 1)
    assert planned_loudness(tl, {}, {"voice": 2.0}, 1) == pytest.approx(at_0 + 20 * np.log10(2.0), abs=1e-6)
    assert at_0 < SPEECH_LOUDNESS_DB - 0.691 - 1.0      # pauses between the phrases count in the blocks
    talk = tuple(Event(f * SR, "speech", SR, text=f"line {f}") for f in range(30))
    talking = Timeline("t", SR, 30 * SR, (Segment("intro", 0, 30 * SR),), talk)
    assert planned_loudness(talking, {}, {"voice": 1.0}, 1) == pytest.approx(SPEECH_LOUDNESS_DB - 0.691, abs=1e-6)
