"""OGG/Opus: libsndfile's encoder, Vorbis comments with an R128 gain (no
``REPLAYGAIN_*``: RFC 7845 asks encoders not to write them)."""

from __future__ import annotations

from voicecoach.encode.formats.base import VorbisCommented
from voicecoach.encode.tags import Tags

R128_REFERENCE = -23.0
"""LUFS that an Opus R128 gain of 0 plays at (EBU R128)."""


class OpusFormat(VorbisCommented):
    name, major, mutagen_class = "opus", "OGG", "mutagen.oggopus.OggOpus"
    subtypes = ("OPUS",)
    samplerates = frozenset({8000, 12000, 16000, 24000, 48000})
    lossy, replaygain = True, False

    def more_comments(self, tags: Tags) -> dict[str, str]:
        if tags.loudness is None:
            return {}
        # Q7.8 dB, relative to the output gain
        return {"R128_TRACK_GAIN": str(round((R128_REFERENCE - tags.loudness) * 256))}


WRITER = OpusFormat
