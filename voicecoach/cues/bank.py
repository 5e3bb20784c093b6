"""The bank the rest of the program uses: cues synthesised once, cached, kept in memory.

A cold start synthesises its misses in a pool of engine workers, the phrases needed first handed
out first, on threads that mostly wait on pipes (the GIL is not the limit). It pays only when there
are enough phrases to cover the start of the extra workers (an interpreter, for Piper a model load).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.common.numbers import check_positive_int
from voicecoach.cues.cache import CueCache, cue_key
from voicecoach.cues.engine import SpeechEngine
from voicecoach.cues.engine_choice import resolve
from voicecoach.cues.identity import speech_identity
from voicecoach.cues.piper_voices import choose_piper_voice
from voicecoach.cues.settings import EngineKind, SpeechSettings, check_text
from voicecoach.errors import InputError

if TYPE_CHECKING:
    import numpy as np

_log = logging.getLogger(__name__)

POOL_MIN_PHRASES = 8
"""Fewer misses than this: one worker (starting another would cost more than it saves)."""

Progress = Callable[[int, int], None]
"""Told ``(done, total)`` as cues are synthesised."""

MAX_WORKERS = 4
"""Workers never exceed this nor the machine's cores (each Piper worker holds its model in memory)."""


def pool_size(misses: int) -> int:
    """How many workers pay for ``misses`` phrases on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if misses < POOL_MIN_PHRASES:
        return 1
    return max(1, min(cores, MAX_WORKERS, misses // (POOL_MIN_PHRASES // 2)))


def synthesize_all(
    texts: Sequence[str], engines: Sequence[SpeechEngine], speak: Callable[[SpeechEngine, str], np.ndarray]
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(text, speak(engine, text))`` as each phrase is done, in roughly the order given.

    Each engine speaks one phrase at a time. The first error is raised here; then, as when the caller stops
    early (Ctrl-C), the phrases not begun are dropped and those under way are not waited for: closing their
    engines ends them.
    """
    free: queue.SimpleQueue[SpeechEngine] = queue.SimpleQueue()
    for engine in engines:
        free.put(engine)

    def job(text: str) -> tuple[str, np.ndarray]:
        engine = free.get()
        try:
            return text, speak(engine, text)
        finally:
            free.put(engine)

    pool = ThreadPoolExecutor(len(engines), thread_name_prefix="voicecoach-cue-pool")
    try:
        for done in as_completed([pool.submit(job, text) for text in texts]):
            yield done.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class CueBank:
    """Spoken cues at the session rate: synthesised once, cached on disk, kept in memory.

    The engine is created only on a cache miss, so a warm cache never starts the worker process.
    ``settings.engine`` ``auto`` is resolved here (:func:`~voicecoach.cues.engine_choice.resolve`), before any
    key is built. An engine passed in belongs to the caller (not closed here; its :meth:`describe` names the
    cues); one created here is closed by :meth:`close`. :meth:`prefetch` synthesises many misses at once in a
    pool of workers. A failing cache directory is logged and bypassed: the cache only saves time. Arrays
    returned are read-only and shared.
    """

    def __init__(
        self,
        samplerate: int,
        settings: SpeechSettings,
        cache: CueCache | None,
        engine: SpeechEngine | None = None,
        voice_dir: Path | None = None,
    ):
        self.samplerate = check_positive_int(samplerate, "samplerate")
        if not isinstance(settings, SpeechSettings):
            raise TypeError(f"settings must be SpeechSettings, not {type(settings).__name__}")
        if cache is not None and not isinstance(cache, CueCache):
            raise TypeError(f"cache must be a CueCache or None, not {type(cache).__name__}")
        self.voice_dir = voice_dir
        self.settings = settings if engine is not None else resolve(settings, voice_dir)
        self.cache = cache
        self._engine = engine
        self._owns_engine = engine is None
        self._identity: str | None = None
        self._cues: dict[str, np.ndarray] = {}
        self._lengths: dict[str, int] = {}
        self._pcm16: dict[str, np.ndarray] = {}
        self._closed = False

    def _key(self, text: str) -> str:
        if self._identity is None:
            if self._engine is not None and not self._owns_engine:
                self._identity = self._engine.describe(self.settings)
            else:
                memo = self.cache.directory if self.cache is not None else None
                self._identity = speech_identity(self.settings.engine, self.settings, self.voice_dir, memo)
        return cue_key(text, self.settings, self.samplerate, self._identity)

    def voice_id(self) -> str:
        """The voice that speaks: a Piper voice's id, or what pyttsx3 is given ("default": the engine's own)."""
        if self.settings.engine is EngineKind.PIPER:
            return choose_piper_voice(self.settings.voice, self.voice_dir).voice.id
        return self.settings.voice or "default"

    def get(self, text: str) -> np.ndarray:
        """The processed cue: float32, shape ``(n,)`` at ``samplerate``, read-only."""
        text = check_text(text)
        if text not in self._cues:
            self._cues[text] = self._load(text)
        return self._cues[text]

    def pcm16(self, text: str) -> np.ndarray:
        """The cue as 16-bit PCM: int16, shape ``(n,)``, read-only; what the mixer keeps for a whole session (half
        the memory of float32; the voice comes from 16-bit espeak, so nothing audible is lost)."""
        text = check_text(text)
        pcm = self._pcm16.get(text)
        if pcm is None:
            cue = self._cues[text] if text in self._cues else self._load(text)
            import numpy as np

            x = cue * np.float32(32768.0)  # exact: a power of two
            np.rint(x, out=x)
            pcm = np.clip(x, -32768, 32767, out=x).astype(np.int16)
            pcm.flags.writeable = False
            self._pcm16[text] = pcm
        return pcm

    def frames(self, text: str) -> int:
        """Length of the cue in frames: the scheduler's speech-length function.

        The scheduler asks for every variant of every phrase but uses only some, so only the length is kept here
        when the cue is safely on disk: memory holds the cues the session plays, not all it considered.
        """
        n = self.known_frames(text)
        return len(self._load(text)) if n is None else n

    def known_frames(self, text: str) -> int | None:
        """Length of the cue in frames if it is held or cached, else ``None``: :meth:`frames` without synthesising,
        so a plan can first try the lengths a warm cache already knows."""
        text = check_text(text)
        held = self._cues.get(text, self._pcm16.get(text))
        if held is not None:
            return len(held)
        if text in self._lengths:
            return self._lengths[text]
        if self._closed:
            raise ValueError("CueBank is closed")
        n = self.cache.length(self._key(text)) if self.cache is not None else None
        if n is not None:
            self._lengths[text] = n
        return n

    def _load(self, text: str) -> np.ndarray:
        """The cue from the cache, or synthesised and stored (:meth:`_store`)."""
        if self._closed:
            raise ValueError("CueBank is closed")
        cue = self.cache.get(self._key(text)) if self.cache is not None else None
        if cue is not None:
            return cue
        if self._engine is None:
            self._engine = self._new_engine()
        return self._store(text, self._speak(self._engine, text))

    def _store(self, text: str, cue: np.ndarray) -> np.ndarray:
        """A new cue, read-only, cached; held in memory only when the cache cannot
        take it (planning keeps the lengths, not every variant it considered)."""
        cue.flags.writeable = False
        self._lengths[text] = len(cue)
        try:
            if self.cache is not None:
                self.cache.put(self._key(text), cue)
                return cue
        except OSError as exc:
            _log.warning("cue cache not written (%s); continuing without it", exc)
        self._cues[text] = cue
        return cue

    def prefetch(self, texts: Iterable[str], progress: Progress | None = None) -> int:
        """Synthesise every text not cached yet, the first given first, in a pool of workers when there are enough
        of them; return how many.

        Only lengths (and the cache entries) are kept, like :meth:`frames`. ``progress(done, total)`` is called
        before the first miss and after each one, so a terminal can show the wait.
        """
        if isinstance(texts, str):
            raise TypeError("prefetch takes an iterable of texts, not a single str")
        misses = [t for t in dict.fromkeys(map(check_text, texts)) if self.known_frames(t) is None]
        report = progress or (lambda done, total: None)
        if misses:
            report(0, len(misses))
        workers = pool_size(len(misses)) if self._owns_engine else 1
        if workers == 1:
            for done, text in enumerate(misses, 1):
                self.frames(text)
                report(done, len(misses))
            return len(misses)
        self._engine = self._engine or self._new_engine()
        engines = [self._engine] + [self._new_engine() for _ in range(workers - 1)]
        try:
            for engine in engines:
                engine.launch(self.settings)
            for done, (text, cue) in enumerate(synthesize_all(misses, engines, self._speak), 1):
                self._store(text, cue)
                report(done, len(misses))
        except BaseException:  # interrupted or failed: phrases may be under way; stop them all now
            for engine in engines:
                with contextlib.suppress(OSError):  # the interruption, not this, is the news
                    engine.abort()
            self._engine = None
            raise
        for extra in engines[1:]:
            extra.close()
        return len(misses)

    def start_engine(self) -> None:
        """Start the speech worker now without waiting for it (an engine passed in is the caller's)."""
        if self._owns_engine and not self._closed:
            self._engine = self._engine or self._new_engine()
            self._engine.launch(self.settings)

    def _new_engine(self) -> SpeechEngine:
        return SpeechEngine(self.settings.engine, voice_dir=self.voice_dir)

    def _speak(self, engine: SpeechEngine, text: str) -> np.ndarray:
        """One phrase through ``engine``, processed: a cue at the session rate."""
        from voicecoach.cues.dsp import SilenceError, process  # numpy: only on a cache miss

        pcm, rate = engine.synthesize(text, self.settings)
        try:
            return process(pcm, rate, self.samplerate)
        except SilenceError as exc:
            raise InputError(f"cue {text!r}: the speech engine produced no audible speech ({exc})") from exc

    def close(self) -> None:
        """Stop an engine this bank started. Cues already fetched stay valid."""
        self._closed = True
        if self._owns_engine and self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> CueBank:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
