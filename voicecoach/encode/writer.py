"""Export a session as an audio file for a phone: all or nothing.

The session is rendered block by block (:func:`voicecoach.encode.streaming.stream`,
the live player's :meth:`Mixer.render <voicecoach.audio.mixer.Mixer.render>`)
into files the format's writer opened (:mod:`voicecoach.encode.formats`): the
exporter names no format. Every output (the mix, the stems, the cue sheet) is
a hidden temp file beside its target, tagged once closed and moved into place
with :func:`os.replace` only once everything has succeeded: an interrupt, a
full disk or an encoder failure leaves the old file (or nothing), never a
truncated one. Standard output, FIFOs and devices are streamed instead
(:mod:`voicecoach.encode.targets`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.loudness import LoudnessMeter
from voicecoach.audio.mixer import BUSES, Mixer
from voicecoach.common.atomic import discard, remove_stale_parts, temp_beside
from voicecoach.common.decibels import decibels
from voicecoach.common.decibels import gain as db_gain
from voicecoach.encode.chapters import chapters, check_cue_filename, cue_sheet
from voicecoach.encode.decoded_peak import decoded_peaks
from voicecoach.encode.formats import ExportOptions, format_for, writer
from voicecoach.encode.formats.base import FormatWriter, Job, Output, Sink, check_job
from voicecoach.encode.streaming import stream
from voicecoach.encode.tags import Tags
from voicecoach.encode.targets import Target, TargetKind, check_stdout, resolve_target, writable_in_place
from voicecoach.errors import ExportError, InputError
from voicecoach.plan.phrases import default_phrases
from voicecoach.plan.timeline import Timeline

__all__ = ["export"]


_DEFAULTS = ExportOptions()
LOSSY_CEILING_DBTP = -1.0
"""The highest true peak a lossy file may decode to (the loudness
recommendations' ceiling; the limiter holds the mix itself at -1.5 dBTP)."""
LOSSY_MARGIN_DB = 0.2
"""How much lower than its overshoot a lossy file is encoded again (the
overshoot moves a little with the gain)."""
LOSSY_STREAM_MARGIN_DB = 0.5
"""How much lower a lossy stream, or a lossy export with music (the music
is read once), is encoded up front: it cannot be measured first, and a
codec's overshoot above the limiter's -1.5 dBTP is assumed under 1 dB
(Opus, the largest seen, went 0.6 dB over on speech)."""
_REENCODES = 3
"""Encodings of a lossy file after the first, at most."""


def export(
    mixer: Mixer,
    timeline: Timeline,
    path: Path,
    options: ExportOptions = _DEFAULTS,
    progress: Callable[[int], None] | None = None,
    bed: MusicBed | None = None,
    force: bool = False,
) -> list[Path]:
    """Write the session to ``path`` (and stems / cue sheet); all or nothing.

    ``mixer`` is built from ``timeline`` (which gives the chapters and default
    tags) at ``options.samplerate`` with ``options.channels``. The format
    comes from ``path``'s extension unless ``options.format``; ``-`` is
    standard output, a FIFO or character device is written through, a
    symlink's target is replaced. Streams get no tags or chapters (but a WAV
    to standard output redirected to a regular file is the whole file).
    ``progress(frames_done)`` after each block; ``force`` replaces a
    read-only file. Returns the paths written: the mix, the stems, the cue sheet.

    Raises
    ------
    voicecoach.errors.InputError
        Unknown format, subtype or sample rate the format refuses, a target
        that can not be written (:func:`resolve_target`), stems or a cue sheet
        with standard output, a stream for a format that needs a file.
    ExportError
        Anything that fails while writing (disk full, a reader that went
        away, encoder failure): one line naming the path and the cause.
    KeyboardInterrupt
        Re-raised as is (also for SIGTERM/SIGHUP), after the temp files are removed.
    """
    _check_arguments(mixer, timeline, path, options)
    path = Path(path)
    fmt = format_for(path, options.format)
    writer_class = writer(fmt)
    subtype = check_job(writer_class, options.subtype, options.samplerate)
    if not mixer.samplerate == timeline.samplerate == options.samplerate:
        raise ValueError(
            f"sample rates differ: mixer {mixer.samplerate}, timeline "
            f"{timeline.samplerate}, options {options.samplerate}"
        )
    if mixer.channels != options.channels:
        raise ValueError(f"mixer has {mixer.channels} channels, options ask for {options.channels}")
    if mixer.frames != timeline.frames:
        raise ValueError(f"mixer has {mixer.frames} frames, timeline {timeline.frames}")
    main = resolve_target(path, force=force)
    check_stdout(main, options.stems, options.cue_sheet)
    if not writer_class.streams and not main.seekable:
        raise InputError(
            f"--output: {main.name}: {fmt} cannot be written to a stream "
            "(standard output, a FIFO or a device); name a file"
        )
    audio_targets, cue_target = _targets(path, fmt, main, options, bed, force)
    chaps = chapters(timeline, options.phrases)
    job = Job(mixer.frames, options.channels, options.samplerate, subtype, tuple(chaps), stream=not main.seekable)
    fmt_writer = writer_class(job)
    tags = _tags(options, timeline, path)
    files = _Files()
    try:
        _write_audio(files, fmt_writer, mixer, audio_targets, tags, options.block, progress, bed)
        if cue_target is not None:
            text = cue_sheet(
                chaps, path.name, options.samplerate, fmt=fmt, title=tags.title, performer=tags.artist
            ).encode("utf-8", "surrogateescape")
            with _blame(cue_target.name):
                files.write_whole(cue_target, text)
        files.commit(main)
    finally:
        files.close()
    written = [t.shown for t, _ in audio_targets]
    return written + ([cue_target.shown] if cue_target is not None else [])


def _check_arguments(mixer: object, timeline: object, path: object, options: object) -> None:
    for name, value, kind, what in (
        ("mixer", mixer, Mixer, "a Mixer"),
        ("timeline", timeline, Timeline, "a Timeline"),
        ("path", path, (str, os.PathLike), "a path"),
        ("options", options, ExportOptions, "ExportOptions"),
    ):
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be {what}, not {type(value).__name__}")


def _targets(
    path: Path, fmt: str, main: Target, options: ExportOptions, bed: MusicBed | None, force: bool
) -> tuple[list[tuple[Target, str | None]], Target | None]:
    """Where the mix, each stem (with its bus) and the cue sheet go."""
    stem, ext = (path.stem, path.suffix) if path.suffix else (path.name, "." + fmt)
    audio: list[tuple[Target, str | None]] = [(main, None)]
    if options.stems:
        buses = BUSES + (("music",) if bed is not None else ())
        audio += [(resolve_target(path.with_name(f"{stem}.{bus}{ext}"), "--stems", force), bus) for bus in buses]
    cue = resolve_target(path.with_name(f"{stem}.cue"), "--cue", force) if options.cue_sheet else None
    if cue is not None:
        check_cue_filename(path.name)
    return audio, cue


def _tags(options: ExportOptions, timeline: Timeline, path: Path) -> Tags:
    preset = options.preset or timeline.preset
    return Tags(
        title=options.title or preset or path.stem,
        artist=options.artist,
        album=options.album or preset,
        comment=(options.phrases or default_phrases()).text("tag_comment", preset=preset),
        genre=options.genre,
        date=options.date or "",
        track=options.track,
        loudness=options.loudness,
    )


def _write_audio(
    files: _Files,
    fmt_writer: FormatWriter,
    mixer: Mixer,
    targets: list[tuple[Target, str | None]],
    tags: Tags,
    block: int,
    progress: Callable[[int], None] | None,
    bed: MusicBed | None,
) -> None:
    """Open, render into, close and tag every audio file (into temp files).

    A lossy file is decoded and, over :data:`LOSSY_CEILING_DBTP`, encoded
    again lower; a lossy stream, or an export with music (the bed is read
    once), cannot be and is encoded :data:`LOSSY_STREAM_MARGIN_DB` lower up front."""
    for target, bus in targets:
        own = tags if bus is None else replace(tags, title=f"{tags.title} ({bus})", loudness=None)
        with _blame(target.name):
            files.open(fmt_writer, target, own)
    lossy = getattr(fmt_writer, "lossy", False)  # (WAV does not declare it)
    once = lossy and (bed is not None or any(f.out.path is None for f in files.audio))
    gains = [db_gain(-LOSSY_STREAM_MARGIN_DB) if once else 1.0] * len(targets)
    peaks: dict[str | None, float] = {}
    # with music the loudness is measured as the mix is written (without, the caller measured it)
    meter = LoudnessMeter(mixer.samplerate, mixer.channels) if bed is not None and tags.loudness is not None else None
    todo = list(range(len(targets)))
    for attempt in range(1 + _REENCODES):
        if attempt:
            for i in todo:
                with _blame(files.audio[i].target.name):
                    files.reopen(fmt_writer, i)
        entries = [(files.audio[i].sink, targets[i][1]) for i in todo]
        with _blame(files.failed_name):
            stream(mixer, entries, block, None if attempt else progress, bed, peaks, [gains[i] for i in todo], meter)
        for i in todo:
            with _blame(files.audio[i].target.name):
                files.audio[i].sink.close()
        if not lossy:
            break
        measured = {i: _decoded_peak(files.audio[i], targets[i][1], peaks) for i in todo}
        todo = [i for i in todo if measured[i] > db_gain(LOSSY_CEILING_DBTP) and not once]
        for i in todo:  # lower by the overshoot and a margin (the overshoot moves with the gain)
            gains[i] *= db_gain(LOSSY_CEILING_DBTP - LOSSY_MARGIN_DB) / measured[i]
        if not todo:
            break
    for f, (_, bus), gain in zip(files.audio, targets, gains, strict=True):
        if f.out.path is not None:
            loudness = f.out.tags.loudness
            if loudness is not None:  # the meter's reading has the gain in it
                loudness = meter.integrated() if meter is not None else loudness + decibels(gain)
            own = replace(f.out.tags, peak=peaks.get(bus), loudness=loudness)
            with _blame(f.target.name):
                fmt_writer.tag(f.out.path, own)


def _decoded_peak(f: _File, bus: str | None, peaks: dict[str | None, float]) -> float:
    """The true peak a lossy temp file decodes to (0 for a stream); the
    mix's decoded sample peak becomes its ReplayGain peak (``peaks[None]``)."""
    if f.out.path is None:
        return 0.0
    with _blame(f.target.name):
        sample, true = decoded_peaks(f.out.path)
    if bus is None:
        peaks[None] = sample
    return true


@contextmanager
def _blame(name: str | Callable[[], str]) -> Iterator[None]:
    """A failure inside is an :class:`ExportError` naming the file and the cause."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip()
        if isinstance(exc, BrokenPipeError) or "Broken pipe" in cause:
            cause = "the reader stopped reading (Broken pipe)"
        who = name() if callable(name) else name
        raise ExportError(f"cannot write {who}: {cause or type(exc).__name__}") from exc


class _File(NamedTuple):
    """An audio file being written: its target, how it was opened, its sink."""

    target: Target
    out: Output
    sink: Sink


class _Files:
    """The files of one export: temp files beside their targets (renamed
    into place by :meth:`commit`), the streams it opened and the sinks;
    :meth:`close` closes them and removes the temp files unless committed."""

    def __init__(self) -> None:
        self.temps: dict[Path, Path] = {}  # real target -> temp, in creation order
        self.fds: list[int] = []  # descriptors we opened
        self.audio: list[_File] = []
        self.main_name = ""
        self._cleaned: set[Path] = set()
        self._committed = False

    def _temp(self, target: Target) -> Path:
        if target.real.parent not in self._cleaned:
            self._cleaned.add(target.real.parent)
            remove_stale_parts(target.real.parent)
        return temp_beside(target.real, claim=lambda tmp: self.temps.__setitem__(target.real, tmp))

    def _open_fd(self, target: Target, path: Path | None) -> int:
        if target.kind is TargetKind.STDOUT:
            return 1
        # By descriptor: a name that is not valid UTF-8 still works.
        fd = os.open(path or target.real, (os.O_RDWR if path else os.O_WRONLY) | os.O_CLOEXEC)
        self.fds.append(fd)
        return fd

    def open(self, fmt_writer: FormatWriter, target: Target, tags: Tags) -> None:
        if not self.audio:
            self.main_name = target.name
        if target.kind is TargetKind.FILE:
            path = self._temp(target)
            out = Output(self._open_fd(target, path), tags, path, seekable=True, replacing=os.path.exists(target.real))
        else:  # standard output redirected to a file can take a whole file
            fd = self._open_fd(target, None)
            out = Output(fd, tags, None, target.kind is TargetKind.STDOUT and writable_in_place(fd))
        self.audio.append(_File(target, out, fmt_writer.open(out)))

    def reopen(self, fmt_writer: FormatWriter, i: int) -> None:
        """Audio file ``i`` emptied and opened again, to be written anew."""
        target, out, _ = self.audio[i]
        os.ftruncate(out.fd, 0)
        os.lseek(out.fd, 0, os.SEEK_SET)
        self.audio[i] = _File(target, out, fmt_writer.open(out))

    def failed_name(self) -> str:
        """The file whose writer failed (a stream error surfaces on any)."""
        return next((f.target.name for f in self.audio if f.sink.failed), self.main_name)

    def write_whole(self, target: Target, data: bytes) -> None:
        if target.kind is TargetKind.FILE:
            self._temp(target).write_bytes(data)
            return
        view = memoryview(data)
        fd = self._open_fd(target, None)
        while view:
            view = view[os.write(fd, view) :]

    def commit(self, main: Target) -> None:
        """Rename every temp file into place, the mix last: if a rename
        fails, the main file is still the old one."""
        for real, tmp in self.temps.items():
            with _blame(str(real)), suppress(FileNotFoundError):
                os.chmod(tmp, stat.S_IMODE(os.stat(real).st_mode))  # keep an old file's mode
        order = sorted(self.temps, key=lambda real: real == main.real)
        for real in order:
            with _blame(str(real)):
                os.replace(self.temps[real], real)
            del self.temps[real]
        self._committed = True

    def close(self) -> None:
        for f in self.audio:  # the encoders' threads end before their files close
            with suppress(BaseException):
                f.sink.close()
        for fd in self.fds:
            with suppress(OSError):
                os.close(fd)
        if not self._committed:
            for tmp in self.temps.values():
                discard(tmp)
