"""Spoken cues: text -> speech PCM at the session rate, ready to mix.

Pipeline: pyttsx3 (in a worker process) -> WAV in a private temp dir ->
:func:`trim` (voice onset at sample 0) -> :func:`resample` (soxr) ->
:func:`normalise` (one loudness for every cue) -> on-disk :class:`CueCache`
-> in-memory :class:`CueBank`.

Why a worker *process*: pyttsx3 is not thread-safe, keeps process-global
state (one espeak callback, one engine per process) and can loop forever
when a write fails (see ``/work/shared/PITFALLS.md``). A process can be
killed and replaced; a thread cannot. Only this module touches pyttsx3, and
only inside that worker, so ``import voicecoach.cues`` works without it.

Measured on espeak-ng 1.51 (pyttsx3 2.99, Debian 12): raw output is 22050 Hz
mono 16-bit with 0-45 ms of digitally silent lead-in (depends on the first
phoneme) and 230-275 ms of trailing silence; ``runAndWait()`` returns after
~10 ms while espeak may still be synthesising on its own thread, so the
worker waits for the ``finished-utterance`` notification, not for
``runAndWait()``. pyttsx3's espeak ``stop()`` (run by every ``runAndWait``)
randomly cancels the next utterance and reverts rate changes; the worker
disables it (see :meth:`_Session._disarm_stop`).
"""

from __future__ import annotations

import contextlib
import ctypes.util
import functools
import hashlib
import importlib.metadata
import itertools
import json
import logging
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import sys
import sysconfig
import tempfile
import threading
import traceback
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.errors import InputError, SpeechEngineError

__all__ = [
    "ENGINE_TIMEOUT_S", "ENGINE_START_TIMEOUT_S", "PROCESSING_VERSION",
    "PEAK_DBFS", "TARGET_RMS_DBFS", "PREROLL_S", "TAIL_S",
    "Voice", "SpeechSettings", "SpeechEngine", "SilenceError",
    "engine_identity", "trim", "resample", "normalise", "gated_rms", "process",
    "cue_key", "CueCache", "CueBank",
]

_log = logging.getLogger(__name__)

ENGINE_TIMEOUT_S: float = 10.0
"""Longest one request (a synthesis, the voice list) may take before the worker is killed."""

ENGINE_START_TIMEOUT_S: float = 30.0
"""Longest the worker may take to start (a Python interpreter plus imports on a busy machine)."""

PROCESSING_VERSION: int = 1
"""Bump whenever trim/resample/normalise change the samples: it is part of the cache key."""

MIN_RATE, MAX_RATE = 80, 450
"""Speaking rates (words per minute) accepted: espeak-ng's own range."""

TRIM_THRESHOLD_DB: float = -40.0
"""Audible = above this level relative to the phrase's peak ..."""

AUDIBLE_FLOOR_DBFS: float = -60.0
"""... and above this absolute level, so low-level noise never counts as voice."""

PREROLL_S: float = 0.002
"""Kept before the voice onset, faded in, so the attack is not cut."""

TAIL_S: float = 0.030
"""Kept after the last audible sample, the last :data:`FADE_OUT_S` of it faded out."""

FADE_OUT_S: float = 0.010

GATE_WINDOW_S: float = 0.020
"""Loudness is measured in windows this long ..."""

GATE_SILENCE_DB: float = -50.0
"""... ignoring windows this far below the loudest (pauses, silence) ..."""

GATE_RELATIVE_DB: float = -10.0
"""... and then windows this far below the mean of the rest (breaths, soft consonants)."""

TARGET_RMS_DBFS: float = -21.0
"""Gated RMS every cue is brought to. espeak phrases have 11-18 dB from gated
RMS to peak, so at -21 dBFS none hits the :data:`PEAK_DBFS` cap (at -18 dBFS
half of them would, and come out up to 3 dB quieter than the rest)."""

PEAK_DBFS: float = -3.0
"""No cue sample exceeds this; the mixer relies on it for headroom."""

_SUSTAIN_BLOCK_S = 0.001   # onset/offset detection works on 1 ms blocks ...
_SUSTAIN_SPAN = 5          # ... a block counts if this many blocks starting (ending) there
_SUSTAIN_MIN = 2           # ... contain at least this many audible blocks: a lone click does not.


