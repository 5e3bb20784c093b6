"""Tags and chapters written into an exported file (by each format's writer,
into its temp file before the rename; libsndfile writes none but WAV's RIFF
INFO): with mutagen, ID3v2.3 with CHAP/CTOC frames and Vorbis comments with
``CHAPTERnnn``/``CHAPTERnnnNAME``; by hand, RIFF ``cue `` points with
``LIST/adtl`` labels (what DAWs, ffmpeg and mpv read as chapters).
ReplayGain tells players the loudness. mutagen is imported when a file is
tagged, not before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicecoach import __version__

__all__ = ["Tags", "mutagen_errors", "sort_chap_frames", "tag_mp3", "tag_vorbis", "tag_wav"]


REPLAYGAIN_REFERENCE = -18.0
"""LUFS that a ReplayGain 2.0 gain of 0 dB plays at."""


@dataclass(frozen=True)
class Tags:
    """What a file is tagged with, besides its chapters."""

    title: str
    artist: str
    album: str
    comment: str
    genre: str = ""
    date: str = ""  # ISO 8601 day
    track: int | None = None
    loudness: float | None = None  # integrated LUFS of the file
    peak: float | None = None  # largest sample, linear

    def replaygain(self) -> dict[str, str]:
        """``REPLAYGAIN_TRACK_GAIN`` / ``PEAK`` as players read them (may be empty)."""
        out: dict[str, str] = {}
        if self.loudness is not None:
            out["REPLAYGAIN_TRACK_GAIN"] = f"{REPLAYGAIN_REFERENCE - self.loudness:+.2f} dB"
        if self.peak is not None:
            out["REPLAYGAIN_TRACK_PEAK"] = f"{self.peak:.6f}"
        return out


@contextmanager
def mutagen_errors() -> Iterator[None]:
    """mutagen's failures as :class:`RuntimeError`, which the exporter reports."""
    from mutagen import MutagenError

    try:
        yield
    except MutagenError as exc:
        raise RuntimeError(str(exc)) from exc


def tag_mp3(tmp: Path, tags: Tags, spans: list[tuple[int, int, str]]) -> None:
    from mutagen.id3 import (
        CHAP,
        COMM,
        CTOC,
        ID3,
        TALB,
        TCON,
        TDRC,
        TIT2,
        TPE1,
        TRCK,
        TSSE,
        TXXX,
        CTOCFlags,
        ID3NoHeaderError,
    )

    try:
        id3 = ID3(tmp)
    except ID3NoHeaderError:
        id3 = ID3()
    id3.add(TIT2(encoding=3, text=[tags.title]))
    id3.add(TPE1(encoding=3, text=[tags.artist]))
    id3.add(TALB(encoding=3, text=[tags.album]))
    id3.add(COMM(encoding=3, lang="eng", desc="", text=[tags.comment]))
    id3.add(TSSE(encoding=3, text=[f"voicecoach {__version__}"]))
    if tags.genre:
        id3.add(TCON(encoding=3, text=[tags.genre]))
    if tags.date:
        id3.add(TDRC(encoding=3, text=[tags.date]))
    if tags.track is not None:
        id3.add(TRCK(encoding=3, text=[str(tags.track)]))
    for key, value in tags.replaygain().items():
        id3.add(TXXX(encoding=3, desc=key, text=[value]))
    ids = []
    for i, (start_ms, end_ms, title) in enumerate(spans):
        eid = f"chp{i}"
        ids.append(eid)
        id3.add(
            CHAP(
                element_id=eid,
                start_time=start_ms,
                end_time=end_ms,
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=[TIT2(encoding=3, text=[title])],
            )
        )
    if ids:
        id3.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=3, text=["Chapters"])],
            )
        )
    id3.update_to_v23()  # TDRC is 2.4's: 2.3 readers get the date from TYER and TDAT
    id3.save(tmp, v2_version=3)  # 2.3: what most phone players read
    sort_chap_frames(tmp)


def sort_chap_frames(path: Path) -> None:
    """Put the CHAP frames of an ID3v2.3 tag in start-time order, in place.

    mutagen sorts frames by size, not by time, and offers no say in the
    order; ffmpeg and some players list chapters in file order, not CTOC's.
    Only CHAP frames swap places among themselves: the tag keeps its size.
    """
    with open(path, "r+b") as fh:
        head = fh.read(10)
        if len(head) < 10 or head[:3] != b"ID3" or head[3] != 3 or head[5] & 0xC0:
            return  # not a plain v2.3 tag (unsynchronised or extended header)
        body = fh.read(sum((b & 0x7F) << 7 * (3 - k) for k, b in enumerate(head[6:10])))
        # (the size is syncsafe: 7 bits a byte)
        frames: list[bytes] = []
        pos = 0
        while pos + 10 <= len(body) and body[pos] != 0:
            n = int.from_bytes(body[pos + 4 : pos + 8], "big")
            frames.append(body[pos : pos + 10 + n])
            pos += 10 + n
        slots = [i for i, fr in enumerate(frames) if fr[:4] == b"CHAP"]

        def start_ms(frame: bytes) -> int:
            nul = frame.index(b"\0", 10)
            return int.from_bytes(frame[nul + 1 : nul + 5], "big")

        ordered = sorted((frames[i] for i in slots), key=start_ms)
        if [frames[i] for i in slots] == ordered:
            return
        for i, fr in zip(slots, ordered, strict=True):
            frames[i] = fr
        fh.seek(10)
        fh.write(b"".join(frames))


def tag_vorbis(audio: Any, tags: Tags, chaps: list[tuple[str, str]], more: dict[str, str]) -> None:
    """Vorbis comments into ``audio`` (a mutagen FLAC, OggVorbis or OggOpus
    file): the tags, ReplayGain, ``more`` (the format's own), the chapters."""
    if audio.tags is None:
        audio.add_tags()
    audio["TITLE"] = tags.title
    audio["ARTIST"] = tags.artist
    audio["ALBUM"] = tags.album
    audio["COMMENT"] = tags.comment
    if tags.genre:
        audio["GENRE"] = tags.genre
    if tags.date:
        audio["DATE"] = tags.date
    if tags.track is not None:
        audio["TRACKNUMBER"] = str(tags.track)
    for key, value in (tags.replaygain() | more).items():
        audio[key] = value
    for i, (when, title) in enumerate(chaps, start=1):
        audio[f"CHAPTER{i:03d}"] = when
        audio[f"CHAPTER{i:03d}NAME"] = title
    audio.save()


def tag_wav(path: Path, marks: list[tuple[int, str]]) -> None:
    """Append RIFF ``cue `` points and ``labl`` names for ``marks`` ``(frame,
    title)`` after libsndfile's chunks of a finished WAV, updating the RIFF
    size (a file too large for RIFF's 32-bit sizes is left as it is)."""
    if not marks:
        return
    import struct

    from voicecoach.encode.wav import chapter_chunks

    extra = chapter_chunks(marks)
    with open(path, "r+b") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        end = fh.seek(0, 2)
        if end % 2:  # chunks start on even offsets
            fh.write(b"\0")
            end += 1
        if end + len(extra) - 8 >= 1 << 32:
            return
        fh.write(extra)
        fh.seek(4)
        fh.write(struct.pack("<I", end + len(extra) - 8))
