"""Decibels and linear gains: one conversion, used by every level in the product."""

from __future__ import annotations

import math


def gain(db: float) -> float:
    """Linear amplitude gain of ``db`` decibels (``0`` -> ``1.0``, ``-6`` -> about ``0.5``)."""
    return float(10.0 ** (db / 20.0))


def decibels(amplitude: float) -> float:
    """``amplitude`` (a linear gain or level, > 0) in decibels; ``-inf`` for 0."""
    return 20.0 * math.log10(amplitude) if amplitude > 0 else float("-inf")


def power_gain(db: float) -> float:
    """Linear *power* ratio of ``db`` decibels (for energies and mean squares)."""
    return float(10.0 ** (db / 10.0))
