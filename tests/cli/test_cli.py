"""The real CLI, run in-process with an injected environment."""

import io
import json

import pytest
import tomli_w

from voicecoach.cli.app import main
from voicecoach.errors import ExitStatus, InputError, RuntimeFailure
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


@pytest.mark.parametrize("args, line", [
    (("--sets", "0"), "--sets: must be between 1 and 20 (got 0)"),
    (("--reps", "0"), "--reps: must be between 1 and 200 (got 0)"),
    (("--tempo", "fast"), ("--tempo: tempo 'fast' does not parse: write eccentric-bottom-concentric-top, "
                           "e.g. '3-1-2-1', '3/1/2/1' or '3121' (X = explosive)")),
    (("--rest", "-1"), "--rest: must be between 5 and 1800 seconds (got -1)"),
    (("--voice", " "), "--voice: must not be empty (got ' ')"),
    (("--rate", "10"), "--rate: must be between 80 and 450 (got 10)"),
    (("--voice-volume", "100"), "--voice-volume: must be between -60 and 12 dB (got 100)"),
    (("--tick-volume", "-60.5"), "--tick-volume: must be between -60 and 12 dB (got -60.5)"),
    (("--music-volume", "13"), "--music-volume: must be between -60 and 12 dB (got 13)"),
    (("--tempo", "60-60-60-60", "--reps", "100"),
     "--reps: the session would last 20.1 hours; the limit is 4 hours (got 100)"),
])
def test_override_errors_name_the_option_typed(run, tmp_path, args, line):
    r = run("export", "-o", str(tmp_path / "out.wav"), *args)
    assert (r.code, r.err) == (2, f"voicecoach: error: {line}\n")
    assert not (tmp_path / "out.wav").exists()


def test_debug_shows_traceback(run):
    r = run("--debug", "timeline", "--reps", "0")
    assert r.code == 2 and "Traceback" in r.err


def test_unexpected_error_and_interrupt_have_their_exit_status(run, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("wires crossed")
    monkeypatch.setattr("voicecoach.cli.session_commands.resolve", broken)
    r = run("timeline")
    assert (r.code, r.err) == (ExitStatus.FAILURE, ("voicecoach: internal error: RuntimeError: "
                                                    "wires crossed (run with --debug for details)\n"))
    r = run("--debug", "timeline")
    assert r.code == 1 and "Traceback" in r.err and "internal error" not in r.err

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr("voicecoach.cli.session_commands.resolve", interrupted)
    r = run("timeline")
    assert (r.code, r.err) == (130, "voicecoach: interrupted\n")


def test_exit_statuses_are_the_promised_numbers():
    assert [int(s) for s in ExitStatus] == [0, 1, 2, 129, 130, 143]
    assert InputError.exit_code == ExitStatus.BAD_INPUT == 2
    assert RuntimeFailure.exit_code == ExitStatus.FAILURE == 1


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


def _preset_with_speech(tmp_path, **speech):
    path = tmp_path / "spoken.toml"
    path.write_text(tomli_w.dumps({"title": "T", "exercise": "e", "sets": 1, "reps": 2,
                                   "tempo": "2020", "speech": speech}))
    return path


def test_validate_rejects_an_unknown_voice_naming_the_closest(run, tmp_path):
    for speech in ({"voice": "en-gbb"}, {"voice": "en-gbb", "engine": "pyttsx3"}):
        path = _preset_with_speech(tmp_path, **speech)
        r = run("presets", "validate", str(path))
        assert r.code == 2, r
        assert f"{path}: speech.voice: unknown voice 'en-gbb'; closest: gmw/en " in r.err, r.err
        assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    path = _preset_with_speech(tmp_path, voice="en-gb")        # the README's example
    assert run("presets", "validate", str(path)).code == 0
    path = _preset_with_speech(tmp_path, engine="espeak")
    r = run("presets", "validate", str(path))
    assert r.code == 2 and "speech.engine: must be one of auto, piper, pyttsx3" in r.err


def test_play_export_and_timeline_reject_an_unknown_voice(run, tmp_path):
    for engine in ("pyttsx3", "auto"):
        for command in (("timeline",), ("export", "-o", str(tmp_path / "x.wav"))):
            r = run(*command, "--sets", "1", "--reps", "2", "--engine", engine, "--voice", "en-gbb")
            assert r.code == 2, (engine, command, r)
            assert "unknown voice 'en-gbb'; closest: gmw/en " in r.err and "Traceback" not in r.err
            assert len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "x.wav").exists()
    r = run("timeline", "--sets", "1", "--reps", "2", "--voice", "en-gb", "--json")
    assert r.code == 0, r.err


def test_an_engine_not_installed_is_one_line_exit_1(run, monkeypatch):
    from voicecoach.cues import engine_choice
    monkeypatch.setattr(engine_choice, "piper_installed", lambda: False)
    r = run("timeline", "--engine", "piper")
    assert r.code == 1 and "pip install 'voicecoach[neural]'" in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert run("timeline", "--sets", "1", "--reps", "2").code == 0      # auto falls back to espeak


def test_voices_lists_both_engines_and_what_auto_uses(run):
    from voicecoach.cues.piper_voices import find_piper_voices, piper_installed
    r = run("voices")
    assert r.code == 0, r.err
    rows = [line.split() for line in r.out.splitlines()]
    assert any(row[:2] == ["pyttsx3", "gmw/en-us"] for row in rows)
    if piper_installed() and find_piper_voices():
        assert r.out.startswith("auto: piper (neural), voice en_US-joe-medium")
        assert ["piper", "en_US-joe-medium", "joe", "en-us", "medium"] in rows
    else:
        assert r.out.startswith("auto: pyttsx3")


def test_export_is_tagged_as_played_with_a_chapter_per_set(run, tmp_path):
    import mutagen
    out = tmp_path / "sl.mp3"
    r = run("export", "single-leg", "--sets", "2", "--reps", "4", "--rest", "10", "-o", str(out))
    assert r.code == 0, r.err
    tags = mutagen.File(out).tags
    assert str(tags["TIT2"]) == "Single-leg raises \u2014 2 \u00d7 4"
    assert str(tags["TALB"]) == "Single-leg raises" and str(tags["TPE1"]) == "voicecoach"
    assert str(tags["TCON"]) == "Fitness" and "TRCK" not in tags
    titles = [str(f.sub_frames["TIT2"]) for f in sorted(tags.getall("CHAP"),
                                                          key=lambda c: c.start_time)]
    assert titles == ["Intro", "Warm-up", "Set 1 of 2", "Rest", "Set 2 of 2", "Outro"]   # sides inside
    assert r.out.endswith(f"{len(titles)} chapters\n")


def test_play_help_names_the_headset_controls(run):
    r = run("play", "--help")
    assert r.code == 0 and "--no-mpris" in r.out and "MPRIS" in r.out


THREADS_AFTER_NUMPY = """
import os, sys
from voicecoach.cli import app
import numpy
print(os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/task"), reason="needs /proc")
@pytest.mark.parametrize("given, want", [(None, "1"), ("2", "2")])
def test_the_command_keeps_numpy_to_one_blas_thread_unless_told(given, want):
    """numpy's BLAS threads spin on the other cores at import; no command needs them."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    out = subprocess.run([sys.executable, "-c", THREADS_AFTER_NUMPY], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == want
    if given is None:
        assert out[1] == "1"           # only the main thread
