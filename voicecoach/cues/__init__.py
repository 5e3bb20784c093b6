"""Spoken cues: text -> speech PCM at the session rate, ready to mix.

Pipeline: pyttsx3 (in a worker process) -> WAV in a private temp dir ->
:func:`trim` (voice onset at sample 0) -> :func:`resample` (soxr) ->
:func:`normalise` (one loudness for every cue) -> on-disk :class:`CueCache`
-> in-memory :class:`CueBank`.

Modules:

- :mod:`~voicecoach.cues.settings`: :class:`SpeechSettings`, :class:`Voice`.
- :mod:`~voicecoach.cues.identity`: :func:`engine_identity` (no worker needed).
- :mod:`~voicecoach.cues.worker`: the worker process, the only code that
  touches pyttsx3 (imported there lazily, so ``import voicecoach.cues``
  works without it).
- :mod:`~voicecoach.cues.engine`: :class:`SpeechEngine`, the parent side.
- :mod:`~voicecoach.cues.dsp`: :func:`trim`, :func:`resample`,
  :func:`normalise`, :func:`process`.
- :mod:`~voicecoach.cues.cache`: :func:`cue_key`, :class:`CueCache`.
- :mod:`~voicecoach.cues.bank`: :class:`CueBank`.
"""

from __future__ import annotations

from voicecoach.cues.bank import CueBank
from voicecoach.cues.cache import CueCache, cue_key
from voicecoach.cues.dsp import (
    AUDIBLE_FLOOR_DBFS, FADE_OUT_S, GATE_RELATIVE_DB, GATE_SILENCE_DB, GATE_WINDOW_S,
    PEAK_DBFS, PREROLL_S, PROCESSING_VERSION, TAIL_S, TARGET_RMS_DBFS, TRIM_THRESHOLD_DB,
    SilenceError, gated_rms, normalise, process, resample, trim,
)
from voicecoach.cues.engine import ENGINE_START_TIMEOUT_S, ENGINE_TIMEOUT_S, SpeechEngine
from voicecoach.cues.identity import engine_identity
from voicecoach.cues.settings import MAX_RATE, MIN_RATE, SpeechSettings, Voice

__all__ = [
    "ENGINE_TIMEOUT_S", "ENGINE_START_TIMEOUT_S", "PROCESSING_VERSION",
    "PEAK_DBFS", "TARGET_RMS_DBFS", "PREROLL_S", "TAIL_S",
    "Voice", "SpeechSettings", "SpeechEngine", "SilenceError",
    "engine_identity", "trim", "resample", "normalise", "gated_rms", "process",
    "cue_key", "CueCache", "CueBank",
]
