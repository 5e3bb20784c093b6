"""A playable session: the preset planned with the real voice, and its mixer.

The one place where the pieces meet, so ``play``, ``export`` and
``timeline`` build exactly the same session from the same preset.
Everything slow (speech synthesis, cache reads) happens here, before any
audio starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from voicecoach.audio.bed import MusicBed, Pull
from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.normalise import Loudness
from voicecoach.audio.sounds import make_sounds
from voicecoach.cues.bank import CueBank, Progress
from voicecoach.cues.engine import SpeechEngine
from voicecoach.cues.timing import cue_bank, spoken_timeline
from voicecoach.errors import InputError, PresetError
from voicecoach.plan.kinds import EventKind
from voicecoach.plan.metronome import SHIPPED_SOUNDS
from voicecoach.plan.phrases import PhraseBook
from voicecoach.plan.preset import MAX_SESSION_SECONDS, Preset
from voicecoach.plan.schedule import DEFAULT_SAMPLERATE
from voicecoach.plan.timeline import Timeline


@dataclass(frozen=True)
class Session:
    """Everything needed to make the session's sound."""

    preset: Preset
    timeline: Timeline
    mixer: Mixer
    bank: CueBank
    sounds: dict
    loudness: Loudness | None = None
    """Set by :func:`normalise`: the gain the mixer and the music carry."""
    phrases: PhraseBook | None = None
    """The session's language: its player messages and chapters (English when None)."""

    def music(self, spec: Path, shuffle: bool = False):
        """The user's music (a file or a folder, looping) decoded at this
        session's rate and width."""
        from voicecoach.audio.music import MusicStream, find_tracks  # soxr: only when used

        return MusicStream(find_tracks(spec, shuffle=shuffle), self.timeline.samplerate, self.mixer.channels)

    def music_bed(self, pull: Pull) -> MusicBed:
        """The music under this session, ducked by its voice, at the preset's
        music level, the loudness gain and the trim :func:`normalise` found:
        one wiring for the export (``pull`` reads the stream) and live play
        (``pull`` takes from the ring buffer a thread fills)."""
        level = self.preset.levels.music
        if self.loudness is not None:
            level *= self.loudness.gain * self.loudness.music
        envelope = DuckEnvelope(self.timeline, self.preset.duck)
        return MusicBed(pull, envelope, level, self.mixer.channels, end=self.timeline.frames)


def session_sounds(preset: Preset, samplerate: int) -> dict[str, np.ndarray]:
    """The metronome sounds, with the preset's own files in place: read,
    checked and resampled now, so a bad file stops us before any sound."""
    sounds: dict[str, np.ndarray] = dict(make_sounds(samplerate))
    if preset.sounds:
        from voicecoach.audio.custom_sounds import load_sound, shipped_sound  # soxr: only when used
    for role, source in preset.sounds:
        path = shipped_sound(source) if source in SHIPPED_SOUNDS else source
        kind = role if role in sounds else EventKind.BELL
        try:
            sounds[role] = load_sound(path, samplerate, kind=kind)
        except InputError as exc:  # name the preset and the key, as validation does
            raise PresetError(preset.source or preset.name, f"sounds.{role}", str(exc)) from None
    return sounds


def prepare(
    preset: Preset,
    cache_dir: Path,
    samplerate: int = DEFAULT_SAMPLERATE,
    channels: int = 1,
    engine: SpeechEngine | None = None,
    voice_dir: Path | None = None,
    also: Sequence[str] = (),
    progress: Progress | None = None,
    phrases: PhraseBook | None = None,
) -> Session:
    """Synthesise (or load) every cue, plan the session and build its mixer.

    The misses are synthesised first, all together and the earliest heard
    first (:func:`~voicecoach.cues.timing.spoken_timeline`), then the plan
    reads their true lengths. ``also`` (the player's own messages) is
    synthesised with them, or after a plan the cache already knew;
    ``progress(done, total)`` is told as cues are synthesised.
    """
    sounds = session_sounds(preset, samplerate)
    bank = cue_bank(preset, cache_dir, samplerate, engine, voice_dir)
    lengths = {name: len(clip) for name, clip in sounds.items()}
    timeline = spoken_timeline(preset, bank, lengths, also, progress, phrases)
    bank.prefetch(also, progress)
    if timeline.frames > MAX_SESSION_SECONDS * samplerate:  # validation over-estimates speech
        raise PresetError(
            preset.source or preset.name,
            "sets",
            f"the session would last {timeline.frames / samplerate / 3600:.1f} "
            f"hours with its speech; the limit is {MAX_SESSION_SECONDS // 3600} hours",
        )
    speech = {text: bank.pcm16(text) for text in timeline.texts()}
    levels = {"voice": preset.levels.voice, "ticks": preset.levels.tick}
    mixer = Mixer(timeline, speech, sounds, channels, levels)
    return Session(preset, timeline, mixer, bank, sounds, phrases=phrases)


def planned_loudness(session: Session) -> float:
    """The loudness (LUFS) ``session``'s mixer sounds at before its loudness gain, by construction
    (:func:`~voicecoach.audio.gain_rule.planned_loudness`) from the plan the preset alone gives (estimated
    spoken lengths): a cold start knows it before any cue is synthesised, a warm one finds the same."""
    from voicecoach.audio.gain_rule import planned_loudness as by_plan
    from voicecoach.common.decibels import decibels
    from voicecoach.plan.schedule import build_timeline

    lengths = {name: len(clip) for name, clip in session.sounds.items()}
    estimated = build_timeline(session.preset, None, session.timeline.samplerate, session.phrases, lengths)
    levels = {"voice": session.preset.levels.voice, "ticks": session.preset.levels.tick}
    return by_plan(estimated, session.sounds, levels, session.mixer.channels) + decibels(session.mixer.gain)


def normalise(
    session: Session, target: float, music=None, cache_dir: Path | None = None, progress: Progress | None = None
) -> Session:
    """``session`` at ``target`` LUFS integrated, its true peaks limited.

    Export and live play both call this before any sound, so both play at
    the same gain and limit the same way. Without music the gain is set by
    construction (:func:`planned_loudness`) and the mixer gets it and the
    limiter's planned gain, kept under ``cache_dir`` for the next run; with
    ``music`` (a MusicStream not yet read) a first pass decodes the playlist
    once more, and the limiter runs as it plays. ``progress(done, total)``
    is told as the session is measured.
    """
    from voicecoach.audio.normalise import loudness_gain, normalise_sparse

    progress = progress or (lambda done, total: None)

    if music is None:
        found = None
        if cache_dir is not None:
            from voicecoach.audio import loudness_cache

            path = loudness_cache.path_for(cache_dir, session.mixer.fingerprint(), target)
            found = loudness_cache.load(path)
        if found is None:
            found = normalise_sparse(session.mixer, target, planned_loudness(session), progress)
            if cache_dir is not None:
                loudness_cache.store(path, *found)
        loud, plan = found
        return replace(session, mixer=session.mixer.with_master(loud.gain, plan), loudness=loud)
    loud = loudness_gain(session.mixer, target, session.music_bed(music.again().read_into), progress)
    return replace(session, mixer=session.mixer.with_master(loud.gain), loudness=loud)


def tagged_loudness(session: Session, with_music: bool = False) -> float | None:
    """The loudness (LUFS) an export of ``session`` is tagged with: what its mixer really renders, measured
    region by region; with music the exporter measures the mix as it writes it, and this is only the target."""
    if session.loudness is None:
        return None
    if with_music:
        return session.loudness.target
    from voicecoach.audio.normalise import measured_loudness

    return measured_loudness(session.mixer)
