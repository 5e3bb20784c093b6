"""The speech worker process: the only code that touches pyttsx3.

Why a worker *process*: pyttsx3 is not thread-safe, keeps process-global
state (one espeak callback, one engine per process) and can loop forever
when a write fails (see docs/pitfalls.md). A process can be
killed and replaced; a thread cannot. pyttsx3 is imported only here, and
only inside the worker (in :class:`_Speaker`), so ``import voicecoach.cues``
works without it. The parent side is :mod:`voicecoach.cues.engine`, which
starts :func:`_worker_main` in a spawned process.

Measured on espeak-ng 1.51 (pyttsx3 2.99, Debian 12): ``runAndWait()``
returns after ~10 ms while espeak may still be synthesising on its own
thread, so the worker waits for the ``finished-utterance`` notification, not
for ``runAndWait()``. pyttsx3's espeak ``stop()`` (run by every
``runAndWait``) randomly cancels the next utterance and reverts rate
changes; the worker disables it (see :meth:`_Speaker._disarm_stop`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback

from voicecoach.cues.identity import _default_driver, _install_hint


class _EngineMissing(Exception):
    """Raised in the worker when pyttsx3 or its system library is absent."""


class _Speaker:
    """The worker's single pyttsx3 engine and the settings last applied to it."""

    def __init__(self) -> None:
        try:
            import pyttsx3
        except ImportError as exc:
            raise _EngineMissing(f"pyttsx3 is not installed ({exc}); pip install pyttsx3") from exc
        self.driver = _default_driver()
        self.library_version = ""
        if self.driver == "espeak":
            try:
                from pyttsx3.drivers import _espeak
            except (RuntimeError, OSError) as exc:  # no libespeak(-ng) could be loaded
                raise _EngineMissing(
                    f"the espeak-ng library was not found ({exc}); {_install_hint()}") from exc
            self._espeak = _espeak
            self.library_version = (_espeak.Info() or b"").decode("utf-8", "replace")
        self.engine = pyttsx3.init()
        if self.driver == "espeak":
            self._disarm_stop()
        self.errors: list[BaseException] = []
        self.finished = threading.Event()
        self.completed = False
        self.engine.connect("error", self._on_error)
        self.engine.connect("finished-utterance", self._on_finished)
        self.default_voice = self.engine.getProperty("voice")
        self.default_rate = self._current_rate()
        self.voice = self.default_voice
        self.rate = self.default_rate

    def _disarm_stop(self) -> None:
        """Keep pyttsx3's espeak driver from cancelling our next utterance.

        Every ``runAndWait()`` ends its loop through ``driver.stop()``, which
        calls ``espeak_Cancel()`` and sets a ``_stopping`` flag whenever
        ``espeak_IsPlaying()``. espeak-ng's fifo thread reports "playing" for
        a moment ~100 ms after each utterance (closing its stream), so at
        random the flag survives and the *next* utterance is cancelled
        ("interrupted" in 4-6 of 30 cold runs here), and ``Cancel()`` also resets rate
        and volume to the last synthesis's values ("rate change ignored" in
        docs/pitfalls.md). We never stop mid-utterance, so stop() has nothing to do.
        """
        driver = getattr(getattr(self.engine, "proxy", None), "_driver", None)
        if driver is None or not hasattr(driver, "stop"):
            print("voicecoach: pyttsx3 internals changed; espeak stop() left armed",
                  file=sys.stderr)
            return
        driver.stop = _no_stop

    def _on_error(self, name: object = None, exception: BaseException | None = None) -> None:
        self.errors.append(exception or RuntimeError("pyttsx3 reported an unnamed error"))

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        self.completed = bool(completed)
        self.finished.set()

    def _current_rate(self) -> int:
        if self.driver == "espeak":
            # pyttsx3 calls espeak_GetParameter(RATE) without its second
            # argument (current=1), which makes getProperty('rate') read a
            # garbage flag: ask the library properly.
            return int(self._espeak.dll.espeak_GetParameter(self._espeak.RATE, 1))
        return int(self.engine.getProperty("rate"))

    def _raise_errors(self) -> None:
        if self.errors:
            exc = self.errors[0]
            self.errors.clear()
            raise exc

    def _set(self, name: str, value: object) -> None:
        # Only on change: fewer property writes between back-to-back saves.
        if getattr(self, name) != value:
            self.engine.setProperty(name, value)
            setattr(self, name, value)

    def info(self) -> dict:
        return {"driver": self.driver, "library": self.library_version,
                "voice": self.default_voice, "rate": self.default_rate}

    def synth(self, text: str, voice: str | None, rate: int | None, path: str) -> str:
        self.errors.clear()
        try:
            self._set("voice", self.default_voice if voice is None else voice)
            self._set("rate", self.default_rate if rate is None else rate)
            self.finished.clear()
            self.engine.save_to_file(text, path)   # one save per runAndWait (docs/pitfalls.md)
            self.engine.runAndWait()
            self._raise_errors()
            # runAndWait() can return while espeak still synthesises on its
            # own thread; the file is complete when 'finished-utterance'
            # fires. If it never fires (a failed write), the parent kills us.
            self.finished.wait()
            self._raise_errors()
        except Exception:
            self.voice = self.rate = None   # unknown now: apply both next time
            raise
        if not self.completed:
            raise RuntimeError("synthesis was interrupted")
        return path

    def voices(self) -> list[tuple[str, str, tuple[str, ...]]]:
        out = []
        for v in self.engine.getProperty("voices"):
            langs = tuple(
                lang.decode("utf-8", "replace") if isinstance(lang, bytes) else str(lang)
                for lang in (v.languages or ()))
            out.append((str(v.id), str(v.name), langs))
        return out


def _no_stop() -> None:
    """Replacement for the espeak driver's stop(): see _Speaker._disarm_stop."""


def _worker_main(conn, log_path: str) -> None:
    """Entry point of the worker process: serve requests until EOF or 'stop'.

    Replies are ``("ok", result)``, ``("error", message)`` or, at start-up
    only, ``("ready", info)`` / ``("missing", message)``.
    """
    # Ctrl-C reaches the whole process group: let the parent decide.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # pyttsx3 prints 'Audio saved to ...' on stdout: fd 1 -> /dev/null.
    # stderr (Python tracebacks, espeak warnings) goes to a log the parent
    # quotes in its error messages, not onto the user's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 2)
    try:
        session = _Speaker()
    except _EngineMissing as exc:
        conn.send(("missing", str(exc)))
        os._exit(0)
    except Exception as exc:  # whatever pyttsx3/espeak raise at init goes to the parent
        traceback.print_exc()
        conn.send(("error", f"could not start pyttsx3: {type(exc).__name__}: {exc}"))
        os._exit(0)
    conn.send(("ready", session.info()))
    while True:
        try:
            message = conn.recv()
        except EOFError:   # the parent went away
            break
        kind, args = message[0], message[1:]
        if kind == "stop":
            break
        try:
            if kind == "synth":
                result = session.synth(*args)
            elif kind == "voices":
                result = session.voices()
            else:
                raise ValueError(f"unknown request {kind!r}")
        except Exception as exc:  # reported to the parent, which raises SpeechEngineError
            traceback.print_exc()
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        else:
            conn.send(("ok", result))
    # Skip interpreter teardown: espeak asserts when torn down from Python.
    os._exit(0)
