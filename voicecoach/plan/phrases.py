"""The phrase book: everything the coach says or shows in one language,
loaded from ``audio_cues/phrases.toml`` (English) or ``phrases.LANG.toml``.

Kept as data so a translation is one file: a user drops ``phrases.LANG.toml``
into the config folder and has a new language without a release. Grammar
comes from the language's data too: plural forms from CLDR (Babel) and
number words from num2words, both imported only when a number is said.
"""

from __future__ import annotations

import locale as _locale
import os
import re
import string
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from voicecoach.common.files import UnusableFile, read_capped
from voicecoach.errors import InputError

MAX_COUNT = 99
"""The highest number a preset's warm-up counts to."""
DEFAULT_LANGUAGE = "en"
BUILT_IN_LANGUAGES = ("de", "en", "es", "fr")
MAX_BOOK_BYTES = 1024 * 1024
_CODE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True)
class PhraseBook:
    """Phrase variants by name in ``language``; :meth:`variants` fills the placeholders."""

    entries: dict
    language: str = DEFAULT_LANGUAGE

    def variants(self, name: str, **values: object) -> tuple[str, ...]:
        """The variants of ``name``, filled in; an entry that says a number
        is a table of plural forms (``by`` names the number, then the CLDR
        categories ``one``, ``few``, ``many``, ``other``): the number's form
        in this language is taken, ``other`` when the book lacks it."""
        entry = self.entries[name]
        if isinstance(entry, str):
            entry = [entry]
        while isinstance(entry, dict):
            form = plural_form(self.language, values[entry["by"]])
            entry = entry.get(form, entry["other"])
        return tuple(v.format(**values) for v in entry)

    def text(self, name: str, **values: object) -> str:
        """The first (longest) variant of ``name``: what is shown or said when there is room."""
        return self.variants(name, **values)[0]

    def say(self, said: Sentence) -> str:
        """``said`` in this language, the sentences inside it first."""
        values = {k: self.say(v) if isinstance(v, Sentence) else v for k, v in said.values}
        return self.text(said.key, **values)

    def number(self, n: int) -> str:
        """``7`` as a count says it, capitalised (``Seven``, ``Sieben``, ``Sept``)."""
        word = number_word(n, self.language)
        return word[:1].upper() + word[1:]

    def join(self, head: str, tail: str) -> str:
        """Two cues said as one ("Out" + "Lift" -> "Out, lift"): the second
        loses its capital only where the language writes it so (German
        nouns keep theirs)."""
        return self.entries.get("join", "{0}, {1}").format(head, self.continued(tail))

    def continued(self, text: str) -> str:
        """``text`` going on after a comma or a semicolon: its capital dropped
        where the language writes it so (German nouns keep theirs)."""
        return text[:1].lower() + text[1:] if self.entries.get("join_lowercase", True) else text

    @property
    def side_names(self) -> tuple[str, str]:
        left, right = self.entries["side_names"]
        return left, right

    def label(self, kind: str, style: str) -> str:
        """A segment kind's name where ``style`` shows it (status line, table, chapter)."""
        names = self.entries["segment_names"]
        if style == "status" and kind in ("top", "bottom"):
            return self.entries["pause"]
        word = self.entries.get("table_names", {}).get(kind, names[kind]) if style == "table" else names[kind]
        return word[:1].upper() + word[1:] if style == "chapter" else word

    def says(self, words: str, text: str) -> bool:
        """Whether ``text`` says one of the phrase book's ``words`` entries
        (``exhale_words``, ``inhale_words``): a word of several, or longer
        than three letters, anywhere; a short one only opening a sentence or
        clause (after a comma or the book's ``and``), so "Reach out" is not a breath."""
        joins = tuple(self.entries.get("and_words", ()))
        return any(_pattern(w, joins).search(text) for w in self.entries[words])

    def missing(self, reference: PhraseBook) -> list[str]:
        """Keys of ``reference`` (the English book) this book lacks, in its order."""
        return [k for k in reference.entries if k not in self.entries and k not in _OPTIONAL]


