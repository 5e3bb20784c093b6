"""The session timeline: segments and events at integer frames.

This is the contract between the scheduler and everything that makes sound
(mixer, player, export) and the ``timeline --json`` output (docs/architecture.md).
Frames count samples at ``samplerate``; nothing here holds float seconds.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import asdict, dataclass, field

from voicecoach.plan.kinds import EventKind, SegmentKind


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the session: ``[start, start + frames)``."""

    kind: SegmentKind
    start: int
    frames: int
    set: int | None = None
    rep: int | None = None
    side: str | None = None

    @property
    def end(self) -> int:
        return self.start + self.frames


@dataclass(frozen=True, slots=True)
class Event:
    """Something audible that begins at ``frame`` and lasts ``frames``.

    For speech, ``frame`` is where the voice is heard to begin (leading
    silence already trimmed) and ``text`` is what it says. A metronome event
    may carry ``sound``: the preset's own sound (its role, e.g. ``rest_end``)
    played instead of the built-in one.
    """

    frame: int
    kind: EventKind
    frames: int
    text: str | None = None
    set: int | None = None
    rep: int | None = None
    sound: str | None = None

    @property
    def end(self) -> int:
        return self.frame + self.frames


@dataclass(frozen=True, slots=True)
class Dropped:
    """An optional cue that did not fit its gap and was left out."""

    frame: int
    text: str


@dataclass(frozen=True)
class Timeline:
    """The whole planned session.

    ``segments`` tile ``[0, frames)`` in order; ``events`` are sorted by
    ``(frame, kind)``.
    """

    preset: str
    samplerate: int
    frames: int
    segments: tuple[Segment, ...]
    events: tuple[Event, ...]
    dropped: tuple[Dropped, ...] = field(default=())
    language: str = "en"
    voice: str | None = field(default=None, compare=False)
    """Who speaks: the engine and the voice it was given (None: planned by estimate);
    not part of the plan's equality, which is the same whoever measured the lengths."""

    def texts(self) -> list[str]:
        """Every distinct spoken text, in order of first use."""
        return list(dict.fromkeys(e.text for e in self.events if e.kind == EventKind.SPEECH and e.text is not None))

    def segment_index(self, frame: int) -> int:
        """Index of the segment containing ``frame`` (the last one for
        ``frame >= frames``, -1 before the first)."""
        return bisect.bisect(self.segments, frame, key=lambda s: s.start) - 1

    def segment_at(self, frame: int) -> Segment:
        """The segment containing ``frame`` (the last one for ``frame >= frames``)."""
        return self.segments[max(0, self.segment_index(frame))]

    def to_dict(self) -> dict:
        """The JSON shape of ``voicecoach timeline --json`` (docs/architecture.md)."""
        events = []
        for e in self.events:  # an attached sound is named in "text", as the JSON has always had it
            text = e.text if e.sound is None else e.sound
            events.append(
                {"frame": e.frame, "kind": e.kind, "text": text, "frames": e.frames, "set": e.set, "rep": e.rep}
            )
        head = {"preset": self.preset, "samplerate": self.samplerate, "frames": self.frames}
        # a segment's fields in order: kind, start, frames, set, rep, side; who speaks last (added keys go last)
        body = {"segments": [asdict(s) for s in self.segments], "events": events}
        return head | body | {"language": self.language, "voice": self.voice}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
