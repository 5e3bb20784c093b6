"""Many phrases at once: several engine workers side by side, the phrases needed first handed out first.

Each thread drives its own :class:`~voicecoach.cues.engine.SpeechEngine`
(one worker process each); the threads mostly wait on pipes, so the GIL is
not the limit. Pays only when there are enough phrases to cover the start
of the extra workers (a Python interpreter and, for Piper, a model load each).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

POOL_MIN_PHRASES = 8
"""Fewer misses than this: one worker (starting another would cost more than it saves)."""

MAX_WORKERS = 4
"""Workers never exceed this nor the machine's cores (each Piper worker holds its model in memory)."""


def pool_size(misses: int) -> int:
    """How many workers pay for ``misses`` phrases on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if misses < POOL_MIN_PHRASES:
        return 1
    return max(1, min(cores, MAX_WORKERS, misses // (POOL_MIN_PHRASES // 2)))


def synthesize_all(
    texts: Sequence[str], engines: Sequence, speak: Callable[[object, str], np.ndarray]
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(text, speak(engine, text))`` as each phrase is done, in roughly the order given.

    ``engines`` are used one per thread; the first error stops the hand-out
    and is raised here after the running phrases finish.
    """
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for text in texts:
        todo.put(text)
    done: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def work(engine) -> None:
        try:
            while not stop.is_set():
                try:
                    text = todo.get_nowait()
                except queue.Empty:
                    return
                done.put((text, speak(engine, text), None))
        except BaseException as exc:  # handed to the caller's thread
            stop.set()
            done.put((None, None, exc))
        finally:
            done.put(None)

    threads = [threading.Thread(target=work, args=(e,), name="voicecoach-cue-pool", daemon=True) for e in engines]
    for t in threads:
        t.start()
    running, error = len(threads), None
    try:
        while running:
            item = done.get()
            if item is None:
                running -= 1
                continue
            text, pcm, exc = item
            if exc is not None:
                error = error or exc
                continue
            if error is None:
                yield text, pcm
    finally:
        # Interrupted (Ctrl-C, the caller stopped early): no more hand-outs, and
        # no waiting for phrases under way; closing their engines ends them.
        stop.set()
    if error is not None:
        raise error
