"""Which engine speaks: ``auto`` made concrete, and a voice checked against every engine.

``auto`` picks Piper when piper-tts and a Piper voice are installed and the voice asked for (if
any) is one of Piper's, pyttsx3 otherwise: ``--voice en-gb`` keeps meaning espeak's British voice
while the default voice becomes the neural one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from voicecoach.cues.piper_voices import choose_piper_voice, find_piper_voices, piper_installed
from voicecoach.cues.settings import EngineKind, SpeechSettings, Voice
from voicecoach.cues.voices import match_voice, norm, unknown_voice
from voicecoach.errors import InputError, SpeechEngineError


def neural_available(voice_dir: Path | None) -> bool:
    """piper-tts importable and at least one Piper voice installed."""
    return piper_installed() and bool(find_piper_voices(voice_dir))


def resolve(settings: SpeechSettings, voice_dir: Path | None = None, where: str = "voice") -> SpeechSettings:
    """``settings`` with a concrete engine; Piper voices are checked here (cheap, no worker).

    Raises
    ------
    SpeechEngineError
        ``piper`` asked for but not installed (exit 1).
    InputError
        A voice Piper does not have, with ``piper`` asked for (exit 2).
    """
    kind = settings.engine
    if kind is EngineKind.AUTO:
        use_piper = neural_available(voice_dir) and (
            settings.voice is None
            or match_voice(settings.voice, [f.voice for f in find_piper_voices(voice_dir)]) is not None
        )
        kind = EngineKind.PIPER if use_piper else EngineKind.PYTTSX3
    if kind is EngineKind.PIPER:
        if not piper_installed():
            raise SpeechEngineError(
                "the neural voice engine (piper-tts) is not installed: "
                "pip install 'voicecoach[neural]' (scripts/setup installs it), "
                "or choose --engine pyttsx3"
            )
        choose_piper_voice(settings.voice, voice_dir, where)
    return replace(settings, engine=kind)


def pyttsx3_voices() -> list[Voice]:
    """pyttsx3's voices (starts a worker for the moment it takes)."""
    from voicecoach.cues.engine import SpeechEngine

    with SpeechEngine(EngineKind.PYTTSX3) as engine:
        return engine.voices()


def check_voice(settings: SpeechSettings, voice_dir: Path | None = None, where: str = "voice") -> SpeechSettings:
    """:func:`resolve`, and a pyttsx3 voice checked too (this starts the worker).

    For validation, where nothing is synthesised: an unknown voice is an :class:`InputError` naming ``where``
    and the closest voices of the engines that could have spoken.
    """
    resolved = resolve(settings, voice_dir, where)
    if resolved.voice is None or resolved.engine is not EngineKind.PYTTSX3:
        return resolved
    voices = pyttsx3_voices()
    if match_voice(resolved.voice, voices) is None:
        pool = voices
        if settings.engine is EngineKind.AUTO and neural_available(voice_dir):
            pool = [f.voice for f in find_piper_voices(voice_dir)] + voices
        raise unknown_voice(resolved.voice, pool, where)
    return resolved


def speaks(voice: Voice, language: str) -> bool:
    """Whether ``voice`` speaks ``language`` (``de`` for a ``de-at`` voice too)."""
    return any(norm(lang).split("-")[0] == language for lang in voice.languages)


def check_language(settings: SpeechSettings, language: str, voice_dir: Path | None = None) -> None:
    """Refuse an explicit voice (``settings`` resolved) that does not speak ``language``: one line, exit 2."""
    if settings.voice is None:
        return
    if settings.engine is EngineKind.PIPER:
        voice: Voice | None = choose_piper_voice(settings.voice, voice_dir).voice
    else:
        voice = match_voice(settings.voice, pyttsx3_voices())
    if voice is not None and not speaks(voice, language):
        raise InputError(
            f"voice: {settings.voice!r} ({voice.id}) speaks {', '.join(voice.languages)}, not {language}; "
            f"leave out --voice, or choose one of: voicecoach voices --language {language}"
        )
