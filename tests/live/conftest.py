"""The session the live-player tests share: leg lifts, 2 sets of 3, with a
deterministic tone for a voice, at a small rate (the logic is rate-free)."""

import numpy as np
import pytest

from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.live.clips import make_clips
from voicecoach.plan.preset_files import load_preset
from voicecoach.plan.schedule import build_timeline

SR = 8000


def speech_clip(text):
    """A deterministic 'voice': a 300 Hz tone as long as the text suggests."""
    n = max(40, int((0.1 + 0.05 * len(text)) * SR))
    t = np.arange(n) / SR
    return (0.3 * np.sin(2 * np.pi * 300 * t) * np.hanning(n)).astype(np.float32)


@pytest.fixture(scope="session")
def tone_voice():
    """:func:`speech_clip`, for tests that build their own clips or mixer
    (a fixture: ``from conftest import`` would find whichever conftest
    module pytest loaded first)."""
    return speech_clip


@pytest.fixture(scope="module")
def session():
    preset = load_preset("leg-lifts").with_overrides(sets=2, reps=3, rest=8)
    tl = build_timeline(preset, lambda text: len(speech_clip(text)), SR)
    mixer = Mixer(tl, {t: speech_clip(t) for t in tl.texts()}, make_sounds(SR))
    clips = make_clips(speech_clip, make_sounds(SR), SR, sets=2)
    return tl, mixer, clips


@pytest.fixture(scope="session")
def full_mix():
    """The whole session rendered in one block: what uninterrupted play must equal."""
    def render(mixer, tl):
        ref = np.zeros((tl.frames, 1), np.float32)
        mixer.render(ref, 0)
        return ref[:, 0]
    return render
