"""Form reminders: which reps carry one, and where in a rep it is said.

A reminder ("Keep your lower back on the mat") is news that may wait: it
never takes the place of a breath or a count, and a rep with no room for
it hands it on to the next rest (the scheduler keeps that list). Pure, like
the rest of :mod:`voicecoach.plan`: the rep's cues in, the rep's cues out,
tried with the real fitting.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from voicecoach.plan.fitting import ANCHORED, REMINDER, Say, fit_speech
from voicecoach.plan.kinds import SegmentKind, Side
from voicecoach.plan.phrases import PhraseBook
from voicecoach.plan.preset import Preset
from voicecoach.plan.timeline import Dropped, Event

Phases = Mapping[SegmentKind, tuple[int, int, Say | None]]
"""A rep's phases: kind -> (start frame, frames, its anchored cue or None)."""


def reminder_reps(preset: Preset, rep_prefix: Callable[[int], tuple[str, ...]]) -> list[int]:
    """Reps that carry a form reminder: about one in four, spread evenly,
    never the first, the halfway or the last rep (those have news).

    ``rep_prefix(rep)`` is what that rep's first cue is prefixed with (a
    side, "Last one"): a rep with a prefix already has news.
    """
    n = preset.reps_per_set
    alternate = preset.sides == Side.ALTERNATE  # every rep names its side: not news
    free = [r for r in range(2, n) if r != preset.halfway_rep and (alternate or not rep_prefix(r))]
    k = min(len(preset.cues.reminders), max(1, n // 4), len(free))
    return [free[round((i + 0.5) * len(free) / k - 0.5)] for i in range(k)] if k else []


@dataclass(frozen=True)
class RepReminder:
    """Places a form reminder among one rep's cues: ``say_len`` is a phrase's
    spoken length in frames, ``counted`` the phases counted aloud (nothing is
    said between counts), ``phrases`` tells a breath cue and the bare exhale."""

    say_len: Callable[[str], int]
    gap: int
    sr: int
    counted: Collection[SegmentKind]
    phrases: PhraseBook

    def place(
        self, cues: list[Say], phases: Phases, text: str, head: str, rep_start: int, end: int, set_: int, rep: int
    ) -> list[Say] | None:
        """The rep's cues with the form reminder ``text`` placed, or None
        when it has no room there. It never displaces the breath or the
        count; the first that fits, tried with the real fitting:

        1. in free room, with every cue as it is;
        2. joined to the lift cue, when that fits before the next cue;
        3. in the top, then the bottom pause, in place of its cue unless
           that cue is a breath, the cue before it as short as needed
           (but still saying the movement).

        ``head`` is the rep's prefix as said ("Left side"), kept on a
        shortened cue where it can be; the rep is ``[rep_start, end)``.
        """
        step = self.sr // 10  # a reminder is not on the beat: a tenth of a second will do
        length = self.say_len(text)
        counting = [(start, start + frames) for kind, (start, frames, _) in phases.items() if kind in self.counted]

        def clear_of_counts(at: int) -> bool:  # never spoken between "One" and "Two"
            return all(at + length + self.gap <= a or at >= b for a, b in counting)

        beats = tuple(filter(clear_of_counts, range(rep_start, end, step)))
        pauses = [phases[kind] for kind in (SegmentKind.TOP, SegmentKind.BOTTOM) if kind in phases]

        def reminder(onsets: tuple[int, ...]) -> Say:
            return Say((text,), tuple(filter(clear_of_counts, onsets)) or (end,), end - self.gap, REMINDER, set_, rep)

        def fit_in_rep(trial: list[Say]) -> tuple[list[Event], list[Dropped]]:
            local = [Say(r.candidates, r.onsets, min(r.limit, end - self.gap), r.priority, r.set, r.rep) for r in trial]
            return fit_speech(local, self.say_len, self.gap)

        baseline = len(fit_in_rep(cues)[1])

        def fits(trial: list[Say]) -> bool:
            spoken, dropped = fit_in_rep(trial)
            return len(dropped) <= baseline and any(text in (e.text or "") for e in spoken)

        trial = [*cues, reminder(tuple(p[0] for p in pauses) + beats)]
        if fits(trial):
            return trial
        lift = phases.get(SegmentKind.CONCENTRIC, (0, 0, None))[2]
        if lift is not None:
            heads = tuple(f"{c}. {text}" for c in self.worded(lift.candidates, head))
            trial = [
                Say(heads + lift.candidates, lift.onsets, lift.limit, ANCHORED, set_, rep) if r is lift else r
                for r in cues
            ]
            if fits(trial):
                return trial
        for start, _, said in pauses:
            breath = ("exhale_words", "inhale_words")
            if said is not None and any(self.phrases.says(w, said.candidates[0]) for w in breath):
                continue
            before = max(
                (r for r in cues if r.onsets[0] < start and r is not said), key=lambda r: r.onsets[0], default=None
            )
            if before is None:
                continue
            onsets = (start, *range(start - step, before.onsets[0], -step))
            for choice in self.worded(before.candidates, head):
                shorter = Say((choice,), before.onsets, before.limit, ANCHORED, before.set, before.rep)
                trial = [shorter if r is before else r for r in cues if r is not said]
                trial.append(reminder(onsets))
                if fits(trial):
                    return trial
        return None

    def worded(self, candidates: tuple[str, ...], head: str) -> list[str]:
        """Candidates that still say the movement, those that keep ``head``
        first if any: a reminder never cuts a lift cue down to the bare
        breath ("Out") or the bare side ("Left"), the slow voice's last resorts."""
        side, bare = head.rsplit(", ", 1)[-1], self.phrases.variants("exhale")
        worded = [c for c in candidates if c.rsplit(". ", 1)[-1] not in bare and c != side]
        return [c for c in worded if c.startswith(head)] or worded
