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
the working tree) and tests run against it with ``pytest -x`` and a timeout;
a failure or a timeout kills the mutant.

Which tests: the module's related tests (``MODULES``, the one place that
lists them) run once on the unmutated copy under ``coverage``, each test in
its own context (a module- or session-scoped fixture's lines count for
every test that uses it), giving line -> tests. A mutant runs only the
related tests that run one of its lines, in their usual order; a mutant on a
line run at import runs all of them; one on a line no related test runs is
a survivor, "no test runs it", without running. ``--all-related`` turns the
selection off (to check it).

How: this process imports pytest, numpy, soundfile and the like once, then
forks a child per mutant that runs ``pytest.main`` in its copy; voicecoach
and the tests are imported fresh in each child, from the copy. ``--jobs N``
children run at once, each on its own copy. Before any mutant, each copy
is checked: the related tests pass on the unmutated code (as written, and
as re-printed by ``ast.unparse``), and a sanity mutant that breaks the
module on import must be killed, so the copy is really what the tests
import. A test that fails there once and then passes is flaky: it is
named and left out. With ``--confirm`` a survivor is run once more against
the whole unit suite.

Equivalent mutants: a mutant that no input can tell from the code (a
slice already past the end, a buffer's first size, a flag of memory
layout) cannot be killed by any test. Each one found is reviewed and
written in ``scripts/equivalent_mutants.toml`` with the reason; it is still
run, and reported apart. The score is the textbook one, killed / (mutants -
equivalent); the table also shows killed / mutants. A registered mutant
that a test kills, or an entry that names no mutant, is reported as an
error in the registry.

