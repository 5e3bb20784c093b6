"""The parent side of speech synthesis: :class:`SpeechEngine`, one engine kind in one worker.

Starts the worker (:mod:`voicecoach.cues.worker`; the engines themselves are
its backends) in a spawned process with its own temp folder, sends it
requests with a timeout, kills and replaces it when it hangs or dies. The
worker answers with the PCM; files never cross the process boundary.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from voicecoach.common.held_signals import signals_held
from voicecoach.cues.piper_voices import choose_piper_voice
from voicecoach.cues.settings import EngineKind, SpeechSettings, Voice
from voicecoach.cues.voices import match_voice, norm, unknown_voice
from voicecoach.cues.worker import PatientClock, _worker_main
from voicecoach.errors import SpeechEngineError, VoicecoachError

if TYPE_CHECKING:
    import numpy as np


ENGINE_TIMEOUT_S: float = 10.0
"""Longest one request (a synthesis, the voice list) may take before the worker is killed,
in the worker's own time: waiting for a busy machine's CPU does not count."""

ENGINE_START_TIMEOUT_S: float = 30.0
"""Longest the worker may take to start (a Python interpreter plus imports on a busy machine)."""

REPLY_MARGIN_S: float = 5.0
"""The worker times out a stuck espeak phrase itself and says so; the parent waits this much longer before it
kills the worker (Piper cannot be interrupted inside onnxruntime: there the parent's kill is the timeout)."""

NEUTRAL_WPM: int = 175
"""``--rate`` at which Piper speaks at its model's own pace: length scale = NEUTRAL_WPM / rate."""

_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(:|$)")


def _log_excerpt(path: str, since: int, limit: int = 300) -> str:
    """What the worker wrote to its log since byte ``since``, in one line.

    The first exception line (``RuntimeError: ...``) if there is one: the root cause comes first, follow-on
    errors after it. Else the last line.
    """
    try:
        with open(path, "rb") as f:
            f.seek(since)
            text = f.read(64 * 1024).decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if _EXC_LINE.match(line)), lines[-1] if lines else "")[:limit]


def _with_log(message: str, tail: str) -> str:
    return message + (f" (engine log: {tail})" if tail else "")


