"""The session's loudness gain and the limiter's plan, both known before any sound.

Without music the gain is set by construction from the plan
(:mod:`voicecoach.audio.gain_rule`) and the limiter's gain is planned from
the session's sounds: the mixer's clusters are grouped into *regions*
(sounds closer than :data:`GAP`), and every distinct region (the same phrase
and ticks recur every rep) is rendered once, wherever it occurs: silence
costs nothing. The same regions measure what a mixer really renders
(:func:`measured_loudness`: the loudness an export is tagged with). With
music a first pass renders the whole mix with a second decode of the
music, block by block through a streamed meter, and live play and export
share the gain it finds.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.ducking import music_trim
from voicecoach.audio.gain_plan import GainPlan, envelope, plan_gain
from voicecoach.audio.gain_rule import rule_gain
from voicecoach.audio.levels import CEILING_DBTP, TruePeakLimiter
from voicecoach.audio.loudness import KWeighting, LoudnessMeter, integrated_loudness, k_weighting_ir, weighted
from voicecoach.audio.mixer import BUSES, Mixer, merged_spans
from voicecoach.common.decibels import gain as db_gain

__all__ = ["Loudness", "default_target", "limited", "loudness_gain", "measured_loudness", "normalise_sparse"]

DEFAULT_LUFS: dict[int, float] = {1: -19.0, 2: -16.0}
"""Spoken-word targets of phone and podcast players: -16 LUFS stereo, -19 mono
(the same perceived level: a mono file plays on both ears)."""
GAP = 0.1
"""Seconds of silence that separate two regions (longer than the limiter's
reach and the K-weighting's audible tail)."""


Progress = Callable[[int, int], None]
"""Told ``(done, total)`` as the session is measured: a terminal shows it."""


def _silent(done: int, total: int) -> None:
    pass


def default_target(channels: int) -> float:
    """The loudness target of an export with ``channels`` channels."""
    return DEFAULT_LUFS[2 if channels >= 2 else 1]


@dataclass(frozen=True)
class Loudness:
    """What normalisation found: ``gain`` applied to reach ``target``."""

    target: float
    measured: float  # integrated LUFS before the gain
    gain: float  # linear
    music: float = 1.0
    """Trim on the music's level (linear, at most 1): loud music goes under the voice."""


def _regions(mixer: Mixer) -> dict[tuple, list[int]]:
    """Distinct regions of the mix, keyed ``(length, ((bus, source, offset,
    start in region, frames), ...))``: key -> the frames where they start."""
    rows: list[tuple[int, int, int, int, int]] = []
    for b, bus in enumerate(BUSES):
        starts, ends, src, off = mixer.clusters(bus)
        rows += zip(starts.tolist(), ends.tolist(), [b] * len(starts), src.tolist(), off.tolist(), strict=True)
    rows.sort()
    starts = np.array([r[0] for r in rows], np.int64)
    firsts, reaches = merged_spans(starts, np.array([r[1] for r in rows], np.int64), int(GAP * mixer.samplerate))
    cut = [*starts.searchsorted(firsts).tolist(), len(rows)]  # each region's rows
    out: dict[tuple, list[int]] = {}
    for a, z, i, j in zip(firsts.tolist(), reaches.tolist(), cut[:-1], cut[1:], strict=True):
        key = (z - a, tuple((b, k, o, s - a, e - s) for s, e, b, k, o in rows[i:j]))
        out.setdefault(key, []).append(a)
    return out


def _spread(meter: LoudnessMeter, energy: np.ndarray, starts: list[int], channels: int) -> None:
    """Add a region's energy per frame at each of its ``starts`` into the
    meter's 100 ms sub-blocks (all occurrences at once)."""
    c = np.concatenate([[0.0], np.cumsum(energy * channels)])
    frames, step = len(energy), meter.step
    a = np.asarray(starts, dtype=np.int64)[:, None]
    first = a // step
    j = np.arange(-(-frames // step) + 2)
    bounds = np.clip((first + j) * step - a, 0, frames)  # (occurrences, sub-blocks + 1)
    parts = np.diff(c[bounds], axis=1)
    meter.add_energy((first + j[:-1]).reshape(-1), parts.reshape(-1))


def _render(mixer: Mixer, key: tuple, start: int) -> np.ndarray:
    """One region as sounded from ``start`` (mono float32; channels are equal)."""
    buf = np.zeros((key[0], mixer.channels), dtype=np.float32)
    mixer.render(buf, start)
    return np.ascontiguousarray(buf[:, 0])


def measured_loudness(mixer: Mixer, progress: Progress = _silent) -> float:
    """Integrated loudness (LUFS) of what ``mixer`` renders, its master gain and
    limiter plan included, from its distinct regions: each rendered and
    K-weighted once, its energy spread wherever it occurs (silence costs nothing)."""
    return _measure(mixer, _regions(mixer), progress)[0]


def _measure(mixer: Mixer, regions: dict[tuple, list[int]], progress: Progress = _silent) -> tuple[float, int]:
    """:func:`measured_loudness` of ``regions``; ``progress`` is told the regions
    done out of twice their number (a limiter plan renders them again)."""
    sr, ch = mixer.samplerate, mixer.channels
    meter = LoudnessMeter(sr, ch)
    meter.set_length(mixer.frames)
    for done, (key, starts) in enumerate(regions.items()):
        progress(done, 2 * len(regions))
        _spread(meter, np.square(weighted(_render(mixer, key, starts[0]), sr), dtype=np.float64), starts, ch)
    return meter.integrated(), len(regions)


def limiter_plan(
    mixer: Mixer, gain: float, regions: dict[tuple, list[int]] | None = None, progress: Progress = _silent
) -> GainPlan:
    """The limiter's gain over the whole session at loudness gain ``gain``,
    from its distinct regions (the mixer before that gain), each rendered
    again when its envelope is needed: nothing per frame is kept."""
    if mixer.master != 1.0:
        raise ValueError("plan from the mixer before its loudness gain")
    found = _regions(mixer) if regions is None else regions
    done = itertools.count(0 if regions is None else len(found))

    total = 2 * len(found) if regions is not None else len(found)

    def rendered(key: tuple) -> np.ndarray:
        progress(next(done), total)
        return envelope(_render(mixer, key, found[key][0]))

    plan = plan_gain(found, rendered, gain, db_gain(CEILING_DBTP))
    total = 2 * len(found) if regions is not None else len(found)
    progress(total, total)
    return plan


def normalise_sparse(
    mixer: Mixer, target: float, loudness: float, progress: Progress = _silent
) -> tuple[Loudness, GainPlan]:
    """Loudness gain and limiter plan of a session without music that sounds at
    ``loudness`` LUFS as ``mixer`` stands (before its loudness gain): the gain
    brings that to ``target`` (:func:`~voicecoach.audio.gain_rule.rule_gain`) and
    the limiter's plan holds its peaks; ``progress(done, total)`` as it goes."""
    if mixer.master != 1.0:
        raise ValueError("plan the mixer before its loudness gain")
    loud = Loudness(target, loudness, rule_gain(target, loudness))
    return loud, limiter_plan(mixer, loud.gain, progress=progress)


def limited(x: np.ndarray) -> np.ndarray:
    """``x`` (mono, float64) through a fresh limiter, as one stream."""
    lim = TruePeakLimiter(1)
    src = np.zeros((len(x) + lim.delay, 1), dtype=np.float32)  # it reads at most delay frames past x
    src[: len(x), 0] = x
    pos = 0

    def pull(view: np.ndarray) -> None:
        nonlocal pos
        view[:] = src[pos : pos + len(view)]
        pos += len(view)

    out = np.empty((len(x), 1), dtype=np.float32)
    lim.run(pull, out)
    return out[:, 0].astype(np.float64)


def _speech_energy(mixer: Mixer, starts: np.ndarray, ends: np.ndarray) -> float:
    """K-weighted energy of the voice over the speech intervals ``[starts, ends)``:
    each distinct interval (the same cue recurs every rep) is weighted once."""
    seen: dict[bytes, float] = {}
    total = 0.0
    for a, z in zip(starts.tolist(), ends.tolist(), strict=True):
        voice = np.zeros((z - a, mixer.channels), dtype=np.float32)
        mixer.render(voice, a, bus="voice")
        key = hashlib.blake2b(voice.data).digest()
        if key not in seen:  # channels carry the same voice
            y = weighted(voice[:, 0], mixer.samplerate)[: z - a]
            seen[key] = float(np.dot(y, y)) * mixer.channels
        total += seen[key]
    return total


def _with_music(mixer: Mixer, target: float, bed: MusicBed, progress: Progress = _silent) -> Loudness:
    """The first pass: the mix without music and the music K-weighted apart,
    so the music's trim (:func:`~voicecoach.audio.ducking.music_trim`, from
    its energy under the speech) is known before the mix's loudness is read
    at that trim (sub-block energies of ``(r + k x)^2``)."""
    sr, ch = mixer.samplerate, mixer.channels
    block = (1 << 16) + 1 - len(k_weighting_ir(sr))  # FFTs of 65536 with the filter's tail
    starts, ends = bed.envelope.starts, bed.envelope.ends
    k_rest, k_music = KWeighting(sr, ch), KWeighting(sr, ch)
    rr, rx, xx = (LoudnessMeter(sr, ch) for _ in range(3))
    buf = np.empty((block, ch), dtype=np.float32)
    under = 0.0  # the music's energy under the speech
    done = 0
    while done < mixer.frames:
        progress(done, mixer.frames)
        n = min(block, mixer.frames - done)
        view = buf[:n]
        mixer.render(view, done)
        r, x = k_rest.process(view), k_music.process(bed.music(n, done))
        rr.add_frames(np.einsum("ij,ij->i", r, r))
        rx.add_frames(np.einsum("ij,ij->i", r, x))
        e = np.einsum("ij,ij->i", x, x)
        xx.add_frames(e)
        c = np.concatenate([[0.0], np.cumsum(e)])
        lo, hi = ends.searchsorted(done, "right"), starts.searchsorted(done + n, "left")
        under += float(np.sum(c[np.minimum(ends[lo:hi], done + n) - done] - c[np.maximum(starts[lo:hi], done) - done]))
        done += n
    progress(done, mixer.frames)
    k = music_trim(_speech_energy(mixer, starts, ends), under)
    energies = rr.energies + 2.0 * k * rx.energies + k * k * xx.energies
    measured = integrated_loudness(energies, mixer.frames, rr.step)
    g = db_gain(target - measured) if np.isfinite(measured) else 1.0
    return Loudness(target, measured, g, music=k)


def loudness_gain(mixer: Mixer, target: float, music: MusicBed | None = None, progress: Progress = _silent) -> Loudness:
    """The gain that brings the session's mixer (before any loudness gain) to
    ``target`` LUFS integrated; ``music`` is a fresh bed over the same music
    as the one that will play (the first pass consumes it)."""
    if mixer.master != 1.0:
        raise ValueError("measure the mixer before its loudness gain")
    if music is None:
        measured = measured_loudness(mixer, progress)
        return Loudness(target, measured, rule_gain(target, measured))
    return _with_music(mixer, target, music, progress)
