"""Keep what PortAudio's ALSA host API prints on fd 2 when the sound server dies
(``Expression '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c'``) off the status
line. While :class:`NativeNoise` is active fd 2 goes to a temporary file and the
player writes to the terminal through the stream it yields; on exit library noise
goes to the ``voicecoach.native`` logger (``--debug``) and anything else caught is
passed on, so nothing is lost.
"""

from __future__ import annotations

import logging
import os
import re
from typing import IO

from voicecoach.common.fd_capture import Fd2Capture

__all__ = ["NativeNoise", "is_noise"]

_log = logging.getLogger("voicecoach.native")

_NOISE = re.compile(r"pa_linux_alsa\.c|^Expression '.*' failed|^ALSA lib |PaAlsa|^Assertion .* failed|^\s*$")


def is_noise(line: str) -> bool:
    """A line a C audio library printed by itself (not one of ours)."""
    return bool(_NOISE.search(line))


class NativeNoise:
    """Context manager: fd 2 to a temp file; yields a text stream to the terminal.

    Parameters
    ----------
    terminal : IO
        Where the user reads messages (the CLI's stderr). Only when it is
        the process's own fd 2, on the main thread, is anything moved;
        otherwise (tests, a redirected stream object) it is yielded unchanged.
    """

    def __init__(self, terminal: IO):
        self.terminal = terminal
        self.noise: list[str] = []
        self._capture = Fd2Capture(limit=None)
        self._out: IO | None = None

    def __enter__(self) -> IO:
        try:
            ours = self.terminal.fileno() == 2
        except (AttributeError, OSError, ValueError):
            ours = False
        if ours:
            self.terminal.flush()
        saved = self._capture.__enter__().saved if ours else None
        if saved is None:  # not fd 2, or not the main thread: nothing was moved
            return self.terminal
        encoding = getattr(self.terminal, "encoding", None) or "utf-8"
        self._out = os.fdopen(os.dup(saved), "w", buffering=1, encoding=encoding, errors="replace")
        return self._out

    def __exit__(self, *exc: object) -> None:
        if self._out is None:
            return
        self._capture.__exit__()
        self._capture.close()
        self._out.close()
        self._out = None
        passed = []
        for line in self._capture.text.splitlines():
            if not is_noise(line):
                passed.append(line)
            elif line.strip():
                self.noise.append(line)
                _log.debug("audio library: %s", line)
        if passed:
            self.terminal.write("\n".join(passed) + "\n")
            self.terminal.flush()
