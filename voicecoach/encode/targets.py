"""Where an export goes, decided the way Unix tools decide it.

A regular file (new or old) is written to a temp file beside it and renamed
into place; a symlink is followed and its target replaced the same way (the
link stays a link); a FIFO or a character device is written through, never
replaced (renaming over one would delete the node itself); ``-`` is standard
output. Everything else, and every target that can not work (a missing
folder, a directory, a read-only file without ``force``), is refused before
any sound is rendered, as an :class:`~voicecoach.errors.InputError`.

Temp files and the removal of a dead run's leftovers are
:mod:`voicecoach.common.atomic`'s.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from voicecoach.errors import InputError

__all__ = ["STDOUT", "Target", "TargetKind", "check_stdout", "resolve_target", "writable_in_place"]

STDOUT = "-"
"""The output name that means standard output."""


class TargetKind(StrEnum):
    """How a target is written."""

    FILE = "file"  # temp file beside it, then os.replace
    STREAM = "stream"  # a FIFO or character device: opened and written through
    STDOUT = "stdout"  # file descriptor 1


@dataclass(frozen=True)
class Target:
    """A checked output: ``shown`` names it in messages, ``real`` is where
    the bytes go (a symlink's target for a linked file)."""

    shown: Path
    kind: TargetKind
    real: Path

    @property
    def name(self) -> str:
        """How messages call it."""
        return "standard output" if self.kind is TargetKind.STDOUT else str(self.shown)

    @property
    def seekable(self) -> bool:
        """Tags, chapters and a WAV header written at the end need a regular file."""
        return self.kind is TargetKind.FILE


def resolve_target(path: Path | str, option: str = "--output", force: bool = False) -> Target:
    """Check ``path`` as an export target and say how to write it.

    Raises
    ------
    InputError
        One line naming the option and the path: a directory, a block
        device or socket, a missing or unwritable folder, or an existing
        read-only file (unless ``force``).
    """
    text = os.fspath(path)
    if text == STDOUT:
        return Target(Path(STDOUT), TargetKind.STDOUT, Path(STDOUT))
    if not text:
        raise InputError(f"{option}: the output name is empty; name a file, or - for standard output")
    if text.endswith(os.sep) and not os.path.isdir(text):  # Path() would drop the slash
        raise InputError(f"{option}: {text}: a name ending in {os.sep} is a folder; name a file to write")
    shown = Path(text)
    try:
        st = os.stat(shown)  # follows symlinks
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise InputError(f"{option}: {shown}: cannot use it ({exc.strerror})") from None
    real = Path(os.path.realpath(shown)) if os.path.islink(shown) else shown
    if st is not None:
        if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
            return Target(shown, TargetKind.STREAM, shown)
        if not stat.S_ISREG(st.st_mode):
            kinds = {stat.S_IFDIR: "a directory", stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}
            what = kinds.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise InputError(f"{option}: {shown}: is {what}, not a file to write")
        read_only = not st.st_mode & 0o222 or not os.access(shown, os.W_OK)
        if read_only and not force:
            raise InputError(f"{option}: {shown}: is read-only; pass --force to replace it")
    folder = real.parent
    try:
        fst = os.stat(folder)
    except NotADirectoryError:
        raise InputError(f"{option}: {shown}: a part of {folder} is not a folder") from None
    except FileNotFoundError:
        raise InputError(f"{option}: {shown}: the folder {folder} does not exist") from None
    except OSError as exc:
        raise InputError(f"{option}: {shown}: cannot use the folder {folder} ({exc.strerror})") from None
    if not stat.S_ISDIR(fst.st_mode):
        raise InputError(f"{option}: {shown}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option}: {shown}: the folder {folder} is not writable")
    return Target(shown, TargetKind.FILE, real)


def check_stdout(target: Target, stems: bool, cue_sheet: bool) -> None:
    """Standard output takes one stream: no stems or cue sheet beside it, and
    not a terminal (sound bytes would garble it)."""
    if target.kind is not TargetKind.STDOUT:
        return
    for flag, on in (("--stems", stems), ("--cue", cue_sheet)):
        if on:
            raise InputError(f"{flag}: cannot be used with -o - (standard output); name an output file")
    if os.isatty(1):
        raise InputError("--output: -: standard output is a terminal; pipe it into another program or name a file")


def writable_in_place(fd: int) -> bool:
    """Whether ``fd`` is a regular file written from its offset, not appended
    to: standard output redirected to a file (``-o - > x.wav``) is one, and
    can take a whole file, written out of order, as ``-o x.wav`` would."""
    try:
        import fcntl

        st = os.fstat(fd)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except (ImportError, OSError):
        return False
    return stat.S_ISREG(st.st_mode) and not flags & os.O_APPEND
