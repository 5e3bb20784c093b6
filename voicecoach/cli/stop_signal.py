"""SIGTERM during play: the session ends as 'q' ends it, then the process
exits as signalled.

A service manager, a timer or a phone's remote shell stops a playing
session with SIGTERM. The person on the mat then hears "stopping here", the
sets done go into the training log once, like any other ending, and the
exit status is 143 (128 + SIGTERM) as shells report it. The handler only
asks the transport to quit: one attribute assignment, safe in a signal
handler; everything else happens on the normal way out.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import click

from voicecoach.cli.context import current_env
from voicecoach.cli.signals import noticed
from voicecoach.live.transport import Transport, TransportCommand

__all__ = ["StopSignal"]


class StopSignal:
    """A play control (entered with the transport while the session plays):
    SIGTERM asks the transport to quit and is remembered in :attr:`received`.
    The previous handler is back once playing ends. Only the main thread can
    handle signals: elsewhere it does nothing."""

    SIGNALS = (signal.SIGTERM,)

    def __init__(self) -> None:
        self.received: int | None = None

    @contextlib.contextmanager
    def __call__(self, transport: Transport) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def quit_playing(signum: int, frame: object) -> None:
            noticed(signum)
            self.received = signum
            transport.request(TransportCommand.QUIT)

        previous = {sig: signal.signal(sig, quit_playing) for sig in self.SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    def exit(self) -> None:
        """Leave as the signal asked: one line, status 128 + its number."""
        signum = self.received or signal.SIGTERM
        click.echo(f"voicecoach: stopped by {signal.Signals(signum).name}", file=current_env().stderr)
        raise click.exceptions.Exit(128 + signum)
