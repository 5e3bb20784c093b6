"""The speech worker process: serves one engine's requests, owns its temp folder.

Started by :mod:`.engine` (spawned, never forked); the engine itself is a backend,
:mod:`.pyttsx3_backend` or :mod:`.piper_backend`, imported only here, inside the worker. The
backends share with it their errors (each a reply kind), their children (killed before the folder
goes) and the clock that times a request out.

The ``voicecoach-tts-*`` folder is removed on every way out: a ``stop`` request, the parent closing
the pipe, SIGTERM, and the parent dying by any signal, SIGKILL included -- a thread holds a second
pipe whose other end only the parent has, and at its EOF removes the folder and ends the worker,
even mid-synthesis. When the parent kills the worker (a timeout), the parent removes it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import threading
import time
import traceback
from typing import TYPE_CHECKING

from voicecoach.cues.identity import _default_driver

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


class EngineMissing(Exception):
    """The engine's package or system library is absent: reply ``missing``."""


class EngineTimeout(Exception):
    """A request ran past its timeout and was abandoned: reply ``timeout``."""


RUNNING: set[int] = set()
"""Process ids of the children speaking right now (pyttsx3's fresh engine per phrase)."""


def _schedstat(root: int) -> dict[int, tuple[int, int]]:
    """Nanoseconds each thread of process ``root`` and of its children, and
    the calling thread, has run on a CPU and waited for one, by thread id
    (Linux; empty elsewhere)."""
    pids = [root]
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return {}
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                if int(f.read().rsplit(b")", 1)[1].split()[1]) == root:
                    pids.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    threads = [(os.getpid(), threading.get_native_id())]  # the one waiting for an answer
    for pid in pids:
        try:
            threads += [(pid, int(tid)) for tid in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
    out: dict[int, tuple[int, int]] = {}
    for pid, tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                ran, waited = f.read().split()[:2]
            out[tid] = (int(ran), int(waited))
        except (OSError, ValueError):
            continue
    return out


class PatientClock:
    """Seconds that count against an engine's timeout: the wall clock less
    the time the engine's process, its children and the thread waiting for
    them waited for a CPU, and never less than the CPU time they used. A busy machine stretches a
    request instead of failing it; a hung engine (pyttsx3 sleeping in its
    loop after a failed write, or spinning) runs out of time as before."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = time.monotonic()
        self.base = _schedstat(pid)
        self.seen = dict(self.base)  # threads that ended keep what they ran and waited

    def elapsed(self) -> float:
        self.seen.update(_schedstat(self.pid))
        ran = waited = 0
        for tid, (r, w) in self.seen.items():
            r0, w0 = self.base.get(tid, (0, 0))
            ran, waited = ran + r - r0, waited + w - w0
        return max(time.monotonic() - self.start - waited / 1e9, ran / 1e9)


def _backend(kind: str):
    if kind == "piper":
        from voicecoach.cues.piper_backend import PiperBackend

        return PiperBackend()
    from voicecoach.cues.pyttsx3_backend import Pyttsx3Backend

    return Pyttsx3Backend()


def _leave(directory: str) -> None:
    """Stop whatever speaks, remove the folder, exit without interpreter teardown (espeak asserts when torn down
    from Python). Runs from a signal handler or the lifeline thread: it imports nothing (the main thread may
    hold the import lock)."""
    for pid in list(RUNNING):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(directory, ignore_errors=True)
    os._exit(0)


def _watch(lifeline: Connection, directory: str) -> None:
    """Leave when the parent is gone: the parent never sends, so ``recv`` returns only at EOF."""
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv()
    _leave(directory)


def _worker_main(conn, lifeline, kind: str, directory: str, log_path: str) -> None:
    """Entry point of the worker process: serve requests until EOF or 'stop'.

    A ``load`` message (Piper: the voice to load before the first phrase) gets no reply. Replies are
    ``("ok", result)``, ``("error", message)``, ``("timeout", message)`` or, at start-up only,
    ``("ready", None)`` / ``("missing", message)``.
    """
    # Ctrl-C reaches the whole process group: let the parent decide.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM (multiprocessing ends daemon workers so at the parent's exit): tidy up first
    signal.signal(signal.SIGTERM, lambda signum, frame: _leave(directory))
    try:
        os.mkdir(directory, 0o700)  # named by the parent, made here: see engine._Worker
    except OSError as exc:
        conn.send(("error", f"could not make the speech temp folder {directory}: {exc}"))
        os._exit(0)
    # after mkdir: a parent already gone still gets it removed
    threading.Thread(target=_watch, args=(lifeline, directory), name="voicecoach-tts-lifeline", daemon=True).start()
    # pyttsx3 prints 'Audio saved to ...' on stdout: fd 1 -> /dev/null. stderr (tracebacks,
    # engine warnings) goes to a log the parent quotes in its errors, not to the user's terminal.
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.dup2(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), 2)
    try:
        backend = _backend(kind)
    except EngineMissing as exc:
        conn.send(("missing", str(exc)))
        _leave(directory)
    except Exception as exc:  # whatever the engine raises at init goes to the parent
        traceback.print_exc()
        conn.send(("error", f"could not start {kind}: {type(exc).__name__}: {exc}"))
        _leave(directory)
    conn.send(("ready", None))
    serial = itertools.count(1)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent went away
            break
        kind_, args = message[0], message[1:]
        if kind_ == "stop":
            break
        if kind_ == "load":  # a hint, not a request: no reply; a failure shows again at the first phrase
            with contextlib.suppress(Exception):
                backend.load(*args)
            continue
        try:
            if kind_ == "synth":
                text, params, path, timeout = args
                ext = ".aiff" if _default_driver() == "nsss" else ".wav"  # NSSS writes AIFF
                path = path or os.path.join(directory, f"cue-{next(serial)}{ext}")
                result = backend.synth(text, params, path, timeout)
            else:  # "voices"
                result = backend.voices(*args)
        except EngineTimeout as exc:
            conn.send(("timeout", str(exc)))
        except Exception as exc:  # reported to the parent, which raises SpeechEngineError
            traceback.print_exc()
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        else:
            conn.send(("ok", result))
    _leave(directory)
