"""Properties of the session timeline, over the built-ins and random presets."""

import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.plan.kinds import REP_KINDS, EventKind, SegmentKind
from voicecoach.plan.metronome import sound_frames
from voicecoach.plan.preset import Cues, Preset, WarmupStep
from voicecoach.plan.preset_files import builtin_names, load_preset
from voicecoach.plan.schedule import build_timeline, estimate_frames
from voicecoach.plan.tempo import Tempo

SR = 48000


def fake_speech(samplerate=SR, per_char=0.06):
    """A speech-length function that records what it was asked."""
    asked = []

    def frames(text):
        asked.append(text)
        return max(1, round((0.1 + per_char * len(text)) * samplerate))
    frames.asked = asked
    return frames


def check_invariants(preset, tl, speech_len):
    # segments tile [0, frames) in order with no gap or overlap
    assert tl.segments[0].start == 0
    for a, b in zip(tl.segments, tl.segments[1:]):
        assert a.end == b.start
    assert tl.segments[-1].end == tl.frames
    assert all(s.frames > 0 and isinstance(s.kind, SegmentKind) for s in tl.segments)
    # events sorted and inside the session
    frames = [e.frame for e in tl.events]
    assert frames == sorted(frames)
    for e in tl.events:
        assert isinstance(e.kind, EventKind)
        assert 0 <= e.frame and e.end <= tl.frames, e
        if e.kind == "speech":
            assert e.frames == speech_len(e.text)
        else:
            assert e.frames == sound_frames(e.kind, tl.samplerate)
    # speech never overlaps speech
    speech = [e for e in tl.events if e.kind == "speech"]
    for a, b in zip(speech, speech[1:]):
        assert a.end <= b.frame, (a, b)
    # every rep has its phases in the preset's order, with the tempo's exact lengths
    reps = {}
    for s in tl.segments:
        if s.kind in REP_KINDS:
            reps.setdefault((s.set, s.rep), []).append(s)
    assert len(reps) == preset.sets * preset.reps_per_set
    for segs in reps.values():
        expected = [(ph, round((preset.hold if ph == "hold" else preset.tempo.phase_seconds(ph)) * tl.samplerate))
                    for ph in preset.phases]
        assert [(s.kind, s.frames) for s in segs] == [e for e in expected if e[1] > 0]
        for a, b in zip(segs, segs[1:]):
            assert a.end == b.start       # a rep is contiguous
    # rests between sets, exactly as long as asked
    rests = [s for s in tl.segments if s.kind == "rest"]
    assert len(rests) == preset.sets - 1
    assert all(s.frames == round(preset.rest * tl.samplerate) for s in rests)


@pytest.mark.parametrize("name", builtin_names())
def test_builtins_hold_the_invariants(name):
    speech = fake_speech()
    preset = load_preset(name)
    check_invariants(preset, build_timeline(preset, speech), speech)


def test_leg_lifts_timeline_matches_the_method():
    speech = fake_speech()
    tl = build_timeline(load_preset("leg-lifts"), speech)
    lifts = [s for s in tl.segments if s.kind == "concentric"]
    assert len(lifts) == 30 and {s.set for s in lifts} == {1, 2, 3}
    assert {s.rep for s in lifts} == set(range(1, 11))
    descents = [s for s in tl.segments if s.kind == "eccentric"]
    assert all(s.frames == 3 * SR for s in descents)
    by_frame = {}
    for e in tl.events:
        by_frame.setdefault(e.frame, []).append(e)
    for lift in lifts:
        heard = by_frame[lift.start]
        assert any(e.kind == "accent" for e in heard)
        said = [e.text for e in heard if e.kind == "speech"]
        assert len(said) == 1 and "lift" in said[0].lower()     # the exhale cue on every lift
    for d in descents:                                          # counted, one tick a second
        counts = [e.text for f in (d.start, d.start + SR, d.start + 2 * SR) for e in by_frame[f]
                  if e.kind == "speech"]
        assert counts == ["One", "Two", "Three"]
        assert [e.kind for f in (d.start + SR, d.start + 2 * SR) for e in by_frame[f]
                if e.kind != "speech"] == ["tick", "tick"]
    texts = tl.texts()
    assert any(t.startswith("Last one") for t in texts) and any(t.startswith("Halfway") for t in texts)
    assert any("60 seconds" in t for t in texts) and not tl.dropped


def test_last_rep_and_halfway_land_on_the_right_reps():
    tl = build_timeline(load_preset("leg-lifts"), fake_speech())
    for e in tl.events:
        if e.kind == "speech" and e.text.startswith("Last one"):
            assert e.rep == 10
        if e.kind == "speech" and e.text.startswith("Halfway"):
            assert e.rep == 6


def test_alternating_sides():
    tl = build_timeline(load_preset("single-leg"), fake_speech())
    sides = [s.side for s in tl.segments if s.kind == "concentric" and s.set == 1]
    assert sides == ["Left leg", "Right leg"] * 5


