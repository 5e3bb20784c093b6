"""``voicecoach play`` in-process: an environment playing through a fake
device (:func:`playing`) and a scripted key source (:class:`Keys`)."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable
from dataclasses import replace

from voicecoach.cli.environment import Environment


def playing(env: Environment, audio, keys: Keys | None = None, answers: str | None = None,
            **changes) -> Environment:
    """``env`` playing through the fake device ``audio``, on its clock,
    reading ``keys`` (none pressed if None); ``answers`` makes it a person
    at a terminal typing them; ``changes`` replace any other field."""
    env = replace(env, audio_backend=lambda: audio, clock=audio.clock, sleep=audio.sleep,
                  keys=keys or Keys(), **changes)
    if answers is not None:
        env = replace(env, stdin=io.StringIO(answers), stdin_isatty=True, stderr_isatty=True)
    return env


class Keys:
    """The key source: ``Keys(p120=" ", p170=ctrl_c)`` reads a space at poll
    120 and runs ``ctrl_c`` at poll 170 (a callable key is an action; what
    it returns is the key read). Polls count from 0 at each opening; the
    fake device takes ``per_sleep`` blocks between two polls, so poll ``k``
    is heard from frame ``k * per_sleep * block``.
    """

    def __init__(self, **at: str | Callable[[], str | None]):
        self.at = {int(k[1:]): v for k, v in at.items()}
        self.polls = 0
        self.opened: list[bool] = []     # the `enabled` flag of each opening
        self.closed = 0

    def __call__(self, stream, enabled: bool) -> Keys:
        self.opened.append(enabled)
        self.polls = 0
        return self

    def __enter__(self) -> Keys:
        return self

    def __exit__(self, *exc) -> None:
        self.closed += 1

    def poll(self) -> str | None:
        key = self.at.get(self.polls)
        self.polls += 1
        return key() if callable(key) else key


def ctrl_c() -> None:
    raise KeyboardInterrupt


def signal_self(sig: signal.Signals) -> Callable[[], None]:
    """An action sending ``sig`` to this process: handled at once, on the
    main thread, where the player polls its keys."""
    def send() -> None:
        os.kill(os.getpid(), sig)
    return send
