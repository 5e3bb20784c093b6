"""Typed reads from a parsed TOML table that fail with file, key and value.

Kept apart from the preset model so that every reader of user files (presets
today, other settings later) reports problems the same way: one line,
``SOURCE: KEY: problem (got VALUE)``, as a :class:`PresetError` (exit 2).
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from voicecoach.common.numbers import is_int, is_real
from voicecoach.errors import PresetError

MAX_CUE_CHARS = 300
"""The longest phrase spoken as one cue (a warm-up step's text too)."""
MAX_LIST_ITEMS = 100
"""Variants or sentences in one cue list."""


def voiceable(text: str) -> bool:
    """Whether a speech engine has anything to say: a letter or a digit 0-9.
    ``"..."``, zero-width spaces or digits of other scripts (Arabic-Indic,
    mathematical bold) pass every other check and then make an engine
    produce nothing, which fails the export."""
    return any(unicodedata.category(ch)[0] == "L" or ch in "0123456789" for ch in text)


def clean(text: str) -> str:
    """``text`` without control characters (a terminal escape in a title)."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch in "\t")


class Checker:
    """Typed reads from a TOML table that fail with file, key and value: each
    read names the key by its path (``"mix.voice"``), the key being its last part.

    ``options`` maps a key's path to the command-line option that set it
    (``{"mix.voice": "--voice-volume"}``): its problems name the option,
    and the value as it was typed, instead of the source and the key.
    """

    def __init__(self, source: str, options: Mapping[str, str] | None = None):
        self.source, self.options = source, dict(options or {})

    def fail(self, path: str, problem: str, value: Any = ...) -> PresetError:
        option = self.options.get(path)
        if value is not ...:  # as it was typed for an option (``100``, not ``100.0``)
            shown = f"{value:g}" if option is not None and isinstance(value, float) else repr(value)
            problem = f"{problem} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        return PresetError(self.source, path, problem) if option is None else PresetError("", option, problem)

    def _absent(self, path: str, default: Any) -> Any:
        """What an absent key reads as: ``default``, or an error when there is none."""
        if default is ...:
            raise self.fail(path, "missing key")
        return default

    def unknown(self, table: dict, allowed: tuple[str, ...], prefix: str = "") -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(allowed)}"
                raise self.fail(prefix + str(key), f"unknown key{hint}")

    def text(
        self, table: dict, path: str, default: Any = ..., empty: bool = False, max_len: int = 200, spoken: bool = False
    ) -> Any:
        key = _key(path)
        if key not in table:
            return self._absent(path, default)
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(path, "must be a string", value)
        value = clean(value).strip()
        if not value and not empty:
            raise self.fail(path, "must not be empty", table[key])
        if len(value) > max_len:
            raise self.fail(path, f"is too long ({len(value)} characters; at most {max_len})", value[:40] + "...")
        if spoken and value and not voiceable(value):
            raise self.fail(path, "has nothing to say: it needs a letter or a digit 0-9", value)
        return value

    def integer(self, table: dict, path: str, lo: int, hi: int, default: Any = ...) -> Any:
        key = _key(path)
        if key not in table:
            return self._absent(path, default)
        value = table[key]
        if not is_int(value):
            raise self.fail(path, "must be a whole number", value)
        if not lo <= value <= hi:
            raise self.fail(path, f"must be between {lo} and {hi}", value)
        return value

    def seconds(self, table: dict, path: str, lo: float, hi: float, default: Any = ..., unit: str = "seconds") -> Any:
        key = _key(path)
        if key not in table:
            return self._absent(path, default)
        value = table[key]
        if not is_real(value):
            raise self.fail(path, f"must be a number of {unit}", value)
        if not math.isfinite(value) or not lo <= value <= hi:
            raise self.fail(path, f"must be between {lo:g} and {hi:g} {unit}", value)
        return float(value)

    def boolean(self, table: dict, path: str, default: bool) -> bool:
        value = table.get(_key(path), default)
        if not isinstance(value, bool):
            raise self.fail(path, "must be true or false", value)
        return value

    def choice(self, table: dict, path: str, choices: tuple[str, ...], default: str) -> str:
        value = table.get(_key(path), default)
        if not isinstance(value, str) or value not in choices:
            raise self.fail(path, f"must be one of {', '.join(choices)}", value)
        return value

    def texts(self, table: dict, path: str) -> tuple[str, ...]:
        value = table.get(_key(path), [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(path, "must be a string or a list of strings", value)
        if len(value) > MAX_LIST_ITEMS:
            raise self.fail(path, f"has {len(value)} entries; at most {MAX_LIST_ITEMS}")
        out = []
        for i, raw in enumerate(value):
            item, at = clean(raw) if isinstance(raw, str) else raw, f"{path}[{i}]"
            if not isinstance(item, str) or not item.strip():
                raise self.fail(at, "must be a non-empty string", item)
            if len(item) > MAX_CUE_CHARS:
                raise self.fail(
                    at, f"is too long to speak as one cue ({MAX_CUE_CHARS} characters at most)", item[:40] + "..."
                )
            if not voiceable(item):
                raise self.fail(at, "has nothing to say: it needs a letter or a digit 0-9", item)
            out.append(item.strip())
        return tuple(out)

    def table(self, data: dict, key: str) -> dict:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table", value)
        return value


def _key(path: str) -> str:
    return path.rpartition(".")[2]
