"""Many phrases at once: several engine workers side by side, the phrases needed first handed out first.

Each phrase takes a free :class:`~voicecoach.cues.engine.SpeechEngine` (one
worker process each); the threads mostly wait on pipes, so the GIL is not
the limit. Pays only when there are enough phrases to cover the start of the
extra workers (a Python interpreter and, for Piper, a model load each).
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np

POOL_MIN_PHRASES = 8
"""Fewer misses than this: one worker (starting another would cost more than it saves)."""

MAX_WORKERS = 4
"""Workers never exceed this nor the machine's cores (each Piper worker holds its model in memory)."""

E = TypeVar("E")


def pool_size(misses: int) -> int:
    """How many workers pay for ``misses`` phrases on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if misses < POOL_MIN_PHRASES:
        return 1
    return max(1, min(cores, MAX_WORKERS, misses // (POOL_MIN_PHRASES // 2)))


def synthesize_all(
    texts: Sequence[str], engines: Sequence[E], speak: Callable[[E, str], np.ndarray]
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(text, speak(engine, text))`` as each phrase is done, in roughly the order given.

    Each engine speaks one phrase at a time. The first error is raised here;
    then, as when the caller stops early (Ctrl-C), the phrases not begun are
    dropped and those under way are not waited for: closing their engines ends them.
    """
    free: queue.SimpleQueue[E] = queue.SimpleQueue()
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
