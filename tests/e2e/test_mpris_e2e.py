"""Hands-free control: headset buttons over MPRIS on a private session bus,
real playback through the PulseAudio null sink, judged on the recording.

``play`` runs as a launcher would start it: no terminal, stdin not a TTY.
The buttons are pressed with dbus-send, as the desktop does for a headset.
Where a call lands in the recording is the recording's length at the moment
of the call, so every delay below is measured in recorded frames.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pulse import SR, best_lag, export_wav, stop_recording

pytestmark = pytest.mark.e2e


def _frames_recorded(path):
    return path.stat().st_size // 4


def _find(recording, clip, start, within):
    """Where ``clip`` starts in ``recording[start:start + within]``, and how well."""
    lag, corr = best_lag(recording[start:start + within + len(clip)], clip)
    return start + lag, corr


def _departure(recording, ref, start, before):
    """The first frame after ``start`` where the recording stops following
    the export, and the offset (recording frame - export frame) it followed at.

    Aligned on the longest of five, three, two or one seconds ending half a
    second before ``before`` (the call) that follows the export whole,
    searched near where the intro (heard once) puts it: the sets repeat
    their reps and counts, and an underrun earlier on (a busy machine) may
    have moved the rest by a few blocks, or left a gap in the last seconds.
    """
    lag0, corr0 = best_lag(recording[:before], ref[:5 * SR])
    assert corr0 > 0.98, corr0
    for seconds in (5, 3, 2, 1):
        first = before - SR // 2 - seconds * SR
        piece = recording[first:before - SR // 2]
        lo = max(0, first - lag0 - 2 * SR)
        at, corr = best_lag(ref[lo:first - lag0 + 2 * SR + len(piece)], piece)
        if corr > 0.98:
            break
    assert corr > 0.98, corr
    offset = first - (lo + at)
    step = SR // 50
    for i in range(start, len(recording) - step, step):
        a, b = recording[i:i + step], ref[i - offset:i - offset + step]
        if len(b) < step or np.max(np.abs(a - b)) > 0.02:
            return i, offset
    return None, offset


def _rms_db(x):
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20)


@pytest.fixture
def clips(vc, short_preset):
    """The player's own messages, exactly as it will sound them: the same cue
    cache, the session's loudness gain and limiter."""
    from voicecoach.audio.normalise import default_target
    from voicecoach.audio.session import normalise, prepare
    from voicecoach.live.clips import session_clips
    from voicecoach.live.transport import Transport
    from voicecoach.plan.preset_files import load_preset
    preset = short_preset(sets=2, reps=3)
    assert vc("timeline", str(preset)).returncode == 0        # warms the cue cache
    cache = Path(vc.env["VOICECOACH_CACHE_DIR"])
    session = normalise(prepare(load_preset(str(preset)), cache), default_target(1), None, cache)
    return preset, Transport(session.mixer, session.timeline, session_clips(session)).clips


