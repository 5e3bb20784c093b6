"""Quieting C libraries that write to file descriptor 2.

libmpg123 (inside libsndfile) prints "Illegal Audio-MPEG-Header" lines for
a corrupt MP3 straight to fd 2, below Python, hundreds of them on one
export. :class:`Fd2Capture` points fd 2 at a temp file around one decode
call and hands back what was written, so the caller can summarise it in one
line. Redirecting fd 2 affects the whole process, so it is done only on the
main thread (a background thread's redirect would swallow the main thread's
messages) and never across a ``yield``: callers wrap single library calls.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading

__all__ = ["Fd2Capture"]

MAX_KEPT = 64 * 1024
"""Bytes of captured output kept per call; the rest is counted, not read."""


class Fd2Capture:
    """A reusable context manager; after each use, :attr:`lines` holds the
    non-empty lines the library wrote (also counted in :attr:`total`)."""

    def __init__(self) -> None:
        self._file = None
        self._saved: int | None = None
        self.lines: list[str] = []
        self.total = 0

    def __enter__(self) -> Fd2Capture:
        self.lines = []
        if threading.current_thread() is not threading.main_thread():
            return self
        if self._file is None:
            self._file = tempfile.TemporaryFile()
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError, OSError):
            pass
        self._file.seek(0)
        self._file.truncate()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is None:
            return
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._saved = None
        self._file.seek(0)
        text = self._file.read(MAX_KEPT).decode("utf-8", "replace")
        self.lines = [line.strip() for line in text.splitlines() if line.strip()]
        self.total += len(self.lines)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
