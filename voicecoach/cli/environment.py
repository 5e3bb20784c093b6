"""Everything the CLI takes from the outside world, in one injectable object.

Tests build an :class:`Environment` with in-memory streams and temporary
folders and run the real CLI in-process (the httpie model).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Callable

import platformdirs

APP = "voicecoach"


def _isatty(stream: IO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class Environment:
    """Streams, folders and clocks of one CLI run (``clock`` for intervals,
    ``now`` for the dates in the training history).

    ``VOICECOACH_CONFIG_DIR``, ``VOICECOACH_CACHE_DIR`` and
    ``VOICECOACH_DATA_DIR`` override the platform folders.
    """

    stdin: IO = field(default_factory=lambda: sys.stdin)
    stdout: IO = field(default_factory=lambda: sys.stdout)
    stderr: IO = field(default_factory=lambda: sys.stderr)
    config_dir: Path = field(default_factory=lambda: _dir("CONFIG", platformdirs.user_config_dir))
    cache_dir: Path = field(default_factory=lambda: _dir("CACHE", platformdirs.user_cache_dir))
    data_dir: Path = field(default_factory=lambda: _dir("DATA", platformdirs.user_data_dir))
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
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
