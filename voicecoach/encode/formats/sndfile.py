"""What FLAC, OGG and Opus share: libsndfile encodes them, mutagen writes
their tags and chapters as Vorbis comments."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import ClassVar

from voicecoach.encode.chapters import chapter_stamps
from voicecoach.encode.formats.base import Job, Output, Sink
from voicecoach.encode.tags import Tags, mutagen_errors, tag_vorbis


class VorbisCommented:
    """A :class:`~voicecoach.encode.formats.base.FormatWriter` for a format
    libsndfile encodes (``major``) and mutagen (``mutagen_class``) tags."""

    name: ClassVar[str]
    major: ClassVar[str]                          # soundfile's major format
    mutagen_class: ClassVar[str]                  # module.Class
    subtypes: ClassVar[tuple[str, ...]]
    samplerates: ClassVar[frozenset[int] | None] = None
    streams: ClassVar[bool] = True

    def __init__(self, job: Job):
        self.job = job

    def open(self, out: Output) -> Sink:
        from voicecoach.encode.parallel import ThreadedSink
        from voicecoach.encode.sound_file import SoundFileSink
        job = self.job
        return ThreadedSink(SoundFileSink(out.fd, job.samplerate, job.channels, job.subtype,
                                          self.major))

    def tag(self, path: Path, tags: Tags) -> None:
        module, cls = self.mutagen_class.rsplit(".", 1)
        with mutagen_errors():
            tag_vorbis(getattr(import_module(module), cls)(path), tags,
                       chapter_stamps(self.job.chapters, self.job.samplerate),
                       self.more_comments(tags))

    def more_comments(self, tags: Tags) -> dict[str, str]:
        """Comments of this format alone, written before the chapters."""
        return {}
