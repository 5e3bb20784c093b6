"""The parent side of speech synthesis: :class:`SpeechEngine`.

Starts the worker (:mod:`voicecoach.cues.worker`, the only code that touches
pyttsx3) in a spawned process, sends it requests with a timeout, kills and
replaces it when it hangs or dies, and reads the WAV it wrote.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import re
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.common.numbers import is_real
from voicecoach.cues.identity import _default_driver, engine_identity
from voicecoach.cues.settings import SpeechSettings, Voice, check_text
from voicecoach.cues.worker import _worker_main
from voicecoach.errors import InputError, SpeechEngineError

if TYPE_CHECKING:
    import numpy as np

_log = logging.getLogger(__name__)

ENGINE_TIMEOUT_S: float = 10.0
"""Longest one request (a synthesis, the voice list) may take before the worker is killed."""

ENGINE_START_TIMEOUT_S: float = 30.0
"""Longest the worker may take to start (a Python interpreter plus imports on a busy machine)."""

_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(:|$)")


def _log_excerpt(path: str, since: int, limit: int = 300) -> str:
    """What the worker wrote to its log since byte ``since``, in one line.

    The first exception line (``RuntimeError: ...``) if there is one: the
    root cause comes first, follow-on errors after it. Else the last line.
    """
    try:
        with open(path, "rb") as f:
            f.seek(since)
            text = f.read(64 * 1024).decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    found = next((line for line in lines if _EXC_LINE.match(line)), lines[-1])
    return found[:limit]


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


class _Worker:
    """One worker process, its pipe and its log."""

    def __init__(self, directory: str, serial: int, start_timeout: float):
        import multiprocessing  # here, not at import: a warm cache never starts the engine
        ctx = multiprocessing.get_context("spawn")  # never fork a process that may hold audio threads
        self.log_path = os.path.join(directory, f"worker-{serial}.log")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, self.log_path),
                                   name="voicecoach-tts", daemon=True)
        try:
            self.process.start()
        except OSError as exc:   # out of processes or memory
            self.conn.close()
            raise SpeechEngineError(f"could not start the speech engine process: {exc}") from exc
        finally:
            child.close()
        self.info: dict = {}
        status, payload = self._receive(start_timeout, "starting", 0)
        if status == "ready":
            self.info = payload
            return
        self.kill()
        if status == "missing":
            raise SpeechEngineError(f"speech engine unavailable: {payload}")
        raise SpeechEngineError(f"speech engine failed to start: {payload}")

    def _receive(self, timeout: float, what: str, log_from: int) -> tuple:
        if not self.conn.poll(timeout):
            tail = _log_excerpt(self.log_path, log_from)
            self.kill()
            raise SpeechEngineError(
                f"speech engine did not answer within {timeout:g} s while {what}; "
                "it was stopped and will be restarted on the next request"
                + (f" (engine log: {tail})" if tail else ""))
        try:
            return self.conn.recv()
        except EOFError:
            self.process.join(1.0)
            code = self.process.exitcode
            tail = _log_excerpt(self.log_path, log_from)
            self.kill()
            raise SpeechEngineError(
                f"speech engine process died while {what} (exit code {code})"
                + (f": {tail}" if tail else "")) from None

    def request(self, message: tuple, timeout: float, what: str):
        log_from = _file_size(self.log_path)
        try:
            self.conn.send(message)
        except (BrokenPipeError, ConnectionResetError) as exc:
            self.kill()
            raise SpeechEngineError(f"speech engine process is gone ({exc})") from exc
        status, payload = self._receive(timeout, what, log_from)
        if status == "ok":
            return payload
        raise SpeechEngineError(f"speech engine failed while {what}: {payload}")

    @property
    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        """Ask politely, then kill: close() must not hang on a stuck engine."""
        if not self.conn.closed:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # already dead: fine
                self.conn.send(("stop",))
        self.process.join(1.0)
        self.kill()


class _Resources:
    """What a SpeechEngine must release: the worker and the temp dir.

    Separate from SpeechEngine so a ``weakref.finalize`` can release them
    when an engine is garbage-collected without ``close()``.
    """

    def __init__(self) -> None:
        self.worker: _Worker | None = None
        self.directory: str | None = None

    def release(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.directory is not None:
            try:
                import shutil
                shutil.rmtree(self.directory)
            except OSError as exc:
                _log.warning("could not remove speech temp dir %s: %s", self.directory, exc)
            self.directory = None


class SpeechEngine:
    """Text -> PCM through pyttsx3, in one worker process.

    Owns exactly one pyttsx3 engine in one worker *process* (multiprocessing,
    spawn context, never fork), started on the first request. One
    ``save_to_file`` per ``runAndWait``. Each request has a timeout; on
    timeout the worker is killed, a fresh one is started on the next request,
    and :class:`SpeechEngineError` is raised. The worker sends fd 1 to
    ``/dev/null`` so pyttsx3's ``Audio saved to`` never reaches our stdout,
    and its stderr to a log quoted in error messages. Audio is written into a
    private temp dir (kept for the engine's life), read with soundfile (rate
    from the header, not assumed) and deleted.

    Not thread-safe beyond a lock that serialises requests. Programs using it
    need the usual ``if __name__ == "__main__":`` guard (spawn re-imports
    ``__main__``).
    """

    def __init__(self, timeout: float = ENGINE_TIMEOUT_S):
        if not is_real(timeout):
            raise TypeError(f"timeout must be a number, not {type(timeout).__name__}")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self._timeout = float(timeout)
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._res = _Resources()
        import tempfile
        self._res.directory = tempfile.mkdtemp(prefix="voicecoach-tts-")
        self._finalizer = weakref.finalize(self, self._res.release)
        self._voices: list[Voice] | None = None
        self._voice_ids: dict[str, str] = {}

    @property
    def timeout(self) -> float:
        return self._timeout

    def _request(self, message: tuple, what: str):
        """Send one request, (re)starting the worker if needed."""
        if not self._finalizer.alive:
            raise ValueError("SpeechEngine is closed")
        with self._lock:
            res = self._res
            if res.worker is None or not res.worker.alive:
                if res.worker is not None:
                    res.worker.kill()
                res.worker = None
                res.worker = _Worker(res.directory, next(self._serial),
                                     max(self._timeout, ENGINE_START_TIMEOUT_S))
            try:
                return res.worker.request(message, self._timeout, what)
            finally:
                if not res.worker.alive:
                    res.worker = None

    def voices(self) -> list[Voice]:
        """The engine's voices (asked once per engine)."""
        if self._voices is None:
            raw = self._request(("voices",), "listing voices")
            self._voices = [Voice(id=i, name=n, languages=tuple(langs)) for i, n, langs in raw]
        return list(self._voices)

    def _resolve_voice(self, wanted: str) -> str:
        if wanted in self._voice_ids:
            return self._voice_ids[wanted]
        voices = self.voices()
        w = wanted.strip().casefold()
        rules = (
            lambda v: v.id.casefold() == w,
            lambda v: v.name.casefold() == w,
            lambda v: v.id.casefold().rsplit("/", 1)[-1] == w,
            lambda v: w in v.name.casefold(),
        )
        for rule in rules:
            matches = [v for v in voices if rule(v)]
            if matches:
                # 'english' should pick an English voice, not "Chinese (latin as English)"
                best = min(matches, key=lambda v: (not v.name.casefold().startswith(w),
                                                   len(v.name), v.name))
                self._voice_ids[wanted] = best.id
                return best.id
        english = [v for v in voices if any(lang.startswith("en") for lang in v.languages)]
        examples = ", ".join(f"{v.id} ({v.name})" for v in (english or voices)[:5])
        raise InputError(
            f"unknown voice {wanted!r}; available include {examples} "
            "(all: voicecoach voices)")

    def synthesize(self, text: str, settings: SpeechSettings) -> tuple[np.ndarray, int]:
        """Speak ``text`` into PCM.

        Returns
        -------
        pcm : numpy.ndarray
            float32, shape ``(n,)``, mono (channels averaged), untrimmed, as
            the engine produced it; ``n > 0``.
        samplerate : int
            Read from the file header (22050 on espeak).
        """
        text = check_text(text)
        if not isinstance(settings, SpeechSettings):
            raise TypeError(f"settings must be SpeechSettings, not {type(settings).__name__}")
        voice = None if settings.voice is None else self._resolve_voice(settings.voice)
        return self._synthesize_to(text, voice, settings.rate, None)

    def _synthesize_to(self, text: str, voice: str | None, rate: int | None,
                       path: str | None) -> tuple[np.ndarray, int]:
        # ``path`` is a test hook: a path in a missing folder makes pyttsx3's
        # write fail inside espeak's callback, the classic stuck engine.
        if not self._finalizer.alive:
            raise ValueError("SpeechEngine is closed")
        if path is None:
            ext = ".aiff" if _default_driver() == "nsss" else ".wav"
            path = os.path.join(self._res.directory, f"cue-{next(self._serial)}{ext}")
        try:
            self._request(("synth", text, voice, rate, path), f"synthesizing {text!r}")
            return _read_audio(path, text)
        finally:
            Path(path).unlink(missing_ok=True)

    def describe(self) -> str:
        """Engine name and versions for the cache key (see :func:`engine_identity`)."""
        return engine_identity()

    def close(self) -> None:
        """Stop the worker and delete the temp dir. Idempotent."""
        self._finalizer()

    def __enter__(self) -> SpeechEngine:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _read_audio(path: str, text: str) -> tuple[np.ndarray, int]:
    import numpy as np
    import soundfile as sf

    try:
        data, samplerate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, OSError) as exc:
        raise SpeechEngineError(f"speech engine wrote an unreadable file for {text!r}: {exc}") from exc
    if data.shape[0] == 0:
        raise SpeechEngineError(f"speech engine produced no audio for {text!r}")
    pcm = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
    return np.ascontiguousarray(pcm, dtype=np.float32), int(samplerate)

