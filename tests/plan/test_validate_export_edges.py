"""``presets validate`` refuses what ``export`` would refuse, with the same
one line and exit 2, and export does not fail on what validate passed: digits
of other scripts, a warm-up counted past the last number word, a sound too
short to survive a low session rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.timeout(240)

BASE = """\
title = "Mine"
exercise = "lift"
sets = 1
reps = 2
rest = 5
tempo = "1-0-1-0"
"""


def both_refuse(run, preset: Path, *export_args: str) -> str:
    out = preset.with_suffix(".wav")
    validated = run("presets", "validate", str(preset))
    exported = run("export", str(preset), "-o", str(out), "--engine", "pyttsx3", *export_args)
    assert (validated.code, exported.code) == (2, 2), (validated, exported)
    assert validated.err == exported.err and validated.err.count("\n") == 1
    assert validated.err.startswith(f"voicecoach: error: {preset}: ")
    assert not out.exists()
    return validated.err


@pytest.mark.parametrize("digit", ["\u0663", "\U0001d7d1"], ids=["arabic-indic", "math-bold"])
def test_a_cue_of_digits_of_another_script_is_refused_by_both(run, tmp_path, digit):
    preset = tmp_path / "mine.toml"
    preset.write_text(BASE + f'[cues]\nintro = ["{digit}"]\n', encoding="utf-8")
    err = both_refuse(run, preset)
    assert "cues.intro[0]: has nothing to say" in err and digit in err


def test_a_warm_up_counted_past_the_last_number_word_is_refused_by_both(run, tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text(BASE + '[[warmup]]\nsay = "Breathe"\nseconds = 600\ncount = 100\n')
    err = both_refuse(run, preset)
    assert "warmup[1].count:" in err and "100" in err
    res = run("timeline", str(preset))
    assert res.code == 2 and res.err == err


def test_a_warm_up_counted_to_the_last_number_word_is_said_to_the_end(run, tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text(BASE + '[[warmup]]\nsay = "Breathe"\nseconds = 600\ncount = 99\n')
    assert run("presets", "validate", str(preset)).code == 0
    res = run("timeline", str(preset))
    assert res.code == 0 and "Ninety-nine" in res.out


def test_a_sound_of_one_sample_is_refused_at_every_rate(run, tmp_path):
    sf.write(tmp_path / "click.wav", np.array([0.5], np.float32), 48000)
    preset = tmp_path / "mine.toml"
    preset.write_text(BASE + '[sounds]\ntick = "click.wav"\n')
    err = both_refuse(run, preset, "--samplerate", "22050")
    assert "sounds.tick:" in err and "a sound lasts at least 5 ms" in err
    assert run("export", str(preset), "-o", str(tmp_path / "x.wav"), "--engine", "pyttsx3").err == err


def test_a_short_sound_that_validates_exports_at_the_lowest_rate(run, tmp_path):
    t = np.arange(1, 264) / 48000        # 5.5 ms of 1 kHz: just over the shortest allowed
    sf.write(tmp_path / "tick.wav", (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 48000)
    preset = tmp_path / "mine.toml"
    preset.write_text(BASE + '[sounds]\ntick = "tick.wav"\n')
    assert run("presets", "validate", str(preset)).code == 0
    out = tmp_path / "out.wav"
    res = run("export", str(preset), "-o", str(out), "--engine", "pyttsx3", "--samplerate", "8000")
    assert res.code == 0, res.err
    assert sf.info(str(out)).samplerate == 8000
