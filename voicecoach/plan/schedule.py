"""The scheduler: a preset becomes the timed plan of a whole session.

Pure: no audio, no clock, no I/O. The one thing it needs from outside is how
long each phrase sounds, given as a function from text to frames, so the same
code plans with an estimate (tests, no speech engine) or with the real voice.

Time is integer frames at the session rate, computed once per phase length;
positions are sums of integers, so nothing drifts however long the session.

Spoken cues are requested here and placed by :mod:`voicecoach.plan.fitting`;
where a rep's form reminder goes is :mod:`voicecoach.plan.reminders`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from voicecoach.common.numbers import is_int
from voicecoach.plan.fitting import ANCHORED, ANNOUNCE, REMINDER, TIME_LEFT, Say, fit_speech
from voicecoach.plan.kinds import COUNT_IN, MOVING_KINDS, EventKind, SegmentKind, Side
from voicecoach.plan.metronome import SOUND_SECONDS, sound_frames
from voicecoach.plan.phrases import PhraseBook, default_phrases, number_word
from voicecoach.plan.preset import Preset
from voicecoach.plan.reminders import RepReminder, reminder_reps
from voicecoach.plan.timeline import Dropped, Event, Segment, Timeline

SpeechFrames = Callable[[str], int]

DEFAULT_SAMPLERATE = 48000
GAP_SECONDS = 0.08  # silence kept between two phrases
START_SECONDS = 0.02  # before the start accent: sound servers fade a new stream in
LEAD_SECONDS = 0.3  # from the start accent to the first word
INTRO_GAP_SECONDS = 0.4  # between intro sentences
TAIL_SECONDS = 1.0  # after the last sound of the intro, warm-up and outro
EVENT_ORDER = {EventKind.BELL: 0, EventKind.ACCENT: 1, EventKind.TICK: 2, EventKind.SPEECH: 3}

_NO_LIMIT = 2**62


def estimate_frames(text: str, samplerate: int, rate_wpm: int | None = None) -> int:
    """Rough spoken length of ``text`` (espeak-ng at its default 175 words a
    minute, with pauses at punctuation), for planning without a speech engine."""
    scale = 175 / (rate_wpm or 175)
    pauses = sum(text.count(p) for p in ".,;:!?")
    seconds = (0.068 * len(text) + 0.12 * pauses + 0.05) * scale
    return max(1, round(seconds * samplerate))


class _Asked:
    """A phrase's spoken length, noting which part of the session asked for it first."""

    def __init__(self, length: SpeechFrames):
        self.length = length
        self.unit = 0
        """The part being planned: what comes before set 1 with set 1, then each rest with its set, the outro."""
        self.unit_of: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        self.unit_of.setdefault(text, self.unit)
        return self.length(text)


