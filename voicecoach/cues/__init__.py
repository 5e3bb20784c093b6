"""Spoken cues: text -> speech PCM at the session rate, ready to mix.

An engine (Piper or pyttsx3, in worker processes: :mod:`.engine`, :mod:`.worker`)
-> PCM -> :mod:`.dsp` (trim, resample, normalise) -> on-disk :mod:`.cache` ->
in-memory :mod:`.bank`, which synthesises a cold start's misses in a pool of
workers. Only the worker's backends touch pyttsx3, piper and onnxruntime
(lazily), so ``import voicecoach.cues`` works without them.
"""
