"""Render a session block by block into open sound files: the one loop an
export runs, the live player's :meth:`Mixer.render
<voicecoach.audio.mixer.Mixer.render>` into files the exporter opened.
Memory stays ``O(block)``; with music the mix goes through the true-peak
limiter here; into WAV writers without music, only what sounds is rendered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.levels import TruePeakLimiter
from voicecoach.audio.loudness import LoudnessMeter
from voicecoach.audio.mixer import Mixer
from voicecoach.encode.wav import WavWriter, samples

__all__ = ["JOIN_BYTES", "REPLACING_HOLE_BYTES", "MixSource", "stream"]

JOIN_BYTES = 8192
"""Silences shorter than this (in bytes of the file) are rendered, not
skipped: a few zeros cost less than one more render."""
REPLACING_HOLE_BYTES = 1 << 17
"""Over an old file, silences shorter than this are written as zeros
rather than left as holes. ext4 flushes a file renamed over another at the
rename, and there every hole (a break between extents) costs about as much
as writing this many bytes more (measured: README); a new file is flushed
later, in the background, and gets every hole."""


def stream(
    mixer: Mixer,
    outputs: Sequence[tuple[Any, str | None]],
    block: int = 65536,
    progress: Callable[[int], None] | None = None,
    bed: MusicBed | None = None,
    peaks: dict[str | None, float] | None = None,
    gains: Sequence[float] | None = None,
    meter: LoudnessMeter | None = None,
) -> int:
    """Render ``mixer`` block by block, limited, into open sound files.

    ``mixer`` has its loudness gain applied (:meth:`Mixer.with_master`);
    ``outputs`` are ``(file, bus)``: a file takes ``write(array)`` or, a
    :class:`~voicecoach.encode.wav.WavWriter`, ``write_at``, and says its
    ``subtype``; ``bus`` is ``None`` (the mix), ``'voice'``, ``'ticks'`` or
    ``'music'``. The buffers are float32 ``(block, channels)`` (and int16 for
    PCM_16 files). ``progress(frames_done)`` after each block; ``bed``: music
    under the mix; ``peaks[None]``: the mix's largest magnitude (ReplayGain);
    ``gains``: each output's scale after the limiter (lossy files whose
    codec overshoots, see :mod:`voicecoach.encode.writer`); ``meter`` measures the mix. Returns the frames
    written to each file (``mixer.frames``).

    With music the mix goes through the :class:`TruePeakLimiter`, which
    reads the mixer and the music ahead of the frames written (live play's
    order) and scales each stem by its gain of the same frames, so the stems
    sum to the mix; without, the mixer applies the planned gain itself
    (:mod:`voicecoach.audio.gain_plan`). PCM_16 is ``round(x * 32768)``
    (libsndfile floors). Without music, into WAV writers only, just the
    stretches where the mixer sounds are rendered (:func:`_stream_sounding`).
    """
    gains = [1.0] * len(outputs) if gains is None else gains
    if bed is None is meter and outputs and all(_ours(f) for f, _ in outputs) and all(g == 1.0 for g in gains):
        return _stream_sounding(mixer, outputs, block, progress)
    block = max(1, min(block, mixer.frames))
    ch = mixer.channels
    buf = np.empty((block, ch), dtype=np.float32)
    stem_buf = np.empty_like(buf)
    pcm16, wants_music = any(f.subtype == "PCM_16" for f, _ in outputs), any(bus == "music" for _, bus in outputs)
    scratch: Any = np.empty_like(buf) if pcm16 or any(g != 1.0 for g in gains) else None
    ints: Any = np.empty((block, ch), dtype=np.int16) if pcm16 else None
    # With music the limiter runs here, reading ahead; without, the mixer
    # renders the limiter's gain planned from the known sounds.
    source = MixSource(mixer, bed, keep_music=wants_music) if bed is not None else None
    limiter = TruePeakLimiter(ch) if bed is not None else None
    done = 0
    while done < mixer.frames:
        n = min(block, mixer.frames - done)
        view = buf[:n]
        g = None
        if source is not None and limiter is not None:
            limiter.run(source.pull, view)
            g = limiter.gain[:, None]
        else:
            mixer.render(view, done)
        music = source.music_at(done, n) if source is not None and wants_music else None
        for (f, bus), gain in zip(outputs, gains, strict=True):
            out = view if bus is None else stem_buf[:n]
            if music is not None and g is not None and bus == "music":
                np.multiply(music, g, out=out)
            elif bus is not None:
                mixer.render(out, done, bus)
                if g is not None:
                    out *= g
            if gain != 1.0:
                out = np.multiply(out, np.float32(gain), out=scratch[:n])
            if bus is None:
                _measure(out, peaks, meter)
            data = out
            if f.subtype == "PCM_16":
                np.multiply(out, 32768.0, out=scratch[:n])
                data = np.rint(scratch[:n], out=ints[:n], casting="unsafe")  # round and narrow
            if _ours(f):
                f.write_at(done, data if f.subtype == "PCM_16" else samples(data, f.subtype))
            else:
                f.write(data)
        done += n
        if progress is not None:
            progress(done)
    return done


def _measure(mix: np.ndarray, peaks: dict[str | None, float] | None, meter: LoudnessMeter | None) -> None:
    """The mix's largest magnitude into ``peaks[None]`` and its loudness into ``meter``, for the loudness tags."""
    if peaks is not None:
        top = max(float(mix.max()), -float(mix.min())) if len(mix) else 0.0
        peaks[None] = max(peaks.get(None, 0.0), top)
    if meter is not None:
        meter.add(mix)


