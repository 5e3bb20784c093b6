"""A small, deterministic mutation tester: do the unit tests notice a bug?

Mutants are generated from the code with :mod:`ast`, not picked by hand:

* ``cmp``     a comparison flipped (``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``,
              ``in`` <-> ``not in``, ``is`` <-> ``is not``)
* ``int``     an integer constant one more or one less
* ``bool``    ``and`` <-> ``or``; ``True`` <-> ``False``; ``not x`` -> ``x``
* ``arith``   ``+`` <-> ``-``, ``*`` <-> ``/``, ``//`` -> ``/``
* ``drop``    a statement (call, assignment, ``break``, ``continue``, ``raise``) replaced by ``pass``
* ``return``  ``return x`` -> ``return None``

Every mutant is written into a temporary copy of the repository (never into
the working tree) and the module's related unit tests run against it with
``pytest -x`` and a timeout; a failure or a timeout kills the mutant. Before any mutant,
the copy is checked: the tests pass on the unmutated (re-printed) code, and a
sanity mutant that breaks the module on import must be killed, so the copy
is really what the tests import. With ``--confirm`` a survivor is run once
more against the whole unit suite.

Sampling is seeded and ordered by the code, so the same tree gives the same
mutants. ``--quick`` samples about 60 (eight per module), the default run
takes every mutant. ``--bugs`` applies the hand-written bugs in
``scripts/known_bugs.py`` instead and names the tests each one fails.

    scripts/mutants [--quick] [--module NAME ...] [--seed N] [--limit N] [--bugs]
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

UNIT = ["tests", "-m", "not e2e and not slow", "--ignore=tests/e2e"]

# module -> the unit tests that exercise it (paths, then optional pytest args)
MODULES: dict[str, list[str]] = {
    "voicecoach/plan/schedule.py": ["tests/plan/test_schedule.py", "tests/plan/test_spoken.py"],
    "voicecoach/plan/reminders.py": ["tests/plan/test_reminders.py", "tests/plan/test_schedule.py",
                                     "tests/plan/test_spoken.py", "tests/plan/test_breath.py"],
    "voicecoach/plan/fitting.py": ["tests/plan/test_fitting.py", "tests/plan/test_schedule.py",
                                   "tests/plan/test_spoken.py"],
    "voicecoach/live/transport.py": ["tests/live/test_transport.py", "tests/live/test_player.py"],
    "voicecoach/audio/mixer.py": ["tests/audio/test_mixer.py", "tests/audio/test_session.py",
                                  "tests/live/test_transport.py", "-k", "not real_voice"],
    "voicecoach/audio/bed.py": ["tests/audio/test_bed.py", "tests/encode/test_export_music.py",
                                "tests/live/test_transport.py"],
    "voicecoach/audio/levels.py": ["tests/audio/test_levels.py", "tests/audio/test_bed.py",
                                   "tests/encode/test_export_music.py"],
    "voicecoach/cues/dsp.py": ["tests/cues/test_cues.py", "-k", "not real"],
    "voicecoach/encode/writer.py": ["tests/encode/test_export.py", "tests/encode/test_export_music.py",
                                    "tests/encode/test_targets.py"],
    "voicecoach/encode/streaming.py": ["tests/encode/test_export.py",
                                       "tests/encode/test_export_music.py",
                                       "tests/encode/test_targets.py"],
}

QUICK_PER_MODULE = 8
SEED = 20261201

_CMP_FLIP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
             ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
             ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_ARITH_FLIP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
               ast.FloorDiv: ast.Div}
_SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
           ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is",
           ast.IsNot: "is not", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
           ast.FloorDiv: "//", ast.And: "and", ast.Or: "or"}
_DROPPABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Break, ast.Continue,
              ast.Raise)


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int          # position among the module's mutants, in code order
    line: int
    kind: str
    description: str


# ------------------------------------------------------------------ generation
def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _skipped_regions(tree: ast.Module) -> set[int]:
    """ids of nodes never mutated: docstrings, ``__all__``, annotations,
    f-string internals, ``if TYPE_CHECKING`` blocks."""
    skip: set[int] = set()

    def mark(node: ast.AST) -> None:
        for sub in ast.walk(node):
            skip.add(id(sub))

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                for t in node.targets):
            mark(node)
        elif isinstance(node, ast.JoinedStr):
            mark(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.returns is not None:
                mark(node.returns)
            for arg in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
                if arg.annotation is not None:
                    mark(arg.annotation)
        elif isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            mark(node)
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            mark(node)
    return skip


def _sites(tree: ast.Module) -> list[tuple[ast.AST, str, str, object]]:
    """Every mutation site in code order: (node, kind, description, how)."""
    skip = _skipped_regions(tree)
    sites: list[tuple[ast.AST, str, str, object]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                new = _CMP_FLIP.get(type(op))
                if new:
                    sites.append((node, "cmp", f"{_SYMBOL[type(op)]} -> {_SYMBOL[new]}", ("cmp", i)))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            for delta in (1, -1):
                sites.append((node, "int", f"{node.value} -> {node.value + delta}", ("int", delta)))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            sites.append((node, "bool", f"{node.value} -> {not node.value}", ("bool",)))
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            sites.append((node, "bool", f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[new]}", ("boolop",)))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            sites.append((node, "bool", "not x -> x", ("not",)))
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITH_FLIP:
            if isinstance(node, ast.BinOp) and (isinstance(node.left, ast.JoinedStr)
                                                or _is_str(node.left) or _is_str(node.right)):
                continue
            new = _ARITH_FLIP[type(node.op)]
            sites.append((node, "arith", f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[new]}", ("arith",)))
        if isinstance(node, ast.Return) and node.value is not None \
                and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            sites.append((node, "return", "return ... -> return None", ("return",)))
        if isinstance(node, _DROPPABLE) and not _is_docstring(node, None) \
                and not (isinstance(node, ast.AnnAssign) and node.value is None):
            text = ast.unparse(node).splitlines()[0]
            sites.append((node, "drop", f"drop `{_short(text)}`", ("drop",)))
    return sites


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def _apply(node: ast.AST, how: tuple) -> ast.AST | None:
    """Mutate ``node`` in place; for a statement drop, return its replacement."""
    tag = how[0]
    if tag == "cmp":
        i = how[1]
        node.ops[i] = _CMP_FLIP[type(node.ops[i])]()
    elif tag == "int":
        node.value = node.value + how[1]
    elif tag == "bool":
        node.value = not node.value
    elif tag == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif tag == "arith":
        node.op = _ARITH_FLIP[type(node.op)]()
    elif tag == "not":
        return node.operand
    elif tag == "return":
        node.value = ast.Constant(None)
    elif tag == "drop":
        return ast.copy_location(ast.Pass(), node)
    return None


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST):
        self.target, self.replacement = target, replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return super().visit(node)


def mutants_of(module: str, source: str) -> list[Mutant]:
    tree = ast.parse(source)
    return [Mutant(module, i, getattr(node, "lineno", 0), kind, desc)
            for i, (node, kind, desc, _) in enumerate(_sites(tree))]


def mutated_source(source: str, index: int) -> str:
    tree = ast.parse(source)
    node, _, _, how = _sites(tree)[index]
    replacement = _apply(node, how)
    if replacement is not None:
        tree = _Replace(node, replacement).visit(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def sample(all_mutants: list[Mutant], per_module: int | None, seed: int) -> list[Mutant]:
    if per_module is None:
        return all_mutants
    rng = random.Random(seed)
    out = []
    for module in MODULES:
        mine = [m for m in all_mutants if m.module == module]
        out += sorted(rng.sample(mine, min(per_module, len(mine))), key=lambda m: m.index)
    return out


# --------------------------------------------------------------------- running
class Sandbox:
    """A temporary copy of the repository that the tests import from."""

    def __init__(self, python: str):
        self.python = python
        self.dir = Path(tempfile.mkdtemp(prefix="voicecoach-mutants-"))
        shutil.copytree(ROOT, self.dir, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", ".hypothesis",
                                                      ".pytest_cache", "bench-out", "*.egg-info"))
        # as the installed package has it
        (self.dir / "voicecoach" / "audio_cues").symlink_to(Path("..") / "audio_cues")
        self.env = dict(os.environ, PYTHONPATH=str(self.dir), PYTHONDONTWRITEBYTECODE="1",
                        HYPOTHESIS_STORAGE_DIRECTORY=str(self.dir / ".hypothesis"))
        where = subprocess.run([self.python, "-c", "import voicecoach, voicecoach.audio_cues as a;"
                                "print(voicecoach.__file__); print(list(a.__path__)[0])"],
                               cwd=self.dir, env=self.env, capture_output=True, text=True)
        if where.returncode != 0 or not all(line.startswith(str(self.dir))
                                            for line in where.stdout.split()):
            raise SystemExit(f"the copy is not what Python imports: {where.stdout}{where.stderr}")

    def write(self, module: str, text: str) -> None:
        (self.dir / module).write_text(text, encoding="utf-8")

    def pytest(self, args: list[str], timeout: float, stop_first: bool = True
               ) -> tuple[str, float, str]:
        """Run pytest in the copy: ('passed' | 'failed' | 'timeout', seconds, output)."""
        shutil.rmtree(self.dir / ".hypothesis", ignore_errors=True)
        cmd = [self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header",
               "-o", "addopts=", "--hypothesis-seed=0", "-rf", *(["-x"] if stop_first else []),
               *args]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                preexec_fn=_default_signals)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            return "timeout", time.monotonic() - t0, ""
        except BaseException:           # Ctrl-C: the tests run in their own session
            os.killpg(proc.pid, 9)
            proc.wait()
            raise
        status = "passed" if proc.returncode == 0 else "failed"
        if proc.returncode not in (0, 1):     # 2: interrupted/collection error, etc.
            status = "failed"
        return status, time.monotonic() - t0, out

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _default_signals() -> None:
    """In the test process: Ctrl-C as usual, even when this tool was started
    in the background (where the shell ignores SIGINT and children inherit it);
    the tests of signal handling need it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def failed_tests(output: str) -> list[str]:
    return [line.split(" ", 2)[1] for line in output.splitlines() if line.startswith("FAILED ")] \
        or [line.split(" ", 2)[1] for line in output.splitlines() if line.startswith("ERROR ")]


