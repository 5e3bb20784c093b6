"""Keep what C libraries print on file descriptor 2 off the user's terminal.

PortAudio's ALSA host API writes lines such as ``Expression '...' failed in
'src/hostapi/alsa/pa_linux_alsa.c'`` straight to fd 2 when the sound server
dies, over the status line; Python cannot catch them without moving the
descriptor. While :class:`NativeNoise` is active fd 2 goes to a temporary
file, and the player writes to the terminal through the stream it yields.
On exit the descriptor is restored; library noise is kept for ``--debug``
(the ``voicecoach.native`` logger) and anything else caught (a Python
warning, a log line) is passed on, so nothing is lost.
"""

from __future__ import annotations

import logging
import os
import re
from typing import IO

from voicecoach.common.fd_capture import Fd2Capture

__all__ = ["NativeNoise", "is_noise"]

_log = logging.getLogger("voicecoach.native")

_NOISE = re.compile(
    r"pa_linux_alsa\.c|^Expression '.*' failed|^ALSA lib |PaAlsa|"
    r"^Assertion .* failed|^\s*$"
)


def is_noise(line: str) -> bool:
    """A line a C audio library printed by itself (not one of ours)."""
    return bool(_NOISE.search(line))


class NativeNoise:
    """Context manager: fd 2 to a temp file; yields a text stream to the terminal.

    Parameters
    ----------
    terminal : IO
        Where the user reads messages (the CLI's stderr). Only when it is
        the process's own fd 2 is anything moved; otherwise (tests, a
        redirected stream object) it is yielded unchanged.
    """

    def __init__(self, terminal: IO):
        self.terminal = terminal
        self.noise: list[str] = []
        self._capture: Fd2Capture | None = None
        self._out: IO | None = None

    def _is_fd2(self) -> bool:
        try:
            return self.terminal.fileno() == 2
        except (AttributeError, OSError, ValueError):
            return False

    def __enter__(self) -> IO:
        if not self._is_fd2():
            return self.terminal
        self.terminal.flush()
        capture = Fd2Capture(limit=None).__enter__()
        if capture.saved is None:  # not the main thread: nothing was moved
            return self.terminal
        self._capture = capture
        self._out = os.fdopen(
            os.dup(capture.saved),
            "w",
            buffering=1,
            encoding=getattr(self.terminal, "encoding", None) or "utf-8",
            errors="replace",
        )
        return self._out

    def __exit__(self, *exc: object) -> None:
        capture, self._capture = self._capture, None
        if capture is None or self._out is None:
            return
        capture.__exit__()
        capture.close()
        self._out.close()
        passed = []
        for line in capture.text.splitlines():
            if is_noise(line):
                if line.strip():
                    self.noise.append(line)
                    _log.debug("audio library: %s", line)
            else:
                passed.append(line)
        if passed:
            self.terminal.write("\n".join(passed) + "\n")
            self.terminal.flush()
