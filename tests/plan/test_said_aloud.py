"""What a listener hears, planned with a real voice (espeak-ng through
pyttsx3) and read from the real CLI's timeline JSON: side switches,
singular and plural, counts of phases that are not whole seconds, and the
shortest phase the tempo allows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(240)

SR = 48000
PRESETS = Path(__file__).parents[2] / "audio_cues" / "presets"


def timeline(run, *args: str) -> dict:
    res = run("timeline", *args, "--engine", "pyttsx3", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def said(tl: dict) -> list[dict]:
    return [e for e in tl["events"] if e["kind"] == "speech"]


def test_a_side_switch_is_said_in_every_set(run, tmp_path):
    # single-leg done one side, then the other: the other side's first rep is
    # also the halfway rep, and "Halfway, Right leg. Breathe out, lift" is too
    # long for it; the side is kept and the rest shortened, in every set.
    text = (PRESETS / "single-leg.toml").read_text().replace('sides = "alternate"', 'sides = "each"')
    preset = tmp_path / "each.toml"
    preset.write_text(text)
    tl = timeline(run, str(preset))
    firsts = {}
    for seg in tl["segments"]:
        if seg["rep"] is not None:
            firsts.setdefault((seg["set"], seg["side"]), seg["start"])
    assert len(firsts) == 6
    for (set_, side), start in firsts.items():
        cue = [e["text"] for e in said(tl) if e["frame"] == start]
        assert len(cue) == 1 and cue[0].startswith(side), (set_, side, cue)
        assert "out" in cue[0].lower(), cue          # and still the breath out
    lifts = [e["text"] for e in said(tl) if e["rep"] is not None and "leg" in e["text"]]
    assert len(lifts) == 6


@pytest.mark.parametrize("args, singular", [
    (("warmup",), ["Leg-lift warm-up. One set of 1 rep.", "Set 1 of 1. 1 rep. Get ready."]),
    (("leg-lifts", "--sets", "3", "--reps", "1"), ["Straight-leg lifts. 3 sets of 1 rep."]),
], ids=["warm-up", "one-rep"])
def test_one_of_a_thing_is_said_in_the_singular(run, args, singular):
    tl = timeline(run, *args)
    texts = [e["text"] for e in said(tl)]
    assert any(t in texts for t in singular), texts[:8]
    wrong = [t for t in texts if re.search(r"\b1 (reps|sets|seconds|holds)\b|\bOne set of 1\.", t)]
    assert wrong == []


def test_a_hold_of_one_second_and_one_set_in_the_singular(run, tmp_path):
    preset = tmp_path / "hold.toml"
    preset.write_text('title = "Plank"\nexercise = "plank"\nsets = 1\nreps = 1\nrest = 5\n'
                      'hold = 1\n')
    texts = [e["text"] for e in said(timeline(run, str(preset)))]
    assert "Plank. One hold of 1 second." in texts
    assert "Set 1 of 1. Hold for 1 second. Get ready." in texts


@pytest.mark.parametrize("tempo, words", [
    ("3.5-0-1-0", [(0, None), (SR, "Two"), (2 * SR, "Three")]),
    ("2.5-0-1-0", [(0, None), (SR, "Two")]),
    ("4-0-1-0", [(0, None), (SR, "Two"), (2 * SR, "Three"), (3 * SR, "Four")]),
])
def test_a_counted_phase_counts_only_its_whole_seconds(run, tempo, words):
    # leg-lifts counts the lowering: a 3.5 s lowering says "one" with its cue,
    # then Two and Three; a "Four" at 3 s would fall half a second before the
    # lift and run over it.
    tl = timeline(run, "leg-lifts", "--sets", "1", "--reps", "2", "--tempo", tempo)
    ecc = next(s for s in tl["segments"] if s["kind"] == "eccentric")
    got = [(e["frame"] - ecc["start"], e["text"]) for e in said(tl)
           if ecc["start"] <= e["frame"] < ecc["start"] + ecc["frames"]]
    assert [f for f, _ in got] == [f for f, _ in words]
    assert got[0][1].lower().endswith("one")
    assert [t for _, t in got[1:]] == [w for _, w in words[1:]]


def test_a_phase_of_a_tenth_of_a_second_is_kept_and_shorter_is_refused(run):
    tl = timeline(run, "leg-lifts", "--sets", "1", "--reps", "2", "--tempo", "2-0.1-1-0")
    bottoms = [s["frames"] for s in tl["segments"] if s["kind"] == "bottom"]
    assert bottoms == [SR // 10, SR // 10]
    res = run("timeline", "leg-lifts", "--tempo", "2-0.09-1-0", "--json")
    assert res.code == 2 and "0.1" in res.err and res.out == ""
