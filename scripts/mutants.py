"""Mutation testing with cosmic-ray: do the unit tests notice a small bug?

cosmic-ray makes the mutants and runs the tests; this wrapper only says which
modules, which unit tests, which mutants to skip and how to score them (see
docs/mutation.md). Each module is a cosmic-ray session of its own, run in a
temporary copy of the tree (cosmic-ray writes each mutant into the file it
mutates), two copies at a time. A session's test command is the module's
related unit tests (``MODULES``), never the end-to-end ones.

Skipped, through cosmic-ray's skip results (what its filters write):
mutants outside the seeded sample (``--quick``), and the mutants reviewed
as equivalent in ``scripts/equivalent_mutants.toml``, each with its reason.
The score is killed / (mutants - equivalent); killed of all is printed too.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import Queue
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "scripts" / "equivalent_mutants.toml"
DOC = ROOT / "docs" / "mutation.md"
UNIT = ("-m", "not e2e and not slow")

# module -> the unit tests that exercise it (paths, then optional pytest args)
MODULES: dict[str, tuple[str, ...]] = {
    "voicecoach/plan/schedule.py": ("tests/plan/test_schedule.py", "tests/plan/test_spoken.py"),
    "voicecoach/plan/reminders.py": ("tests/plan/test_reminders.py", "tests/plan/test_schedule.py",
                                     "tests/plan/test_spoken.py", "tests/plan/test_breath.py"),
    "voicecoach/plan/fitting.py": ("tests/plan/test_fitting.py", "tests/plan/test_schedule.py",
                                   "tests/plan/test_spoken.py"),
    "voicecoach/live/transport.py": ("tests/live/test_transport.py", "tests/live/test_player.py"),
    "voicecoach/audio/mixer.py": ("tests/audio/test_mixer.py", "tests/audio/test_session.py",
                                  "tests/live/test_transport.py", "-k", "not real_voice"),
    "voicecoach/audio/bed.py": ("tests/audio/test_bed.py", "tests/encode/test_export_music.py",
                                "tests/live/test_transport.py"),
    "voicecoach/audio/levels.py": ("tests/audio/test_levels.py", "tests/audio/test_bed.py",
                                   "tests/encode/test_export_music.py"),
    "voicecoach/cues/dsp.py": ("tests/cues/test_cues.py", "-k", "not real"),
    "voicecoach/encode/writer.py": ("tests/encode/test_export.py", "tests/encode/test_export_music.py",
                                    "tests/encode/test_targets.py"),
    "voicecoach/encode/streaming.py": ("tests/encode/test_streaming.py", "tests/encode/test_export.py",
                                       "tests/encode/test_export_music.py",
                                       "tests/encode/test_targets.py"),
}
QUICK_PER_MODULE = 8
SEED = 20261201
TIMEOUT = 600.0       # seconds for one mutant's tests; a mutant that hangs them is killed


@dataclass(frozen=True)
class Equivalent:
    """A mutant reviewed and found equivalent: cosmic-ray's ``operator`` on
    the line of ``module`` whose text, stripped, is ``line`` (several lines:
    the mutated one last, after those just above it), making it ``becomes``."""

    module: str
    line: str
    operator: str
    becomes: str
    why: str

    def names(self, source: list[str], line: int, mutated: list[str]) -> bool:
        """Whether this entry names the mutation of 1-based ``line`` of
        ``source`` (lines) that gives ``mutated`` (lines)."""
        want = self.line.split("\n")
        first = line - len(want)
        return (first >= 0 and [x.strip() for x in source[first:line]] == want
                and line <= len(mutated) and mutated[line - 1].strip() == self.becomes)


def load_equivalents(path: Path = EQUIVALENTS) -> list[Equivalent]:
    with open(path, "rb") as fh:
        entries = tomllib.load(fh).get("mutant", [])
    out = []
    for n, e in enumerate(entries, 1):
        fields = ("module", "line", "operator", "becomes", "why")
        if any(not str(e.get(f, "")).strip() for f in fields):
            raise SystemExit(f"{path.name}: entry {n}: needs {', '.join(fields)}")
        line = "\n".join(x.strip() for x in e["line"].strip().splitlines())
        out.append(Equivalent(e["module"], line, e["operator"], e["becomes"].strip(),
                              " ".join(e["why"].split())))
    return out


def lines_named(entry: Equivalent, source: str) -> list[int]:
    """The 1-based lines of ``source`` whose text (and the lines above it) the entry names."""
    lines = source.splitlines()
    want = entry.line.split("\n")
    return [i + len(want) for i in range(len(lines) - len(want) + 1)
            if [x.strip() for x in lines[i:i + len(want)]] == want]


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The (start, end) positions, as (line, column), of the type annotations:
    a mutant there changes no behaviour (they are strings under ``from
    __future__ import annotations``), so it is left out before sampling."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            found = [node.annotation]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found = [node.returns]
        elif isinstance(node, ast.AnnAssign):
            found = [node.annotation]
        spans += [((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0))
                  for a in found if a is not None]
    return spans


def tally(verdicts: list[str]) -> tuple[int, int, int, float, float]:
    """mutants, killed, equivalent, the score killed / (mutants - equivalent)
    and killed / mutants, in per cent; a verdict is killed, survived or equivalent."""
    total, killed, same = len(verdicts), verdicts.count("killed"), verdicts.count("equivalent")
    score = 100 * killed / (total - same) if total > same else 100.0
    return total, killed, same, score, 100 * killed / total if total else 0.0


# ------------------------------------------------------------------ a session
def session_config(module: str, python: str, timeout: float = TIMEOUT) -> str:
    """The cosmic-ray config of one module: its related unit tests, stopping at the first failure."""
    command = shlex.join([python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o",
                          "addopts=", "-n", "0", *UNIT, *MODULES[module]])
    return (f'[cosmic-ray]\nmodule-path = "{module}"\ntimeout = {timeout}\n'
            f'excluded-modules = []\ntest-command = {_toml_string(command)}\n\n'
            f'[cosmic-ray.distributor]\nname = "local"\n')


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mark(session: Path, module: str, source: str, registry: list[Equivalent],
         per_module: int | None, seed: int) -> list[tuple[Any, Equivalent]]:
    """Like a cosmic-ray filter: skip the mutants left out of the sample and
    those the registry names (with its reason). Returns the sampled equivalents."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    lines = source.splitlines()
    mine = [e for e in registry if e.module == module]
    typing = annotation_spans(source)
    with use_db(str(session), WorkDB.Mode.open) as db:
        every = sorted(db.pending_work_items, key=lambda i: (
            i.mutations[0].start_pos, i.mutations[0].operator_name, i.mutations[0].occurrence))
        typed = [i for i in every if any(a <= tuple(i.mutations[0].start_pos) < z for a, z in typing)]
        db.set_multiple_results([i.job_id for i in typed], WorkResult(
            output="in a type annotation", worker_outcome=WorkerOutcome.SKIPPED))
        skipped = {i.job_id for i in typed}
        items = [i for i in every if i.job_id not in skipped]
        chosen = items if per_module is None else random.Random(seed).sample(
            items, min(per_module, len(items)))
        keep = {i.job_id for i in chosen}
        db.set_multiple_results([i.job_id for i in items if i.job_id not in keep],
                                WorkResult(output="not sampled", worker_outcome=WorkerOutcome.SKIPPED))
        same = []
        for item in chosen:
            m = item.mutations[0]
            for e in mine:
                if e.operator != m.operator_name or [x.strip() for x in lines[
                        m.start_pos[0] - len(e.line.split("\n")):m.start_pos[0]]] != e.line.split("\n"):
                    continue
                mutated = mutate_code(source, get_operator(m.operator_name)(**m.operator_args),
                                      m.occurrence)
                if mutated is not None and e.names(lines, m.start_pos[0], mutated.splitlines()):
                    db.set_result(item.job_id, WorkResult(output=f"equivalent: {e.why}",
                                                          worker_outcome=WorkerOutcome.SKIPPED))
                    same.append((m, e))
                    break
    return same