def _per_module(args: argparse.Namespace) -> int | None:
    return QUICK_PER_MODULE if args.quick else (args.per_module or None)


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def run_mutants(args: argparse.Namespace) -> int:
    modules = args.module or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        raise SystemExit(f"unknown module(s): {', '.join(unknown)}; known: {', '.join(MODULES)}")
    originals = {m: (ROOT / m).read_text(encoding="utf-8") for m in modules}
    everything = [mu for m in modules for mu in mutants_of(m, originals[m])]
    chosen = sample(everything, _per_module(args), args.seed)
    chosen = [m for m in chosen if m.module in modules]
    if args.limit:
        chosen = chosen[:args.limit]
    box = Sandbox(_python())
    started = time.monotonic()
    try:
        # the copy must pass as printed by ast.unparse, and must be what is imported
        baseline: dict[str, float] = {}
        for m in modules:
            box.write(m, ast.unparse(ast.parse(originals[m])))
            status, secs, out = box.pytest(MODULES[m], timeout=600)
            if status != "passed":
                raise SystemExit(f"baseline failed for {m}:\n{out[-3000:]}")
            baseline[m] = secs
            box.write(m, 'raise RuntimeError("mutation sanity check")\n' + originals[m])
            status, _, _ = box.pytest(MODULES[m], timeout=600)
            if status == "passed":
                raise SystemExit(f"sanity mutant of {m} survived: the tests do not import the copy")
            box.write(m, originals[m])
        print(f"{len(chosen)} mutants of {len(everything)} generated; seed {args.seed}; "
              f"related-test baselines: " + ", ".join(f"{Path(m).stem} {s:.1f}s"
                                                      for m, s in baseline.items()), flush=True)
        results: list[tuple[Mutant, str, str]] = []
        for n, mu in enumerate(chosen, 1):
            box.write(mu.module, mutated_source(originals[mu.module], mu.index))
            timeout = max(30.0, 4 * baseline[mu.module] + 10)
            status, secs, out = box.pytest(MODULES[mu.module], timeout)
            how = "related"
            if status == "passed" and args.confirm:
                status, secs2, out = box.pytest(UNIT, timeout=900)
                secs += secs2
                how = "unit suite"
            verdict = "survived" if status == "passed" else ("timeout" if status == "timeout"
                                                               else "killed")
            killer = failed_tests(out)[0] if verdict == "killed" and failed_tests(out) else ""
            results.append((mu, verdict, killer or how))
            box.write(mu.module, originals[mu.module])
            print(f"[{n:3}/{len(chosen)}] {verdict:8} {mu.module}:{mu.line} {mu.kind:6} "
                  f"{mu.description}  ({secs:.1f}s{', ' + killer if killer else ''})", flush=True)
    finally:
        box.close()
    report(results, time.monotonic() - started, args)
    return 0


