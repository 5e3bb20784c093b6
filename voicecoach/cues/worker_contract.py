"""What the worker and its engine backends share: the errors a backend raises
(the worker turns each into a reply kind) and the children a backend runs
(the worker kills them before it removes its folder).

No imports of ours and no lazy imports at use: :func:`voicecoach.cues.worker._leave`
runs from a signal handler or a thread while the main thread may hold the import lock.
"""

from __future__ import annotations


class EngineMissing(Exception):
    """The engine's package or system library is absent: reply ``missing``."""


class EngineTimeout(Exception):
    """A request ran past its timeout and was abandoned: reply ``timeout``."""


RUNNING: set[int] = set()
"""Process ids of the children speaking right now (pyttsx3's fresh engine per phrase)."""
