"""Your own music under the coach: a playlist decoded as an endless stream.

:func:`find_tracks` turns a file or a folder into a playlist;
:class:`MusicStream` decodes it block by block (memory stays flat), converted,
resampled and crossfaded at every join. The export pulls it directly and
live play through :class:`~voicecoach.live.music_feed.MusicFeeder`, in the
same order, so both hear the same music.
"""

from __future__ import annotations

import logging
import math
import os
import random
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from voicecoach.common.fd_capture import Fd2Capture
from voicecoach.common.files import UnusableFile, regular_file
from voicecoach.common.numbers import check_count, check_positive_int
from voicecoach.errors import InputError, RuntimeFailure

__all__ = ["CROSSFADE_SECONDS", "MusicStream", "find_tracks"]

_log = logging.getLogger(__name__)

CROSSFADE_SECONDS = 0.020
"""Length of the equal-power crossfade at every track join (and the first fade-in)."""

DECODE_FRAMES = 8192
"""Frames decoded per step (libsndfile and soxr release the GIL while they work)."""

_DECODE_ERRORS = (RuntimeError, OSError, ValueError)
"""What a broken or vanished file raises while decoding (soundfile's errors are RuntimeErrors)."""

MAX_PEAK = 16.0
"""Decoded samples past this (+24 dBFS) are a broken float file, not music."""
MAX_DC = 0.1
"""A decoded block whose mean is past this and carries 90 % of its energy is a DC offset."""
_GONE = "went missing during the session (deleted or moved)"

_SIGNATURES = {
    b"RIFF": "WAV",
    b"RF64": "WAV",
    b"FORM": "AIFF",
    b"fLaC": "FLAC",
    b"OggS": "Ogg",
    b"ID3": "MP3",
    b".snd": "AU",
    b"caff": "CAF",
    b"wvpk": "WavPack",
}
"""First bytes of the formats users bring, to tell a damaged file from one that is not audio."""


class _BadSamples(ValueError):
    """Decoded samples that must not reach the mix (NaN, infinite, absurd, DC)."""


