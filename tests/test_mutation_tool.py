"""The pure parts of scripts/mutants.py: the same code gives the same
mutants, a mutant is the one change it names, and a mutant runs exactly
the tests that run its lines."""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

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

SOURCE = '''\
"""Doc."""
LIMIT = 3


def late(at, limit):
    if at > limit and (at - limit
                       >= LIMIT):
        return True
    return False
'''


def test_generation_is_deterministic_and_names_each_change():
    first = mutants.mutants_of("m.py", SOURCE)
    assert first == mutants.mutants_of("m.py", SOURCE)
    assert [m.index for m in first] == list(range(len(first)))
    kinds = {(m.line, m.kind, m.description) for m in first}
    assert (2, "int", "3 -> 4") in kinds and (6, "cmp", "> -> >=") in kinds
    assert (6, "bool", "and -> or") in kinds and (8, "return", "return ... -> return None") in kinds
    assert not any(m.line == 1 for m in first)              # the docstring is never mutated


def test_a_mutant_changes_behaviour_as_described():
    found = {m.description: m for m in mutants.mutants_of("m.py", SOURCE)}

    def late(index):
        space = {}
        exec(mutants.mutated_source(SOURCE, index), space)
        return space["late"]

    assert late(found["3 -> 4"].index)(10, 7) is False     # was True: 10 - 7 >= 3
    assert late(found[">= -> >"].index)(10, 7) is False
    assert late(found["and -> or"].index)(8, 7) is True
    original = {}
    exec(SOURCE, original)
    assert original["late"](10, 7) is True and original["late"](8, 7) is False


def test_a_mutant_on_a_continued_line_also_names_its_statement_line():
    ge = next(m for m in mutants.mutants_of("m.py", SOURCE) if m.description == ">= -> >")
    assert ge.line == 6 and ge.lines == (6, 7)             # the `if` starts on line 6


def test_the_sample_is_seeded_and_ordered_by_the_code():
    module = next(iter(mutants.MODULES))
    every = [mutants.Mutant(module, i, i, "int", "0 -> 1") for i in range(40)]
    a = mutants.sample(every, 8, 20261201)
    assert a == mutants.sample(every, 8, 20261201)
    assert len(a) == 8 and [m.index for m in a] == sorted(m.index for m in a)
    assert a != mutants.sample(every, 8, 1)
    assert mutants.sample(every, None, 1) == every


def test_a_mutant_runs_the_tests_that_run_its_lines_in_run_order():
    lm = mutants.LineMap("m.py", {3: ("t::b", "t::a"), 4: ("t::c",), 9: (mutants.IMPORT_TIME,)},
                         (("t::a", 1.0), ("t::b", 2.0), ("t::c", 4.0), ("t::d", 8.0)))
    assert lm.select((3,)) == ("t::a", "t::b")
    assert lm.select((3, 4)) == ("t::a", "t::b", "t::c")
    assert lm.select((5,)) == ()                            # no test runs it
    assert lm.select((4, 9)) is None                        # run at import: every related test
    assert lm.seconds(("t::a", "t::c")) == 5.0 and lm.seconds(None) == 15.0


class _Data:
    """A recording fake of coverage's data: lines by context."""

    def __init__(self, path, by_line):
        self.path, self.by_line = path, by_line

    def measured_files(self):
        return {self.path}

    def contexts_by_lineno(self, path):
        assert path == self.path
        return self.by_line


def test_lines_run_by_a_shared_fixture_count_for_every_test_that_uses_it():
    path = Path("/copy/voicecoach/m.py")
    data = _Data(str(path), {1: [""], 5: ["t.py::a"], 7: ["fixture t.py::made"],
                             8: ["t.py::b", "fixture t.py::made"]})
    rec = mutants._Recorder(None)
    rec.fixture_users = {"fixture t.py::made": ["t.py::a", "t.py::c"]}
    got = rec.lines(SimpleNamespace(get_data=lambda: data), path)
    assert got == {1: [""], 5: ["t.py::a"], 7: ["t.py::a", "t.py::c"],
                   8: ["t.py::a", "t.py::b", "t.py::c"]}


def test_a_bug_names_the_lines_it_changes():
    source = "a = 1\nb = 2\nc = 3\nd = 4\n"
    assert mutants.bug_lines(source, "b = 2\nc = 3\n") == (2, 3)
    assert mutants.bug_lines(source, "= 4") == (4,)


@pytest.mark.parametrize("bug", known_bugs.BUGS, ids=lambda b: b.name)
def test_every_known_bug_still_applies_to_the_code_as_written(bug):
    text = (ROOT / bug.module).read_text(encoding="utf-8")
    assert text.count(bug.old) == 1, f"{bug.module} no longer holds the text this bug changes"


def test_every_module_has_related_tests_that_exist():
    for module, args in mutants.MODULES.items():
        assert (ROOT / module).is_file(), module
        paths = [a for a in args if a.startswith("tests/")]
        assert paths and all((ROOT / p).is_file() for p in paths), module


