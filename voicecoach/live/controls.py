"""The control seam: where commands come from and what they are shown.

A :class:`Control` is anything that lets the user steer the session -- the
terminal's keys (:class:`KeyControl`), MPRIS on the session bus
(:mod:`voicecoach.live.mpris`) -- and that may want to show where the
session is. The player attaches every control to the same ``send``
(:meth:`Transport.request <voicecoach.live.transport.Transport.request>`:
one lock-free attribute assignment), so the transport never knows where a
command came from, and every control gets the same :class:`NowPlaying`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from voicecoach.live.transport import Activity, Transport, TransportCommand, TransportState
from voicecoach.plan.kinds import SegmentKind
from voicecoach.plan.labels import LabelStyle, segment_label

#: Hands a command to the audio side; safe from any thread.
Send = Callable[[TransportCommand], None]


@dataclass(frozen=True)
class NowPlaying:
    """Where the session is, as a listener would describe it.

    ``position`` is the timeline frame heard (while paused: where it will go
    on); ``seeks`` counts jumps of the position (rewinds, skips), so a
    display knows when to resynchronise.
    """

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

    @property
    def phase(self) -> str:
        """``lift``, ``rest``, ``PAUSED``, ``count-in``...: what is going on."""
        if self.state == TransportState.PAUSED:
            return "PAUSED"
        if self.activity != Activity.SESSION:
            return str(self.activity)
        return segment_label(self.segment, LabelStyle.STATUS)

    def describe(self, sep: str = "  ") -> str:
        """``set 2/3  rep 4/10  lower``."""
        parts = []
        if self.set and self.segment != SegmentKind.REST:
            parts.append(f"set {self.set}/{self.sets}")
        if self.rep:
            parts.append(f"rep {self.rep}/{self.reps}" + (f" {self.side}" if self.side else ""))
        parts.append(self.phase)
        return sep.join(parts)

    @property
    def seconds_left(self) -> float:
        return (self.frames - self.position) / self.samplerate


def now_playing(t: Transport) -> NowPlaying:
    """A snapshot of ``t`` for display (main thread; reads only counters)."""
    tl = t.timeline
    seg = tl.segment_at(min(t.position, tl.frames - 1))
    reps = max((s.rep or 0) for s in tl.segments if s.set == seg.set) if seg.set else 0
    return NowPlaying(state=t.state, activity=t.activity, quitting=t.quit_requested,
                      position=t.position, frames=tl.frames, samplerate=tl.samplerate,
                      segment=seg.kind, set=seg.set, sets=t.sets, rep=seg.rep, reps=reps,
                      side=seg.side, seeks=t.seeks)


class Control(Protocol):
    """A source of commands, told where the session is."""

    def attach(self, send: Send) -> None:
        """Start: from now on commands go to ``send``."""

    def tick(self, now: NowPlaying) -> None:
        """Called on the player's thread every few tens of milliseconds."""

    def detach(self) -> None:
        """Stop; no command is sent after this returns."""


#: Single keys on the terminal and what they ask.
KEYS = {" ": TransportCommand.TOGGLE, "p": TransportCommand.TOGGLE, "n": TransportCommand.SKIP, "b": TransportCommand.RESTART,
        "q": TransportCommand.QUIT}


class KeyControl:
    """The terminal's keys: ``poll()`` gives a pressed key or None, never blocks."""

    def __init__(self, poll: Callable[[], str | None]):
        self.poll = poll
        self._send: Send | None = None

    def attach(self, send: Send) -> None:
        self._send = send

    def tick(self, now: NowPlaying) -> None:
        key = self.poll()
        command = KEYS.get(key.lower()) if key else None
        if command is not None and self._send is not None:
            self._send(command)

    def detach(self) -> None:
        self._send = None
