"""Running the real CLI from a test: in-process with an injected
environment (:func:`run_in`, the ``run`` fixture), or as a child process
``python -m voicecoach`` with its own folders and a time limit
(:func:`voicecoach`, :func:`start_voicecoach`) for what only a real process
shows: signals, standard streams, exit statuses."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from voicecoach.cli.app import main
from voicecoach.cli.environment import Environment

TIMEOUT = 150       # seconds a child may take: a slow, busy 2-core machine synthesising speech
COMMAND = (sys.executable, "-m", "voicecoach")
# The shortest session worth exporting: one set of two one-second reps.
TINY_PRESET = """\
title = "Tiny"
exercise = "lift"
sets = 1
reps = 2
rest = 5
tempo = "1-0-1-0"
count = []
"""


class Run(NamedTuple):
    """What one in-process run gave (also ``code, out, err = ...``)."""

    code: int
    out: str
    err: str


def run_in(env: Environment, *args: str) -> Run:
    """Run the CLI in-process in ``env``, its output streams emptied first."""
    for stream in (env.stdout, env.stderr):
        stream.seek(0), stream.truncate()
    code = main(list(args), env=env)
    return Run(code, env.stdout.getvalue(), env.stderr.getvalue())


def private_env(root: Path, **extra: str) -> dict[str, str]:
    """This process's environment with the cue cache, the training log and
    the config under ``root``: a child never touches the user's."""
    return dict(os.environ, VOICECOACH_CACHE_DIR=str(root / "cache"),
                VOICECOACH_DATA_DIR=str(root / "data"),
                VOICECOACH_CONFIG_DIR=str(root / "config"), **extra)


def voicecoach(env: dict[str, str], *args: str | bytes, timeout: float = TIMEOUT,
               **kw) -> subprocess.CompletedProcess:
    """Run ``voicecoach *args`` to its end; stdout and stderr are kept as
    bytes unless ``kw`` sends them elsewhere (``stdout=file``)."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([*COMMAND, *args], env=env, timeout=timeout, **kw)


def start_voicecoach(env: dict[str, str], *args: str) -> subprocess.Popen:
    """Start ``voicecoach *args`` with stdout and stderr as pipes."""
    return subprocess.Popen([*COMMAND, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=hangup_by_default)


def hangup_by_default() -> None:
    """SIGHUP back to its default in a child a test hangs up on.

    Under ``nohup`` the suite and its children start with SIGHUP ignored,
    and voicecoach rightly keeps it so (the user asked to survive a
    hang-up); a test of what a hang-up does must not inherit that.
    """
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@contextlib.contextmanager
def hangup_handled() -> Iterator[None]:
    """:func:`hangup_by_default` for this process, for a test that signals itself."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)
