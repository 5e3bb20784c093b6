"""The human form of ``voicecoach timeline``: one line per segment, a plan a
person could follow on paper."""

from __future__ import annotations

from voicecoach.plan.kinds import EventKind
from voicecoach.plan.labels import LabelStyle, segment_label
from voicecoach.plan.phrases import PhraseBook
from voicecoach.plan.timeline import Timeline


def clock(frames: int, samplerate: int) -> str:
    """``m:ss.s`` of a frame position."""
    tenths = round(frames * 10 / samplerate)
    return f"{tenths // 600}:{tenths // 10 % 60:02d}.{tenths % 10}"


def format_table(timeline: Timeline, phrases: PhraseBook | None = None) -> str:
    sr = timeline.samplerate
    heard: list[list[str]] = [[] for _ in timeline.segments]
    ticks = [0] * len(timeline.segments)
    for e in timeline.events:
        i = timeline.segment_index(e.frame)
        if e.kind == EventKind.SPEECH:
            heard[i].append(f'"{e.text}"')
        elif e.kind == EventKind.BELL:
            heard[i].append("(bell)")
        else:
            ticks[i] += 1

    lines = [
        f"{timeline.preset}: {clock(timeline.frames, sr)} at {sr} Hz, "
        f"{len(timeline.segments)} segments, {len(timeline.events)} events",
        f"{'time':>8}  {'len':>5}  {'set':>3} {'rep':>3}  {'phase':<13} heard",
    ]
    for seg, said, n in zip(timeline.segments, heard, ticks, strict=True):
        label = segment_label(seg.kind, LabelStyle.TABLE, phrases)
        if seg.side:
            label = f"{label} ({seg.side})"
        beats = f" [{n} beat{'s' * (n != 1)}]" if n else ""
        lines.append(
            f"{clock(seg.start, sr):>8}  {seg.frames / sr:>4.1f}s  "
            f"{seg.set if seg.set is not None else '':>3} {seg.rep if seg.rep is not None else '':>3}  "
            f"{label:<13} {' '.join(said)}{beats}".rstrip()
        )
    for d in timeline.dropped:
        lines.append(f'note: at {clock(d.frame, sr)} "{d.text}" did not fit and is left out')
    return "\n".join(lines) + "\n"
