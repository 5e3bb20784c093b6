"""Spoken cues: text -> speech PCM at the session rate, ready to mix.

An engine (Piper or pyttsx3, in worker processes: :mod:`.engine`, :mod:`.worker`;
a pool of them on a cold start: :mod:`.pool`) -> PCM -> :mod:`.dsp` (trim,
resample, normalise) -> on-disk :mod:`.cache` -> in-memory :mod:`.bank`.
Only the worker's backends touch pyttsx3, piper and onnxruntime (lazily), so
``import voicecoach.cues`` works without them.
"""
