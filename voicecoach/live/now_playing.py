"""Where the session is, as a listener would say it: one snapshot of the
transport for every display (the status line, MPRIS metadata on the desktop
and the phone), so they all say the same thing."""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.live.transport import Activity, Transport, TransportState
from voicecoach.plan.kinds import SegmentKind
from voicecoach.plan.labels import LabelStyle, segment_label
from voicecoach.plan.phrases import PhraseBook, default_phrases


@dataclass(frozen=True)
class NowPlaying:
    """``position`` is the timeline frame heard (while paused: where it will go on);
    ``seeks`` counts its jumps (rewinds, skips), so a display knows when to resynchronise."""

    state: TransportState
    activity: Activity
    quitting: bool
    position: int
    frames: int
    samplerate: int
    segment: SegmentKind
    set: int | None
    sets: int
    rep: int | None
    reps: int
    side: str | None
    seeks: int

    def describe(self, sep: str = "  ", phrases: PhraseBook | None = None) -> str:
        """``set 2/3  rep 4/10  lower``, ending with what is going on: ``lift``,
        ``rest``, ``PAUSED``, ``count-in``... in the language of ``phrases``."""
        book = phrases or default_phrases()
        parts = []
        if self.set and self.segment != SegmentKind.REST:
            parts.append(book.text("status_set", set=self.set, sets=self.sets))
        if self.rep:
            parts.append(book.text("status_rep", rep=self.rep, reps=self.reps) + (f" {self.side}" if self.side else ""))
        if self.state == TransportState.PAUSED:
            parts.append(book.text("status_paused"))
        elif self.activity != Activity.SESSION:
            parts.append(book.entries["activities"][self.activity])
        else:
            parts.append(segment_label(self.segment, LabelStyle.STATUS, book))
        return sep.join(parts)


def now_playing(t: Transport) -> NowPlaying:
    """What is heard of ``t``: the :class:`~voicecoach.live.transport.Mark` the audio
    callback replaces whole, so any thread may call it (it may be one block old)."""
    tl, heard = t.timeline, t.heard
    seg = tl.segment_at(min(heard.position, tl.frames - 1))
    reps = max((s.rep or 0) for s in tl.segments if s.set == seg.set) if seg.set else 0
    return NowPlaying(
        state=heard.state,
        activity=heard.activity,
        quitting=heard.quitting,
        position=heard.position,
        frames=tl.frames,
        samplerate=tl.samplerate,
        segment=seg.kind,
        set=seg.set,
        sets=t.sets,
        rep=seg.rep,
        reps=reps,
        side=seg.side,
        seeks=heard.seeks,
    )
