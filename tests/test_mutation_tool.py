"""The wrapper around cosmic-ray (scripts/mutants.py): the skip list names
real lines of the code, a sample skips what it should and says why, and
the score is the textbook one. No mutant's tests are run here."""

import importlib.util
import shlex
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


mutants = _load("mutants")
known_bugs = _load("known_bugs")
REGISTRY = mutants.load_equivalents()


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: f"{Path(e.module).stem}:{e.becomes}")
def test_every_skipped_equivalent_names_exactly_one_line_of_the_code(entry):
    assert entry.module in mutants.MODULES
    source = (ROOT / entry.module).read_text(encoding="utf-8")
    assert len(mutants.lines_named(entry, source)) == 1, \
        f"{entry.module} has no (or more than one) line `{entry.line}`: update or remove the entry"


def test_an_entry_naming_a_line_no_longer_there_names_none():
    source = "def f(n):\n    return n - 1\n"
    gone = mutants.Equivalent("m.py", "return n - 2", "core/NumberReplacer", "return n - 3", "why")
    here = mutants.Equivalent("m.py", "def f(n):\nreturn n - 1", "core/NumberReplacer",
                              "return n - 2", "why")
    assert mutants.lines_named(gone, source) == []
    assert mutants.lines_named(here, source) == [2]          # the mutated line is the last


def test_an_entry_without_a_reason_is_refused(tmp_path):
    registry = tmp_path / "eq.toml"
    registry.write_text('[[mutant]]\nmodule = "m.py"\nline = "x = 1"\noperator = "core/NumberReplacer"\n'
                        'becomes = "x = 2"\nwhy = " "\n')
    with pytest.raises(SystemExit, match="entry 1: needs module, line, operator, becomes, why"):
        mutants.load_equivalents(registry)


def test_the_score_leaves_out_only_equivalents():
    verdicts = ["killed"] * 7 + ["survived"] * 2 + ["equivalent"]
    assert mutants.tally(verdicts) == (10, 7, 1, pytest.approx(700 / 9), 70.0)
    assert mutants.tally(["killed"] * 7 + ["survived"] * 3) == (10, 7, 0, 70.0, 70.0)
    assert mutants.tally(["equivalent"]) == (1, 0, 1, 100.0, 0.0)
    assert mutants.tally([]) == (0, 0, 0, 100.0, 0.0)


TINY = '''\
from __future__ import annotations

LIMIT = 3


def late(at: int, limit: int | None = 0) -> bool:
    return at - limit >= LIMIT
'''


def _session(where: Path) -> tuple[str, Path]:
    """A cosmic-ray session of a tiny module: its mutants made, none run."""
    pytest.importorskip("cosmic_ray")
    from cosmic_ray.commands.init import init
    from cosmic_ray.work_db import WorkDB, use_db

    where.mkdir(exist_ok=True)
    module, session = where / "tiny.py", where / "tiny.sqlite"
    module.write_text(TINY)
    with use_db(str(session), WorkDB.Mode.create) as db:
        init([module], db, {})
    return str(module), session


def _results(session: Path):
    """(line, operator, output) of each skipped mutant; (line, operator) of each left to run."""
    from cosmic_ray.work_db import WorkDB, use_db
    with use_db(str(session), WorkDB.Mode.open) as db:
        skipped = sorted((i.mutations[0].start_pos[0], i.mutations[0].operator_name, r.output)
                         for i, r in db.completed_work_items if r.worker_outcome == "skipped")
        to_run = sorted((i.mutations[0].start_pos[0], i.mutations[0].operator_name)
                        for i in db.pending_work_items)
    return skipped, to_run


