"""The packages are the pipeline's stages, and imports only point down it.

Every module's imports (top level and inside functions) are read with
``ast``, so a lazy import that breaks the layering fails here too.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "voicecoach"


def _allowed() -> dict[str, set[str]]:
    """What each package may import of ours (itself always), read from the
    layer table in docs/architecture.md, so the two cannot drift apart:
    the packages named in a row's last cell, ``everything`` for all, and
    ``errors`` (the bottom) for every package."""
    rows = [line.split("|")[1:-1] for line in (ROOT / "docs/architecture.md").read_text().splitlines()
            if re.match(r"\| `\w+` +\|", line)]
    names = {re.search(r"`(\w+)`", row[0]).group(1) for row in rows}
    allowed = {"errors": set()}
    for package, _, may in rows:
        name = re.search(r"`(\w+)`", package).group(1)
        cell = re.sub(r"\*\*.*?\*\*", "", may)            # "**no numpy**" is no package
        allowed[name] = (names - {name} if "everything" in cell
                         else set(re.findall(r"`(\w+)`", cell))) | {"errors"}
    return allowed


ALLOWED = _allowed()


def test_the_table_is_read_whole():
    assert ALLOWED["encode"] == {"audio", "plan", "common", "errors"}      # no cues
    assert ALLOWED["common"] == {"errors"} and ALLOWED["plan"] == {"common", "errors"}
    assert ALLOWED["cli"] == set(ALLOWED) - {"cli"}
    assert ALLOWED["listen"] == {"plan", "common", "errors"}
    assert len(ALLOWED) == 10


# Third-party modules a package must not import, and who alone may.
NO_NUMPY = {"plan", "training", "common.numbers", "common.decibels", "errors"}
HEAVY = {"numpy", "soundfile", "soxr", "sounddevice", "pyttsx3", "piper", "onnxruntime", "jeepney", "pocketsphinx"}
ONLY = {"sounddevice": {"live", "listen"}, "pyttsx3": {"cues"}, "piper": {"cues"}, "jeepney": {"live"},
        "pocketsphinx": {"listen"}}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        if parts and parts[0] != "audio_cues":
            out.append((".".join(parts), path))
    return out


def _imports(path: Path) -> set[str]:
    """Absolute names of every module imported anywhere in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            if node.module == "voicecoach":      # from voicecoach import __version__, ...
                names.update(f"voicecoach.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def _layer(module: str) -> str:
    return module.split(".")[0]


MODULES = _modules()


def test_every_module_belongs_to_a_known_layer():
    top = {"__main__"}     # the entry point; the package's own __init__ is the public API
    unknown = [m for m, _ in MODULES if _layer(m) not in ALLOWED and m not in top]
    assert unknown == []


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down_the_pipeline(module, path):
    layer = _layer(module)
    if layer not in ALLOWED:
        return
    wrong = []
    for name in _imports(path):
        if not name.startswith("voicecoach."):
            continue
        target = name.split(".")[1]
        if target in ("__version__",) or target == layer:
            continue
        if target not in ALLOWED[layer]:
            wrong.append(name)
    assert wrong == [], f"{module} imports {wrong}: {layer} may import only {sorted(ALLOWED[layer])}"


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_heavy_libraries_stay_in_their_rooms(module, path):
    third = {name.split(".")[0] for name in _imports(path)} & HEAVY
    if module.startswith(tuple(NO_NUMPY)) or _layer(module) in NO_NUMPY:
        assert third == set(), f"{module} imports {third}"
    for lib, rooms in ONLY.items():
        if lib in third:
            assert _layer(module) in rooms, f"{module} imports {lib}; only {rooms} may"


def test_nothing_imports_the_cli():
    users = [m for m, p in MODULES if _layer(m) != "cli" and m != "__main__"
             and any(n.startswith("voicecoach.cli") for n in _imports(p))]
    assert users == []


def test_the_layering_check_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from voicecoach.audio.mixer import Mixer\n")
    assert "voicecoach.audio.mixer" in _imports(bad)


def _loaded(code: str, env_dirs: dict) -> set[str]:
    """Heavy modules loaded by running ``code`` in a fresh interpreter."""
    probe = (f"import sys\n{code}\n"
             f"print('LOADED:', *sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}),"
             f" file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False,
                         env={**env_dirs, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    line = [x for x in out.stderr.splitlines() if x.startswith("LOADED:")][-1]
    return set(line.split()[1:])


@pytest.fixture
def dirs(tmp_path):
    import os
    return {**os.environ, "VOICECOACH_CACHE_DIR": str(tmp_path / "cache"),
            "VOICECOACH_CONFIG_DIR": str(tmp_path / "config"),
            "VOICECOACH_DATA_DIR": str(tmp_path / "data")}


RUN = "from voicecoach.cli.app import main\nrc = main({args!r})\nassert rc == 0, rc"


@pytest.mark.parametrize("args", [["presets", "list"], ["presets", "show", "plank"],
                                  ["log", "plank", "1", "1", "1"], ["history"], ["next"]])
def test_planning_and_training_commands_run_without_numpy(args, dirs):
    assert _loaded(RUN.format(args=args), dirs) == set()


def test_timeline_runs_without_numpy_once_the_cues_are_cached(dirs):
    warm = subprocess.run([sys.executable, "-m", "voicecoach", "timeline", "plank"],
                          env=dirs, capture_output=True, text=True, timeout=300, check=False)
    assert warm.returncode == 0, warm.stderr
    assert _loaded(RUN.format(args=["timeline", "plank", "--json"]), dirs) == set()
