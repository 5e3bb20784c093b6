"""Tags every reader decodes: ID3v2.3 frames a v2.3 reader knows, RIFF INFO in
bytes that read the same as Latin-1 (Windows, mediainfo) and as UTF-8 (FFmpeg)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.encode.formats import ExportOptions
from voicecoach.encode.wav import riff_text
from voicecoach.encode.writer import export
from voicecoach.plan.timeline import Event, Segment, Timeline

SR = 48000
TIMELINE = Timeline("p", SR, SR, (Segment("intro", 0, SR // 2), Segment("outro", SR // 2, SR // 2)),
                    (Event(100, "tick", 1920),))
TITLE = "Straight-leg lifts \u2014 3 \u00d7 10"
READABLE = "Straight-leg lifts - 3 x 10"


def exported(path: Path, subtype: str | None = None) -> Path:
    mixer = Mixer(TIMELINE, {}, make_sounds(SR))
    export(mixer, TIMELINE, path, ExportOptions(subtype=subtype, title=TITLE, date="2026-12-01"))
    return path


def test_mp3_date_is_in_the_v23_frames(tmp_path):
    from mutagen.id3 import ID3
    path = exported(tmp_path / "s.mp3")
    raw = ID3(path, translate=False)             # the frames as stored, not mutagen's v2.4 view
    assert raw.version[:2] == (2, 3)
    assert str(raw["TYER"]) == "2026" and str(raw["TDAT"]) == "0112"   # DDMM
    assert "TDRC" not in raw
    size = sum((b & 0x7F) << 7 * (3 - k) for k, b in enumerate(path.read_bytes()[6:10]))
    head = path.read_bytes()[:10 + size]
    assert b"TYER" in head and b"TDRC" not in head
    if shutil.which("id3v2"):
        listing = subprocess.run(["id3v2", "-l", str(path)], capture_output=True, text=True, check=True).stdout
        assert "TYER (Year): 2026" in listing and "TDAT (Date): 0112" in listing


def info_strings(blob: bytes) -> dict[bytes, bytes]:
    """The LIST/INFO strings of a WAV, NULs stripped."""
    i = 12
    while i < len(blob):
        cid, size = blob[i:i + 4], struct.unpack("<I", blob[i + 4:i + 8])[0]
        body = blob[i + 8:i + 8 + size]
        if cid == b"LIST" and body[:4] == b"INFO":
            out, j = {}, 4
            while j < len(body):
                k, n = body[j:j + 4], struct.unpack("<I", body[j + 4:j + 8])[0]
                out[k] = body[j + 8:j + 8 + n].rstrip(b"\0")
                j += 8 + n + (n & 1)
            return out
        i += 8 + size + (size & 1)
    return {}


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])     # ours, and libsndfile's
def test_wav_info_title_reads_the_same_as_latin1_and_utf8(tmp_path, subtype):
    path = exported(tmp_path / "s.wav", subtype)
    title = info_strings(path.read_bytes())[b"INAM"]
    assert title.decode("latin-1") == title.decode("utf-8") == READABLE
    if shutil.which("mediainfo"):
        shown = subprocess.run(["mediainfo", "--Inform=General;%Title%", str(path)],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert shown == READABLE
    if shutil.which("ffprobe"):
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)],
                               capture_output=True, text=True, check=True).stdout
        assert json.loads(probe)["format"]["tags"]["title"] == READABLE


def test_riff_text_spells_our_signs_and_drops_accents():
    assert riff_text("C\u00f4t\u00e9 \u2013 \u201cgauche\u201d \u2026 \u2018x\u2019") == "Cote - \"gauche\" ... 'x'"
    assert riff_text("\u8e22\u817f") == "??"