def _amp(db: float) -> float:
    return float(10.0 ** (db / 20.0))


# --------------------------------------------------------------------------
# Settings and voices
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Voice:
    """A voice the engine offers (``voicecoach voices`` lists them)."""

    id: str
    name: str
    languages: tuple[str, ...]


@dataclass(frozen=True)
class SpeechSettings:
    """Everything the user chooses about the voice; part of the cache key.

    ``voice`` is an engine voice id (``gmw/en-us``), a voice name, the last
    part of an id (``en-us``) or a case-insensitive substring of a name;
    ``None`` keeps the engine's default. ``rate`` is in words per minute;
    ``None`` keeps the engine's default (pyttsx3 sets 200 on espeak).
    """

    voice: str | None = None
    rate: int | None = None

    def __post_init__(self) -> None:
        if self.voice is not None:
            if not isinstance(self.voice, str):
                raise TypeError(f"voice must be a str or None, not {type(self.voice).__name__}")
            if not self.voice.strip():
                raise InputError("voice: must not be empty")
        if self.rate is not None:
            if isinstance(self.rate, bool) or not isinstance(self.rate, int):
                raise TypeError(f"rate must be an int or None, not {type(self.rate).__name__}")
            if not MIN_RATE <= self.rate <= MAX_RATE:
                raise InputError(
                    f"rate: {self.rate} words per minute is outside {MIN_RATE}-{MAX_RATE}")


# --------------------------------------------------------------------------
# Engine identity (cheap, no worker)
# --------------------------------------------------------------------------

def _default_driver() -> str:
    """The pyttsx3 driver for this OS (mirrors pyttsx3.engine without importing it)."""
    return {"darwin": "nsss", "win32": "sapi5"}.get(sys.platform, "espeak")


_ESPEAK_NAMES = ("libespeak-ng.so.1", "libespeak.so.1")
_ESPEAK_PATHS = (
    # pyttsx3's own search order for absolute paths
    "/opt/homebrew/lib/libespeak-ng.1.dylib",
    "/usr/local/lib/libespeak-ng.1.dylib",
    "/usr/local/lib/libespeak.dylib",
    r"C:\Program Files\eSpeak NG\libespeak-ng.dll",
    r"C:\Program Files (x86)\eSpeak NG\libespeak-ng.dll",
)


def _espeak_library() -> str:
    """File name of the espeak library pyttsx3 will load, symlinks resolved.

    On Debian that is ``libespeak-ng.so.1.1.51``: the version is in the name,
    so an espeak-ng upgrade changes the cache key. Found by looking in the
    loader's usual directories instead of asking ``ldconfig`` (a subprocess).
    """
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d]
    dirs += [f"/usr/lib/{multiarch}", f"/lib/{multiarch}", "/usr/lib64", "/usr/lib",
             "/usr/local/lib"]
    for name in _ESPEAK_NAMES:
        for d in dirs:
            candidate = os.path.join(d, name)
            if os.path.exists(candidate):
                return os.path.basename(os.path.realpath(candidate))
    for candidate in _ESPEAK_PATHS:
        if os.path.exists(candidate):
            return os.path.basename(os.path.realpath(candidate))
    found = ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak")
    return found or "no-espeak-library"


@functools.lru_cache(maxsize=1)
def engine_identity() -> str:
    """Which engine would speak, e.g. ``pyttsx3 2.99 / espeak libespeak-ng.so.1.1.51``.

    Cheap (no worker, no pyttsx3 import, a few stat calls) so a warm cache
    can build its keys without starting the engine. A new pyttsx3, a new
    espeak-ng or a new OS release changes it, and with it every cache key.
    """
    try:
        version = importlib.metadata.version("pyttsx3")
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    driver = _default_driver()
    if driver == "espeak":
        backend = _espeak_library()
    elif driver == "nsss":
        backend = f"macOS {platform.mac_ver()[0]}"
    else:
        backend = f"Windows {platform.version()}"
    return f"pyttsx3 {version} / {driver} {backend}"


def _install_hint() -> str:
    if _default_driver() == "espeak":
        return "install espeak-ng (Debian/Ubuntu: apt-get install espeak-ng)"
    return "pyttsx3 uses the system voice; check that pyttsx3 is installed (pip install pyttsx3)"


