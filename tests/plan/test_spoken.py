"""What the listener hears in the first set and the first rest of every
built-in, and the rules behind it: count-ins, accents, ticks, time left,
side names, a preset's own sounds.

The golden transcripts in ``tests/plan/spoken/`` are generated from the
timeline (with a fixed speech-length function, so they do not depend on a
voice) and reviewed by eye; ``scripts/update_goldens`` rewrites them.
"""

from dataclasses import replace
from pathlib import Path

import pytest

from voicecoach.plan.phrases import default_phrases
from voicecoach.plan.preset import WarmupStep
from voicecoach.plan.preset_files import builtin_names, load_preset
from voicecoach.plan.schedule import build_timeline
from voicecoach.plan.kinds import REP_KINDS, Side

SR = 48000
HERE = Path(__file__).parent / "spoken"
EXTRA = sorted(p.stem for p in HERE.glob("*.toml"))     # test presets beside the goldens


def preset_named(name):
    return load_preset(str(HERE / f"{name}.toml")) if name in EXTRA else load_preset(name)


def _clock(frame, sr):
    return f"{frame // sr // 60}:{frame % (60 * sr) / sr:06.3f}"


def transcript(tl, preset):
    """The session up to the first rep of set 2 (all of it with one set), one
    line per moment something is heard: the sounds, then what is said."""
    sr = tl.samplerate
    end = next((s.start for s in tl.segments if s.kind in REP_KINDS and s.set == 2), tl.frames)
    lines = [f"# {preset.name}: what is heard until set 2 begins (scripts/update_goldens)",
             "# segment header: kind, set/rep/side, start m:ss.mmm, length s",
             "# event line: offset in the segment, sounds at that frame, words said",
             ""]
    events = [e for e in tl.events if e.frame <= end]
    for seg in tl.segments:
        if seg.start >= end:
            break
        where = " ".join(f"{k} {v}" for k, v in (("set", seg.set), ("rep", seg.rep),
                                                  ("side", seg.side)) if v is not None)
        lines.append(f"[{seg.kind}{' ' + where if where else ''}] at {_clock(seg.start, sr)}, "
                     f"{seg.frames / sr:g} s")
        here = {}
        for e in events:
            if seg.start <= e.frame < seg.end:
                here.setdefault(e.frame, []).append(e)
        for frame, group in sorted(here.items()):
            sounds = " ".join(e.sound or e.kind for e in group if e.kind != "speech")
            said = " | ".join(f'"{e.text}"' for e in group if e.kind == "speech")
            lines.append(f"  +{(frame - seg.start) / sr:7.3f}  {sounds:<8} {said}".rstrip())
    if end < tl.frames:
        group = [e for e in events if e.frame == end]
        sounds = " ".join(e.sound or e.kind for e in group if e.kind != "speech")
        said = " | ".join(f'"{e.text}"' for e in group if e.kind == "speech")
        lines.append(f"[set 2 begins] at {_clock(end, sr)}")
        lines.append(f"  +  0.000  {sounds:<8} {said}".rstrip())
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", builtin_names() + EXTRA)
def test_first_set_and_rest_sound_as_reviewed(name, speech_len, update_goldens):
    preset = preset_named(name)
    got = transcript(build_timeline(preset, speech_len()), preset)
    golden = HERE / f"{name}.txt"
    if update_goldens:
        golden.write_text(got, encoding="utf-8")
    assert golden.exists(), f"no golden transcript for {name}: run scripts/update_goldens"
    assert got == golden.read_text(encoding="utf-8"), \
        f"what {name} says changed: run scripts/update_goldens and review the diff"


# ---------------------------------------------------------------- the rules

def at(tl, frame):
    """(sounds, words) heard starting exactly at ``frame``."""
    group = [e for e in tl.events if e.frame == frame]
    return ([e.sound or e.kind for e in group if e.kind != "speech"],
            [e.text for e in group if e.kind == "speech"])


def set_starts(tl):
    starts = {}
    for s in tl.segments:
        if s.kind in REP_KINDS:
            starts.setdefault(s.set, s.start)
    return starts


