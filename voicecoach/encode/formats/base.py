"""The protocol every export format's writer follows, and what it is given
(see "Adding a format" in docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from voicecoach.errors import InputError

if TYPE_CHECKING:
    from voicecoach.encode.chapters import Chapter
    from voicecoach.encode.tags import Tags

__all__ = ["FormatWriter", "Job", "Output", "Sink", "check_job"]


@dataclass(frozen=True)
class Job:
    """What every file of one export holds."""

    frames: int
    channels: int
    samplerate: int
    subtype: str                     # one of the writer's subtypes
    chapters: tuple[Chapter, ...]
    stream: bool                     # the mix goes to a stream (pipe, FIFO, device, stdout)


@dataclass(frozen=True)
class Output:
    """One file of an export, open for writing."""

    fd: int                          # the exporter's: a writer leaves it open
    tags: Tags                       # this file's (a stem's title names its bus; no peak yet)
    path: Path | None                # the temp file, tagged after closing; None for a stream
    seekable: bool                   # a regular file written from its offset: it can go back
    replacing: bool = False          # the temp file will replace an old file


class Sink(Protocol):
    """An open file the render writes into.

    It takes blocks either by ``write(block)`` (float32 ``(n, channels)``,
    int16 when ``subtype`` is ``PCM_16``) or by ``write_at(frame, samples)``
    (samples as the file holds them, frames in increasing order: only what
    sounds is written). ``failed`` tells the exporter which file to name in
    an error.
    """

    subtype: str
    closed: bool

    @property
    def failed(self) -> bool: ...

    def close(self) -> None: ...


class FormatWriter(Protocol):
    """One export format, made once per export from its :class:`Job`.

    ``__init__`` refuses, before any file is opened, what the format cannot
    write (an :class:`~voicecoach.errors.InputError`, one line). ``open``
    returns the sink for one output; ``tag`` writes tags, chapters and
    loudness tags into a closed temp file (not called for streams). Failures
    while writing are :class:`OSError` or :class:`RuntimeError` (a library's
    own errors converted), which the exporter reports naming the file.
    """

    name: ClassVar[str]                           # the format and its file extension
    subtypes: ClassVar[tuple[str, ...]]           # accepted; the first is the default
    samplerates: ClassVar[frozenset[int] | None]  # accepted; None: any
    streams: ClassVar[bool]                       # can write to a pipe, FIFO or device

    def __init__(self, job: Job) -> None: ...

    def open(self, out: Output) -> Sink: ...

    def tag(self, path: Path, tags: Tags) -> None: ...


def check_job(writer: type[FormatWriter], subtype: str | None, samplerate: int) -> str:
    """The subtype to write (``None``: the writer's default).

    Raises
    ------
    InputError
        A subtype or sample rate the format does not take (the message names the choices).
    """
    chosen = writer.subtypes[0] if subtype is None else subtype.upper()
    if chosen not in writer.subtypes:
        raise InputError(f"subtype {subtype!r} is not available for {writer.name}; "
                         f"choose one of {', '.join(writer.subtypes)}")
    rates = writer.samplerates
    if rates is not None and samplerate not in rates:
        raise InputError(f"{writer.name} cannot be written at {samplerate} Hz; use one of "
                         f"{', '.join(str(r) for r in sorted(rates))} Hz")
    return chosen
