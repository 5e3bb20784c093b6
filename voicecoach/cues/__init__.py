"""Spoken cues: text -> speech PCM at the session rate, ready to mix.

Pipeline: an engine (Piper or pyttsx3, in worker processes; a pool of them
on a cold start) -> PCM -> :func:`trim` (voice onset at sample 0) ->
:func:`resample` (soxr) -> :func:`normalise` (one loudness for every cue)
-> on-disk :class:`CueCache` -> in-memory :class:`CueBank`.

Modules:

- :mod:`~voicecoach.cues.settings`: :class:`SpeechSettings`, :class:`Voice`.
- :mod:`~voicecoach.cues.engine_choice`: ``auto`` made concrete, a voice checked.
- :mod:`~voicecoach.cues.voices`: a typed voice name found, or the closest named.
- :mod:`~voicecoach.cues.piper_voices`: Piper voices installed (packages, the user's folder).
- :mod:`~voicecoach.cues.identity`: the engine part of the cache key (no worker needed).
- :mod:`~voicecoach.cues.engine`: :class:`SpeechEngine`, the seam: the parent side of one worker.
- :mod:`~voicecoach.cues.pool`: many phrases through several engines at once.
- :mod:`~voicecoach.cues.worker`: the worker process; its backends
  :mod:`~voicecoach.cues.pyttsx3_backend` and :mod:`~voicecoach.cues.piper_backend`
  are the only code that touches pyttsx3, piper and onnxruntime (imported
  there lazily, so ``import voicecoach.cues`` works without them);
  :mod:`~voicecoach.cues.worker_contract` is what they share.
- :mod:`~voicecoach.cues.dsp`: :func:`trim`, :func:`resample`,
  :func:`normalise`, :func:`process`.
- :mod:`~voicecoach.cues.cache`: :func:`cue_key`, :class:`CueCache`.
- :mod:`~voicecoach.cues.bank`: :class:`CueBank`.
- :mod:`~voicecoach.cues.timing`: the timeline with real spoken lengths.
"""
