"""Chapters as a phone player lists them: exported through the real CLI with
real speech (espeak-ng), read back from the file's tags, and held to the
session's own timeline JSON."""

from __future__ import annotations

import json
from pathlib import Path

import mutagen
import pytest

from voicecoach.encode.chapters import Chapter, chapters, cue_sheet
from voicecoach.plan.kinds import EventKind, SegmentKind
from voicecoach.plan.timeline import Event, Segment, Timeline

pytestmark = pytest.mark.timeout(240)

SR = 48000

PRESET = """\
title = "Sides"
exercise = "lift"
sets = 2
reps = {reps}
rest = 20
tempo = "1-0-1-0"
sides = "{sides}"
"""


def exported_chapters(run, tmp_path: Path, sides: str, reps: int) -> tuple[list, dict]:
    """``[(start_frame_floored_to_ms, title)]`` read from an exported OGG, and its timeline."""
    preset = tmp_path / "sides.toml"
    preset.write_text(PRESET.format(sides=sides, reps=reps))
    res = run("timeline", str(preset), "--engine", "pyttsx3", "--json")
    assert res.code == 0, res.err
    timeline = json.loads(res.out)
    out = tmp_path / "sides.ogg"
    res = run("export", str(preset), "--engine", "pyttsx3", "-o", str(out))
    assert res.code == 0, res.err
    tags = mutagen.File(out)
    got = []
    for i in range(1, 100):
        if f"chapter{i:03d}" not in tags:
            break
        hh, mm, ss = tags[f"chapter{i:03d}"][0].split(":")
        ms = (int(hh) * 60 + int(mm)) * 60_000 + round(float(ss) * 1000)
        got.append((ms, tags[f"chapter{i:03d}name"][0]))
    return got, timeline


def _ms(frame: int) -> int:
    return frame * 1000 // SR


def test_each_sides_chapter_starts_at_its_first_cue(run, tmp_path):
    # One side, then the other, two sets of three: four side chapters, the
    # first side's at its set's announcement, the second's at its first cue
    # (the first lift on that side, which says the side).
    got, tl = exported_chapters(run, tmp_path, "each", 3)
    titles = [t for _, t in got]
    assert titles == ["Intro", "Set 1 of 2, Left", "Set 1 of 2, Right", "Rest",
                      "Set 2 of 2, Left", "Set 2 of 2, Right", "Outro"]
    speech = [e for e in tl["events"] if e["kind"] == "speech"]
    announce = {s: min(e["frame"] for e in speech if e["set"] == s and e["rep"] is None
                       and e["frame"] < min(g["start"] for g in tl["segments"]
                                            if g["set"] == s and g["rep"] is not None))
                for s in (1, 2)}
    right_cue = {s: min(e["frame"] for e in speech if e["set"] == s and e["rep"] == 4)
                 for s in (1, 2)}
    right_seg = {s: min(g["start"] for g in tl["segments"] if g["set"] == s and g["side"] == "Right")
                 for s in (1, 2)}
    assert right_cue == right_seg          # the switch is said on the first beat of that side
    starts = {t: ms for ms, t in got}
    get_ready = next(g["start"] for g in tl["segments"] if g["kind"] == "get_ready")
    assert starts["Set 1 of 2, Left"] == _ms(min(get_ready, announce[1]))
    assert starts["Set 2 of 2, Left"] == _ms(announce[2])
    assert starts["Set 1 of 2, Right"] == _ms(right_cue[1])
    assert starts["Set 2 of 2, Right"] == _ms(right_cue[2])


def test_alternating_sets_of_two_reps_give_each_side_its_own_start(run, tmp_path):
    # Two reps alternating, Left then Right, are each side once (as one rep
    # a side done in turn): each side's chapter starts at its first cue, the
    # first side's at the set's announcement; none ties with another and
    # swallows it.
    got, tl = exported_chapters(run, tmp_path, "alternate", 2)
    assert [t for _, t in got] == ["Intro", "Set 1 of 2, Left", "Set 1 of 2, Right", "Rest",
                                   "Set 2 of 2, Left", "Set 2 of 2, Right", "Outro"]
    assert [ms for ms, _ in got] == sorted({ms for ms, _ in got})   # strictly increasing
    starts = {t: ms for ms, t in got}
    for s in (1, 2):
        rep2 = min(e["frame"] for e in tl["events"]
                   if e["kind"] == "speech" and e["set"] == s and e["rep"] == 2)
        assert starts[f"Set {s} of 2, Right"] == _ms(rep2)
    speech = [e for e in tl["events"] if e["kind"] == "speech" and e["set"] == 2
              and e["rep"] is None]
    first_rep = min(g["start"] for g in tl["segments"] if g["set"] == 2 and g["rep"] is not None)
    assert starts["Set 2 of 2, Left"] == _ms(min(e["frame"] for e in speech if e["frame"] < first_rep))


def test_a_chapter_whose_start_ties_with_the_next_is_dropped():
    # An announcement said at the very start of the rest before its set
    # leaves the rest no time of its own: one chapter at that frame, the set's.
    segs = (Segment(SegmentKind.GET_READY, 0, SR, 1),
            Segment(SegmentKind.CONCENTRIC, SR, SR, 1, 1),
            Segment(SegmentKind.REST, 2 * SR, 5 * SR, 1),
            Segment(SegmentKind.CONCENTRIC, 7 * SR, SR, 2, 1),
            Segment(SegmentKind.OUTRO, 8 * SR, SR))
    events = (Event(2 * SR, EventKind.SPEECH, SR // 2, "Set 2 of 2.", 2, None),)
    tl = Timeline("x", SR, 9 * SR, segs, events)
    assert [(c.start, c.title) for c in chapters(tl)] == [
        (0, "Set 1 of 2"), (2 * SR, "Set 2 of 2"), (8 * SR, "Outro")]


def test_cue_sheet_file_type_is_mp3_or_wave_for_every_format():
    from voicecoach.encode.formats import FORMATS
    for fmt in FORMATS:
        sheet = cue_sheet([Chapter(0, "Intro")], f"s.{fmt}", 48000, fmt=fmt)
        assert f'FILE "s.{fmt}" {"MP3" if fmt == "mp3" else "WAVE"}\n' in sheet
