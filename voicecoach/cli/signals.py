"""SIGTERM and SIGHUP handled like Ctrl-C.

A service manager stops us with SIGTERM, a closed terminal sends SIGHUP:
both must clean up as an interrupt does (temp files removed, the speech
worker stopped), so the handler raises :class:`Signalled`, a
:class:`KeyboardInterrupt`, and every ``finally`` on the way out runs. The
exit status is 128 + the signal's number (143, 129), as shells report it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from voicecoach.errors import ExitStatus

__all__ = ["Signalled", "forget_caught_interrupts", "signals_as_interrupts"]

HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Signalled(KeyboardInterrupt):
    """The run was asked to stop by ``signum``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """As shells report a death by signal: 128 + its number (143, 129)."""
        return ExitStatus(128 + self.signum)


def _raise(signum: int, frame) -> None:
    for sig in HANDLED:                 # a second signal must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    raise Signalled(signum)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Signalled`; the
    previous handlers are restored after. Only the main thread can do this:
    elsewhere (a test runner's worker thread) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in HANDLED}
    for sig in HANDLED:
        if previous[sig] != signal.SIG_IGN:     # nohup's ignored SIGHUP stays ignored
            signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def forget_caught_interrupts() -> None:
    """Let the exit status be the command's own after a caught Ctrl-C.

    Under ``python -m``, CPython ends the process by SIGINT at exit once a
    KeyboardInterrupt has ended a string ``exec`` (dataclasses and
    namedtuple build their methods that way), even one the command caught
    and reported: a Ctrl-C landing there would end the run as -2, not 130.
    Every string ``exec`` clears that mark as it starts; this is one.
    """
    exec("None")