def report(results: list[tuple[Mutant, str, str]], seconds: float, args: argparse.Namespace) -> None:
    print()
    print(f"Mutation run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{'--quick' if args.quick else (f'--per-module {args.per_module}' if args.per_module else 'full')}, seed {args.seed}, {seconds / 60:.1f} min")
    print()
    print("| module | mutants | killed | survived | score |")
    print("|---|---|---|---|---|")
    total = killed = 0
    for module in MODULES:
        mine = [r for r in results if r[0].module == module]
        if not mine:
            continue
        k = sum(v != "survived" for _, v, _ in mine)
        total, killed = total + len(mine), killed + k
        print(f"| {module} | {len(mine)} | {k} | {len(mine) - k} | {100 * k / len(mine):.0f} % |")
    score = 100 * killed / total if total else 0.0
    print(f"| **all** | {total} | {killed} | {total - killed} | **{score:.1f} %** |")
    survivors = [r for r in results if r[1] == "survived"]
    if survivors:
        print()
        print("Survivors:")
        for mu, _, _ in survivors:
            print(f"  {mu.module}:{mu.line} #{mu.index} {mu.kind} {mu.description}")
    print()
    print(f"score: {score:.1f} %")


# ---------------------------------------------------------------- known bugs
def run_bugs(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from known_bugs import BUGS

    box = Sandbox(_python())
    rows = []
    try:
        status, _, out = box.pytest(UNIT, timeout=900, stop_first=False)
        if status != "passed":
            raise SystemExit(f"the unit suite fails without any bug:\n{out[-3000:]}")
        for bug in BUGS:
            original = (ROOT / bug.module).read_text(encoding="utf-8")
            if original.count(bug.old) != 1:
                rows.append((bug, "PATCH DOES NOT APPLY", []))
                continue
            box.write(bug.module, original.replace(bug.old, bug.new))
            status, secs, out = box.pytest(UNIT, timeout=900, stop_first=False)
            box.write(bug.module, original)
            rows.append((bug, "caught" if status != "passed" else "NOT CAUGHT", failed_tests(out)))
            print(f"{rows[-1][1]:10} {bug.name}  ({secs:.0f}s)", flush=True)
    finally:
        box.close()
    print()
    print("| bug, made by hand | caught | failing unit tests |")
    print("|---|---|---|")
    for bug, verdict, tests in rows:
        shown = ", ".join(t.split("::")[-1] for t in tests[:3]) + (f" (+{len(tests) - 3})"
                                                                     if len(tests) > 3 else "")
        print(f"| {bug.name} | {verdict} | {shown} |")
    return 0 if all(v == "caught" for _, v, _ in rows) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"sample {QUICK_PER_MODULE} mutants per module (about 60 in all)")
    parser.add_argument("--per-module", type=int, default=0,
                        help="sample this many mutants per module (default: all of them)")
    parser.add_argument("--module", action="append", help="only this module (repeatable)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--limit", type=int, default=0, help="stop after this many mutants")
    parser.add_argument("--confirm", action="store_true",
                        help="rerun each survivor against the whole unit suite")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--show", metavar="MODULE:INDEX", help="print one mutant's diff and exit")
    parser.add_argument("--bugs", action="store_true",
                        help="apply the hand-written bugs of scripts/known_bugs.py instead")
    args = parser.parse_args(argv)
    if args.bugs:
        return run_bugs(args)
    if args.show:
        import difflib
        module, index = args.show.rsplit(":", 1)
        src = (ROOT / module).read_text(encoding="utf-8")
        before = ast.unparse(ast.parse(src)).splitlines()
        after = mutated_source(src, int(index)).splitlines()
        print("\n".join(difflib.unified_diff(before, after, module, module + " (mutant)",
                                             lineterm="", n=2)))
        return 0
    if args.list:
        modules = args.module or list(MODULES)
        everything = [mu for m in modules
                      for mu in mutants_of(m, (ROOT / m).read_text(encoding="utf-8"))]
        chosen = sample(everything, _per_module(args), args.seed)
        for mu in chosen:
            if mu.module in modules:
                print(f"{mu.module}:{mu.line} #{mu.index} {mu.kind} {mu.description}")
        print(f"{len(chosen)} of {len(everything)}")
        return 0
    return run_mutants(args)


if __name__ == "__main__":
    sys.exit(main())