# --------------------------------------------------------------------------
# The worker process (runs in the child; the only place pyttsx3 is imported)
# --------------------------------------------------------------------------

class _EngineMissing(Exception):
    """Raised in the worker when pyttsx3 or its system library is absent."""


class _Session:
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
        and volume to the last synthesis's values (the PITFALLS "rate change
        ignored"). We never stop mid-utterance, so stop() has nothing to do.
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
            self.engine.save_to_file(text, path)   # one save per runAndWait (PITFALLS)
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
    """Replacement for the espeak driver's stop(): see _Session._disarm_stop."""


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
        session = _Session()
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


# --------------------------------------------------------------------------
# The parent side
# --------------------------------------------------------------------------

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
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number, not {type(timeout).__name__}")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self._timeout = float(timeout)
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._res = _Resources()
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
        text = _check_text(text)
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
    import soundfile as sf

    try:
        data, samplerate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, OSError) as exc:
        raise SpeechEngineError(f"speech engine wrote an unreadable file for {text!r}: {exc}") from exc
    if data.shape[0] == 0:
        raise SpeechEngineError(f"speech engine produced no audio for {text!r}")
    pcm = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
    return np.ascontiguousarray(pcm, dtype=np.float32), int(samplerate)


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"cue text must be a str, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("cue text must not be empty")
    return text


# --------------------------------------------------------------------------
# Signal processing (pure numpy, plus soxr)
# --------------------------------------------------------------------------

class SilenceError(ValueError):
    """The audio has nothing audible in it (all below the absolute floor)."""


def _check_pcm(pcm: object, *, allow_empty: bool = False) -> np.ndarray:
    if not isinstance(pcm, np.ndarray):
        raise TypeError(f"pcm must be a numpy array, not {type(pcm).__name__}")
    if pcm.dtype not in (np.float32, np.float64):
        raise TypeError(f"pcm must be float32 or float64, not {pcm.dtype}")
    if pcm.ndim != 1:
        raise ValueError(f"pcm must be mono, shape (n,), not {pcm.shape}")
    if not allow_empty and pcm.size == 0:
        raise ValueError("pcm is empty")
    if not np.isfinite(pcm).all():
        raise ValueError("pcm contains NaN or infinity")
    return pcm


def _check_rate(samplerate: object, name: str = "samplerate") -> int:
    if isinstance(samplerate, bool) or not isinstance(samplerate, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(samplerate).__name__}")
    if samplerate <= 0:
        raise ValueError(f"{name} must be positive, not {samplerate}")
    return int(samplerate)


