"""MP3: LAME itself (islands of sound, see :mod:`voicecoach.encode.mp3_writer`),
or libsndfile's writer without libmp3lame; ID3v2.3 tags with CHAP/CTOC chapters."""

from __future__ import annotations

from pathlib import Path

from voicecoach.encode.chapters import chapter_spans
from voicecoach.encode.formats.base import Job, Output, Sink
from voicecoach.encode.tags import Tags, mutagen_errors, tag_mp3

__all__ = ["MP3_SAMPLERATES", "WRITER"]

MP3_SAMPLERATES: frozenset[int] = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000})


class Mp3Format:
    name = "mp3"
    subtypes = ("MPEG_LAYER_III",)
    samplerates = MP3_SAMPLERATES
    streams = True
    lossy = True

    def __init__(self, job: Job):
        from voicecoach.encode.lame import available
        from voicecoach.encode.mp3_islands import Islands

        self.job = job
        self.lame = available()
        self.islands = Islands()  # shared: the mix repeats the stems' islands

    def open(self, out: Output) -> Sink:
        from voicecoach.encode.parallel import ThreadedSink

        job = self.job
        if self.lame:  # the Info tag over the first frame, or up front on a stream
            from voicecoach.encode.mp3_writer import Mp3Writer

            return ThreadedSink(
                Mp3Writer(
                    out.fd, job.samplerate, job.channels, seekable=out.seekable, islands=self.islands, frames=job.frames
                )
            )
        from voicecoach.encode.sound_file import SoundFileSink

        # libsndfile leaves out its Info frame only when it sees the pipe itself
        return ThreadedSink(
            SoundFileSink(out.fd, job.samplerate, job.channels, job.subtype, "MP3", by_descriptor=not out.seekable)
        )

    def tag(self, path: Path, tags: Tags) -> None:
        with mutagen_errors():
            tag_mp3(path, tags, chapter_spans(self.job.chapters, self.job.frames, self.job.samplerate))


WRITER = Mp3Format
