"""The built wheel carries audio_cues/ (phrase book, presets) and works installed."""

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_assets_and_runs_installed(tmp_path):
    shutil.rmtree(ROOT / "build", ignore_errors=True)     # stale files would ride along
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    wheel = next(tmp_path.glob("voicecoach-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "voicecoach/audio_cues/phrases.toml" in names
    assert "voicecoach/audio_cues/presets/leg-lifts.toml" in names
    assert "voicecoach/audio_cues/sounds/chime.wav" in names
    assert "voicecoach/cues/engine.py" in names
    # install into a fresh venv that sees our dependencies, then run from elsewhere
    target = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(target)
    site = subprocess.run([str(target / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)],
                   check=True)
    out = subprocess.run([str(target / "bin/python"), "-c",
                          "import voicecoach, sys; print(voicecoach.__file__);"
                          "from voicecoach.cli.app import main; sys.exit(main(['timeline', 'plank', '--json']))"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    first, rest = out.stdout.split("\n", 1)
    assert str(ROOT) not in first          # the installed copy, not the source tree
    assert '"preset": "plank"' in rest


def test_the_set_up_leaves_fresh_bytecode_for_every_module():
    """A start compiles nothing: ``scripts/setup`` compiles the tree, and each
    .pyc matches its source's time and size, as Python checks before using it
    (a stale one means an edit since the set-up: run ``scripts/setup`` again)."""
    import importlib.util

    stale = []
    for source in sorted((ROOT / "voicecoach").rglob("*.py")):
        pyc = Path(importlib.util.cache_from_source(str(source)))
        st = source.stat()
        expected = importlib.util.MAGIC_NUMBER + bytes(4) + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") \
            + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
        if not pyc.is_file() or pyc.read_bytes()[:16] != expected:
            stale.append(source.relative_to(ROOT).as_posix())
    assert stale == []
