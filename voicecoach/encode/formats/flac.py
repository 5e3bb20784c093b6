"""FLAC: libsndfile's encoder, Vorbis comments, and the seek table libsndfile leaves out."""

from __future__ import annotations

from pathlib import Path

from voicecoach.encode.formats.base import Output, Sink, VorbisCommented
from voicecoach.encode.tags import Tags, mutagen_errors


class FlacFormat(VorbisCommented):
    name, major, mutagen_class = "flac", "FLAC", "mutagen.flac.FLAC"
    subtypes = ("PCM_16", "PCM_24")

    def open(self, out: Output) -> Sink:
        # libFLAC goes back to its STREAMINFO at the end, which a stream cannot:
        # the length goes in before the first frame (MD5 and frame sizes "unknown")
        return self.sink(out, head=None if out.seekable else self.stream_header)

    def stream_header(self, held: bytes) -> bytes | None:
        """``held`` with STREAMINFO's total samples, once every metadata block is in."""
        pos = 4
        while pos + 4 <= len(held):
            last, pos = held[pos] & 0x80, pos + 4 + int.from_bytes(held[pos + 1 : pos + 4], "big")
            if last and pos <= len(held):
                head = bytearray(held)
                field = int.from_bytes(head[18:26], "big")  # rate, channels, depth, 36 bits of samples
                head[18:26] = (field >> 36 << 36 | self.job.frames).to_bytes(8, "big")
                return bytes(head)
        return None

    def tag(self, path: Path, tags: Tags) -> None:
        super().tag(path, tags)
        from voicecoach.encode.flac_seek import add_seektable

        with mutagen_errors():
            add_seektable(path)


WRITER = FlacFormat
