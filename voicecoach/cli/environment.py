"""Everything the CLI takes from the outside world, in one injectable object.

Tests build an :class:`Environment` with in-memory streams and temporary
folders and run the real CLI in-process (the httpie model).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol, TextIO

import platformdirs

from voicecoach.plan.phrases import locale_language

if TYPE_CHECKING:  # the real ones import numpy and sounddevice: only when playing
    from voicecoach.live.playback import Control
    from voicecoach.live.player import Backend

APP = "voicecoach"


class KeySource(Protocol):
    """Single key presses during play: a key, or None when none is waiting."""

    def poll(self) -> str | None: ...


def sounddevice_backend() -> Backend:
    """The real audio output (PortAudio), imported only when asked for."""
    from voicecoach.live.player import SoundDeviceBackend

    return SoundDeviceBackend()


def terminal_keys(stream: IO, enabled: bool) -> AbstractContextManager[KeySource]:
    """Keys from the terminal behind ``stream`` in cbreak mode (nothing when
    ``enabled`` is false: no terminal, no keys)."""
    from voicecoach.cli.console import KeyReader

    return KeyReader(stream, enabled)


def _isatty(stream: IO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class Environment:
    """Streams, folders, clocks and devices of one CLI run (``clock`` and
    ``sleep`` for intervals, ``now`` for the dates in the training history).

    ``audio_backend`` makes the audio output (and lists its devices);
    ``keys`` opens the key source for play from ``stdin`` and whether the
    run is interactive; ``controls`` are further command sources entered
    with the transport while a session plays; ``listener`` opens the recogniser
    of ``play --listen`` (None: the voice-control extra's).

    ``VOICECOACH_CONFIG_DIR``, ``VOICECOACH_CACHE_DIR`` and
    ``VOICECOACH_DATA_DIR`` override the platform folders.
    """

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    config_dir: Path = field(default_factory=lambda: _dir("CONFIG", platformdirs.user_config_dir))
    cache_dir: Path = field(default_factory=lambda: _dir("CACHE", platformdirs.user_cache_dir))
    data_dir: Path = field(default_factory=lambda: _dir("DATA", platformdirs.user_data_dir))
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    audio_backend: Callable[[], Backend] = sounddevice_backend
    keys: Callable[[IO, bool], AbstractContextManager[KeySource]] = terminal_keys
    controls: tuple[Control, ...] = ()
    listener: Callable[..., AbstractContextManager] | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    language: str = field(default_factory=locale_language)  # from LC_ALL, LC_MESSAGES, LANG
    stdin_isatty: bool | None = None
    stderr_isatty: bool | None = None

    @property
    def interactive(self) -> bool:
        """Keys and a status line only when a person is at a terminal."""
        tty = self.stdin_isatty if self.stdin_isatty is not None else _isatty(self.stdin)
        return tty and self.progress

    @property
    def progress(self) -> bool:
        """Progress bars and status lines go to stderr only when it is a terminal."""
        return self.stderr_isatty if self.stderr_isatty is not None else _isatty(self.stderr)


def _dir(kind: str, default: Callable[..., str]) -> Path:
    override = os.environ.get(f"VOICECOACH_{kind}_DIR")
    return Path(override) if override else Path(default(APP, appauthor=False))
