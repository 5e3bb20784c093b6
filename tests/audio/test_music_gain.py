"""The loudness gain of a session with music: the mix heard (voice, ticks and the
ducked music at its trim, through the limiter) measures at the target."""

import numpy as np
import pyloudnorm

from voicecoach.audio.levels import TruePeakLimiter
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.normalise import loudness_gain
from voicecoach.audio.session import Session, normalise, session_sounds
from voicecoach.encode.streaming import MixSource
from voicecoach.plan.preset_files import load_preset
from voicecoach.plan.schedule import build_timeline

SR = 48000
TARGET = -19.0


def voice(text):
    """A deterministic 'voice': a 300 Hz tone as long as the text suggests."""
    n = max(40, int((0.1 + 0.05 * len(text)) * SR))
    t = np.arange(n) / SR
    return (0.3 * np.sin(2 * np.pi * 300 * t) * np.hanning(n)).astype(np.float32)


class Music:
    """Loud, steady noise from a fixed seed; ``again()`` reads it from the top."""

    def __init__(self):
        self.rng = np.random.default_rng(7)

    def again(self):
        return Music()

    def read_into(self, view):
        view[:] = self.rng.uniform(-0.9, 0.9, (len(view), 1)).astype(np.float32)


def test_a_session_with_music_is_heard_at_the_target(tmp_path):
    preset = load_preset("leg-lifts").with_overrides(sets=1, reps=2, rest=5)
    tl = build_timeline(preset, lambda text: len(voice(text)), SR)
    levels = {"voice": preset.levels.voice, "ticks": preset.levels.tick}
    mixer = Mixer(tl, {t: voice(t) for t in tl.texts()}, session_sounds(preset, SR), 1, levels)
    session = Session(preset, tl, mixer, None, session_sounds(preset, SR))
    done = normalise(session, TARGET, Music())
    loud = done.loudness
    assert 0.0 < loud.music < 1.0  # loud music is trimmed under the voice
    alone = loudness_gain(mixer, TARGET).gain
    assert 20 * np.log10(alone / loud.gain) > 0.3  # the music, trimmed, still adds loudness: a lower gain

    bed = done.music_bed(Music().read_into)
    source, limiter = MixSource(done.mixer, bed), TruePeakLimiter(1)
    out = np.empty((tl.frames, 1), np.float32)
    limiter.run(source.pull, out)
    heard = pyloudnorm.Meter(SR).integrated_loudness(out[:, 0].astype(np.float64))
    assert abs(heard - TARGET) < 0.5, heard
