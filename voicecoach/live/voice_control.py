"""Voice control: what the person says steers the session as keys and headset
buttons do ("coach, pause"), and their count of perfect reps, asked for at each
set's end, goes to the training log.

The recogniser (the ``voice-control`` extra) hears on its own thread and hands
each utterance to :meth:`VoiceControl.heard`; a second thread (:meth:`poll`)
watches the transport, to ask about a set when its last rep ends and to have
the recogniser take bare numbers, with no wake word, while a question waits;
and to tell the recogniser when the coach is heard (the frames the audio
callback handed out since the last look, and how many of them sounded), so
its own voice through open speakers is not taken for the person's.
Like every control, it reaches the transport only through
:meth:`Transport.request`; the transport says every confirmation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any, Protocol, Self

from voicecoach.live.transport import Activity, Transport, TransportCommand, TransportState

__all__ = ["COMMANDS", "POLL_SECONDS", "VoiceControl"]

POLL_SECONDS = 0.02  # how often the transport is watched: a set's end is asked about this late at most

#: What each heard intent (by its value) asks of the transport; numbers and corrections are counts.
COMMANDS = {
    "pause": TransportCommand.PAUSE,
    "resume": TransportCommand.RESUME,
    "next": TransportCommand.SKIP,
    "again": TransportCommand.RESTART,
    "repeat": TransportCommand.REPEAT,
    "left": TransportCommand.LEFT,
    "quit": TransportCommand.QUIT,
}


class Heard(Protocol):
    """An utterance as the recogniser hands it over (``intent`` is a string enum)."""

    intent: str
    number: int | None
    everything: bool


class _Listener(Protocol):
    def set_mode(self, mode: Any) -> None: ...

    def sounded(self, start: float, end: float, share: float) -> None: ...


class VoiceControl:
    """A remote control (see :data:`~voicecoach.live.playback.Control`) fed by a recogniser.

    ``listener(on_heard, on_stopped=...)`` opens the recogniser: a context manager
    with ``set_mode``; ``mode`` turns ``"commands"`` or ``"answer"`` into the value
    ``set_mode`` takes. After play, :attr:`answers` holds each set's count heard
    (None: "all", every rep played) and :attr:`stopped` why listening stopped, if it did.
    """

    def __init__(
        self,
        listener: Callable[..., AbstractContextManager],
        mode: Callable[[str], Any] = str,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._open, self._mode, self.poll_seconds, self._clock = listener, mode, poll_seconds, clock
        self.answers: dict[int, int | None] = {}
        self.stopped: str | None = None
        self._t: Transport | None = None
        self._listener: _Listener | None = None
        self._answering = False
        self._counted: int | None = None  # the set the last count went to: what a correction fixes
        self._done = threading.Event()
        self._stack = ExitStack()

    def __call__(self, transport: Transport) -> Self:
        self._t = transport
        self._last, self._seeks = transport.heard.position, transport.heard.seeks
        self._rendered, self._sounded = transport.heard.rendered, transport.heard.sounded
        return self

    def __enter__(self) -> Self:
        try:
            opened: Any = self._open(self.heard, on_stopped=self.lost)
            self._stack.enter_context(opened)
            self._listener = opened
        except Exception as exc:  # whatever keeps the microphone shut, keys and MPRIS still work
            self.lost(str(exc))
        self._thread = threading.Thread(target=self._watch, name="voice-control", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()
        self._stack.close()

    def _watch(self) -> None:
        while not self._done.wait(self.poll_seconds):
            self.poll()

    @property
    def transport(self) -> Transport:
        if self._t is None:
            raise RuntimeError("the voice control is not attached to a transport yet")
        return self._t

    def poll(self) -> None:
        """Ask about a set whose last rep has just been played through (not jumped
        over), and have the recogniser take answers while a question waits."""
        t = self.transport
        heard = t.heard  # what the person hears: the transport renders a little ahead of it
        self._tell_sounded(t, heard.rendered, heard.sounded)
        position, seeks = heard.position, heard.seeks
        if seeks == self._seeks and heard.state == TransportState.PLAYING and heard.activity == Activity.SESSION:
            for set_, end in t.set_ends.items():
                if self._last < end <= position and set_ not in t.asked:
                    t.request(TransportCommand.ASK, set_)
        self._last, self._seeks = position, seeks
        asking = heard.activity == Activity.ASKING
        if asking != self._answering and self._listener is not None:
            self._listener.set_mode(self._mode("answer" if asking else "commands"))
        self._answering = asking

    def _tell_sounded(self, t: Transport, rendered: int, sounded: int) -> None:
        """The frames handed out since the last look are heard from now plus the
        output latency, for as long as they last; the share of them that sounded."""
        frames = rendered - self._rendered
        if frames > 0 and self._listener is not None:
            end = self._clock() + t.latency
            self._listener.sounded(end - frames / t.sr, end, (sounded - self._sounded) / frames)
        self._rendered, self._sounded = rendered, sounded

    def heard(self, heard: Heard) -> None:
        """One utterance (the recogniser's thread): a command, a count, a correction."""
        t = self.transport
        intent = str(heard.intent)
        if intent in ("number", "correction"):
            set_ = t.asking if intent == "number" else self._counted or t.asking
            count = None if heard.everything else heard.number
            answer_now = intent == "correction" or t.heard.activity == Activity.ASKING or set_ not in self.answers
            if set_ is None or (count is None and not heard.everything) or not answer_now:
                return
            self.answers[set_] = count
            self._counted = set_
            t.request(TransportCommand.NOTED, count)
        elif intent in COMMANDS:
            t.request(COMMANDS[intent])

    def lost(self, reason: str) -> None:
        """Listening stopped (no microphone, or it went away): said once; keys and MPRIS go on."""
        if self.stopped is None:
            self.stopped = reason or "the microphone is gone"
            if self._t is not None:
                self._t.request(TransportCommand.DEAF)