class _Planner:
    """Accumulates segments, sound events and speech requests."""

    def __init__(self, p: Preset, sr: int, say_len: SpeechFrames, phrases: PhraseBook, sound_len: Mapping[str, int]):
        self.p, self.sr, self.sound_len, self.phrases = p, sr, sound_len, phrases
        self.asked = self.say_len = _Asked(say_len)  # no closure over the planner: no reference cycle
        self.starts: list[int] = []  # where each part after the first begins (its rest, then the outro)
        self.v = phrases.variants
        # what the summary and the first set's announcement fill in (a phrase takes those it names)
        self.fields = {"title": p.title, "sets": p.sets, "reps": p.reps, "seconds": f"{p.hold or 0:g}"}
        self.gap = self.frames(GAP_SECONDS)
        self.segments: list[Segment] = []
        self.sounds: list[Event] = []
        self.requests: list[Say] = []
        self.now = 0
        # one shared tuple per (phase, prefix, counted): a long session asks thousands of times. A dict:
        # functools.cache of a method is a cycle that kept the planner (every request) after planning
        self._phase_cues: dict[tuple, tuple[str, ...]] = {}
        self._rest_slot: tuple[tuple[int, ...], int, int] | None = None  # the latest rest
        self._rest_said: set[str] = set()
        self._deferred: list[str] = []  # rep reminders that found no room in their rep
        self.unsaid: list[Dropped] = []  # reminders with no room and no rest to go to
        self.sides = p.side_names or phrases.side_names
        self.count_word = functools.cache(lambda n: (phrases.number(n),))  # "Two": asked every rep
        self.reminders = RepReminder(self.say_len, self.gap, sr, p.count, phrases)

    def frames(self, seconds: float) -> int:
        return round(seconds * self.sr)

    def whole_seconds_up(self, frames: int) -> int:
        """``frames`` rounded up to a whole second, so sections start on a beat."""
        return math.ceil(frames / self.sr) * self.sr

    def segment(
        self, kind: SegmentKind, frames: int, set_: int | None = None, rep: int | None = None, side: str | None = None
    ) -> int:
        start = self.now
        if frames > 0:
            self.segments.append(Segment(kind, start, frames, set_, rep, side))
            self.now += frames
        return start

    def sound(
        self, kind: EventKind, frame: int, set_: int | None = None, rep: int | None = None, name: str | None = None
    ) -> None:
        """A metronome sound; ``name`` attaches a preset's own sound (by its role)."""
        self.sounds.append(Event(frame, kind, self.sound_len[name or kind], None, set_, rep, name))

    def say(
        self,
        candidates: tuple[str, ...],
        onsets: tuple[int, ...] | int,
        limit: int,
        priority: int = ANCHORED,
        set_: int | None = None,
        rep: int | None = None,
    ) -> None:
        if isinstance(onsets, int):
            onsets = (onsets,)
        if candidates and onsets:
            self.request([Say(tuple(candidates), onsets, limit, priority, set_, rep)])

    def request(self, cues: list[Say]) -> None:
        """Ask for ``cues``; every variant counts as asked by the part being planned (fitting may try any)."""
        self.requests.extend(cues)
        for cue in cues:
            for text in cue.candidates:
                self.asked.unit_of.setdefault(text, self.asked.unit)

    def sequence(self, lines: list[tuple[str, ...]], start: int, gap: int) -> int:
        """Anchor ``lines`` one after another from ``start``; return where they end."""
        t = start
        for line in lines:
            self.say(line, t, t + self.say_len(line[0]))
            t += self.say_len(line[0]) + gap
        return t - gap if lines else start

    def intro(self) -> None:
        p = self.p
        kind = "summary_hold" if p.hold is not None else "summary_each" if p.sides == Side.EACH else "summary"
        lines = [self.v(kind, **self.fields)] + [(line,) for line in p.cues.intro]
        start = self.frames(START_SECONDS)
        self.sound(EventKind.ACCENT, start)  # the session starts: heard at once, before the voice
        end = self.sequence(lines, start + self.frames(LEAD_SECONDS), self.frames(INTRO_GAP_SECONDS))
        self.segment(SegmentKind.INTRO, self.whole_seconds_up(end + self.frames(TAIL_SECONDS)))

    def warmup(self) -> None:
        for step in self.p.warmup:
            start = self.now
            said = self.sequence([(step.say,)], start, 0)
            length = self.frames(step.seconds)
            if step.count:
                first = self.whole_seconds_up(said + self.gap - start)
                slot = max(self.frames(1.5), (length - first) // step.count)
                length = max(length, first + slot * step.count)
                for i in range(step.count):
                    at = start + first + i * slot
                    self.sound(EventKind.ACCENT if i == 0 else EventKind.TICK, at)
                    self.say(self.count_word(i + 1), at, at + slot - self.gap)
            length = self.whole_seconds_up(max(length, said - start + self.frames(TAIL_SECONDS)))
            self.segment(SegmentKind.WARMUP, length)

    def count_in(self, end: int, set_: int) -> None:
        """``Three, two, one`` with ticks on the last seconds before ``end``."""
        for i in range(COUNT_IN, 0, -1):
            at = end - i * self.sr
            self.sound(EventKind.TICK, at, set_)
            self.say(self.count_word(i), at, at + self.sr - self.gap, set_=set_)

    def get_ready(self) -> None:
        p = self.p
        line = self.v("set_first_hold" if p.hold is not None else "set_first", set=1, **self.fields)
        start = self.now
        speech_end = start + self.frames(LEAD_SECONDS) + self.say_len(line[0]) + self.gap
        length = max(5 * self.sr, self.whole_seconds_up(speech_end - start) + COUNT_IN * self.sr)
        self.segment(SegmentKind.GET_READY, length, 1)
        end = start + length
        self.say(line, start + self.frames(LEAD_SECONDS), end - COUNT_IN * self.sr - self.gap, set_=1)
        self.count_in(end, 1)

    def rest(self, next_set: int) -> None:
        p = self.p
        start = self.segment(SegmentKind.REST, self.frames(p.rest), next_set - 1)
        end = self.now
        self.sound(EventKind.BELL, start, next_set - 1)
        self.say(self.v("rest_start", seconds=f"{p.rest:g}"), start, end, set_=next_set - 1)
        count_in = end - COUNT_IN * self.sr
        beats = tuple(range(start + self.sr, count_in, self.sr))
        announce = self.v("set_next", set=next_set, sets=p.sets)
        self.say(announce, beats[::-1], count_in - self.gap, ANNOUNCE, set_=next_set)
        for left in (30, 10):
            at = end - left * self.sr
            if at >= start + 5 * self.sr:
                self.say(self.v("time_left", seconds=left), at, count_in, TIME_LEFT, set_=next_set - 1)
                break
        self._rest_slot = (beats, count_in - self.gap, next_set - 1)
        self._rest_said = set()
        if p.cues.reminders:
            reminder = p.cues.reminders[-((next_set - 1) % len(p.cues.reminders)) - 1]
            self.rest_reminders([reminder, *self._deferred])
        self.count_in(end, next_set)
        if p.sound("rest_end"):
            self.sound(EventKind.BELL, end, next_set, name="rest_end")

    def outro(self) -> None:
        start = self.now
        self.sound(EventKind.BELL, start)
        lines = [self.v("session_end")] + [(line,) for line in self.p.cues.outro]
        end = self.sequence(lines, start + self.frames(0.3), self.frames(INTRO_GAP_SECONDS))
        end = max(end, start + sound_frames(EventKind.BELL, self.sr))
        self.segment(SegmentKind.OUTRO, self.whole_seconds_up(end - start + self.frames(TAIL_SECONDS)))

    def next_unit(self) -> None:
        """A new part of the session starts here, in silence: no phrase of an earlier part runs past it."""
        self.asked.unit += 1
        self.starts.append(self.now)

    def side_of(self, rep: int) -> str | None:
        p = self.p
        if p.sides == Side.ALTERNATE:
            return self.sides[(rep - 1) % 2]
        if p.sides == Side.EACH:
            return self.sides[0] if rep <= p.reps else self.sides[1]
        return None

    def rep_prefix(self, rep: int) -> tuple[str, ...]:
        """What the first cue of ``rep`` is prefixed with, most important first."""
        p = self.p
        parts = []
        if p.cues.last_rep and rep == p.reps_per_set and rep > 1:
            parts.append(self.v("last_rep")[0])
        elif rep == p.halfway_rep:
            parts.append(self.v("halfway")[0])
        side = self.side_of(rep)
        if side and (p.sides == Side.ALTERNATE or rep in (1, p.reps + 1)):
            parts.append(side)
        return tuple(parts)

    def _phase_cue(self, phase: SegmentKind, prefix: tuple[str, ...], counted: bool) -> tuple[str, ...]:
        """Candidate texts for the start of ``phase``, longest first."""
        base = list(getattr(self.p.cues, phase))
        if phase == SegmentKind.HOLD:
            base = base or list(self.v("hold_start", **self.fields))
        if phase == SegmentKind.CONCENTRIC:
            base = self.exhaled(base)
        elif base and self.phrases.says("inhale_words", base[0]):
            base = list(dict.fromkeys([*base, self.v("inhale")[-1]]))
        if counted:  # the count's "one" said with the cue ("Now lower, one"), lower case in every language
            one = number_word(1, self.phrases.language)
            join = self.phrases.join
            last = join(self.v("exhale")[-1], one) if phase == SegmentKind.CONCENTRIC else self.phrases.number(1)
            base = [*(join(b, one) for b in base), last]
        # A side named in the head is a switch of side: every variant keeps
        # it ("Halfway" or the cue's words give way first, the side alone last).
        side = prefix[-1] if prefix and prefix[-1] in self.sides else None
        heads = [", ".join(prefix)] if prefix else []
        if len(prefix) > 1:
            heads.append(prefix[-1])
        # The bare breath ("Breathe out") is the last resort of every head:
        # a shorter head keeping the movement word comes first.
        bare = set(self.v("exhale")) if phase == SegmentKind.CONCENTRIC else set()
        tiers = [[b for b in base if b not in bare], [b for b in base if b in bare]]
        out = [f"{h}. {b}" for tier in tiers for h in heads for b in tier]
        if heads and not base:
            out += heads
        return tuple(dict.fromkeys(out + ([side] if side else base)))

    def exhaled(self, variants: list[str]) -> list[str]:
        """Lift cues that all say the breath out: the method lifts on the
        exhale, so a variant without it gets the short form before it
        ("Lift" -> "Out, lift"), and the exhale alone comes last, for a
        voice too slow for the rest (or a preset with no lift cue)."""
        alone = list(self.v("exhale"))
        short = alone[-1]
        out = [v if self.phrases.says("exhale_words", v) else self.phrases.join(short, v) for v in variants]
        return list(dict.fromkeys(out + alone))

    def reps(self, set_: int) -> None:
        p = self.p
        carrying = reminder_reps(p, self.rep_prefix) if p.cues.reminders else []
        for rep in range(1, p.reps_per_set + 1):
            side = self.side_of(rep)
            prefix = self.rep_prefix(rep)
            rep_start = self.now
            cues: list[Say] = []  # this rep's beat-anchored cues
            phases: dict[SegmentKind, tuple[int, int, Say | None]] = {}  # start, frames, cue
            for i, phase in enumerate(p.phases):
                length = self.frames(p.tempo.phase_seconds(phase) if p.tempo else p.hold or 0.0)
                start = self.segment(phase, length, set_, rep, side)
                if length == 0:
                    continue
                counted = phase in p.count
                key = (phase, prefix if i == 0 else (), counted)
                if key not in self._phase_cues:
                    self._phase_cues[key] = self._phase_cue(*key)
                cue = self._phase_cues[key]
                # May run on past the phase: fitting stops it at the next anchored cue.
                said = Say(cue, (start,), _NO_LIMIT, ANCHORED, set_, rep) if cue else None
                cues += [said] if said else []
                phases[phase] = (start, length, said)
                if phase == SegmentKind.HOLD:
                    self.hold_events(start, length, set_, rep)
                elif phase in MOVING_KINDS:
                    self.sound(EventKind.ACCENT, start, set_, rep)
                    for k in range(1, math.ceil(length / self.sr)):
                        self.sound(EventKind.TICK, start + k * self.sr, set_, rep)
                    if counted:
                        for k in range(1, int(length // self.sr)):
                            at = start + k * self.sr
                            cues.append(Say(self.count_word(k + 1), (at,), at + self.sr, ANCHORED, set_, rep))
            if rep in carrying:
                text = p.cues.reminders[(carrying.index(rep) + set_ - 1) % len(p.cues.reminders)]
                placed = self.reminders.place(cues, phases, text, ", ".join(prefix), rep_start, self.now, set_, rep)
                if placed is None:
                    self._deferred.append(text)
                    if p.sets == 1:
                        self.unsaid.append(Dropped(rep_start, text))
                else:
                    cues = placed
            self.request(cues)
        if set_ == p.sets:
            self.rest_reminders(self._deferred)  # no rest after: the one before

    def rest_reminders(self, texts: list[str]) -> None:
        """Form reminders said in the latest rest: its own, and those of the
        set before it that found no room between the reps."""
        if self._rest_slot is None:
            return
        beats, limit, set_ = self._rest_slot
        for text in dict.fromkeys(texts):
            if text not in self._rest_said:
                self._rest_said.add(text)
                self.say((text,), beats, limit, REMINDER, set_=set_)
        self._deferred = []

    def hold_events(self, start: int, length: int, set_: int, rep: int) -> None:
        self.sound(EventKind.ACCENT, start, set_, rep)
        end = start + length
        seconds = int(length // self.sr)
        for left in range(10 * (seconds // 10), COUNT_IN, -10):
            if left < seconds:
                self.say(self.v("time_left", seconds=left), end - left * self.sr, end, TIME_LEFT, set_, rep)
        for i in range(min(COUNT_IN, seconds - 1), 0, -1):
            at = end - i * self.sr
            self.sound(EventKind.TICK, at, set_, rep)
            self.say(self.count_word(i), at, at + self.sr, set_=set_, rep=rep)

    def run(self) -> tuple[list[Event], list[Dropped]]:
        """Every section of the session, in order; then its speech fitted."""
        self.intro()
        self.warmup()
        self.get_ready()
        for set_ in range(1, self.p.sets + 1):
            if set_ > 1:
                self.next_unit()
                self.rest(set_)
            self.reps(set_)
        self.next_unit()
        self.outro()
        spoken, dropped = fit_speech(self.requests, self.say_len, self.gap)
        return spoken, dropped + self.unsaid


def _sound_lengths(preset: Preset, samplerate: int) -> dict[str, int]:
    """Frames of each built-in sound; an attached one is planned as long as a bell."""
    lengths: dict[str, int] = {k: sound_frames(k, samplerate) for k in SOUND_SECONDS}
    return lengths | {role: lengths[EventKind.BELL] for role, _ in preset.sounds if role not in lengths}


def build_timeline(
    preset: Preset,
    speech_frames: SpeechFrames | None = None,
    samplerate: int = DEFAULT_SAMPLERATE,
    phrases: PhraseBook | None = None,
    sound_lengths: Mapping[str, int] | None = None,
) -> Timeline:
    """Plan the whole session of ``preset``.

    ``speech_frames`` is a phrase's spoken length (silence trimmed) in frames
    at ``samplerate``, :func:`estimate_frames` by default; ``sound_lengths``
    overrides the frames of a sound (``tick``, ``accent``, ``bell``, ``rest_end``).
    """
    if not is_int(samplerate):
        raise TypeError(f"samplerate must be an int, got {type(samplerate).__name__}")
    if not 8000 <= samplerate <= 192000:
        raise ValueError(f"samplerate must be between 8000 and 192000, got {samplerate}")
    if speech_frames is None:

        def speech_frames(text: str) -> int:
            return estimate_frames(text, samplerate, preset.rate)

    return _planned(preset, speech_frames, samplerate, phrases, sound_lengths)[0]


def _planned(
    preset: Preset,
    speech_frames: SpeechFrames,
    samplerate: int,
    phrases: PhraseBook | None,
    sound_lengths: Mapping[str, int] | None,
) -> tuple[Timeline, _Planner]:
    """The timeline, and the planner that made it (which part asked each phrase, where each part starts)."""
    lengths = _sound_lengths(preset, samplerate) | dict(sound_lengths or {})
    # each phrase's length asked once: fitting tries a few dozen phrases ten thousand times
    plan = _Planner(preset, samplerate, functools.cache(speech_frames), phrases or default_phrases(), lengths)
    spoken, dropped = plan.run()
    events = tuple(sorted(plan.sounds + spoken, key=lambda e: (e.frame, EVENT_ORDER[e.kind])))
    dropped = sorted(dropped, key=lambda d: d.frame)
    segments = tuple(plan.segments)
    timeline = Timeline(preset.name, samplerate, plan.now, segments, events, tuple(dropped), plan.phrases.language)
    return timeline, plan


@dataclass(frozen=True)
class Prefix:
    """A session planned as far as its phrases are known: :attr:`timeline` is made with estimates for the
    phrases missing, and its frames ``[0, final)`` are final (what the plan with every true length says there)."""

    timeline: Timeline
    final: int
    """Frames before this are final; the whole session's length when every phrase is known."""
    parts: int
    """Parts of the session planned for good: what comes before set 1 with set 1, then each rest with its set,
    then the outro."""
    missing: tuple[str, ...]
    """The phrases still unknown, those of the earliest part first: what to synthesise next."""


def plan_prefix(
    preset: Preset,
    known: Callable[[str], int | None],
    samplerate: int = DEFAULT_SAMPLERATE,
    phrases: PhraseBook | None = None,
    sound_lengths: Mapping[str, int] | None = None,
) -> Prefix:
    """Plan ``preset`` with the spoken lengths ``known`` so far (``None``: not yet), part by part.

    A part starts in silence (a rest, the outro): no phrase before it runs into it, and its own phrases start
    in it. So once every phrase asked while planning the parts up to one (each variant its fitting may try)
    has its true length, the plan up to that part's end is the final one, whatever the later phrases' lengths.
    """

    def frames(text: str) -> int:
        n = known(text)
        return estimate_frames(text, samplerate, preset.rate) if n is None else n

    timeline, plan = _planned(preset, frames, samplerate, phrases, sound_lengths)
    asked = plan.asked.unit_of
    missing = sorted((asked[t], t) for t in asked if known(t) is None)
    if not missing:
        return Prefix(timeline, timeline.frames, plan.asked.unit + 1, ())
    first = missing[0][0]
    return Prefix(timeline, plan.starts[first - 1] if first else 0, first, tuple(t for _, t in missing))


def speech_texts(preset: Preset, samplerate: int = DEFAULT_SAMPLERATE, phrases: PhraseBook | None = None) -> list[str]:
    """The phrases planning ``preset`` will ask the length of, the earliest heard first.

    A dry run with :func:`estimate_frames`: lets the speech be synthesised
    ahead, in parallel, the cues needed first first. A phrase missed here is
    simply synthesised when planning asks for it.
    """
    asked: set[str] = set()

    def frames(text: str) -> int:
        asked.add(text)
        return estimate_frames(text, samplerate, preset.rate)

    plan = _Planner(preset, samplerate, frames, phrases or default_phrases(), _sound_lengths(preset, samplerate))
    plan.run()
    first_onset = dict.fromkeys(asked, 2**62)
    for req in plan.requests:
        for text in req.candidates:
            if text in asked:
                first_onset[text] = min(first_onset[text], req.onsets[0])
    return sorted(first_onset, key=lambda t: (first_onset[t], t))
