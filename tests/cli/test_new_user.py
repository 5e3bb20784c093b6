"""What a new user meets following the README: making a preset of their own
(``presets new``), checking it by name (``presets validate``), a copy known by
the name it is found by, and a track of today's session (``export next``)."""

from __future__ import annotations

import tomllib

import pytest
from running import voicecoach

from voicecoach.plan.preset_files import load_preset


def test_presets_new_makes_the_folder_and_writes_the_preset_under_its_own_name(run, env):
    folder = env.config_dir / "presets"
    assert not env.config_dir.exists()               # a fresh home
    r = run("presets", "new", "mine")
    assert r.code == 0, r.err
    assert r.out == f"{folder / 'mine.toml'}\n"
    written = tomllib.loads((folder / "mine.toml").read_text())
    assert written["name"] == "mine"
    original = load_preset("leg-lifts")
    assert (written["title"], written["sets"], written["reps"], written["tempo"]) == \
        (original.title, original.sets, original.reps, "3-1-2-1")


def test_presets_new_from_another_preset_copies_that_one(run, env):
    assert run("presets", "new", "core", "--from", "dead-bug").code == 0
    written = tomllib.loads((env.config_dir / "presets" / "core.toml").read_text())
    assert (written["name"], written["title"]) == ("core", "Dead bug")


def test_presets_new_never_replaces_an_existing_preset(run, env):
    assert run("presets", "new", "mine").code == 0
    path = env.config_dir / "presets" / "mine.toml"
    path.write_text(path.read_text().replace("reps = 10", "reps = 12"))
    r = run("presets", "new", "mine", "--from", "plank")
    assert r.code == 2
    assert r.err == f"voicecoach: error: {path}: already exists; edit it, or choose another name\n"
    assert "reps = 12" in path.read_text()


@pytest.mark.parametrize("name", ["a/b", "mine.toml", "next", "", "my legs", ".hidden", "../up"])
def test_presets_new_refuses_a_name_that_could_not_be_played_by_name(run, env, name):
    r = run("presets", "new", name)
    assert r.code == 2
    assert r.err.count("\n") == 1 and "a preset name is" in r.err
    assert not list(env.config_dir.glob("**/*.toml"))


def test_presets_new_from_an_unknown_preset_is_bad_input_and_writes_nothing(run, env):
    r = run("presets", "new", "mine", "--from", "leg-lits")
    assert r.code == 2
    assert "did you mean 'leg-lifts'" in r.err
    assert not (env.config_dir / "presets" / "mine.toml").exists()


def test_presets_validate_takes_a_preset_name_as_the_other_commands_do(run, env):
    assert run("presets", "new", "mine").code == 0
    r = run("presets", "validate", "mine")
    assert (r.code, r.err) == (0, "")
    assert r.out.startswith("mine: ok: Straight-leg lifts, 3 sets of 10")
    assert run("presets", "validate", "plank").out.startswith("plank: ok: Plank, 3 sets of 1")
    assert run("presets", "list").out.endswith(
        f"mine         (yours, {env.config_dir / 'presets' / 'mine.toml'})\n"
        "Make your own: voicecoach presets new NAME [--from PRESET]\n")
    r = run("presets", "validate", "mien")
    assert r.code == 2
    assert r.err == "voicecoach: error: mien: no such preset; did you mean 'mine'?\n"


def test_a_copy_found_by_name_is_known_by_that_name(run, env):
    """A copy saved by hand keeps its original's name key; found as 'mine', it is mine."""
    folder = env.config_dir / "presets"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(run("presets", "show", "leg-lifts").out)
    assert 'name = "leg-lifts"' in (folder / "mine.toml").read_text()
    assert run("presets", "show", "mine").out.startswith('name = "mine"\n')
    assert run("timeline", "mine", "--engine", "pyttsx3").out.startswith("mine: ")
    r = run("log", "mine", "10", "10", "10")
    assert r.code == 0, r.err
    assert ": mine, perfect reps 10 10 10" in r.out
    assert '"preset": "mine"' in run("history", "--json").out


def test_export_next_numbers_the_track_after_the_sessions_logged(run, env, tmp_path):
    import mutagen
    assert run("log", "10", "9", "8").code == 0
    out = tmp_path / "today.mp3"
    r = run("export", "next", "--engine", "pyttsx3", "--sets", "1", "-o", str(out))
    assert r.code == 0, r.err
    assert str(mutagen.File(out)["TRCK"]) == "2"


def test_a_new_user_makes_a_preset_and_plays_it_by_name_in_a_fresh_home(proc_env, tmp_path):
    """The README's steps as separate processes, with no presets folder yet."""
    made = voicecoach(proc_env, "presets", "new", "mine", "--from", "plank")
    assert made.returncode == 0, made.stderr
    path = tmp_path / "config" / "presets" / "mine.toml"
    assert made.stdout.decode() == f"{path}\n"
    checked = voicecoach(proc_env, "presets", "validate", "mine")
    assert checked.stdout.decode().startswith("mine: ok: Plank"), checked.stderr
    again = voicecoach(proc_env, "presets", "new", "mine")
    assert (again.returncode, again.stderr.decode().count("\n")) == (2, 1)
