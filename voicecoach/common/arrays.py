"""Checks of the audio arrays our APIs take, with soundfile-style errors:
TypeError for a wrong type or dtype, ValueError for a wrong shape or value."""

from __future__ import annotations

import numpy as np


def check_mono(value: object, what: str, dtypes: tuple[type, ...], *, allow_empty: bool = True) -> np.ndarray:
    """``value`` if it is a mono array, shape ``(n,)``, of one of ``dtypes``,
    finite if floating; else an error naming ``what``."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, not {type(value).__name__}")
    if value.dtype not in dtypes:
        names = " or ".join(np.dtype(d).name for d in dtypes)
        raise TypeError(f"{what} must be {names}, not {value.dtype}")
    if value.ndim != 1:
        raise ValueError(f"{what} must be mono, shape (n,), not {value.shape}")
    if not allow_empty and value.size == 0:
        raise ValueError(f"{what} is empty")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ValueError(f"{what} contains NaN or infinity")
    return value


def scale_frames(block: np.ndarray, gain: np.ndarray) -> None:
    """Multiply each frame of ``block`` (``(n, channels)``) by ``gain``
    (``(n,)``) in place, channel by channel: a broadcasting ufunc would
    allocate an iteration buffer, which the audio callback must not."""
    for c in range(block.shape[1]):
        np.multiply(block[:, c], gain, out=block[:, c])
