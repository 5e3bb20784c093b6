"""Export targets as Unix tools treat them: standard output, FIFOs, character
devices, symlinks, read-only files, missing folders and the part files of
dead runs. Every special file is made in a temp folder; real readers
(soundfile, ffprobe) check what was delivered."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from running import TINY_PRESET, private_env, start_voicecoach, voicecoach

from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.encode.formats import ExportOptions
from voicecoach.common.atomic import remove_stale_parts
from voicecoach.encode.targets import TargetKind, resolve_target
from voicecoach.encode.writer import export
from voicecoach.errors import ExportError, InputError
from voicecoach.plan.timeline import Event, Segment, Timeline

pytestmark = pytest.mark.timeout(180)

SR = 48000
FRAMES = 2 * SR
TIMELINE = Timeline("targets", SR, FRAMES, (Segment("intro", 0, FRAMES),),
                    (Event(4800, "tick", 1920), Event(SR, "accent", 2400)))


@pytest.fixture(scope="module")
def mixer() -> Mixer:
    return Mixer(TIMELINE, {}, make_sounds(SR), channels=1)


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part-" in p.name)


def decode(blob: bytes) -> tuple[np.ndarray, int]:
    """Every frame of a streamed file, decoded by ffmpeg (a streamed FLAC
    states no length, and libsndfile's reader loses sync at its end)."""
    res = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-f", "f32le", "-ar", str(SR), "-"],
                         input=blob, capture_output=True, timeout=60, check=True)
    return np.frombuffer(res.stdout, dtype="<f4"), SR


def drain(path: Path, sink: list[bytes]) -> threading.Thread:
    """A reader that opens ``path`` and keeps everything written to it."""
    def read() -> None:
        with open(path, "rb") as f:
            sink.append(f.read())
    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


# --------------------------------------------------------------- special files
@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_export_replaces_special_files_fifo_gets_the_whole_file(mixer, tmp_path, fmt):
    fifo = tmp_path / f"pipe.{fmt}"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = drain(fifo, got)
    written = export(mixer, TIMELINE, fifo, ExportOptions())
    reader.join(timeout=60)
    assert written == [fifo]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)          # the node stays a FIFO
    assert parts(tmp_path) == []
    data, sr = decode(got[0])
    assert sr == SR
    if fmt in ("wav", "flac"):
        assert len(data) == FRAMES
    else:                                   # lossy encoders pad the last packet
        assert FRAMES <= len(data) <= FRAMES + 4 * 1152
    assert np.abs(data).max() > 0.01


def test_a_fifo_reader_that_goes_away_is_named_though_the_stems_are_files_beside_it(tmp_path):
    # the mix to a FIFO, its stems to files: the encoder's broken pipe (met
    # while rendering: a minute of ticks) is the FIFO's, named as such, not
    # the last file opened
    frames = 60 * SR
    tl = Timeline("minute", SR, frames, (Segment("intro", 0, frames),),
                  tuple(Event(s * SR, "tick", 1920) for s in range(60)))
    mixer = Mixer(tl, {}, make_sounds(SR))
    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)

    def read_a_little() -> None:
        with open(fifo, "rb") as f:
            f.read(1)
    reader = threading.Thread(target=read_a_little, daemon=True)
    reader.start()
    with pytest.raises(ExportError) as info:
        export(mixer, tl, fifo, ExportOptions(stems=True))
    reader.join(timeout=60)
    assert str(info.value) == f"cannot write {fifo}: the reader stopped reading (Broken pipe)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.mp3"]    # no stems left


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_export_replaces_special_files_character_device_stays(mixer, tmp_path):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    export(mixer, TIMELINE, null, ExportOptions(format="wav"))
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_export_replaces_special_files_symlink_stays_a_link(mixer, tmp_path):
    real = tmp_path / "music" / "real.wav"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    assert export(mixer, TIMELINE, link, ExportOptions()) == [link]
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert sf.info(real).frames == FRAMES
    assert parts(tmp_path) == [] and parts(real.parent) == []


def test_export_replaces_special_files_dangling_symlink_creates_its_target(mixer, tmp_path):
    link = tmp_path / "link.flac"
    link.symlink_to(tmp_path / "new.flac")
    export(mixer, TIMELINE, link, ExportOptions())
    assert link.is_symlink() and sf.info(tmp_path / "new.flac").frames == FRAMES


