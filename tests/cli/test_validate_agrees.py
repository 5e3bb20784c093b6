"""``presets validate`` and ``export`` agree: a corpus of bad presets and bad
[sounds] files, each refused by both with the same one line (file, key,
value) and exit 2, and nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.timeout(120)

BASE = """\
title = "Mine"
exercise = "lift"
sets = 2
reps = 3
rest = 5
tempo = "1-0-1-0"
"""


def sound_file(kind: str, folder: Path) -> str:
    """A [sounds] file that is not usable audio; returns the value for the preset."""
    path = folder / f"{kind}.wav"
    if kind == "text":
        path.write_text("not a sound\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "silent":
        sf.write(path, np.zeros(4800, np.float32), 48000)
    elif kind == "nan":
        x = np.full(4800, 0.5, np.float32)
        x[100] = np.nan
        sf.write(path, x, 48000, subtype="FLOAT")
    elif kind == "long":
        sf.write(path, np.full(48000 * 6, 0.3, np.float32), 48000)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    return str(path)


SOUNDS = {"text": "not an audio file", "empty": "not an audio file", "silent": "is silent",
          "nan": "NaN", "long": "at most 5 s", "fifo": "is a FIFO, not a regular file",
          "folder": "is a directory, not a regular file", "missing": "no such sound file"}
PRESETS = {
    "unvoiceable title": BASE.replace('"Mine"', '"..."'),
    "zero-width cue": BASE + '[cues]\nconcentric = ["\\u200b\\u200b"]\n',
    "unvoiceable warm-up": BASE + '[[warmup]]\nsay = "?!"\nseconds = 5\n',
    "10k title": BASE.replace('"Mine"', '"' + "a" * 10_000 + '"'),
    "200k warm-up": BASE + '[[warmup]]\nsay = "' + "word " * 40_000 + '"\nseconds = 5\n',
    # 2.8 hours of work and rests; the speech (estimated) takes it past 4 hours
    "speech over 4 hours": BASE.replace("sets = 2", "sets = 20").replace("reps = 3", "reps = 200")
    .replace('"1-0-1-0"', '"1.5-0-1-0"')
    + "[cues]\nintro = [" + ", ".join(['"' + "word " * 59 + '"'] * 100) + "]\n"
    + "outro = [" + ", ".join(['"' + "word " * 59 + '"'] * 100) + "]\n",
    "tempo of no frames": BASE.replace('"1-0-1-0"', '"0.00001-0-0.00001-0"'),
    "TOML 1000 deep": BASE + "x = " + "[" * 1000 + "]" * 1000 + "\n",
    "control characters only": BASE.replace('"Mine"', '"\\u001b\\u0007\\u009b"'),
}


def both(run, preset: Path, out: Path):
    validated = run("presets", "validate", str(preset))
    exported = run("export", str(preset), "-o", str(out))
    return validated, exported


@pytest.mark.parametrize("kind", sorted(SOUNDS))
def test_validate_then_fails_sound_files(run, tmp_path, kind):
    value = sound_file(kind, tmp_path)
    preset = tmp_path / "mine.toml"
    preset.write_text(BASE + f'[sounds]\ntick = "{value}"\n')
    out = tmp_path / "out.wav"
    validated, exported = both(run, preset, out)
    assert (validated.code, exported.code) == (2, 2), (validated, exported)
    assert validated.err == exported.err
    line = validated.err
    assert line.count("\n") == 1 and line.startswith(f"voicecoach: error: {preset}: sounds.tick: ")
    assert SOUNDS[kind] in line
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".part-" in p.name]


@pytest.mark.parametrize("case", sorted(PRESETS))
def test_validate_then_fails_presets(run, tmp_path, case):
    preset = tmp_path / "mine.toml"
    preset.write_text(PRESETS[case])
    out = tmp_path / "out.wav"
    validated, exported = both(run, preset, out)
    assert (validated.code, exported.code) == (2, 2), (validated, exported)
    assert validated.err == exported.err and validated.err.count("\n") == 1
    assert validated.err.startswith(f"voicecoach: error: {preset}: ")
    assert len(validated.err) < 400 and "\x1b" not in validated.err
    assert not out.exists()


def test_validate_then_fails_good_sound_passes_both(run, tmp_path):
    good = tmp_path / "tock.wav"
    t = np.arange(2400) / 48000
    sf.write(good, (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 48000)
    preset = tmp_path / "mine.toml"
    preset.write_text(BASE + '[sounds]\ntick = "tock.wav"\n')
    res = run("presets", "validate", str(preset))
    assert res.code == 0 and res.out.startswith(f"{preset}: ok: Mine, 2 sets of 3")


def test_noise_osc_in_title_is_not_printed_raw(run, tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text(BASE.replace('"Mine"', '"\\u001b]0;pwned\\u0007Mine\\u001b[2J"'))
    res = run("presets", "validate", str(preset))
    assert res.code == 0
    assert res.out == f"{preset}: ok: ]0;pwnedMine[2J, 2 sets of 3, about 1 min\n"
