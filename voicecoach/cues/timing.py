"""The plan as the voice will say it: the timeline built with real spoken lengths.

Planning needs only how long each phrase lasts, and a warm cache knows that
from its headers, so ``voicecoach timeline`` runs without numpy or the
speech worker; a cache miss synthesises the phrase (and imports numpy then).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from voicecoach.cues.bank import CueBank
from voicecoach.cues.cache import CueCache
from voicecoach.cues.engine import SpeechEngine
from voicecoach.cues.settings import SpeechSettings
from voicecoach.plan.preset import Preset
from voicecoach.plan.schedule import DEFAULT_SAMPLERATE, build_timeline
from voicecoach.plan.timeline import Timeline


def cue_bank(preset: Preset, cache_dir: Path, samplerate: int = DEFAULT_SAMPLERATE,
             engine: SpeechEngine | None = None) -> CueBank:
    """The cue bank for ``preset``'s voice and rate, cached under ``cache_dir``."""
    settings = SpeechSettings(voice=preset.voice, rate=preset.rate)
    return CueBank(samplerate, settings, CueCache(Path(cache_dir) / "cues"), engine)


def spoken_timeline(preset: Preset, bank: CueBank,
                    sound_lengths: Mapping[str, int] | None = None) -> Timeline:
    """The timeline of ``preset`` with every phrase's true spoken length, and
    the length of each of its own sounds when it has some (by role)."""
    return build_timeline(preset, bank.frames, bank.samplerate, sound_lengths=sound_lengths)
