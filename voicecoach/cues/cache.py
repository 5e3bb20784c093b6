"""Processed cues on disk: :func:`cue_key` and the atomic :class:`CueCache`."""

from __future__ import annotations

import contextlib
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

    ``engine`` is :meth:`SpeechEngine.describe` (or :func:`engine_identity`). The JSON is canonical (sorted
    keys, no spaces, UTF-8) so the key is stable across runs and Python versions.
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
_MAGIC = b"VCCUE\x00\x03\x00"  # format tag, version 3
_COUNT = slice(8, 16)  # uint64 LE sample count
_KEY = slice(16, 48)  # the cue's key (its sha256, raw): which phrase and voice
_CRC = slice(48, 52)  # uint32 LE CRC-32 of the samples
_HEADER = 56  # then a uint32 LE CRC-32 of the header before it


def _head_problem(head: bytes, key: str, size: int) -> str:
    """What is wrong with an entry whose file is ``size`` bytes, from its
    header alone ('' when nothing is): what planning trusts for a length."""
    if not head.startswith(_MAGIC[:6]) or len(head) < _HEADER:
        return "not a cue file"
    if not head.startswith(_MAGIC):
        return "of another format version"
    if zlib.crc32(head[: _HEADER - 4]) != int.from_bytes(head[_HEADER - 4 : _HEADER], "little"):
        return "corrupt (header checksum mismatch)"
    if head[_KEY] != bytes.fromhex(key):
        return "another cue's (copied or renamed)"
    count = int.from_bytes(head[_COUNT], "little")
    if size != _HEADER + 4 * count or count == 0:
        return f"truncated ({size} bytes for {count} samples)"
    return ""


class CueCache:
    """Processed cues on disk, one file per key: ``<key>.cue``.

    A file is a 56-byte header (magic, sample count, the key, CRC-32 of the samples, CRC-32 of the
    header) and little-endian float32 samples: an entry proves which cue it holds, so one copied
    over another is found. Writes are atomic (a temp file renamed into place): readers see a whole
    entry or none. A bad entry (not this cue, another format version, a bad size or checksum) is
    deleted, logged and reported as a miss, as is one that cannot be read. A failed write raises ``OSError``.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)  # a TypeError for what is not a path
        self._warned: set[str] = set()

    def path(self, key: str) -> Path:
        if not _KEY_RE.fullmatch(key):  # a TypeError for what is not a str
            raise ValueError(f"key must be 64 lowercase hex digits (a sha256), not {key!r}")
        return self.directory / f"{key}.cue"

    def get(self, key: str) -> np.ndarray | None:
        """The cached cue, read-only float32 ``(n,)``, or None on a miss."""
        path = self.path(key)
        try:
            blob = read_capped(path, MAX_ENTRY_BYTES)  # never a FIFO, a device or a huge file
        except UnusableFile as exc:
            if exc.problem != "no such file":
                self._problem(path, exc.problem.split(",")[0].split(" (")[0])
            return None
        problem = _head_problem(blob[:_HEADER], key, len(blob))
        # CRC-32, not sha256: it finds the truncations and flipped bits a cache can suffer, for less
        # (every start reads a session's cues); whoever can write the cache could forge a sha256 too.
        if not problem and zlib.crc32(memoryview(blob)[_HEADER:]).to_bytes(4, "little") != blob[_CRC]:
            problem = "corrupt (checksum mismatch)"
        if problem:
            self._problem(path, problem)
            return None
        import numpy as np

        return np.frombuffer(blob, dtype="<f4", offset=_HEADER)  # a view of immutable bytes: read-only

    def length(self, key: str) -> int | None:
        """The cached cue's length from its header alone, or None on a miss.

        For planning, which asks the length of every variant of every phrase: the header (its checksum, its key)
        and the file size must agree; the samples' checksum is verified by :meth:`get` when the cue is used.
        """
        try:
            fd = os.open(self.path(key), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            usable = stat.S_ISREG(st.st_mode) and st.st_size <= MAX_ENTRY_BYTES
            head = os.read(fd, _HEADER) if usable else b""
        except OSError:
            return None
        finally:
            os.close(fd)
        if _head_problem(head, key, st.st_size):
            return None  # get() reports and removes it
        return int.from_bytes(head[_COUNT], "little")

    def _problem(self, path: Path, problem: str) -> None:
        """Delete a bad entry; warn once per kind of problem, not once per entry."""
        kind = problem.split(" (")[0]
        if kind not in self._warned:
            self._warned.add(kind)
            text = problem if problem.startswith("is ") else f"is {problem}"
            _log.warning("cue cache entry %s %s; such entries are deleted and synthesised again", path.name, text)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)

    def put(self, key: str, pcm: np.ndarray) -> None:
        """Store ``pcm`` (float32, shape ``(n,)``, ``n > 0``) atomically."""
        import numpy as np

        from voicecoach.common.arrays import check_mono

        path = self.path(key)
        payload = check_mono(pcm, "pcm", (np.float32,), allow_empty=False).astype("<f4", copy=False).tobytes()
        head = _MAGIC + pcm.size.to_bytes(8, "little") + bytes.fromhex(key) + zlib.crc32(payload).to_bytes(4, "little")
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, mode=0o600) as tmp, open(tmp, "wb") as f:  # private, as before
            f.write(head + zlib.crc32(head).to_bytes(4, "little"))
            f.write(payload)
