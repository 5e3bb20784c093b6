"""The words a person reads for a segment kind, in each place it is shown."""

from __future__ import annotations

from enum import StrEnum

from voicecoach.plan.kinds import SegmentKind
from voicecoach.plan.phrases import PhraseBook, default_phrases


class LabelStyle(StrEnum):
    """Where a label is shown, which decides its form."""

    STATUS = "status"  # the status line during play: short, a pause is just "pause"
    TABLE = "table"  # the timeline table: a pause says where it is
    CHAPTER = "chapter"  # chapter titles in an export: capitalised


def segment_label(kind: SegmentKind | str, style: LabelStyle, phrases: PhraseBook | None = None) -> str:
    """What ``kind`` is called where ``style`` shows it (``lift``, ``Get ready``...),
    in the language of ``phrases`` (English when None)."""
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a SegmentKind, not {type(kind).__name__}")
    kind = SegmentKind(kind)
    if style not in tuple(LabelStyle):
        raise ValueError(f"unknown label style {style!r}; expected one of {', '.join(LabelStyle)}")
    return (phrases or default_phrases()).label(kind, LabelStyle(style))
