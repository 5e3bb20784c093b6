"""Export a session as an audio file (wav, flac, ogg, opus, mp3) for a phone.

The exporter renders through :func:`voicecoach.encode.streaming.stream`,
the same :meth:`Mixer.render <voicecoach.audio.mixer.Mixer.render>` as the
live player, block by block: memory stays ``O(block)`` whatever the
session length (and OGG/Vorbis must be written in blocks anyway, see
docs/pitfalls.md). FLAC, OGG, Opus and other WAV subtypes go through
``soundfile.SoundFile.write``, MP3 through :mod:`voicecoach.encode.lame`.
16-bit WAV, and every WAV on a stream, is written by
:mod:`voicecoach.encode.wav`; without music only the stretches where the
mixer has sound are rendered and written (the rest of a file is a hole
that reads as zeros).

Every output (the mix, the stems, the cue sheet) is written to a hidden temp
file beside its target and moved into place with :func:`os.replace` only
once everything has succeeded, so an interrupt, a full disk or an encoder
failure leaves the old file (or nothing), never a truncated one, and no temp
files behind. Standard output, FIFOs and character devices are streamed
instead (:mod:`voicecoach.encode.targets`); a WAV stream gets its header up
front, from the session's exact length. Standard output redirected to a
regular file takes a whole WAV file, tags and chapters included.

Tags and chapters are added to the temp file before the rename
(:mod:`voicecoach.encode.tags`, chapters from :mod:`voicecoach.encode.chapters`).
soundfile, mutagen and the encoders are imported only by the formats that
use them: a 16-bit WAV export starts without them.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach import __version__
from voicecoach.audio.bed import MusicBed
from voicecoach.audio.mixer import BUSES, Mixer
from voicecoach.common.atomic import discard, remove_stale_parts, temp_beside
from voicecoach.encode.chapters import (
    chapter_spans,
    chapter_stamps,
    chapters,
    check_cue_filename,
    cue_sheet,
)
from voicecoach.encode.formats import (
    CODECS,
    ExportOptions,
    check_samplerate,
    format_for,
    subtype_for,
)
from voicecoach.encode.streaming import REPLACING_HOLE_BYTES, stream
from voicecoach.encode.tags import Tags, tag_mp3, tag_vorbis, tag_wav
from voicecoach.encode.targets import (
    Target,
    TargetKind,
    check_stdout,
    resolve_target,
    writable_in_place,
)
from voicecoach.encode.wav import (
    RIFF_LIMIT,
    WavWriter,
    chapter_chunks,
    header,
    info_chunk,
)
from voicecoach.errors import ExportError
from voicecoach.plan.timeline import Timeline

if TYPE_CHECKING:
    import soundfile as sf

__all__ = ["export"]


# ------------------------------------------------------------------- export
def _sound_file(fd: int, samplerate: int, channels: int, subtype: str, major: str):
    """A libsndfile writer on ``fd`` whose close() does not fsync.

    ``SoundFile.close`` calls ``flush``, which is libsndfile's
    ``sf_write_sync``: an fsync of the whole file (50 ms for a 30-minute WAV
    here). The all-or-nothing promise comes from writing a temp file and
    renaming it, not from the fsync (a crash leaves the old file or none;
    ext4 also flushes a file renamed over another), so the export skips it.
    """
    import soundfile as sf

    class NoSyncFile(sf.SoundFile):
        def flush(self) -> None:
            pass

    return NoSyncFile(fd, "w", samplerate, channels, subtype, format=major, closefd=False)


def _is_sound_file(f: object) -> bool:
    sf = sys.modules.get("soundfile")
    return sf is not None and isinstance(f, sf.SoundFile)


def _soundfile_errors() -> tuple[type[Exception], ...]:
    """soundfile's error type, if soundfile was loaded (only then can it be raised)."""
    sf = sys.modules.get("soundfile")
    return (sf.SoundFileError,) if sf is not None else ()


def _tag_errors() -> tuple[type[Exception], ...]:
    """mutagen's error type, if mutagen was loaded (a WAV export never loads it)."""
    mutagen = sys.modules.get("mutagen")
    return (mutagen.MutagenError,) if mutagen is not None else ()


