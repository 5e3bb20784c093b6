"""Breath on every lift: the exhale cue on every concentric phase, the count
on every counted descent, and form reminders only where they displace
neither -- checked over every built-in, with estimated, fast, slow and real
voice lengths."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from voicecoach.plan.preset import Cues
from voicecoach.plan.preset_files import builtin_names, load_preset
from voicecoach.plan.phrases import default_phrases
from voicecoach.plan.schedule import build_timeline, estimate_frames
from voicecoach.plan.timeline import Timeline

SR = 48000
EXHALE = re.compile(r"\b(breathe out|exhale)\b|(^|[.,]\s*)out\b", re.IGNORECASE)
INHALE = re.compile(r"\bbreathe in\b|^in\b", re.IGNORECASE)


def voice(scale: float):
    """Spoken lengths: the planner's estimate scaled (1.6: a slow neural voice)."""
    def frames(text: str) -> int:
        return round(estimate_frames(text, SR) * scale)
    return frames


def spoken_at(tl: Timeline, frame: int) -> list[str]:
    return [e.text for e in tl.events if e.kind == "speech" and e.frame == frame]


BARE = re.compile(r"(^|\. )(Breathe out|Out)$")


def check_breath(preset, tl: Timeline, worded: bool = True) -> None:
    """``worded``: every lift cue also says the movement, not the bare breath
    (the last resort of a voice too slow for anything else)."""
    speech = [e for e in tl.events if e.kind == "speech"]
    for seg in (s for s in tl.segments if s.kind == "concentric"):
        said = spoken_at(tl, seg.start)
        assert len(said) == 1 and EXHALE.search(said[0]), (preset.name, seg, said)
        assert not (worded and BARE.search(said[0])), (preset.name, seg, said)
    if "eccentric" in preset.count:
        for seg in (s for s in tl.segments if s.kind == "eccentric"):
            for k in range(seg.frames // tl.samplerate):
                said = spoken_at(tl, seg.start + k * tl.samplerate)
                assert len(said) == 1 and said[0].endswith(default_phrases().number(k + 1)), (seg, k, said)
    if preset.cues.bottom and INHALE.search(preset.cues.bottom[0]):
        for seg in (s for s in tl.segments if s.kind == "bottom"):     # the breath in stays
            assert any(INHALE.search(t) for t in spoken_at(tl, seg.start)), seg
    for a, b in zip(speech, speech[1:]):
        assert a.end <= b.frame, (a, b)                                 # nothing overlaps
    assert not tl.dropped, tl.dropped                                   # nothing left out
    reminders = set(preset.cues.reminders)
    said = [e for e in speech if any(r in e.text for r in reminders)]
    assert len({r for r in reminders for e in said if r in e.text}) >= min(len(reminders), 2)


@pytest.mark.parametrize("scale", [0.7, 1.0, 1.6], ids=["fast", "estimate", "slow"])
@pytest.mark.parametrize("name", builtin_names())
def test_every_lift_breathes_out_and_every_descent_is_counted(name, scale):
    preset = load_preset(name)
    check_breath(preset, build_timeline(preset, voice(scale)), worded=scale <= 1)


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("voice-cache")


@pytest.mark.parametrize("name", builtin_names())
def test_every_lift_breathes_out_with_the_real_voice(name, real_cache):
    from voicecoach.cues.timing import cue_bank, spoken_timeline
    preset = load_preset(name)
    bank = cue_bank(preset, real_cache)
    try:
        tl = spoken_timeline(preset, bank)
    finally:
        bank.close()
    check_breath(preset, tl)


def test_a_form_reminder_no_longer_takes_the_place_of_the_breath():
    preset = load_preset("leg-lifts")
    tl = build_timeline(preset, voice(0.7))
    for rep in (3, 8):                        # the reps that carry a reminder in set 1
        segs = {s.kind: s for s in tl.segments if s.set == 1 and s.rep == rep}
        lift, top, lower, bottom = (segs[k] for k in ("concentric", "top", "eccentric", "bottom"))
        in_rep = [e for e in tl.events if e.kind == "speech" and lift.start <= e.frame < bottom.end]
        texts = [e.text for e in in_rep]
        assert EXHALE.search(texts[0]) and in_rep[0].frame == lift.start
        reminder = next(e for e in in_rep if e.text in preset.cues.reminders)
        assert lift.start < reminder.frame and reminder.end <= lower.start   # before the count
        assert texts[-4:] == ["One", "Two", "Three", "Breathe in"]
        assert spoken_at(tl, bottom.start) == ["Breathe in"]


def test_a_short_reminder_is_joined_to_the_lift_cue():
    base = load_preset("leg-lifts")
    preset = replace(base, cues=replace(base.cues, reminders=("Keep breathing slowly",)))
    tl = build_timeline(preset, voice(0.7))
    joined = [e for e in tl.events if e.kind == "speech" and e.text.endswith(". Keep breathing slowly")]
    assert joined and all(EXHALE.search(e.text.split(".")[0]) for e in joined), joined
    for e in joined:
        lift = next(s for s in tl.segments if (s.set, s.rep, s.kind) == (e.set, e.rep, "concentric"))
        top = next(s for s in tl.segments if (s.set, s.rep, s.kind) == (e.set, e.rep, "top"))
        assert e.frame == lift.start and e.end <= top.start
        assert spoken_at(tl, top.start) == ["Now lower"]      # the top keeps its cue


def test_a_reminder_with_no_room_in_its_rep_is_said_in_the_rest():
    base = load_preset("single-leg")                 # no top pause, a breath at the bottom
    preset = replace(base, cues=replace(base.cues, reminders=(
        "Keep both hips level on the mat", "Press the whole back into the floor")))
    tl = build_timeline(preset, voice(1.0))
    rest = next(s for s in tl.segments if s.kind == "rest")
    in_reps = [e.text for e in tl.events if e.kind == "speech" and e.rep is not None
               and e.text in preset.cues.reminders]
    in_rest = [e.text for e in tl.events if e.kind == "speech" and rest.start <= e.frame < rest.end
               and e.text in preset.cues.reminders]
    assert in_reps == [] and sorted(in_rest) == sorted(preset.cues.reminders)


@pytest.mark.parametrize("concentric, first", [
    (("Lift",), "Out, lift"),
    (("Raise your legs", "Up"), "Out, raise your legs"),
    ((), "Breathe out"),
    (("Exhale and lift",), "Exhale and lift"),
])
def test_a_lift_cue_without_the_exhale_gets_it(concentric, first):
    base = load_preset("leg-lifts")
    preset = replace(base, cues=Cues(concentric=concentric))
    tl = build_timeline(preset, voice(0.7))
    lift = next(s for s in tl.segments if s.kind == "concentric")
    assert spoken_at(tl, lift.start) == [first]


def test_a_reminder_with_no_room_and_no_rest_is_reported_as_left_out():
    base = load_preset("single-leg")
    preset = replace(base, sets=1, cues=replace(base.cues, reminders=("Keep both hips level on the mat",)))
    tl = build_timeline(preset, voice(1.0))
    assert [d.text for d in tl.dropped] == ["Keep both hips level on the mat"]
    lifts = {s.start for s in tl.segments if s.kind == "concentric"}
    assert all(d.frame in lifts for d in tl.dropped)          # reported at its rep
