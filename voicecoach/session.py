"""A playable session: the preset planned with the real voice, and its mixer.

The one place where the pieces meet, so ``play``, ``export`` and
``timeline`` build exactly the same session from the same preset.
Everything slow (speech synthesis, cache reads) happens here, before any
audio starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicecoach.cues import CueBank, CueCache, SpeechEngine, SpeechSettings
from voicecoach.mixer import Mixer
from voicecoach.preset import Preset
from voicecoach.schedule import DEFAULT_SAMPLERATE, build_timeline
from voicecoach.sounds import make_sounds
from voicecoach.timeline import Timeline


@dataclass(frozen=True)
class Session:
    """Everything needed to make the session's sound."""

    preset: Preset
    timeline: Timeline
    mixer: Mixer
    bank: CueBank


def cue_bank(preset: Preset, cache_dir: Path, samplerate: int = DEFAULT_SAMPLERATE,
             engine: SpeechEngine | None = None) -> CueBank:
    """The cue bank for ``preset``'s voice and rate, cached under ``cache_dir``."""
    settings = SpeechSettings(voice=preset.voice, rate=preset.rate)
    return CueBank(samplerate, settings, CueCache(Path(cache_dir) / "cues"), engine)


def plan(preset: Preset, bank: CueBank) -> Timeline:
    """The timeline of ``preset`` with every phrase's true spoken length."""
    return build_timeline(preset, bank.frames, bank.samplerate)


def prepare(preset: Preset, cache_dir: Path, samplerate: int = DEFAULT_SAMPLERATE,
            channels: int = 1, engine: SpeechEngine | None = None,
            bank: CueBank | None = None) -> Session:
    """Synthesise (or load) every cue, plan the session and build its mixer."""
    bank = bank or cue_bank(preset, cache_dir, samplerate, engine)
    timeline = plan(preset, bank)
    speech = {text: bank.pcm16(text) for text in timeline.texts()}
    mixer = Mixer(timeline, speech, make_sounds(samplerate), channels)
    return Session(preset, timeline, mixer, bank)
