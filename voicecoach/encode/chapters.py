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
from voicecoach.errors import InputError
from voicecoach.plan.kinds import REP_KINDS, EventKind, SegmentKind
from voicecoach.plan.labels import LabelStyle, segment_label
from voicecoach.plan.phrases import PhraseBook, default_phrases
from voicecoach.plan.timeline import Segment, Timeline

__all__ = ["Chapter", "chapter_spans", "chapter_stamps", "chapters", "check_cue_filename", "cue_sheet"]


@dataclass(frozen=True)
class Chapter:
    """A navigation point: ``title`` begins at frame ``start``."""

    start: int
    title: str


def chapters(timeline: Timeline, phrases: PhraseBook | None = None) -> list[Chapter]:
    """One chapter per set and per rest, plus intro, warm-up and outro.

    A set's chapter starts at its announcement ("Set 1 of 3, get ready",
    "Next up, set 2 of 3" near the end of the rest), so skipping to it on a
    phone lands before the first lift, not on it. Sides that alternate rep by
    rep live inside their set's chapter; sides done in turn (all left, then
    all right) get a chapter each, starting where that side begins. Titles are
    in the language of ``phrases`` (English when None).
    """
    book = phrases or default_phrases()
    segs = [s for s in timeline.segments if s.frames > 0 and s.start < timeline.frames]
    sets = max(
        (s.set for s in segs if s.set is not None and (s.kind in REP_KINDS or s.kind == SegmentKind.GET_READY)),
        default=0,
    )
    per_side = _sides_in_turn(segs)
    announced = _announcements(timeline)
    marks: list[Chapter] = []
    for seg in segs:
        start = seg.start
        if seg.kind in REP_KINDS or (seg.kind == SegmentKind.GET_READY and seg.set is not None):
            title = book.text("chapter_set", set=seg.set, sets=sets) if seg.set else book.text("chapter_exercise")
            if seg.set in per_side:
                side = seg.side
                if seg.kind == SegmentKind.GET_READY:  # announces what follows: take its side
                    side = next((s.side for s in segs if s.kind in REP_KINDS and s.set == seg.set), side)
                if side:
                    title = book.text("chapter_side", chapter=title, side=side)
            if seg.set is not None:  # the set's first chapter (a later side starts on its own)
                start = min(start, announced.pop(seg.set, start))
        else:
            title = segment_label(seg.kind, LabelStyle.CHAPTER, book)
        if not marks or marks[-1].title != title:
            marks.append(Chapter(max(0, start), title))
    # an announcement inside the rest before it moves the set's start back:
    # keep starts increasing (a chapter that lost all its time is dropped)
    out: list[Chapter] = []
    for ch in marks:
        while out and out[-1].start >= ch.start:
            out.pop()
        out.append(ch)
    return out


def _sides_in_turn(segs: Sequence[Segment]) -> set[int]:
    """Sets whose sides come in turn (each side once), not alternating."""
    runs: dict[int, list[str]] = {}
    for s in segs:
        if s.kind in REP_KINDS and s.set is not None and s.side:
            r = runs.setdefault(s.set, [])
            if not r or r[-1] != s.side:
                r.append(s.side)
    return {k for k, r in runs.items() if len(r) == len(set(r)) > 1}


def _announcements(timeline: Timeline) -> dict[int, int]:
    """Frame of the first words that belong to each set before its first rep."""
    first_rep: dict[int, int] = {}
    for s in timeline.segments:
        if s.kind in REP_KINDS and s.set is not None:
            first_rep.setdefault(s.set, s.start)
    out: dict[int, int] = {}
    for e in timeline.events:
        if e.kind == EventKind.SPEECH and e.set is not None and e.rep is None and e.frame < first_rep.get(e.set, -1):
            out.setdefault(e.set, e.frame)
    return out


def _ms(frames: int, samplerate: int) -> int:
    """Frames to whole milliseconds, floored: a chapter never starts late."""
    return frames * 1000 // samplerate


def _hhmmss(frames: int, samplerate: int) -> str:
    ms = _ms(frames, samplerate)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def cue_sheet(
    chaps: Sequence[Chapter],
    filename: str,
    samplerate: int,
    *,
    fmt: str = "wav",
    title: str = "",
    performer: str = "voicecoach",
) -> str:
    """A cue sheet: one ``TRACK`` per chapter, ``INDEX 01 mm:ss:ff`` at 75 ff/s.

    Indices are floored to the CD frame and must increase, so chapters that
    land on the same CD frame keep only the first; the format allows 99
    tracks, later chapters are left out.
    """

    def q(text: str) -> str:
        # a cue sheet has no escape for '"': a title keeps its quotes as typographic ones
        return '"' + " ".join(text.split()).replace('"', "\u201d") + '"'

    check_cue_filename(filename)
    lines = [f"REM COMMENT {q('voicecoach ' + __version__)}"]
    if title:
        lines.append(f"TITLE {q(title)}")
    # a FILE line names MP3 by its type, any other audio file WAVE (what
    # players and splitters decode, not a claim about its bytes)
    lines += [f"PERFORMER {q(performer)}", f'FILE "{filename}" {"MP3" if fmt.upper() == "MP3" else "WAVE"}']
    last, track = -1, 0
    for ch in chaps:
        cd = ch.start * 75 // samplerate
        if cd <= last or track == 99:
            continue
        last, track = cd, track + 1
        mm, ss, ff = cd // (75 * 60), cd // 75 % 60, cd % 75
        lines += [
            f"  TRACK {track:02d} AUDIO",
            f"    TITLE {q(ch.title)}",
            f"    PERFORMER {q(performer)}",
            f"    INDEX 01 {mm:02d}:{ss:02d}:{ff:02d}",
        ]
    return "\n".join(lines) + "\n"


def check_cue_filename(filename: str) -> None:
    """Refuse a file name a cue sheet's ``FILE "..."`` line cannot hold.

    The format has no escapes: a ``"`` or a line break would end the name
    early, and the sheet would name a file that does not exist.
    """
    bad = [c for c in ('"', "\n", "\r") if c in filename]
    if bad or filename != filename.strip():
        what = "a double quote" if '"' in bad else "a line break" if bad else "spaces at its ends"
        raise InputError(
            f"--cue: a cue sheet cannot name {filename!r}: it has {what}; rename the export or leave out --cue"
        )


def chapter_spans(chaps: Sequence[Chapter], end: int, samplerate: int) -> list[tuple[int, int, str]]:
    """``(start_ms, end_ms, title)`` per chapter, for ID3 CHAP frames.

    Each chapter ends where the next begins, the last at frame ``end``.
    """
    return [
        (_ms(c.start, samplerate), _ms(nxt, samplerate), c.title)
        for c, nxt in zip(chaps, [c.start for c in chaps[1:]] + [end], strict=True)
    ]


def chapter_stamps(chaps: Sequence[Chapter], samplerate: int) -> list[tuple[str, str]]:
    """``(HH:MM:SS.mmm, title)`` per chapter, for Vorbis ``CHAPTERnnn`` comments."""
    return [(_hhmmss(c.start, samplerate), c.title) for c in chaps]
