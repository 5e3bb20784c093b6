"""The loudness gain and limiter plan of a session, kept between runs.

Measuring a session without music takes a noticeable moment; the same
session played or exported again reuses the result, so ``play`` starts at
once. Files are keyed by :meth:`Mixer.fingerprint
<voicecoach.audio.mixer.Mixer.fingerprint>` and the target, renamed into
place when written; one that cannot be read is measured again.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from voicecoach.audio.gain_plan import GainPlan
from voicecoach.audio.normalise import Loudness
from voicecoach.common.atomic import discard, temp_beside

__all__ = ["load", "path_for", "store"]

VERSION = 3
"""Bump when the meter, the limiter or the plan change what they compute."""


def path_for(directory: Path, fingerprint: bytes, target: float) -> Path:
    return Path(directory) / "loudness" / f"{fingerprint.hex()}-{target:+.2f}-v{VERSION}.npz"


def load(path: Path) -> tuple[Loudness, GainPlan] | None:
    """The stored result, or None when there is none (or it is unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            target, measured, gain = (float(v) for v in z["loudness"])
            lengths = z["lengths"]
            offsets = np.zeros(len(lengths) + 1, np.int64)
            np.cumsum(lengths, out=offsets[1:])
            flat = z["knots"].astype(np.float32, copy=False)
            if offsets[-1] != len(flat) or len(z["starts"]) != len(lengths):
                return None
            plan = GainPlan(z["starts"], z["ends"], flat, offsets)
    except (OSError, KeyError, ValueError):
        return None
    return Loudness(target, measured, gain), plan


def store(path: Path, loud: Loudness, plan: GainPlan) -> None:
    """Keep the result; a cache that cannot be written is only a slower next run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(path)
    except OSError:
        return
    try:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                loudness=np.array([loud.target, loud.measured, loud.gain]),
                starts=plan.starts,
                ends=plan.ends,
                lengths=np.diff(plan.offsets),
                knots=plan.flat,
            )
        os.replace(tmp, path)
    except OSError:
        discard(tmp)
