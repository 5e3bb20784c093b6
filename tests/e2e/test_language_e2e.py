"""A German session played through the null sink: what is recorded is the
German export, word for word where the timeline puts each German phrase."""

import json

import numpy as np
import pytest
from pulse import SR, best_lag, export_wav, stop_recording

pytestmark = pytest.mark.e2e

GERMAN = """
title = "Kurzer Test"
exercise = "leg lift"
sets = 2
reps = 2
rest = 5
tempo = "2-0-1-0"
[speech]
engine = "pyttsx3"
language = "de"
[cues]
concentric = ["Ausatmen und heben", "Aus, heben"]
"""


def rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-12)


def test_a_german_session_plays_as_its_export(vc, pulse, tmp_path):
    preset = tmp_path / "kurz.toml"
    preset.write_text(GERMAN, encoding="utf-8")
    plan = json.loads(vc("timeline", str(preset), "--json").stdout)
    assert (plan["language"], plan["voice"]) == ("de", "pyttsx3:de")
    speech = [e for e in plan["events"] if e["kind"] == "speech"]
    texts = [e["text"] for e in speech]
    assert "Satz 1 von 2. 2 Wiederholungen. Mach dich bereit." in texts and "Eins" in texts
    assert "5 Sekunden Pause. Atme durch." in texts or "Pause, 5 Sekunden." in texts or "Pause." in texts

    ref = export_wav(vc, preset, tmp_path / "ref.wav")
    assert len(ref) == plan["frames"]
    rec_path = tmp_path / "rec.raw"
    rec = pulse.record(rec_path)
    r = vc("play", str(preset), "--device", "pulse")
    recording = stop_recording(rec, rec_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Kurzer Test: finished; underruns: ")
    lag, corr = best_lag(recording, ref)
    assert corr >= 0.98, corr
    heard = recording[lag:lag + len(ref)]
    # every German phrase is heard where the timeline puts it, at the export's level
    for e in speech:
        start, end = e["frame"], e["frame"] + e["frames"]
        assert abs(rms_db(heard[start:end]) - rms_db(ref[start:end])) < 1.0, e["text"]
        before = heard[max(0, start - SR // 20):start]
        if e["frame"] % SR and len(before) and not ref[max(0, start - SR // 20):start].any():
            assert rms_db(heard[start:start + SR // 20]) > rms_db(before) + 20, e["text"]  # its onset
