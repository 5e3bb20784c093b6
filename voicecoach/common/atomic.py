"""Atomic file writes: a hidden temp file beside the target, renamed into place.

A reader (or a crash) then sees the old file or the new one, never half of
one. Temp files are named ``.NAME.part-XXXXXXXX`` so that one left by a
killed process can be recognised as such, and are removed on any failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PART_MARK", "atomic_path", "discard", "temp_beside"]

PART_MARK = ".part-"
"""What every temp file's name contains."""


def temp_beside(target: Path, mode: int = 0o666) -> Path:
    """Create an empty ``.NAME.part-XXXXXXXX`` in ``target``'s folder.

    ``mode`` is filtered by the umask, as ``open()`` does; the name is new
    (``O_EXCL``), so two writers never share a temp file.
    """
    if not isinstance(target, Path):
        raise TypeError(f"target must be a Path, not {type(target).__name__}")
    while True:
        tmp = target.with_name(f".{target.name}{PART_MARK}{secrets.token_hex(4)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def discard(tmp: Path) -> None:
    """Remove a temp file if it is there; a failure to do so is not the error to report."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


@contextmanager
def atomic_path(target: Path, mode: int = 0o666) -> Iterator[Path]:
    """A temp file to write ``target``'s new content to; it replaces ``target``
    when the block ends normally and is removed if the block (or the rename) fails."""
    tmp = temp_beside(target, mode)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        discard(tmp)
        raise
