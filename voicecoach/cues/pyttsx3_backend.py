"""The pyttsx3 engine inside the worker process: the only code that touches pyttsx3.

In a worker *process*: pyttsx3 is not thread-safe, keeps process-global state and can loop forever
when a write fails (docs/pitfalls.md).

A fresh engine per phrase on espeak: espeak-ng's output depends on what the same process said
before, and only a new engine resets it. The worker holds no espeak state (modules imported, engine
never initialised) and forks a child per request, which initialises espeak, speaks one phrase and
exits: bit-identical whatever came before.

``runAndWait()`` may return while espeak still synthesises on its own thread, so the child waits for
``finished-utterance``; pyttsx3's espeak ``stop()`` randomly cancels the next utterance, so it is
disabled (:meth:`_Speaker._disarm_stop`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from voicecoach.cues.identity import _default_driver
from voicecoach.cues.worker import RUNNING, EngineMissing, EngineTimeout, PatientClock


class _Speaker:
    """The worker's single pyttsx3 engine and the settings last applied to it."""

    def __init__(self) -> None:
        self._espeak = _check_available()  # None: another driver than espeak
        import pyttsx3

        self.engine = pyttsx3.init()
        if self._espeak is not None:
            self._disarm_stop()
        self.errors: list[BaseException] = []
        self.finished = threading.Event()
        self.completed = False
        self.engine.connect("error", self._on_error)
        self.engine.connect("finished-utterance", self._on_finished)
        self.default_voice = self.engine.getProperty("voice")
        self.default_rate = self._current_rate()
        self.voice: object = self.default_voice
        self.rate: int | None = self.default_rate

    def _disarm_stop(self) -> None:
        """Keep pyttsx3's espeak driver from cancelling our next utterance.

        Every ``runAndWait()`` ends through ``driver.stop()``, which cancels whenever ``espeak_IsPlaying()``;
        espeak-ng reports "playing" for a moment after each utterance, so at random the *next* utterance was
        cancelled and its rate reverted. We never stop mid-utterance.
        """
        driver = getattr(getattr(self.engine, "proxy", None), "_driver", None)
        if driver is None or not hasattr(driver, "stop"):
            print("voicecoach: pyttsx3 internals changed; espeak stop() left armed", file=sys.stderr)
            return
        driver.stop = lambda: None

    def _on_error(self, name: object = None, exception: BaseException | None = None) -> None:
        self.errors.append(exception or RuntimeError("pyttsx3 reported an unnamed error"))

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        self.completed = bool(completed)
        self.finished.set()

    def _current_rate(self) -> int:
        if self._espeak is not None:
            # pyttsx3's getProperty('rate') calls espeak_GetParameter(RATE) without
            # its second argument (current=1) and reads garbage: ask the library.
            return int(self._espeak.dll.espeak_GetParameter(self._espeak.RATE, 1))
        return int(self.engine.getProperty("rate"))

    def _raise_errors(self) -> None:
        if self.errors:  # cleared when the next phrase starts
            raise self.errors[0]

    def _set(self, name: str, value: object) -> None:
        # Only on change: fewer property writes between back-to-back saves.
        if getattr(self, name) != value:
            self.engine.setProperty(name, value)
            setattr(self, name, value)

    def synth(self, text: str, voice: str | None, rate: int | None, path: str) -> None:
        self.errors.clear()
        try:
            self._set("voice", self.default_voice if voice is None else voice)
            self._set("rate", self.default_rate if rate is None else rate)
            self.finished.clear()
            self.engine.save_to_file(text, path)  # one save per runAndWait (docs/pitfalls.md)
            self.engine.runAndWait()
            self._raise_errors()
            # the file is complete at 'finished-utterance' (never, after a failed write: then we are killed)
            self.finished.wait()
            self._raise_errors()
        except Exception:
            self.voice = self.rate = None  # unknown now: apply both next time
            raise
        if not self.completed:
            raise RuntimeError("synthesis was interrupted")

    def voices(self) -> list[tuple[str, str, tuple[str, ...]]]:
        def text(lang: object) -> str:
            return lang.decode("utf-8", "replace") if isinstance(lang, bytes) else str(lang)

        return [
            (str(v.id), str(v.name), tuple(map(text, v.languages or ()))) for v in self.engine.getProperty("voices")
        ]


