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
