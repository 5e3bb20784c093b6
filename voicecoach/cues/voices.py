"""Finding the voice a user typed among an engine's voices, and naming the closest ones when none fits.

People type an engine's id (``gmw/en-us``, ``en_US-joe-medium``), a name (``joe``), a language code
in either spelling (``en-gb``, ``en_GB``) or a word (``british``). espeak-ng calls its British voice
``gmw/en`` with the language ``en-gb``, so codes are matched against each voice's languages too.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from voicecoach.cues.settings import Voice
from voicecoach.errors import InputError

ALIASES: dict[str, str] = {
    "english": "en",
    "british": "en-gb",
    "uk": "en-gb",
    "en-uk": "en-gb",
    "scottish": "en-gb-scotland",
    "american": "en-us",
    "us": "en-us",
    "usa": "en-us",
    "german": "de",
    "french": "fr-fr",
    "spanish": "es",
    "italian": "it",
    "dutch": "nl",
}
"""Common words and codes for a language, as the code a voice lists."""


def norm(text: str) -> str:
    """An id, name or language code as compared: ``en_GB`` and ``EN-gb`` are ``en-gb``."""
    return text.strip().casefold().replace("_", "-")


def match_voice(wanted: str, voices: Sequence[Voice]) -> Voice | None:
    """The voice ``wanted`` names, or None.

    In order: the id, the name, the id's last part (``en-us`` for ``gmw/en-us``), a language code (``en-gb``), a
    language family (``en`` picks an ``en-*`` voice), a part of the name. Among several matches the shortest
    name wins (``english`` is English, not "Chinese (latin as English)").
    """
    w = norm(wanted)
    w = ALIASES.get(w, w)
    rules = (
        lambda v: norm(v.id) == w,
        lambda v: norm(v.name) == w,
        lambda v: norm(v.id).rsplit("/", 1)[-1] == w,
        lambda v: w in (norm(lang) for lang in v.languages),
        lambda v: any(norm(lang).startswith(w + "-") for lang in v.languages),
        lambda v: w in norm(v.name),
    )
    for rule in rules:
        matches = [v for v in voices if rule(v)]
        if matches:
            return min(matches, key=lambda v: (not norm(v.name).startswith(w), len(v.name), v.name, v.id))
    return None


def closest_voices(wanted: str, voices: Sequence[Voice], n: int = 4) -> list[Voice]:
    """The voices whose id, name or language looks most like ``wanted`` (English ones when nothing does)."""
    w = norm(wanted)
    keys: dict[str, Voice] = {}
    for v in voices:
        for key in (v.id, v.id.rsplit("/", 1)[-1], v.name, *v.languages):
            keys.setdefault(norm(key), v)
    found: list[Voice] = []
    for key in difflib.get_close_matches(w, list(keys), n=3 * n, cutoff=0.5):
        if keys[key] not in found:
            found.append(keys[key])
    if not found:
        found = [v for v in voices if any(lang.startswith("en") for lang in v.languages)] or list(voices)
    return found[:n]


def unknown_voice(wanted: str, voices: Sequence[Voice], where: str = "voice") -> InputError:
    """The one-line error for a voice nobody has: the closest choices, with their engines."""
    near = ", ".join(f"{v.id} ({v.engine}: {v.name})" for v in closest_voices(wanted, voices))
    return InputError(f"{where}: unknown voice {wanted!r}; closest: {near} (all: voicecoach voices)")
