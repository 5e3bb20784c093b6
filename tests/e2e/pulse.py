"""A private PulseAudio server with a null sink, and parec recording of it.

Used by the end-to-end tests and by scripts/bench. PortAudio reaches the
server through ALSA's ``pulse`` device; XDG_RUNTIME_DIR points every client
(PortAudio, parec, pactl) at our server and not at any other.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 48000
SINK = "vc_e2e"


class Pulse:
    """A PulseAudio server of our own in a private runtime directory."""

    def __init__(self, runtime: Path):
        self.runtime = runtime
        self.proc: subprocess.Popen | None = None
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime / "pulse")}

    def start(self) -> None:
        self.runtime.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime, 0o700)
        self.proc = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "-n",
                "--exit-idle-time=-1",
                "--disable-shm=yes",
                "--log-target=stderr",
                "--log-level=error",
                "--load=module-native-protocol-unix",
                f"--load=module-null-sink sink_name={SINK} rate={SR} channels=1 format=float32le",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("PulseAudio did not start")
            time.sleep(0.1)
        # A desktop's sound server gets real-time scheduling (rtkit); ours, started
        # here, keeps its main thread at normal priority, and every client's audio
        # passes through it: on a busy machine it stalled for over a second.
        realtime(self.proc.pid)
        # An idle null sink sleeps for up to ~2 s and only then notices a new
        # stream's latency, delaying and glitching its start; a real device's
        # clock never sleeps. A silent low-latency stream keeps it awake.
        self.keep_awake = subprocess.Popen(
            ["pacat", "--playback", "--latency-msec=10", "--format=s16le", f"--rate={SR}", "--channels=1"],
            env=self.env,
            stdin=open("/dev/zero", "rb"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)

    def stop(self) -> None:
        keep = getattr(self, "keep_awake", None)
        if keep is not None and keep.poll() is None:
            keep.kill()
            keep.wait()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def microphone(self, name: str = "vc_mic", rate: int = 16000) -> str:
        """A virtual microphone: a second null sink whose monitor becomes the
        default source; what `say` plays into it is what PortAudio's default
        input hears. Returns the sink's name."""
        for args in (
            ["load-module", "module-null-sink", f"sink_name={name}", f"rate={rate}", "channels=1"],
            ["set-default-source", f"{name}.monitor"],
            ["set-default-sink", SINK],
        ):
            subprocess.run(["pactl", *args], env=self.env, check=True, capture_output=True)
        return name

    def say(self, mic: str, wav: Path) -> float:
        """Play ``wav`` into the virtual microphone ``mic``; returns the
        `time.monotonic` when it has been played (paplay drains first)."""
        subprocess.run(["paplay", "-d", mic, str(wav)], env=self.env, check=True, timeout=30)
        return time.monotonic()

    def record(self, path: Path) -> subprocess.Popen:
        """Start recording the null sink's monitor as raw float32 mono."""
        out = open(path, "wb")
        proc = subprocess.Popen(
            [
                "parec",
                f"--device={SINK}.monitor",
                f"--rate={SR}",
                "--channels=1",
                "--format=float32le",
                "--latency-msec=10",
            ],
            env=self.env,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        proc.out = out
        deadline = time.monotonic() + 10  # wait until samples really flow
        while path.stat().st_size < SR // 5 * 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        return proc


def realtime(pid: int, priority: int = 6) -> None:
    """Every thread of process ``pid`` at ``SCHED_FIFO`` where allowed (root here)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(int(tid), os.SCHED_FIFO, os.sched_param(priority))


def stop_recording(proc: subprocess.Popen, path: Path) -> np.ndarray:
    time.sleep(0.5)  # the last buffers, through the sink
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.out.close()
    data = np.fromfile(path, dtype="<f4")
    return data


def export_wav(vc, preset: Path, out: Path) -> np.ndarray:
    r = vc("export", str(preset), "-o", str(out), "--float")
    assert r.returncode == 0, r.stderr
    data, rate = sf.read(out, dtype="float32")
    assert rate == SR
    return data


def best_lag(recording: np.ndarray, reference: np.ndarray) -> tuple[int, float]:
    """Where ``reference`` sits in ``recording`` and how well it matches there."""
    n = 1 << int(np.ceil(np.log2(len(recording) + len(reference))))
    xc = np.fft.irfft(np.fft.rfft(recording, n) * np.conj(np.fft.rfft(reference, n)), n)
    lag = int(np.argmax(xc[: len(recording)]))
    seg = recording[lag : lag + len(reference)]
    if len(seg) < len(reference):
        return lag, 0.0
    return lag, float(np.corrcoef(seg, reference)[0, 1])


def differing_windows(recording: np.ndarray, reference: np.ndarray, window: int = SR // 2,
                      tolerance: float = 0.01) -> tuple[int, int]:
    """How many of ``reference``'s windows the recording does not match, of how many:
    aligned once by cross-correlation, so a gap or a glitch shifts or spoils the windows
    from there on (a window differs where any sample is off by more than ``tolerance``)."""
    lag, _ = best_lag(recording, reference)
    n = len(reference) // window
    bad = 0
    for i in range(n):
        a = reference[i * window:(i + 1) * window]
        b = recording[lag + i * window:lag + (i + 1) * window]
        bad += len(b) < window or float(np.max(np.abs(a - b))) > tolerance
    return bad, n


@contextlib.contextmanager
def cpu_load(hogs: int):
    """``hogs`` CPU-bound stress-ng workers at our priority for the duration."""
    proc = subprocess.Popen(["stress-ng", "--cpu", str(hogs), "--timeout", "1800s", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)                           # the workers are up and spinning
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