def run_module(module: str, box: Path, per_module: int | None, seed: int,
               registry: list[Equivalent]) -> list[tuple[str, str]]:
    """One cosmic-ray session in the copy ``box``: (verdict, description) per sampled mutant."""
    from cosmic_ray.work_db import WorkDB, use_db

    name = module.replace("/", "_")[:-3]
    config, session = box / ".cr" / f"{name}.toml", box / ".cr" / f"{name}.sqlite"
    config.parent.mkdir(exist_ok=True)
    config.write_text(session_config(module, str(Path(sys.executable))), encoding="utf-8")
    bin_ = Path(sys.executable).parent
    subprocess.run([str(bin_ / "cosmic-ray"), "init", str(config), str(session)], cwd=box, check=True)
    source = (box / module).read_text(encoding="utf-8")
    same = mark(session, module, source, registry, per_module, seed)
    subprocess.run([str(bin_ / "cosmic-ray"), "exec", str(config), str(session)], cwd=box,
                   check=True, stdout=subprocess.DEVNULL)
    rows = [("equivalent", f"{module}:{m.start_pos[0]} {m.operator_name}: {e.why}") for m, e in same]
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == "skipped":
                continue
            m = item.mutations[0]
            verdict = "killed" if result.test_outcome == "killed" else (
                "survived" if result.test_outcome == "survived" else "error")
            rows.append((verdict, f"{module}:{m.start_pos[0]} {m.operator_name} #{m.occurrence}"))
    _check_mutated_copy(box, module, source)
    return rows


