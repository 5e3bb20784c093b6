"""The edges of the outside world, on a real process: what sits at the paths
of the training log and our folders (a FIFO, a socket, a folder, a symbolic
link to nothing), signals while a command is held inside C, a reader of
standard output that leaves early, a closed standard output, and numbers
that are not numbers."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from running import COMMAND, TINY_PRESET, hangup_by_default, voicecoach

from voicecoach.training.records import SetResult, Workout
from voicecoach.training.store import History

pytestmark = pytest.mark.timeout(240)

TINY = TINY_PRESET + '[speech]\nengine = "pyttsx3"\n'

LONG = TINY.replace("sets = 1", "sets = 20").replace("reps = 2", "reps = 100")


def log_path(env: dict[str, str]) -> Path:
    return Path(env["VOICECOACH_DATA_DIR"]) / "history.db"


# ------------------------------------------------------------ what sits at the log's path

def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return "a FIFO"


def _socket(path: Path) -> str:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))        # stays bound while the test runs (closed with the process)
    _socket.keep = sock          # type: ignore[attr-defined]
    return "a socket"


def _folder(path: Path) -> str:
    path.mkdir()
    return "a directory"


@pytest.mark.parametrize("make", [_fifo, _socket, _folder], ids=["fifo", "socket", "folder"])
@pytest.mark.parametrize("args", [("history",), ("next",), ("log", "leg-lifts", "10", "9")],
                         ids=["history", "next", "log"])
def test_special_file_at_the_log_path_is_refused_at_once(proc_env, make, args):
    """A FIFO there used to hang every log command for ever (and no signal
    could end it): SQLite retries its open() after each signal."""
    path = log_path(proc_env)
    path.parent.mkdir(parents=True)
    kind = make(path)
    res = voicecoach(proc_env, *args, timeout=30)
    assert res.returncode == 2
    assert res.stderr.decode() == (f"voicecoach: error: the training log {path} is {kind}, "
                                   "not a regular file\n")
    assert res.stdout == b""


def test_fifo_beside_the_log_as_its_wal_is_refused(proc_env):
    path = log_path(proc_env)
    path.parent.mkdir(parents=True)
    History(path).close()
    os.mkfifo(path.with_name("history.db-wal"))
    res = voicecoach(proc_env, "history", timeout=30)
    assert (res.returncode, res.stderr.decode()) == (
        2, f"voicecoach: error: the training log {path}-wal is a FIFO, not a regular file\n")


@pytest.mark.parametrize("args", [("history",), ("log", "leg-lifts", "10", "9")],
                         ids=["history", "log"])
def test_dangling_symlink_at_the_log_path_is_refused_and_nothing_created(proc_env, tmp_path,
                                                                         args):
    path = log_path(proc_env)
    path.parent.mkdir(parents=True)
    target = tmp_path / "elsewhere" / "log.db"
    target.parent.mkdir()
    path.symlink_to(target)
    res = voicecoach(proc_env, *args, timeout=30)
    assert res.returncode == 2
    assert res.stderr.decode() == (f"voicecoach: error: the training log {path} is a symbolic "
                                   f"link to nothing ({target}): point it at a file or remove it\n")
    assert os.listdir(target.parent) == [] and path.is_symlink()


def test_symlink_to_a_real_log_is_followed(proc_env, tmp_path):
    """Dotfiles kept elsewhere and linked in stay supported."""
    real = tmp_path / "elsewhere.db"
    History(real).close()
    path = log_path(proc_env)
    path.parent.mkdir(parents=True)
    path.symlink_to(real)
    res = voicecoach(proc_env, "log", "leg-lifts", "10", "9", "8", timeout=60)
    assert res.returncode == 0, res.stderr
    with History(real) as h:
        assert [s.perfect for s in h.workouts()[0].sets] == [10, 9, 8]


@pytest.mark.parametrize("variable, what", [("VOICECOACH_CACHE_DIR", "cue cache"),
                                            ("VOICECOACH_CONFIG_DIR", "config"),
                                            ("VOICECOACH_DATA_DIR", "data")])
def test_fifo_where_a_folder_of_ours_goes_is_refused(proc_env, tmp_path, variable, what):
    fifo = tmp_path / "not-a-folder"
    os.mkfifo(fifo)
    res = voicecoach(dict(proc_env, **{variable: str(fifo)}), "presets", "list", timeout=60)
    assert (res.returncode, res.stderr.decode()) == (
        2, f"voicecoach: error: the {what} folder {fifo} is a FIFO, not a folder\n")


# ------------------------------------------------------------ signals while held inside C

def _holds_open(pid: int, name: str) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    with_links = []
    for fd in os.listdir(fds):
        try:
            with_links.append(os.readlink(fds / fd))
        except OSError:
            continue
    return any(link.endswith(name) for link in with_links)


@pytest.mark.parametrize("sig, code, line", [
    (signal.SIGTERM, 143, "voicecoach: stopped by SIGTERM"),
    (signal.SIGINT, 130, "voicecoach: interrupted"),
    (signal.SIGHUP, 129, "voicecoach: stopped by SIGHUP"),
], ids=["TERM", "INT", "HUP"])
def test_signal_ends_a_log_waiting_inside_sqlite_for_a_lock(proc_env, sig, code, line):
    """Another process holds the log's write lock: SQLite waits up to its
    busy timeout (10 s) inside C, where no Python handler runs. The signal
    still ends the command within a few seconds, with its status."""
    path = log_path(proc_env)
    path.parent.mkdir(parents=True)
    History(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        proc = subprocess.Popen([*COMMAND, "log", "leg-lifts", "10", "9", "8"], env=proc_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=hangup_by_default)  # noqa: PLW1509 (as running.py)
        deadline = time.monotonic() + 60
        while not _holds_open(proc.pid, "history.db"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        time.sleep(0.5)                            # well inside the wait for the lock
        assert proc.poll() is None
        proc.send_signal(sig)
        start = time.monotonic()
        try:
            _, err = proc.communicate(timeout=7)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"{sig.name} did not end the command")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert time.monotonic() - start < 7
    assert (proc.returncode, err.decode()) == (code, line + "\n")
    with History(path) as h:
        assert h.workouts() == []                  # nothing half-written


# ------------------------------------------------------------ a reader that leaves

def _reader_leaves(env: dict[str, str], args: tuple[str, ...], read: int) -> tuple[int, bytes]:
    """Run the command into a real pipe whose reader takes ``read`` bytes
    (none: it was gone before the command started) and closes its end."""
    # Not unbuffered: Python's unbuffered stdout drops what a partial write
    # (the reader leaving in the middle) did not take, and goes on as if written.
    env = {k: v for k, v in env.items() if k != "PYTHONUNBUFFERED"}
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([*COMMAND, *args], env=env, stdout=write_end,
                            stderr=subprocess.PIPE)
    os.close(write_end)
    if read:
        got = b""
        while len(got) < read:
            chunk = os.read(read_end, read - len(got))
            assert chunk, "the command ended before writing enough"
            got += chunk
    os.close(read_end)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_reader_leaving_a_long_timeline_ends_it_quietly(proc_env, tmp_path):
    preset = tmp_path / "long.toml"
    preset.write_text(LONG)
    full = voicecoach(proc_env, "timeline", str(preset), check=True, timeout=200).stdout
    assert len(full) > 3 * 65536                 # more than the pipe holds: the writer meets EPIPE
    assert _reader_leaves(proc_env, ("timeline", str(preset)), 1000) == (141, b"")


def test_reader_leaving_a_long_history_ends_it_quietly(proc_env):
    path = log_path(proc_env)
    path.parent.mkdir(parents=True)
    first = datetime(2016, 1, 1, 18, 0, tzinfo=UTC)
    with History(path) as h:
        for day in range(3000):
            h.add(Workout(id=None, preset="leg-lifts", exercise="leg lift",
                          variation="straight-leg", tempo="3-1-2-1", eccentric=3.0,
                          started=first + timedelta(days=day), completed=True, stopped_set=None,
                          stopped_rep=None, planned_sets=3, planned_reps=10,
                          sets=tuple(SetResult(n, 10, 9) for n in (1, 2, 3))))
    assert _reader_leaves(proc_env, ("history", "--json"), 1000) == (141, b"")
    assert _reader_leaves(proc_env, ("history",), 1000) == (141, b"")


@pytest.mark.parametrize("args", [("voices",), ("presets", "list"), ("presets", "show", "leg-lifts"),
                                  ("timeline", "leg-lifts")])
def test_reader_gone_before_the_first_line_ends_quietly(proc_env, args):
    """As ``voicecoach ARGS | true``: no message, 141 as a pipe's writer ends."""
    assert _reader_leaves(proc_env, args, 0) == (141, b"")


