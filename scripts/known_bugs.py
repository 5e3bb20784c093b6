"""Bugs made by hand: each one a user would hear (or lose), each one a unit
test must catch. ``scripts/mutants --bugs`` applies them one at a time to a
copy of the tree and runs the module's unit tests (``MODULES`` in
scripts/mutants.py, or the bug's own ``tests``): a bug they pass is not caught.

A mutation tool makes its mutants from operators; it has no way to say
"this one change, written by hand, must be caught", so this small runner
stays. Each bug is a literal replacement of text that must occur exactly once
in the module (tests/test_mutation_tool.py checks it still applies).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue


@dataclass(frozen=True)
class Bug:
    name: str
    module: str
    old: str
    new: str
    tests: tuple[str, ...] = ()     # default: the module's related tests in MODULES

    def related(self) -> tuple[str, ...]:
        from mutants import MODULES
        return self.tests or MODULES[self.module]


SCHEDULE = "voicecoach/plan/schedule.py"
FITTING = "voicecoach/plan/fitting.py"
CLIPS = "voicecoach/live/clips.py"     # the player's messages: the transport's tests catch their bugs
CLIPS_TESTS = ("tests/live/test_transport.py", "tests/live/test_player.py")

BUGS = [
    Bug("the count-in before every set loses its 'one' and its tick", SCHEDULE,
        "for i in range(COUNT_IN, 0, -1):", "for i in range(COUNT_IN, 1, -1):"),
    Bug("the warm-up's accent moves to the second count", SCHEDULE,
        "EventKind.ACCENT if i == 0 else EventKind.TICK, at)",
        "EventKind.ACCENT if i == 1 else EventKind.TICK, at)"),
    Bug("a tick on top of the accent at every lift and lowering", SCHEDULE,
        "for k in range(1, math.ceil(length / self.sr)):",
        "for k in range(0, math.ceil(length / self.sr)):"),
    Bug("a rest announces both '30 seconds left' and '10 seconds left'", SCHEDULE,
        "TIME_LEFT, set_=next_set - 1)\n                break\n", "TIME_LEFT, set_=next_set - 1)\n"),
    Bug("a preset's own rest_end sound never plays", SCHEDULE,
        'self.sound(EventKind.BELL, end, next_set, name="rest_end")', "pass"),
    Bug("sides = each: the last rep of side 1 gets side 2's name", SCHEDULE,
        "self.sides[0] if rep <= p.reps else self.sides[1]",
        "self.sides[0] if rep < p.reps else self.sides[1]"),
    Bug("the resume count-in counts up (one, two, three)", CLIPS,
        "book.number(COUNT_IN - i)", "book.number(i + 1)", CLIPS_TESTS),
    Bug("the resume count-in starts on top of the spoken words", CLIPS,
        "beat0 = -(-(len(head) + sr // 4) // sr) * sr", "beat0 = -(-(sr // 4) // sr) * sr", CLIPS_TESTS),
    Bug("the fitter stops keeping the silence after a phrase", FITTING,
        "ends.insert(i, at + length + gap)", "ends.insert(i, at + length)"),
    Bug("the fitter stops keeping the silence before an anchored cue", FITTING,
        "min(this.limit, after.onsets[0] - gap)", "min(this.limit, after.onsets[0])"),
    Bug("the fitter ignores the priorities of floating cues", FITTING,
        "key=lambda r: (r.priority, r.onsets[0])", "key=lambda r: r.onsets[0]"),
    Bug("the tick level is ignored (the metronome takes the voice's level)",
        "voicecoach/audio/session.py",
        '"ticks": preset.levels.tick', '"ticks": preset.levels.voice', ("tests/audio/test_session.py",)),
    Bug("with music, the exported mix is written without the music",
        "voicecoach/encode/streaming.py", "m = self.bed.add(view[:inside], a)",
        "m = self.bed.music(inside, a)"),
    Bug("the limiter on an export with music is removed", "voicecoach/encode/streaming.py",
        "            limiter.run(source.pull, view)\n            g = limiter.gain[:, None]\n",
        "            source.pull(view)\n            g = None\n"),
    Bug("a history with a valid header but damaged pages is not detected",
        "voicecoach/training/store.py", 'if problems != ["ok"]:', "if False:", ("tests/training",)),
    Bug("the busy-retry when two processes create the log is inverted",
        "voicecoach/training/store.py", "if exc.sqlite_errorcode & 0xFF != _BUSY or",
        "if exc.sqlite_errorcode & 0xFF == _BUSY or", ("tests/training",)),
    Bug("the cue loudness gate is removed (pauses and breaths count)", "voicecoach/cues/dsp.py",
        "    kept = power[power >= loudest * power_gain(GATE_SILENCE_DB)]\n"
        "    kept = kept[kept >= float(kept.mean()) * power_gain(GATE_RELATIVE_DB)]\n",
        "    kept = power\n"),
    Bug("the cue loudness gate forgets breaths and soft sounds", "voicecoach/cues/dsp.py",
        "    kept = kept[kept >= float(kept.mean()) * power_gain(GATE_RELATIVE_DB)]\n", ""),
]


def _verdict(pytest_exit: int) -> str:
    """A failing test (or one that cannot even import the module) catches the bug."""
    return {0: "NOT CAUGHT", 4: "TESTS NOT FOUND", 5: "NO TESTS RAN"}.get(pytest_exit, "caught")


def run_bugs(make_copy: Callable[[], Path], jobs: int = 2) -> int:
    """Apply each bug to a copy of the tree and run its unit tests; print
    caught / NOT CAUGHT per bug. Returns 0 when every bug is caught."""
    from mutants import UNIT
    boxes: Queue[Path] = Queue()
    for _ in range(max(1, jobs)):
        boxes.put(make_copy())

    def one(bug: Bug) -> str:
        box = boxes.get()
        path = box / bug.module
        original = path.read_text(encoding="utf-8")
        try:
            verdict = "PATCH DOES NOT APPLY"
            if original.count(bug.old) == 1:
                path.write_text(original.replace(bug.old, bug.new), encoding="utf-8")
                verdict = _verdict(subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o",
                     "addopts=", "-n", "0", *UNIT, *bug.related()], cwd=box, check=False,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode)
        finally:
            path.write_text(original, encoding="utf-8")
            boxes.put(box)
        print(f"{verdict:10} {bug.name}", flush=True)
        return verdict

    try:
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            verdicts = list(pool.map(one, BUGS))
    finally:
        while not boxes.empty():
            shutil.rmtree(boxes.get(), ignore_errors=True)
    print(f"\n{verdicts.count('caught')} of {len(BUGS)} hand-made bugs caught")
    return 0 if all(v == "caught" for v in verdicts) else 1