def _check_mutated_copy(box: Path, module: str, source: str) -> None:
    if (box / module).read_text(encoding="utf-8") != source:
        raise SystemExit(f"cosmic-ray left {module} mutated in {box}")


def make_copy() -> Path:
    """A temporary copy of the tree: what cosmic-ray mutates and the tests import."""
    box = Path(tempfile.mkdtemp(prefix="voicecoach-mutants-")).resolve()
    shutil.copytree(ROOT, box, dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", ".hypothesis",
                                                  ".pytest_cache", "bench-out", "*.egg-info"))
    (box / "voicecoach" / "audio_cues").symlink_to(Path("..") / "audio_cues")  # as installed
    found = subprocess.run([sys.executable, "-c", "import voicecoach; print(voicecoach.__file__)"],
                           cwd=box, capture_output=True, text=True, check=True).stdout.strip()
    if not found.startswith(str(box)):
        raise SystemExit(f"the tests would import {found}, not the copy in {box}")
    return box


# ------------------------------------------------------------------ the run
def run(modules: list[str], per_module: int | None, seed: int, jobs: int) -> dict[str, list]:
    registry = load_equivalents()
    boxes: Queue[Path] = Queue()
    for _ in range(jobs):
        boxes.put(make_copy())

    def one(module: str) -> list[tuple[str, str]]:
        box = boxes.get()
        try:
            rows = run_module(module, box, per_module, seed, registry)
        finally:
            boxes.put(box)
        print(f"{module}: " + ", ".join(f"{v} {[r[0] for r in rows].count(v)}"
                                        for v in ("killed", "survived", "equivalent")), flush=True)
        return rows

    try:
        with ThreadPoolExecutor(jobs) as pool:     # the plan's quick modules last, to fill in
            done = dict(zip(modules[::-1], pool.map(one, modules[::-1])))
        return {m: done[m] for m in modules}
    finally:
        while not boxes.empty():
            shutil.rmtree(boxes.get(), ignore_errors=True)


def report(results: dict[str, list[tuple[str, str]]], minutes: float, label: str) -> str:
    """Print the score table; returns the "last measured" line."""
    print("\n| module | mutants | killed | equivalent | survived | score | killed of all |")
    print("|---|---|---|---|---|---|---|")
    every = []
    for module, rows in results.items():
        verdicts = [v for v, _ in rows]
        every += verdicts
        n, k, e, score, raw = tally(verdicts)
        print(f"| {module} | {n} | {k} | {e} | {n - k - e} | {score:.0f} % | {raw:.0f} % |")
    n, k, e, score, raw = tally(every)
    print(f"| **all** | {n} | {k} | {e} | {n - k - e} | **{score:.1f} %** | {raw:.1f} % |")
    for title, kinds in (("Equivalent (reviewed)", ("equivalent",)),
                         ("Survivors", ("survived", "error"))):
        found = [f"  {v} {d}" for rows in results.values() for v, d in rows if v in kinds]
        if found:
            print(f"\n{title}:\n" + "\n".join(found))
    line = (f"Last measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {label}, "
            f"{n} mutants, {minutes:.1f} min: score {score:.1f} % (killed {k} of {n - e}; "
            f"{e} equivalent; killed of all {raw:.1f} %)")
    print(f"\n{line}")
    return line


def record(line: str, doc: Path = DOC) -> None:
    """Replace the doc's one "Last measured" line with this run's."""
    text = doc.read_text(encoding="utf-8")
    doc.write_text(re.sub(r"^Last measured:.*$", line, text, count=1, flags=re.MULTILINE), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"a seeded sample of {QUICK_PER_MODULE} mutants per module")
    parser.add_argument("--per-module", type=int, default=0, help="sample this many per module")
    parser.add_argument("--module", action="append", choices=list(MODULES),
                        help="only this module (repeatable)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--jobs", type=int, default=2, help="sessions at once, each in its own copy")
    parser.add_argument("--record", action="store_true",
                        help='write the "Last measured" line into docs/mutation.md')
    parser.add_argument("--bugs", action="store_true",
                        help="apply the hand-made bugs of scripts/known_bugs.py instead")
    args = parser.parse_args(argv)
    if args.bugs:
        sys.path.insert(0, str(ROOT / "scripts"))
        from known_bugs import run_bugs
        return run_bugs(make_copy, args.jobs)
    per_module = QUICK_PER_MODULE if args.quick else (args.per_module or None)
    started = time.monotonic()
    results = run(args.module or list(MODULES), per_module, args.seed, max(1, args.jobs))
    label = "--quick" if args.quick else (f"--per-module {per_module}" if per_module else "every mutant")
    line = report(results, (time.monotonic() - started) / 60, f"{label}, seed {args.seed}")
    if args.record:
        record(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
