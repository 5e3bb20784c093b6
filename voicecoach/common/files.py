"""Opening the user's files without trusting what they are: a FIFO would block,
a device never end, a huge file exhaust memory. Readers here open without
blocking, check that they opened a regular file and read at most a stated
number of bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from voicecoach.errors import InputError

__all__ = ["UnusableFile", "kind_of", "read_capped", "regular_file"]

MIB = 1024 * 1024


class UnusableFile(InputError):
    """A named file that is missing, not a regular file, or too big; ``problem`` is
    the short reason ("is a FIFO"), for callers that name the file and the key themselves."""

    def __init__(self, path: Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISREG, "a regular file"),
    ):
        if test(mode):
            return name
    return "a special file"


def regular_file(path: Path | str, cap: int | None = None) -> os.stat_result:
    """``os.stat`` of ``path`` if it is a regular file of at most ``cap`` bytes;
    else (missing, unreadable, not a regular file, too big) :class:`UnusableFile`."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise UnusableFile(Path(path), "no such file") from None
    except OSError as exc:
        raise UnusableFile(Path(path), f"cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnusableFile(Path(path), f"is {kind_of(st.st_mode)}, not a regular file")
    if cap is not None and st.st_size > cap:
        raise UnusableFile(Path(path), f"is {st.st_size / MIB:.1f} MiB; the limit is {cap / MIB:g} MiB")
    return st


def read_capped(path: Path | str, cap: int) -> bytes:
    """All of a regular file of at most ``cap`` bytes: opened without blocking (a FIFO
    put in place after a check can not hang us) and checked again on the descriptor;
    never more than ``cap + 1`` bytes are read, whatever the file claims or grows to."""
    regular_file(path, cap)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UnusableFile(Path(path), f"cannot read it ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnusableFile(Path(path), f"is {kind_of(st.st_mode)}, not a regular file")
        chunks, size = [], 0
        want = max(MIB, st.st_size + 1)  # a whole file in one read: no join to copy it
        while size <= cap:
            chunk = os.read(fd, min(want, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnusableFile(Path(path), f"cannot read it ({exc.strerror})") from None
    finally:
        os.close(fd)
    if size > cap:
        raise UnusableFile(Path(path), f"is over the limit of {cap / MIB:g} MiB")
    return b"".join(chunks)
