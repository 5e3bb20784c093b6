"""WAV: 16-bit files and every stream written by hand (:mod:`voicecoach.encode.wav`),
other subtypes by libsndfile; RIFF INFO tags, ``cue `` chapters."""

from __future__ import annotations

from pathlib import Path

from voicecoach import __version__
from voicecoach.encode.formats.base import Job, Output, Sink
from voicecoach.encode.streaming import REPLACING_HOLE_BYTES
from voicecoach.encode.tags import Tags, tag_wav
from voicecoach.encode.wav import RIFF_LIMIT, WavWriter, chapter_chunks, header, info_chunk, riff_text

__all__ = ["WRITER"]


def _info(tags: Tags) -> dict[str, str]:
    """The RIFF INFO strings (in ASCII: :func:`riff_text`), by soundfile's names, in libsndfile's order."""
    info = {
        "title": tags.title,
        "artist": tags.artist,
        "album": tags.album,
        "comment": tags.comment,
        "software": f"voicecoach {__version__}",
        "genre": tags.genre,
        "date": tags.date,
        "tracknumber": "" if tags.track is None else str(tags.track),
    }
    return {name: riff_text(text) for name, text in info.items()}


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
        if out.path is not None and not self.ours:  # RIFF INFO written at close
            from voicecoach.encode.parallel import ThreadedSink
            from voicecoach.encode.sound_file import SoundFileSink

            return ThreadedSink(
                SoundFileSink(out.fd, job.samplerate, job.channels, job.subtype, "WAV", info=_info(out.tags))
            )
        f = WavWriter(
            out.fd,
            job.frames,
            job.channels,
            job.samplerate,
            info_chunk(list(_info(out.tags).items())),
            self.chapters,
            seekable=out.seekable,
            subtype=job.subtype,
        )
        f.min_hole = REPLACING_HOLE_BYTES if out.replacing else 0
        return f

    def tag(self, path: Path, tags: Tags) -> None:
        if not self.ours:  # ours carry their chapters
            tag_wav(path, self.marks)


WRITER = WavFormat
