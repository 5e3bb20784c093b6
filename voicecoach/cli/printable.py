"""Text made safe for the terminal it is printed on.

Preset titles, file names and values come from users: a title can carry
terminal control sequences (an OSC that retitles the window, a bell), a file
name can be bytes that are not UTF-8 (Python keeps them as lone surrogates),
and standard output can be a stream that only encodes ASCII. Everything the
CLI prints goes through :func:`printable` so none of these can garble the
terminal or crash the run.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

__all__ = ["printable"]

_ASCII_ART = str.maketrans({**dict.fromkeys("█▉▊▋▌▍▎▏", "#"), "…": "...", "—": "-", "\u2013": "-", "→": "->"})
_SURROGATE = re.compile("[\udc80-\udcff]")


def printable(text: str, encoding: str | None = "utf-8") -> str:
    """``text`` with control characters removed, undecodable bytes of a
    file name shown as ``\\xNN``, and, when ``encoding`` can not show a
    character, ASCII art for the chart's glyphs and ``\\u`` escapes for the rest."""
    text = _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", str(text))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            return text
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            text = text.translate(_ASCII_ART)
            text = text.encode(encoding, "backslashreplace").decode(encoding)
    return text
