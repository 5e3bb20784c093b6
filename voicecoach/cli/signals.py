"""SIGTERM and SIGHUP handled like Ctrl-C (during play, SIGTERM ends the session as 'q' does).

A service manager stops us with SIGTERM, a closed terminal sends SIGHUP:
both must clean up as an interrupt does (temp files removed, the speech
worker stopped), so the handler raises :class:`Signalled`, a
:class:`KeyboardInterrupt`, and every ``finally`` on the way out runs. The
exit status is 128 + the signal's number (143, 129), as shells report it.

A Python handler runs only between bytecodes: a main thread held inside C
(SQLite waiting on a locked log, or retrying the ``open()`` of a FIFO after
every signal) would never run it. So the C-level handler also wakes a
watcher thread (``signal.set_wakeup_fd``); if the Python handler has not run
:data:`GRACE` seconds later, the watcher says so and ends the process with
the same status. Nothing is cleaned up then, but the command ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from voicecoach.errors import ExitStatus

if TYPE_CHECKING:  # play's transport: loaded only for play
    from voicecoach.live.transport import Transport

__all__ = ["Signalled", "StopSignal", "forget_caught_interrupts", "noticed", "signals_as_interrupts"]

HANDLED = (signal.SIGTERM, signal.SIGHUP)

RESEND_S = 0.05
"""How long after a swallowed interrupt it is sent again (swallowed again, it is sent again)."""
GRACE = 2.0
"""Seconds the main thread has to run a signal's Python handler before the watcher ends the run."""


class _Watch:
    """One block's signals: those with our handler, and those whose Python handler ran."""

    def __init__(self) -> None:
        self.watched: set[int] = set()
        self.noticed: set[int] = set()
        self.active = True
        self.swallowed: KeyboardInterrupt | None = None  # raised where Python could only print it
        self.resend: threading.Timer | None = None


_current = [_Watch()]  # the running block's, for the handlers


class Signalled(KeyboardInterrupt):
    """The run was asked to stop by ``signum``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """As shells report a death by signal: 128 + its number (143, 129)."""
        return ExitStatus(128 + self.signum)


def noticed(signum: int) -> None:
    """Tell the watcher a Python handler took ``signum`` (one set insertion:
    safe in a handler)."""
    _current[0].noticed.add(signum)
    _current[0].swallowed = None  # handled again: it is raised (or swallowed) anew


def _interrupt(signum: int, frame: object) -> None:
    noticed(signum)
    raise KeyboardInterrupt


def _raise(signum: int, frame: object) -> None:
    noticed(signum)
    for sig in HANDLED:  # a second signal must not cut the clean-up short
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
    previous = {sig: signal.getsignal(sig) for sig in (*HANDLED, signal.SIGINT)}
    watch = _current[0] = _Watch()
    for sig in HANDLED:
        if previous[sig] != signal.SIG_IGN:  # nohup's ignored SIGHUP stays ignored
            signal.signal(sig, _raise)
            watch.watched.add(sig)
    if previous[signal.SIGINT] is signal.default_int_handler:  # the same, and noticed
        signal.signal(signal.SIGINT, _interrupt)
        watch.watched.add(signal.SIGINT)
    hook = sys.unraisablehook
    sys.unraisablehook = _deliver_again(hook, watch)
    try:
        with _watcher(watch):
            yield
        if watch.swallowed is not None:  # sent again too late: the run still ends as interrupted
            raise watch.swallowed
    finally:
        watch.active = False
        sys.unraisablehook = hook
        if watch.resend is not None:
            watch.resend.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _deliver_again(hook: Callable[[Any], object], watch: _Watch) -> Callable[[Any], None]:
    """An unraisable hook that sends a swallowed interrupt again.

    A handler's exception raised inside a weakref callback or a finaliser
    (importlib's module locks have one) cannot leave it: Python prints
    "Exception ignored" with a traceback and the run went on to exit 0.
    The signal is raised once more, to be handled where it can end the run.
    """

    def handle(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if not isinstance(exc, KeyboardInterrupt):
            hook(unraisable)
            return
        signum = exc.signum if isinstance(exc, Signalled) else signal.SIGINT
        watch.swallowed = exc
        if isinstance(exc, Signalled):
            signal.signal(signum, _raise)  # _raise ignored further signals for the clean-up
        # from another thread a moment later: sent from here, its handler would run inside this hook
        watch.resend = threading.Timer(RESEND_S, os.kill, (os.getpid(), signum))
        watch.resend.daemon = True
        watch.resend.start()

    return handle


@contextlib.contextmanager
def _watcher(watch: _Watch) -> Iterator[None]:
    """The thread that ends the run when a signal's Python handler cannot run."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read, watch), name="voicecoach-signal-watch", daemon=True).start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write)  # the watcher reads the end and leaves


def _watch(read: int, watch: _Watch) -> None:
    try:
        while signums := os.read(read, 64):
            for signum in set(signums) & watch.watched:
                threading.Event().wait(GRACE)
                if watch.active and signum not in watch.noticed:
                    name = signal.Signals(signum).name
                    os.write(
                        2,
                        b"voicecoach: interrupted\n"
                        if signum == signal.SIGINT
                        else f"voicecoach: stopped by {name}\n".encode(),
                    )
                    os._exit(128 + signum)
    finally:
        os.close(read)


def forget_caught_interrupts() -> None:
    """Let the exit status be the command's own after a caught Ctrl-C.

    Under ``python -m``, CPython ends the process by SIGINT at exit once a
    KeyboardInterrupt has ended a string ``exec`` (dataclasses and
    namedtuple build their methods that way), even one the command caught
    and reported: a Ctrl-C landing there would end the run as -2, not 130.
    Every string ``exec`` clears that mark as it starts; this is one.
    """
    exec("None")


class StopSignal:
    """SIGTERM during play: the session ends as 'q' ends it, then the run
    exits as signalled (play raises :class:`Signalled` for :attr:`received`).

    A service manager, a timer or a phone's remote shell stops a playing
    session with SIGTERM: the person on the mat hears "stopping here" and the
    sets done go into the training log once, like any other ending. A play
    control, entered with the transport while the session plays; the handler
    only asks the transport to quit, safe in a signal handler. Only the main
    thread can handle signals: elsewhere it does nothing."""

    def __init__(self) -> None:
        self.received: int | None = None

    @contextlib.contextmanager
    def __call__(self, transport: Transport) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        from voicecoach.live.transport import TransportCommand

        def quit_playing(signum: int, frame: object) -> None:
            noticed(signum)
            self.received = signum
            transport.request(TransportCommand.QUIT)

        previous = signal.signal(signal.SIGTERM, quit_playing)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
