"""Play through a PulseAudio null sink, record it, compare with the export."""

import json
import os
import pty
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from pulse import SR, best_lag, cpu_load, differing_windows, export_wav, stop_recording

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("engine", [None, "pyttsx3"], ids=["default-neural", "pyttsx3"])
def test_live_equals_export_no_drift(vc, pulse, short_preset, tmp_path, engine):
    preset = short_preset(sets=2, reps=2, engine=engine)
    ref = export_wav(vc, preset, tmp_path / "ref.wav")
    rec_path = tmp_path / "rec.raw"
    rec = pulse.record(rec_path)
    r = vc("play", str(preset), "--device", "pulse")
    recording = stop_recording(rec, rec_path)
    assert r.returncode == 0, r.stderr
    assert "underruns: " in r.stdout
    assert "Log your perfect reps later" in r.stdout      # no terminal: no questions
    logged = json.loads(vc("history", "--json").stdout)[-1]
    assert logged["completed"] and [s["perfect"] for s in logged["sets"]] == [None, None]
    lag, corr = best_lag(recording, ref)
    assert corr >= 0.98, corr
    # one constant offset: the first and the last five seconds sit at the same lag
    for start in (SR, len(ref) - 6 * SR):
        piece = ref[start:start + 5 * SR]
        window = recording[lag + start - SR // 10: lag + start + 5 * SR + SR // 10]
        sub_lag, sub_corr = best_lag(window, piece)
        assert sub_corr >= 0.98
        assert abs(sub_lag - SR // 10) <= 1, sub_lag - SR // 10


def test_live_equals_export_with_more_cpu_hogs_than_cores(vc, pulse, short_preset, tmp_path):
    if not shutil.which("stress-ng"):
        pytest.skip("stress-ng is not installed (scripts/setup --test installs it)")
    preset = short_preset(sets=2, reps=2)
    ref = export_wav(vc, preset, tmp_path / "ref.wav")
    vc("play", str(preset), "--device", "pulse", "--sets", "1", "--reps", "1")   # the player's own clips, cached
    rec_path = tmp_path / "rec.raw"
    rec = pulse.record(rec_path)
    with cpu_load(os.cpu_count() + 1):
        r = vc("play", str(preset), "--device", "pulse")
    recording = stop_recording(rec, rec_path)
    assert r.returncode == 0, r.stderr
    assert "finished; underruns: 0" in r.stdout, r.stdout
    bad, windows = differing_windows(recording, ref)
    assert windows == len(ref) // (SR // 2) and bad == 0, f"{bad} of {windows} half-second windows differ"


def _spawn_with_terminal(vc, args):
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", *args], env=vc.env,
                            stdin=slave, stderr=slave, stdout=subprocess.PIPE, text=True)
    os.close(slave)
    return proc, master


def _read_until(master, text, timeout=90):
    """Read the terminal until the status line shows ``text``."""
    import select
    screen = ""
    deadline = time.monotonic() + timeout
    while text not in screen:
        assert time.monotonic() < deadline, f"never saw {text!r} in {screen[-300:]!r}"
        if select.select([master], [], [], 0.05)[0]:
            screen += os.read(master, 4096).decode(errors="replace")
    return screen


def _departure(recording, ref, lag0):
    """First frame (in the recording) where it stops following the export."""
    step = SR // 20
    for i in range(0, len(ref) - step, step):
        a = recording[lag0 + i:lag0 + i + step]
        if len(a) < step or np.max(np.abs(a - ref[i:i + step])) > 0.05:
            return lag0 + i
    return None


def _longest_silence(x):
    quiet = np.abs(x) < 1e-4
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    return max((b - a for a, b in zip(edges[::2], edges[1::2])), default=0)


def _rep_start(plan, frame):
    rep_kinds = {"concentric", "top", "eccentric", "bottom", "hold"}
    seg = [s for s in plan["segments"] if s["start"] <= frame][-1]
    if seg["kind"] not in rep_kinds:
        return frame
    return min(s["start"] for s in plan["segments"]
               if (s["set"], s["rep"]) == (seg["set"], seg["rep"]) and s["kind"] in rep_kinds)


def test_pause_resumes_from_the_start_of_the_rep(vc, pulse, short_preset, tmp_path):
    preset = short_preset(sets=1, reps=4)
    ref = export_wav(vc, preset, tmp_path / "ref.wav")
    plan = json.loads(vc("timeline", str(preset), "--json").stdout)
    rec_path = tmp_path / "rec.raw"
    rec = pulse.record(rec_path)
    proc, master = _spawn_with_terminal(vc, ["play", str(preset), "--device", "pulse"])
    screen = _read_until(master, "rep 2/4")
    time.sleep(1.5)                             # mid-rep
    os.write(master, b" ")
    screen += _read_until(master, "PAUSED")
    time.sleep(5)
    os.write(master, b" ")
    screen += _read_until(master, "perfect reps [")      # the session ended: it asks
    os.write(master, b"3\n")
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    assert "Logged 3 perfect reps" in out
    logged = json.loads(vc("history", "--json").stdout)[-1]
    assert [s["perfect"] for s in logged["sets"]] == [3]
    recording = stop_recording(rec, rec_path)
    assert proc.returncode == 0, screen
    lag0, corr0 = best_lag(recording, ref[:5 * SR])
    assert corr0 > 0.98
    paused_at = _departure(recording, ref, lag0)
    assert paused_at is not None
    rep_start = _rep_start(plan, paused_at - lag0)
    assert rep_start < paused_at - lag0                  # it was mid-rep
    # everything from the start of the interrupted rep to the end follows the pause
    rest = ref[rep_start:]
    q, corr = best_lag(recording[paused_at:], rest)
    assert corr >= 0.98, corr
    assert _longest_silence(recording[paused_at:paused_at + q]) >= 2 * SR   # the pause itself


def test_skip_ends_the_rest_early(vc, pulse, short_preset, tmp_path):
    # espeak: its short phrases leave most of this 5-second rest free to skip;
    # the neural voice's longer ones fill it, and the skip lands too late to show
    preset = short_preset(sets=2, reps=2, engine="pyttsx3")
    preset.write_text(preset.read_text().replace("rest = 5", "rest = 10"))  # room for the skip's words and count-in
    ref = export_wav(vc, preset, tmp_path / "ref.wav")
    plan = json.loads(vc("timeline", str(preset), "--json").stdout)
    set2 = next(s for s in plan["segments"] if s["kind"] == "concentric" and s["set"] == 2)
    rec_path = tmp_path / "rec.raw"
    rec = pulse.record(rec_path)
    proc, master = _spawn_with_terminal(vc, ["play", str(preset), "--device", "pulse"])
    _read_until(master, "rest ")
    os.write(master, b"n")
    _read_until(master, "perfect reps [")
    os.write(master, b"\n\n")                          # Enter accepts the planned reps
    proc.communicate(timeout=120)
    os.close(master)
    recording = stop_recording(rec, rec_path)
    assert proc.returncode == 0
    lag0, _ = best_lag(recording, ref[:5 * SR])
    skipped_at = _departure(recording, ref, lag0)
    target = set2["start"] - 3 * SR                     # the count-in of set 2
    assert skipped_at - lag0 < target - SR               # pressed well before the rest ended
    q, corr = best_lag(recording[skipped_at:], ref[target:])
    assert corr >= 0.98, corr
    assert skipped_at + q - lag0 < target               # set 2 came earlier than planned


def test_server_restart_mid_session_recovers(vc, pulse, short_preset, tmp_path):
    preset = short_preset(sets=1, reps=6)
    ref = export_wav(vc, preset, tmp_path / "ref.wav")
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "play", str(preset), "--device", "pulse"],
                            env=vc.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(12)
    pulse.stop()
    time.sleep(2)
    pulse.start()
    rec_path = tmp_path / "rec.raw"
    rec = pulse.record(rec_path)
    out, err = proc.communicate(timeout=120)
    recording = stop_recording(rec, rec_path)
    assert proc.returncode == 0, err
    assert "device lost" in err and "back" in err
    assert "Traceback" not in err
    assert "pa_linux_alsa" not in err and "Expression" not in err     # PortAudio's own lines
    # after the recovery lead-in the session goes on: the outro of the export is heard
    tail = ref[-4 * SR:]
    lag, corr = best_lag(recording, tail)
    assert corr > 0.98, corr


def test_no_output_device_suggests_export(cue_cache, tmp_path):
    """No sound server and no sound card: PortAudio lists no output at all."""
    runtime = tmp_path / "no-server"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "VOICECOACH_CACHE_DIR": str(cue_cache)}
    for args in (["play", "plank"], ["devices"]):
        r = subprocess.run([sys.executable, "-m", "voicecoach", *args], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1, r
        assert "no audio output device" in r.stderr and "voicecoach export" in r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_ctrl_c_stops_quickly_with_130(vc, pulse, short_preset):
    preset = short_preset(sets=1, reps=3)
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "play", str(preset), "--device", "pulse"],
                            env=vc.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(6)
    proc.send_signal(__import__("signal").SIGINT)
    t = time.monotonic()
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert time.monotonic() - t < 2.0      # generous on a busy machine; the player polls every 50 ms
