"""The plan as the voice will say it: the timeline built with real spoken lengths.

A warm cache knows each phrase's length from its headers, so ``voicecoach timeline`` runs without
numpy or the speech worker; a miss synthesises the phrase (and imports numpy then).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from voicecoach.cues.bank import CueBank, Progress
from voicecoach.cues.cache import CueCache
from voicecoach.cues.engine import SpeechEngine
from voicecoach.cues.engine_choice import check_language
from voicecoach.cues.settings import SpeechSettings
from voicecoach.plan.kinds import EngineKind
from voicecoach.plan.phrases import DEFAULT_LANGUAGE, PhraseBook
from voicecoach.plan.preset import Preset
from voicecoach.plan.schedule import DEFAULT_SAMPLERATE, build_timeline, speech_texts
from voicecoach.plan.timeline import Timeline


def cue_bank(
    preset: Preset,
    cache_dir: Path,
    samplerate: int = DEFAULT_SAMPLERATE,
    engine: SpeechEngine | None = None,
    voice_dir: Path | None = None,
) -> CueBank:
    """The cue bank for ``preset``'s engine, voice and rate, cached under
    ``cache_dir``; ``voice_dir`` holds the user's own Piper voices."""
    voice = language_voice(preset.voice, preset.language)
    settings = SpeechSettings(voice=voice, rate=preset.rate, engine=preset.engine or EngineKind.AUTO)
    bank = CueBank(samplerate, settings, CueCache(Path(cache_dir) / "cues"), engine, voice_dir)
    if preset.voice is not None and preset.language is not None and engine is None:
        check_language(bank.settings, preset.language, voice_dir)
    return bank


def language_voice(voice: str | None, language: str | None) -> str | None:
    """The voice asked for: ``voice``, else one that speaks ``language`` (the
    engine's default for English); a Piper voice of the language wins over espeak-ng's."""
    if voice is not None or language in (None, DEFAULT_LANGUAGE):
        return voice
    return language


def spoken_timeline(
    preset: Preset,
    bank: CueBank,
    sound_lengths: Mapping[str, int] | None = None,
    also: Sequence[str] = (),
    progress: Progress | None = None,
    phrases: PhraseBook | None = None,
) -> Timeline:
    """The timeline of ``preset`` with every phrase's true spoken length, and the length of each of its own sounds
    when it has some (by role).

    A warm cache knows every length from its headers, so the plan is first made from the lengths it knows; at the
    first phrase missing the speech worker is started (its interpreter and voice load while planning goes on), the
    session's phrases are listed (a second plan, by estimates), synthesised all together with ``also`` after them,
    the earliest heard first (:meth:`CueBank.prefetch`, told ``progress``), and the plan made again.
    """
    missing = False

    def known(text: str) -> int:
        nonlocal missing
        n = bank.known_frames(text)
        if n is None and not missing:
            missing = True
            bank.start_engine()
        return 1 if n is None else n

    voice = f"{bank.settings.engine}:{bank.voice_id()}"
    try:
        timeline = build_timeline(preset, known, bank.samplerate, phrases, sound_lengths)
    except Exception:
        if not missing:  # the plan's own error, with every true length
            raise
    else:
        if not missing:
            return replace(timeline, voice=voice)
    bank.prefetch([*speech_texts(preset, bank.samplerate, phrases), *also], progress)
    return replace(build_timeline(preset, bank.frames, bank.samplerate, phrases, sound_lengths), voice=voice)
