"""Live play of a prepared session: the core of ``voicecoach play``.

:func:`play` is to the speakers what :func:`voicecoach.encode.writer.export`
is to a file: it takes a prepared :class:`~voicecoach.audio.session.Session`
and makes it heard, through any :class:`~voicecoach.live.player.Backend`.
The terminal (keys, status line, notices) reaches it only through
:class:`Hooks`, and other remote controls through ``controls``, so the whole
of live play runs in tests with a fake backend and no sound card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import replace

from voicecoach.audio.music import MusicStream
from voicecoach.audio.session import Session
from voicecoach.errors import AudioDeviceError
from voicecoach.live.music_feed import MusicFeeder
from voicecoach.live.player import DEFAULT_LATENCY, Backend, Hooks, Player, PlayResult
from voicecoach.live.transport import Transport, session_clips

__all__ = ["Control", "DeviceLost", "Hooks", "PlayInterrupted", "play"]

#: A remote control: entered with the transport when playback starts, left
#: when it ends. While entered it may call :meth:`Transport.request` from any
#: thread (the one lock-free way in); the keys are polled separately.
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
) -> PlayResult:
    """Play ``session`` live until it ends or is quit.

    Parameters
    ----------
    session : Session
        The prepared session; its cue bank also speaks the player's own
        clips (paused, resume, skip to set N, quit, ...), made before any
        sound at the session's voice and tick gains.
    backend : Backend
        Opens the output stream (sounddevice in the real program).
    device, latency
        Passed to ``backend.open``; ``device`` already resolved.
    music : MusicStream, optional
        The user's music; decoded ahead on a thread into a ring buffer and
        laid under the session exactly as the export lays it.
    hooks : Hooks
        Keys, status line, notices and pacing from the console.
    controls : sequence of Control
        Further command sources (e.g. :class:`~voicecoach.live.mpris.MprisControl`
        for headset buttons and media keys).

    Raises
    ------
    PlayInterrupted
        On Ctrl-C, with the position reached.
    DeviceLost
        The output could not be opened, or went away for good (an
        :class:`AudioDeviceError`), with the position reached.
    """
    clips = session_clips(session)
    with ExitStack() as stack:
        feeder = bed = None
        if music is not None:
            feeder = stack.enter_context(MusicFeeder(music))
            bed = session.music_bed(feeder.take)
        transport = Transport(session.mixer, session.timeline, clips, bed=bed)
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
