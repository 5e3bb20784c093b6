"""libsndfile's writers (through python-soundfile's public API) on our descriptors.

soundfile reports a failed write as "System error.": the reason stays in
libsndfile. So libsndfile writes into a file object (soundfile's virtual
I/O) on the descriptor, which keeps the first error (a full disk, a reader
gone) for the writer to raise. It moves as libsndfile moves on a descriptor
(a pipe does not seek and tells the bytes written), so the bytes are the
same; and there is no descriptor to fsync at close (all-or-nothing comes
from the temp file and its rename). The writers run on an encoder thread
(:class:`~voicecoach.encode.parallel.ThreadedSink`): an interrupt never
lands inside a libsndfile callback.
"""

from __future__ import annotations

import os
import stat

import numpy as np

__all__ = ["SoundFileSink"]


class _Descriptor:
    """A descriptor as libsndfile's virtual I/O sees it, moving as libsndfile
    moves on a descriptor of its own (from its offset; a pipe never seeks)."""

    def __init__(self, fd: int):
        self.fd = fd
        mode = os.fstat(fd).st_mode
        self.pipe = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        self.start = 0 if self.pipe else os.lseek(fd, 0, os.SEEK_CUR)
        self.written = 0
        self.error: BaseException | None = None

    def write(self, data: bytes) -> int:
        view, done = memoryview(data), 0
        try:
            while self.error is None and done < len(view):
                done += os.write(self.fd, view[done:])
        except BaseException as exc:
            self.error = exc
        self.written += done
        return done

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if self.pipe:
            return offset
        if whence == os.SEEK_SET:
            offset += self.start
        return os.lseek(self.fd, offset, whence) - self.start

    def tell(self) -> int:
        return self.written if self.pipe else os.lseek(self.fd, 0, os.SEEK_CUR) - self.start


class SoundFileSink:
    """A libsndfile writer of ``major``/``subtype`` on ``fd`` (left open).

    ``info``: RIFF INFO strings by soundfile's names (empty ones left out:
    libsndfile refuses them). ``by_descriptor``: libsndfile gets the
    descriptor itself (see :mod:`voicecoach.encode.formats.mp3`); a failed
    write then says only what libsndfile says.
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
    ):
        import soundfile as sf

        self.subtype = subtype
        self.closed = self.failed = False
        self._io = None if by_descriptor else _Descriptor(fd)
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
