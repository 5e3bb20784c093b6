"""libsndfile's writers (through python-soundfile's public API) on our descriptors.

soundfile reports a failed write as "System error.": the reason stays in
libsndfile. So libsndfile writes into a file object (soundfile's virtual
I/O) on the descriptor, which keeps the first error (a full disk, a reader
gone) for the writer to raise. It moves as libsndfile moves on a descriptor
(a stream does not seek and tells the bytes written), so the bytes are the
same, but that a stream's header is final before its first frame; and
there is no descriptor to fsync at close (all-or-nothing comes from the
temp file and its rename). The writers run on an encoder thread
(:class:`~voicecoach.encode.parallel.ThreadedSink`): an interrupt never
lands inside a libsndfile callback.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

__all__ = ["SoundFileSink"]


class _Descriptor:
    """A descriptor as libsndfile's virtual I/O sees it. A file moves as
    libsndfile moves on a descriptor of its own (from its offset); a stream
    (pipe, FIFO, device, a file appended to) takes the bytes in order: a
    write over bytes already sent is dropped (FLAC's STREAMINFO update at
    the end), and ``head(held)`` may hold the first bytes back until it
    returns them final (FLAC's total length, known up front)."""

    def __init__(self, fd: int, stream: bool, head: Callable[[bytes], bytes | None] | None = None):
        self.fd, self.stream, self.head = fd, stream, head if stream else None
        self.start = 0 if stream else os.lseek(fd, 0, os.SEEK_CUR)
        self.pos = self.end = 0  # a stream's position and bytes taken
        self.held = b""
        self.error: BaseException | None = None

    def _send(self, data: bytes) -> int:
        view, done = memoryview(data), 0
        try:
            while self.error is None and done < len(view):
                done += os.write(self.fd, view[done:])
        except BaseException as exc:
            self.error = exc
        return done

    def write(self, data: bytes) -> int:
        if not self.stream:
            return self._send(data)
        n, before = len(data), self.pos
        self.pos += n
        if before < self.end:  # a stream cannot go back
            return n
        if self.head is None:
            self.end = self.pos = before + self._send(data)
            return self.pos - before
        self.end, self.held = self.pos, self.held + bytes(data)
        self.flush()
        return n

    def flush(self, last: bool = False) -> None:
        """Send the held bytes once ``head`` has them final (``last``: as they are)."""
        if self.head is None:
            return
        final = self.head(self.held)
        if final is not None or last:
            data, self.head, self.held = self.held if final is None else final, None, b""
            self._send(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if self.stream:
            self.pos = offset + {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self.end}[whence]
            return self.pos
        if whence == os.SEEK_SET:
            offset += self.start
        return os.lseek(self.fd, offset, whence) - self.start

    def tell(self) -> int:
        return self.pos if self.stream else os.lseek(self.fd, 0, os.SEEK_CUR) - self.start


class SoundFileSink:
    """A libsndfile writer of ``major``/``subtype`` on ``fd`` (left open).

    ``info``: RIFF INFO strings by soundfile's names (empty ones left out:
    libsndfile refuses them). ``stream``: ``fd`` cannot go back (a pipe,
    FIFO, device or file appended to); ``head``: see :class:`_Descriptor`.
    ``by_descriptor``: libsndfile gets the descriptor itself (see
    :mod:`voicecoach.encode.formats.mp3`); a failed write then says only what
    libsndfile says.
    """

    def __init__(
        self,
        fd: int,
        samplerate: int,
        channels: int,
        subtype: str,
        major: str,
        info: dict[str, str] | None = None,
        by_descriptor: bool = False,
        stream: bool = False,
        head: Callable[[bytes], bytes | None] | None = None,
    ):
        import soundfile as sf

        self.subtype = subtype
        self.closed = self.failed = False
        self._io = None if by_descriptor else _Descriptor(fd, stream, head)
        self._file = self._checked(
            sf.SoundFile,
            fd if self._io is None else self._io,
            "w",
            samplerate,
            channels,
            subtype,
            format=major,
            closefd=False,
        )
        for name, text in (info or {}).items():
            if text:
                setattr(self._file, name, text)

    def _checked(self, call, *args, **kwargs):
        """``call(...)``, raising the descriptor's error if one was kept: it
        says why where libsndfile's says "System error." or nothing at all."""
        try:
            result = call(*args, **kwargs)
        except (RuntimeError, AssertionError):  # libsndfile's errors; soundfile asserts
            # that a write took every frame
            self.failed = True
            if self._io is not None and self._io.error is not None:
                raise self._io.error from None
            raise
        if self._io is not None and self._io.error is not None:
            self.failed = True
            raise self._io.error
        return result

    def write(self, block: np.ndarray) -> None:
        self._checked(self._file.write, block)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._checked(self._file.close)
            if self._io is not None:
                self._checked(self._io.flush, last=True)
