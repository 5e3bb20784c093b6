"""Signal processing for cues (pure numpy, plus soxr): trim, resample, normalise.

Engine output -> :func:`trim` (voice onset at sample 0) -> :func:`resample`
(soxr) -> :func:`normalise` (one loudness for every cue); :func:`process`
chains them.
"""

from __future__ import annotations

import numpy as np

from voicecoach.common import fades
from voicecoach.common.arrays import check_mono
from voicecoach.common.decibels import gain, power_gain
from voicecoach.common.numbers import check_positive_int

TRIM_THRESHOLD_DB: float = -40.0
"""Audible = above this level relative to the phrase's peak ..."""

AUDIBLE_FLOOR_DBFS: float = -60.0
"""... and above this absolute level, so low-level noise never counts as voice."""

PREROLL_S: float = 0.002
"""Kept before the voice onset, faded in, so the attack is not cut."""

TAIL_S: float = 0.030
"""Kept after the last audible sample, the last :data:`FADE_OUT_S` of it faded out."""

FADE_OUT_S: float = 0.010

GATE_WINDOW_S: float = 0.020
"""Loudness is measured in windows this long ..."""

GATE_SILENCE_DB: float = -50.0
"""... ignoring windows this far below the loudest (pauses, silence) ..."""

GATE_RELATIVE_DB: float = -10.0
"""... and then windows this far below the mean of the rest (breaths, soft consonants)."""

TARGET_RMS_DBFS: float = -21.0
"""Gated RMS every cue is brought to. espeak phrases have 11-18 dB from gated RMS to peak, so at -21 dBFS none
hits the :data:`PEAK_DBFS` cap (at -18 dBFS half of them would, and come out up to 3 dB quieter than the rest)."""

PEAK_DBFS: float = -3.0
"""No cue sample exceeds this; the mixer relies on it for headroom."""

_SUSTAIN_BLOCK_S = 0.001  # onset/offset detection works on 1 ms blocks ...
_SUSTAIN_SPAN = 5  # ... a block counts if this many blocks starting (ending) there
_SUSTAIN_MIN = 2  # ... contain at least this many audible blocks: a lone click does not.


class SilenceError(ValueError):
    """The audio has nothing audible in it (all below the absolute floor)."""


_FLOATS = (np.float32, np.float64)


