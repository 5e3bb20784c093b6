"""A preset's own sounds for tick, accent and bell, loaded from files.

Prepared once, before playback, to behave like the built-in sound it
replaces: silence trimmed so its onset lands on the beat, no clicks, and the
built-in's peak so the voice stays on top. A few alternatives ship in
``audio_cues/sounds/`` (:data:`SHIPPED_SOUNDS`, built by ``scripts/make_sounds.py``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from voicecoach.audio.sounds import PEAK_DBFS
from voicecoach.common import fades
from voicecoach.common.decibels import gain
from voicecoach.common.files import UnusableFile, regular_file
from voicecoach.common.numbers import check_positive_int
from voicecoach.errors import InputError
from voicecoach.plan.metronome import SHIPPED_SOUNDS
from voicecoach.plan.preset import MAX_SOUND_BYTES

__all__ = ["load_sound", "shipped_sound"]


FADE_IN_SECONDS = 0.002
FADE_OUT_SECONDS = 0.010
SILENCE_DB = -60.0
"""Leading and trailing samples this far under the peak are trimmed."""
FLOOR_DBFS = -90.0
"""A file whose peak is under this is silent."""
MIN_SOUND_SECONDS = 0.005
"""A shorter sound (silence trimmed, at the file's rate) vanishes when resampled
to a low session rate: refused at every rate, so validation and export agree."""


def shipped_sound(name: str) -> Path:
    """The file of a sound shipped with voicecoach (one of :data:`SHIPPED_SOUNDS`)."""
    if name not in SHIPPED_SOUNDS:
        raise InputError(f"unknown sound {name!r}; shipped sounds: {', '.join(SHIPPED_SOUNDS)}")
    return Path(str(resources.files("voicecoach.audio_cues").joinpath("sounds", f"{name}.wav")))


def _fail(path: Path, problem: str) -> InputError:
    return InputError(f"sound {path}: {problem}")


def load_sound(path: Path | str, samplerate: int, max_seconds: float = 5.0, *, kind: str) -> np.ndarray:
    """Read a sound file (any format soundfile reads, at most ``max_seconds``
    long) and prepare it to replace the built-in ``kind``: float32, shape
    ``(n,)``, mono, resampled to ``samplerate`` (soxr ``'HQ'``), silence
    trimmed, faded in and out (first and last sample 0), its peak at
    ``PEAK_DBFS[kind]``. A file that is missing, not audio, too long or
    silent is an :class:`InputError` naming it.
    """
    if kind not in PEAK_DBFS:
        raise ValueError(f"unknown sound kind {kind!r}; expected one of {sorted(PEAK_DBFS)}")
    samplerate = check_positive_int(samplerate, "samplerate")
    if not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive, not {max_seconds}")
    path = Path(path).expanduser()
    try:
        regular_file(path, MAX_SOUND_BYTES)  # never a FIFO or device: sf.info would block
    except UnusableFile as exc:
        raise _fail(path, exc.problem) from None
    try:
        info = sf.info(str(path))
        if info.frames / info.samplerate > max_seconds:
            raise _fail(path, f"{info.frames / info.samplerate:.1f} s long; a sound may last at most {max_seconds:g} s")
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as err:
        reason = " ".join(str(err).split()).rsplit(": ", 1)[-1] or type(err).__name__
        raise _fail(path, f"not an audio file soundfile can read ({reason})") from None
    if len(data) / rate > max_seconds:  # the header may have under-counted
        raise _fail(path, f"{len(data) / rate:.1f} s long; a sound may last at most {max_seconds:g} s")
    mono = data.mean(axis=1, dtype=np.float64)
    if not np.all(np.isfinite(mono)):
        raise _fail(path, "contains NaN or infinite samples")
    loud = np.flatnonzero(np.abs(mono) > np.max(np.abs(mono), initial=0.0) * gain(SILENCE_DB))
    if len(loud) and loud[-1] - loud[0] + 1 < MIN_SOUND_SECONDS * rate:
        raise _fail(
            path,
            f"has {(loud[-1] - loud[0] + 1) / rate * 1000:.2f} ms of sound; "
            f"a sound lasts at least {MIN_SOUND_SECONDS * 1000:g} ms",
        )
    if rate != samplerate and len(mono):
        mono = soxr.resample(mono, rate, samplerate, quality="HQ")
    peak = float(np.max(np.abs(mono))) if len(mono) else 0.0
    if peak <= gain(FLOOR_DBFS):
        raise _fail(path, "is silent")

    loud = np.flatnonzero(np.abs(mono) > peak * gain(SILENCE_DB))
    sig = mono[loud[0] : loud[-1] + 1].copy()
    n = len(sig)
    fade_in = min(max(1, round(FADE_IN_SECONDS * samplerate)), n // 2)
    fade_out = min(max(2, round(FADE_OUT_SECONDS * samplerate)), n // 2)
    if fade_in:
        sig[:fade_in] *= fades.fade_in(fade_in)
    if fade_out:
        sig[n - fade_out :] *= fades.fade_out(fade_out)
    top = float(np.max(np.abs(sig)))
    if top <= 0.0:  # only for a sound of a sample or two
        raise _fail(path, "is silent")
    target = gain(PEAK_DBFS[kind])
    return (sig * (target / top)).astype(np.float32)