class _Worker:
    """One worker process, its pipes, its temp folder and its log.

    Constructing it only spawns the process (quick); the first request waits until it is ready. The folder is
    named here but made by the worker, so a worker that never ran leaves nothing behind.
    """

    def __init__(self, kind: EngineKind, serial: int, start_timeout: float):
        import multiprocessing  # here, not at import: a warm cache never starts the engine
        import secrets

        ctx = multiprocessing.get_context("spawn")  # never fork a process that may hold audio threads
        self.kind = kind
        self.directory = os.path.join(tempfile.gettempdir(), f"voicecoach-tts-{secrets.token_hex(6)}")
        self.log_path = os.path.join(self.directory, f"worker-{serial}.log")
        self.conn, child = ctx.Pipe()
        lifeline_read, self._lifeline = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_worker_main,
            args=(child, lifeline_read, str(kind), self.directory, self.log_path),
            name=f"voicecoach-tts-{kind}",
            daemon=True,
        )
        try:
            with signals_held():  # a Ctrl-C in mid-start left the child a truncated pickle and a traceback
                self.process.start()
        except OSError as exc:  # out of processes or memory
            self.conn.close()
            self._lifeline.close()
            raise SpeechEngineError(f"could not start the speech engine process: {exc}") from exc
        finally:
            child.close()
            lifeline_read.close()
        self.ready = False
        self._start_timeout = start_timeout

    def wait_ready(self) -> None:
        """Wait for the worker's first word: ready, or why it cannot speak."""
        if self.ready:
            return
        try:
            status, payload = self._receive(self._start_timeout, "starting", 0)
        except BaseException:  # Ctrl-C while it starts: stop it here
            self.kill()
            raise
        if status == "ready":
            self.ready = True
            return
        self.kill()
        if status == "missing":
            raise SpeechEngineError(f"speech engine {self.kind} unavailable: {payload}")
        raise SpeechEngineError(f"speech engine {self.kind} failed to start: {payload}")

    def _answered(self, timeout: float) -> bool:
        """Whether the worker answers within ``timeout`` seconds of its own: waiting for a busy machine's CPU does
        not count (:class:`PatientClock`)."""
        clock = PatientClock(self.process.pid or 0)
        while (left := timeout - clock.elapsed()) > 0:
            if self.conn.poll(min(left, 0.5)):
                return True
        return self.conn.poll(0)

    def _receive(self, timeout: float, what: str, log_from: int) -> tuple:
        if not self._answered(timeout):
            tail = _log_excerpt(self.log_path, log_from)
            self.kill()
            raise SpeechEngineError(
                _with_log(
                    f"speech engine did not answer within {timeout:g} s while {what}; "
                    "it was stopped and will be restarted on the next request",
                    tail,
                )
            )
        try:
            return self.conn.recv()
        except EOFError:
            self.process.join(1.0)
            code = self.process.exitcode
            tail = _log_excerpt(self.log_path, log_from)
            self.kill()
            raise SpeechEngineError(
                f"speech engine process died while {what} (exit code {code})" + (f": {tail}" if tail else "")
            ) from None

    def request(self, message: tuple, timeout: float, what: str) -> Any:
        self.wait_ready()
        log_from = 0
        with contextlib.suppress(FileNotFoundError):
            log_from = os.path.getsize(self.log_path)
        try:
            self.conn.send(message)
        except (BrokenPipeError, ConnectionResetError) as exc:
            self.kill()
            raise SpeechEngineError(f"speech engine process is gone ({exc})") from exc
        status, payload = self._receive(timeout + REPLY_MARGIN_S, what, log_from)
        if status == "ok":
            return payload
        if status == "timeout":
            raise SpeechEngineError(
                _with_log(f"speech engine {payload} while {what}", _log_excerpt(self.log_path, log_from))
            )
        raise SpeechEngineError(f"speech engine failed while {what}: {payload}")

    @property
    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed

    def kill(self) -> None:
        self.process.kill()  # a no-op on one that has exited
        self.process.join()
        self.conn.close()
        self._lifeline.close()
        shutil.rmtree(self.directory, ignore_errors=True)  # a killed worker cannot

    def stop(self) -> None:
        """Ask politely, then kill: close() must not hang on a stuck engine."""
        if not self.conn.closed:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
                self.conn.send(("stop",))
        self.process.join(1.0)
        self.kill()