# ------------------------------------------------------------ a closed standard output

@pytest.mark.parametrize("warm", [False, True], ids=["cold-cache", "warm-cache"])
def test_closed_stdout_is_refused_before_anything_opens(proc_env, tmp_path, warm):
    """Unrefused, the WAV went into whatever file took descriptor 1 next: a
    speech worker's socket on a cold cache ("wrote standard output", 0)."""
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY)
    if warm:
        voicecoach(proc_env, "timeline", str(preset), check=True)
    res = subprocess.run([*COMMAND, "export", str(preset), "-o", "-", "--format", "wav"],
                         env=proc_env, stderr=subprocess.PIPE, timeout=150, check=False,
                         preexec_fn=lambda: os.close(1))
    assert (res.returncode, res.stderr.decode()) == (
        2, ("voicecoach: error: standard output is closed; give the command somewhere to "
            "write (e.g. >/dev/null)\n"))
    cache = Path(proc_env["VOICECOACH_CACHE_DIR"])
    assert warm or not cache.exists() or not any(cache.rglob("*.cue"))   # refused before speaking


# ------------------------------------------------------------ numbers that are not numbers

@pytest.mark.parametrize("option", ["--loudness", "--rest", "--voice-volume", "--tick-volume",
                                    "--music-volume"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_float_options_refuse_nan_and_inf_as_usage_errors(run, tmp_path, option, value):
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY)
    res = run("export", str(preset), "-o", str(tmp_path / "x.wav"), f"{option}={value}")
    assert res.code == 2, res.err
    assert res.err.startswith("voicecoach: error: ") and option in res.err
    assert len(res.err.splitlines()) == 1 and not (tmp_path / "x.wav").exists()


def test_closed_stderr_keeps_errors_off_standard_output(proc_env, tmp_path):
    """Python leaves sys.stderr None for a closed descriptor 2, and click
    then wrote the error line into standard output, among the data."""
    res = subprocess.run([*COMMAND, "presets", "validate", str(tmp_path / "none.toml")],
                         env=proc_env, stdout=subprocess.PIPE, timeout=60, check=False,
                         preexec_fn=lambda: os.close(2))
    assert (res.returncode, res.stdout) == (2, b"")


LAUNCHER = Path(sys.executable).with_name("voicecoach")


def test_the_launcher_holds_ctrl_c_until_main_can_take_it():
    """pip's console script leaves a Ctrl-C in Python's own start-up fatal;
    the set-up writes one that starts Python with SIGINT blocked."""
    first = LAUNCHER.read_text().splitlines()[0]
    assert first.startswith("#!/usr/bin/env -S --block-signal=INT ")
    assert Path(first.split()[-1]).samefile(sys.executable)


def test_ctrl_c_in_the_first_milliseconds_ends_the_run_cleanly(proc_env):
    """A press while Python is still starting (``site``, the editable
    install's finder) was "Fatal Python error: init_import_site" or a
    traceback; now it waits for ``main`` and ends as any interrupt does."""
    signalled = []
    for step in range(24):
        proc = subprocess.Popen([LAUNCHER, "timeline", "--sets", "1"], env=proc_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(step * 0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            signalled.append(proc)
        else:
            proc.stderr.close()
        proc.wait(timeout=60)
    assert len(signalled) >= 8
    for proc in signalled:
        with proc.stderr:
            err = proc.stderr.read().decode()
        assert (proc.returncode, "Fatal" in err, "Traceback" in err) in ((130, False, False), (-2, False, False)), err


def test_console_script_imports_only_our_two_small_modules_before_main():
    """A Ctrl-C lands outside any handler of ours until ``main`` runs: what
    the console script imports first (the package and its ``__main__``) must
    load nothing else, or a Ctrl-C there is a traceback (``importlib`` in
    the package's top once brought ``warnings`` and more)."""
    root = str(Path(__file__).resolve().parents[2])
    code = (f"import sys; before = set(sys.modules); sys.path.insert(0, {root!r}); "
            "import voicecoach.__main__; print(sorted(set(sys.modules) - before))")
    res = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert res.stdout == "['voicecoach', 'voicecoach.__main__']\n"


@pytest.mark.parametrize(("rest", "said"), [("time.sleep(0.5)", ""), ("pass", "went on\n")],
                         ids=["sent-again", "at-the-end"])
def test_an_interrupt_swallowed_in_a_weakref_callback_still_ends_the_run(rest, said):
    """A Ctrl-C whose handler ran inside a callback (importlib's module locks
    have one) was "Exception ignored" with a traceback, and the run went on
    to exit 0; it is sent again, or raised as the block ends."""
    script = textwrap.dedent("""
        import os, signal, time, weakref
        from voicecoach.cli.signals import signals_as_interrupts
        class Thing: pass
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                with signals_as_interrupts():
                    def callback(ref, sig=sig):
                        os.kill(os.getpid(), sig)
                        for _ in range(100): pass
                    thing = Thing(); ref = weakref.ref(thing, callback); del thing
                    REST
                    print("went on")
            except KeyboardInterrupt as exc:
                print("ended by", type(exc).__name__)
    """).replace("REST", rest)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert (res.stdout, res.stderr) == (f"{said}ended by KeyboardInterrupt\n{said}ended by Signalled\n", "")