_OPTIONAL = ("presets", "table_names")


@dataclass(frozen=True)
class Sentence:
    """A sentence named by its phrase-book key, with what fills it (numbers,
    names, other sentences): decided once, said in any language by :meth:`PhraseBook.say`."""

    key: str
    values: tuple[tuple[str, object], ...] = ()


def sentence(key: str, **values: object) -> Sentence:
    return Sentence(key, tuple(values.items()))


@lru_cache(maxsize=256)
def _pattern(word: str, joins: tuple[str, ...]) -> re.Pattern:
    body = r"\s+".join(map(re.escape, word.split()))
    if " " in word.strip() or len(word) > 3:
        return re.compile(rf"\b{body}\b", re.IGNORECASE)
    after = "".join(rf"|\b{re.escape(j)}\s+" for j in joins)
    return re.compile(rf"(?:^|[.!?,;:]\s*{after}){body}\b", re.IGNORECASE)


@lru_cache(maxsize=16)
def _plural_rule(language: str):
    """The language's CLDR plural rule, or None when CLDR does not know it: read
    from its own locale file (a merged locale costs several times as much)."""
    from babel import localedata  # CLDR data: only when a number is said

    if not localedata.exists(language):
        return None
    return localedata.load(language, merge_inherited=False).get("plural_form")


@lru_cache(maxsize=1024)
def _plural(language: str, number: str) -> str:
    rule = _plural_rule(language)
    try:
        value = float(number) if "." in number else int(number)
    except ValueError:
        value = None
    if rule is None or value is None:
        return "one" if number == "1" else "other"
    return rule(value)


def plural_form(language: str, number: object) -> str:
    """The CLDR plural category of ``number`` in ``language`` (``one``, ``few``, ``many``, ``other``)."""
    return _plural(language, str(number))


@lru_cache(maxsize=2048)
def number_word(n: int, language: str = DEFAULT_LANGUAGE) -> str:
    """``42 -> 'forty-two'`` in ``language``, from num2words; a language it
    does not know gets the digits, which every voice reads in its own language."""
    if n < 0:
        raise ValueError(f"can count from 0, got {n}")
    from num2words import num2words  # only when a number is said

    try:
        return num2words(n, lang=language)
    except NotImplementedError:
        return str(n)


def knows_numbers(language: str) -> bool:
    """Whether num2words has number words for ``language``."""
    from num2words import CONVERTER_CLASSES

    return language in CONVERTER_CLASSES


def locale_language(environ: dict | None = None) -> str:
    """The user's language from the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``,
    the first set wins, as for messages), English when it is unset or ``C``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            code = _locale.normalize(value).split("_")[0].split(".")[0].lower()
            return code if _CODE.fullmatch(code) else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def book_file(language: str) -> str:
    """The file name of ``language``'s phrase book."""
    return "phrases.toml" if language == DEFAULT_LANGUAGE else f"phrases.{language}.toml"


def user_book(language: str, config_dir: Path | None) -> Path | None:
    path = None if config_dir is None else Path(config_dir) / book_file(language)
    return path if path is not None and path.is_file() else None


def available_languages(config_dir: Path | None = None) -> list[str]:
    """Built-in languages and those the user added in ``config_dir``."""
    mine = [] if config_dir is None else [p.name.split(".")[1] for p in Path(config_dir).glob("phrases.*.toml")]
    return sorted(set(BUILT_IN_LANGUAGES) | set(mine))


