"""Export with a music bed: the music is in the mix, ducked under the voice,
levelled, through the true-peak limiter, and the stems agree with the mix."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from true_peak import true_peak

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.ducking import DuckEnvelope
from voicecoach.audio.levels import CEILING_DBTP
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.normalise import limited
from voicecoach.audio.sounds import make_sounds
from voicecoach.encode.formats import ExportOptions
from voicecoach.encode.streaming import stream
from voicecoach.encode.writer import export
from voicecoach.plan.mix import Duck
from voicecoach.plan.timeline import Event, Segment, Timeline

SR = 48000
FRAMES = 3 * SR


def word(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * np.hanning(n)
    return (0.6 * x / np.abs(x).max()).astype(np.float32)


TIMELINE = Timeline(
    "music-test", SR, FRAMES,
    (Segment("intro", 0, SR), Segment("concentric", SR, SR, 1, 1), Segment("outro", 2 * SR, SR)),
    (Event(12000, "speech", 24000, "Lift"), Event(SR, "accent", 2400, set=1, rep=1),
     Event(SR + 24000, "tick", 1920, set=1, rep=1), Event(2 * SR, "bell", SR),
     Event(100000, "speech", 20000, "Down")))
SPEECH = {"Lift": word(24000, 1), "Down": word(20000, 2)}


def loud_music(n: int) -> np.ndarray:
    """A full-scale tone: with the voice on top it would clip without a limiter."""
    t = np.arange(n) / SR
    return (0.97 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)


class Tone:
    """The music source: pulls the next frames of ``loud_music``."""

    def __init__(self):
        self.pos = 0
        self.all = loud_music(FRAMES + SR)

    def __call__(self, block: np.ndarray) -> None:
        n = len(block)
        block[:] = self.all[self.pos:self.pos + n, None]
        self.pos += n


def make(level_db: float = 0.0) -> tuple[Mixer, MusicBed, np.ndarray]:
    mixer = Mixer(TIMELINE, SPEECH, make_sounds(SR))
    env = DuckEnvelope(TIMELINE, Duck())
    level = np.float32(10 ** (level_db / 20))
    bed = MusicBed(Tone(), env, float(level), 1)
    gain = np.zeros(FRAMES, np.float32)
    DuckEnvelope(TIMELINE, Duck()).render(gain, 0)
    music = loud_music(FRAMES) * gain * level          # what the bed must add, frame by frame
    return mixer, bed, music


def rendered(mixer: Mixer, bus=None) -> np.ndarray:
    out = np.zeros((FRAMES, 1), np.float32)
    mixer.render(out, 0, bus)
    return out[:, 0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    mixer, bed, music = make(0.0)
    path = tmp_path_factory.mktemp("music") / "s.wav"
    written = export(mixer, TIMELINE, path, ExportOptions(subtype="FLOAT", stems=True,
                                                          block=10007), bed=bed)
    return mixer, music, {p.name: sf.read(p, dtype="float32")[0] for p in written}


CEILING = 10 ** (CEILING_DBTP / 20)


def test_the_mix_is_voice_ticks_and_ducked_music_then_limited(files):
    mixer, music, got = files
    assert sorted(got) == ["s.music.wav", "s.ticks.wav", "s.voice.wav", "s.wav"]
    raw = rendered(mixer) + music
    assert np.abs(raw).max() > 1.05                 # the sum alone would clip
    np.testing.assert_allclose(got["s.wav"], limited(raw.astype(np.float64)), rtol=0, atol=1e-6)
    assert true_peak(got["s.wav"][:, None]) <= CEILING * 1.0001
    # where the limiter is idle, the mix is exactly the three sources
    calm = np.abs(got["s.wav"] - raw) < 1e-7
    assert 0.2 < calm.mean() < 1.0


def test_the_music_stem_is_the_music_under_the_same_gain_as_the_mix(files):
    mixer, music, got = files
    raw = rendered(mixer) + music
    audible = np.abs(raw) > 1e-2
    g = got["s.wav"][audible] / raw[audible]               # the limiter's gain, frame by frame
    assert g.min() < 0.9 and g.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(got["s.music.wav"][audible], music[audible] * g, atol=1e-5)
    np.testing.assert_allclose(got["s.voice.wav"][audible], rendered(mixer, "voice")[audible] * g,
                               atol=1e-5)


def test_stems_sum_to_the_mix(files):
    _, _, got = files
    total = got["s.voice.wav"] + got["s.ticks.wav"] + got["s.music.wav"]
    np.testing.assert_allclose(got["s.wav"], total, rtol=0, atol=1e-6)
    assert np.abs(got["s.music.wav"]).max() > 0.3


@pytest.mark.parametrize("level_db", [-20.0, -30.0])      # quiet enough to leave the limiter idle
def test_the_music_level_scales_the_music_in_the_mix(level_db):
    mixer, bed, music = make(level_db)
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", SR, 1, "FLOAT", format="WAV") as f:
        assert stream(mixer, [(f, None)], block=4096, bed=bed) == FRAMES
    buf.seek(0)
    mix = sf.read(buf, dtype="float32")[0]
    music_in_mix = mix - rendered(mixer)
    quiet = slice(60000, 90000)
    np.testing.assert_allclose(music_in_mix, music, rtol=0, atol=1e-6)
    assert np.abs(music_in_mix[quiet]).max() == pytest.approx(0.97 * 10 ** (level_db / 20),
                                                              rel=0.01)


def test_pcm16_export_with_loud_music_never_wraps(tmp_path):
    mixer, bed, music = make(6.0)
    path = tmp_path / "loud.wav"
    export(mixer, TIMELINE, path, ExportOptions(block=9000), bed=bed)
    data = sf.read(path, dtype="int16")[0]
    raw = rendered(mixer) + music
    assert np.abs(raw).max() > 1.5
    assert np.abs(data.astype(np.int32)).max() <= CEILING * 32768 + 1
    # the tone is still there, turned down, not wrapped to the other sign
    big = np.abs(raw) > 1.0
    assert big.any() and np.all(np.sign(data[big]) == np.sign(raw[big]))
    assert np.abs(data[big].astype(np.int32)).min() > 0.3 * 32768