class _Resources:
    """A SpeechEngine's worker, apart from it so a ``weakref.finalize`` can stop
    the worker when the engine is garbage-collected without ``close()``."""

    def __init__(self) -> None:
        self.worker: _Worker | None = None

    def release(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


class SpeechEngine:
    """Text -> PCM through one engine kind (pyttsx3 or Piper), in one worker process.

    The seam the rest of the program speaks through; nothing outside ``cues/`` knows which engine spoke. The
    worker (spawned, never forked) starts on the first request with its own temp folder; a request that times
    out kills it and raises :class:`SpeechEngineError`, and the next request starts a fresh one. A lock
    serialises requests. Programs using it need the usual ``if __name__ == "__main__":`` guard (spawn re-imports
    ``__main__``).
    """

    def __init__(
        self, kind: EngineKind = EngineKind.PYTTSX3, timeout: float = ENGINE_TIMEOUT_S, voice_dir: Path | None = None
    ):
        if not isinstance(kind, EngineKind) or kind is EngineKind.AUTO:
            raise ValueError(f"kind must be a concrete EngineKind, not {kind!r}")
        self.kind = kind
        self.voice_dir = voice_dir
        self._timeout = float(timeout)
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._res = _Resources()
        self._finalizer = weakref.finalize(self, self._res.release)
        self._voices: list[Voice] | None = None
        self._voice_ids: dict[str, str] = {}

    def _worker(self) -> _Worker:
        """The live worker, spawned anew when there is none (call with the lock held)."""
        if not self._finalizer.alive:
            raise ValueError("SpeechEngine is closed")
        res = self._res
        if res.worker is None or not res.worker.alive:
            if res.worker is not None:
                res.worker.kill()  # idempotent: a failed start below leaves a dead one to replace
            res.worker = _Worker(self.kind, next(self._serial), max(self._timeout, ENGINE_START_TIMEOUT_S))
        return res.worker

    def _request(self, message: tuple, what: str) -> Any:
        """Send one request, (re)starting the worker if needed."""
        with self._lock:
            worker = self._worker()
            try:
                return worker.request(message, self._timeout, what)
            finally:
                if not worker.alive:
                    self._res.worker = None

    def launch(self, settings: SpeechSettings | None = None) -> SpeechEngine:
        """Spawn the worker now without waiting for it (a pool launches all its
        workers from one thread, so an interruption finds every one of them).
        Given ``settings``, a Piper worker loads that voice as soon as it is up,
        while this process goes on planning."""
        with self._lock:
            worker = self._worker()
            if settings is not None and self.kind is EngineKind.PIPER:
                try:
                    params = self._params(settings)
                    worker.conn.send(("load", params))
                except (VoicecoachError, OSError):
                    pass  # the first phrase asked says what is wrong
        return self

    def voices(self) -> list[Voice]:
        """pyttsx3's voices (asked once per engine; Piper's are files: :mod:`.piper_voices`)."""
        if self._voices is None:
            raw = self._request(("voices", self._timeout), "listing voices")
            self._voices = [Voice(id=i, name=n, languages=tuple(map(norm, langs))) for i, n, langs in raw]
        return list(self._voices)

    def _resolve_voice(self, wanted: str) -> str:
        if wanted not in self._voice_ids:
            voices = self.voices()
            found = match_voice(wanted, voices)
            if found is None:
                raise unknown_voice(wanted, voices)
            self._voice_ids[wanted] = found.id
        return self._voice_ids[wanted]

    def synthesize(self, text: str, settings: SpeechSettings) -> tuple[np.ndarray, int]:
        """Speak ``text`` into PCM.

        Returns
        -------
        pcm : numpy.ndarray
            float32, shape ``(n,)``, mono (channels averaged), untrimmed, as
            the engine produced it; ``n > 0``.
        samplerate : int
            The engine's (22050 for espeak and the bundled Piper voice).
        """
        return self._synthesize_to(text, self._params(settings), None)

    def _params(self, settings: SpeechSettings) -> dict:
        """The worker's parameters: the voice resolved, the rate."""
        if self.kind is EngineKind.PIPER:
            voice = choose_piper_voice(settings.voice, self.voice_dir)
            scale = None if settings.rate is None else NEUTRAL_WPM / settings.rate * _config_length_scale(voice.config)
            return {"model": str(voice.model), "config": str(voice.config), "length_scale": scale}
        voice_id = None if settings.voice is None else self._resolve_voice(settings.voice)
        return {"voice": voice_id, "rate": settings.rate}

    def _synthesize_to(self, text: str, params: dict, path: str | None) -> tuple[np.ndarray, int]:
        # ``path`` is a test hook: a path in a missing folder makes pyttsx3's
        # write fail inside espeak's callback, the classic stuck engine.
        pcm, rate = self._request(("synth", text, params, path, self._timeout), f"synthesizing {text!r}")
        import numpy as np  # a cache miss: numpy is needed now

        pcm = np.asarray(pcm, dtype=np.float32)
        if pcm.ndim != 1 or pcm.size == 0:
            raise SpeechEngineError(f"speech engine produced no audio for {text!r}")
        return pcm, int(rate)

    def describe(self, settings: SpeechSettings | None = None) -> str:
        """Engine name, versions and (Piper) model hash for the cache key."""
        from voicecoach.cues.identity import speech_identity

        return speech_identity(self.kind, settings or SpeechSettings(), self.voice_dir)

    def close(self) -> None:
        """Stop the worker (which removes its temp folder). Idempotent."""
        self._finalizer()

    def abort(self) -> None:
        """Kill the worker now, mid-phrase if need be (Ctrl-C), and close."""
        worker = self._res.worker
        if worker is not None:
            worker.kill()
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _config_length_scale(config: Path) -> float:
    import json

    try:
        return float(json.loads(config.read_text(encoding="utf-8"))["inference"]["length_scale"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1.0