def phrase_book(language: str = DEFAULT_LANGUAGE, config_dir: Path | None = None) -> PhraseBook:
    """``language``'s phrase book: the user's own in ``config_dir`` first,
    then the built-in one; a key it lacks is taken from English, so a
    partial book still speaks (``presets validate --language`` lists the gaps)."""
    if not isinstance(language, str):
        raise TypeError(f"language must be a str, got {type(language).__name__}")
    language = language.strip().lower().replace("_", "-").split("-")[0]
    path = user_book(language, config_dir)
    if path is None and language not in BUILT_IN_LANGUAGES:
        known = ", ".join(available_languages(config_dir))
        raise InputError(f"language: no phrase book for {language!r}; known: {known} (see the README to add one)")
    english = {k: v for k, v in _built_in(DEFAULT_LANGUAGE).entries.items() if k not in _OPTIONAL}
    own = _read_user(path) if path is not None else _built_in(language).entries
    if path is not None:
        for key, value in own.items():
            if key in english:
                _check_entry(path, key, value, english[key])
        _check_presets(path, own.get("presets", {}))
        own = {
            k: {**english[k], **v} if isinstance(english.get(k), dict) and "by" not in english[k] else v
            for k, v in own.items()
        }
    return PhraseBook({**english, **own}, language)


def _placeholders(value: object) -> set[str] | None:
    """The placeholders of a phrase-book entry (a string, a list of them, or a
    table of plural forms), or None when it is none of those."""
    if isinstance(value, str):
        return {f for _, f, _, _ in string.Formatter().parse(value) if f}
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return set().union(*map(_placeholders, value))  # type: ignore[arg-type]
    if isinstance(value, dict) and isinstance(value.get("by"), str) and "other" in value:
        forms = [_placeholders(v) for k, v in value.items() if k != "by"]
        return None if None in forms else {value["by"]}.union(*forms)  # type: ignore[arg-type]
    return None


def _check_entry(path: Path, key: str, value: object, english: object) -> None:
    """A user's entry is text the English one could be, filling no placeholder the
    English one lacks: else it would fail in the middle of a session."""
    if not isinstance(english, (str, list, dict)):
        return
    if isinstance(english, dict) and "by" not in english:  # names by kind: some may be given
        if not isinstance(value, dict) or not all(k in english and isinstance(v, str) for k, v in value.items()):
            raise InputError(f"{path}: {key}: must be a table of texts for some of: {', '.join(english)}")
        return
    if key == "side_names" and not (isinstance(value, list) and len(value) == 2):
        raise InputError(f"{path}: side_names: must name exactly two sides")
    mine, theirs = _placeholders(value), _placeholders(english) or set()
    if mine is None or (isinstance(english, str) and not isinstance(value, str)):
        what = "a string" if isinstance(english, str) else "a list of strings, or a table of plural forms"
        raise InputError(f"{path}: {key}: must be {what}, like the English book's")
    if mine - theirs:
        known = ", ".join("{" + n + "}" for n in sorted(theirs)) or "none"
        raise InputError(f"{path}: {key}: no such placeholder {', '.join(sorted(mine - theirs))} (known: {known})")


def _check_presets(path: Path, presets: object) -> None:
    """``[presets.NAME]`` tables: the words of a built-in, checked again as a preset when one is loaded."""
    tables = presets.values() if isinstance(presets, dict) else [None]
    for words in tables:
        ok = isinstance(words, dict) and isinstance(words.get("cues", {}), dict)
        if not ok or not isinstance(words.get("warmup", []), list):  # type: ignore[union-attr]
            raise InputError(f"{path}: presets: each [presets.NAME] is a table, its cues a table, its warmup a list")


def own_entries(language: str, config_dir: Path | None = None) -> dict:
    """What ``language``'s own book holds, without the English it falls back to."""
    path = user_book(language, config_dir)
    return _read_user(path) if path is not None else _built_in(language).entries


def _read_user(path: Path) -> dict:
    try:
        return tomllib.loads(read_capped(path, MAX_BOOK_BYTES).decode("utf-8"))
    except UnusableFile as exc:
        raise InputError(f"{path}: {exc.problem}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not a valid phrase book: {exc}") from None


@lru_cache(maxsize=8)
def _built_in(language: str) -> PhraseBook:
    text = resources.files("voicecoach.audio_cues").joinpath(book_file(language)).read_text("utf-8")
    return PhraseBook(tomllib.loads(text), language)


def default_phrases() -> PhraseBook:
    """The English phrase book."""
    return _built_in(DEFAULT_LANGUAGE)
