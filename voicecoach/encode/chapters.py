"""Chapters of a session, and their forms in a cue sheet and in tags.

:func:`chapters` gives one navigation point per set and per rest, plus
intro, warm-up and outro; :func:`cue_sheet` writes them as a CD cue sheet
(``NAME.cue`` beside an export); :func:`chapter_spans` and
:func:`chapter_stamps` give the times :mod:`voicecoach.encode.tags` writes into
MP3 CHAP frames and Vorbis ``CHAPTERnnn`` comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voicecoach import __version__
from voicecoach.plan.kinds import REP_KINDS, SegmentKind
from voicecoach.plan.labels import LabelStyle, segment_label
from voicecoach.plan.timeline import Timeline

__all__ = ["Chapter", "chapters", "cue_sheet", "chapter_spans", "chapter_stamps"]

_CUE_FILE_TYPES: dict[str, str] = {
    "wav": "WAVE", "flac": "WAVE", "ogg": "WAVE", "opus": "WAVE", "mp3": "MP3"}
"""FILE type in a cue sheet, per export format."""


@dataclass(frozen=True)
class Chapter:
    """A navigation point: ``title`` begins at frame ``start``."""

    start: int
    title: str


def chapters(timeline: Timeline) -> list[Chapter]:
    """One chapter per set and per rest, plus intro, warm-up and outro.

    Consecutive segments with the same title merge (a set's reps, a long
    rest); a ``get_ready`` that belongs to a set opens that set's chapter,
    so skipping to "Set 2 of 3" lands on its announcement.
    """
    sets = max((s.set for s in timeline.segments
                if s.set is not None and (s.kind in REP_KINDS or s.kind == SegmentKind.GET_READY)), default=0)
    segs = timeline.segments
    out: list[Chapter] = []
    for i, seg in enumerate(segs):
        if seg.frames <= 0 or seg.start >= timeline.frames:
            continue
        if seg.kind in REP_KINDS or (seg.kind == SegmentKind.GET_READY and seg.set is not None):
            side = seg.side
            if seg.kind == SegmentKind.GET_READY:  # announces what follows: take its side
                side = next((s.side for s in segs[i + 1:] if s.kind in REP_KINDS), side)
            title = f"Set {seg.set} of {sets}" if seg.set is not None else "Exercise"
            if side:
                title += f", {side}"
        else:
            title = segment_label(seg.kind, LabelStyle.CHAPTER)
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
    lines += [f"PERFORMER {q(performer)}", f"FILE {q(filename)} {_CUE_FILE_TYPES[fmt]}"]
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


def chapter_spans(chaps: Sequence[Chapter], end: int,
                  samplerate: int) -> list[tuple[int, int, str]]:
    """``(start_ms, end_ms, title)`` per chapter, for ID3 CHAP frames.

    Each chapter ends where the next begins, the last at frame ``end``.
    """
    return [(_ms(c.start, samplerate), _ms(nxt, samplerate), c.title)
            for c, nxt in zip(chaps, [c.start for c in chaps[1:]] + [end])]


def chapter_stamps(chaps: Sequence[Chapter], samplerate: int) -> list[tuple[str, str]]:
    """``(HH:MM:SS.mmm, title)`` per chapter, for Vorbis ``CHAPTERnnn`` comments."""
    return [(_hhmmss(c.start, samplerate), c.title) for c in chaps]
