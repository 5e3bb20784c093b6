"""What the user chooses about the voice (part of every cue's cache key), and the voices an engine offers."""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.common.numbers import is_int
from voicecoach.errors import InputError
from voicecoach.plan.kinds import EngineKind

MIN_RATE, MAX_RATE = 80, 450
"""Speaking rates (words per minute) accepted: espeak-ng's own range."""


@dataclass(frozen=True)
class Voice:
    """A voice an engine offers (``voicecoach voices`` lists them).

    ``languages`` are lower-case codes with a hyphen (``en-us``), whatever the engine's own spelling;
    ``quality`` is Piper's (``medium``), empty for pyttsx3.
    """

    id: str
    name: str
    languages: tuple[str, ...]
    engine: EngineKind = EngineKind.PYTTSX3
    quality: str = ""


@dataclass(frozen=True)
class SpeechSettings:
    """Everything the user chooses about the voice; part of the cache key.

    ``voice`` is what the user typed (:func:`~voicecoach.cues.voices.match_voice`), ``rate`` in words per
    minute; ``None`` keeps the engine's default for either. ``engine`` is the choice as given:
    :func:`~voicecoach.cues.engine_choice.resolve` makes ``auto`` concrete before anything is cached.
    """

    voice: str | None = None
    rate: int | None = None
    engine: EngineKind = EngineKind.AUTO

    def __post_init__(self) -> None:
        if not isinstance(self.engine, EngineKind):
            raise TypeError(f"engine must be an EngineKind, not {type(self.engine).__name__}")
        if self.voice is not None:
            if not isinstance(self.voice, str):
                raise TypeError(f"voice must be a str or None, not {type(self.voice).__name__}")
            if not self.voice.strip():
                raise InputError("voice: must not be empty")
        if self.rate is not None:
            if not is_int(self.rate):
                raise TypeError(f"rate must be an int or None, not {type(self.rate).__name__}")
            if not MIN_RATE <= self.rate <= MAX_RATE:
                raise InputError(f"rate: {self.rate} words per minute is outside {MIN_RATE}-{MAX_RATE}")


def check_text(text: object) -> str:
    """``text`` if it is something to say: a non-blank string."""
    if not isinstance(text, str):
        raise TypeError(f"cue text must be a str, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("cue text must not be empty")
    return text