def test_export_replaces_special_files_read_only_refused_unless_forced(mixer, tmp_path):
    target = tmp_path / "keep.wav"
    target.write_bytes(b"precious")
    target.chmod(0o444)
    with pytest.raises(InputError) as info:
        export(mixer, TIMELINE, target, ExportOptions())
    assert info.value.exit_code == 2
    assert str(info.value) == f"--output: {target}: is read-only; pass --force to replace it"
    assert target.read_bytes() == b"precious" and parts(tmp_path) == []
    export(mixer, TIMELINE, target, ExportOptions(), force=True)
    assert sf.info(target).frames == FRAMES and stat.S_IMODE(target.stat().st_mode) == 0o444


@pytest.mark.parametrize("option", ["stems", "cue_sheet"])
def test_export_replaces_special_files_stdout_refuses_stems_and_cue(mixer, tmp_path, option):
    with pytest.raises(InputError, match=r"cannot be used with -o -") as info:
        export(mixer, TIMELINE, Path("-"), ExportOptions(format="wav", **{option: True}))
    assert info.value.exit_code == 2


def test_export_replaces_special_files_socket_and_directory_are_refused(tmp_path):
    import socket
    sock_path = tmp_path / "s.wav"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(InputError, match="is a socket"):
            resolve_target(sock_path)
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        resolve_target(tmp_path / "d.wav")
    assert resolve_target(tmp_path / "new.wav").kind is TargetKind.FILE
    assert resolve_target("-").kind is TargetKind.STDOUT


# -------------------------------------------------------------- dead runs' parts
def test_signals_leave_debris_parts_of_dead_runs_are_removed(mixer, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    stale = tmp_path / f".out.wav.part-{dead.pid}-0123abcd"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".other.wav.part-{os.getppid()}-0123abcd"   # a running process
    live.write_bytes(b"y")
    unrelated = tmp_path / ".notes.part-x"
    unrelated.write_bytes(b"z")
    export(mixer, TIMELINE, tmp_path / "out.wav", ExportOptions())
    assert not stale.exists()
    assert live.exists() and unrelated.exists()
    assert remove_stale_parts(tmp_path / "missing") == []


# ------------------------------------------------------------- the real command
@pytest.fixture(scope="module")
def cli_env(tmp_path_factory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("cli")
    preset = root / "tiny.toml"
    preset.write_text(TINY_PRESET)
    return private_env(root), preset


def timeline_frames(env: dict, preset: Path) -> int:
    import json
    res = voicecoach(env, "timeline", str(preset), "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["frames"]


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_export_replaces_special_files_dash_streams_to_stdout(cli_env, fmt):
    env, preset = cli_env
    res = voicecoach(env, "export", str(preset), "-o", "-", "--format", fmt)
    assert res.returncode == 0, res.stderr
    assert res.stderr.decode().splitlines()[0] == "wrote standard output"
    frames = timeline_frames(env, preset)
    if fmt == "mp3":       # what a tool at the other end of the pipe sees
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "packet=duration_time",
                                "-of", "csv=p=0", "-"], input=res.stdout, capture_output=True,
                               timeout=60, check=True)
        seconds = sum(float(x.strip(",")) for x in probe.stdout.decode().split())
        assert abs(seconds - frames / 48000) < 0.1
    else:
        data, sr = decode(res.stdout)
        assert (sr, len(data)) == (48000, frames) and np.abs(data).max() > 0.01
    assert not Path("-").exists()


def test_stdout_redirected_to_a_file_gets_the_file_o_would_write(cli_env, tmp_path):
    """``-o - > x.wav``: standard output is then a regular file, written as one."""
    env, preset = cli_env
    with open(tmp_path / "x.wav", "wb") as out:
        res = voicecoach(env, "export", str(preset), "-o", "-", "--format", "wav", stdout=out)
    assert res.returncode == 0, res.stderr
    assert res.stderr.decode().splitlines()[0] == "wrote standard output"
    named = voicecoach(env, "export", str(preset), "-o", str(tmp_path / "y.wav"))
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "x.wav").read_bytes() == (tmp_path / "y.wav").read_bytes()
    info = sf.info(tmp_path / "x.wav")
    assert (info.frames, info.subtype) == (timeline_frames(env, preset), "PCM_16")