def test_hold_counts_down():
    tl = build_timeline(load_preset("plank"), fake_speech())
    holds = [s for s in tl.segments if s.kind == "hold"]
    assert len(holds) == 3 and all(s.frames == 30 * SR for s in holds)
    end = holds[0].end
    countdown = [e.text for e in tl.events if e.kind == "speech" and end - 3 * SR <= e.frame < end]
    assert countdown == ["Three", "Two", "One"]


def test_cue_too_long_for_its_gap_is_shortened_not_late():
    preset = load_preset("leg-lifts")
    slow = fake_speech(per_char=0.11)          # a slow voice: long variants do not fit
    tl = build_timeline(preset, slow)
    lifts = {s.start for s in tl.segments if s.kind == "concentric"}
    said = [e for e in tl.events if e.kind == "speech" and e.frame in lifts]
    assert len(said) == 30                              # still a cue on every lift, on its beat
    assert "Breathe out and lift" not in {e.text for e in said}   # shortened variants instead


def test_optional_cue_that_cannot_fit_is_dropped_and_reported():
    preset = load_preset("leg-lifts")
    huge = fake_speech(per_char=1.0)
    tl = build_timeline(preset, huge)
    assert tl.dropped
    check_invariants(preset, tl, huge)


def test_deterministic():
    preset = load_preset("dead-bug")
    assert build_timeline(preset, fake_speech()) == build_timeline(preset, fake_speech())


def test_json_shape_matches_design():
    tl = build_timeline(load_preset("leg-lifts"))
    doc = json.loads(tl.to_json())
    assert list(doc) == ["preset", "samplerate", "frames", "segments", "events", "language", "voice"]
    assert list(doc["segments"][0]) == ["kind", "start", "frames", "set", "rep", "side"]
    assert list(doc["events"][0]) == ["frame", "kind", "text", "frames", "set", "rep"]
    assert doc["frames"] == sum(s["frames"] for s in doc["segments"])


def test_attached_sound_has_its_own_field_and_keeps_its_json_text():
    preset = dataclasses.replace(load_preset("leg-lifts"), sounds=(("rest_end", "chime"),))
    tl = build_timeline(preset)
    attached = [e for e in tl.events if e.sound is not None]
    assert len(attached) == preset.sets - 1
    assert all(e.kind == EventKind.BELL and e.sound == "rest_end" and e.text is None for e in attached)
    assert "rest_end" not in tl.texts()
    doc = json.loads(tl.to_json())
    assert [e["text"] for e in doc["events"] if e["frame"] == attached[0].frame and e["kind"] == "bell"] == ["rest_end"]


def test_estimate_scales_with_rate():
    assert estimate_frames("Breathe out and lift", SR, 350) < estimate_frames("Breathe out and lift", SR)


def test_bad_samplerate():
    with pytest.raises(TypeError):
        build_timeline(load_preset("plank"), samplerate=48000.0)
    with pytest.raises(ValueError):
        build_timeline(load_preset("plank"), samplerate=100)


# ---- random valid presets

texts = st.text("abcdefgh ,.", min_size=1, max_size=30).map(str.strip).filter(bool)
variants = st.lists(texts, max_size=3).map(tuple)
phase = st.sampled_from([0, 0.5, 1, 1.5, 2, 3, 3.5, 4])
moving = st.sampled_from([0.5, 1, 2, 3, 4, 5])


