"""FLAC: libsndfile's encoder, Vorbis comments, and the seek table libsndfile leaves out."""

from __future__ import annotations

from pathlib import Path

from voicecoach.encode.formats.base import VorbisCommented
from voicecoach.encode.tags import Tags, mutagen_errors


class FlacFormat(VorbisCommented):
    name, major, mutagen_class = "flac", "FLAC", "mutagen.flac.FLAC"
    subtypes = ("PCM_16", "PCM_24")

    def tag(self, path: Path, tags: Tags) -> None:
        super().tag(path, tags)
        from voicecoach.encode.flac_seek import add_seektable

        with mutagen_errors():
            add_seektable(path)


WRITER = FlacFormat
