"""Signals during export, sent to a real process: SIGTERM and SIGHUP end it
like Ctrl-C (one line, 143/129, no part files); a SIGKILLed run's part file
is removed by the next export to the same folder."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from running import private_env, start_voicecoach, voicecoach

pytestmark = pytest.mark.timeout(300)

LONG_PRESET = """\
title = "Long"
exercise = "lift"
sets = 6
reps = 50
rest = 30
tempo = "3-1-2-1"
count = []
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("signals")
    preset = root / "long.toml"
    preset.write_text(LONG_PRESET)
    env = private_env(root)
    # Synthesise once, so each test's export starts writing at once.
    voicecoach(env, "timeline", str(preset), timeout=200, check=True)
    return env, preset


def parts(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".part-" in p.name]


def start_export(setup, out: Path) -> subprocess.Popen:
    env, preset = setup
    # 192 kHz stereo: eight times the samples, so the signal finds it still
    # writing even when this process was slow to look
    proc = start_voicecoach(env, "export", str(preset), "-o", str(out), "--stems",
                            "--samplerate", "192000", "--channels", "2")
    deadline = time.monotonic() + 120
    while not parts(out.parent):           # writing has begun
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"export ended before writing: {proc.communicate(timeout=30)}")
        time.sleep(0.02)
    return proc


@pytest.mark.parametrize("sig, code, name", [(signal.SIGTERM, 143, "SIGTERM"),
                                             (signal.SIGHUP, 129, "SIGHUP"),
                                             (signal.SIGINT, 130, None)])
def test_signals_leave_debris_term_and_hup_clean_up(setup, tmp_path, sig, code, name):
    out = tmp_path / "session.flac"
    proc = start_export(setup, out)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    line = f"voicecoach: stopped by {name}\n" if name else "voicecoach: interrupted\n"
    assert stderr.decode() == line and stdout == b""
    assert list(tmp_path.iterdir()) == []           # no target, no stems, no part files


def test_signals_leave_debris_sigkill_parts_removed_by_next_export(setup, tmp_path):
    env, _ = setup
    out = tmp_path / "session.wav"
    proc = start_export(setup, out)
    proc.kill()
    proc.wait(timeout=30)
    left = parts(tmp_path)
    assert left and all(f".part-{proc.pid}-" in p.name for p in left)
    tiny = tmp_path.parent / "tiny.toml"
    tiny.write_text(LONG_PRESET.replace("sets = 6", "sets = 1").replace("reps = 50", "reps = 1"))
    res = voicecoach(env, "export", str(tiny), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert parts(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["session.wav"]


CAUGHT_IN_A_STRING_EXEC = """\
from voicecoach.cli import app


def interrupted_in_a_string_exec(argv=None, env=None):
    # as when Ctrl-C lands while dataclasses or namedtuple exec the source
    # of the methods they build, and the command reports it
    try:
        exec("raise KeyboardInterrupt")
    except KeyboardInterrupt:
        return 130


app.main = interrupted_in_a_string_exec
app.run()
"""


def test_an_interrupt_caught_inside_a_string_exec_still_exits_130(tmp_path):
    """Under ``python -m``, CPython ends a process by SIGINT at exit once a
    KeyboardInterrupt has ended any string ``exec``, even one the program
    caught: a Ctrl-C that landed while a dataclass was being built gave -2,
    not the 130 the interrupted command reports."""
    (tmp_path / "interrupted_probe.py").write_text(CAUGHT_IN_A_STRING_EXEC)
    res = subprocess.run([sys.executable, "-m", "interrupted_probe"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 130, res


def test_ctrl_c_while_the_modules_load_is_an_interrupt_not_a_traceback(tmp_path):
    # -X importtime names each module as it finishes loading: at the first
    # of ours the command is still importing, far from its own handler
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "voicecoach", "timeline"],
                            env=private_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "voicecoach." in line:
            proc.send_signal(signal.SIGINT)
            break
    err = "".join(seen) + proc.stderr.read()
    assert proc.wait(timeout=60) == 130, err[-2000:]
    assert "voicecoach: interrupted\n" in err and "Traceback" not in err