def test_a_reviewed_equivalent_is_skipped_with_its_reason_and_only_it(tmp_path):
    module, session = _session(tmp_path)
    same = mutants.Equivalent(module, "LIMIT = 3", "core/NumberReplacer", "LIMIT = 4", "for the test")
    found = mutants.mark(session, module, TINY, [same], None, 1)
    skipped, to_run = _results(session)
    assert [e for _, e in found] == [same]
    assert (3, "core/NumberReplacer", "equivalent: for the test") in skipped
    assert to_run.count((3, "core/NumberReplacer")) == 1          # LIMIT = 2 still runs
    # the `|` of `int | None` is an annotation: its 11 mutants are left out, not the default's
    typed = [s for s in skipped if s[2] == "in a type annotation"]
    assert len(typed) == 11 and all(s[0] == 6 and "_BitOr_" in s[1] for s in typed)
    assert to_run.count((6, "core/NumberReplacer")) == 2
    assert len(skipped) == 12 and len(to_run) == 33 - 12


def test_the_sample_is_seeded_and_of_the_size_asked(tmp_path):
    picks = []
    for where in ("a", "b", "c"):
        module, session = _session(tmp_path / where)
        mutants.mark(session, module, TINY, [], 3, 7 if where != "c" else 8)
        skipped, to_run = _results(session)
        assert len(to_run) == 3 and {s[2] for s in skipped} == {"not sampled", "in a type annotation"}
        picks.append(to_run)
    assert picks[0] == picks[1] and picks[0] != picks[2]


def test_a_session_runs_only_the_modules_unit_tests():
    config = tomllib.loads(mutants.session_config("voicecoach/audio/mixer.py", "/py", 60.0))
    section = config["cosmic-ray"]
    command = shlex.split(section["test-command"])
    assert section["module-path"] == "voicecoach/audio/mixer.py" and section["timeout"] == 60.0
    assert command[:4] == ["/py", "-m", "pytest", "-x"]
    assert command[command.index("-m", 1 + command.index("pytest")):][:2] == ["-m", "not e2e and not slow"]
    assert command[-5:] == list(mutants.MODULES["voicecoach/audio/mixer.py"])
    assert not any("e2e/" in a for a in command)


def test_every_module_has_related_tests_that_exist():
    for module, args in mutants.MODULES.items():
        assert (ROOT / module).is_file(), module
        paths = [a for a in args if a.startswith("tests/")]
        assert paths and all((ROOT / p).exists() for p in paths), module
        assert not any(p.startswith("tests/e2e") for p in paths), module


@pytest.mark.parametrize("bug", known_bugs.BUGS, ids=lambda b: b.name)
def test_every_known_bug_still_applies_to_the_code_as_written(bug):
    text = (ROOT / bug.module).read_text(encoding="utf-8")
    assert text.count(bug.old) == 1, f"{bug.module} no longer holds the text this bug changes"
    assert bug.related() and all((ROOT / p).exists() for p in bug.related() if p.startswith("tests"))


def test_a_bug_is_caught_only_by_failing_tests():
    assert known_bugs._verdict(1) == "caught" and known_bugs._verdict(2) == "caught"
    assert known_bugs._verdict(0) == "NOT CAUGHT" and known_bugs._verdict(5) == "NO TESTS RAN"


def test_the_report_scores_each_module_and_the_doc_keeps_one_last_measured_line(capsys, tmp_path):
    results = {"voicecoach/plan/fitting.py": [("killed", "a"), ("survived", "b"),
                                              ("equivalent", "c: why"), ("killed", "d")]}
    line = mutants.report(results, 1.5, "--quick, seed 1")
    out = capsys.readouterr().out
    assert "| voicecoach/plan/fitting.py | 4 | 2 | 1 | 1 | 67 % | 50 % |" in out
    assert "Survivors:\n  survived b\n" in out and "Equivalent (reviewed):\n  equivalent c: why" in out
    assert line.startswith("Last measured: ") and line.endswith(
        "--quick, seed 1, 4 mutants, 1.5 min: score 66.7 % (killed 2 of 3; 1 equivalent; "
        "killed of all 50.0 %)")
    doc = tmp_path / "mutation.md"
    doc.write_text("# Mutation\n\nLast measured: never\n\nMore.\n")
    mutants.record(line, doc)
    assert doc.read_text() == f"# Mutation\n\n{line}\n\nMore.\n"
    assert "Last measured:" in (ROOT / "docs" / "mutation.md").read_text(encoding="utf-8")
