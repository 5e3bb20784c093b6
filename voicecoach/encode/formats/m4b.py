"""M4B/M4A: AAC-LC in MP4 with chapters, what audiobook and podcast apps skip by.

PyAV (FFmpeg's ``aac`` encoder and MP4 muxer) writes the audio and both
chapter forms players read: the QuickTime chapter track (Apple Books, iOS,
ffprobe) and the Nero ``chpl`` atom (mutagen, many Android apps). The
chapter track's samples live in the media data, so chapters go to the
sink, not to the tagger; :meth:`M4bFormat.tag` adds the iTunes tags after.

The file plays exactly the session's frames: the encoder's priming
(:data:`PRIMING`) and the last frame's padding are cut by the edit list,
kept exact by a movie time scale of one tick per sample (FFmpeg's default
of milliseconds would round the end), and told again in ``iTunSMPB`` for
players that read only that. FFmpeg's own decoder cuts the priming but
not the end padding: it gives the session rounded up to whole AAC frames.

MP4 writes its index last and seeks back to size the media data, so it
cannot be streamed: the exporter refuses a stream before opening anything.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from voicecoach.encode.chapters import Chapter
from voicecoach.encode.formats.base import Job, Output, Sink
from voicecoach.encode.tags import TEXT_IDS, Tags, mutagen_errors

__all__ = ["PRIMING", "SAMPLERATES", "WRITER", "M4bWriter", "smpb"]

SAMPLERATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000})
"""The MPEG-4 audio rates with a sampling-frequency index that players know."""
BITRATES = {1: 64000, 2: 96000}
"""Bits per second by channel count: 64 kb/s is the usual audiobook rate for
AAC-LC speech; stereo needs less than twice that, as its channels share bits.
FFmpeg's encoder spends far less on a session's silence."""
PRIMING = 1024
"""Samples FFmpeg's AAC encoder puts before the first input sample."""
FRAME = 1024
"""Samples per AAC frame."""


class M4bFormat:
    """The writer of both names: an ``.m4a`` is the same file (players tell an
    audiobook by its extension)."""

    name = "m4b"
    subtypes = ("AAC",)
    samplerates = SAMPLERATES
    streams = False  # MP4 seeks back to finish the file
    lossy = True

    def __init__(self, job: Job):
        self.job = job

    def open(self, out: Output) -> Sink:
        from voicecoach.encode.parallel import ThreadedSink

        job = self.job
        return ThreadedSink(M4bWriter(out.fd, job.samplerate, job.channels, job.chapters, job.frames))

    def tag(self, path: Path, tags: Tags) -> None:
        """iTunes tags, ReplayGain and ``iTunSMPB`` on the finished file, in place."""
        from mutagen.mp4 import MP4, MP4FreeForm

        with mutagen_errors():
            audio = MP4(path)
            if audio.tags is None:
                audio.add_tags()
            t = audio.tags
            assert t is not None
            for name, text in tags.texts().items():
                t[TEXT_IDS[name][2]] = [(tags.track, 0)] if name == "tracknumber" else [text]
            freeform = {"iTunSMPB": smpb(self.job.frames)}
            freeform |= {key.lower(): value for key, value in tags.replaygain().items()}
            for key, value in freeform.items():
                t[f"----:com.apple.iTunes:{key}"] = [MP4FreeForm(value.encode("utf-8"))]
            audio.save()


class M4bWriter:
    """AAC in MP4 on ``fd`` (a seekable file open for reading and writing,
    left open by close()), fed float32 blocks of 1 or 2 ``channels`` at
    ``samplerate`` (one of :data:`SAMPLERATES`). ``chapters`` are muxed as a
    QuickTime chapter track and a ``chpl`` atom, laid out before the first
    block: the last ends at ``length``, the session's frames."""

    subtype = "AAC"  # what the exporter's stream() asks a sink

    def __init__(
        self, fd: int, samplerate: int, channels: int, chapters: Sequence[Chapter] = (), length: int = 0
    ) -> None:
        import av

        self.samplerate, self.frames, self._tb = samplerate, 0, Fraction(1, samplerate)
        self._layout = "mono" if channels == 1 else "stereo"
        self._file = os.fdopen(fd, "w+b", closefd=False)
        self.closed = self._failed = False
        try:
            self._out = av.open(self._file, "w", format="ipod", options={"movie_timescale": str(samplerate)})
            self._stream = self._out.add_stream("aac", rate=samplerate, layout=self._layout)
            self._stream.bit_rate = BITRATES[channels]
            # each chapter ends where the next begins, the last at ``length``
            ends = [c.start for c in chapters[1:]] + [max(length, c.start + 1) for c in chapters[-1:]]
            marks = enumerate(zip(chapters, ends, strict=True), start=1)
            self._out.set_chapters(
                [
                    {"id": i, "start": c.start, "end": e, "time_base": self._tb, "metadata": {"title": c.title}}
                    for i, (c, e) in marks
                ]
            )
        except BaseException:
            self._file.close()
            self.closed = True
            raise

    def write(self, block: np.ndarray) -> None:
        """Encode ``block``: float32, shape ``(frames, channels)``, any length."""
        if len(block) == 0:
            return
        import av

        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block.T, dtype=np.float32), format="fltp", layout=self._layout
        )
        frame.sample_rate = self.samplerate
        frame.time_base = self._tb
        frame.pts = self.frames
        self.frames += len(block)
        try:
            self._out.mux(self._stream.encode(frame))
        except BaseException:
            self._failed = True
            raise

    def close(self) -> None:
        """Flush the encoder and write the index; the descriptor stays open."""
        if self.closed:
            return
        self.closed = True
        if self._failed:  # only let go: the caller has the first error
            for release in (self._out.close, self._file.close):
                with contextlib.suppress(Exception):
                    release()
            return
        try:
            self._out.mux(self._stream.encode(None))
            self._out.close()
            self._file.flush()
        finally:
            self._file.close()


def smpb(frames: int) -> str:
    """The ``iTunSMPB`` value: priming, end padding and length, in hex as iTunes writes it."""
    padding = -frames % FRAME
    return " ".join(["", "00000000", f"{PRIMING:08X}", f"{padding:08X}", f"{frames:016X}"] + ["00000000"] * 8)


WRITER = M4bFormat
