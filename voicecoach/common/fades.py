"""Raised-cosine ramps: gains that start or end a sound (built-in, spoken or
custom) without a click."""

from __future__ import annotations

import numpy as np

from voicecoach.common.numbers import check_count

__all__ = ["fade_in", "fade_out"]


def fade_in(frames: int, over: int | None = None) -> np.ndarray:
    """The first ``frames`` gains, float64 of shape ``(frames,)``, of a raised-cosine
    fade-in ``over`` frames (default: ``frames``; a sound shorter than its fade takes
    only its start): exactly 0 first, rising toward 1 (which the next sample would reach)."""
    frames = check_count(frames, "frames")
    over = frames if over is None else check_count(over, "over")
    if over < frames or over == 0 < frames:
        raise ValueError(f"over must be at least frames ({frames}), not {over}")
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(frames) / over)


def fade_out(frames: int) -> np.ndarray:
    """A raised-cosine fade-out, float64 of shape ``(frames,)``: falling from just
    under 1 to exactly 0, so the sound ends silent."""
    frames = check_count(frames, "frames")
    return 0.5 + 0.5 * np.cos(np.pi * np.arange(1, frames + 1) / max(frames, 1))