TWICE = '''\
def f(n):
    return n - 1 - 1


def g(n):
    if n:
        return n - 1 - 1
'''


def test_a_registered_equivalent_is_the_mutation_on_that_line_and_only_it(tmp_path):
    every = mutants.mutants_of("m.py", SOURCE) + mutants.mutants_of("t.py", TWICE)
    sources = {"m.py": SOURCE, "t.py": TWICE}
    registry = tmp_path / "eq.toml"
    registry.write_text('''
[[mutant]]
module = "m.py"
line = "LIMIT = 3"
mutation = "3 -> 4"
why = "for the test"

[[mutant]]
module = "t.py"
line = "return n - 1 - 1"
mutation = "1 -> 2"
becomes = "return n - 1 - 2"
why = "the second of two"

[[mutant]]
module = "t.py"
line = """if n:
          return n - 1 - 1"""
mutation = "- -> +"
becomes = "return n + 1 - 1"
why = "the one under the if"

[[mutant]]
module = "m.py"
line = "LIMIT = 4"
mutation = "4 -> 5"
why = "names no mutant"
''')
    reg = mutants.load_equivalents(registry)
    matched = mutants.match_equivalents(every, sources, reg)
    # a one-line entry names that mutation on every line with that text;
    # the two-line one only the line under `if n:`
    assert sorted((m.module, m.line, m.description) for m in matched) == [
        ("m.py", 2, "3 -> 4"), ("t.py", 2, "1 -> 2"), ("t.py", 7, "- -> +"), ("t.py", 7, "1 -> 2")]
    first = next(m for m in matched if m.line == 2 and m.module == "t.py")
    assert "return n - 1 - 2" in mutants.mutated_source(TWICE, first.index)
    under = next(m for m in matched if m.description == "- -> +")
    assert "return n + 1 - 1" in mutants.mutated_source(TWICE, under.index).split("def g")[1]
    assert mutants.stale_entries(reg, matched, ["m.py", "t.py"]) == [reg[3]]
    assert mutants.stale_entries(reg, matched, ["t.py"]) == []


def test_an_entry_without_a_reason_is_refused(tmp_path):
    registry = tmp_path / "eq.toml"
    registry.write_text('[[mutant]]\nmodule = "m.py"\nline = "x"\nmutation = "1 -> 2"\nwhy = " "\n')
    with pytest.raises(SystemExit, match="entry 1: needs module, line, mutation and a why"):
        mutants.load_equivalents(registry)


def test_the_score_leaves_out_only_equivalent_survivors():
    m = [mutants.Mutant("m.py", i, i, "int", "0 -> 1") for i in range(10)]
    same = mutants.Equivalent("m.py", "x", "0 -> 1", "why")
    results = [(mu, "killed", "") for mu in m[:7]] + [(mu, "survived", "") for mu in m[7:]]
    # one survivor equivalent, and one killed mutant wrongly registered: it counts as killed
    assert mutants.tally(results, {m[9]: same, m[0]: same}) == (10, 7, 1, pytest.approx(700 / 9), 70.0)
    assert mutants.tally(results, {}) == (10, 7, 0, 70.0, 70.0)


def test_every_registered_equivalent_names_a_mutant_of_the_code_as_it_is():
    sources = {m: (ROOT / m).read_text(encoding="utf-8") for m in mutants.MODULES}
    every = [mu for m, src in sources.items() for mu in mutants.mutants_of(m, src)]
    registry = mutants.load_equivalents()
    matched = mutants.match_equivalents(every, sources, registry)
    assert mutants.stale_entries(registry, matched, list(sources)) == []
    assert len(matched) == len(registry)           # each entry names exactly one mutant


def test_the_report_counts_equivalents_apart_and_names_registry_errors(capsys):
    module = next(iter(mutants.MODULES))
    m = [mutants.Mutant(module, i, i + 1, "int", f"{i} -> {i + 1}") for i in range(5)]
    same = mutants.Equivalent(module, "x", "3 -> 4", "the same\nfor every input")
    stale = mutants.Equivalent(module, "y", "9 -> 8", "gone")
    results = [(m[0], "killed", ""), (m[1], "killed", ""), (m[2], "survived", ""),
               (m[3], "survived", ""), (m[4], "killed", "")]
    args = SimpleNamespace(quick=True, per_module=0, seed=1, jobs=2)
    mutants.report(results, 60.0, args, "commit abc", {m[3]: same, m[4]: same}, [stale])
    out = capsys.readouterr().out
    assert f"| {module} | 5 | 3 | 1 | 1 | 75 % | 60 % |" in out
    assert f"{module}:4 #3 int 3 -> 4: the same for every input" in out
    assert f"Survivors:\n  {module}:3 #2 int 2 -> 3\n" in out
    assert f"registered as equivalent, but killed: {module}:5 4 -> 5" in out
    assert "names no mutant of the code: " in out and "`y` 9 -> 8" in out
    assert out.rstrip().endswith("score: 75.0 % (killed 3 of 4; 1 equivalent; killed of all 60.0 %)")
