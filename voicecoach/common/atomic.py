"""Atomic file writes: a hidden temp file beside the target, renamed into place,
so a reader (or a crash) sees the old file or the new one, never half of one.
Temp files (``.NAME.part-PID-XXXXXXXX``) are removed on any failure; one left by a
killed process is known by its dead PID and removed by :func:`remove_stale_parts`.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["PART_MARK", "atomic_path", "discard", "remove_stale_parts", "temp_beside"]

PART_MARK = ".part-"  # what every temp file's name contains

_PART = re.compile(r"^\..+\.part-(?P<pid>\d+)-[0-9a-f]{8}$")


def temp_beside(target: Path, mode: int = 0o666, claim: Callable[[Path], None] | None = None) -> Path:
    """Create an empty ``.NAME.part-PID-XXXXXXXX`` in ``target``'s folder (``mode``
    filtered by the umask; ``O_EXCL``, so two writers never share one). ``claim(path)``
    is called *before* the file is created, so a signal in between still leaves the
    caller knowing what to remove."""
    if not isinstance(target, Path):
        raise TypeError(f"target must be a Path, not {type(target).__name__}")
    while True:
        tmp = target.with_name(f".{target.name}{PART_MARK}{os.getpid()}-{secrets.token_hex(4)}")
        if os.path.lexists(tmp):
            continue
        if claim is not None:
            claim(tmp)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; someone else's process, or a pid out of range, counts as running."""
    try:
        with suppress(PermissionError, OverflowError):
            os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def remove_stale_parts(folder: Path) -> list[Path]:
    """Delete the temp files of dead writers in ``folder``: regular files named
    ``.NAME.part-PID-XXXXXXXX`` whose process is gone (an unlistable folder is left as it is)."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _PART.match(entry.name)
        if m is None or _alive(int(m["pid"])):
            continue
        with suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def discard(tmp: Path) -> None:
    """Remove a temp file if it is there; a failure to do so is not the error to report."""
    with suppress(OSError):
        os.unlink(tmp)


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