def _sf_detail(f: sf.SoundFile, directory: Path | None) -> str | None:
    """Why a libsndfile handle failed, in words the user can act on.

    soundfile only reports "System error."; the reason lives in the handle
    ("System error : No space left on device"). libsndfile's own messages
    can hide a full disk: its FLAC encoder, refused the first write of its
    header, says "problem with initialization of the flac decoder". So a
    message that is not the system's, for a file in ``directory`` (None for
    a stream) on a full file system, is the full disk. Uses soundfile
    internals, so any surprise just yields ``None``.
    """
    try:
        import soundfile as sf
        handle = f._file
        if handle is None or sf._snd.sf_error(handle) == 0:
            return None
        text = sf._ffi.string(sf._snd.sf_strerror(handle)).decode("utf-8", "replace")
    except Exception:
        return None
    text = text.strip().rstrip(".")
    if text.startswith("System error"):
        return text.split(" : ", 1)[-1]
    if directory is not None and _disk_full(directory):
        return "No space left on device"
    return text


def _info(tags: Tags, bus: str | None) -> bytes:
    """The RIFF INFO strings libsndfile would write for the same tags, in its order."""
    return info_chunk([("title", tags.title if bus is None else f"{tags.title} ({bus})"),
                       ("artist", tags.artist), ("album", tags.album),
                       ("comment", tags.comment), ("software", f"voicecoach {__version__}"),
                       ("genre", tags.genre), ("date", tags.date),
                       ("tracknumber", "" if tags.track is None else str(tags.track))])


def _disk_full(directory: Path) -> bool:
    """No block left for us in ``directory``'s file system."""
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    return st.f_bavail == 0 or st.f_bfree == 0


