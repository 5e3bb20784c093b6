"""The terminal during playback: single keys without Enter, one status line.

Both are no-ops when there is no terminal (piped, in the background), so
nothing breaks and nothing is printed there.
"""

from __future__ import annotations

import os
import select
from typing import IO

from voicecoach.cli.timeline_table import clock
from voicecoach.live.now_playing import now_playing
from voicecoach.live.transport import Transport
from voicecoach.plan.phrases import PhraseBook, default_phrases


class KeyReader:
    """Reads single key presses from a terminal in cbreak mode (no echo)."""

    def __init__(self, stream: IO, enabled: bool, phrases: PhraseBook | None = None):
        self.stream = stream
        self.enabled = enabled
        self.phrases = phrases
        self._saved: list | None = None

    def __enter__(self) -> KeyReader:
        if self.enabled:
            import termios
            import tty

            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None

    def poll(self) -> str | None:
        """A key if one was pressed, else None; never blocks."""
        if not self.enabled:
            return None
        fd = self.stream.fileno()
        ready, _, _ = select.select([fd], [], [], 0)
        if not ready:
            return None
        data = os.read(fd, 1)
        return data.decode("utf-8", "replace") if data else None


def status_text(t: Transport, phrases: PhraseBook | None = None) -> str:
    """``set 2/3  rep 4/10  lower  3:12 left`` for where the session is
    (``count-in``, ``stopping``... while the player speaks), in the session's language."""
    now, book = now_playing(t), phrases or default_phrases()
    left = book.text("status_left", clock=clock(now.frames - now.position, now.samplerate))
    return f"{now.describe(phrases=book)}  {left}"


class StatusLine:
    """One line redrawn in place on a terminal; silent otherwise."""

    HELP = "  [space pause  n next  b set again  q quit]"

    def __init__(self, stream: IO, enabled: bool, phrases: PhraseBook | None = None):
        self.stream = stream
        self.enabled = enabled
        self.phrases = phrases
        self._last = ""

    def draw(self, t: Transport) -> None:
        if not self.enabled:
            return
        text = status_text(t, self.phrases) + self.HELP
        if text != self._last:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._last = text

    def clear(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._last = ""
