"""Keeping what C libraries write to file descriptor 2 (libmpg123's "Illegal
Audio-MPEG-Header", PortAudio's ALSA failures) off the terminal: :class:`Fd2Capture`
points fd 2 at a temp file while entered and hands back what was written. That
affects the whole process, so it is done only on the main thread.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import suppress
from typing import IO, Self

__all__ = ["Fd2Capture"]

MAX_KEPT = 64 * 1024  # bytes of captured output kept per call by default; the rest is not read


class Fd2Capture:
    """A reusable context manager; after each use, :attr:`text` holds what
    was written to fd 2 (at most ``limit`` bytes, all of it for None) and
    :attr:`lines` its non-empty lines.
    While entered, :attr:`saved` is a descriptor of the real fd 2."""

    def __init__(self, limit: int | None = MAX_KEPT) -> None:
        self.limit = limit
        self._file: IO[bytes] | None = None
        self.saved: int | None = None
        self.text = ""
        self.lines: list[str] = []

    def __enter__(self) -> Self:
        self.text, self.lines = "", []
        if threading.current_thread() is not threading.main_thread():
            return self
        if self._file is None:
            self._file = tempfile.TemporaryFile()
        _flush_stderr()
        self._file.seek(0)
        self._file.truncate()
        self.saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is None or self._file is None:
            return
        _flush_stderr()  # Python's own buffered writes belong to the capture
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.saved = None
        self._file.seek(0)
        self.text = self._file.read(-1 if self.limit is None else self.limit).decode("utf-8", "replace")
        self.lines = [line.strip() for line in self.text.splitlines() if line.strip()]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _flush_stderr() -> None:
    with suppress(AttributeError, ValueError, OSError):
        sys.stderr.flush()