def _ours(f: object) -> bool:
    """A :class:`WavWriter` (it takes ``write_at``)."""
    return isinstance(f, WavWriter)


def _stream_sounding(
    mixer: Mixer, outputs: Sequence[tuple[WavWriter, str | None]], block: int, progress: Callable[[int], None] | None
) -> int:
    """:func:`stream` without music into WAV writers: only the frames where
    the mixer has sound (:meth:`Mixer.sounding`) are rendered; a silence of
    the writer's ``min_hole`` bytes or more is left to it (a hole, or zeros on
    a stream). 16-bit samples come from the mixer in 16-bit units
    (:meth:`Mixer.in_pcm16_units`): the integers of ``round(x * 32768)``."""
    frames, ch = mixer.frames, mixer.channels
    block = max(1, min(block, frames))
    subtype = outputs[0][0].subtype
    pcm16 = subtype == "PCM_16"
    m = mixer.in_pcm16_units() if pcm16 else mixer
    width = 2 * ch if pcm16 else 4 * ch
    buf = np.empty((block, ch), dtype=np.float32)
    data: Any = np.empty((block, ch), dtype=np.int16) if pcm16 else None
    per_output = []
    for f, bus in outputs:
        render = m.sounding(bus, join=max(1, JOIN_BYTES // width))
        write = m.sounding(bus, join=max(1, max(JOIN_BYTES, f.min_hole) // width))
        per_output.append((f, bus, render, write, [0, 0]))  # [next render, next write span]
    done = 0
    while done < frames:
        stop = min(done + block, frames)
        for f, bus, (r_starts, r_ends), (w_starts, w_ends), at in per_output:
            if at[1] >= len(w_starts) or w_starts[at[1]] >= stop:
                continue  # silent block: nothing to write
            if pcm16:
                data[: stop - done].fill(0)
            else:
                data = np.zeros((stop - done, ch), dtype=np.float32)
            i = at[0]
            while i < len(r_starts) and r_starts[i] < stop:
                a, z = max(int(r_starts[i]), done), min(int(r_ends[i]), stop)
                view = buf[: z - a]
                m.render(view, a, bus)
                if pcm16:
                    np.rint(view, out=data[a - done : z - done], casting="unsafe")
                else:
                    data[a - done : z - done] = view
                if r_ends[i] > stop:  # goes on in the next block
                    break
                i += 1
            at[0] = i
            j = at[1]
            while j < len(w_starts) and w_starts[j] < stop:
                a, z = max(int(w_starts[j]), done), min(int(w_ends[j]), stop)
                piece = data[a - done : z - done]
                f.write_at(a, piece if pcm16 else samples(piece, subtype))
                if w_ends[j] > stop:
                    break
                j += 1
            at[1] = j
        done = stop
        if progress is not None:
            progress(done)
    return done


class MixSource:
    """The unlimited mix in timeline order, as the limiter pulls it.

    Frames past the session are silence (as live play ends). With
    ``keep_music`` the music of the frames pulled is kept until
    :meth:`music_at` takes it for the music stem (the limiter reads ahead).
    """

    def __init__(self, mixer: Mixer, bed: MusicBed | None, keep_music: bool = False):
        self.mixer, self.bed, self.pos = mixer, bed, 0
        self._keep = keep_music and bed is not None
        self._music = np.zeros((0, mixer.channels), dtype=np.float32)
        self._music_start = 0

    def pull(self, view: np.ndarray) -> None:
        n, a = len(view), self.pos
        self.mixer.render(view, a)
        inside = max(0, min(n, self.mixer.frames - a))
        if self.bed is not None and inside:
            m = self.bed.add(view[:inside], a)
            if self._keep:
                self._music = np.concatenate([self._music, m])
        self.pos += n

    def music_at(self, start: int, n: int) -> np.ndarray:
        """The music (as mixed) of frames ``[start, start + n)``, in order."""
        drop = start - self._music_start
        m = self._music[drop : drop + n]
        self._music = self._music[drop + n :]
        self._music_start = start + n
        return m
