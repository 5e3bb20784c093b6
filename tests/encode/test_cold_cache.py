"""An export does not depend on what the cue cache held: cold, warm or half warm, the same bytes."""

from __future__ import annotations

import shutil
from dataclasses import replace

from running import TINY_PRESET, run_in
from voicecoach.cues.bank import POOL_MIN_PHRASES


def test_cold_warm_and_half_warm_exports_are_byte_identical(env, tmp_path):
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET)
    env = replace(env, cache_dir=tmp_path / "cache")
    cues = env.cache_dir / "cues"

    def export(name: str) -> bytes:
        out = tmp_path / name
        r = run_in(env, "export", str(preset), "--engine", "pyttsx3", "-o", str(out))
        assert r.code == 0, r.err
        return out.read_bytes()

    cold = export("cold.wav")  # every cue synthesised, in a pool of workers
    entries = sorted(cues.iterdir())
    assert len(entries) >= POOL_MIN_PHRASES  # the cold run took the pool's path
    stamps = [p.stat().st_mtime_ns for p in entries]
    assert export("warm.wav") == cold
    assert [p.stat().st_mtime_ns for p in sorted(cues.iterdir())] == stamps  # nothing synthesised again
    for entry in entries[::2]:  # half the phrases forgotten, and the loudness found before
        entry.unlink()
    shutil.rmtree(env.cache_dir / "loudness")
    assert export("half.wav") == cold