def trim(pcm: np.ndarray, samplerate: int) -> np.ndarray:
    """Cut leading and trailing silence so the voice begins at the start.

    A sample is audible above :data:`TRIM_THRESHOLD_DB` of the peak and above :data:`AUDIBLE_FLOOR_DBFS`.
    The onset is the first audible sample of the first 1 ms block that starts a sustained sound (a lone
    click does not), the end likewise backwards. :data:`PREROLL_S` before the onset is kept and faded in
    (raised cosine; if the sound starts at sample 0 the fade covers its first 2 ms instead, to avoid a
    click); :data:`TAIL_S` after the end is kept, its last :data:`FADE_OUT_S` faded to zero.

    Parameters
    ----------
    pcm : numpy.ndarray
        float32 or float64, shape ``(n,)``, mono.
    samplerate : int
        Of ``pcm``; sets the pre-roll, tail and fade lengths.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(m,)``, a new array; first and last sample 0. The
        onset is at ``min(onset, round(PREROLL_S * samplerate))``. Nothing
        above the absolute floor is a :class:`SilenceError` (a ValueError).
    """
    x = check_mono(pcm, "pcm", _FLOATS)
    samplerate = check_positive_int(samplerate, "samplerate")
    mag = np.abs(x)
    peak = float(mag.max()) if x.size else 0.0
    floor = gain(AUDIBLE_FLOOR_DBFS)
    if peak < floor:
        level = f"{20 * np.log10(peak):.1f} dBFS" if peak > 0 else "digital silence"
        raise SilenceError(f"nothing audible: peak {level} is below {AUDIBLE_FLOOR_DBFS:g} dBFS")
    loud = mag >= max(peak * gain(TRIM_THRESHOLD_DB), floor)

    b = max(1, round(_SUSTAIN_BLOCK_S * samplerate))
    nblocks = -(-len(x) // b)
    padded = np.zeros(nblocks * b, dtype=bool)
    padded[: len(x)] = loud
    active = np.asarray(padded.reshape(nblocks, b).any(axis=1))
    # per block: does a sustained sound start here (blocks [i, i + span)) / end here (blocks (i - span, i])?
    counts = np.convolve(active.astype(np.int32), np.ones(_SUSTAIN_SPAN, np.int32))
    starts = active & (counts[_SUSTAIN_SPAN - 1 : _SUSTAIN_SPAN - 1 + nblocks] >= _SUSTAIN_MIN)
    ends = active & (counts[:nblocks] >= _SUSTAIN_MIN)
    if starts.any():
        first_block = int(np.argmax(starts))
        last_block = nblocks - 1 - int(np.argmax(ends[::-1]))
        onset = first_block * b + int(np.argmax(loud[first_block * b : (first_block + 1) * b]))
        seg = loud[last_block * b : (last_block + 1) * b]
        offset = last_block * b + len(seg) - 1 - int(np.argmax(seg[::-1]))
    else:  # only isolated clicks: keep them rather than call them silence
        loud_idx = np.flatnonzero(loud)
        onset, offset = int(loud_idx[0]), int(loud_idx[-1])

    fade_in = max(1, round(PREROLL_S * samplerate))
    out = x[max(0, onset - fade_in) : offset + 1 + round(TAIL_S * samplerate)].astype(np.float64)  # a new array
    n_in = min(fade_in, len(out))
    out[:n_in] *= fades.fade_in(n_in, over=fade_in)
    n_out = min(max(1, round(FADE_OUT_S * samplerate)), len(out))
    out[len(out) - n_out :] *= fades.fade_out(n_out)
    return out.astype(np.float32)


def resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Change the sample rate with soxr ('HQ').

    Parameters
    ----------
    pcm : numpy.ndarray
        float32 or float64, shape ``(n,)``.
    rate_in, rate_out : int
        Sample rates in Hz.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(round(n * rate_out / rate_in),)`` (soxr may differ
        by a sample). When the rates are equal, ``pcm`` as float32 (the same
        object if it already was).
    """
    x = check_mono(pcm, "pcm", _FLOATS).astype(np.float32, copy=False)
    rate_in = check_positive_int(rate_in, "rate_in")
    rate_out = check_positive_int(rate_out, "rate_out")
    if rate_in == rate_out or x.size == 0:
        return x
    import soxr

    return np.ascontiguousarray(soxr.resample(x, rate_in, rate_out, quality="HQ"), dtype=np.float32)


def gated_rms(pcm: np.ndarray, samplerate: int) -> float:
    """Loudness of speech as a linear RMS, ignoring pauses and silence.

    The signal is cut into :data:`GATE_WINDOW_S` windows; windows more than :data:`GATE_SILENCE_DB` below
    the loudest are dropped (pauses), then those more than :data:`GATE_RELATIVE_DB` below the energy mean
    of the rest (soft consonants, breaths); the result is the RMS of what is left. Scale invariant.

    Parameters
    ----------
    pcm : numpy.ndarray
        float32 or float64, shape ``(n,)``, ``n > 0``.
    samplerate : int
        Of ``pcm``; sets the window length.
    """
    x = check_mono(pcm, "pcm", _FLOATS, allow_empty=False).astype(np.float64)
    samplerate = check_positive_int(samplerate, "samplerate")
    w = max(1, round(GATE_WINDOW_S * samplerate))
    if len(x) < w:
        power = np.array([np.mean(x * x)])
    else:
        full = len(x) // w
        power = np.mean(x[: full * w].reshape(full, w) ** 2, axis=1)
    loudest = float(power.max())
    if loudest == 0.0:
        return 0.0
    kept = power[power >= loudest * power_gain(GATE_SILENCE_DB)]
    kept = kept[kept >= float(kept.mean()) * power_gain(GATE_RELATIVE_DB)]
    return float(np.sqrt(kept.mean()))


def normalise(pcm: np.ndarray, samplerate: int = 48_000) -> np.ndarray:
    """Bring a cue to the common loudness, so every cue sounds equally loud.

    Scales to :data:`TARGET_RMS_DBFS` gated RMS (:func:`gated_rms`), unless
    that would put the peak above :data:`PEAK_DBFS`: then the peak is capped
    there (the cue ends up a little quieter).

    Parameters
    ----------
    pcm : numpy.ndarray
        float32 or float64, shape ``(n,)``, ``n > 0``.
    samplerate : int
        Of ``pcm``; only sets the loudness window length (20 ms).

    Returns
    -------
    numpy.ndarray
        float32, shape ``(n,)``, a new array, ``max(abs) <= 10 ** (PEAK_DBFS / 20)``.
        A peak below :data:`AUDIBLE_FLOOR_DBFS` is a :class:`SilenceError` (a ValueError).
    """
    x = check_mono(pcm, "pcm", _FLOATS, allow_empty=False).astype(np.float64)
    peak = float(np.abs(x).max())
    if peak < gain(AUDIBLE_FLOOR_DBFS):
        raise SilenceError(f"nothing audible to normalise (peak below {AUDIBLE_FLOOR_DBFS:g} dBFS)")
    scale = gain(TARGET_RMS_DBFS) / gated_rms(x, samplerate)
    # 1e-6 below the cap so float32 rounding can not push a sample over it
    scale = min(scale, gain(PEAK_DBFS) * (1.0 - 1e-6) / peak)
    return (x * scale).astype(np.float32)


def process(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Engine output -> a cue: :func:`trim`, :func:`resample`, :func:`normalise`: float32,
    shape ``(n,)`` at ``rate_out``, onset within :data:`PREROLL_S` of sample 0, peak at most :data:`PEAK_DBFS`."""
    return normalise(resample(trim(pcm, rate_in), rate_in, rate_out), rate_out)
