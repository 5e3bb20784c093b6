"""Signals held off while a few lines must run to their end."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

HELD = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
"""The signals a person or a service manager ends a run with."""


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Run the block whole; a signal that lands meanwhile is handled right after it.

    Spawning a process writes its start-up data down a pipe: a Ctrl-C in mid-write left the child a
    truncated pickle and a traceback on the person's terminal. SIGINT is also blocked in this thread,
    so a child started here begins with it blocked: a Ctrl-C at the terminal reaches the whole
    process group, and a child still starting cannot handle it either. Only the main thread runs Python's
    signal handlers, so elsewhere this does nothing (the signal interrupts the main thread, not the
    block). Handlers that are not Python callables (default, ignored) are left as they are.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: handler for sig in HELD if callable(handler := signal.getsignal(sig))}
    caught: list[int] = []
    for sig in previous:
        signal.signal(sig, lambda signum, frame: caught.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, HELD[:1])
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if caught:
            previous[caught[0]](caught[0], None)
