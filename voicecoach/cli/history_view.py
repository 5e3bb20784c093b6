"""The training log for people: a table, a chart of perfect reps over time
per exercise (people would rather look at progress than read it), and JSON."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields

from voicecoach.training.progression import LADDER
from voicecoach.training.records import SetResult, Workout

BAR_WIDTH = 30
_EIGHTHS = " ▏▎▍▌▋▊▉█"
_SET_KEYS = ("set", "planned", "played", "skipped", "cut_short", "perfect")


def status(r: Workout) -> str:
    skipped = sum(1 for s in r.sets if s.skipped)
    also = f", {skipped} set{'s' * (skipped != 1)} skipped" if skipped else ""
    cut = [str(s.number) for s in r.sets if s.cut_short and (r.completed or s.number < (r.stopped_set or 0))]
    also += f", set{'s' * (len(cut) != 1)} {' '.join(cut)} cut short" if cut else ""
    if not r.completed:
        where = f"set {r.stopped_set}" + (f" rep {r.stopped_rep}" if r.stopped_rep else "")
        return f"stopped in {where}{also}"
    return ("not logged" if r.unlogged else "done") + also


_ARROW = {"up": "↑", "down": "↓", None: " "}


def moves(records: Sequence[Workout]) -> list[str | None]:
    """Per session, whether the plan moved ``up`` or ``down`` from the ladder
    session before it (a harder or easier variation, more or fewer reps),
    or None: same plan, first session, or not on the ladder."""
    out: list[str | None] = []
    last: tuple[int, int] | None = None
    for r in records:
        if r.preset not in LADDER:
            out.append(None)
            continue
        here = (LADDER.index(r.preset), r.planned_reps)
        out.append(None if last is None or here == last else "up" if here > last else "down")
        last = here
    return out


def _perfect(s: SetResult) -> str:
    if s.skipped:
        return "skip"
    if s.perfect is None:
        return "-"
    return f"{s.perfect}+" if s.perfect > s.planned else str(s.perfect)


def format_table(records: Sequence[Workout]) -> str:
    if not records:
        return "No sessions yet: 'voicecoach play' starts one, 'voicecoach log' records one.\n"
    lines = [f"{'date':<16} {'preset':<12} {'plan':<8} {'tempo':<8} {'perfect reps':<14} status"]
    marks = moves(records)
    for r, move in zip(records, marks, strict=True):
        when = r.started.astimezone().strftime("%Y-%m-%d %H:%M")
        perfect = " ".join(_perfect(s) for s in r.sets) or "-"
        plan = f"{r.planned_sets}x{r.planned_reps} {_ARROW[move]}"
        lines.append(f"{when:<16} {r.preset:<12} {plan:<8} {r.tempo or 'hold':<8} {perfect:<14} {status(r)}")
    if any(marks):
        lines.append("↑ the plan moved up (harder variation or more reps), ↓ down; n+ more perfect reps than planned")
    return "\n".join(lines) + "\n"


def bar(value: float, top: float) -> str:
    """A horizontal bar in eighths of a character: ``value`` out of ``top``."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(min(value, top) / top * BAR_WIDTH * 8)
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def format_chart(records: Sequence[Workout]) -> str:
    """Per exercise, one bar per logged session: perfect reps per set."""
    by_preset: dict[str, list[Workout]] = defaultdict(list)
    for r in records:
        if any(s.perfect is not None for s in r.sets):
            by_preset[r.preset].append(r)
    if not by_preset:
        return ""
    top = max(max(max(s.planned, s.perfect or 0) for s in r.sets) for rs in by_preset.values() for r in rs)
    out = [f"Perfect reps per set (bar = 0 to {top})"]
    for preset, rs in by_preset.items():
        out.append(preset)
        for r in rs:
            logged = [s.perfect for s in r.sets if s.perfect is not None]
            mean = sum(logged) / len(logged)
            out.append(
                f"  {r.started.astimezone():%m-%d} {bar(mean, top):<{BAR_WIDTH}} "
                f"{mean:4.1f}  ({'/'.join(map(str, logged))})"
            )
    return "\n".join(out) + "\n"


def to_json(records: Sequence[Workout]) -> list[dict]:
    """Every session with its plan, what was done, the rule that chose it
    (null when the user chose) and whether the plan moved."""
    out = []
    for r, move in zip(records, moves(records), strict=True):
        row = {f.name: getattr(r, f.name) for f in fields(Workout) if f.name not in ("eccentric", "sets", "rule")}
        row.update(started=r.started.isoformat(), perfect_reps=r.perfect_total, rule=r.rule, plan_moved=move)
        sets = [(s.number, s.planned, s.reps_played, s.skipped, s.cut_short, s.perfect) for s in r.sets]
        out.append({**row, "sets": [dict(zip(_SET_KEYS, values, strict=True)) for values in sets]})
    return out
