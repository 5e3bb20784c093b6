"""Type checks for numbers from presets, options and callers. ``bool`` is an
``int`` in Python, but ``reps = true`` is a mistake, not 1: every check here
rejects it. numpy's integer and float scalars pass."""

from __future__ import annotations

import numbers


def is_int(value: object) -> bool:
    """True for an integer (Python or numpy), False for a bool or anything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """True for an int or a float (Python or numpy), False for a bool or anything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int if it is a positive integer; zero or a negative one
    is a ValueError, anything but an integer (a bool too) a TypeError."""
    n = _checked_int(value, name)
    if n <= 0:
        raise ValueError(f"{name} must be positive, not {value}")
    return n


def check_count(value: object, name: str) -> int:
    """``value`` as an int if it is a whole number of things, 0 included; a
    negative one is a ValueError, anything but an integer a TypeError."""
    n = _checked_int(value, name)
    if n < 0:
        raise ValueError(f"{name} must be >= 0, not {value}")
    return n


def _checked_int(value: object, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):  # is_int, spelled out for mypy
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return int(value)
