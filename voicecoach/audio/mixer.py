"""The mixer: a timeline's events as samples, one block at a time.

The live player's audio callback and the exporter both call
:meth:`Mixer.render`, so for the same session they produce the same samples.
Everything that costs (validation, clip lookup, summing overlapping clips,
the headroom gain) happens once in the constructor; ``render`` only zeroes
the block and adds precomputed slices into it: no I/O, no locks, and no
allocation beyond a few small Python objects.

Events go to two buses (``voice``: speech; ``ticks``: tick, accent, bell).
Within a bus, overlapping clips are pre-summed once into one *cluster* (a
lone clip's is a view of it), so clusters never overlap and two binary
searches find those a block touches. At any frame the mix is ``0 + voice +
ticks`` and a bus alone ``0 + voice`` or ``0 + ticks``: the buses sum to the
mix bit for bit, whatever the block sizes.
"""

from __future__ import annotations

import copy
import hashlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from voicecoach.audio.levels import CHUNK
from voicecoach.common.arrays import check_mono
from voicecoach.common.numbers import is_int, is_real
from voicecoach.plan.kinds import EventKind
from voicecoach.plan.timeline import Timeline

__all__ = ["BUSES", "BUS_OF_KIND", "HEADROOM_PEAK", "Mixer"]

BUSES: tuple[str, ...] = ("voice", "ticks")
BUS_OF_KIND: dict[EventKind, str] = {
    EventKind.SPEECH: "voice",
    EventKind.TICK: "ticks",
    EventKind.ACCENT: "ticks",
    EventKind.BELL: "ticks",
}
HEADROOM_PEAK = 0.999
"""Largest worst-case peak allowed before a master gain is applied."""


PCM16_SCALE = np.float32(2.0**-15)
"""An int16 clip sample ``k`` sounds as ``k * 2**-15``: exact in float32."""


@dataclass(frozen=True, slots=True)
class _Bus:
    """Non-overlapping clusters of one bus, as parallel arrays sorted by start.

    Cluster ``i`` sounds ``sources[src[i]][off[i]:off[i] + ends[i] - starts[i]]``
    from frame ``starts[i]``: arrays, not objects per event, so a three-hour
    session costs a few bytes per event. ``sources`` holds each distinct clip once.
    """

    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    src: np.ndarray  # int32 index into sources
    off: np.ndarray  # int64
    sources: tuple[np.ndarray, ...]
    pcm16_scale: np.float32  # int16 sample -> output: 2**-15 times the bus's level and gain


_Clusters = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""A bus's clusters before its gain: starts, ends, sources, offsets, peaks."""


def _as_float(clip: np.ndarray) -> np.ndarray:
    """A clip's sound as float64 (int16 scaled by 2**-15)."""
    x = clip.astype(np.float64)
    return x * float(PCM16_SCALE) if clip.dtype == np.int16 else x


def _peak(clip: np.ndarray) -> float:
    """Largest absolute sample, without copying the clip."""
    if not len(clip):
        return 0.0
    top = max(float(clip.max()), -float(clip.min()))
    return top * float(PCM16_SCALE) if clip.dtype == np.int16 else top


