"""A damaged cue cache never changes what is exported: an export through the
real CLI with real speech (espeak-ng) after any damage to an entry is the
clean export, byte for byte, and the entry is repaired."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from running import run_in

from voicecoach.cli.environment import Environment

pytestmark = pytest.mark.timeout(300)

PRESET = """\
title = "Cache"
exercise = "lift"
sets = 1
reps = 2
rest = 5
tempo = "2-0-1-0"
"""


def exporter(tmp_path: Path):
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      config_dir=tmp_path / "config", cache_dir=tmp_path / "cache",
                      data_dir=tmp_path / "data", stdin_isatty=False, stderr_isatty=False)
    preset = tmp_path / "cache.toml"
    preset.write_text(PRESET)

    def export(name: str) -> bytes:
        out = tmp_path / f"{name}.wav"
        res = run_in(env, "export", str(preset), "--engine", "pyttsx3", "-o", str(out))
        assert res.code == 0, res.err
        return out.read_bytes()
    return export


def _flip(path: Path, offset: int) -> None:
    blob = bytearray(path.read_bytes())
    blob[offset] ^= 0x55
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("damage", ["another_entry_copied_over", "shortened_with_its_count",
                                    "payload_bit_flipped"])
def test_the_export_after_damage_to_the_cache_is_the_clean_export(tmp_path, damage, caplog):
    export = exporter(tmp_path)
    clean = export("clean")
    entries = sorted((tmp_path / "cache").rglob("*.cue"), key=lambda p: p.stat().st_size)
    assert len(entries) > 3
    small, big = entries[0], entries[-1]
    before = {p: p.read_bytes() for p in entries}
    if damage == "another_entry_copied_over":      # a whole, valid entry in the wrong place
        small.write_bytes(big.read_bytes())
        victim = small
    elif damage == "shortened_with_its_count":     # the header says the new, shorter length
        blob = bytearray(big.read_bytes())
        count = int.from_bytes(blob[8:16], "little")
        blob[8:16] = (count // 2).to_bytes(8, "little")
        big.write_bytes(bytes(blob[:len(blob) - 4 * (count - count // 2)]))
        victim = big
    else:
        _flip(big, big.stat().st_size // 2)
        victim = big
    with caplog.at_level(logging.WARNING, logger="voicecoach.cues"):
        again = export("again")
    assert again == clean
    assert f"cue cache entry {victim.name}" in caplog.text     # said once, and repaired
    assert victim.read_bytes() == before[victim]
    assert export("third") == clean
