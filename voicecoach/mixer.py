"""The mixer: a timeline's events as samples, one block at a time.

The live player's audio callback and the exporter both call
:meth:`Mixer.render`, so for the same session they produce the same samples.
Everything that costs (validation, clip lookup, summing overlapping clips,
the headroom gain) happens once in the constructor; ``render`` only zeroes
the block and adds precomputed slices into it: no I/O, no locks, and no
allocation beyond a few small Python objects.

How it stays exact and cheap
----------------------------
Events are split into two buses (``voice``: speech; ``ticks``: tick, accent,
bell). Within a bus, events whose clips overlap in time are pre-summed once
into one *cluster*; a lone event's cluster is just a view of its clip. So
inside a bus clusters never overlap, and both their starts and their ends
are sorted: two binary searches find exactly the clusters a block touches.
At any frame the mix is ``0 + voice + ticks`` and each bus alone is
``0 + voice`` or ``0 + ticks``: the buses sum to the mix bit for bit, and
every output sample is the same whatever the block sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .timeline import Timeline

__all__ = ["BUSES", "BUS_OF_KIND", "HEADROOM_PEAK", "Mixer"]

BUSES: tuple[str, ...] = ("voice", "ticks")
BUS_OF_KIND: dict[str, str] = {"speech": "voice", "tick": "ticks", "accent": "ticks", "bell": "ticks"}
HEADROOM_PEAK = 0.999
"""Largest worst-case peak allowed before a master gain is applied."""


@dataclass(frozen=True)
class _Bus:
    """Non-overlapping clusters of one bus, sorted by start.

    ``starts``/``ends`` are int64 arrays for the binary searches;
    ``starts_l``/``ends_l`` the same as Python ints, so the render loop
    does not create numpy scalars. ``clips[i]`` is float32, shape
    ``(ends[i] - starts[i],)``, gain already applied.
    """

    starts: np.ndarray
    ends: np.ndarray
    starts_l: tuple[int, ...]
    ends_l: tuple[int, ...]
    clips: tuple[np.ndarray, ...]
    peaks: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class _Item:
    """One event's audible part: ``src[off:off + length]`` from frame ``start``."""

    start: int
    src: np.ndarray
    off: int
    length: int

    @property
    def samples(self) -> np.ndarray:
        return self.src[self.off:self.off + self.length]


@dataclass(frozen=True, slots=True)
class _Cluster:
    """Overlapping items of one bus: a lone ``item``, or their float64 ``summed``."""

    start: int
    length: int
    peak: float
    item: _Item | None
    summed: np.ndarray | None


def _check_clip(name: str, clip: object) -> np.ndarray:
    """Validate one clip once, so ``render`` never meets a bad one."""
    if not isinstance(clip, np.ndarray):
        raise TypeError(f"clip {name!r} must be a numpy.ndarray, not {type(clip).__name__}")
    if clip.dtype != np.float32:
        raise TypeError(f"clip {name!r} must be float32, not {clip.dtype}")
    if clip.ndim != 1:
        raise ValueError(f"clip {name!r} must be mono, shape (n,), not {clip.shape}")
    if not np.all(np.isfinite(clip)):
        raise ValueError(f"clip {name!r} contains NaN or infinity")
    return clip


