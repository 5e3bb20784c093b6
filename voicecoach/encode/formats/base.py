"""The protocol every export format's writer follows, what it is given (see
"Adding a format" in docs/architecture.md), and what FLAC, OGG and Opus
share: libsndfile encodes them, mutagen writes Vorbis comments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import import_module
from pathlib import Path
from typing import ClassVar, Protocol

from voicecoach.encode.chapters import Chapter, chapter_stamps
from voicecoach.encode.tags import Tags, mutagen_errors, tag_vorbis
from voicecoach.errors import InputError

__all__ = ["FormatWriter", "Job", "Output", "Sink", "VorbisCommented", "check_job"]


@dataclass(frozen=True)
class Job:
    """What every file of one export holds."""

    frames: int
    channels: int
    samplerate: int
    subtype: str  # one of the writer's subtypes
    chapters: tuple[Chapter, ...]
    stream: bool  # the mix goes to a stream (pipe, FIFO, device, stdout)


@dataclass(frozen=True)
class Output:
    """One file of an export, open for writing."""

    fd: int  # the exporter's: a writer leaves it open
    tags: Tags  # this file's (a stem's title names its bus; no peak yet)
    path: Path | None  # the temp file, tagged after closing; None for a stream
    seekable: bool  # a regular file written from its offset: it can go back
    replacing: bool = False  # the temp file will replace an old file


class Sink(Protocol):
    """An open file the render writes into: by ``write(block)`` (float32
    ``(n, channels)``, int16 for ``PCM_16``) or ``write_at(frame, samples)``
    (as the file holds them, only what sounds). ``failed`` names the file in
    an error."""

    subtype: str
    closed: bool

    @property
    def failed(self) -> bool: ...

    def close(self) -> None: ...


class FormatWriter(Protocol):
    """One export format, made once per export from its :class:`Job`.

    ``__init__`` refuses (one-line :class:`~voicecoach.errors.InputError`)
    what cannot be written, before any file is opened; ``open`` gives one
    output's sink; ``tag`` writes tags, chapters and loudness tags into a
    closed temp file (never a stream). Failures are :class:`OSError` or
    :class:`RuntimeError` (a library's own errors converted).
    """

    name: ClassVar[str]  # the format and its file extension
    subtypes: ClassVar[tuple[str, ...]]  # accepted; the first is the default
    samplerates: ClassVar[frozenset[int] | None]  # accepted; None: any
    streams: ClassVar[bool]  # can write to a pipe, FIFO or device
    lossy: ClassVar[bool]  # its files are decoded and, over the ceiling, encoded lower

    def __init__(self, job: Job) -> None: ...

    def open(self, out: Output) -> Sink: ...

    def tag(self, path: Path, tags: Tags) -> None: ...


def check_job(writer: type[FormatWriter], subtype: str | None, samplerate: int) -> str:
    """The subtype to write (``None``: the writer's default); an :class:`InputError`
    names the choices for a subtype or sample rate the format does not take."""
    chosen = writer.subtypes[0] if subtype is None else subtype.upper()
    if chosen not in writer.subtypes:
        raise InputError(
            f"subtype {subtype!r} is not available for {writer.name}; choose one of {', '.join(writer.subtypes)}"
        )
    rates = writer.samplerates
    if rates is not None and samplerate not in rates:
        raise InputError(
            f"{writer.name} cannot be written at {samplerate} Hz; use one of "
            f"{', '.join(str(r) for r in sorted(rates))} Hz"
        )
    return chosen


class VorbisCommented:
    """A :class:`~voicecoach.encode.formats.base.FormatWriter` for a format
    libsndfile encodes (``major``) and mutagen (``mutagen_class``) tags."""

    name: ClassVar[str]
    major: ClassVar[str]  # soundfile's major format
    mutagen_class: ClassVar[str]  # module.Class
    subtypes: ClassVar[tuple[str, ...]]
    samplerates: ClassVar[frozenset[int] | None] = None
    streams: ClassVar[bool] = True
    lossy: ClassVar[bool] = False
    replaygain: ClassVar[bool] = True  # REPLAYGAIN_* comments (not in Opus: R128 gains)

    def __init__(self, job: Job):
        self.job = job

    def open(self, out: Output) -> Sink:
        return self.sink(out)

    def sink(self, out: Output, head: Callable[[bytes], bytes | None] | None = None) -> Sink:
        """libsndfile's writer on ``out`` (``head``: see :class:`~voicecoach.encode.sound_file.SoundFileSink`)."""
        from voicecoach.encode.parallel import ThreadedSink
        from voicecoach.encode.sound_file import SoundFileSink

        job = self.job
        return ThreadedSink(
            SoundFileSink(
                out.fd, job.samplerate, job.channels, job.subtype, self.major, stream=not out.seekable, head=head
            )
        )

    def tag(self, path: Path, tags: Tags) -> None:
        module, cls = self.mutagen_class.rsplit(".", 1)
        with mutagen_errors():
            tag_vorbis(
                getattr(import_module(module), cls)(path),
                tags if self.replaygain else replace(tags, loudness=None, peak=None),
                chapter_stamps(self.job.chapters, self.job.samplerate),
                self.more_comments(tags),
            )

    def more_comments(self, tags: Tags) -> dict[str, str]:
        """Comments of this format alone, written before the chapters."""
        return {}
