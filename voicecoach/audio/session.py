"""A playable session: the preset planned with the real voice, and its mixer.

The one place where the pieces meet, so ``play``, ``export`` and
``timeline`` build exactly the same session from the same preset.
Everything slow (speech synthesis, cache reads) happens here, before any
audio starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.cues.bank import CueBank
from voicecoach.cues.cache import CueCache
from voicecoach.cues.engine import SpeechEngine
from voicecoach.cues.settings import SpeechSettings
from voicecoach.plan.metronome import SHIPPED_SOUNDS
from voicecoach.plan.preset import Preset
from voicecoach.plan.schedule import DEFAULT_SAMPLERATE, build_timeline
from voicecoach.plan.timeline import Timeline


@dataclass(frozen=True)
class Session:
    """Everything needed to make the session's sound."""

    preset: Preset
    timeline: Timeline
    mixer: Mixer
    bank: CueBank
    sounds: dict

    def envelope(self) -> DuckEnvelope:
        """How music ducks under this session's voice."""
        return DuckEnvelope(self.timeline, self.preset.duck)


def session_sounds(preset: Preset, samplerate: int) -> dict[str, np.ndarray]:
    """The metronome sounds, with the preset's own files in place: read,
    checked and resampled now, so a bad file stops us before any sound."""
    sounds = make_sounds(samplerate)
    if preset.sounds:
        from voicecoach.audio.custom_sounds import load_sound, shipped_sound  # soxr: only when used
    for role, source in preset.sounds:
        path = shipped_sound(source) if source in SHIPPED_SOUNDS else source
        kind = role if role in sounds else "bell"
        sounds[role] = load_sound(path, samplerate, kind=kind)
    return sounds


def cue_bank(preset: Preset, cache_dir: Path, samplerate: int = DEFAULT_SAMPLERATE,
             engine: SpeechEngine | None = None) -> CueBank:
    """The cue bank for ``preset``'s voice and rate, cached under ``cache_dir``."""
    settings = SpeechSettings(voice=preset.voice, rate=preset.rate)
    return CueBank(samplerate, settings, CueCache(Path(cache_dir) / "cues"), engine)


def plan(preset: Preset, bank: CueBank, sounds: dict | None = None) -> Timeline:
    """The timeline of ``preset`` with every phrase's true spoken length
    (and every sound's, when its own sounds are given)."""
    lengths = {name: len(clip) for name, clip in (sounds or {}).items()}
    return build_timeline(preset, bank.frames, bank.samplerate, sound_lengths=lengths)


def prepare(preset: Preset, cache_dir: Path, samplerate: int = DEFAULT_SAMPLERATE,
            channels: int = 1, engine: SpeechEngine | None = None,
            bank: CueBank | None = None) -> Session:
    """Synthesise (or load) every cue, plan the session and build its mixer."""
    sounds = session_sounds(preset, samplerate)
    bank = bank or cue_bank(preset, cache_dir, samplerate, engine)
    timeline = plan(preset, bank, sounds)
    speech = {text: bank.pcm16(text) for text in timeline.texts()}
    levels = {"voice": preset.levels.voice, "ticks": preset.levels.tick}
    mixer = Mixer(timeline, speech, sounds, channels, levels)
    return Session(preset, timeline, mixer, bank, sounds)


def music_tracks(spec: Path, shuffle: bool = False) -> list[Path]:
    """The playlist of ``spec`` (a file or a folder), in the order it will play."""
    from voicecoach.audio.music import find_tracks
    return find_tracks(spec, shuffle=shuffle)


def music_stream(tracks: list[Path], samplerate: int, channels: int):
    """The playlist decoded for the session: a
    :class:`~voicecoach.audio.music.MusicStream` (looping)."""
    from voicecoach.audio.music import MusicStream
    return MusicStream(tracks, samplerate, channels)


def normalise(session: Session, target: float, tracks: list[Path] | None = None):
    """``session`` at ``target`` LUFS, and what was measured.

    Export and live play both call this, so both play at the same gain.
    With music, a first pass decodes ``tracks`` once more to measure it.

    Returns
    -------
    (Session, Loudness)
        The session whose mixer carries the loudness gain; build its music
        bed with :func:`music_bed` and ``loudness.gain``.
    """
    from voicecoach.audio.normalise import loudness_gain, normalise_sparse
    if tracks is None:
        # Without music the limiter's gain is known in advance and rendered by
        # the mixer itself; with music the export and the transport limit as
        # they go.
        loud, plan = normalise_sparse(session.mixer, target)
        return replace(session, mixer=session.mixer.with_master(loud.gain, plan)), loud

    def factory():
        stream = music_stream(tracks, session.mixer.samplerate, session.mixer.channels)
        return music_bed(session, stream.read_into, 1.0)
    loud = loudness_gain(session.mixer, target, factory)
    return replace(session, mixer=session.mixer.with_master(loud.gain)), loud


def music_bed(session: Session, pull, master: float):
    """The music under ``session`` from ``pull``, at the loudness gain ``master``."""
    from voicecoach.audio.bed import MusicBed
    return MusicBed(pull, session.envelope(), session.preset.levels.music * master,
                    session.mixer.channels)
