"""A real preset with the real voice, exported and read back by real decoders."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from workers import one_worker_at_a_time

from voicecoach.audio.sounds import make_sound

SR = 48000
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["auto", "pyttsx3"], ids=["default-neural", "pyttsx3"])
def exported(tmp_path_factory, cue_cache, request):
    out = tmp_path_factory.mktemp("export")
    env_args = dict(env={**__import__("os").environ, "VOICECOACH_CACHE_DIR": str(cue_cache)},
                    capture_output=True, text=True, timeout=300)
    args = ["leg-lifts", "--sets", "2", "--reps", "6", "--rest", "10", "--engine", request.param]
    with one_worker_at_a_time(tmp_path_factory, f"export-{request.param}"):
        r = subprocess.run([sys.executable, "-m", "voicecoach", "export", *args, "-o", str(out / "s.wav"),
                            "--stems", "--cue"], **env_args)
    assert r.returncode == 0, r.stderr
    plan = json.loads(subprocess.run([sys.executable, "-m", "voicecoach", "timeline", *args, "--json"],
                                     **env_args).stdout)
    return out, plan, env_args, args


def test_length_is_exactly_the_timeline(exported):
    out, plan, _, _ = exported
    for name in ("s.wav", "s.voice.wav", "s.ticks.wav"):
        info = sf.info(out / name)
        assert (info.frames, info.samplerate, info.subtype) == (plan["frames"], SR, "PCM_16")


def test_every_tick_sits_on_its_frame(exported):
    out, plan, _, _ = exported
    ticks, _ = sf.read(out / "s.ticks.wav", dtype="float32")
    ticks = np.concatenate([np.zeros(48, np.float32), ticks])     # room before frame 0
    checked = 0
    for e in plan["events"]:
        if e["kind"] not in ("tick", "accent"):
            continue
        template = make_sound(e["kind"], SR)
        f = e["frame"] + 48
        window = ticks[f - 48:f + len(template) + 48]
        xc = np.correlate(window, template, mode="valid")
        assert int(np.argmax(xc)) == 48, (e, int(np.argmax(xc)) - 48)
        checked += 1
    assert checked > 50


def test_every_voice_onset_within_10_ms(exported):
    out, plan, _, _ = exported
    voice, _ = sf.read(out / "s.voice.wav", dtype="float32")
    speech = [e for e in plan["events"] if e["kind"] == "speech"]
    assert len(speech) > 40
    for e in speech:
        f = e["frame"]
        clip = voice[f:f + e["frames"]]
        loud = np.flatnonzero(np.abs(clip) > 0.01 * np.max(np.abs(clip)))
        assert loud[0] <= 0.010 * SR, (e["text"], loud[0] / SR)         # starts within 10 ms
        before = voice[max(0, f - SR // 20):max(0, f - SR // 1000)]
        assert not before.size or np.max(np.abs(before)) < 0.01, e["text"]   # and not earlier


def test_stems_sum_to_the_mix(exported):
    out, _, _, _ = exported
    mix = sf.read(out / "s.wav", dtype="int32")[0].astype(np.int64)
    stems = sum(sf.read(out / f"s.{k}.wav", dtype="int32")[0].astype(np.int64) for k in ("voice", "ticks"))
    assert np.max(np.abs(mix - stems)) <= 2 * 65536     # two 16-bit roundings


def test_cue_sheet_has_a_chapter_per_set_and_rest(exported):
    out, _, _, _ = exported
    sheet = (out / "s.cue").read_text()
    assert sheet.count("TRACK") >= 4 and "Set 2 of 2" in sheet and "Rest" in sheet


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")
@pytest.mark.parametrize("exported", ["pyttsx3"], indirect=True)   # a format's writer never knows the voice
@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "opus", "mp3"])
def test_every_format_decodes_with_chapters(exported, fmt):
    out, plan, env_args, args = exported
    path = out / f"p.{fmt}"
    r = subprocess.run([sys.executable, "-m", "voicecoach", "export", *args, "-o", str(path)], **env_args)
    assert r.returncode == 0, r.stderr
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_chapters",
                                       "-of", "json", str(path)], capture_output=True, text=True).stdout)
    duration = float(probe["format"]["duration"])
    assert abs(duration - plan["frames"] / SR) < 0.08, duration
    if fmt != "wav":
        titles = [c["tags"]["title"] for c in probe["chapters"]]
        assert "Set 1 of 2" in titles and "Set 2 of 2" in titles and "Rest" in titles
    decoded = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True) \
        if fmt in ("wav", "flac", "ogg") else None
    if decoded is not None:
        assert "Maximum amplitude" in decoded.stderr
