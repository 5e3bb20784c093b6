"""Processed cues on disk: :func:`cue_key` and the atomic :class:`CueCache`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.common.atomic import atomic_path
from voicecoach.common.files import UnusableFile, read_capped
from voicecoach.cues.identity import PROCESSING_VERSION
from voicecoach.cues.settings import SpeechSettings

if TYPE_CHECKING:
    import numpy as np

_log = logging.getLogger(__name__)


def cue_key(text: str, settings: SpeechSettings, samplerate: int, engine: str) -> str:
    """sha256 (hex) of everything that shapes a cue's samples.

    ``engine`` is :meth:`SpeechEngine.describe` (or :func:`engine_identity`).
    The JSON is canonical (sorted keys, no spaces, UTF-8) so the key is
    stable across runs and Python versions.
    """
    doc = {
        "text": text,
        "voice": settings.voice,
        "rate": settings.rate,
        "engine": engine,
        "samplerate": samplerate,
        "processing": PROCESSING_VERSION,
        "format": "float32-mono",
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


MAX_ENTRY_BYTES = 32 * 1024 * 1024
"""A cue is one phrase (300 characters at most): far under this; nothing bigger is read."""

_KEY_RE = re.compile(r"[0-9a-f]{64}")
_MAGIC = b"VCCUE\x00\x02\x00"            # format tag, version 2
_HEADER = len(_MAGIC) + 8 + 8            # magic, uint64 LE sample count, uint32 LE crc32, 4 zeros
_MAGIC_V1 = b"VCCUE\x00\x01\x00"         # version 1, still read: a sha256 of the payload
_HEADER_V1 = len(_MAGIC_V1) + 8 + 32


def _header_size(head: bytes) -> int:
    """The header's length in the format ``head`` starts with; 0 for no cue file."""
    return _HEADER if head.startswith(_MAGIC) else _HEADER_V1 if head.startswith(_MAGIC_V1) else 0


def _checksum(payload) -> bytes:
    """The version-2 header's last 8 bytes: the payload's CRC-32 and four zeros."""
    return zlib.crc32(payload).to_bytes(4, "little") + bytes(4)


class CueCache:
    """Processed cues on disk, one file per key: ``<key>.cue``.

    A file is a 24-byte header (magic, sample count, CRC-32 of the payload,
    four zero bytes) and little-endian float32 samples; entries of version 1
    (a 48-byte header with the payload's sha256) are still read. Writes go
    to a temp file in the same directory and are renamed into place
    (``os.replace``), so readers see a whole entry or none. A corrupt or
    truncated entry (bad magic, size or checksum) is deleted, logged and
    reported as a miss. I/O failures other
    than a missing entry raise ``OSError``.
    """

    def __init__(self, directory: Path):
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"directory must be a path, not {type(directory).__name__}")
        self.directory = Path(directory)
        self._warned: set[str] = set()

    def path(self, key: str) -> Path:
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, not {type(key).__name__}")
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"key must be 64 lowercase hex digits (a sha256), not {key!r}")
        return self.directory / f"{key}.cue"

    def get(self, key: str) -> np.ndarray | None:
        """The cached cue, read-only float32 ``(n,)``, or None on a miss."""
        path = self.path(key)
        try:
            blob = read_capped(path, MAX_ENTRY_BYTES)   # never a FIFO, a device or a huge file
        except UnusableFile as exc:
            if exc.problem == "no such file":
                return None
            self._problem(path, exc.problem.split(",")[0].split(" (")[0])
            return None
        problem = self._check(blob)
        if problem:
            self._problem(path, problem)
            return None
        import numpy as np
        pcm = np.frombuffer(blob, dtype="<f4", offset=_header_size(blob)).astype(np.float32,
                                                                                copy=False)
        return pcm  # a view of immutable bytes: read-only

    def length(self, key: str) -> int | None:
        """The cached cue's length from its header alone, or None on a miss.

        For planning, which asks the length of every variant of every
        phrase: the header and the file size must agree; the payload's
        checksum is verified by :meth:`get` when the cue is used.
        """
        path = self.path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES:
                return None                              # get() reports and removes it
            head = os.read(fd, _HEADER_V1)
            size = st.st_size
        except OSError:
            return None
        finally:
            os.close(fd)
        header = _header_size(head)
        if not header or len(head) < _HEADER:
            return None
        count = int.from_bytes(head[len(_MAGIC):len(_MAGIC) + 8], "little")
        return count if size == header + 4 * count and count > 0 else None

    def _problem(self, path: Path, problem: str) -> None:
        """Delete a bad entry; warn once per kind of problem, not once per entry."""
        kind = problem.split(" (")[0]
        if kind not in self._warned:
            self._warned.add(kind)
            text = problem if problem.startswith("is ") else f"is {problem}"
            _log.warning("cue cache entry %s %s; such entries are deleted and synthesised "
                         "again", path.name, text)
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass

    @staticmethod
    def _check(blob: bytes) -> str:
        """What is wrong with an entry ('' when nothing is).

        CRC-32, not sha256: it finds the truncations and flipped bits a
        cache can suffer, at a third of the cost of sha256 on the CPU's SHA
        instructions, and every start reads a session's cues (10 MB for 30
        minutes). Nothing here needs a cryptographic hash: whoever can write
        the cache can write a matching sha256 as well.
        """
        header = _header_size(blob)
        if not header or len(blob) < header:
            return "not a cue file"
        count = int.from_bytes(blob[len(_MAGIC):len(_MAGIC) + 8], "little")
        if len(blob) != header + 4 * count:
            return f"truncated ({len(blob)} bytes for {count} samples)"
        payload = memoryview(blob)[header:]
        digest = hashlib.sha256(payload).digest() if header == _HEADER_V1 else _checksum(payload)
        if digest != blob[len(_MAGIC) + 8:header]:
            return "corrupt (checksum mismatch)"
        return ""

    def put(self, key: str, pcm: np.ndarray) -> None:
        """Store ``pcm`` (float32, shape ``(n,)``, ``n > 0``) atomically."""
        import numpy as np
        path = self.path(key)
        if not isinstance(pcm, np.ndarray):
            raise TypeError(f"pcm must be a numpy array, not {type(pcm).__name__}")
        if pcm.dtype != np.float32:
            raise TypeError(f"pcm must be float32, not {pcm.dtype}")
        if pcm.ndim != 1 or pcm.size == 0:
            raise ValueError(f"pcm must have shape (n,) with n > 0, not {pcm.shape}")
        payload = pcm.astype("<f4", copy=False).tobytes()
        header = _MAGIC + pcm.size.to_bytes(8, "little") + _checksum(payload)
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, mode=0o600) as tmp, open(tmp, "wb") as f:   # private, as before
            f.write(header)
            f.write(payload)
