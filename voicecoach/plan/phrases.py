"""The phrase book: generic spoken phrases, loaded from ``audio_cues/phrases.toml``.

Kept as data so wording can change without touching the scheduler, and so a
translation is one file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_ONES: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_ONES += ("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

MAX_COUNT = 99
"""The highest number :func:`number_word` says: a preset counts no further."""


def number_word(n: int) -> str:
    """``7 -> 'Seven'``, ``42 -> 'Forty-two'`` (0 to 99): what the count says."""
    if not 0 <= n <= MAX_COUNT:
        raise ValueError(f"can count from 0 to {MAX_COUNT}, got {n}")
    word = _ONES[n] if n < 20 else _TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else "")
    return word.capitalize()


@dataclass(frozen=True)
class PhraseBook:
    """Phrase variants by name; :meth:`variants` fills the placeholders."""

    entries: dict

    def variants(self, name: str, **values: object) -> tuple[str, ...]:
        """The variants of ``name``, filled in; an entry that says a number
        is a table of plural forms (``by``, ``one``, ``other``): the form of
        the number it is ``by`` is taken, ``one`` for the numbers the book
        lists in ``plural_one`` (the grammar is the language's, not ours)."""
        entry = self.entries[name]
        while isinstance(entry, dict):
            one = str(values[entry["by"]]) in self.entries["plural_one"]
            entry = entry["one" if one else "other"]
        return tuple(v.format(**values) for v in entry)

    def says(self, words: str, text: str) -> bool:
        """Whether ``text`` says one of the phrase book's ``words`` entries
        (``exhale_words``, ``inhale_words``): a word of several, or longer
        than three letters, anywhere; a short one only opening a sentence or
        clause, so "Reach out" is not a breath."""
        return any(_pattern(w).search(text) for w in self.entries[words])


@lru_cache(maxsize=64)
def _pattern(word: str) -> re.Pattern:
    body = r"\s+".join(map(re.escape, word.split()))
    if " " in word.strip() or len(word) > 3:
        return re.compile(rf"\b{body}\b", re.IGNORECASE)
    return re.compile(rf"(?:^|[.!?,;:]\s*|\band\s+){body}\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def default_phrases() -> PhraseBook:
    text = resources.files("voicecoach.audio_cues").joinpath("phrases.toml").read_text("utf-8")
    return PhraseBook(tomllib.loads(text))