def export(mixer: Mixer, timeline: Timeline, path: Path, options: ExportOptions = ExportOptions(),
           progress: Callable[[int], None] | None = None, bed: MusicBed | None = None,
           force: bool = False) -> list[Path]:
    """Write the session to ``path`` (and stems / cue sheet); all or nothing.

    Parameters
    ----------
    mixer : Mixer
        Built from ``timeline`` at ``options.samplerate`` with
        ``options.channels`` channels.
    timeline : Timeline
        Gives the chapters and default tags.
    path : pathlib.Path
        Target; the format comes from its extension unless ``options.format``.
        ``-`` is standard output (file descriptor 1); a FIFO or character
        device is written through; a symlink's target is replaced (see
        :mod:`voicecoach.encode.targets`). Streams get no tags or chapters,
        but a WAV to standard output redirected to a regular file (``-o - >
        x.wav``) is the whole file ``-o x.wav`` writes.
    progress : callable, optional
        ``progress(frames_done)`` after each block.
    force : bool
        Replace an existing read-only file.

    Returns
    -------
    list of pathlib.Path
        Paths written: the mix first, then stems, then the cue sheet.

    Raises
    ------
    voicecoach.errors.InputError
        Unknown format, subtype not available, sample rate the codec refuses,
        a target that can not be written (see :func:`resolve_target`), stems
        or a cue sheet with standard output.
    ExportError
        Anything that fails while writing (disk full, a reader that went
        away, encoder failure): one line naming the path and the cause.
    KeyboardInterrupt
        Re-raised as is (also for SIGTERM/SIGHUP), after the temp files are removed.
    """
    if not isinstance(mixer, Mixer):
        raise TypeError(f"mixer must be a Mixer, not {type(mixer).__name__}")
    if not isinstance(timeline, Timeline):
        raise TypeError(f"timeline must be a Timeline, not {type(timeline).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path, not {type(path).__name__}")
    if not isinstance(options, ExportOptions):
        raise TypeError(f"options must be ExportOptions, not {type(options).__name__}")
    path = Path(path)
    fmt = format_for(path, options.format)
    codec = CODECS[fmt]
    subtype = subtype_for(fmt, options.subtype)
    check_samplerate(fmt, options.samplerate)
    if not mixer.samplerate == timeline.samplerate == options.samplerate:
        raise ValueError(f"sample rates differ: mixer {mixer.samplerate}, timeline "
                         f"{timeline.samplerate}, options {options.samplerate}")
    if mixer.channels != options.channels:
        raise ValueError(f"mixer has {mixer.channels} channels, options ask for {options.channels}")
    if mixer.frames != timeline.frames:
        raise ValueError(f"mixer has {mixer.frames} frames, timeline {timeline.frames}")

    main = resolve_target(path, force=force)
    check_stdout(main, options.stems, options.cue_sheet)
    stem, ext = (path.stem, path.suffix) if path.suffix else (path.name, "." + fmt)
    audio_targets: list[tuple[Target, str | None]] = [(main, None)]
    if options.stems:
        buses = BUSES + (("music",) if bed is not None else ())
        audio_targets += [(resolve_target(path.with_name(f"{stem}.{bus}{ext}"), "--stems", force),
                           bus) for bus in buses]
    cue_target = (resolve_target(path.with_name(f"{stem}.cue"), "--cue", force)
                  if options.cue_sheet else None)
    if cue_target is not None:
        check_cue_filename(path.name)
    preset = options.preset or timeline.preset
    title = options.title or preset or path.stem
    tags = Tags(title=title, artist=options.artist, album=options.album or preset,
                comment=f"voicecoach session: {preset}", genre=options.genre,
                date=options.date or "", track=options.track, loudness=options.loudness)
    chaps = chapters(timeline)
    sr = options.samplerate
    lame = False
    if fmt == "mp3":
        from voicecoach.encode.lame import LameWriter
        from voicecoach.encode.lame import available as mp3_encoder_available
        from voicecoach.encode.mp3_islands import Islands
        lame = mp3_encoder_available()
        islands = Islands()               # the mix repeats the stems' islands
    if fmt == "wav" and not main.seekable:        # a stream's sizes must fit up front
        header(mixer.frames, options.channels, sr, subtype)
    marks = [(c.start, c.title) for c in chaps]
    chapter_tail = chapter_chunks(marks) if fmt == "wav" else b""
    # 16-bit WAV files are ours (see encode/wav.py), unless too large for RIFF's sizes.
    own_wav = (fmt == "wav" and subtype == "PCM_16"
               and mixer.frames * 2 * options.channels + len(chapter_tail) + 4096 < RIFF_LIMIT)

    def wav_writer(fd: int, bus: str | None, seekable: bool, replacing: bool = False
                   ) -> WavWriter:
        f = WavWriter(fd, mixer.frames, options.channels, sr, _info(tags, bus), chapter_tail,
                      seekable=seekable, subtype=subtype)
        f.min_hole = REPLACING_HOLE_BYTES if replacing else 0
        return f

    temps: dict[Path, Path] = {}          # real target -> temp, in creation order
    fds: list[int] = []                   # streams we opened
    files: list[tuple[object, str | None, Target]] = []
    sinks: list = []
    peaks: dict[str | None, float] = {}
    current = main.name
    committed = False
    cleaned: set[Path] = set()

    def temp_for(target: Target) -> Path:
        if target.real.parent not in cleaned:
            cleaned.add(target.real.parent)
            remove_stale_parts(target.real.parent)
        return temp_beside(target.real, claim=lambda tmp: temps.__setitem__(target.real, tmp))

    try:
        for target, bus in audio_targets:
            current = target.name
            if target.kind is TargetKind.FILE:
                # By descriptor: a name that is not valid UTF-8 still works.
                fd = os.open(temp_for(target), os.O_RDWR | os.O_CLOEXEC)
                fds.append(fd)
                if own_wav:
                    f = wav_writer(fd, bus, seekable=True, replacing=os.path.exists(target.real))
                elif lame:
                    f = LameWriter(fd, sr, options.channels, islands=islands)
                else:
                    f = _sound_file(fd, sr, options.channels, subtype, codec.major)
            else:
                if target.kind is TargetKind.STDOUT:
                    fd = 1
                else:
                    fd = os.open(target.real, os.O_WRONLY | os.O_CLOEXEC)
                    fds.append(fd)
                # Standard output redirected to a file can take a whole file.
                in_place = target.kind is TargetKind.STDOUT and writable_in_place(fd)
                if fmt == "wav":                 # sizes up front: the length is known
                    f = wav_writer(fd, bus, seekable=in_place)
                elif lame:                       # the Info tag only if it can go back
                    f = LameWriter(fd, sr, options.channels, seekable=in_place, islands=islands)
                else:
                    f = _sound_file(fd, sr, options.channels, subtype, codec.major)
            files.append((f, bus, target))
            if fmt == "wav" and _is_sound_file(f):  # RIFF INFO, written by libsndfile at close
                f.title = tags.title if bus is None else f"{tags.title} ({bus})"
                f.artist, f.album, f.comment = tags.artist, tags.album, tags.comment
                f.software = f"voicecoach {__version__}"
                for key in ("genre", "date"):        # libsndfile refuses empty strings
                    if getattr(tags, key):
                        setattr(f, key, getattr(tags, key))
                if tags.track is not None:
                    f.tracknumber = str(tags.track)
        current = main.name    # which file a stream error belongs to is only known from its handle
        try:
            # WAV is a copy to disk: inline (a writer thread cost more in
            # copies and hand-overs than it saved). Encoders get a thread
            # each, so the render and every file's encoding share the cores.
            if fmt == "wav":
                outs = [(f, bus) for f, bus, _ in files]
            else:
                from voicecoach.encode.parallel import ThreadedSink
                sinks = [ThreadedSink(f) for f, _, _ in files]
                outs = [(t, bus) for t, (_, bus, _) in zip(sinks, files)]
            stream(mixer, outs, options.block, progress, bed,
                   peaks=peaks if fmt != "wav" else None)
            for t in sinks:
                t.join()
            for f, _, target in files:
                current = target.name
                if _is_sound_file(f) and fmt != "wav":
                    # Encoders buffer: flush while the handle still tells why a
                    # write failed (after close only "System error." is left).
                    # WAV is written unbuffered, so its errors surfaced in write().
                    sys.modules["soundfile"].SoundFile.flush(f)
                f.close()
        except OSError:
            for f, _, target in files:          # which of our WAV writers failed
                if isinstance(f, WavWriter) and f.failed:
                    current = target.name
                    break
            raise
        except _soundfile_errors() as exc:
            for f, _, target in files:
                folder = target.real.parent if target.kind is TargetKind.FILE else None
                detail = _sf_detail(f, folder) if _is_sound_file(f) else None
                if detail == "Broken pipe":
                    detail = "the reader stopped reading (Broken pipe)"
                if detail:
                    raise ExportError(f"cannot write {target.name}: {detail}") from exc
            raise

        spans = chapter_spans(chaps, timeline.frames, sr)
        for f, bus, target in files:
            if not target.seekable or isinstance(f, WavWriter):   # ours carry their chapters
                continue
            current = target.name
            tmp = temps[target.real]
            t = tags if bus is None else replace(tags, title=f"{tags.title} ({bus})", loudness=None)
            if bus in peaks:
                t = replace(t, peak=peaks[bus])
            if fmt == "mp3":
                tag_mp3(tmp, t, spans)
            elif fmt == "wav":
                tag_wav(tmp, marks)
            else:
                tag_vorbis(tmp, fmt, t, chapter_stamps(chaps, sr))
            if fmt == "flac":
                from voicecoach.encode.flac_seek import add_seektable
                add_seektable(tmp)

        if cue_target is not None:
            current = cue_target.name
            text = cue_sheet(chaps, path.name, sr, fmt=fmt, title=tags.title,
                             performer=tags.artist).encode("utf-8", "surrogateescape")
            if cue_target.kind is TargetKind.FILE:
                temp_for(cue_target).write_bytes(text)
            else:
                fd = os.open(cue_target.real, os.O_WRONLY | os.O_CLOEXEC)
                fds.append(fd)
                _write_all(fd, text)

        for real, tmp in temps.items():
            current = real
            try:
                os.chmod(tmp, stat.S_IMODE(os.stat(real).st_mode))  # keep an old file's mode
            except FileNotFoundError:
                pass
        # The mix last: if a rename fails, the main file is still the old one.
        order = list(temps)
        if main.real in temps:
            order.remove(main.real)
            order.append(main.real)
        for real in order:
            current = real
            os.replace(temps[real], real)
            del temps[real]
        committed = True
    except (OSError, RuntimeError, *_soundfile_errors(), *_tag_errors()) as exc:
        cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip()
        if isinstance(exc, BrokenPipeError) or "Broken pipe" in cause:
            cause = "the reader stopped reading (Broken pipe)"
        if ((isinstance(exc, _soundfile_errors()) or not cause)
                and _disk_full(main.real.parent)):
            cause = "No space left on device"
        raise ExportError(f"cannot write {current}: {cause or type(exc).__name__}") from exc
    finally:
        for t in sinks:                  # the encoders' threads end before their files close
            try:
                t.join()
            except BaseException:
                pass
        for f, _, _ in files:
            if not f.closed:
                try:
                    f.close()
                except Exception:
                    pass
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        if not committed:
            for tmp in temps.values():
                discard(tmp)
    written = [t.shown for t, _ in audio_targets]
    return written + ([cue_target.shown] if cue_target is not None else [])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
