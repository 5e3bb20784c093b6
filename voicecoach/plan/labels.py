"""The words a person reads for a segment kind, in each place it is shown."""

from __future__ import annotations

from enum import StrEnum

from voicecoach.plan.kinds import SegmentKind

_K = SegmentKind


class LabelStyle(StrEnum):
    """Where a label is shown, which decides its form."""

    STATUS = "status"  # the status line during play: short, a pause is just "pause"
    TABLE = "table"  # the timeline table: a pause says where it is
    CHAPTER = "chapter"  # chapter titles in an export: capitalised


_NAMES = ("intro", "warm-up", "get ready", "lift", "pause top", "lower", "pause bottom", "hold", "rest", "outro")
_WORDS = dict(zip(_K, _NAMES, strict=True))  # _NAMES in the order of SegmentKind


def segment_label(kind: SegmentKind | str, style: LabelStyle) -> str:
    """What ``kind`` is called where ``style`` shows it (``lift``, ``Get ready``...)."""
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a SegmentKind, not {type(kind).__name__}")
    kind = SegmentKind(kind)
    if style == LabelStyle.STATUS:
        return "pause" if kind in (_K.TOP, _K.BOTTOM) else _WORDS[kind]
    if style == LabelStyle.TABLE:  # the table's phase column has always said "warmup"
        return str(kind) if kind == _K.WARMUP else _WORDS[kind]
    if style == LabelStyle.CHAPTER:
        return _WORDS[kind].capitalize()
    raise ValueError(f"unknown label style {style!r}; expected one of {', '.join(LabelStyle)}")
