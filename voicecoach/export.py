"""Export a session as an audio file (wav, flac, ogg, opus, mp3) for a phone.

The exporter calls the same :meth:`Mixer.render <voicecoach.mixer.Mixer.render>`
as the live player, block by block, and streams each block through
``soundfile.SoundFile.write``: memory stays ``O(block)`` whatever the session
length (and OGG/Vorbis must be written in blocks anyway, see PITFALLS.md).

Every output (the mix, the stems, the cue sheet) is written to a hidden temp
file beside its target and moved into place with :func:`os.replace` only
once everything has succeeded, so an interrupt, a full disk or an encoder
failure leaves the old file (or nothing), never a truncated one, and no temp
files behind.

Tags and chapters are added with mutagen to the temp file before the rename
(soundfile writes none, except RIFF INFO strings for WAV): ID3v2.3 with
CHAP/CTOC frames for MP3, Vorbis comments with ``CHAPTERnnn`` /
``CHAPTERnnnNAME`` for OGG, Opus and FLAC.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mutagen
import numpy as np
import soundfile as sf

from . import __version__
from .errors import ExportError, InputError
from .mixer import BUSES, Mixer
from .timeline import REP_KINDS, Timeline

__all__ = [
    "FORMATS", "OPUS_SAMPLERATES", "MP3_SAMPLERATES", "ExportOptions", "Chapter",
    "format_for", "chapters", "cue_sheet", "stream", "export",
]

FORMATS: frozenset[str] = frozenset({"wav", "flac", "ogg", "opus", "mp3"})
OPUS_SAMPLERATES: frozenset[int] = frozenset({8000, 12000, 16000, 24000, 48000})
MP3_SAMPLERATES: frozenset[int] = frozenset(
    {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000})


@dataclass(frozen=True)
class _Codec:
    """How one of our formats maps onto soundfile, and what it accepts."""

    major: str                       # soundfile major format
    subtypes: tuple[str, ...]        # allowed; the first is the default
    samplerates: frozenset[int] | None
    cue_type: str                    # FILE type in a cue sheet


_CODECS: dict[str, _Codec] = {
    "wav": _Codec("WAV", ("PCM_16", "PCM_24", "PCM_32", "FLOAT"), None, "WAVE"),
    "flac": _Codec("FLAC", ("PCM_16", "PCM_24"), None, "WAVE"),
    "ogg": _Codec("OGG", ("VORBIS",), None, "WAVE"),
    "opus": _Codec("OGG", ("OPUS",), OPUS_SAMPLERATES, "WAVE"),
    "mp3": _Codec("MP3", ("MPEG_LAYER_III",), MP3_SAMPLERATES, "MP3"),
}


@dataclass(frozen=True)
class ExportOptions:
    """What to write; values a user can get wrong raise :class:`InputError`.

    ``samplerate`` and ``channels`` must match the :class:`Mixer` (the caller
    renders the timeline at this rate); here they are validated against the
    format (Opus: 8/12/16/24/48 kHz only).
    """

    format: str | None = None        # from the extension when None
    samplerate: int = 48000
    channels: int = 1                # 1 or 2
    subtype: str | None = None       # wav: PCM_16 (default), PCM_24, PCM_32, FLOAT; flac: PCM_16, PCM_24
    stems: bool = False              # also NAME.voice.EXT and NAME.ticks.EXT
    cue_sheet: bool = False          # also NAME.cue
    title: str | None = None
    artist: str = "voicecoach"
    preset: str | None = None        # album tag; timeline.preset when None
    block: int = 65536               # frames per render/write

    def __post_init__(self) -> None:
        for name in ("format", "subtype", "title", "preset"):
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
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"ExportOptions.{name} must be an int, not {type(value).__name__}")
        if self.samplerate <= 0:
            raise InputError(f"sample rate must be positive, not {self.samplerate}")
        if self.channels not in (1, 2):
            raise InputError(f"channels must be 1 or 2, not {self.channels}")
        if self.block < 1:
            raise ValueError(f"block must be at least 1 frame, not {self.block}")


@dataclass(frozen=True)
class Chapter:
    """A navigation point: ``title`` begins at frame ``start``."""

    start: int
    title: str


# ------------------------------------------------------------------ formats
def format_for(path: Path, fmt: str | None) -> str:
    """The export format: ``fmt`` if given, else the extension of ``path``.

    Raises
    ------
    InputError
        Unknown format or extension (the message names it and the choices).
    """
    choices = ", ".join(sorted(FORMATS))
    if fmt is not None:
        name = fmt.strip().lower().lstrip(".")
        if name not in FORMATS:
            raise InputError(f"unknown export format {fmt!r}; choose one of {choices}")
        return name
    ext = Path(path).suffix.lower().lstrip(".")
    if not ext:
        raise InputError(f"{path}: no file extension to tell the format from; "
                         f"add one or pass --format ({choices})")
    if ext not in FORMATS:
        raise InputError(f"{path}: unknown export format {ext!r}; choose one of {choices}")
    return ext


def _subtype(fmt: str, subtype: str | None) -> str:
    allowed = _CODECS[fmt].subtypes
    if subtype is None:
        return allowed[0]
    if subtype.upper() not in allowed:
        raise InputError(f"subtype {subtype!r} is not available for {fmt}; "
                         f"choose one of {', '.join(allowed)}")
    return subtype.upper()


def _check_samplerate(fmt: str, samplerate: int) -> None:
    allowed = _CODECS[fmt].samplerates
    if allowed is not None and samplerate not in allowed:
        rates = ", ".join(str(r) for r in sorted(allowed))
        raise InputError(f"{fmt} cannot be written at {samplerate} Hz; use one of {rates} Hz")


# ----------------------------------------------------------------- chapters
_TITLES = {"intro": "Intro", "warmup": "Warm-up", "get_ready": "Get ready",
           "rest": "Rest", "outro": "Outro"}


def chapters(timeline: Timeline) -> list[Chapter]:
    """One chapter per set and per rest, plus intro, warm-up and outro.

    Consecutive segments with the same title merge (a set's reps, a long
    rest); a ``get_ready`` that belongs to a set opens that set's chapter,
    so skipping to "Set 2 of 3" lands on its announcement.
    """
    sets = max((s.set for s in timeline.segments
                if s.set is not None and (s.kind in REP_KINDS or s.kind == "get_ready")), default=0)
    segs = timeline.segments
    out: list[Chapter] = []
    for i, seg in enumerate(segs):
        if seg.frames <= 0 or seg.start >= timeline.frames:
            continue
        if seg.kind in REP_KINDS or (seg.kind == "get_ready" and seg.set is not None):
            side = seg.side
            if seg.kind == "get_ready":  # announces what follows: take its side
                side = next((s.side for s in segs[i + 1:] if s.kind in REP_KINDS), side)
            title = f"Set {seg.set} of {sets}" if seg.set is not None else "Exercise"
            if side:
                title += f", {side}"
        else:
            title = _TITLES.get(seg.kind, seg.kind.replace("_", " ").capitalize())
        if not out or out[-1].title != title:
            out.append(Chapter(max(0, seg.start), title))
    return out


def _ms(frames: int, samplerate: int) -> int:
    """Frames to whole milliseconds, floored: a chapter never starts late."""
    return frames * 1000 // samplerate


def _hhmmss(frames: int, samplerate: int) -> str:
    ms = _ms(frames, samplerate)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def cue_sheet(chaps: Sequence[Chapter], filename: str, samplerate: int, *, fmt: str = "wav",
              title: str = "", performer: str = "voicecoach") -> str:
    """A cue sheet: one ``TRACK`` per chapter, ``INDEX 01 mm:ss:ff`` at 75 ff/s.

    Indices are floored to the CD frame and must increase, so chapters that
    land on the same CD frame keep only the first; the format allows 99
    tracks, later chapters are left out.
    """
    def q(text: str) -> str:
        return '"' + " ".join(text.split()).replace('"', "'") + '"'

    lines = [f"REM COMMENT {q('voicecoach ' + __version__)}"]
    if title:
        lines.append(f"TITLE {q(title)}")
    lines += [f"PERFORMER {q(performer)}", f"FILE {q(filename)} {_CODECS[fmt].cue_type}"]
    last = -1
    track = 0
    for ch in chaps:
        cd = ch.start * 75 // samplerate
        if cd <= last or track == 99:
            continue
        last, track = cd, track + 1
        mm, ss, ff = cd // (75 * 60), cd // 75 % 60, cd % 75
        lines += [f"  TRACK {track:02d} AUDIO", f"    TITLE {q(ch.title)}",
                  f"    PERFORMER {q(performer)}", f"    INDEX 01 {mm:02d}:{ss:02d}:{ff:02d}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- streaming
def stream(mixer: Mixer, outputs: Sequence[tuple[sf.SoundFile, str | None]], block: int = 65536,
           progress: Callable[[int], None] | None = None) -> int:
    """Render ``mixer`` block by block into open sound files.

    Parameters
    ----------
    outputs : sequence of (soundfile.SoundFile, bus)
        Files open for writing at ``mixer.samplerate`` with
        ``mixer.channels`` channels; ``bus`` is ``None`` (the mix),
        ``'voice'`` or ``'ticks'``.
    block : int
        Frames per render; the only buffers are float32 ``(block, channels)``
        (plus int16 of that shape for PCM_16 files).
    progress : callable, optional
        Called with the frames done after each block.

    Returns
    -------
    int
        Frames written to each file (``mixer.frames``).

    Notes
    -----
    PCM_16 is converted here as ``round(x * 32768)``, clipped: libsndfile's
    own WAV conversion floors (a -0.5 LSB bias, errors up to 1 LSB).
    """
    block = max(1, min(block, mixer.frames))
    buf = np.empty((block, mixer.channels), dtype=np.float32)
    pcm16 = any(f.subtype == "PCM_16" for f, _ in outputs)
    scratch = np.empty_like(buf) if pcm16 else None
    ints = np.empty((block, mixer.channels), dtype=np.int16) if pcm16 else None
    done = 0
    while done < mixer.frames:
        n = min(block, mixer.frames - done)
        view = buf[:n]
        for f, bus in outputs:
            mixer.render(view, done, bus)
            if f.subtype == "PCM_16":
                s = scratch[:n]
                np.multiply(view, 32768.0, out=s)
                np.rint(s, out=s)
                np.clip(s, -32768.0, 32767.0, out=s)
                ints[:n] = s
                f.write(ints[:n])
            else:
                f.write(view)
        done += n
        if progress is not None:
            progress(done)
    return done


# ------------------------------------------------------------------- export
@dataclass(frozen=True)
class _Tags:
    title: str
    artist: str
    album: str
    comment: str


def _temp_for(target: Path) -> Path:
    """Create ``.NAME.part-XXXXXXXX`` beside ``target``, mode as ``open()`` would give."""
    while True:
        tmp = target.with_name(f".{target.name}.part-{secrets.token_hex(4)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def _tag_mp3(tmp: Path, tags: _Tags, spans: list[tuple[int, int, str]]) -> None:
    from mutagen.id3 import (COMM, CTOC, CHAP, ID3, TALB, TIT2, TPE1, TSSE, CTOCFlags,
                             ID3NoHeaderError)
    try:
        id3 = ID3(tmp)
    except ID3NoHeaderError:
        id3 = ID3()
    id3.add(TIT2(encoding=3, text=[tags.title]))
    id3.add(TPE1(encoding=3, text=[tags.artist]))
    id3.add(TALB(encoding=3, text=[tags.album]))
    id3.add(COMM(encoding=3, lang="eng", desc="", text=[tags.comment]))
    id3.add(TSSE(encoding=3, text=[f"voicecoach {__version__}"]))
    ids = []
    for i, (start_ms, end_ms, title) in enumerate(spans):
        eid = f"chp{i}"
        ids.append(eid)
        id3.add(CHAP(element_id=eid, start_time=start_ms, end_time=end_ms,
                     start_offset=0xFFFFFFFF, end_offset=0xFFFFFFFF,
                     sub_frames=[TIT2(encoding=3, text=[title])]))
    if ids:
        id3.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                     child_element_ids=ids, sub_frames=[TIT2(encoding=3, text=["Chapters"])]))
    id3.save(tmp, v2_version=3)  # 2.3: what most phone players read
    _sort_chap_frames(tmp)


def _sort_chap_frames(path: Path) -> None:
    """Put the CHAP frames of an ID3v2.3 tag in start-time order, in place.

    mutagen writes frames sorted by size (quodlibet/mutagen#506), and
    ffmpeg and some players list chapters in file order, not CTOC order.
    Only CHAP frames swap places among themselves: the tag keeps its size.
    """
    with open(path, "r+b") as fh:
        head = fh.read(10)
        if len(head) < 10 or head[:3] != b"ID3" or head[3] != 3 or head[5] & 0xC0:
            return  # not a plain v2.3 tag (unsynchronised or extended header)
        size = 0
        for b in head[6:10]:  # syncsafe: 7 bits per byte
            size = size << 7 | (b & 0x7F)
        body = fh.read(size)
        frames: list[bytes] = []
        pos = 0
        while pos + 10 <= len(body) and body[pos] != 0:
            n = int.from_bytes(body[pos + 4:pos + 8], "big")
            frames.append(body[pos:pos + 10 + n])
            pos += 10 + n
        slots = [i for i, fr in enumerate(frames) if fr[:4] == b"CHAP"]

        def start_ms(frame: bytes) -> int:
            nul = frame.index(b"\0", 10)
            return int.from_bytes(frame[nul + 1:nul + 5], "big")

        ordered = sorted((frames[i] for i in slots), key=start_ms)
        if [frames[i] for i in slots] == ordered:
            return
        for i, fr in zip(slots, ordered):
            frames[i] = fr
        fh.seek(10)
        fh.write(b"".join(frames))


def _tag_vorbis(tmp: Path, fmt: str, tags: _Tags, chaps: list[tuple[str, str]]) -> None:
    from mutagen.flac import FLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis
    audio = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}[fmt](tmp)
    if audio.tags is None:
        audio.add_tags()
    audio["TITLE"] = tags.title
    audio["ARTIST"] = tags.artist
    audio["ALBUM"] = tags.album
    audio["COMMENT"] = tags.comment
    for i, (when, title) in enumerate(chaps, start=1):
        audio[f"CHAPTER{i:03d}"] = when
        audio[f"CHAPTER{i:03d}NAME"] = title
    audio.save()


def _sf_detail(f: sf.SoundFile) -> str | None:
    """libsndfile's own message for a failed handle (e.g. 'No space left on device').

    soundfile only reports "System error."; the reason lives in the handle.
    Uses soundfile internals, so any surprise just yields ``None``.
    """
    try:
        handle = f._file
        if handle is None or sf._snd.sf_error(handle) == 0:
            return None
        text = sf._ffi.string(sf._snd.sf_strerror(handle)).decode("utf-8", "replace")
    except Exception:
        return None
    text = text.strip().rstrip(".")
    return text.split(" : ", 1)[-1] if text.startswith("System error") else text


def _disk_full(directory: Path) -> bool:
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    return st.f_bavail == 0 or st.f_bfree == 0


def export(mixer: Mixer, timeline: Timeline, path: Path, options: ExportOptions = ExportOptions(),
           progress: Callable[[int], None] | None = None) -> list[Path]:
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
    progress : callable, optional
        ``progress(frames_done)`` after each block.

    Returns
    -------
    list of pathlib.Path
        Paths written: the mix first, then stems, then the cue sheet.

    Raises
    ------
    InputError
        Unknown format, subtype not available, sample rate the codec refuses.
    ExportError
        Anything that fails while writing (missing or unwritable directory,
        disk full, encoder failure): one line naming the path and the cause.
    KeyboardInterrupt
        Re-raised as is, after the temp files are removed.
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
    codec = _CODECS[fmt]
    subtype = _subtype(fmt, options.subtype)
    _check_samplerate(fmt, options.samplerate)
    if not mixer.samplerate == timeline.samplerate == options.samplerate:
        raise ValueError(f"sample rates differ: mixer {mixer.samplerate}, timeline "
                         f"{timeline.samplerate}, options {options.samplerate}")
    if mixer.channels != options.channels:
        raise ValueError(f"mixer has {mixer.channels} channels, options ask for {options.channels}")
    if mixer.frames != timeline.frames:
        raise ValueError(f"mixer has {mixer.frames} frames, timeline {timeline.frames}")
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a directory")

    stem, ext = (path.stem, path.suffix) if path.suffix else (path.name, "." + fmt)
    audio_targets: list[tuple[Path, str | None]] = [(path, None)]
    if options.stems:
        audio_targets += [(path.with_name(f"{stem}.{bus}{ext}"), bus) for bus in BUSES]
    cue_target = path.with_name(f"{stem}.cue") if options.cue_sheet else None

    preset = options.preset or timeline.preset
    title = options.title or preset or path.stem
    tags = _Tags(title=title, artist=options.artist, album=preset,
                 comment=f"voicecoach session: {preset}")
    chaps = chapters(timeline)
    sr = options.samplerate

    temps: dict[Path, Path] = {}          # target -> temp, in creation order
    files: list[tuple[sf.SoundFile, str | None, Path]] = []
    current = path
    committed = False
    try:
        for target, bus in audio_targets:
            current = target
            temps[target] = tmp = _temp_for(target)
            f = sf.SoundFile(tmp, "w", sr, options.channels, subtype, format=codec.major)
            files.append((f, bus, target))
            if fmt == "wav":  # RIFF INFO, written by libsndfile at close
                f.title = tags.title if bus is None else f"{tags.title} ({bus})"
                f.artist, f.album, f.comment = tags.artist, tags.album, tags.comment
                f.software = f"voicecoach {__version__}"
        current = path    # which file a stream error belongs to is only known from its handle
        try:
            stream(mixer, [(f, bus) for f, bus, _ in files], options.block, progress)
            for f, _, target in files:
                current = target
                f.flush()     # errors here stay readable on the handle; after close they are gone
                f.close()
        except sf.SoundFileError as exc:
            for f, _, target in files:
                detail = _sf_detail(f)
                if detail:
                    raise ExportError(f"cannot write {target}: {detail}") from exc
            raise

        spans = [(_ms(c.start, sr), _ms(nxt, sr), c.title)
                 for c, nxt in zip(chaps, [c.start for c in chaps[1:]] + [timeline.frames])]
        for _, bus, target in files:
            current = target
            t = tags if bus is None else _Tags(f"{tags.title} ({bus})", tags.artist, tags.album,
                                              tags.comment)
            if fmt == "mp3":
                _tag_mp3(temps[target], t, spans)
            elif fmt != "wav":
                _tag_vorbis(temps[target], fmt, t, [(_hhmmss(c.start, sr), c.title) for c in chaps])

        if cue_target is not None:
            current = cue_target
            temps[cue_target] = tmp = _temp_for(cue_target)
            tmp.write_text(cue_sheet(chaps, path.name, sr, fmt=fmt, title=tags.title,
                                     performer=tags.artist), encoding="utf-8")

        for target, tmp in temps.items():
            current = target
            try:
                os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))  # keep an old file's mode
            except FileNotFoundError:
                pass
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)                 # data on disk before the rename makes it visible
            finally:
                os.close(fd)
        # The mix last: if a rename fails, the main file is still the old one.
        for target in [*list(temps)[1:], path]:
            current = target
            os.replace(temps[target], target)
            del temps[target]
        committed = True
    except (OSError, sf.SoundFileError, RuntimeError, mutagen.MutagenError) as exc:
        cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip()
        if (isinstance(exc, sf.SoundFileError) or not cause) and _disk_full(path.parent):
            cause = "No space left on device"
        raise ExportError(f"cannot write {current}: {cause or type(exc).__name__}") from exc
    finally:
        for f, _, _ in files:
            if not f.closed:
                try:
                    f.close()
                except Exception:
                    pass
        if not committed:
            for tmp in temps.values():
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
    written = [t for t, _ in audio_targets]
    return written + ([cue_target] if cue_target is not None else [])
