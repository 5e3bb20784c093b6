"""Which reps carry a form reminder, and placing one among a rep's cues,
through the module's own seam (the scheduler's use is in test_breath.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from voicecoach.plan.fitting import ANCHORED, Say, fit_speech
from voicecoach.plan.kinds import SegmentKind, Side
from voicecoach.plan.phrases import default_phrases
from voicecoach.plan.preset_files import load_preset
from voicecoach.plan.reminders import RepReminder, reminder_reps

SR = 48000
GAP = 3840


def no_prefix(rep: int) -> tuple[str, ...]:
    return ()


def preset(reps: int, reminders: int = 3, sides: Side = Side.NONE):
    base = load_preset("leg-lifts")
    texts = tuple(f"Reminder {i}" for i in range(reminders))
    return replace(base, reps=reps, sides=sides, cues=replace(base.cues, reminders=texts))


def test_about_one_rep_in_four_spread_evenly_never_first_halfway_or_last():
    p = preset(12)
    assert p.halfway_rep == 7
    # free reps 2-6 and 8-11 (nine); three reminders at their 2nd, 5th and 8th
    assert reminder_reps(p, no_prefix) == [3, 6, 10]


def test_a_rep_that_already_has_news_gets_no_reminder():
    p = preset(12)
    got = reminder_reps(p, lambda rep: ("Left",) if rep in (3, 6) else ())
    assert 3 not in got and 6 not in got and len(got) == 3


def test_alternating_sides_still_get_reminders_though_every_rep_names_a_side():
    p = preset(12, sides=Side.ALTERNATE)
    assert reminder_reps(p, lambda rep: ("Left",)) == [3, 6, 10]


@pytest.mark.parametrize("reps, reminders, expected", [(12, 1, [6]), (3, 3, [2]), (2, 3, [])])
def test_no_more_reminders_than_written_or_than_free_reps(reps, reminders, expected):
    assert reminder_reps(preset(reps, reminders), no_prefix) == expected


def frames(text: str) -> int:
    return 2400 * len(text.split())          # 50 ms a word: a fixed voice


def rep_cues(pause: int):
    """A rep: a 1 s lift from 0, a top pause of ``pause`` frames, a 1 s lowering."""
    lift = Say(("Out, lift",), (0,), 2**62, ANCHORED, 1, 2)
    top = Say(("Hold",), (SR,), 2**62, ANCHORED, 1, 2)
    lower = Say(("And down",), (SR + pause,), 2**62, ANCHORED, 1, 2)
    phases = {SegmentKind.CONCENTRIC: (0, SR, lift), SegmentKind.TOP: (SR, pause, top),
              SegmentKind.ECCENTRIC: (SR + pause, SR, lower)}
    return [lift, top, lower], phases, 2 * SR + pause


def test_a_reminder_goes_where_there_is_room_and_displaces_no_cue():
    cues, phases, end = rep_cues(pause=SR)
    placer = RepReminder(frames, GAP, SR, (), default_phrases())
    placed = placer.place(cues, phases, "Keep your back flat", "", 0, end, 1, 2)
    assert placed is not None and placed[:3] == cues            # every cue as it was
    spoken, dropped = fit_speech(placed, frames, GAP)
    said = {e.text: e for e in spoken}
    assert dropped == [] and {"Out, lift", "Hold", "And down", "Keep your back flat"} <= set(said)
    reminder = said["Keep your back flat"]
    assert reminder.frame >= 0 and reminder.end + GAP <= end


def test_no_room_in_the_rep_is_none():
    cues, phases, end = rep_cues(pause=0)
    del phases[SegmentKind.TOP]
    cues = [cues[0], cues[2]]
    placer = RepReminder(frames, GAP, SR, (SegmentKind.CONCENTRIC, SegmentKind.ECCENTRIC),
                         default_phrases())
    text = " ".join(["word"] * 40)                               # 2 s: longer than any gap
    assert placer.place(cues, phases, text, "", 0, end, 1, 2) is None


def test_a_reminder_keeps_off_a_counted_phase_even_when_its_counts_were_dropped():
    # A voice so slow (1.1 s a word) that neither the lift cue nor the counts
    # fit: the counted lowering is left silent, and the reminder is not said
    # over it -- this rep has no room for it at all.
    def slow(text: str) -> int:
        return round(1.1 * SR) * len(text.split())
    lift = Say(("Out, lift",), (0,), 2**62, ANCHORED, 1, 2)
    one = Say(("Lower, one", "One"), (SR,), 2**62, ANCHORED, 1, 2)
    two = Say(("Two",), (2 * SR,), 3 * SR, ANCHORED, 1, 2)
    phases = {SegmentKind.CONCENTRIC: (0, SR, lift), SegmentKind.ECCENTRIC: (SR, 2 * SR, one)}
    cues = [lift, one, two]
    assert len(fit_speech(cues, slow, GAP)[1]) == 3                 # all three dropped
    placer = RepReminder(slow, GAP, SR, (SegmentKind.ECCENTRIC,), default_phrases())
    assert placer.place(cues, phases, "Flat back", "", 0, 3 * SR, 1, 2) is None


def test_a_cue_already_running_into_the_reps_closing_gap_does_not_keep_the_reminder_out():
    # The lowering cue ends inside the silence kept before the next rep: it
    # would be cut there with or without a reminder, so the reminder costs
    # no cue and is still said, in free room.
    cues, phases, end = rep_cues(pause=SR)
    lower = replace(cues[2], onsets=(end - frames("And down") - GAP // 2,))
    cues = [cues[0], cues[1], lower]
    phases[SegmentKind.ECCENTRIC] = (phases[SegmentKind.ECCENTRIC][0], SR, lower)
    placer = RepReminder(frames, GAP, SR, (), default_phrases())
    placed = placer.place(cues, phases, "Keep your back flat", "", 0, end, 1, 2)
    assert placed is not None and placed[:3] == cues              # every cue as it was
    said = {e.text for e in fit_speech(placed, frames, GAP)[0]}
    assert {"Out, lift", "Hold", "And down", "Keep your back flat"} <= said


def test_a_rep_that_opens_with_its_pause_and_has_no_room_gets_no_reminder():
    # the top pause comes first: there is no cue before it to shorten
    hold = Say(("Hold",), (0,), 2**62, ANCHORED, 1, 2)
    phases = {SegmentKind.TOP: (0, SR, hold)}
    placer = RepReminder(frames, GAP, SR, (), default_phrases())
    text = " ".join(["word"] * 20)                               # 1 s: no room in a 1 s rep
    assert placer.place([hold], phases, text, "", 0, SR, 1, 2) is None
