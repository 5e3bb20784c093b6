"""Speech fitting: the planner's spoken cues placed on the timeline, no two
overlapping.

Beat-anchored cues (counts, phase cues, count-ins) are placed first, each
allowed to run only until the next anchored cue; the first of its variants
that fits is spoken, and a cue with no fitting variant is dropped and
reported in :attr:`Timeline.dropped` -- never pushed late. Floating cues (set
announcements, time left, form reminders) then take the first free beat in
their window.

Pure, like the scheduler: spoken lengths come from the function passed in.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voicecoach.plan.kinds import EventKind
from voicecoach.plan.timeline import Dropped, Event

# Priorities: lower is placed first.
ANCHORED, ANNOUNCE, TIME_LEFT, REMINDER = 0, 1, 2, 3


@dataclass(slots=True)
class Say:
    """One cue the planner wants spoken."""

    candidates: tuple[str, ...]  # variants, preferred first
    onsets: tuple[int, ...]  # allowed onsets, preferred first
    limit: int  # the phrase must end by this frame
    priority: int
    set: int | None
    rep: int | None


def fit_speech(
    requests: Sequence[Say], speech_frames: Callable[[str], int], gap: int
) -> tuple[list[Event], list[Dropped]]:
    """Place ``requests`` with at least ``gap`` frames between phrases; return
    the speech events and the cues dropped for want of room."""
    anchored = sorted((r for r in requests if r.priority == ANCHORED), key=lambda r: r.onsets[0])
    floating = sorted((r for r in requests if r.priority != ANCHORED), key=lambda r: (r.priority, r.onsets[0]))
    limits = [min(this.limit, after.onsets[0] - gap) for this, after in itertools.pairwise(anchored)]
    limits += [r.limit for r in anchored[len(limits) :] + floating]
    starts: list[int] = []  # placed phrases, sorted, as [start, end + gap)
    ends: list[int] = []

    def place(req: Say, limit: int) -> tuple[int, str, int] | None:
        for text in req.candidates:
            length = speech_frames(text)
            for at in req.onsets:
                if at + length > limit:
                    continue
                i = bisect.bisect(starts, at)
                if i > 0 and ends[i - 1] > at:
                    continue
                if i < len(starts) and starts[i] < at + length + gap:
                    continue
                return at, text, length
        return None

    spoken: list[Event] = []
    dropped: list[Dropped] = []
    for req, limit in zip(anchored + floating, limits, strict=True):
        placed = place(req, limit)
        if placed is None:
            dropped.append(Dropped(req.onsets[0], req.candidates[0]))
            continue
        at, text, length = placed
        i = bisect.bisect(starts, at)
        starts.insert(i, at)
        ends.insert(i, at + length + gap)
        spoken.append(Event(at, EventKind.SPEECH, length, text, req.set, req.rep))
    return spoken, dropped
