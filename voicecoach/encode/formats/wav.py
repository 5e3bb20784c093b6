"""WAV: 16-bit files and every stream written by hand (:mod:`voicecoach.encode.wav`),
other subtypes by libsndfile; RIFF INFO tags, ``cue `` chapters."""

from __future__ import annotations

from pathlib import Path

from voicecoach.encode.formats.base import Job, Output, Sink
from voicecoach.encode.streaming import REPLACING_HOLE_BYTES
from voicecoach.encode.tags import Tags, tag_wav
from voicecoach.encode.wav import RIFF_LIMIT, WavWriter, chapter_chunks, header, info_chunk, riff_text

__all__ = ["WRITER"]


class WavFormat:
    name = "wav"
    subtypes = ("PCM_16", "PCM_24", "PCM_32", "FLOAT")
    samplerates = None
    streams = True

    def __init__(self, job: Job):
        self.job = job
        self.marks = [(c.start, c.title) for c in job.chapters]
        self.chapters = chapter_chunks(self.marks)
        if job.stream:  # a stream's sizes must fit up front
            header(job.frames, job.channels, job.samplerate, job.subtype)
        # 16-bit WAV files are ours (see encode/wav.py), unless too large for RIFF's sizes.
        self.ours = job.subtype == "PCM_16" and job.frames * 2 * job.channels + len(self.chapters) + 4096 < RIFF_LIMIT

    def open(self, out: Output) -> Sink:
        job = self.job
        info = {name: riff_text(text) for name, text in out.tags.texts().items()}  # ASCII: see riff_text
        if out.path is not None and not self.ours:  # RIFF INFO written at close
            from voicecoach.encode.parallel import ThreadedSink
            from voicecoach.encode.sound_file import SoundFileSink

            return ThreadedSink(SoundFileSink(out.fd, job.samplerate, job.channels, job.subtype, "WAV", info=info))
        chunk = info_chunk(info)
        f = WavWriter(out.fd, job.frames, job.channels, job.samplerate, chunk, self.chapters, out.seekable, job.subtype)
        f.min_hole = REPLACING_HOLE_BYTES if out.replacing else 0
        return f

    def tag(self, path: Path, tags: Tags) -> None:
        if not self.ours:  # ours carry their chapters
            tag_wav(path, self.marks)


WRITER = WavFormat
