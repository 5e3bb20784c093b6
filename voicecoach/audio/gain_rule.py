"""The session's loudness gain by construction: known before any cue is synthesised.

Every cue is brought to one loudness (:func:`voicecoach.cues.dsp.normalise`) and the metronome's
sounds have fixed levels, so how loud the session sounds follows from its plan: where speech is
heard and for how long, where each sound plays, at what level. The plan here is the estimated one
(:func:`~voicecoach.plan.schedule.build_timeline` with estimated spoken lengths): the preset alone
gives it, so a cold start knows the gain at once, and a warm start finds the same one. The export
lands within :data:`TOLERANCE_LU` of the target; its loudness tags carry what it really measures.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from voicecoach.audio.loudness import LoudnessMeter, weighted
from voicecoach.common.decibels import gain as db_gain
from voicecoach.plan.kinds import EventKind
from voicecoach.plan.timeline import Timeline

__all__ = ["SPEECH_LOUDNESS_DB", "TOLERANCE_LU", "planned_loudness", "rule_gain"]

SPEECH_LOUDNESS_DB = -22.8
"""Mean K-weighted energy per frame (dB) of a cue as :func:`voicecoach.cues.dsp.normalise`
leaves it, pauses between its words included, with the limiter's small share at the spoken-word
targets: the middle of what the built-in presets' cues measure with either engine."""
TOLERANCE_LU = 1.0
"""How far from the target the export of a built-in preset may measure (either engine)."""


def _sound_energy(clip: np.ndarray, samplerate: int) -> float:
    """K-weighted energy per frame of one of the session's own sounds (mono)."""
    y = weighted(np.asarray(clip, dtype=np.float32), samplerate)
    return float(np.dot(y, y)) / max(1, len(clip))


def planned_loudness(
    timeline: Timeline, sounds: Mapping[str, np.ndarray], levels: Mapping[str, float], channels: int
) -> float:
    """Integrated loudness (LUFS) of ``timeline`` at unity gain, by construction.

    Each event sounds as a constant energy over its frames: speech at
    :data:`SPEECH_LOUDNESS_DB` times the voice level squared, a sound at its own K-weighted energy
    times the ticks' level squared. ``sounds`` maps a sound's name (``tick``, ``accent``, ``bell``,
    a preset's role) to its clip (float32, shape ``(n,)``); ``levels`` the buses' linear gains.
    """
    sr = timeline.samplerate
    meter = LoudnessMeter(sr, channels)
    meter.set_length(timeline.frames)
    step = meter.step
    speech = db_gain(SPEECH_LOUDNESS_DB) ** 2 * levels.get("voice", 1.0) ** 2
    tick = levels.get("ticks", 1.0) ** 2
    own = {name: _sound_energy(clip, sr) * tick for name, clip in sounds.items()}
    starts, ends, density = [], [], []
    for e in timeline.events:
        if e.frames <= 0:
            continue
        starts.append(e.frame)
        ends.append(min(e.frame + e.frames, timeline.frames))
        density.append(speech if e.kind == EventKind.SPEECH else own[e.sound or e.kind])
    a, z, d = (np.asarray(v) for v in (starts, ends, density))
    first, last = a // step, (z - 1) // step
    for k in range(int((last - first).max(initial=-1)) + 1):  # events span a few sub-blocks
        sub = first + k
        overlap = np.minimum(z, (sub + 1) * step) - np.maximum(a, sub * step)
        keep = overlap > 0
        meter.add_energy(sub[keep], d[keep] * overlap[keep] * channels)
    return meter.integrated()


def rule_gain(target: float, loudness: float) -> float:
    """The linear gain that brings a session planned at ``loudness`` LUFS to ``target``."""
    return db_gain(target - loudness) if np.isfinite(loudness) else 1.0
