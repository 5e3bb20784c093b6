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

__all__ = ["TEXT_IDS", "Tags", "mutagen_errors", "tag_mp3", "tag_vorbis", "tag_wav"]


TEXT_IDS = {
    "title": (b"INAM", "TIT2", "\xa9nam"),
    "artist": (b"IART", "TPE1", "\xa9ART"),
    "album": (b"IPRD", "TALB", "\xa9alb"),
    "comment": (b"ICMT", "COMM", "\xa9cmt"),
    "software": (b"ISFT", "TSSE", "\xa9too"),
    "genre": (b"IGNR", "TCON", "\xa9gen"),
    "date": (b"ICRD", "TDRC", "\xa9day"),
    "tracknumber": (b"ITRK", "TRCK", "trkn"),
}
"""Each text tag, by soundfile's name (a Vorbis comment's, in capitals): its
RIFF INFO id, ID3v2 frame and MP4 atom."""
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

    def texts(self) -> dict[str, str]:
        """The text tags by soundfile's names, in libsndfile's order (each
        format's order too); genre, date and track only when set."""
        out = {"title": self.title, "artist": self.artist, "album": self.album, "comment": self.comment}
        out["software"] = f"voicecoach {__version__}"
        track = "" if self.track is None else str(self.track)
        optional = {"genre": self.genre, "date": self.date, "tracknumber": track}
        return out | {name: text for name, text in optional.items() if text}

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
    from mutagen import id3

    try:
        tag = id3.ID3(tmp)
    except id3.ID3NoHeaderError:
        tag = id3.ID3()
    for name, text in tags.texts().items():
        frame = getattr(id3, TEXT_IDS[name][1])
        if frame is id3.COMM:
            tag.add(frame(encoding=3, lang="eng", desc="", text=[text]))
        else:
            tag.add(frame(encoding=3, text=[text]))
    for key, value in tags.replaygain().items():
        tag.add(id3.TXXX(encoding=3, desc=key, text=[value]))
    ids = [f"chp{i}" for i in range(len(spans))]
    for eid, (start_ms, end_ms, title) in zip(ids, spans, strict=True):
        named = [id3.TIT2(encoding=3, text=[title])]
        tag.add(id3.CHAP(element_id=eid, start_time=start_ms, end_time=end_ms, sub_frames=named))
    if ids:
        tag.add(
            id3.CTOC(
                element_id="toc",
                flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[id3.TIT2(encoding=3, text=["Chapters"])],
            )
        )
    tag.update_to_v23()  # TDRC is 2.4's: 2.3 readers get the date from TYER and TDAT
    tag.save(tmp, v2_version=3)  # 2.3: what most phone players read
    _sort_chap_frames(tmp)


def _sort_chap_frames(path: Path) -> None:
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
        # a CHAP frame's start time (big-endian) follows its NUL-terminated id
        chaps = sorted((fr for fr in frames if fr[:4] == b"CHAP"), key=lambda fr: fr[fr.index(b"\0", 10) + 1 :][:4])
        ordered = iter(chaps)
        fh.seek(10)
        fh.write(b"".join(next(ordered) if fr[:4] == b"CHAP" else fr for fr in frames))


def tag_vorbis(audio: Any, tags: Tags, chaps: list[tuple[str, str]], more: dict[str, str]) -> None:
    """Vorbis comments into ``audio`` (a mutagen FLAC, OggVorbis or OggOpus
    file): the tags, ReplayGain, ``more`` (the format's own), the chapters."""
    if audio.tags is None:
        audio.add_tags()
    audio.update({name.upper(): text for name, text in tags.texts().items() if name != "software"})
    audio.update(tags.replaygain() | more)
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
        fh.write((end + len(extra) - 8).to_bytes(4, "little"))