@st.composite
def presets(draw):
    hold = draw(st.none() | st.sampled_from([5, 10, 22.5, 30]))
    reps = draw(st.integers(1, 12))
    sides = draw(st.sampled_from(["none", "alternate", "each"]))
    return Preset(
        name="random", title=draw(texts), exercise="x",
        sets=draw(st.integers(1, 3)), reps=reps, rest=draw(st.sampled_from([5, 7.5, 20, 45])),
        tempo=None if hold else Tempo(draw(moving), draw(phase), draw(moving), draw(phase)),
        hold=hold, start=draw(st.sampled_from(["concentric", "eccentric"])), sides=sides,
        count=tuple(draw(st.lists(st.sampled_from(["eccentric", "concentric"]), unique=True))),
        cues=Cues(intro=draw(variants), concentric=draw(variants), top=draw(variants),
                  eccentric=draw(variants), bottom=draw(variants), hold=draw(variants),
                  reminders=draw(variants), outro=draw(variants),
                  halfway_rep=draw(st.none() | st.integers(0, reps)), last_rep=draw(st.booleans())),
        warmup=tuple(WarmupStep(t, s, c) for t, s, c in draw(
            st.lists(st.tuples(texts, st.sampled_from([1, 5, 12.5]), st.integers(0, 4)), max_size=2))),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(presets(), st.sampled_from([8000, 22050, 44100, 48000]), st.floats(0.02, 0.2))
def test_random_presets_hold_the_invariants(preset, samplerate, per_char):
    speech = fake_speech(samplerate, per_char)
    tl = build_timeline(preset, speech, samplerate)
    check_invariants(preset, tl, speech)
    assert tl == build_timeline(preset, fake_speech(samplerate, per_char), samplerate)


def test_samplerate_limits_are_inclusive():
    preset = load_preset("plank").with_overrides(sets=1)
    for rate in (8000, 192000):
        assert build_timeline(preset, samplerate=rate).samplerate == rate
    for rate in (7999, 192001):
        with pytest.raises(ValueError):
            build_timeline(preset, samplerate=rate)


@pytest.mark.parametrize("name", ["leg-lifts", "plank"])
def test_every_count_in_is_marked_with_the_set_it_leads_into(name):
    """The ticks and "three, two, one" before a set belong to that set, the
    first set included: the timeline JSON (and anything that groups what is
    said by set) must not file the first count-in under no set or the next."""
    preset = load_preset(name)
    tl = build_timeline(preset, fake_speech())
    data = json.loads(tl.to_json())
    firsts = {}
    for s in tl.segments:
        if s.kind in REP_KINDS:
            firsts.setdefault(s.set, s.start)
    assert sorted(firsts) == list(range(1, preset.sets + 1))
    for set_, start in firsts.items():
        at = [start - i * tl.samplerate for i in (3, 2, 1)]
        ticks = [e for e in tl.events if e.kind == EventKind.TICK and e.frame in at]
        words = [e for e in tl.events if e.kind == EventKind.SPEECH and e.frame in at]
        assert [e.frame for e in ticks] == at and {e.set for e in ticks} == {set_}, set_
        assert [e.text.lower().strip(".!") for e in words] == ["three", "two", "one"], set_
        assert {e.set for e in words} == {set_}, set_
        in_json = [e for e in data["events"] if e["frame"] in at]
        assert len(in_json) == 6 and {e["set"] for e in in_json} == {set_}, set_


def test_the_phrases_to_synthesise_ahead_are_every_phrase_spoken_the_first_heard_first():
    """Synthesis ahead of play must cover what the session says, starting with
    the first words, or the player waits on the voice before the intro."""
    from voicecoach.plan.schedule import speech_texts
    preset = load_preset("leg-lifts")
    tl = build_timeline(preset)
    spoken = [e.text for e in tl.events if e.kind == EventKind.SPEECH]
    texts = speech_texts(preset)
    assert set(spoken) <= set(texts)
    assert texts[0] == spoken[0]
    first = {t: i for i, t in reversed(list(enumerate(spoken)))}
    order = sorted(set(spoken), key=lambda t: first[t])
    assert [t for t in texts if t in first][:5] == order[:5]


def test_a_phrase_book_that_leaves_a_phrase_out_just_never_says_it():
    """A translation may drop an optional line (here "N seconds left"): the
    session is planned all the same, without it, and nothing else moves."""
    from voicecoach.plan.phrases import PhraseBook, default_phrases
    preset = load_preset("leg-lifts")
    book = PhraseBook({**default_phrases().entries, "time_left": []})
    tl = build_timeline(preset, phrases=book)
    ref = build_timeline(preset)
    left = [e for e in ref.events if e.text and "seconds left" in e.text]
    assert left and not any(e.text and "seconds left" in e.text for e in tl.events)
    assert tl.segments == ref.segments
    assert [e for e in ref.events if e not in left] == list(tl.events)


def test_the_spoken_length_estimate_grows_with_the_text_as_calibrated():
    # espeak-ng at 175 words a minute: about 68 ms a character, 120 ms a
    # pause at punctuation, and 50 ms more
    assert estimate_frames("a" * 20, SR) == round((0.068 * 20 + 0.05) * SR)
    assert estimate_frames("Lift, and hold.", SR) == round((0.068 * 15 + 0.12 * 2 + 0.05) * SR)
    lengths = [estimate_frames("word " * k, SR) for k in range(1, 6)]
    assert lengths == sorted(lengths) and len(set(lengths)) == 5


def test_each_phrase_length_is_asked_once_per_plan():
    # fitting tries the same phrases thousands of times; a length from the
    # cue cache costs a file read, so the plan remembers each answer
    asked: list[str] = []

    def frames(text: str) -> int:
        asked.append(text)
        return estimate_frames(text, 48000)

    once = build_timeline(load_preset("leg-lifts"), frames)
    assert asked and len(asked) == len(set(asked))
    assert once == build_timeline(load_preset("leg-lifts"), lambda t: estimate_frames(t, 48000))


def test_a_warmup_step_lasts_until_its_words_are_said_in_whole_seconds():
    # a step shorter than its line is stretched to the line and a breath
    # after it; a counted step's rounds may end between seconds, its
    # segment does not
    long_line = WarmupStep("Lie on your back, arms by your sides, and breathe out slowly", 1)
    counted = WarmupStep("Circle the ankles", 12.5, 3)
    preset = dataclasses.replace(load_preset("leg-lifts"), warmup=(long_line, counted))
    tl = build_timeline(preset, fake_speech(48000, 0.06), 48000)
    warm = [s for s in tl.segments if s.kind == SegmentKind.WARMUP]
    assert len(warm) == 2
    for seg, step in zip(warm, preset.warmup):
        said = [e for e in tl.events if e.kind == EventKind.SPEECH and seg.start <= e.frame < seg.end]
        assert said and max(e.end for e in said) < seg.end
        assert seg.frames % 48000 == 0 and seg.frames >= step.seconds * 48000
    assert warm[0].frames > 48000
