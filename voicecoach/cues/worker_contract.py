"""What the worker and its engine backends share: the errors a backend raises
(the worker turns each into a reply kind) and the children a backend runs
(the worker kills them before it removes its folder), and the clock that
times a request out.

No imports of ours and no lazy imports at use: :func:`voicecoach.cues.worker._leave`
runs from a signal handler or a thread while the main thread may hold the import lock.
"""

from __future__ import annotations

import os
import threading
import time


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
