"""Planning part by part as the phrases arrive: what a part's plan says is final once its phrases are known."""

import zlib

import pytest

from voicecoach.plan.preset_files import builtin_names, load_preset
from voicecoach.plan.schedule import build_timeline, estimate_frames, plan_prefix

SR = 48000


def true_length(text: str) -> int:
    """A voice unlike the estimate: each phrase 0.6 to 1.5 times as long, fixed per phrase."""
    return round(estimate_frames(text, SR) * (0.6 + (zlib.crc32(text.encode()) % 91) / 100))


def before(timeline, frame):
    """Segments and events that begin before ``frame``."""
    return ([s for s in timeline.segments if s.start < frame], [e for e in timeline.events if e.frame < frame])


PRESETS = [load_preset(n).with_overrides(sets=3) for n in builtin_names()]


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_each_part_is_final_once_its_phrases_are_known_whatever_the_rest_say(preset):
    full = build_timeline(preset, true_length, SR)
    known: set[str] = set()
    finals = []
    while True:  # as the pipeline goes: a few of the earliest missing phrases synthesised, then planned again
        got = plan_prefix(preset, lambda t: true_length(t) if t in known else None, SR)
        assert before(got.timeline, got.final) == before(full, got.final), (len(known), got.final)
        finals.append(got.final)
        if not got.missing:
            break
        known.update(got.missing[:4])
    assert finals == sorted(finals)                        # the final frame only moves on
    assert finals[0] == 0 and finals[-1] == full.frames and got.timeline == full
    assert len(set(finals)) >= 4                           # intro and set 1, each rest and set, the outro


@pytest.mark.parametrize("preset", PRESETS[:3], ids=lambda p: p.name)
def test_the_final_part_does_not_move_with_the_lengths_of_phrases_not_yet_known(preset):
    """Whatever the missing phrases turn out to be (far shorter or far longer than estimated), the plan before
    the final frame is the same."""
    known: set[str] = set()
    base = plan_prefix(preset, lambda t: None, SR)
    while base.parts < 2:                                  # up to the end of set 2
        known.update(base.missing[:4])
        base = plan_prefix(preset, lambda t: true_length(t) if t in known else None, SR)
    assert 0 < base.final < base.timeline.frames and base.missing
    for scale in (0.3, 3.0):
        def length(text, scale=scale):
            return true_length(text) if text in known else round(true_length(text) * scale)
        other = build_timeline(preset, length, SR)
        assert before(other, base.final) == before(base.timeline, base.final), scale


def test_the_missing_phrases_come_part_by_part_and_the_earliest_first():
    preset = PRESETS[0]
    got = plan_prefix(preset, lambda t: None, SR)
    assert got.final == 0 and got.parts == 0
    summary = next(e.text for e in build_timeline(preset, true_length, SR).events if e.kind == "speech")
    assert summary in got.missing[:3]
    every = plan_prefix(preset, true_length, SR)
    assert every.missing == () and every.final == every.timeline.frames and every.parts == preset.sets + 1
