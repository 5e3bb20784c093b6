"""The format registry and the writer protocol, through a format of the test's own."""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.encode import formats, writer
from voicecoach.encode.formats import FORMATS, WRITERS, ExportOptions
from voicecoach.encode.formats.base import Job, Output
from voicecoach.encode.tags import Tags
from voicecoach.encode.writer import export
from voicecoach.errors import InputError
from voicecoach.plan.timeline import Event, Segment, Timeline

SR = 48000
TIMELINE = Timeline("p", SR, SR, (Segment("intro", 0, SR // 2), Segment("outro", SR // 2, SR // 2)),
                    (Event(100, "tick", 1920),))


def test_every_registered_format_is_its_modules_writer():
    assert FORMATS == set(WRITERS) == {"wav", "flac", "ogg", "opus", "mp3", "m4b", "m4a"}
    for name, module in WRITERS.items():
        w = formats.writer(name)
        assert w.name == module and w.subtypes and isinstance(w.streams, bool)
        assert all(callable(getattr(w, m)) for m in ("open", "tag"))


def test_the_exporter_names_no_format():
    source = Path(writer.__file__).read_text()
    assert not re.findall(r"[\"'](?:wav|flac|ogg|opus|mp3|PCM_16)[\"']", source)


class _Raw:
    """A sink writing float32 samples as they come."""

    subtype = "FLOAT"

    def __init__(self, fd: int):
        self.fd, self.closed, self.failed = fd, False, False

    def write(self, block: np.ndarray) -> None:
        os.write(self.fd, np.ascontiguousarray(block, "<f4").tobytes())

    def close(self) -> None:
        self.closed = True


class RawFormat:
    """Needs a file and writes its tags after the audio, as an MP4 muxer would."""

    name, subtypes, samplerates, streams = "raw", ("FLOAT",), frozenset({SR}), False
    seen: ClassVar[list] = []

    def __init__(self, job: Job):
        self.job = job
        RawFormat.seen = [("job", job.frames, [c.title for c in job.chapters])]

    def open(self, out: Output) -> _Raw:
        self.seen.append(("open", out.tags.title, out.path is not None, out.seekable))
        return _Raw(out.fd)

    def tag(self, path: Path, tags: Tags) -> None:
        self.seen.append(("tag", path.stat().st_size, tags.title, tags.peak is not None))
        with open(path, "ab") as f:
            f.write(tags.title.encode())


@pytest.fixture
def raw_format(monkeypatch):
    module = types.ModuleType("voicecoach.encode.formats.raw")
    module.WRITER = RawFormat
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(WRITERS, "raw", "raw")


def test_a_new_format_is_its_module_and_one_registry_entry(raw_format, tmp_path):
    mixer = Mixer(TIMELINE, {}, make_sounds(SR))
    written = export(mixer, TIMELINE, tmp_path / "s.raw", ExportOptions(stems=True, title="T"))
    assert written == [tmp_path / "s.raw", tmp_path / "s.voice.raw", tmp_path / "s.ticks.raw"]
    audio = SR * 4
    assert RawFormat.seen == [
        ("job", SR, ["Intro", "Outro"]),
        ("open", "T", True, True), ("open", "T (voice)", True, True),
        ("open", "T (ticks)", True, True),
        ("tag", audio, "T", True), ("tag", audio, "T (voice)", False),
        ("tag", audio, "T (ticks)", False)]
    data = (tmp_path / "s.raw").read_bytes()
    mix = np.empty((SR, 1), np.float32)
    mixer.render(mix, 0)
    assert data[:audio] == mix.astype("<f4").tobytes() and data[audio:] == b"T"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.raw", "s.ticks.raw", "s.voice.raw"]


def test_a_format_that_needs_a_file_refuses_a_stream_in_one_line(raw_format, tmp_path):
    fifo = tmp_path / "pipe.raw"
    os.mkfifo(fifo)                  # never opened: opening a FIFO with no reader would block
    mixer = Mixer(TIMELINE, {}, make_sounds(SR))
    with pytest.raises(InputError) as info:
        export(mixer, TIMELINE, fifo, ExportOptions())
    assert str(info.value) == (f"--output: {fifo}: raw cannot be written to a stream "
                               "(standard output, a FIFO or a device); name a file")
    assert info.value.exit_code == 2 and os.listdir(tmp_path) == ["pipe.raw"]
