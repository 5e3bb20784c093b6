"""Live play of a prepared session, the core of ``voicecoach play``: to the speakers
what :func:`voicecoach.encode.writer.export` is to a file. The terminal reaches it only
through :class:`Hooks` and other remote controls through ``controls``, so the whole of
live play runs in tests with a fake backend and no sound card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import replace

import numpy as np

from voicecoach.audio.music import MusicStream
from voicecoach.audio.session import Session
from voicecoach.errors import AudioDeviceError
from voicecoach.live.ahead import MAX_SECONDS as AHEAD_MOST_SECONDS
from voicecoach.live.clips import make_clips, session_clips
from voicecoach.live.music_feed import MusicFeeder
from voicecoach.live.player import DEFAULT_LATENCY, Backend, Hooks, Player, PlayResult
from voicecoach.live.transport import Transport
from voicecoach.plan.kinds import EventKind
from voicecoach.plan.phrases import PhraseBook

__all__ = ["Control", "DeviceLost", "Hooks", "PlayInterrupted", "clip_texts", "play"]

#: A remote control: entered with the transport while it plays; it may call
#: :meth:`Transport.request` from any thread (the one lock-free way in).
Control = Callable[[Transport], AbstractContextManager]


class PlayInterrupted(KeyboardInterrupt):
    """Ctrl-C during play; :attr:`result` says how far the session got,
    so the caller can still log the sets that were done."""

    def __init__(self, result: PlayResult):
        super().__init__()
        self.result = result


class DeviceLost(AudioDeviceError):
    """The output could not be opened, or went away for good; :attr:`result`
    says how far the session got, so the sets done can still be logged."""

    def __init__(self, message: str, result: PlayResult):
        super().__init__(message)
        self.result = result


def play(
    session: Session,
    backend: Backend,
    *,
    device: int | None = None,
    latency: float | str = DEFAULT_LATENCY,
    music: MusicStream | None = None,
    hooks: Hooks | None = None,
    controls: Sequence[Control] = (),
    listening: bool = False,
) -> PlayResult:
    """Play ``session`` live until it ends or is quit; on Ctrl-C a :class:`PlayInterrupted`,
    and a :class:`DeviceLost` when the output cannot be opened or goes away for good,
    each with the position reached.

    The session's cue bank also speaks the player's own clips (paused, skip to set N,
    quit...), made before any sound at its gains. ``device`` (already resolved) and
    ``latency`` go to ``backend.open``; ``music`` is decoded ahead on a thread and laid
    under the session exactly as the export lays it; ``controls`` are further command
    sources, such as :class:`~voicecoach.live.mpris.MprisControl`; ``listening`` adds
    the clips of :class:`~voicecoach.live.voice_control.VoiceControl`, and the questions.
    """
    clips = session_clips(session, listening)
    with ExitStack() as stack:
        feeder = bed = None
        if music is not None:
            feeder = stack.enter_context(MusicFeeder(music, kept=AHEAD_MOST_SECONDS + 0.1))  # the render may go back
            bed = session.music_bed(feeder.take)
        transport = Transport(session.mixer, session.timeline, clips, bed=bed, music=feeder)
        for control in controls:
            stack.enter_context(control(transport))
        player = Player(transport, backend, device=device, latency=latency, hooks=hooks or Hooks())
        try:
            result = player.run()
        except KeyboardInterrupt:
            raise PlayInterrupted(replace(player.result(), completed=False)) from None
        except AudioDeviceError as exc:
            raise DeviceLost(str(exc), replace(player.result(), completed=False)) from None
    if feeder is not None and feeder.error is not None:
        player.notice(f"the music stopped: {feeder.error}")
    return result


def clip_texts(sets: int, reps: int = 0, samplerate: int = 48000, phrases: PhraseBook | None = None) -> list[str]:
    """Every phrase the player's clips say for a session of ``sets`` sets, in the language of ``phrases``, so they
    can be synthesised with the session's own cues (in the same pool of workers) rather than one by one after them;
    ``reps`` when voice control listens (its confirmations of a count)."""
    said: dict[str, None] = {}
    silent = np.zeros(1, np.float32)
    tick: dict[str, np.ndarray] = {EventKind.TICK: silent}
    make_clips(lambda text: said.setdefault(text) or silent, tick, samplerate, phrases, sets=sets, reps=reps)
    return list(said)