@pytest.mark.parametrize("name", builtin_names() + EXTRA)
def test_every_set_has_a_three_two_one_count_in_with_a_tick_on_each(name, speech_len):
    preset = preset_named(name)
    tl = build_timeline(preset, speech_len())
    starts = set_starts(tl)
    assert sorted(starts) == list(range(1, preset.sets + 1))
    for set_, start in starts.items():
        heard = [at(tl, start - k * SR) for k in (3, 2, 1)]
        assert [words for _, words in heard] == [["Three"], ["Two"], ["One"]], (set_, heard)
        tick = "tick"
        assert all(sounds == [tick] for sounds, _ in heard), (set_, heard)
        # nothing else is said during the count-in
        said = [e for e in tl.events if e.kind == "speech" and start - 3 * SR < e.end
                and e.frame < start and e.text not in ("Three", "Two", "One")]
        assert not said, said


@pytest.mark.parametrize("name", builtin_names() + EXTRA)
def test_every_lift_and_lowering_starts_with_one_accent_and_ticks_each_second(name, speech_len):
    preset = preset_named(name)
    tl = build_timeline(preset, speech_len())
    sounds_at = {}
    for e in tl.events:
        if e.kind != "speech" and e.sound != "rest_end":     # a rest's end sound may join the accent
            sounds_at.setdefault(e.frame, []).append(e.kind)
    for seg in tl.segments:
        if seg.kind in ("concentric", "eccentric"):
            assert sounds_at.get(seg.start) == ["accent"], seg
            for k in range(1, -(-seg.frames // SR)):
                assert sounds_at.get(seg.start + k * SR) == ["tick"], (seg, k)
        elif seg.kind in ("top", "bottom"):
            assert seg.start not in sounds_at or sounds_at[seg.start] == ["tick"], seg
        elif seg.kind == "hold":
            assert sounds_at.get(seg.start) == ["accent"], seg


@pytest.mark.parametrize("name", builtin_names() + EXTRA)
def test_counted_phases_count_up_from_one_on_the_beat(name, speech_len):
    preset = preset_named(name)
    tl = build_timeline(preset, speech_len())
    counted = [s for s in tl.segments if s.kind in preset.count]
    assert bool(counted) == bool(preset.count and preset.hold is None)
    for seg in counted:
        words = [at(tl, seg.start + k * SR)[1] for k in range(seg.frames // SR)]
        assert words[0] and words[0][0].endswith(("one", "One")), (seg, words)
        assert [w[0] for w in words[1:]] == [default_phrases().number(k + 1) for k in range(1, len(words))]


def test_the_warm_up_count_accents_its_first_round_and_ticks_the_rest(speech_len):
    preset = load_preset("leg-lifts")
    tl = build_timeline(preset, speech_len())
    step = next(s for s in tl.segments if s.kind == "warmup")
    rounds = [(e.frame, e.text) for e in tl.events
              if e.kind == "speech" and step.start < e.frame < step.end]
    assert [t for _, t in rounds] == ["One", "Two", "Three", "Four", "Five"]
    assert [at(tl, f)[0] for f, _ in rounds] == [["accent"]] + [["tick"]] * 4
    gaps = {b - a for (a, _), (b, _) in zip(rounds, rounds[1:])}
    assert len(gaps) == 1 and gaps.pop() >= 1.5 * SR          # evenly spread, unhurried
    assert rounds[-1][0] < step.end


def time_left_texts(seconds):
    return set(default_phrases().variants("time_left", seconds=seconds))


@pytest.mark.parametrize("rest, left", [(60, 30), (45, 30), (35, 30), (34, 10), (20, 10),
                                        (14, None)])
def test_a_rest_announces_the_time_left_once_at_its_moment(rest, left, speech_len):
    preset = load_preset("leg-lifts").with_overrides(rest=rest)
    tl = build_timeline(preset, speech_len())
    rests = [s for s in tl.segments if s.kind == "rest"]
    assert len(rests) == 2
    any_left = time_left_texts(30) | time_left_texts(10)
    for r in rests:
        said = [(e.frame, e.text) for e in tl.events
                if e.kind == "speech" and r.start <= e.frame < r.end and e.text in any_left]
        if left is None:
            assert said == []
        else:
            assert len(said) == 1 and said[0][1] in time_left_texts(left), said
            assert said[0][0] == r.end - left * SR
        # what the rest says belongs to the set just done; the count-in to the next
        in_rest = [e for e in tl.events if e.kind == "speech" and r.start <= e.frame < r.end]
        nxt = set(default_phrases().variants("set_next", set=r.set + 1, sets=3))
        for e in in_rest:
            counting = e.text in ("Three", "Two", "One") or e.text in nxt
            assert e.set == (r.set + 1 if counting else r.set), e
        assert at(tl, r.start)[0] == ["bell"]
        first = [e for e in tl.events if e.kind == "speech" and e.frame == r.start]
        assert first and str(rest) in first[0].text     # "Rest for 60 seconds"


def test_a_rest_names_the_next_set_and_gives_a_reminder(speech_len):
    preset = load_preset("leg-lifts")
    tl = build_timeline(preset, speech_len())
    rest = next(s for s in tl.segments if s.kind == "rest")
    said = [e for e in tl.events if e.kind == "speech" and rest.start <= e.frame < rest.end]
    nxt = set(default_phrases().variants("set_next", set=2, sets=3))
    assert sum(e.text in nxt for e in said) == 1
    assert sum(e.text in preset.cues.reminders for e in said) == 1
    # in order: rest, next set, time left ... and the count-in last
    assert said[-3:] and [e.text for e in said[-3:]] == ["Three", "Two", "One"]


def test_a_hold_counts_its_time_left_and_the_last_three_seconds(speech_len):
    preset = load_preset("plank")
    tl = build_timeline(preset, speech_len())
    hold = next(s for s in tl.segments if s.kind == "hold")
    said = [(e.frame - hold.start, e.text) for e in tl.events
            if e.kind == "speech" and hold.start < e.frame < hold.end]
    assert said[-3:] == [(27 * SR, "Three"), (28 * SR, "Two"), (29 * SR, "One")]
    lefts = [(f, t) for f, t in said if t in time_left_texts(20) | time_left_texts(10)]
    assert [f for f, _ in lefts] == [10 * SR, 20 * SR]
    assert [at(tl, hold.start + k * SR)[0] for k in (27, 28, 29)] == [["tick"]] * 3


def each_side_preset():
    return preset_named("each-side")


def test_each_side_works_one_side_then_the_other_and_says_so(speech_len):
    preset = each_side_preset()
    tl = build_timeline(preset, speech_len())
    first, second = preset.side_names
    n = preset.reps
    lifts = [s for s in tl.segments if s.kind == preset.phases[0] and s.set == 1]
    assert [s.side for s in lifts] == [first] * n + [second] * n
    cues = {s.rep: at(tl, s.start)[1] for s in lifts}
    assert cues[1][0].startswith(first)
    assert second in cues[n + 1][0] and first not in cues[n + 1][0]
    for rep, words in cues.items():
        if rep not in (1, n + 1):
            assert not any(first in w or second in w for w in words), (rep, words)
    said = " ".join(e.text for e in tl.events if e.kind == "speech" and e.set == 1
                    and e.rep is not None and e.rep <= n)
    assert second not in said


def test_a_presets_own_rest_end_sound_ends_every_rest(speech_len):
    preset = each_side_preset()
    assert preset.sound("rest_end") and preset.sound("tick")
    tl = build_timeline(preset, speech_len(), sound_lengths={"rest_end": 12345, "tick": 777})
    rests = [s for s in tl.segments if s.kind == "rest"]
    ends = [e for e in tl.events if e.sound == "rest_end"]
    assert [(e.frame, e.kind, e.frames) for e in ends] == [(r.end, "bell", 12345) for r in rests]
    assert {e.frames for e in tl.events if e.kind == "tick"} == {777}


def test_without_a_rest_end_sound_no_rest_end_is_played(speech_len):
    tl = build_timeline(load_preset("leg-lifts"), speech_len())
    assert not [e for e in tl.events if e.sound == "rest_end"]
    bells = [e.frame for e in tl.events if e.kind == "bell"]
    assert len(bells) == 3      # two rests and the end of the session


@pytest.mark.parametrize("hold, counted", [(2, ["One"]), (3, ["Two", "One"]),
                                           (4, ["Three", "Two", "One"]),
                                           (12, ["Three", "Two", "One"])])
def test_a_short_hold_counts_down_only_the_seconds_it_has(hold, counted, speech_len):
    preset = replace(load_preset("plank"), hold=hold)
    tl = build_timeline(preset, speech_len())
    seg = next(s for s in tl.segments if s.kind == "hold")
    words = [e.text for e in tl.events if e.kind == "speech" and seg.start < e.frame < seg.end
             and e.text in ("Three", "Two", "One")]
    assert words == counted
    ticks = [e.frame - seg.start for e in tl.events
             if e.kind == "tick" and seg.start <= e.frame < seg.end]
    assert ticks == [(hold - k) * SR for k in range(len(counted), 0, -1)]


def _reminders_in_rests(tl, preset):
    return [[e.text for e in tl.events if e.kind == "speech" and s.start <= e.frame < s.end
             and e.text in preset.cues.reminders] for s in tl.segments if s.kind == "rest"]


def test_reminders_with_no_room_in_their_reps_are_said_in_the_rest_once_each(speech_len):
    # at 2-0-1-0 no rep has room for a form reminder: each goes to the rest
    # after its set, the last set's to the rest before it; none is said twice
    # in one rest, and none is lost
    preset = load_preset("leg-lifts").with_overrides(tempo="2-0-1-0", sets=2)
    tl = build_timeline(preset, speech_len())
    r = preset.cues.reminders
    in_reps = [e for e in tl.events if e.kind == "speech" and e.text in r and e.rep is not None]
    assert in_reps == []
    # the rest's own reminder, set 1's two (reps 3 and 8), then set 2's new one
    assert _reminders_in_rests(tl, preset) == [[r[4], r[0], r[1], r[2]]]
    three = load_preset("leg-lifts").with_overrides(tempo="2-0-1-0", sets=3)
    tl = build_timeline(three, speech_len())
    # a later rest may repeat what an earlier rest said: it is that set's reminder
    assert _reminders_in_rests(tl, three) == [[r[4], r[0], r[1]], [r[3], r[1], r[2]]]
    # with one set there is no rest: they are not said, and reported as dropped at their reps
    one = load_preset("leg-lifts").with_overrides(tempo="2-0-1-0", sets=1)
    tl = build_timeline(one, speech_len())
    assert not [e for e in tl.events if e.kind == "speech" and e.text in r]
    starts = {rep: min(s.start for s in tl.segments if s.rep == rep) for rep in (3, 8)}
    assert [(d.frame, d.text) for d in tl.dropped] == [(starts[3], r[0]), (starts[8], r[1])]


def test_a_warm_up_step_too_short_for_its_count_grows_to_hold_every_round(speech_len):
    # Two seconds for four unhurried rounds (1.5 s each): the step is
    # lengthened so "Four" is still said in the warm-up, not over the next part.
    preset = replace(load_preset("leg-lifts"), warmup=(WarmupStep("Breathe", 2, 4),))
    tl = build_timeline(preset, speech_len())
    step = next(s for s in tl.segments if s.kind == "warmup")
    assert step.frames == 7 * SR        # 1 s to the first round, 4 x 1.5 s, on a whole second
    rounds = [(e.frame - step.start, e.text) for e in tl.events
              if e.kind == "speech" and step.start < e.frame < step.end]
    assert rounds == [(SR, "One"), (SR + 3 * SR // 2, "Two"), (SR + 3 * SR, "Three"),
                      (SR + 9 * SR // 2, "Four")]


@pytest.mark.parametrize("sides, halfway, heads", [
    # Alternating: "Halfway, Right side. ..." and "Last one, Right side. ..."
    # do not fit before the next cue with this slower voice; the side is kept.
    (Side.ALTERNATE, 6, {6: "Right side", 10: "Right side", 5: "Left side"}),
    # One side, then the other: the set's halfway is the other side's first
    # rep, "Halfway, Right side"; the shorter head keeps the side switch.
    (Side.EACH, 11, {11: "Right side"}),
], ids=["alternate", "each"])
def test_a_head_with_no_room_keeps_the_part_that_matters_for_its_sides(
        speech_len, sides, halfway, heads):
    preset = replace(load_preset("leg-lifts"), sides=sides,
                     side_names=("Left side", "Right side"), sets=1)
    tl = build_timeline(preset, speech_len(per_char=0.07))
    lifts = {s.rep: s for s in tl.segments if s.kind == "concentric"}
    assert preset.halfway_rep == halfway
    for rep, head in heads.items():
        assert at(tl, lifts[rep].start)[1] == [f"{head}. Out, and lift"], rep
