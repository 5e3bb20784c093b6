"""voicecoach: a voice and a metronome that guide exercise sessions hands-free.

The public API, for scripts that build sessions without the command line::

    from voicecoach import load_preset, build_timeline, prepare, export

    preset = load_preset("leg-lifts").with_overrides(reps=12)
    session = prepare(preset, cache_dir)            # speaks every cue, builds the mixer
    export(session.mixer, session.timeline, "legs.flac")

``play(session, backend)`` plays it live through an audio backend
(``voicecoach.live.player.SoundDeviceBackend`` for the sound card).
``build_timeline(preset, speech_frames, samplerate)`` plans a session with
your own speech-length function (pure Python, no audio). Names are imported
on first use, so ``import voicecoach`` stays light.
"""

# Nothing imported at the top, not even __future__: the console script imports
# this package before the entry point's handler for an early Ctrl-C is in
# place (importlib alone pulls in warnings and more), so what runs here must
# take next to no time.

__version__ = "0.1.0"

_API = {
    "load_preset": "voicecoach.plan.preset_files",
    "build_timeline": "voicecoach.plan.schedule",
    "prepare": "voicecoach.audio.session",
    "export": "voicecoach.encode.writer",
    "play": "voicecoach.live.playback",
}
__all__ = ["__version__", "build_timeline", "export", "load_preset", "play", "prepare"]


def __getattr__(name: str):
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'voicecoach' has no attribute {name!r}")