def merged_spans(starts: np.ndarray, ends: np.ndarray, join: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Spans ``[starts[i], ends[i])`` (int64) merged where they overlap or are
    less than ``join`` frames apart: sorted, disjoint ``(starts, ends)``."""
    if not len(starts):
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    cut = np.flatnonzero(starts[1:] >= ends[:-1] + join) + 1
    return starts[np.concatenate([[0], cut])], ends[np.append(cut - 1, len(ends) - 1)]


class Mixer:
    """Renders a :class:`Timeline` with its clips into blocks of samples.

    Parameters
    ----------
    timeline : Timeline
        The session; its ``samplerate`` is the rate of every clip.
    speech : Mapping[str, numpy.ndarray]
        Spoken text -> float32 or int16 (scaled by 2**-15), shape ``(n,)``,
        mono, leading silence trimmed.
    sounds : Mapping[str, numpy.ndarray]
        Sound name (``'tick'``, ``'accent'``, ``'bell'``, attached roles) ->
        float32, shape ``(n,)``.
    channels : int
        Output channels; mono clips are added to every channel.
    levels : Mapping[str, float], optional
        Linear gain per bus.

    A clip is cut at its ``event.frames`` and to ``[0, timeline.frames)``.
    If the worst case of the sum exceeds ``HEADROOM_PEAK``, one constant
    :attr:`gain` scales everything so the mix can never clip. With a gain of
    1.0 the clips are referenced, not copied: do not modify them.
    """

    def __init__(
        self,
        timeline: Timeline,
        speech: Mapping[str, np.ndarray],
        sounds: Mapping[str, np.ndarray],
        channels: int = 1,
        levels: Mapping[str, float] | None = None,
    ):
        if not isinstance(timeline, Timeline):
            raise TypeError(f"timeline must be a Timeline, not {type(timeline).__name__}")
        for label, mapping in (("speech", speech), ("sounds", sounds)):
            if not isinstance(mapping, Mapping):
                raise TypeError(f"{label} must be a mapping, not {type(mapping).__name__}")
        if not is_int(channels):
            raise TypeError(f"channels must be an int, not {type(channels).__name__}")
        if channels < 1:
            raise ValueError(f"channels must be at least 1, not {channels}")
        if timeline.frames < 0:
            raise ValueError(f"timeline.frames must be >= 0, not {timeline.frames}")

        self.frames = int(timeline.frames)
        """Length of the session in frames; ``render`` gives zeros after it."""
        self.samplerate = int(timeline.samplerate)
        self.channels = channels
        self.touched = 0
        """Clusters added by the last :meth:`render` (instrumentation for tests)."""

        self._levels = dict.fromkeys(BUSES, 1.0)
        for bus, value in (levels or {}).items():
            if bus not in self._levels:
                raise ValueError(f"unknown bus {bus!r} in levels; expected {BUSES}")
            if not is_real(value) or not value >= 0:
                raise ValueError(f"level of {bus!r} must be a gain >= 0, not {value!r}")
            self._levels[bus] = float(value)
        sources, raw = self._collect(timeline, speech, sounds)
        clustered = {bus: self._cluster(sources, *raw[bus]) for bus in BUSES}
        self.peak = self._worst_peak(clustered["voice"], clustered["ticks"])
        """Worst-case peak of the mix before :attr:`gain`."""
        self.gain = HEADROOM_PEAK / self.peak if self.peak > HEADROOM_PEAK else 1.0
        """Constant master gain (1.0 unless the worst case would clip)."""
        self.master = 1.0
        """Loudness gain on top of :attr:`gain` (see :meth:`with_master`)."""
        self._limit = None
        self._all_sources, self._clustered = sources, clustered
        self._build()

    def _build(self) -> None:
        scale = self.gain * self.master
        self._buses = {
            bus: self._finish(self._all_sources, *c[:4], scale=scale * self._levels[bus])
            for bus, c in self._clustered.items()
        }
        self._order = tuple(self._buses[b] for b in BUSES)
        self._scratch = np.empty(65536, dtype=np.float32)  # int16 slices become float here, and the limiter's gain

    def with_master(self, master: float, limit=None) -> Mixer:
        """The same mixer with every source scaled by ``master`` (the loudness
        gain, here so ``render`` costs nothing more) and the limiter's
        :class:`~voicecoach.audio.gain_plan.GainPlan`, if any, applied in ``render``."""
        if not is_real(master) or not master > 0:
            raise ValueError(f"master gain must be > 0, not {master!r}")
        other = copy.copy(self)
        other.master = float(master)
        other._limit = limit if limit is not None and not limit.empty else None
        other._build()
        return other

    @property
    def limited(self) -> bool:
        """Whether ``render`` applies a precomputed limiter gain."""
        return self._limit is not None

    def fingerprint(self) -> bytes:
        """A digest (sha256, 20 bytes) of everything this mixer sounds before
        :meth:`with_master` (clips, where they play, levels, length): equal
        digests, equal audio."""
        h = hashlib.sha256()
        h.update(repr((self.frames, self.samplerate, self.channels, self.gain, sorted(self._levels.items()))).encode())
        for bus in BUSES:
            for column in self._clustered[bus]:
                h.update(np.ascontiguousarray(column).data)
        for source in self._all_sources:
            h.update(source.dtype.str.encode())
            h.update(np.ascontiguousarray(source).data)
        return h.digest()[:20]

    def in_pcm16_units(self) -> Mixer:
        """The same mixer rendering every sample times 32768: a power of two,
        so every product and sum is scaled exactly and ``round`` of its
        render is the 16-bit sample, with one pass fewer over the block."""
        return self.with_master(self.master * 32768.0, self._limit)

    def sounding(self, bus: str | None = None, join: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Where the mix (or one bus) can be non-zero: sorted, disjoint frame
        ranges ``[starts[i], ends[i])`` (int64 arrays); everywhere else
        ``render`` gives exact zeros. Ranges under ``join`` frames apart merge."""
        buses = self._order if bus is None else (self._buses[bus],)
        return merged_spans(np.concatenate([b.starts for b in buses]), np.concatenate([b.ends for b in buses]), join)

    def clusters(self, bus: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(starts, ends, source index, offset)`` of one bus's clusters: what
        sounds where, for measuring the session without rendering silence."""
        b = self._buses[bus]
        return b.starts, b.ends, b.src, b.off

    def bus_gain(self, bus: str) -> float:
        """The linear gain this mixer gives ``bus``: what anything played
        beside the session must use to sound as loud."""
        if bus not in self._levels:
            raise ValueError(f"unknown bus {bus!r}; expected one of {BUSES}")
        return self._levels[bus] * self.gain * self.master

    def _collect(
        self, timeline: Timeline, speech: Mapping[str, np.ndarray], sounds: Mapping[str, np.ndarray]
    ) -> tuple[list[np.ndarray], dict]:
        """Distinct source clips, and per bus each event's audible part as
        arrays ``(start, source index, offset, length)``, cut to the event
        and to the session."""
        index: dict[int, int] = {}
        sources: list[np.ndarray] = []
        # packed 64-bit as they come: no Python int per event is kept
        cols = {bus: array("q") for bus in BUSES}
        for ev in timeline.events:
            bus = BUS_OF_KIND.get(ev.kind)
            if bus is None:
                raise ValueError(
                    f"event at frame {ev.frame}: unknown kind {ev.kind!r}; expected one of {sorted(BUS_OF_KIND)}"
                )
            if ev.kind == EventKind.SPEECH:
                if ev.text is None:
                    raise ValueError(f"speech event at frame {ev.frame} has no text")
                if ev.text not in speech:
                    raise KeyError(
                        f"no speech clip for {ev.text!r} (event at frame {ev.frame}); "
                        "synthesize every text in timeline.texts()"
                    )
                name, clip = ev.text, speech[ev.text]
            else:  # an attached sound (by its role) or the kind's own
                name = ev.sound or ev.kind
                if name not in sounds:
                    raise KeyError(f"no sound for {name!r} (event at frame {ev.frame})")
                clip = sounds[name]
            k = index.get(id(clip))
            if k is None:
                k = index[id(clip)] = len(sources)
                sources.append(check_mono(clip, f"clip {name!r}", (np.float32, np.int16)))
            start, stop = int(ev.frame), int(ev.frame) + min(len(clip), max(0, int(ev.frames)))
            lo, hi = max(start, 0), min(stop, self.frames)
            if lo < hi:
                cols[bus].extend((lo, k, lo - start, hi - lo))
        raw = {}
        for bus, packed in cols.items():
            c = np.frombuffer(packed, dtype=np.int64).reshape(-1, 4).T.copy()
            raw[bus] = (c[0], c[1].astype(np.int32), c[2], c[3])
        return sources, raw

    @staticmethod
    def _cluster(
        sources: list[np.ndarray], starts: np.ndarray, src: np.ndarray, off: np.ndarray, length: np.ndarray
    ) -> _Clusters:
        """Merge overlapping clips into non-overlapping clusters.

        Overlapping clips are summed once in float64, in event order, into
        one array per distinct combination (appended to ``sources``), so
        memory grows with the distinct sounds, not the session length.
        """
        order = np.argsort(starts, kind="stable")  # stable: keeps event order
        starts, src, off, length = starts[order], src[order], off[order], length[order]
        ends = starts + length
        n = len(starts)
        if n == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros(0, np.int32), empty, np.zeros(0)
        reach = np.maximum.accumulate(ends)
        first = np.flatnonzero(np.concatenate([[True], starts[1:] >= reach[:-1]]))
        last = np.append(first[1:], n)
        c_start, c_end = starts[first], reach[last - 1]
        c_src, c_off = src[first].copy(), off[first].copy()
        sums: dict[tuple, int] = {}
        for i in np.flatnonzero(last - first > 1).tolist():  # overlaps: few, usually none
            a, z = int(first[i]), int(last[i])
            base = int(starts[a])
            shape = tuple((int(starts[j]) - base, int(src[j]), int(off[j]), int(length[j])) for j in range(a, z))
            if shape not in sums:
                acc = np.zeros(int(c_end[i]) - base, dtype=np.float64)
                for at, k, o, m in shape:
                    acc[at : at + m] += _as_float(sources[k][o : o + m])
                sums[shape] = len(sources)
                sources.append(acc)
            c_src[i], c_off[i] = sums[shape], 0
        # a peak per distinct (source, offset, length): a session repeats a few dozen
        keys, which = np.unique(np.stack([c_src, c_off, c_end - c_start], axis=1), axis=0, return_inverse=True)
        peaks = np.array([_peak(sources[k][o : o + m]) for k, o, m in keys.tolist()])
        return c_start, c_end, c_src, c_off, peaks[which.reshape(-1)]

    def _worst_peak(self, voice: _Clusters, ticks: _Clusters) -> float:
        """The largest sum of peaks of clusters sounding together: a voice
        cluster's peak plus the loudest ticks cluster overlapping it."""
        v_starts, v_ends, _, _, v_peaks = voice
        t_starts, t_ends, _, _, t_peaks = ticks
        v_peaks, t_peaks = v_peaks * self._levels["voice"], t_peaks * self._levels["ticks"]
        worst = float(max(v_peaks.max(initial=0.0), t_peaks.max(initial=0.0)))
        lo = np.searchsorted(t_ends, v_starts, "right")
        hi = np.searchsorted(t_starts, v_ends, "left")
        both = lo < hi
        if not both.any():
            return worst
        # the loudest ticks cluster in each [lo, hi): every other reduceat
        # (a 0 past the end, so hi may be the length)
        bounds = np.stack([lo[both], hi[both]], axis=1).reshape(-1)
        loudest = np.maximum.reduceat(np.append(t_peaks, 0.0), bounds)[::2]
        return max(worst, float((v_peaks[both] + loudest).max()))

    def _finish(
        self,
        sources: list[np.ndarray],
        starts: np.ndarray,
        ends: np.ndarray,
        src: np.ndarray,
        off: np.ndarray,
        scale: float,
    ) -> _Bus:
        """Apply ``scale`` (bus level times master gain) to the sources this
        bus uses: int16 speech stays int16 (half the memory) and is scaled
        while rendering; others get one scaled float32 copy unless the scale is 1."""
        used = np.flatnonzero(np.bincount(src, minlength=len(sources)))
        remap = np.zeros(len(sources), dtype=np.int32)
        remap[used] = np.arange(len(used))
        clips = []
        for k in used.tolist():
            clip = sources[k]
            if clip.dtype != np.int16 and (scale != 1.0 or clip.dtype == np.float64):
                clip = (_as_float(clip) * scale).astype(np.float32)
            clips.append(clip)
        return _Bus(starts, ends, remap[src], off, tuple(clips), np.float32(float(PCM16_SCALE) * scale))

    def render(self, out: np.ndarray, start: int, bus: str | None = None) -> None:
        """Fill ``out`` with frames ``[start, start + n)`` of the mix or of one bus.

        Parameters
        ----------
        out : numpy.ndarray
            float32, shape ``(n, channels)``, C-contiguous, writeable;
            overwritten entirely (zeros outside ``[0, frames)``).
        start : int
            First frame; may be negative or past the end.
        bus : {None, 'voice', 'ticks'}
            ``None`` for the mix; a bus name for that stem alone.

        Cost is ``O(log events + clusters in the block + n)``, whatever the
        session's length or the blocks' cut.
        """
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
        if out.dtype != np.float32:
            raise TypeError(f"out must be float32, not {out.dtype}")
        if out.ndim != 2 or out.shape[1] != self.channels:
            raise ValueError(f"out must have shape (n, {self.channels}), not {out.shape}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be C-contiguous and writeable")
        if not is_int(start):
            raise TypeError(f"start must be an int, not {type(start).__name__}")
        if bus is None:
            buses = self._order
        elif bus in self._buses:
            buses = (self._buses[bus],)
        else:
            raise ValueError(f"unknown bus {bus!r}; expected None or one of {BUSES}")

        start = int(start)
        stop = start + out.shape[0]
        if len(self._scratch) < 2 * (out.shape[0] + 2 * CHUNK):  # only for a block larger than ever before
            self._scratch = np.empty(2 * (out.shape[0] + 2 * CHUNK), dtype=np.float32)
        mono = self.channels == 1
        touched = 0
        done = start  # the first bus writes, not adds: [start, done) is final for it
        for n, b in enumerate(buses):
            lo = int(b.ends.searchsorted(start, "right"))  # first cluster ending after start
            hi = int(b.starts.searchsorted(stop, "left"))  # clusters starting before stop
            for s, e, k, o in zip(
                b.starts[lo:hi].tolist(),
                b.ends[lo:hi].tolist(),
                b.src[lo:hi].tolist(),
                b.off[lo:hi].tolist(),
                strict=True,
            ):
                a, z = max(s, start), min(e, stop)
                piece = b.sources[k][o + a - s : o + z - s]
                view = out[a - start : z - start]
                if n == 0:
                    out[done - start : a - start].fill(0.0)  # the silence before it
                    done = z
                    if mono and piece.dtype == np.int16:  # 16-bit speech: scaled in place
                        np.multiply(piece, b.pcm16_scale, out=view[:, 0], dtype=np.float32)
                        continue
                if piece.dtype == np.int16:
                    piece = np.multiply(piece, b.pcm16_scale, out=self._scratch[: z - a], dtype=np.float32)
                if n == 0:
                    for c in range(self.channels):
                        view[:, c] = piece
                elif mono:
                    view += piece[:, None]
                else:  # channel by channel: a broadcast allocates
                    for c in range(self.channels):
                        np.add(view[:, c], piece, out=view[:, c])
            if n == 0:
                out[done - start :].fill(0.0)  # the silence after the last
            touched += hi - lo  # clusters do not overlap: never negative
        self.touched = touched
        if self._limit is not None:
            self._limit.apply(out, start, self._scratch)
