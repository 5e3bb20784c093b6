"""OGG/Vorbis: libsndfile's encoder, Vorbis comments."""

from voicecoach.encode.formats.base import VorbisCommented


class OggFormat(VorbisCommented):
    name, major, mutagen_class = "ogg", "OGG", "mutagen.oggvorbis.OggVorbis"
    subtypes = ("VORBIS",)
    lossy = True


WRITER = OggFormat