def test_headset_buttons_pause_resume_next_and_stop(vc, pulse, session_bus, clips, tmp_path):
    preset, said = clips
    ref = export_wav(vc, preset, tmp_path / "ref.wav")
    plan = json.loads(vc("timeline", str(preset), "--json").stdout)
    rep_kinds = {"concentric", "top", "eccentric", "bottom"}
    rec_path = tmp_path / "rec.raw"
    rec = pulse.record(rec_path)
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "play", str(preset),
                             "--device", "pulse", "--latency", "low"],
                            env={**vc.env, **session_bus.env}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        bus = session_bus
        meta = bus.wait_for(lambda m: "rep 2/3, lower" in m, "the lowering of set 1, rep 2")
        at_pause = _frames_recorded(rec_path)                              # mid-rep

        bus.call("PlayPause")
        assert "Short test" in meta and '"voicecoach"' in meta
        assert f"int64 {plan['frames'] * 1_000_000 // SR}" in meta       # mpris:length
        bus.wait_for(lambda m: "PAUSED" in m, "the paused state")
        assert bus.status() == "Paused"
        paused_position = bus.get("Position")
        if shutil.which("playerctl"):                    # what docs/controls.md tells users to try
            r = subprocess.run(["playerctl", "-p", "voicecoach", "status"], capture_output=True,
                               text=True, env={**os.environ, **bus.env}, timeout=20)
            assert r.stdout.strip() == "Paused", r
        time.sleep(6.0)            # the paused message (longer in a neural voice) + 2 s of quiet
        at_resume = _frames_recorded(rec_path)
        bus.call("PlayPause")
        bus.wait_for(lambda m: "count-in" in m, "the count-in in the metadata", timeout=30)
        bus.wait_for(lambda m: "set 1/2, rep 3/3" in m, "rep 3 after the count-in")  # its lift or lowering
        assert bus.status() == "Playing"
        at_next = _frames_recorded(rec_path)
        bus.call("Next")
        bus.wait_for(lambda m: "set 2/2" in m and "rep 1/3" in m, "set 2")
        time.sleep(1.5)
        at_stop = _frames_recorded(rec_path)
        bus.call("Stop")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    recording = stop_recording(rec, rec_path)
    assert proc.returncode == 0, err
    assert "stopped at" in out and "Traceback" not in err
    logged = json.loads(vc("history", "--json").stdout)[-1]
    assert not logged["completed"]                                     # Stop = q: recorded

    # Pause: the session stops following the export within 0.2 s of the call,
    # says it is paused, then there is nothing at all.
    left, offset = _departure(recording, ref, at_pause - SR // 2, at_pause)
    pause_delay = (left - at_pause) / SR
    assert -0.05 <= pause_delay <= 0.2, (pause_delay, out)
    onset, corr = _find(recording, said.paused, left, 2 * SR)
    assert corr > 0.98 and onset - left < SR // 10, (corr, onset - left)
    quiet = recording[onset + len(said.paused) + SR // 2:at_resume]
    assert len(quiet) > 2 * SR and np.max(np.abs(quiet)) < 1e-4

    # Resume: "back to the start of this rep", the count-in, then the rep
    # from its start, exactly as in the export.
    back, corr = _find(recording, said.resume_rep, at_resume, 2 * SR)
    assert corr > 0.98, corr
    resume_delay = (back - at_resume) / SR
    assert 0 <= resume_delay <= 0.3, resume_delay
    paused_frame = left - offset
    seg = [s for s in plan["segments"] if s["start"] <= paused_frame][-1]
    assert seg["kind"] in rep_kinds, seg                                 # it was mid-rep
    rep2 = min(s["start"] for s in plan["segments"]
               if s["kind"] in rep_kinds and (s["set"], s["rep"]) == (seg["set"], seg["rep"]))
    assert rep2 < paused_frame
    assert f"int64 {rep2 * 1_000_000 // SR}" in paused_position     # where it will go on
    after = back + len(said.resume_rep)
    q, corr = best_lag(recording[after - SR // 10:after + 3 * SR], ref[rep2:rep2 + 2 * SR])
    assert corr > 0.98 and abs(q - SR // 10) <= SR // 100, (corr, q)

    # Next: "skipping to set 2 of 2", a gap, set 2's own count-in and first rep.
    skip, corr = _find(recording, said.skip_to[2], at_next, 2 * SR)
    assert corr > 0.98, corr
    set2 = min(s["start"] for s in plan["segments"] if s["kind"] in rep_kinds and s["set"] == 2)
    after = skip + len(said.skip_to[2])
    q, corr = best_lag(recording[after - SR // 10:after + 5 * SR], ref[set2 - 3 * SR:set2 + SR])
    assert corr > 0.98 and abs(q - SR // 10) <= SR // 100, (corr, q)

    # Stop: the whole goodbye, to its last syllable, then silence without a click.
    bye, corr = _find(recording, said.quit, at_stop, 3 * SR)
    assert corr > 0.98, corr
    n = len(said.quit)
    tail = recording[bye + n - int(0.3 * SR):bye + n]
    assert abs(_rms_db(tail) - _rms_db(said.quit[-int(0.3 * SR):])) < 1.0
    assert np.max(np.abs(recording[bye + n:])) < 0.01
    print(f"D-Bus PlayPause -> silence: {pause_delay * 1000:.0f} ms; "
          f"D-Bus PlayPause -> resumed count-in: {resume_delay * 1000:.0f} ms ({out.strip()})")


def test_a_second_player_takes_its_own_name_and_no_bus_plays_as_before(vc, pulse, session_bus,
                                                                         short_preset):
    preset = short_preset(sets=1, reps=2)
    env = {**vc.env, **session_bus.env}
    first = subprocess.Popen([sys.executable, "-m", "voicecoach", "play", str(preset), "--device",
                              "pulse"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        session_bus.wait_for(lambda m: "Short test" in m, "the first player")
        second = subprocess.Popen([sys.executable, "-m", "voicecoach", "play", str(preset),
                                   "--device", "pulse"], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        names = ""
        deadline = time.monotonic() + 60
        while f".instance{second.pid}" not in names and time.monotonic() < deadline:
            names = subprocess.run(["dbus-send", "--session", "--print-reply",
                                    "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus.ListNames"], env=env,
                                   capture_output=True, text=True).stdout
            time.sleep(0.1)
        assert f"org.mpris.MediaPlayer2.voicecoach.instance{second.pid}" in names
        session_bus.call("Stop")                # the first one, by the well-known name
        assert first.wait(60) == 0
        second.kill()
        second.communicate()
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
            p.communicate()
    # --no-mpris: not on the bus; no session bus at all: plays as before, without a word
    quiet = subprocess.Popen([sys.executable, "-m", "voicecoach", "play", str(preset), "--device",
                              "pulse", "--no-mpris"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(8)
        assert quiet.poll() is None
        assert session_bus.send("org.freedesktop.DBus.Properties.Get",
                                "string:org.mpris.MediaPlayer2.Player",
                                "string:PlaybackStatus", check=False).returncode != 0
    finally:
        quiet.kill()
        quiet.communicate()
    r = vc("play", str(preset), "--device", "pulse", "--reps", "1")
    assert r.returncode == 0 and "finished" in r.stdout, r.stderr
    assert r.stderr.strip() == "", r.stderr