def _check_available() -> Any:
    """Import pyttsx3 and the espeak library (returned, None on another driver) without starting an engine."""
    try:
        import pyttsx3
    except ImportError as exc:
        raise EngineMissing(f"pyttsx3 is not installed ({exc}); pip install pyttsx3") from exc
    if _default_driver() != "espeak":
        return None
    try:
        from pyttsx3.drivers import _espeak
    except (RuntimeError, OSError) as exc:  # no libespeak(-ng) could be loaded
        hint = "install espeak-ng (Debian/Ubuntu: apt-get install espeak-ng)"
        raise EngineMissing(f"the espeak-ng library was not found ({exc}); {hint}") from exc
    # imported once here rather than in every forked child
    import pyttsx3.driver
    import pyttsx3.drivers.espeak  # noqa: F401

    return _espeak


def _read_pcm(path: str):
    import numpy as np
    import soundfile as sf

    data, samplerate = sf.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), int(samplerate)  # mono: channels averaged


def _die_with_parent(parent: int, timeout: float) -> None:
    """No orphaned espeak: the kernel kills this child when the worker dies (Linux; the worker's clock ends a hung
    one), or elsewhere when ``timeout`` (plus a margin) has passed -- a write into a removed folder would
    otherwise hang it for ever."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    else:
        signal.alarm(int(timeout) + 5)
    if os.getppid() != parent:  # the worker died before prctl took effect
        os._exit(1)


def _in_child(task, timeout: float):
    """Run ``task()`` in a forked child and return its result (pickled through a pipe).

    The child exits after the task, so no engine state survives it. After ``timeout`` seconds of its own
    (:class:`PatientClock`: time spent waiting for a busy CPU does not count) the child is killed and
    :class:`EngineTimeout` raised.
    """
    r, w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        RUNNING.add(pid)
    if pid == 0:  # the child: never returns
        os.close(r)
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the worker's tidy-up is not ours
            _die_with_parent(parent, timeout)
            reply = ("ok", task())
        except BaseException as exc:
            traceback.print_exc()
            reply = ("error", f"{type(exc).__name__}: {exc}")
        with os.fdopen(w, "wb") as out:
            pickle.dump(reply, out)
        os._exit(0)
    os.close(w)
    chunks: list[bytes] = []
    clock = PatientClock(pid)
    try:
        while True:
            if not select.select([r], [], [], min(timeout, 0.5))[0]:  # quiet: time it
                if clock.elapsed() >= timeout:
                    os.kill(pid, signal.SIGKILL)
                    raise EngineTimeout(f"did not answer within {timeout:g} s of its own time")
                continue
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
        RUNNING.discard(pid)
    if not chunks:
        raise RuntimeError("the synthesis process died without an answer")
    status, payload = pickle.loads(b"".join(chunks))
    if status != "ok":
        raise RuntimeError(payload)
    return payload


class Pyttsx3Backend:
    """pyttsx3 for the worker: a fresh engine per phrase on espeak (forked), one engine elsewhere."""

    def __init__(self) -> None:
        _check_available()
        import numpy  # noqa: F401  (imported once here, not in every child)
        import soundfile  # noqa: F401

        fork = _default_driver() == "espeak" and hasattr(os, "fork")
        self._speaker = None if fork else _Speaker()

    def _run(self, task: Callable[[_Speaker], Any], timeout: float) -> Any:
        """``task`` of the one speaker, or of a fresh one in a forked child."""
        if self._speaker is not None:
            return task(self._speaker)
        return _in_child(lambda: task(_Speaker()), timeout)

    def voices(self, timeout: float) -> list[tuple[str, str, tuple[str, ...]]]:
        return self._run(_Speaker.voices, timeout)

    def synth(self, text: str, params: dict, path: str, timeout: float) -> Any:
        def speak(speaker: _Speaker) -> Any:
            speaker.synth(text, params.get("voice"), params.get("rate"), path)
            return _read_pcm(path)

        try:
            return self._run(speak, timeout)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
