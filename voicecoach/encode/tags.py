"""Tags and chapters written into an exported file with mutagen.

soundfile writes no tags (except RIFF INFO strings for WAV, which
:mod:`voicecoach.encode.writer` sets itself), so the exporter adds them with
mutagen to its temp file before the rename: ID3v2.3 with CHAP/CTOC frames
for MP3, Vorbis comments with ``CHAPTERnnn`` / ``CHAPTERnnnNAME`` for OGG,
Opus and FLAC. mutagen is imported when a file is tagged, not before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicecoach import __version__

__all__ = ["Tags", "tag_mp3", "tag_vorbis", "sort_chap_frames"]


@dataclass(frozen=True)
class Tags:
    """What a file is tagged with, besides its chapters."""

    title: str
    artist: str
    album: str
    comment: str


def tag_mp3(tmp: Path, tags: Tags, spans: list[tuple[int, int, str]]) -> None:
    from mutagen.id3 import (
        CHAP,
        COMM,
        CTOC,
        ID3,
        TALB,
        TIT2,
        TPE1,
        TSSE,
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
    sort_chap_frames(tmp)


def sort_chap_frames(path: Path) -> None:
    """Put the CHAP frames of an ID3v2.3 tag in start-time order, in place.

    mutagen writes frames sorted by size, not by time, and
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


def tag_vorbis(tmp: Path, fmt: str, tags: Tags, chaps: list[tuple[str, str]]) -> None:
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

