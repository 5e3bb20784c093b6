"""Build the alternative metronome sounds shipped in audio_cues/sounds/.

    .venv/bin/python scripts/make_sounds.py [OUTPUT_DIR]

Deterministic synthesis (sums of exponentially decaying sines, no noise), so
running it again rewrites the same files. Each is 48 kHz, 16-bit PCM, mono,
peak -1 dBFS, starting and ending at zero; a preset can name one for its
tick, accent or bell, and loading rescales it to that sound's level
(voicecoach.audio.custom_sounds.load_sound).

==========  ======  =========================================================
file        length  character
==========  ======  =========================================================
woodblock   120 ms  hollow knock: 820 Hz body, inharmonic overtones, fast decay
clave       150 ms  bright, pitched 2.5 kHz click of two hardwood sticks
chime       900 ms  C6 bar chime with a slow shimmer, for "rest ends"
==========  ======  =========================================================
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 48000
PEAK_DBFS = -1.0
OUT = Path(__file__).resolve().parents[1] / "audio_cues" / "sounds"


def _partials(seconds: float, partials: list[tuple[float, float, float]],
              attack: float) -> np.ndarray:
    """Sum of ``amp * sin(2 pi f t) * exp(-t / decay)`` over ``(f, amp, decay)``,
    with a raised-cosine attack and a raised-cosine fade over the last quarter."""
    n = round(seconds * RATE)
    t = np.arange(n, dtype=np.float64) / RATE
    sig = np.zeros(n)
    for f, amp, decay in partials:
        sig += amp * np.sin(2 * np.pi * f * t) * np.exp(-t / decay)
    env = np.ones(n)
    a = max(1, round(attack * RATE))
    env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    tail = n // 4
    env[n - tail:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, tail + 1) / tail)
    sig *= env
    return sig * (10 ** (PEAK_DBFS / 20) / np.max(np.abs(sig)))


def woodblock() -> np.ndarray:
    return _partials(0.120, [(820.0, 1.0, 0.030), (1710.0, 0.55, 0.018),
                             (2630.0, 0.30, 0.010), (4870.0, 0.20, 0.003)], attack=0.0005)


def clave() -> np.ndarray:
    return _partials(0.150, [(2490.0, 1.0, 0.045), (2510.0, 0.35, 0.040),
                             (6230.0, 0.12, 0.006)], attack=0.0003)


def chime() -> np.ndarray:
    f = 1046.5                                   # C6; bar partials are near 1 : 2.76 : 5.40
    return _partials(0.900, [(f, 1.0, 0.45), (f * 1.0023, 0.6, 0.40), (f * 2.756, 0.35, 0.16),
                             (f * 5.404, 0.15, 0.06)], attack=0.002)


SOUNDS = {"woodblock": woodblock, "clave": clave, "chime": chime}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    out.mkdir(parents=True, exist_ok=True)
    for name, make in SOUNDS.items():
        path = out / f"{name}.wav"
        sf.write(str(path), make(), RATE, subtype="PCM_16")
        print(f"{path}  {path.stat().st_size / 1000:.1f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
