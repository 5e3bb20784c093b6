"""A prepared session: every level setting reaches its bus, and a preset's own
sounds are heard at their frames (a fake speech engine: no espeak needed)."""

from pathlib import Path

import numpy as np
import pytest

from voicecoach.audio.session import prepare, session_sounds
from voicecoach.audio.sounds import make_sounds
from voicecoach.common.decibels import gain
from voicecoach.plan.preset import parse_preset
from voicecoach.plan.preset_files import load_preset

SR = 16000

PRESET = """
name = "levels"
title = "Levels"
exercise = "leg lift"
sets = 2
reps = 2
rest = 12
tempo = "2-0-1-0"
[cues]
concentric = ["Lift"]
[sounds]
tick = "woodblock"
rest_end = "chime"
"""


class ToneEngine:
    """A speech engine stand-in: a tone burst per text, its pitch from the text."""

    def describe(self, settings=None):
        return "tone-engine 1"

    def synthesize(self, text, settings):
        rate = 22050
        n = rate // 5 + 300 * len(text)
        t = np.arange(n) / rate
        tone = 0.4 * np.sin(2 * np.pi * (250 + 10 * len(text)) * t) * np.hanning(n)
        return np.concatenate([np.zeros(500), tone, np.zeros(2000)]).astype(np.float32), rate

    def close(self):
        pass


def render(session, bus=None):
    out = np.zeros((session.timeline.frames, 1), np.float32)
    session.mixer.render(out, 0, bus)
    return out[:, 0]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return prepare(parse_preset(PRESET, "test"), tmp_path_factory.mktemp("cache"), SR,
                   engine=ToneEngine())


@pytest.mark.parametrize("voice_db, tick_db", [(-6.0, 0.0), (0.0, -9.0), (-12.0, 4.0)])
def test_each_level_setting_reaches_its_own_bus(plain, tmp_path, voice_db, tick_db):
    preset = parse_preset(PRESET, "test").with_overrides(voice_volume=voice_db,
                                                         tick_volume=tick_db)
    levelled = prepare(preset, tmp_path, SR, engine=ToneEngine())
    assert levelled.timeline == plain.timeline
    for bus, db in (("voice", voice_db), ("ticks", tick_db)):
        want = gain(db) * levelled.mixer.gain / plain.mixer.gain
        a, b = render(levelled, bus), render(plain, bus)
        loud = np.abs(b) > 1e-3
        assert loud.sum() > 1000
        assert np.allclose(a[loud] / b[loud], want, rtol=2e-3), bus
        assert not a[~loud].any() or np.abs(a[~loud]).max() < 2e-3 * max(want, 1)


def test_a_presets_own_tick_and_rest_end_sound_at_their_frames(plain):
    sounds = plain.sounds
    builtin = make_sounds(SR)
    assert not np.array_equal(sounds["tick"], builtin["tick"])       # the woodblock, not ours
    ticks = render(plain, "ticks")
    tl = plain.timeline
    g = plain.mixer.gain
    for e in tl.events:
        if e.kind == "tick" and not any(o.frame < e.frame + e.frames and e.frame < o.end
                                        for o in tl.events if o.kind != "speech" and o is not e):
            clip = sounds["tick"]
            assert np.allclose(ticks[e.frame:e.frame + len(clip)], clip * g, atol=1e-6), e
    rest_ends = [e for e in tl.events if e.sound == "rest_end"]
    rests = [s for s in tl.segments if s.kind == "rest"]
    assert [e.frame for e in rest_ends] == [r.end for r in rests] and rests
    for e in rest_ends:
        chime = sounds["rest_end"]
        accent = sounds["accent"]
        heard = ticks[e.frame:e.frame + len(chime)].copy()
        heard[:len(accent)] -= accent * g        # the first lift's accent sounds with it
        assert np.allclose(heard, chime * g, atol=1e-5)
        assert np.abs(chime).max() > 0.05


def test_session_sounds_keep_the_builtins_without_a_sounds_table():
    sounds = session_sounds(load_preset("leg-lifts"), SR)
    builtin = make_sounds(SR)
    assert set(sounds) == set(builtin)
    assert all(np.array_equal(sounds[k], builtin[k]) for k in builtin)


def test_with_the_real_voice_the_first_set_says_the_same_words(tmp_path):
    """The golden transcripts are planned with a fixed speech-length function;
    with espeak's real lengths the first set of the default session says the
    same words, in the same order, and every count on the same beat."""
    pytest.importorskip("pyttsx3")
    from voicecoach.plan.schedule import build_timeline

    preset = load_preset("leg-lifts").with_overrides(sets=1, reps=4)
    real = prepare(preset, tmp_path, SR).timeline

    def fake(text):
        return round((0.1 + 0.06 * len(text)) * SR)
    planned = build_timeline(preset, fake, SR)

    def said(tl):
        first = next(s.start for s in tl.segments if s.kind == "concentric")
        return [(e.frame - first, e.text) for e in tl.events
                if e.kind == "speech" and e.set == 1 and e.rep is not None]
    def cue(text):     # a faster voice may fit the long form of the same cue ("Breathe out
        low = text.lower()   # and lift" where the slower fake fits "Out, and lift")
        return "exhale and lift" if "lift" in low and "out" in low else text
    assert [cue(t) for _, t in said(real)] == [cue(t) for _, t in said(planned)]
    counts = {"One", "Two", "Three"}
    assert [x for x in said(real) if x[1] in counts] == [x for x in said(planned) if x[1] in counts]
    assert len(said(real)) >= 4 * 5


class SayingToneEngine(ToneEngine):
    """The tone engine, keeping what it was asked to say, in order."""

    def __init__(self):
        self.said = []

    def synthesize(self, text, settings):
        self.said.append(text)
        return super().synthesize(text, settings)


def test_the_first_cue_heard_is_synthesised_first_and_the_players_messages_with_the_rest(tmp_path):
    from voicecoach.live.playback import clip_texts
    from voicecoach.live.clips import session_clips
    from voicecoach.plan.schedule import speech_texts

    preset = parse_preset(PRESET, "test")
    engine, told = SayingToneEngine(), []
    messages = clip_texts(preset.sets)
    session = prepare(preset, tmp_path, SR, engine=engine, also=messages,
                      progress=lambda done, total: told.append((done, total)))
    first = next(e.text for e in session.timeline.events if e.text)
    assert engine.said[0] == first == speech_texts(preset, SR)[0]
    assert set(messages) <= set(engine.said) and told[-1] == (len(engine.said), len(engine.said))
    planned = set(speech_texts(preset, SR))  # the session's phrases before the player's own messages
    assert engine.said == [t for t in engine.said if t in planned] + [t for t in engine.said if t not in planned]
    assert not planned >= set(messages)
    said = len(engine.said)
    session_clips(session)  # every message is ready: the player says nothing new
    assert len(engine.said) == said
