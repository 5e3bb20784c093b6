"""The real CLI, run in-process with an injected environment."""

import io
import json

import tomli_w

from voicecoach.cli.app import main
from voicecoach.plan.preset import parse_preset
from voicecoach.plan.preset_files import load_preset


def test_timeline_json_is_the_design_contract(run):
    r = run("timeline", "leg-lifts", "--json")
    assert r.code == 0 and r.err == ""
    doc = json.loads(r.out)
    assert doc["preset"] == "leg-lifts" and doc["samplerate"] == 48000
    lifts = [s for s in doc["segments"] if s["kind"] == "concentric"]
    assert len(lifts) == 30 and max(s["set"] for s in lifts) == 3
    assert all(s["frames"] == 3 * 48000 for s in doc["segments"] if s["kind"] == "eccentric")


def test_timeline_table_is_readable(run):
    r = run("timeline", "plank")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].startswith("plank: ")
    assert any("hold" in line and '"Three"' in line for line in lines)


def test_default_preset_is_leg_lifts(run):
    assert json.loads(run("timeline", "--json").out)["preset"] == "leg-lifts"


def test_overrides(run):
    doc = json.loads(run("timeline", "--sets", "2", "--reps", "4", "--tempo", "4/0/1/0",
                         "--rest", "30", "--json").out)
    lifts = [s for s in doc["segments"] if s["kind"] == "concentric"]
    assert len(lifts) == 8
    assert all(s["frames"] == 4 * 48000 for s in doc["segments"] if s["kind"] == "eccentric")
    assert [s["frames"] for s in doc["segments"] if s["kind"] == "rest"] == [30 * 48000]


def test_bad_input_is_one_line_and_exit_2(run, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\nexercise = "y"\nsets = 3\nreps = 0\ntempo = "3121"\n')
    cases = [
        (("timeline", "--reps", "0"), "--reps"),
        (("timeline", "--tempo", "fast"), "--tempo"),
        (("timeline", "--rest", "-1"), "--rest"),
        (("timeline", "--sets", "x"), "--sets"),
        (("timeline", str(bad)), f"{bad}: reps: must be between 1 and 200 (got 0)"),
        (("timeline", str(tmp_path / "missing.toml")), "no such file"),
        (("timeline", "leg-lift"), "did you mean 'leg-lifts'"),
        (("presets", "validate", str(bad)), "reps"),
        (("nonsense",), "No such command"),
    ]
    for args, fragment in cases:
        r = run(*args)
        assert r.code == 2, (args, r)
        assert fragment in r.err and "Traceback" not in r.err, (args, r.err)
        assert len(r.err.strip().splitlines()) == 1, r.err


def test_debug_shows_traceback(run):
    r = run("--debug", "timeline", "--reps", "0")
    assert r.code == 2 and "Traceback" in r.err


def test_presets_list_and_show_round_trip(run, env, tmp_path):
    r = run("presets", "list")
    assert r.code == 0 and "leg-lifts" in r.out and "plank" in r.out
    shown = run("presets", "show", "leg-lifts").out
    assert parse_preset(shown, "shown") == load_preset("leg-lifts")
    # save it as a user preset, edit, and play it by name
    folder = env.config_dir / "presets"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(shown.replace("reps = 10", "reps = 12"))
    assert "mine" in run("presets", "list").out
    doc = json.loads(run("timeline", "mine", "--json").out)
    assert len([s for s in doc["segments"] if s["kind"] == "concentric"]) == 36


def test_validate_ok(run, tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(tomli_w.dumps({"title": "T", "exercise": "e", "sets": 1, "reps": 2, "tempo": "2020"}))
    r = run("presets", "validate", str(path))
    assert r.code == 0 and "ok" in r.out


def test_version_and_help(run):
    assert run("--version").code == 0
    r = run("--help")
    assert r.code == 0 and "timeline" in r.out


def test_export_shows_progress_only_on_a_terminal(run, env, tmp_path):
    from dataclasses import replace
    out = tmp_path / "p.wav"
    r = run("export", "plank", "--sets", "1", "-o", str(out))
    assert r.code == 0 and "Writing" not in r.err and f"wrote {out}" in r.out
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    tty = replace(env, stderr=Terminal(), stderr_isatty=True)
    assert main(["export", "plank", "--sets", "1", "-o", str(out)], env=tty) == 0
    assert "Writing p.wav" in tty.stderr.getvalue() and "100%" in tty.stderr.getvalue()


def test_devices_quiet_prints_nothing_even_without_a_device(run, monkeypatch):
    from voicecoach.errors import AudioDeviceError
    from voicecoach.live import player

    def none():
        raise AudioDeviceError("cannot list audio devices: Error querying device -1")
    monkeypatch.setattr(player, "list_devices", none)
    r = run("devices", "--quiet")
    assert (r.code, r.out, r.err) == (1, "", "")
    r = run("devices")
    assert r.code == 1 and "cannot list audio devices" in r.err
    monkeypatch.setattr(player, "list_devices", lambda: [])
    r = run("devices", "--quiet")
    assert (r.code, r.out, r.err) == (1, "", "")


def test_play_help_names_the_headset_controls(run):
    r = run("play", "--help")
    assert r.code == 0 and "--no-mpris" in r.out and "MPRIS" in r.out
