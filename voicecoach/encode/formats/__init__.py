"""The export formats: a registry of writers, one module each (see
:class:`~voicecoach.encode.formats.base.FormatWriter`), and the options.
What a user can get wrong is an :class:`~voicecoach.errors.InputError`
before anything is written. Nothing here imports numpy or a codec: the CLI
reads :data:`FORMATS` at start."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.common.numbers import is_int
from voicecoach.errors import InputError

if TYPE_CHECKING:
    from voicecoach.encode.formats.base import FormatWriter
    from voicecoach.plan.phrases import PhraseBook

__all__ = ["FORMATS", "WRITERS", "ExportOptions", "check_stream", "format_for", "writer"]

WRITERS = {"wav": "wav", "flac": "flac", "ogg": "ogg", "opus": "opus", "mp3": "mp3", "m4b": "m4b", "m4a": "m4b"}
"""Format name (its file extension) -> the module of this package with its ``WRITER``
(two names may share one)."""
FORMATS: frozenset[str] = frozenset(WRITERS)


def writer(name: str) -> type[FormatWriter]:
    """The writer class of format ``name`` (one of :data:`FORMATS`)."""
    return import_module(f"{__name__}.{WRITERS[name]}").WRITER


def check_stream(fmt: str, name: str) -> None:
    """Refuse a stream (standard output, a FIFO or a device, shown as ``name``)
    for a format whose writer needs a file, before the slow part."""
    if not writer(fmt).streams:
        raise InputError(
            f"--output: {name}: {fmt} cannot be written to a stream (standard output, a FIFO or a device); name a file"
        )


@dataclass(frozen=True)
class ExportOptions:
    """What to write; values a user can get wrong raise :class:`InputError`.
    ``samplerate`` and ``channels`` must match the
    :class:`~voicecoach.audio.mixer.Mixer`; the format's writer checks them."""

    format: str | None = None  # from the extension when None
    samplerate: int = 48000
    channels: int = 1  # 1 or 2
    subtype: str | None = None  # one of the format's subtypes; its first when None
    stems: bool = False  # also NAME.voice.EXT and NAME.ticks.EXT
    cue_sheet: bool = False  # also NAME.cue
    title: str | None = None
    artist: str = "voicecoach"
    preset: str | None = None  # the preset's name (comment); timeline.preset when None
    album: str | None = None  # album tag (the preset's title); the preset when None
    genre: str = "Fitness"
    date: str | None = None  # ISO day of the export
    track: int | None = None  # the session's number in a program
    loudness: float | None = None  # integrated LUFS of the mix (ReplayGain, R128)
    phrases: PhraseBook | None = None  # chapter titles' and tags' language; English when None
    block: int = 262144  # frames per render/write (5.5 s at 48 kHz): fewer, larger blocks cost
    # less per frame in the render and the encoder hand-overs, for 1 MB per float32 mono buffer

    def __post_init__(self) -> None:
        for name in ("format", "subtype", "title", "preset", "album", "date"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"ExportOptions.{name} must be a str or None, not {type(value).__name__}")
        if not isinstance(self.artist, str):
            raise TypeError(f"ExportOptions.artist must be a str, not {type(self.artist).__name__}")
        for name in ("stems", "cue_sheet"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"ExportOptions.{name} must be a bool")
        for name in ("samplerate", "channels", "block"):
            value = getattr(self, name)
            if not is_int(value):
                raise TypeError(f"ExportOptions.{name} must be an int, not {type(value).__name__}")
        if self.samplerate <= 0:
            raise InputError(f"sample rate must be positive, not {self.samplerate}")
        if self.channels not in (1, 2):
            raise InputError(f"channels must be 1 or 2, not {self.channels}")
        if self.block < 1:
            raise ValueError(f"block must be at least 1 frame, not {self.block}")


def format_for(path: Path, fmt: str | None) -> str:
    """The export format: ``fmt`` if given, else the extension of ``path``.

    Raises
    ------
    InputError
        Unknown format or extension (the message names it and the choices).
    """
    choices = ", ".join(sorted(WRITERS))
    if fmt is not None:
        name = fmt.strip().lower().lstrip(".")
        if name not in WRITERS:
            raise InputError(f"unknown export format {fmt!r}; choose one of {choices}")
        return name
    ext = Path(path).suffix.lower().lstrip(".")
    if not ext:
        raise InputError(f"{path}: no file extension to tell the format from; add one or pass --format ({choices})")
    if ext not in WRITERS:
        raise InputError(f"{path}: unknown export format {ext!r}; choose one of {choices}")
    return ext
