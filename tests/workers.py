"""What the xdist workers of one run share: a folder of the run (each worker's
temporary folder sits in it) and a lock that lets one worker at a time make a
module's set-up, so the second finds the run's cue cache warm."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


def run_wide_folder(tmp_path_factory, name: str) -> Path:
    """A folder of this run that every worker shares (a single process has only its own)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / name
    folder.mkdir(exist_ok=True)
    return folder


@contextlib.contextmanager
def one_worker_at_a_time(tmp_path_factory, name: str) -> Iterator[None]:
    """Held by one worker of this run at a time: a module-scoped export that
    both workers make (each runs some of the module's tests) is synthesised
    and measured by the first; the second waits, then finds it all cached."""
    with open(run_wide_folder(tmp_path_factory, "locks") / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