def _sustained(active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per block: does a sustained sound start here / end here?"""
    counts = np.convolve(active.astype(np.int32), np.ones(_SUSTAIN_SPAN, np.int32))
    n = len(active)
    forward = counts[_SUSTAIN_SPAN - 1:_SUSTAIN_SPAN - 1 + n]   # blocks [i, i + span)
    backward = counts[:n]                                       # blocks (i - span, i]
    return active & (forward >= _SUSTAIN_MIN), active & (backward >= _SUSTAIN_MIN)


def trim(pcm: np.ndarray, samplerate: int) -> np.ndarray:
    """Cut leading and trailing silence so the voice begins at the start.

    A sample is audible above :data:`TRIM_THRESHOLD_DB` of the peak and
    above :data:`AUDIBLE_FLOOR_DBFS`. The onset is the first audible sample
    of the first 1 ms block that starts a sustained sound (a lone click does
    not), the end likewise backwards. :data:`PREROLL_S` before the onset is
    kept and faded in (raised cosine; if the sound starts at sample 0 the
    fade covers its first 2 ms instead, to avoid a click); :data:`TAIL_S`
    after the end is kept, its last :data:`FADE_OUT_S` faded to zero.

    Parameters
    ----------
    pcm : numpy.ndarray
        float32 or float64, shape ``(n,)``, mono.
    samplerate : int
        Of ``pcm``; sets the pre-roll, tail and fade lengths.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(m,)``, a new array; first and last sample 0. The
        onset is at ``min(onset, round(PREROLL_S * samplerate))``.

    Raises
    ------
    SilenceError
        (a ValueError) if nothing is above the absolute floor.
    """
    x = _check_pcm(pcm, allow_empty=True)
    samplerate = _check_rate(samplerate)
    mag = np.abs(x)
    peak = float(mag.max()) if x.size else 0.0
    floor = _amp(AUDIBLE_FLOOR_DBFS)
    if peak < floor:
        level = f"{20 * np.log10(peak):.1f} dBFS" if peak > 0 else "digital silence"
        raise SilenceError(f"nothing audible: peak {level} is below {AUDIBLE_FLOOR_DBFS:g} dBFS")
    loud = mag >= max(peak * _amp(TRIM_THRESHOLD_DB), floor)

    b = max(1, round(_SUSTAIN_BLOCK_S * samplerate))
    nblocks = -(-len(x) // b)
    padded = np.zeros(nblocks * b, dtype=bool)
    padded[:len(x)] = loud
    active = padded.reshape(nblocks, b).any(axis=1)
    starts, ends = _sustained(active)
    if starts.any():
        first_block = int(np.argmax(starts))
        last_block = nblocks - 1 - int(np.argmax(ends[::-1]))
        onset = first_block * b + int(np.argmax(loud[first_block * b:(first_block + 1) * b]))
        seg = loud[last_block * b:(last_block + 1) * b]
        offset = last_block * b + len(seg) - 1 - int(np.argmax(seg[::-1]))
    else:   # only isolated clicks: keep them rather than call them silence
        loud_idx = np.flatnonzero(loud)
        onset, offset = int(loud_idx[0]), int(loud_idx[-1])

    fade_in = max(1, round(PREROLL_S * samplerate))
    start = max(0, onset - fade_in)
    end = min(len(x), offset + 1 + round(TAIL_S * samplerate))
    out = x[start:end].astype(np.float64)
    n_in = min(fade_in, len(out))
    out[:n_in] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(n_in) / fade_in)
    n_out = min(max(1, round(FADE_OUT_S * samplerate)), len(out))
    out[len(out) - n_out:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n_out + 1) / n_out)
    return out.astype(np.float32)


def resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Change the sample rate with soxr ('HQ').

    Parameters
    ----------
    pcm : numpy.ndarray
        float32 or float64, shape ``(n,)``.
    rate_in, rate_out : int
        Sample rates in Hz.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(round(n * rate_out / rate_in),)`` (soxr may differ
        by a sample). When the rates are equal, ``pcm`` as float32 (the same
        object if it already was).
    """
    x = _check_pcm(pcm, allow_empty=True)
    rate_in = _check_rate(rate_in, "rate_in")
    rate_out = _check_rate(rate_out, "rate_out")
    x = x.astype(np.float32, copy=False)
    if rate_in == rate_out or x.size == 0:
        return x
    import soxr

    return np.ascontiguousarray(soxr.resample(x, rate_in, rate_out, quality="HQ"),
                                dtype=np.float32)


def gated_rms(pcm: np.ndarray, samplerate: int) -> float:
    """Loudness of speech as a linear RMS, ignoring pauses and silence.

    The signal is cut into :data:`GATE_WINDOW_S` windows; windows more than
    :data:`GATE_SILENCE_DB` below the loudest are dropped (pauses), then those
    more than :data:`GATE_RELATIVE_DB` below the energy mean of the rest
    (soft consonants, breaths); the result is the RMS of what is left. Scale
    invariant: ``gated_rms(k * x) == k * gated_rms(x)``.

    Parameters
    ----------
    pcm : numpy.ndarray
        float32 or float64, shape ``(n,)``, ``n > 0``.
    samplerate : int
        Of ``pcm``; sets the window length.
    """
    x = _check_pcm(pcm).astype(np.float64)
    samplerate = _check_rate(samplerate)
    w = max(1, round(GATE_WINDOW_S * samplerate))
    if len(x) < w:
        power = np.array([np.mean(x * x)])
    else:
        full = len(x) // w
        power = np.mean(x[:full * w].reshape(full, w) ** 2, axis=1)
    loudest = float(power.max())
    if loudest == 0.0:
        return 0.0
    kept = power[power >= loudest * 10.0 ** (GATE_SILENCE_DB / 10.0)]
    kept = kept[kept >= float(kept.mean()) * 10.0 ** (GATE_RELATIVE_DB / 10.0)]
    return float(np.sqrt(kept.mean()))


def normalise(pcm: np.ndarray, samplerate: int = 48_000) -> np.ndarray:
    """Bring a cue to the common loudness, so every cue sounds equally loud.

    Scales to :data:`TARGET_RMS_DBFS` gated RMS (:func:`gated_rms`), unless
    that would put the peak above :data:`PEAK_DBFS`: then the peak is capped
    there (the cue ends up a little quieter).

    Parameters
    ----------
    pcm : numpy.ndarray
        float32 or float64, shape ``(n,)``, ``n > 0``.
    samplerate : int
        Of ``pcm``; only sets the loudness window length (20 ms).

    Returns
    -------
    numpy.ndarray
        float32, shape ``(n,)``, a new array, ``max(abs) <= 10 ** (PEAK_DBFS / 20)``.

    Raises
    ------
    SilenceError
        (a ValueError) if the peak is below :data:`AUDIBLE_FLOOR_DBFS`.
    """
    x = _check_pcm(pcm).astype(np.float64)
    peak = float(np.abs(x).max())
    if peak < _amp(AUDIBLE_FLOOR_DBFS):
        raise SilenceError(f"nothing audible to normalise (peak below {AUDIBLE_FLOOR_DBFS:g} dBFS)")
    gain = _amp(TARGET_RMS_DBFS) / gated_rms(x, samplerate)
    # 1e-6 below the cap so float32 rounding can not push a sample over it
    gain = min(gain, _amp(PEAK_DBFS) * (1.0 - 1e-6) / peak)
    return (x * gain).astype(np.float32)


def process(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Engine output -> a cue: :func:`trim`, :func:`resample`, :func:`normalise`.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(n,)`` at ``rate_out``, voice onset within
        :data:`PREROLL_S` of sample 0, peak at most :data:`PEAK_DBFS`.
    """
    return normalise(resample(trim(pcm, rate_in), rate_in, rate_out), rate_out)


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------

def cue_key(text: str, settings: SpeechSettings, samplerate: int, engine: str) -> str:
    """sha256 (hex) of everything that shapes a cue's samples.

    ``engine`` is :meth:`SpeechEngine.describe` (or :func:`engine_identity`).
    The JSON is canonical (sorted keys, no spaces, UTF-8) so the key is
    stable across runs and Python versions.
    """
    doc = {
        "text": text,
        "voice": settings.voice,
        "rate": settings.rate,
        "engine": engine,
        "samplerate": samplerate,
        "processing": PROCESSING_VERSION,
        "format": "float32-mono",
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


_KEY_RE = re.compile(r"[0-9a-f]{64}")
_MAGIC = b"VCCUE\x00\x01\x00"            # format tag, version 1
_HEADER = len(_MAGIC) + 8 + 32           # magic, uint64 LE sample count, sha256(payload)


class CueCache:
    """Processed cues on disk, one file per key: ``<key>.cue``.

    A file is a 48-byte header (magic, sample count, sha256 of the payload)
    and little-endian float32 samples. Writes go to a temp file in the same
    directory and are renamed into place (``os.replace``), so readers see a
    whole entry or none. A corrupt or truncated entry (bad magic, size or
    checksum) is deleted, logged and reported as a miss. I/O failures other
    than a missing entry raise ``OSError``.
    """

    def __init__(self, directory: Path):
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"directory must be a path, not {type(directory).__name__}")
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, not {type(key).__name__}")
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"key must be 64 lowercase hex digits (a sha256), not {key!r}")
        return self.directory / f"{key}.cue"

    def get(self, key: str) -> np.ndarray | None:
        """The cached cue, read-only float32 ``(n,)``, or None on a miss."""
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        problem = self._check(blob)
        if problem:
            _log.warning("cue cache entry %s is %s; deleted, will synthesise again", path, problem)
            path.unlink(missing_ok=True)
            return None
        pcm = np.frombuffer(blob, dtype="<f4", offset=_HEADER).astype(np.float32, copy=False)
        return pcm  # a view of immutable bytes: read-only

    @staticmethod
    def _check(blob: bytes) -> str:
        if len(blob) < _HEADER or not blob.startswith(_MAGIC):
            return "not a cue file"
        count = int.from_bytes(blob[len(_MAGIC):len(_MAGIC) + 8], "little")
        if len(blob) != _HEADER + 4 * count:
            return f"truncated ({len(blob)} bytes for {count} samples)"
        if hashlib.sha256(blob[_HEADER:]).digest() != blob[len(_MAGIC) + 8:_HEADER]:
            return "corrupt (checksum mismatch)"
        return ""

    def put(self, key: str, pcm: np.ndarray) -> None:
        """Store ``pcm`` (float32, shape ``(n,)``, ``n > 0``) atomically."""
        path = self.path(key)
        if not isinstance(pcm, np.ndarray):
            raise TypeError(f"pcm must be a numpy array, not {type(pcm).__name__}")
        if pcm.dtype != np.float32:
            raise TypeError(f"pcm must be float32, not {pcm.dtype}")
        if pcm.ndim != 1 or pcm.size == 0:
            raise ValueError(f"pcm must have shape (n,) with n > 0, not {pcm.shape}")
        payload = pcm.astype("<f4", copy=False).tobytes()
        header = _MAGIC + pcm.size.to_bytes(8, "little") + hashlib.sha256(payload).digest()
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:12]}-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------------
# The bank the rest of the program uses
# --------------------------------------------------------------------------

class CueBank:
    """Spoken cues at the session rate: synthesised once, cached on disk, kept in memory.

    The engine is created only on a cache miss, so a warm cache never starts
    the worker process. An engine passed in belongs to the caller (not
    closed here); one created here is closed by :meth:`close`. A failing
    cache directory is logged and bypassed: the cache only saves time.
    Arrays returned are read-only and shared; copy before modifying.
    """

    def __init__(self, samplerate: int, settings: SpeechSettings, cache: CueCache | None,
                 engine: SpeechEngine | None = None):
        self.samplerate = _check_rate(samplerate)
        if not isinstance(settings, SpeechSettings):
            raise TypeError(f"settings must be SpeechSettings, not {type(settings).__name__}")
        if cache is not None and not isinstance(cache, CueCache):
            raise TypeError(f"cache must be a CueCache or None, not {type(cache).__name__}")
        self.settings = settings
        self.cache = cache
        self._engine = engine
        self._owns_engine = engine is None
        self._identity: str | None = None
        self._cues: dict[str, np.ndarray] = {}
        self._closed = False

    def _key(self, text: str) -> str:
        if self._identity is None:
            self._identity = (self._engine.describe() if self._engine is not None
                              else engine_identity())
        return cue_key(text, self.settings, self.samplerate, self._identity)

    def get(self, text: str) -> np.ndarray:
        """The processed cue: float32, shape ``(n,)`` at ``samplerate``, read-only."""
        text = _check_text(text)
        cue = self._cues.get(text)
        if cue is not None:
            return cue
        if self._closed:
            raise ValueError("CueBank is closed")
        key = self._key(text)
        cue = self._from_cache(key)
        if cue is None:
            cue = self._synthesize(text)
            self._to_cache(key, cue)
        cue.flags.writeable = False
        self._cues[text] = cue
        return cue

    def frames(self, text: str) -> int:
        """Length of the cue in frames: the scheduler's speech-length function."""
        return len(self.get(text))

    def preload(self, texts: Iterable[str]) -> None:
        """Make every text ready (synthesising the misses) before playback."""
        if isinstance(texts, str):
            raise TypeError("preload takes an iterable of texts, not a single str")
        for text in dict.fromkeys(texts):
            self.get(text)

    def _from_cache(self, key: str) -> np.ndarray | None:
        if self.cache is None:
            return None
        try:
            return self.cache.get(key)
        except OSError as exc:
            _log.warning("cue cache unreadable (%s); synthesising instead", exc)
            return None

    def _to_cache(self, key: str, cue: np.ndarray) -> None:
        if self.cache is None:
            return
        try:
            self.cache.put(key, cue)
        except OSError as exc:
            _log.warning("cue cache not written (%s); continuing without it", exc)

    def _synthesize(self, text: str) -> np.ndarray:
        if self._engine is None:
            self._engine = SpeechEngine()
        pcm, rate = self._engine.synthesize(text, self.settings)
        try:
            return process(pcm, rate, self.samplerate)
        except SilenceError as exc:
            raise InputError(f"cue {text!r}: the speech engine produced no audible speech "
                             f"({exc})") from exc

    def close(self) -> None:
        """Stop an engine this bank started. Cues already fetched stay valid."""
        self._closed = True
        if self._owns_engine and self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> CueBank:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