@pytest.mark.parametrize("fmt, args", [("wav", ["--float"]), ("flac", []), ("mp3", []),
                                       ("ogg", [])])
def test_stdout_redirected_to_a_file_takes_every_format(cli_env, tmp_path, fmt, args):
    env, preset = cli_env
    path = tmp_path / f"x.{fmt}"
    with open(path, "wb") as out:
        res = voicecoach(env, "export", str(preset), "-o", "-", "--format", fmt, *args,
                         stdout=out)
    assert res.returncode == 0, res.stderr
    # From the file (a pipe would hide the MP3's Info tag): with it, exactly the session.
    res = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-"],
                         capture_output=True, timeout=60, check=True)
    data = np.frombuffer(res.stdout, dtype="<f4")
    assert len(data) == timeline_frames(env, preset) and np.abs(data).max() > 0.01


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_stdout_appending_to_a_file_streams_after_what_is_there(cli_env, tmp_path, fmt):
    """``>> x``: writes land at the end whatever the offset, so nothing goes back."""
    env, preset = cli_env
    path = tmp_path / f"x.{fmt}"
    before = b"already here\n" * 100
    path.write_bytes(before)
    with open(path, "ab") as out:
        res = voicecoach(env, "export", str(preset), "-o", "-", "--format", fmt, stdout=out)
    assert res.returncode == 0, res.stderr
    blob = path.read_bytes()
    assert blob.startswith(before)
    data, sr = decode(blob[len(before):])
    frames = timeline_frames(env, preset)
    if fmt == "wav":     # the stream's header and samples, no tags
        assert blob[len(before) + 36:len(before) + 40] == b"data"
        assert len(blob) - len(before) == 44 + 2 * frames
        assert len(data) == frames
    else:
        assert blob[len(before):len(before) + 2] == b"\xff\xfb"
        assert b"Xing" in blob[len(before):len(before) + 200]    # the stream's Info tag, up front
        assert len(data) == frames                              # so the delay and padding go


def test_export_replaces_special_files_dash_needs_format(cli_env, tmp_path):
    env, preset = cli_env
    res = voicecoach(env, "export", str(preset), "-o", "-", cwd=tmp_path)
    assert res.returncode == 2 and res.stdout == b""
    assert res.stderr.decode() == ("voicecoach: error: --format: required with -o - (standard "
                                   "output): one of flac, mp3, ogg, opus, wav\n")
    assert list(tmp_path.iterdir()) == []


def test_export_replaces_special_files_missing_folder_is_exit_2(cli_env, tmp_path):
    env, preset = cli_env
    target = tmp_path / "nowhere" / "x.wav"
    res = voicecoach(env, "export", str(preset), "-o", str(target))
    assert res.returncode == 2
    assert res.stderr.decode() == (f"voicecoach: error: --output: {target}: the folder "
                                   f"{target.parent} does not exist\n")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------- stems and cue sheet
def test_export_replaces_special_files_stems_follow_the_same_rules(mixer, tmp_path):
    voice = tmp_path / "s.voice.wav"
    voice.write_bytes(b"mine")
    voice.chmod(0o444)
    with pytest.raises(InputError) as info:
        export(mixer, TIMELINE, tmp_path / "s.wav", ExportOptions(stems=True))
    assert str(info.value) == f"--stems: {voice}: is read-only; pass --force to replace it"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.voice.wav"]
    cue = tmp_path / "s.cue"
    os.mkfifo(cue)
    got: list[bytes] = []
    reader = drain(cue, got)
    written = export(mixer, TIMELINE, tmp_path / "s.wav",
                     ExportOptions(stems=True, cue_sheet=True), force=True)
    reader.join(timeout=60)
    assert written[-1] == cue and stat.S_ISFIFO(os.lstat(cue).st_mode)
    assert b'FILE "s.wav" WAVE' in got[0]
    assert sf.info(voice).frames == FRAMES and parts(tmp_path) == []


def test_export_replaces_special_files_reader_closing_stdout_is_one_line(cli_env):
    env, preset = cli_env
    proc = start_voicecoach(env, "export", str(preset), "-o", "-", "--format", "wav")
    proc.stdout.read(100)
    proc.stdout.close()                                   # like `| head -c 100`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert err == ("voicecoach: error: cannot write standard output: the reader stopped "
                   "reading (Broken pipe)\n")