Sampling is seeded and ordered by the code, so the same tree gives the same
mutants. ``--quick`` samples about 60 (eight per module), the default run
takes every mutant. ``--bugs`` applies the hand-written bugs in
``scripts/known_bugs.py`` instead and names the unit tests each one fails
(those that run the changed lines, measured on the whole unit suite; a bug
they miss is tried on the whole suite before it is called not caught).

    scripts/mutants [--quick] [--module NAME ...] [--seed N] [--limit N] [--jobs N]
                    [--confirm] [--all-related] [--list] [--show MODULE:INDEX] [--bugs]
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

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
    "voicecoach/encode/streaming.py": ["tests/encode/test_streaming.py",
                                       "tests/encode/test_export.py",
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
    lines: tuple[int, ...] = ()   # the lines whose running tests can notice it


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
    statement = _statements(tree)
    return [Mutant(module, i, getattr(node, "lineno", 0), kind, desc, _lines(node, statement))
            for i, (node, kind, desc, _) in enumerate(_sites(tree))]


def _statements(tree: ast.Module) -> dict[int, ast.AST]:
    """id(node) -> the innermost statement holding it."""
    out: dict[int, ast.AST] = {}

    def visit(node: ast.AST, stmt: ast.AST | None) -> None:
        if isinstance(node, ast.stmt):
            stmt = node
        if stmt is not None:
            out[id(node)] = stmt
        for child in ast.iter_child_nodes(node):
            visit(child, stmt)

    visit(tree, None)
    return out


def _lines(node: ast.AST, statement: dict[int, ast.AST]) -> tuple[int, ...]:
    """The node's own lines and the first line of its statement: a tracer
    records a multi-line statement on its first line, or on the lines run."""
    if not hasattr(node, "lineno"):
        return ()
    lines = set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    stmt = statement.get(id(node))
    if stmt is not None:
        lines.add(stmt.lineno)
    return tuple(sorted(lines))


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


# ----------------------------------------------------------- equivalent mutants
EQUIVALENTS = Path(__file__).resolve().parent / "equivalent_mutants.toml"


@dataclass(frozen=True)
class Equivalent:
    """A mutant reviewed and found equivalent: ``mutation`` (a mutant's
    description) at the source line whose text, stripped, is ``line``
    (several lines: the mutated one last, after the lines just above it,
    for a line whose text is not unique). When the line has that mutation
    more than once, ``becomes`` says which: the mutated line as ``--show``
    prints it."""

    module: str
    line: str
    mutation: str
    why: str
    becomes: str = ""


def load_equivalents(path: Path = EQUIVALENTS) -> list[Equivalent]:
    import tomllib
    with open(path, "rb") as fh:
        entries = tomllib.load(fh).get("mutant", [])
    out = []
    for n, e in enumerate(entries, 1):
        missing = {"module", "line", "mutation", "why"} - set(e)
        if missing or not str(e.get("why", "")).strip():
            raise SystemExit(f"{path.name}: entry {n}: needs module, line, mutation and a why")
        line = "\n".join(x.strip() for x in e["line"].strip().splitlines())
        out.append(Equivalent(e["module"], line, e["mutation"], e["why"].strip(),
                              e.get("becomes", "").strip()))
    return out


def match_equivalents(mutants: list[Mutant], sources: dict[str, str],
                      registry: list[Equivalent]) -> dict[Mutant, Equivalent]:
    """Each mutant of ``mutants`` that the registry names, with its entry."""
    lines = {m: src.splitlines() for m, src in sources.items()}
    out = {}
    for mu in mutants:
        for e in registry:
            if (e.module, e.mutation) != (mu.module, mu.description):
                continue
            want = e.line.split("\n")
            first = mu.line - len(want)
            if first < 0 or [x.strip() for x in lines[mu.module][first:mu.line]] != want:
                continue
            if e.becomes and e.becomes not in {x.strip() for x in mutated_source(
                    sources[mu.module], mu.index).splitlines()}:
                continue
            out[mu] = e
            break
    return out


def stale_entries(registry: list[Equivalent], matched: dict[Mutant, Equivalent],
                  modules: list[str]) -> list[Equivalent]:
    """Entries of these modules that name no mutant of the code as it is."""
    used = set(matched.values())
    return [e for e in registry if e.module in modules and e not in used]


# --------------------------------------------------------------------- running
# Heavy third-party modules imported once here, before any fork: a child only
# imports voicecoach and the tests (fresh, from its copy of the tree).
PRELOAD = ["numpy", "scipy.signal", "soundfile", "soxr", "mutagen", "click", "platformdirs",
           "tomli_w", "pyloudnorm", "hypothesis", "hypothesis.extra.pytestplugin", "pytest",
           "_pytest.pytester", "coverage", "sqlite3", "multiprocessing", "ctypes.util", "wave"]

IMPORT_TIME = ""
"""The coverage context of code run outside any test: imports, collection."""


def _ours(name: str) -> bool:
    return name.split(".")[0] in ("voicecoach", "tests", "conftest")


def preload() -> None:
    import importlib
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    loaded = sorted(n for n in sys.modules if _ours(n))
    if loaded:                          # a child would run them, not the copy's
        raise SystemExit(f"the runner imported project code before forking: {loaded[:5]}")


class Sandbox:
    """A temporary copy of the repository that the tests import from."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="voicecoach-mutants-")).resolve()
        shutil.copytree(ROOT, self.dir, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", ".hypothesis",
                                                      ".pytest_cache", "bench-out", "*.egg-info"))
        # as the installed package has it
        (self.dir / "voicecoach" / "audio_cues").symlink_to(Path("..") / "audio_cues")
        self.originals: dict[str, str] = {}

    def write(self, module: str, text: str) -> None:
        path = self.dir / module
        self.originals.setdefault(module, path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8")

    def restore(self) -> None:
        for module, text in self.originals.items():
            (self.dir / module).write_text(text, encoding="utf-8")
        self.originals.clear()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True)
class Job:
    """One pytest run in a forked child: ``patches`` (module -> text) written
    into a copy first; with ``measure`` (modules), per-test line coverage."""
    key: object
    args: tuple[str, ...]
    patches: tuple[tuple[str, str], ...] = ()
    timeout: float = 600.0
    stop_first: bool = True
    measure: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    status: str                 # 'passed' | 'failed' | 'timeout'
    seconds: float
    failed: tuple[str, ...] = ()
    durations: tuple[tuple[str, float], ...] = ()     # test -> seconds, in run order
    lines: dict | None = None   # module -> {line: [test node ids or IMPORT_TIME]}
    imported: tuple[str, ...] = ()                    # where each measured module was found


class _Recorder:
    """pytest plugin in the child: failures, durations and, with coverage,
    the test (or the broader-scoped fixture) each line ran for."""

    def __init__(self, cov) -> None:
        self.cov, self.failed, self.durations = cov, [], {}
        self.stack: list[str] = []
        self.fixture_users: dict[str, list[str]] = {}

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.failed.append(report.nodeid or "<collection>")

    def pytest_runtest_logreport(self, report) -> None:
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        if report.failed and report.nodeid not in self.failed:
            self.failed.append(report.nodeid)

    def _switch(self, context: str) -> None:
        if self.cov is not None:
            self.cov.switch_context(context)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        # a module- or session-scoped fixture runs once, for the first test that
        # needs it: the lines it runs count for every test that uses it
        for name in item.fixturenames:
            defs = item._fixtureinfo.name2fixturedefs.get(name)
            if defs and defs[-1].scope != "function":
                key = f"fixture {defs[-1].baseid}::{name}"
                self.fixture_users.setdefault(key, []).append(item.nodeid)
        self.stack = [item.nodeid]
        self._switch(item.nodeid)
        yield
        self.stack = []
        self._switch(IMPORT_TIME)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        if fixturedef.scope == "function" or self.cov is None:
            yield
            return
        key = f"fixture {fixturedef.baseid}::{fixturedef.argname}"
        self.stack.append(key)
        self._switch(key)
        yield
        self.stack.pop()
        self._switch(self.stack[-1] if self.stack else IMPORT_TIME)

    def lines(self, cov, path: Path) -> dict[int, list[str]]:
        data = cov.get_data()
        by_line = data.contexts_by_lineno(str(path)) if str(path) in data.measured_files() else {}
        out: dict[int, list[str]] = {}
        for line, contexts in by_line.items():
            tests: list[str] = []
            for c in contexts:
                tests += self.fixture_users.get(c, []) if c.startswith("fixture ") else [c]
            out[int(line)] = sorted(set(tests))
        return out


def _child(job: Job, box: Sandbox, result: Path) -> None:
    """In the forked child: run pytest on the copy and write the outcome."""
    import json
    os.setsid()
    _default_signals()
    log = os.open(box.dir / "child.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    code = 3
    try:
        os.chdir(box.dir)
        sys.path[:0] = [str(box.dir)]
        sys.dont_write_bytecode = True
        os.environ.update(PYTHONPATH=str(box.dir), PYTHONDONTWRITEBYTECODE="1",
                          HYPOTHESIS_STORAGE_DIRECTORY=str(box.dir / ".hypothesis"))
        shutil.rmtree(box.dir / ".hypothesis", ignore_errors=True)
        import hypothesis.configuration
        hypothesis.configuration.set_hypothesis_home_dir(box.dir / ".hypothesis")
        shutil.rmtree(box.dir / ".tmp", ignore_errors=True)
        cov = None
        if job.measure:
            import coverage
            cov = coverage.Coverage(data_file=None, config_file=False,
                                    include=[str(box.dir / m) for m in job.measure])
            cov.start()
        recorder = _Recorder(cov)
        code = pytest.main(["-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=",
                            "--hypothesis-seed=0", f"--basetemp={box.dir / '.tmp'}",
                            *(["-x"] if job.stop_first else []), *job.args], plugins=[recorder])
        lines, imported = None, []
        if cov is not None:
            cov.stop()
            lines = {m: recorder.lines(cov, box.dir / m) for m in job.measure}
            for m in job.measure:
                mod = sys.modules.get(m[:-3].replace("/", "."))
                imported.append(getattr(mod, "__file__", "") or "")
        result.write_text(json.dumps({"code": int(code), "failed": recorder.failed,
                                      "durations": list(recorder.durations.items()),
                                      "lines": lines, "imported": imported}))
    except BaseException as exc:          # noqa: BLE001 -- reported as a failed run
        print(f"runner error: {exc!r}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if code == 0 else 1)


def run_jobs(jobs: list[Job], boxes: list[Sandbox], done=None) -> dict:
    """Run every job in a forked child, one per copy at a time; ``done(job,
    outcome)`` is told of each as it ends. Returns key -> Outcome."""
    import json
    pending = list(reversed(jobs))
    running: dict[int, tuple[Job, Sandbox, float, Path]] = {}
    free = list(boxes)
    outcomes: dict = {}
    try:
        while pending or running:
            while pending and free:
                job, box = pending.pop(), free.pop(0)
                for module, text in job.patches:
                    box.write(module, text)
                result = box.dir / "result.json"
                result.unlink(missing_ok=True)
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    _child(job, box, result)
                running[pid] = (job, box, time.monotonic(), result)
            pid, _ = os.waitpid(-1, os.WNOHANG)
            now = time.monotonic()
            if pid == 0:
                for pid_, (job, box, t0, _) in list(running.items()):
                    if now - t0 > job.timeout:
                        _kill(pid_)
                        os.waitpid(pid_, 0)
                        del running[pid_]
                        outcomes[job.key] = Outcome("timeout", now - t0)
                        _free(box, free, done, job, outcomes[job.key])
                time.sleep(0.02)
                continue
            if pid not in running:
                continue
            job, box, t0, result = running.pop(pid)
            _kill(pid)                       # whatever the tests left running
            try:
                got = json.loads(result.read_text())
            except (OSError, ValueError):
                got = {"code": 1, "failed": ["<the test run crashed>"], "durations": [],
                       "lines": None, "imported": []}
            outcomes[job.key] = Outcome(
                "passed" if got["code"] == 0 else "failed", now - t0, tuple(got["failed"]),
                tuple((k, v) for k, v in got["durations"]),
                {m: {int(k): v for k, v in ls.items()} for m, ls in got["lines"].items()}
                if got["lines"] is not None else None, tuple(got["imported"]))
            _free(box, free, done, job, outcomes[job.key])
    except BaseException:              # Ctrl-C: the tests run in their own sessions
        for pid in running:
            _kill(pid)
        raise
    return outcomes


def _free(box: Sandbox, free: list, done, job: Job, outcome: Outcome) -> None:
    box.restore()
    free.append(box)
    if done is not None:
        done(job, outcome)


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _default_signals() -> None:
    """In the test process: Ctrl-C as usual, even when this tool was started
    in the background (where the shell ignores SIGINT and children inherit it);
    the tests of signal handling need it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


# ------------------------------------------------------------ test selection
@dataclass(frozen=True)
class LineMap:
    """Which related tests run each line of a module, measured once on the
    unmutated copy. ``tests`` in run order with their seconds."""
    module: str
    lines: dict[int, tuple[str, ...]]
    tests: tuple[tuple[str, float], ...]
    flaky: tuple[str, ...] = ()     # failed on the unmutated copy once, then passed: never run

    def select(self, lines: tuple[int, ...]) -> tuple[str, ...] | None:
        """The tests that run any of ``lines``, in run order; ``None`` when one
        of them runs outside any test (at import): then every related test."""
        wanted: set[str] = set()
        for line in lines:
            for test in self.lines.get(line, ()):
                if test == IMPORT_TIME:
                    return None
                wanted.add(test)
        return tuple(t for t, _ in self.tests if t in wanted and t not in self.flaky)

    def every(self, args: list[str]) -> tuple[str, ...]:
        """``args`` (all related tests) without the flaky ones."""
        return (*args, *(a for t in self.flaky for a in ("--deselect", t)))

    def seconds(self, tests: tuple[str, ...] | None) -> float:
        if tests is None:
            return sum(s for _, s in self.tests)
        chosen = set(tests)
        return sum(s for t, s in self.tests if t in chosen)


def line_map(module: str, outcome: Outcome, flaky: tuple[str, ...] = ()) -> LineMap:
    return LineMap(module, {line: tuple(tests) for line, tests in outcome.lines[module].items()},
                   outcome.durations, flaky)


def run_baselines(jobs: list[Job], boxes: list[Sandbox]) -> tuple[dict, dict]:
    """Run jobs that must pass on the unmutated copy; one that fails is run
    once more: if it passes then, the tests that failed first are flaky
    (returned per job key, and left out of every later run), else it stops."""
    got = run_jobs(jobs, boxes)
    again = [j for j in jobs if got[j.key].status != "passed"]
    flaky: dict = {}
    if again:
        second = run_jobs(again, boxes)
        for job in again:
            if second[job.key].status != "passed":
                raise SystemExit(f"the tests fail on the unmutated copy ({job.key}): "
                                 f"{', '.join(second[job.key].failed[:5]) or second[job.key].status}")
            flaky[job.key] = got[job.key].failed
            print(f"flaky, left out: {', '.join(got[job.key].failed)} (failed once on the "
                  f"unmutated copy, then passed)", flush=True)
            got[job.key] = second[job.key]
    return got, flaky


def failed_tests(output: str) -> list[str]:
    return [line.split(" ", 2)[1] for line in output.splitlines() if line.startswith("FAILED ")] \
        or [line.split(" ", 2)[1] for line in output.splitlines() if line.startswith("ERROR ")]


def _per_module(args: argparse.Namespace) -> int | None:
    return QUICK_PER_MODULE if args.quick else (args.per_module or None)


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _boxes(n: int) -> list[Sandbox]:
    return [Sandbox() for _ in range(max(1, n))]


def prepare(modules: list[str], originals: dict[str, str], boxes: list[Sandbox]
            ) -> dict[str, LineMap]:
    """For each module: its related tests pass on the unmutated copy (as
    written, measured per test; and as re-printed by ``ast.unparse``), and a
    sanity mutant that breaks it on import is killed (what the tests import
    is the copy, fresh in each child)."""
    jobs = []
    for m in modules:
        jobs += [Job(("cover", m), tuple(MODULES[m]), measure=(m,)),
                 Job(("printed", m), tuple(MODULES[m]),
                     ((m, ast.unparse(ast.parse(originals[m]))),)),
                 Job(("sanity", m), tuple(MODULES[m]),
                     ((m, 'raise RuntimeError("mutation sanity check")\n' + originals[m]),))]
    got, flaky = run_baselines([j for j in jobs if j.key[0] != "sanity"], boxes)
    got.update(run_jobs([j for j in jobs if j.key[0] == "sanity"], boxes))
    maps = {}
    for m in modules:
        if got[("sanity", m)].status == "passed":
            raise SystemExit(f"sanity mutant of {m} survived: the tests do not import the copy")
        _check_imported(got[("cover", m)])
        maps[m] = line_map(m, got[("cover", m)],
                           tuple(sorted({*flaky.get(("cover", m), ()),
                                         *flaky.get(("printed", m), ())})))
    return maps


def _check_imported(outcome: Outcome) -> None:
    where = outcome.imported
    if not where or not all(w.startswith(tempfile.gettempdir()) and "voicecoach-mutants-" in w
                            for w in where):
        raise SystemExit(f"the tests did not import the copy: {where}")


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
    preload()
    code = _commit()                  # what the copies hold: the tree as it is now
    boxes = _boxes(args.jobs)
    started = time.monotonic()
    results: dict[Mutant, tuple[str, str]] = {}
    try:
        maps = prepare(sorted({m.module for m in chosen}, key=modules.index), originals, boxes)
        print(f"{len(chosen)} mutants of {len(everything)} generated; seed {args.seed}; "
              f"{len(boxes)} jobs; related tests: " + ", ".join(
                  f"{Path(m).stem} {len(lm.tests)} in {sum(s for _, s in lm.tests):.1f}s"
                  for m, lm in maps.items()), flush=True)
        jobs = []
        for mu in chosen:
            lm = maps[mu.module]
            tests = None if args.all_related else lm.select(mu.lines)
            if tests == ():
                results[mu] = ("survived", "no test runs it")
                continue
            run = lm.every(MODULES[mu.module]) if tests is None else tests
            jobs.append(Job(mu, run, ((mu.module, mutated_source(originals[mu.module], mu.index)),),
                            timeout=max(30.0, 4 * lm.seconds(tests) + 10)))
        count = [len(results)]

        def done(job: Job, out: Outcome) -> None:
            mu = job.key[1] if isinstance(job.key, tuple) else job.key   # a survivor's second run
            count[0] += 1
            verdict = {"passed": "survived", "timeout": "timeout"}.get(out.status, "killed")
            how = ("unit suite" if isinstance(job.key, tuple) else "all related"
                   if job.args[:len(MODULES[mu.module])] == tuple(MODULES[mu.module])
                   else f"{len(job.args)} tests")
            results[mu] = (verdict, out.failed[0] if out.failed else how)
            print(f"[{count[0]:4}/{len(chosen)}] {verdict:8} {mu.module}:{mu.line} #{mu.index} "
                  f"{mu.kind:6} {mu.description}  ({out.seconds:.1f}s, "
                  f"{out.failed[0] if out.failed else how})", flush=True)

        run_jobs(jobs, boxes, done)
        if args.confirm:
            again = [Job(("confirm", mu), maps[mu.module].every(UNIT), ((mu.module, mutated_source(
                originals[mu.module], mu.index)),), timeout=1800)
                     for mu in chosen if results[mu][0] == "survived"]
            count[0] = len(chosen) - len(again)
            run_jobs(again, boxes, done)
    finally:
        for box in boxes:
            box.close()
    for mu in chosen:
        if results[mu][1] == "no test runs it":
            print(f"no test runs it: {mu.module}:{mu.line} #{mu.index} {mu.kind} {mu.description}")
    registry = load_equivalents()
    matched = match_equivalents(everything, originals, registry)
    report([(mu, *results[mu]) for mu in chosen], time.monotonic() - started, args, code,
           {mu: e for mu, e in matched.items() if mu in results},
           stale_entries(registry, matched, modules))
    return 0


# ---------------------------------------------------------------- known bugs
def bug_lines(source: str, old: str) -> tuple[int, ...]:
    """The lines (1-based) of ``source`` that the text ``old`` covers."""
    at = source.index(old)
    first = source.count("\n", 0, at) + 1
    return tuple(range(first, first + max(1, old.rstrip("\n").count("\n") + 1)))


def run_bugs(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from known_bugs import BUGS

    modules = sorted({bug.module for bug in BUGS})
    originals = {m: (ROOT / m).read_text(encoding="utf-8") for m in modules}
    preload()
    boxes = _boxes(args.jobs)
    started = time.monotonic()
    rows: dict[int, tuple[str, list[str], str]] = {}
    try:
        # the whole unit suite once, measured: which tests run each changed line
        got, flaky = run_baselines([Job("cover", tuple(UNIT), stop_first=False,
                                        measure=tuple(modules), timeout=3600)], boxes)
        base = got["cover"]
        _check_imported(base)
        maps = {m: line_map(m, base, tuple(flaky.get("cover", ()))) for m in modules}
        unit = maps[modules[0]].every(UNIT)
        every = sum(s for _, s in base.durations)
        print(f"{len(BUGS)} bugs; unit suite {len(base.durations)} tests in {every:.0f}s "
              f"(measured); {len(boxes)} jobs", flush=True)
        jobs = []
        for n, bug in enumerate(BUGS):
            if originals[bug.module].count(bug.old) != 1:
                rows[n] = ("PATCH DOES NOT APPLY", [], "")
                continue
            tests = maps[bug.module].select(bug_lines(originals[bug.module], bug.old))
            run = unit if not tests else tests     # no test runs it: try them all
            jobs.append(Job(n, run, ((bug.module, originals[bug.module].replace(bug.old, bug.new)),),
                            timeout=4 * maps[bug.module].seconds(tests or None) + 120,
                            stop_first=False))
        again = []

        def done(job: Job, out: Outcome) -> None:
            n = job.key
            how = "unit suite" if job.args == unit else f"{len(job.args)} tests that run it"
            if out.status == "passed" and job.args != unit:
                again.append(Job(n, unit, job.patches, timeout=3600, stop_first=False))
                return
            verdict = "NOT CAUGHT" if out.status == "passed" else "caught"
            rows[n] = (verdict, list(out.failed) or [out.status], how)
            print(f"{verdict:10} {BUGS[n].name}  ({out.seconds:.0f}s, {how})", flush=True)

        run_jobs(jobs, boxes, done)
        run_jobs(again, boxes, done)
    finally:
        for box in boxes:
            box.close()
    print()
    print(f"Known bugs {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{(time.monotonic() - started) / 60:.1f} min")
    print()
    print("| bug, made by hand | caught | failing unit tests |")
    print("|---|---|---|")
    for n, bug in enumerate(BUGS):
        verdict, tests, _ = rows[n]
        shown = ", ".join(t.split("::")[-1] for t in tests[:3]) + (f" (+{len(tests) - 3})"
                                                                     if len(tests) > 3 else "")
        print(f"| {bug.name} | {verdict} | {shown} |")
    return 0 if all(v == "caught" for v, _, _ in rows.values()) else 1


def _commit() -> str:
    """The code measured: the commit, and whether the tree differs from it."""
    import subprocess
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               text=True, capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def tally(results: list[tuple[Mutant, str, str]],
          equivalent: dict[Mutant, Equivalent]) -> tuple[int, int, int, float, float]:
    """mutants, killed, equivalent (survivors reviewed as such), the score
    killed / (mutants - equivalent) and killed / mutants, in per cent."""
    total = len(results)
    killed = sum(v != "survived" for _, v, _ in results)
    same = sum(v == "survived" and mu in equivalent for mu, v, _ in results)
    score = 100 * killed / (total - same) if total > same else 100.0
    return total, killed, same, score, 100 * killed / total if total else 0.0


def report(results: list[tuple[Mutant, str, str]], seconds: float, args: argparse.Namespace,
           code: str, equivalent: dict[Mutant, Equivalent] | None = None,
           stale: list[Equivalent] = ()) -> None:
    equivalent = equivalent or {}
    print()
    print(f"Mutation run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{'--quick' if args.quick else (f'--per-module {args.per_module}' if args.per_module else 'full')}, seed {args.seed}, {seconds / 60:.1f} min, "
          f"{args.jobs} jobs, on {code}")
    print()
    print("| module | mutants | killed | equivalent | survived | score | killed of all |")
    print("|---|---|---|---|---|---|---|")
    for module in MODULES:
        mine = [r for r in results if r[0].module == module]
        if mine:
            n, k, e, score, raw = tally(mine, equivalent)
            print(f"| {module} | {n} | {k} | {e} | {n - k - e} | {score:.0f} % | {raw:.0f} % |")
    n, k, e, score, raw = tally(results, equivalent)
    print(f"| **all** | {n} | {k} | {e} | {n - k - e} | **{score:.1f} %** | {raw:.1f} % |")
    same = [(mu, equivalent[mu]) for mu, v, _ in results if v == "survived" and mu in equivalent]
    if same:
        print()
        print("Equivalent (reviewed; scripts/equivalent_mutants.toml):")
        for mu, entry in same:
            print(f"  {mu.module}:{mu.line} #{mu.index} {mu.kind} {mu.description}: "
                  + " ".join(entry.why.split()))
    survivors = [mu for mu, v, _ in results if v == "survived" and mu not in equivalent]
    if survivors:
        print()
        print("Survivors:")
        for mu in survivors:
            print(f"  {mu.module}:{mu.line} #{mu.index} {mu.kind} {mu.description}")
    wrong = [mu for mu, v, _ in results if v != "survived" and mu in equivalent]
    if wrong or stale:
        print()
        print("Registry errors (scripts/equivalent_mutants.toml):")
        for mu in wrong:
            print(f"  registered as equivalent, but killed: {mu.module}:{mu.line} {mu.description}")
        for entry in stale:
            print(f"  names no mutant of the code: {entry.module}: `{entry.line}` {entry.mutation}")
    print()
    print(f"score: {score:.1f} % (killed {k} of {n - e}; {e} equivalent; killed of all {raw:.1f} %)")


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
    parser.add_argument("--jobs", type=int, default=2,
                        help="mutants run at once, each in its own copy of the tree (default 2)")
    parser.add_argument("--all-related", action="store_true",
                        help="run every related test for each mutant, not only those that "
                             "run its lines (slower; to check the selection)")
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
        sources = {m: (ROOT / m).read_text(encoding="utf-8") for m in modules}
        matched = match_equivalents(everything, sources, load_equivalents())
        for mu in chosen:
            if mu.module in modules:
                same = matched.get(mu)
                print(f"{mu.module}:{mu.line} #{mu.index} {mu.kind} {mu.description}"
                      + (f"  (equivalent: {same.why})" if same else ""))
        print(f"{len(chosen)} of {len(everything)}")
        return 0
    return run_mutants(args)


if __name__ == "__main__":
    sys.exit(main())