def _check_samples(block: np.ndarray) -> None:
    """Raise :class:`_BadSamples` if decoded ``block`` (float32, ``(n, channels)``)
    is not music: a float file can hold NaN, infinities or 1e30, which would
    silence or swamp the whole mix, or a constant that eats its headroom."""
    if not block.size:
        return
    lo, hi = float(block.min()), float(block.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise _BadSamples("holds NaN or infinite samples")
    if max(-lo, hi) > MAX_PEAK:
        raise _BadSamples(
            f"holds samples at {20 * math.log10(max(-lo, hi)):+.0f} dBFS, not music (a damaged float file?)"
        )
    dc = np.abs(block.mean(axis=0, dtype=np.float64))
    if dc.max() > MAX_DC and (dc * dc > 0.9 * np.mean(np.square(block, dtype=np.float64), axis=0)).any():
        raise _BadSamples(f"holds a DC offset of {float(dc.max()):.2g}, not music")


AUDIO_EXTENSIONS = frozenset(
    {"wav", "wave", "w64", "rf64", "flac", "ogg", "oga", "opus", "mp3"}
    | {"aif", "aiff", "aifc", "au", "snd", "caf", "wv", "mpc", "voc"}
)
"""What a folder walk considers: other files are not opened at all."""

MAX_WALK_ENTRIES = 50_000
"""Files and folders a music folder walk looks at before it stops (``--music /``)."""

_NOISE = Fd2Capture()


def _probe(path: Path, crossfade: float = CROSSFADE_SECONDS) -> str | None:
    """Why ``path`` can not be played, or ``None`` if it can. Only a regular
    file is opened: a FIFO or a device would block or never end."""
    try:
        regular_file(path)
    except UnusableFile as exc:
        return exc.problem
    try:
        with _NOISE:
            info = sf.info(str(path))
    except _DECODE_ERRORS as err:
        return _unreadable(path, err)
    if info.frames == 0 or info.samplerate <= 0 or info.channels <= 0:
        return "holds no audio"
    if info.frames <= crossfade * info.samplerate:
        return f"shorter than the {crossfade * 1000:g} ms crossfade"
    return None


def _summary(skipped: dict[str, int]) -> str:
    """``why: count`` for every kind of file a walk passed over, in one line."""
    return "; ".join(f"{why}: {n}" for why, n in skipped.items())


def _unreadable(path: Path, err: BaseException) -> str:
    """What a file soundfile can not open is: libsndfile says "does not exist
    or is not a regular file (possibly a pipe?)" of any it does not recognise."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        return _GONE if not os.path.lexists(path) else f"cannot read it ({exc.strerror})"
    if not head:
        return "is empty (0 bytes)"
    mpeg = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # a frame's sync
    kind = "MP3" if mpeg else next((k for s, k in _SIGNATURES.items() if head.startswith(s)), None)
    if kind is None:
        return "is not an audio file (no format soundfile can read)"
    why = str(err).strip() or type(err).__name__  # soundfile's message: its useful part, on one line
    if ": " in why and why.startswith("Error opening"):
        why = why.rsplit(": ", 1)[1]
    why = " ".join(why.split())
    return f"is a truncated or damaged {kind} file" + ("" if "possibly a pipe" in why else f" ({why})")


def find_tracks(spec: Path | str, shuffle: bool = False, seed: int | None = None) -> list[Path]:
    """The playlist that ``spec`` names: one file, or every audio file in a
    folder, sorted by path case-insensitively or shuffled (``seed``: tests).

    A folder is searched recursively (symlinked folders are not followed, so a
    link loop can not hang us); hidden files are skipped, and files soundfile
    can not read are counted in one warning. A missing path, a file that is
    not audio or a folder with no audio file is an :class:`InputError` naming it.
    """
    path = Path(spec).expanduser()
    if not os.path.lexists(path):
        raise InputError(f"music: {path}: no such file or folder")
    if path.is_dir():
        found: list[Path] = []
        errors: list[OSError] = []
        seen = 0
        skipped: dict[str, int] = {}
        for root, dirs, files in os.walk(path, onerror=errors.append):
            seen += len(dirs) + len(files)
            if seen > MAX_WALK_ENTRIES:
                skipped[f"the rest of a folder tree over {MAX_WALK_ENTRIES} entries"] = 1
                break
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in files:
                if f.startswith("."):
                    continue
                if f.rpartition(".")[2].lower() not in AUDIO_EXTENSIONS:
                    skipped["not audio files"] = skipped.get("not audio files", 0) + 1
                    continue
                found.append(Path(root, f))
        for err in errors:
            if err.filename is not None and Path(err.filename) == path:
                raise InputError(f"music: {path}: can not read the folder ({err.strerror})")
        if errors:
            skipped["folders that could not be read"] = len(errors)
        tracks = []
        for p in found:
            problem = _probe(p)
            if problem is None:
                tracks.append(p)
            else:
                why = problem.split(" (")[0]
                skipped[why] = skipped.get(why, 0) + 1
        tracks.sort(key=lambda p: (str(p.relative_to(path)).casefold(), str(p)))
        if not tracks:
            raise InputError(
                f"music: {path}: no audio file in this folder that soundfile can play"
                + (f" ({_summary(skipped)})" if skipped else "")
            )
        if skipped:
            _log.warning("music: %s: skipped %s", path, _summary(skipped))
    else:
        problem = _probe(path)
        if problem is not None:
            raise InputError(f"music: {path}: {problem}")
        tracks = [path]
    if shuffle:
        random.Random(seed).shuffle(tracks)
    return tracks


class _SequentialFile(sf.SoundFile):
    """A :class:`soundfile.SoundFile` read front to back, never seeked.

    soundfile seeks back to "where it was plus what it read" after every
    ``read`` of a seekable file, and libsndfile's MP3 decoder does not seek
    seamlessly: an MP3 read in blocks comes out garbled after the first
    block. Unseekable, soundfile skips those seeks; we only read forward.
    The music tests pin this against a whole-file read.
    """

    def seekable(self) -> bool:
        return False


def _convert_channels(block: np.ndarray, channels: int) -> np.ndarray:
    """``(n, c)`` float32 as ``(n, channels)``: to mono the average, from mono
    copies; otherwise (5.1 to stereo, say) the first ``channels`` channels,
    or the channels repeated in turn when widening."""
    have = block.shape[1]
    if have == channels:
        return block
    if channels == 1:
        return block.mean(axis=1, keepdims=True, dtype=np.float32)
    if have == 1:
        return np.repeat(block, channels, axis=1)
    return np.ascontiguousarray(block[:, np.arange(channels) % have])


class MusicStream:
    """A playlist as one endless float32 stream at the session's rate and width.

    The ``tracks`` play in order, then again from the first, forever, resampled
    (streaming ``soxr``, ``'HQ'``) and converted to the session's ``samplerate``
    and ``channels``. ``crossfade`` seconds of equal-power crossfade join them
    (and fade the stream in); ``0`` joins them without a fade.

    Memory is a few decode blocks, whatever the length: a file is read
    :data:`DECODE_FRAMES` frames at a time and never kept. A track that can
    not be opened, or fails part-way, is skipped with a logged warning (what
    was decoded still plays); one that yields no audio at all is dropped from
    the playlist. When no track is left, :meth:`read` raises
    :class:`~voicecoach.errors.InputError`, and again on every later call.
    Not thread-safe: one reader (the export, or one
    :class:`~voicecoach.live.music_feed.MusicFeeder`).
    """

    def __init__(
        self, tracks: Sequence[Path | str], samplerate: int, channels: int = 1, crossfade: float = CROSSFADE_SECONDS
    ):
        self.samplerate = check_positive_int(samplerate, "samplerate")
        self.channels = check_positive_int(channels, "channels")
        if not 0.0 <= crossfade <= 1.0:  # a non-number raises TypeError here
            raise ValueError(f"crossfade must be between 0 and 1 s, not {crossfade}")
        self.tracks: tuple[Path, ...] = tuple(Path(t) for t in tracks)
        if not self.tracks:
            raise ValueError("tracks must name at least one file")
        self.fade = round(crossfade * self.samplerate)
        self.position = 0
        """Frames handed out so far."""
        self.skipped: set[Path] = set()
        """Tracks dropped from the playlist because they yielded no audio."""
        self._why: dict[Path, str] = {}
        """Why each track was skipped, for one warning each and the last error."""
        self._noisy: set[Path] = set()
        # The generator holds a weak proxy: no cycle keeps a stream (and its
        # soxr resampler) alive after its last use, until the interpreter's exit.
        self._chunks = MusicStream._joined(weakref.proxy(self))
        self._cur = np.zeros((0, self.channels), dtype=np.float32)
        self._pos = 0
        self._error: Exception | None = None

    def again(self) -> MusicStream:
        """A fresh stream of the same playlist from its start (the loudness
        pass), sharing this one's warnings so each is given once."""
        twin = MusicStream(self.tracks, self.samplerate, self.channels, self.fade / self.samplerate)
        twin._why, twin._noisy = self._why, self._noisy
        return twin

    def read(self, frames: int) -> np.ndarray:
        """The next ``frames`` frames, float32, shape ``(frames, channels)``."""
        frames = check_count(frames, "frames")
        out = np.empty((frames, self.channels), dtype=np.float32)
        self.read_into(out)
        return out

    def read_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (float32, ``(n, channels)``, writeable) with the next ``n`` frames."""
        if not isinstance(out, np.ndarray) or out.dtype != np.float32:
            raise TypeError("out must be a float32 numpy.ndarray")
        if out.ndim != 2 or out.shape[1] != self.channels:
            raise ValueError(f"out must have shape (n, {self.channels}), not {out.shape}")
        if self._error is not None:
            raise self._error
        n, filled = out.shape[0], 0
        while filled < n:
            if self._pos >= len(self._cur):
                try:
                    self._cur = next(self._chunks)
                except Exception as err:  # the generator is dead: fail the same way again
                    self._error = err
                    raise
                self._pos = 0
            k = min(n - filled, len(self._cur) - self._pos)
            out[filled : filled + k] = self._cur[self._pos : self._pos + k]
            self._pos += k
            filled += k
        self.position += n

    def _decode(self, path: Path) -> Iterator[np.ndarray]:
        """One track at the session's rate and width, in blocks of about
        :data:`DECODE_FRAMES` frames (the resampler's output varies)."""
        with _NOISE:
            f = _SequentialFile(str(path))
        self._noise(path, _NOISE.lines)
        with f:
            rs = None
            if f.samplerate != self.samplerate:
                rs = soxr.ResampleStream(f.samplerate, self.samplerate, self.channels, dtype="float32", quality="HQ")
            while True:
                with _NOISE:
                    block = f.read(DECODE_FRAMES, dtype="float32", always_2d=True)
                self._noise(path, _NOISE.lines)
                _check_samples(block)
                last = len(block) == 0
                block = _convert_channels(block, self.channels)
                if rs is not None:
                    block = rs.resample_chunk(block, last=last)
                if len(block):
                    yield block
                if last:
                    return

    def _noise(self, path: Path, lines: list[str]) -> None:
        """What the decoder library printed, as one warning per track."""
        if lines and path not in self._noisy:
            self._noisy.add(path)
            _log.warning(
                "music: %s: the decoder reported problems (%s); playing what it could decode", path, lines[0][:120]
            )

    def _warn(self, path: Path, why: str, dropped: bool) -> None:
        """Say once per track why it is skipped; a lone track dropped is said
        by the error that follows."""
        if path not in self._why:
            self._why[path] = why
            if not dropped or len(self.tracks) > 1:
                _log.warning("music: skipping %s: %s", path, why)

    def _no_track(self) -> Exception:
        """The error when no track is left: the one track's reason, or the
        playlist's; a playlist that went missing is a runtime failure."""
        gone = all(self._why.get(t) == _GONE for t in self.tracks)
        kind = RuntimeFailure if gone else InputError
        if len(self.tracks) == 1:
            return kind(f"music: {self.tracks[0]}: {self._why.get(self.tracks[0], 'no audio')}")
        names = ", ".join(str(t) for t in self.tracks[:3])
        more = f" and {len(self.tracks) - 3} more" if len(self.tracks) > 3 else ""
        return kind(f"music: no track could be decoded ({names}{more})")

    def _joined(self) -> Iterator[np.ndarray]:
        """Every track in turn, forever, crossfaded: the last ``fade`` frames of
        each (the *tail*) are held back until the next track's first frames
        are decoded, then the two overlap. It starts from a silent tail."""
        F, ch = self.fade, self.channels
        tail = np.zeros((F, ch), dtype=np.float32)
        while True:
            playable = [t for t in self.tracks if t not in self.skipped]
            if not playable:
                raise self._no_track()
            for path in playable:
                got = 0
                head: list[np.ndarray] = []  # this track's first frames, for the crossfade
                carry = None  # decoded, not yet handed out (holds the next tail)
                try:
                    for block in MusicStream._decode(self, path):  # the proxy, not a bound method
                        got += len(block)
                        if carry is None:
                            head.append(block)
                            if got < len(tail):
                                continue
                            carry = self._join(tail, np.concatenate(head))
                            head = []
                        elif len(block) >= F:  # the usual case: no copy
                            if len(carry):
                                yield carry
                            carry = block[len(block) - F :]
                            if len(block) > F:
                                yield block[: len(block) - F]
                            continue
                        else:
                            carry = np.concatenate([carry, block])
                        if len(carry) > F:
                            yield carry[: len(carry) - F]
                            carry = carry[len(carry) - F :]
                except _DECODE_ERRORS as err:
                    bad = isinstance(err, _BadSamples)
                    if bad:  # never again, what played of it aside
                        self.skipped.add(path)
                    self._warn(path, str(err) if bad else _unreadable(path, err), bad or got <= F)
                if got <= F:
                    # Nothing usable, or no longer than the crossfade: such a
                    # track would add no frames, and a playlist of them would
                    # loop for ever. Drop it and keep the old tail for the next.
                    if got:
                        self._warn(path, f"shorter than the crossfade ({got} frames)", True)
                    self.skipped.add(path)
                    continue
                if carry is None:  # shorter than the tail
                    carry = self._join(tail, np.concatenate(head))
                    if len(carry) > F:
                        yield carry[: len(carry) - F]
                        carry = carry[len(carry) - F :]
                tail = carry

    def _join(self, tail: np.ndarray, head: np.ndarray) -> np.ndarray:
        """``tail`` then ``head``, their last and first ``m`` frames overlapped
        by an equal-power crossfade: uncorrelated music keeps its level."""
        m = min(len(tail), len(head))
        if m == 0:
            return np.concatenate([tail, head])
        x = (np.arange(m, dtype=np.float64) + 0.5) * (np.pi / 2 / m)
        mixed = tail[len(tail) - m :] * np.cos(x).astype(np.float32)[:, None]
        mixed += head[:m] * np.sin(x).astype(np.float32)[:, None]
        return np.concatenate([tail[: len(tail) - m], mixed, head[m:]])