class Mixer:
    """Renders a :class:`Timeline` with its clips into blocks of samples.

    Parameters
    ----------
    timeline : Timeline
        The session; its ``samplerate`` is the rate of every clip.
    speech : Mapping[str, numpy.ndarray]
        Spoken text -> float32, shape ``(n,)``, mono at
        ``timeline.samplerate``, leading silence already trimmed.
    sounds : Mapping[str, numpy.ndarray]
        ``'tick'``, ``'accent'``, ``'bell'`` -> float32, shape ``(n,)``
        (see :func:`voicecoach.sounds.make_sounds`).
    channels : int
        Output channels; mono clips are added to every channel.

    Notes
    -----
    A clip longer than its ``event.frames`` is cut there; parts outside
    ``[0, timeline.frames)`` are cut too. If the worst case of the sum (the
    peaks of every overlapping voice and ticks cluster added up) exceeds
    ``HEADROOM_PEAK``, one constant master :attr:`gain` scales everything
    so that the mix can never clip; the bus renders use the same gain.
    With a gain of 1.0 the clips are referenced, not copied: do not modify
    them while the mixer is in use.
    """

    def __init__(self, timeline: Timeline, speech: Mapping[str, np.ndarray],
                 sounds: Mapping[str, np.ndarray], channels: int = 1):
        if not isinstance(timeline, Timeline):
            raise TypeError(f"timeline must be a Timeline, not {type(timeline).__name__}")
        for label, mapping in (("speech", speech), ("sounds", sounds)):
            if not isinstance(mapping, Mapping):
                raise TypeError(f"{label} must be a mapping, not {type(mapping).__name__}")
        if not isinstance(channels, int) or isinstance(channels, bool):
            raise TypeError(f"channels must be an int, not {type(channels).__name__}")
        if channels < 1:
            raise ValueError(f"channels must be at least 1, not {channels}")
        if timeline.frames < 0:
            raise ValueError(f"timeline.frames must be >= 0, not {timeline.frames}")

        self._frames = int(timeline.frames)
        self._samplerate = int(timeline.samplerate)
        self._channels = channels
        self.touched = 0
        """Clusters added by the last :meth:`render` (instrumentation for tests)."""

        raw = self._collect(timeline, speech, sounds)
        sums = {bus: self._cluster(items) for bus, items in raw.items()}
        self._peak = self._worst_peak(sums["voice"], sums["ticks"])
        self._gain = HEADROOM_PEAK / self._peak if self._peak > HEADROOM_PEAK else 1.0
        self._buses = {bus: self._finish(clusters) for bus, clusters in sums.items()}
        self._order = tuple(self._buses[b] for b in BUSES)

    # ----------------------------------------------------------- properties
    @property
    def frames(self) -> int:
        """Length of the session in frames; ``render`` gives zeros after it."""
        return self._frames

    @property
    def samplerate(self) -> int:
        return self._samplerate

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def gain(self) -> float:
        """Constant master gain (1.0 unless the worst case would clip)."""
        return self._gain

    @property
    def peak(self) -> float:
        """Worst-case peak of the mix before :attr:`gain`."""
        return self._peak

    # --------------------------------------------------------- construction
    def _collect(self, timeline: Timeline, speech: Mapping[str, np.ndarray],
                 sounds: Mapping[str, np.ndarray]) -> dict[str, list[_Item]]:
        """Per bus, each event's clip cut to the event and to the session."""
        checked: dict[int, np.ndarray] = {}
        out: dict[str, list[_Item]] = {bus: [] for bus in BUSES}
        for ev in timeline.events:
            bus = BUS_OF_KIND.get(ev.kind)
            if bus is None:
                raise ValueError(f"event at frame {ev.frame}: unknown kind {ev.kind!r}; "
                                 f"expected one of {sorted(BUS_OF_KIND)}")
            if ev.kind == "speech":
                if ev.text is None:
                    raise ValueError(f"speech event at frame {ev.frame} has no text")
                if ev.text not in speech:
                    raise KeyError(f"no speech clip for {ev.text!r} (event at frame {ev.frame}); "
                                   "synthesize every text in timeline.texts()")
                name, clip = ev.text, speech[ev.text]
            else:
                if ev.kind not in sounds:
                    raise KeyError(f"no sound for {ev.kind!r} (event at frame {ev.frame})")
                name, clip = ev.kind, sounds[ev.kind]
            if id(clip) not in checked:
                checked[id(clip)] = _check_clip(name, clip)
            start, stop = int(ev.frame), int(ev.frame) + min(len(clip), max(0, int(ev.frames)))
            lo, hi = max(start, 0), min(stop, self._frames)
            if lo < hi:
                out[bus].append(_Item(lo, clip, lo - start, hi - lo))
        return out

    @staticmethod
    def _cluster(items: list[_Item]) -> list[_Cluster]:
        """Merge overlapping clips into non-overlapping clusters.

        A lone clip stays a reference (no copy); overlapping ones are summed
        once in float64, in event order, and kept in float64 until the gain.
        Memory then grows with the distinct sounds, not the session length.
        """
        items = sorted(items, key=lambda it: it.start)  # stable: keeps event order
        clusters: list[_Cluster] = []
        peaks: dict[tuple[int, int, int], float] = {}
        sums: dict[tuple, tuple[np.ndarray, float]] = {}
        i = 0
        while i < len(items):
            first = items[i]
            end = first.start + first.length
            j = i + 1
            while j < len(items) and items[j].start < end:
                end = max(end, items[j].start + items[j].length)
                j += 1
            if j == i + 1:
                key = (id(first.src), first.off, first.length)
                if key not in peaks:
                    peaks[key] = float(np.max(np.abs(first.samples)))
                clusters.append(_Cluster(first.start, first.length, peaks[key], first, None))
            else:
                # Sessions repeat (an accent on every set's first tick...):
                # one array per distinct combination, shared by its repeats.
                shape = tuple((it.start - first.start, id(it.src), it.off, it.length)
                              for it in items[i:j])
                if shape not in sums:
                    acc = np.zeros(end - first.start, dtype=np.float64)
                    for it in items[i:j]:
                        acc[it.start - first.start:it.start - first.start + it.length] += it.samples
                    sums[shape] = (acc, float(np.max(np.abs(acc))))
                acc, peak = sums[shape]
                clusters.append(_Cluster(first.start, len(acc), peak, None, acc))
            i = j
        return clusters

    @staticmethod
    def _worst_peak(voice: list[_Cluster], ticks: list[_Cluster]) -> float:
        """Sweep: the largest sum of peaks of clusters sounding together.

        Within a bus clusters do not overlap, so at any frame at most one
        voice and one ticks cluster sound: the bound is the max over voice
        clusters of their peak plus the loudest ticks cluster overlapping it.
        """
        worst = max((c.peak for c in voice + ticks), default=0.0)
        if not voice or not ticks:
            return worst
        t_starts = np.array([c.start for c in ticks], dtype=np.int64)
        t_ends = t_starts + np.array([c.length for c in ticks], dtype=np.int64)
        t_peaks = np.array([c.peak for c in ticks])
        for c in voice:
            lo = int(np.searchsorted(t_ends, c.start, "right"))
            hi = int(np.searchsorted(t_starts, c.start + c.length, "left"))
            if lo < hi:
                worst = max(worst, c.peak + float(t_peaks[lo:hi].max()))
        return worst

    def _finish(self, clusters: list[_Cluster]) -> _Bus:
        """Apply the gain: float64 sums and each distinct source clip once."""
        gained: dict[int, np.ndarray] = {}
        clips = []
        for c in clusters:
            if c.summed is not None:
                if id(c.summed) not in gained:
                    gained[id(c.summed)] = (c.summed * self._gain).astype(np.float32)
                clips.append(gained[id(c.summed)])
                continue
            it = c.item
            src = it.src
            if self._gain != 1.0:
                if id(src) not in gained:
                    gained[id(src)] = (src.astype(np.float64) * self._gain).astype(np.float32)
                src = gained[id(src)]
            clips.append(src[it.off:it.off + it.length])
        starts = tuple(c.start for c in clusters)
        ends = tuple(c.start + c.length for c in clusters)
        return _Bus(starts=np.array(starts, dtype=np.int64), ends=np.array(ends, dtype=np.int64),
                    starts_l=starts, ends_l=ends, clips=tuple(clips),
                    peaks=tuple(c.peak for c in clusters))

    # ---------------------------------------------------------------- render
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

        Notes
        -----
        Cost is ``O(log events + clusters in the block + n)``, independent of
        the session length. The result does not depend on how a range is cut
        into blocks, and ``render(voice) + render(ticks) == render(None)``
        exactly.
        """
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
        if out.dtype != np.float32:
            raise TypeError(f"out must be float32, not {out.dtype}")
        if out.ndim != 2 or out.shape[1] != self._channels:
            raise ValueError(f"out must have shape (n, {self._channels}), not {out.shape}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be C-contiguous and writeable")
        if not isinstance(start, (int, np.integer)) or isinstance(start, bool):
            raise TypeError(f"start must be an int, not {type(start).__name__}")
        if bus is None:
            buses = self._order
        elif bus in self._buses:
            buses = (self._buses[bus],)
        else:
            raise ValueError(f"unknown bus {bus!r}; expected None or one of {BUSES}")

        out.fill(0.0)
        start = int(start)
        stop = start + out.shape[0]
        touched = 0
        for b in buses:
            lo = int(b.ends.searchsorted(start, "right"))   # first cluster ending after start
            hi = int(b.starts.searchsorted(stop, "left"))   # clusters starting before stop
            for i in range(lo, hi):
                s, e = b.starts_l[i], b.ends_l[i]
                a, z = max(s, start), min(e, stop)
                out[a - start:z - start] += b.clips[i][a - s:z - s, None]
            touched += hi - lo
        self.touched = touched
