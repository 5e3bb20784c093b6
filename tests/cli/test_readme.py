"""The README's examples work as written: every shell command in its code
blocks that needs no sound card runs, in order, in a fresh home, as a new
user would type it; the full preset example validates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

README = Path(__file__).resolve().parents[2] / "README.md"

# Commands the test does not run, each with its reason. Every rule must match a
# command of the README, so none is left behind when the README changes.
SKIPPED = {
    "scripts/": "set-up: installs system packages and the .venv",
    ". .venv/bin/activate": "set-up: the test puts the .venv on PATH itself",
    "voicecoach play": "needs a sound card",
    "voicecoach devices": "lists sound cards",
}
TIMEOUT = 300       # seconds for one command: a cold Piper synthesis on a busy 2-core machine


def shell_commands(text: str) -> list[str]:
    """The commands of the README's ``sh`` blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.strip())
    return commands


def skip_reason(command: str) -> str | None:
    return next((why for prefix, why in SKIPPED.items() if command.startswith(prefix)), None)


def new_home(root: Path) -> dict[str, str]:
    """A home with nothing of voicecoach in it, every folder it uses inside,
    and the user's own music folder the README plays under the coach."""
    home = root / "home"
    music = home / "Music" / "workout"
    music.mkdir(parents=True)
    t = np.arange(5 * 44100) / 44100
    sf.write(music / "track.flac", 0.3 * np.sin(2 * np.pi * 220 * t), 44100)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VOICECOACH_", "XDG_")) and k != "DBUS_SESSION_BUS_ADDRESS"}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        VOICECOACH_CONFIG_DIR=str(home / ".config" / "voicecoach"),
        VOICECOACH_CACHE_DIR=str(home / ".cache" / "voicecoach"),
        VOICECOACH_DATA_DIR=str(home / ".local" / "share" / "voicecoach"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def test_the_readme_finds_its_commands_and_skips_only_what_it_says():
    commands = shell_commands(README.read_text())
    for prefix in SKIPPED:
        assert any(c.startswith(prefix) for c in commands), f"no README command starts {prefix!r}"
    assert sum(skip_reason(c) is None for c in commands) >= 15
    assert "voicecoach presets new mine --from dead-bug" in [c.split("#")[0].strip() for c in commands]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_readme_command_without_a_sound_card_works(tmp_path):
    env = new_home(tmp_path)
    home = Path(env["HOME"])
    failures = []
    for command in shell_commands(README.read_text()):
        if skip_reason(command):
            continue
        r = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=home, env=env, check=False,
                           capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0 or "Traceback" in r.stderr or "error" in r.stderr.lower():
            failures.append(f"$ {command}\nexit {r.returncode}\n{r.stderr.strip()[-800:]}")
    assert not failures, "\n\n".join(failures)
    # what the README says the commands leave behind, where it says
    mine = home / ".config" / "voicecoach" / "presets" / "mine.toml"
    assert tomllib.loads(mine.read_text())["name"] == "mine"
    for name in ("legs.mp3", "plank.flac", "plank.voice.flac", "plank.ticks.flac", "plank.cue",
                 "slow.ogg", "music.mp3", "today.mp3"):
        assert (home / name).stat().st_size > 1000 or name.endswith(".cue"), name


def test_the_full_preset_example_validates(run, tmp_path):
    block = re.search(r"Every key, with what it means.*?```toml\n(.*?)```", README.read_text(),
                      re.DOTALL).group(1)
    path = tmp_path / "my-lifts.toml"
    path.write_text(block)
    result = run("presets", "validate", str(path))
    assert result.code == 0, result.err
    assert result.out.startswith(f"{path}: ok: Straight-leg lifts, 3 sets of 10")


def test_the_readme_benchmark_table_is_the_one_the_bench_wrote():
    """No figure is kept by hand: between its markers the README holds what
    ``scripts/bench --markdown`` wrote into docs/benchmarks.md."""
    text = README.read_text()
    begin = "<!-- bench:begin (written by scripts/bench --markdown) -->\n"
    table = text[text.index(begin) + len(begin):text.index("<!-- bench:end -->")]
    assert table.startswith("Measured ") and "| what | ours | baseline | ratio | target |" in table
    assert (README.parent / "docs" / "benchmarks.md").read_text().endswith(table)
