"""Both real engines behind the seam: Piper (neural) and pyttsx3 (espeak-ng).

Determinism after a cache miss, the same loudness and onset for both, voice
names a user types, and the engine choice. No wall-clock assertions.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
from running import run_in

from voicecoach.cues.timing import cue_bank
from voicecoach.cues import engine_choice, piper_voices
from voicecoach.cues.bank import CueBank
from voicecoach.cues.cache import CueCache
from voicecoach.cues.dsp import PEAK_DBFS, TARGET_RMS_DBFS, gated_rms, process
from voicecoach.cues.engine import SpeechEngine
from voicecoach.cues.engine_choice import check_voice, resolve
from voicecoach.cues.identity import file_sha256, speech_identity
from voicecoach.cues.piper_voices import find_piper_voices, read_voice, user_voice_dir
from voicecoach.cues.settings import EngineKind, SpeechSettings, Voice
from voicecoach.cues.voices import closest_voices, match_voice
from voicecoach.errors import InputError, SpeechEngineError
from voicecoach.plan.preset_files import load_preset

ENGINES = [EngineKind.PIPER, EngineKind.PYTTSX3]
PHRASES = ["Breathe out and lift", "One", "Set two of three. Rest, 60 seconds", "Now lower"]

needs_piper = pytest.mark.skipif(not piper_voices.piper_installed() or not find_piper_voices(),
                                 reason="the neural group is not installed (scripts/setup installs it)")


def db(x: float) -> float:
    return 20.0 * np.log10(x)


@pytest.fixture(scope="module", params=ENGINES, ids=str)
def engine(request):
    if request.param is EngineKind.PIPER and not (piper_voices.piper_installed() and find_piper_voices()):
        pytest.skip("the neural group is not installed")
    with SpeechEngine(request.param) as eng:
        yield eng


# ---------------------------------------------------------------- determinism

def test_a_phrase_is_the_same_first_or_after_others(engine):
    settings = SpeechSettings(engine=engine.kind)
    first, rate = engine.synthesize(PHRASES[0], settings)
    for text in PHRASES[1:]:
        engine.synthesize(text, settings)
    again, rate2 = engine.synthesize(PHRASES[0], settings)
    assert rate == rate2
    np.testing.assert_array_equal(first, again)
    # and in another worker process, where it is the first thing said
    with SpeechEngine(engine.kind) as other:
        np.testing.assert_array_equal(other.synthesize(PHRASES[0], settings)[0], first)


SHORT = """
title = "Short test"
exercise = "leg lift"
sets = 2
reps = 3
rest = 5
tempo = "2-0-1-0"
[cues]
concentric = ["Breathe out and lift", "Lift"]
"""


@pytest.mark.parametrize("kind", ENGINES, ids=str)
def test_damaged_cache_entry_re_exports_bit_identical(kind, env, tmp_path):
    if kind is EngineKind.PIPER and not (piper_voices.piper_installed() and find_piper_voices()):
        pytest.skip("the neural group is not installed")
    env = replace(env, cache_dir=tmp_path / "own-cache")     # cold, and ours alone

    def run(*args):
        return run_in(env, *args)
    preset = tmp_path / "short.toml"
    preset.write_text(SHORT)
    first = run("export", str(preset), "--engine", str(kind), "-o", str(tmp_path / "a.wav"))
    assert first.code == 0, first.err
    plan = json.loads(run("timeline", str(preset), "--engine", str(kind), "--json").out)
    spoken = list(dict.fromkeys(e["text"] for e in plan["events"] if e["kind"] == "speech"))
    assert len(spoken) >= 6
    bank = cue_bank(load_preset(str(preset)).with_overrides(engine=str(kind)), env.cache_dir,
                    voice_dir=user_voice_dir(env.data_dir))
    # damage an entry synthesised in the middle of the first run, delete the
    # first one: the second run synthesises them alone, in another order
    damaged, deleted = (bank.cache.path(bank._key(t)) for t in (spoken[len(spoken) // 2], spoken[0]))
    assert damaged.exists() and deleted.exists()
    blob = bytearray(damaged.read_bytes())
    blob[-5] ^= 0xFF
    damaged.write_bytes(bytes(blob))
    deleted.unlink()
    second = run("export", str(preset), "--engine", str(kind), "-o", str(tmp_path / "b.wav"))
    assert second.code == 0, second.err
    assert damaged.read_bytes() != bytes(blob) and deleted.exists()      # both synthesised again
    a = sf.read(tmp_path / "a.wav", dtype="int16")[0]
    b = sf.read(tmp_path / "b.wav", dtype="int16")[0]
    assert len(a) == len(b) and np.abs(a).max() > 1000
    assert hashlib.sha256(a.tobytes()).digest() == hashlib.sha256(b.tobytes()).digest()


# ---------------------------------------------------------------- one quality bar

def test_both_engines_give_cues_of_one_loudness_starting_at_once():
    levels = {}
    for kind in ENGINES:
        if kind is EngineKind.PIPER and not (piper_voices.piper_installed() and find_piper_voices()):
            continue
        with SpeechEngine(kind) as eng:
            pcm, rate = eng.synthesize("Breathe out and lift", SpeechSettings(engine=kind))
        assert rate == 22050
        cue = process(pcm, rate, 48000)
        loud = np.flatnonzero(np.abs(cue) > 0.01 * np.abs(cue).max())
        assert loud[0] <= 0.010 * 48000, kind                   # speech within 10 ms of frame 0
        assert np.abs(cue).max() <= 10 ** (PEAK_DBFS / 20) + 1e-7
        levels[kind] = db(gated_rms(cue, 48000))
    assert levels and all(abs(v - TARGET_RMS_DBFS) < 0.5 for v in levels.values()), levels
    if len(levels) == 2:
        assert abs(levels[EngineKind.PIPER] - levels[EngineKind.PYTTSX3]) < 0.5


@needs_piper
def test_piper_rate_maps_to_the_length_scale():
    with SpeechEngine(EngineKind.PIPER) as eng:
        text = "Breathe in and lower"
        slow, _ = eng.synthesize(text, SpeechSettings(engine=EngineKind.PIPER, rate=110))
        default, _ = eng.synthesize(text, SpeechSettings(engine=EngineKind.PIPER))
        fast, _ = eng.synthesize(text, SpeechSettings(engine=EngineKind.PIPER, rate=300))
    assert len(fast) < len(default) < len(slow)
    assert len(slow) > 1.8 * len(fast)


@needs_piper
def test_piper_cache_key_names_the_model_and_settings(tmp_path):
    ident = speech_identity(EngineKind.PIPER, SpeechSettings(), None, tmp_path)
    model = find_piper_voices()[0].model
    assert ident.startswith("piper-tts ") and "onnxruntime" in ident and "noise 0" in ident
    assert file_sha256(model)[:32] in ident                  # RECORD's hash is the file's
    assert speech_identity(EngineKind.PYTTSX3, SpeechSettings(), None, tmp_path).startswith("pyttsx3 ")
    # a voice of the user's own (no RECORD) is hashed, and the hash remembered
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "xx_YY-anna-low.onnx").write_bytes(b"model")
    (voices / "xx_YY-anna-low.onnx.json").write_text(json.dumps({"audio": {"sample_rate": 16000}}))
    ident = speech_identity(EngineKind.PIPER, SpeechSettings(voice="anna"), voices, tmp_path)
    assert hashlib.sha256(b"model").hexdigest()[:32] in ident
    memo = json.loads((tmp_path / "model-hashes.json").read_text())
    assert any(v["sha256"] == hashlib.sha256(b"model").hexdigest() for v in memo.values())


def test_file_hash_memo_follows_the_file(tmp_path):
    f = tmp_path / "model.onnx"
    f.write_bytes(b"one")
    assert file_sha256(f, tmp_path) == hashlib.sha256(b"one").hexdigest()
    f.write_bytes(b"two, longer")                       # size changes: hashed again
    assert file_sha256(f, tmp_path) == hashlib.sha256(b"two, longer").hexdigest()
    (tmp_path / "model-hashes.json").write_text("not json")
    assert file_sha256(f, tmp_path) == hashlib.sha256(b"two, longer").hexdigest()


# ---------------------------------------------------------------- voices and the choice

ESPEAK_LIKE = [
    Voice("gmw/en", "English (Great Britain)", ("en-gb",)),
    Voice("gmw/en-us", "English (America)", ("en-us",)),
    Voice("gmw/en-gb-scotland", "English (Scotland)", ("en-gb-scotland",)),
    Voice("sit/cmn-latn-pinyin", "Chinese (latin as English)", ("cmn",)),
    Voice("gmw/de", "German", ("de",)),
    Voice("en_US-joe-medium", "joe", ("en-us",), EngineKind.PIPER, "medium"),
]


@pytest.mark.parametrize("typed, expected", [
    ("en-gb", "gmw/en"), ("en_GB", "gmw/en"), ("british", "gmw/en"), ("EN-US", "gmw/en-us"),
    ("english", "gmw/en"), ("gmw/de", "gmw/de"), ("german", "gmw/de"), ("joe", "en_US-joe-medium"),
    ("en_US-joe-medium", "en_US-joe-medium"), ("scotland", "gmw/en-gb-scotland"),
])
def test_names_people_type_find_a_voice(typed, expected):
    assert match_voice(typed, ESPEAK_LIKE).id == expected


def test_unknown_names_get_the_closest_choices():
    assert match_voice("en-gbb", ESPEAK_LIKE) is None
    assert [v.id for v in closest_voices("en-gbb", ESPEAK_LIKE)][0] == "gmw/en"
    assert closest_voices("jo", ESPEAK_LIKE)[0].id == "en_US-joe-medium"
    assert closest_voices("qqqqqq", ESPEAK_LIKE)                 # something to suggest anyway


def test_user_voice_folder_is_searched(tmp_path):
    (tmp_path / "xx_YY-anna-low.onnx").write_bytes(b"model")
    (tmp_path / "xx_YY-anna-low.onnx.json").write_text(
        json.dumps({"audio": {"sample_rate": 16000, "quality": "low"}}))
    (tmp_path / "lonely.onnx").write_bytes(b"no config beside it")
    found = [v for v in find_piper_voices(tmp_path) if v.model.parent == tmp_path]
    assert [(v.voice.id, v.voice.name, v.voice.languages, v.voice.quality, v.samplerate)
            for v in found] == [("xx_YY-anna-low", "anna", ("xx-yy",), "low", 16000)]
    assert read_voice(tmp_path / "lonely.onnx") is None


def test_auto_without_piper_is_pyttsx3(monkeypatch):
    monkeypatch.setattr(engine_choice, "piper_installed", lambda: False)
    assert resolve(SpeechSettings()).engine is EngineKind.PYTTSX3
    with pytest.raises(SpeechEngineError, match="voicecoach\\[neural\\]"):
        resolve(SpeechSettings(engine=EngineKind.PIPER))


@needs_piper
def test_auto_prefers_the_neural_voice_unless_the_voice_is_espeaks():
    assert resolve(SpeechSettings()).engine is EngineKind.PIPER
    assert resolve(SpeechSettings(voice="joe")).engine is EngineKind.PIPER
    assert resolve(SpeechSettings(voice="en-gb")).engine is EngineKind.PYTTSX3
    assert resolve(SpeechSettings(engine=EngineKind.PYTTSX3)).engine is EngineKind.PYTTSX3
    with pytest.raises(InputError, match="unknown voice 'en-gb'.*en_US-joe-medium"):
        resolve(SpeechSettings(voice="en-gb", engine=EngineKind.PIPER))


def test_check_voice_asks_pyttsx3_too():
    assert check_voice(SpeechSettings(voice="en-gb", engine=EngineKind.PYTTSX3)).voice == "en-gb"
    with pytest.raises(InputError) as info:
        check_voice(SpeechSettings(voice="en-gbb"), where="x.toml: speech.voice")
    message = str(info.value)
    assert message.startswith("x.toml: speech.voice: unknown voice 'en-gbb'; closest: gmw/en ")
    assert "\n" not in message


@needs_piper
def test_real_bank_cold_then_warm_with_piper(tmp_path):
    texts = ["One", "Two", "Rest, 60 seconds"]
    settings = SpeechSettings(engine=EngineKind.PIPER)
    with CueBank(48000, settings, CueCache(tmp_path)) as bank:
        assert bank.prefetch(texts) == 3
        cold = {t: np.array(bank.get(t)) for t in texts}
        assert bank.prefetch(texts) == 0
    with CueBank(48000, settings, CueCache(tmp_path)) as warm:
        for t in texts:
            np.testing.assert_array_equal(warm.get(t), cold[t])
        assert warm._engine is None                                    # never started


@pytest.mark.parametrize("kind", ENGINES, ids=str)
def test_pool_prefetch_equals_one_by_one(kind, tmp_path):
    if kind is EngineKind.PIPER and not (piper_voices.piper_installed() and find_piper_voices()):
        pytest.skip("the neural group is not installed")
    texts = [f"Set {i} of 12" for i in range(1, 13)]
    settings = SpeechSettings(engine=kind)
    with CueBank(48000, settings, CueCache(tmp_path / "pool")) as pooled:
        assert pooled.prefetch(texts) == 12
        together = {t: np.array(pooled.get(t)) for t in texts}
    with CueBank(48000, settings, None) as single:
        for t in reversed(texts):
            np.testing.assert_array_equal(single.get(t), together[t])


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


@needs_piper
def test_a_piper_worker_launched_with_settings_loads_its_voice_before_the_first_phrase():
    settings = SpeechSettings(engine=EngineKind.PIPER)
    text = "Breathe in and lower"
    with SpeechEngine(EngineKind.PIPER) as plain, SpeechEngine(EngineKind.PIPER) as early:
        plain.launch()
        early.launch(settings)
        idle, loading = plain._res.worker, early._res.worker
        idle.wait_ready()
        loading.wait_ready()
        deadline = time.monotonic() + 120
        while _rss_kib(loading.process.pid) < _rss_kib(idle.process.pid) + 30_000:  # the model's weights
            assert time.monotonic() < deadline, "the voice was not loaded before any phrase was asked"
            time.sleep(0.1)
        # a load that fails is only a hint: the worker answers the next request, and in step
        loading.conn.send(("load", {"model": "/nonexistent.onnx", "config": "/nonexistent.json"}))
        first = early.synthesize(text, settings)
        assert np.array_equal(first[0], plain.synthesize(text, settings)[0]) and first[1] == 22050
        assert np.array_equal(early.synthesize(text, settings)[0], first[0])
