"""Live playback through PortAudio: the only module that imports sounddevice,
lazily (:func:`_sd`), so export and the tests work without PortAudio.

A render thread renders the transport ahead into a ring (:mod:`voicecoach.live.ahead`);
the audio callback only copies from it and counts underflows; keys, the status line
and device loss are handled on the main thread, which only polls counters.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from voicecoach.errors import AudioDeviceError, InputError
from voicecoach.live.ahead import RenderAhead, ordinary, realtime
from voicecoach.live.transport import Transport, TransportCommand, TransportState

DEFAULT_LATENCY = 0.2  # seconds: roomy enough for Bluetooth headphones
BLOCKSIZE = 1024  # frames per callback: 21 ms at 48 kHz
RECOVER_SECONDS = 30.0  # how long to wait for a lost device to come back
STALL_SECONDS = 2.0  # no progress for this long while playing = device lost
POLL_SECONDS = 0.05  # main-thread tick: keys, status, Ctrl-C within 0.2 s
DRAIN_SECONDS = 3.0  # at most this long (plus the latency) for the last buffers to play
END_PAD_SECONDS = 0.3  # silence played after the end, beyond the output latency


def _sd():
    """Import sounddevice, turning a missing PortAudio into one clear line."""
    try:
        import sounddevice
    except OSError as exc:
        raise AudioDeviceError(
            f"PortAudio is not installed ({exc}); on Debian/Ubuntu: apt-get install libportaudio2. "
            "'voicecoach export' works without it"
        ) from None
    return sounddevice


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    channels: int
    samplerate: float
    default: bool


def resolve_device(spec: str | None, devices: Sequence[Device]) -> int | None:
    """``--device``: an index or a name substring of one of ``devices``
    (the backend's outputs); None = the default. No device at all is an
    :class:`AudioDeviceError`; a spec matching none or several an :class:`InputError`."""
    if not devices:
        raise AudioDeviceError("no audio output device found; try 'voicecoach export' to make a file")
    if spec is None:
        return None
    if spec.isdigit():
        if any(d.index == int(spec) for d in devices):
            return int(spec)
        raise InputError(f"--device: no output device with index {spec}; see 'voicecoach devices'")
    matches = [d for d in devices if spec.lower() in d.name.lower()]
    exact = [d for d in matches if d.name.lower() == spec.lower()]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0].index
    if not matches:
        names = ", ".join(repr(d.name) for d in devices[:6])
        raise InputError(f"--device: no output device matches {spec!r} (have: {names})")
    raise InputError(f"--device: {spec!r} matches several devices: " + ", ".join(repr(d.name) for d in matches[:6]))


def parse_latency(text: str) -> float | str:
    """``--latency``: seconds, or PortAudio's ``low`` / ``high``."""
    if text in ("low", "high"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--latency: expected seconds or low/high, got {text!r}") from None
    if not 0.001 <= value <= 2.0:
        raise InputError(f"--latency: must be between 0.001 and 2 seconds, got {text}")
    return value


def in_our_words(exc: Exception) -> str:
    """PortAudio's message, said for a user: "Error querying device -1" means
    there is no output device at all (the sound server or the headphones went)."""
    text = str(exc)
    if "querying device -1" in text or "No Default Device" in text or "Invalid device" in text:
        return "no output device is available (the sound server or the headphones are gone)"
    return text


class Stream(Protocol):
    active: bool
    latency: float

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...


class Backend(Protocol):
    def open(self, *, finished: Callable[[], None], **options: Any) -> Stream:
        """A started stream; ``options``: samplerate, channels, device, latency, callback."""

    def refresh(self) -> None: ...

    def devices(self) -> list[Device]: ...


class SoundDeviceBackend:
    """Real output through sounddevice/PortAudio."""

    def devices(self) -> list[Device]:
        """Output devices PortAudio knows, the default one marked."""
        sd = _sd()
        try:
            out = sd.default.device[1]
            apis = sd.query_hostapis()
            return [
                Device(
                    i,
                    d["name"],
                    apis[d["hostapi"]]["name"],
                    d["max_output_channels"],
                    d["default_samplerate"],
                    i == out,
                )
                for i, d in enumerate(sd.query_devices())
                if d["max_output_channels"] > 0
            ]
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"cannot list audio devices: {exc}") from None

    def open(self, *, finished: Callable[[], None], **options: Any) -> Stream:
        sd = _sd()
        try:
            stream = sd.OutputStream(dtype="float32", blocksize=BLOCKSIZE, finished_callback=finished, **options)
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open the audio output: {in_our_words(exc)}") from None
        return stream

    def refresh(self) -> None:
        """Re-scan devices (PortAudio fixes the list at start-up)."""
        sd = _sd()
        sd._terminate()
        sd._initialize()


#: Single keys on the terminal and what they ask.
KEYS = {
    " ": TransportCommand.TOGGLE,
    "p": TransportCommand.TOGGLE,
    "n": TransportCommand.SKIP,
    "b": TransportCommand.RESTART,
    "q": TransportCommand.QUIT,
}


@dataclass(frozen=True)
class Hooks:
    """What the console lends the player, all run on the playing thread: ``keys``
    returns a pressed key (:data:`KEYS`) or None without blocking; ``clock`` and
    ``sleep`` only decide how often the loop looks (the audio clock rules what is heard).
    """

    keys: Callable[[], str | None] = lambda: None
    status: Callable[[Transport], None] = lambda t: None
    notice: Callable[[str], None] = lambda s: None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class PlayResult:
    completed: bool
    underruns: int
    position: int  # timeline frame reached
    recoveries: int = 0
    commands: list[tuple[int, str]] = field(default_factory=list)
    jumps: list[tuple[int, int]] = field(default_factory=list)  # (from, to) timeline frames


class Player:
    """Runs a :class:`Transport` on an output stream until the session ends;
    keys go to :meth:`Transport.request` like any remote control's commands."""

    def __init__(
        self,
        transport: Transport,
        backend: Backend,
        *,
        device: int | None = None,
        latency: float | str = DEFAULT_LATENCY,
        hooks: Hooks = Hooks(),
        recover_seconds: float = RECOVER_SECONDS,
    ):
        self.t = transport
        self.backend = backend
        self.device = device
        self.latency = latency
        self.keys, self.status, self.notice = hooks.keys, hooks.status, hooks.notice
        self.clock, self.sleep = hooks.clock, hooks.sleep
        self.recover_seconds = recover_seconds
        self._lost = False
        self.recoveries = 0
        # Host APIs drop what they still hold when a stream stops: the latency's
        # worth of silence is played after the end, so what is dropped is silence.
        seconds = _seconds(latency) if not isinstance(latency, str) else DEFAULT_LATENCY
        self.ahead = RenderAhead(transport, seconds, BLOCKSIZE, self._pad_for(latency))

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            self.t.underruns += 1
        if self.ahead.take(outdata):
            raise _sd().CallbackStop

    def _finished(self) -> None:
        if not self.t.finished:
            self._lost = True

    def _open(self) -> Stream:
        self._lost = False
        self.ahead.settle()  # the ring full before the device asks
        before = _threads()
        stream = self.backend.open(
            samplerate=self.t.sr,
            channels=self.t.mixer.channels,
            device=self.device,
            latency=self.latency,
            callback=self._callback,
            finished=self._finished,
        )
        for tid in _threads() - before:  # the host API's: the callback's, a sound server client's
            realtime(tid)
        self.ahead.pad = max(self.ahead.pad, self._pad_for(getattr(stream, "latency", 0.0)))
        self.t.latency = _seconds(getattr(stream, "latency", 0.0))
        return stream

    def _pad_for(self, latency: Any) -> int:
        seconds = _seconds(latency) if not isinstance(latency, str) else DEFAULT_LATENCY
        return round((seconds + END_PAD_SECONDS) * self.t.sr)

    def run(self) -> PlayResult:
        gc.freeze()  # what was prepared stays: a collection while playing has only new objects to look at
        # This thread takes the GIL every poll: put aside by the scheduler while it
        # holds it, it would stall the render thread and the callback too.
        realtime()
        self.ahead.start()
        stream = None
        try:
            stream = self._open()
            last_frames, last_change = self.ahead.read, self.clock()
            while self.t.heard.state != TransportState.DONE:
                key = self.keys()
                command = KEYS.get(key.lower()) if key else None
                if command is not None:
                    self.t.request(command)
                self.status(self.t)
                self.sleep(POLL_SECONDS)
                if self.ahead.error is not None:
                    raise self.ahead.error
                now = self.clock()
                if self.ahead.read != last_frames:
                    last_frames, last_change = self.ahead.read, now
                stalled = self.t.heard.state != TransportState.PAUSED and now - last_change > STALL_SECONDS
                if self._lost or stalled or (not stream.active and self.t.heard.state != TransportState.DONE):
                    _close(stream)
                    stream = None
                    stream = self._recover()
                    last_frames, last_change = self.ahead.read, self.clock()
            self.status(self.t)  # "stopping" stays up while the end plays out
            self._drain(stream)
        finally:
            if stream is not None:
                _close(stream)
            self.ahead.stop()
            gc.unfreeze()
            ordinary()
        return self.result()

    def result(self) -> PlayResult:
        """How far the session got, as heard: also what an interrupted run reports."""
        t, heard = self.t, self.t.heard
        underruns = t.underruns + self.ahead.late
        return PlayResult(
            not heard.quitting, underruns, heard.position, self.recoveries, list(t.log), t.jumps[: heard.jumps]
        )

    def _drain(self, stream: Stream) -> None:
        """Let the last buffers reach the ears: the callback ends with the latency's
        worth of silence, ``stop()`` waits for the device, and a wait of the reported
        latency covers what a sound server may still hold."""
        deadline = self.clock() + DRAIN_SECONDS + _seconds(getattr(stream, "latency", 0.0))
        while stream.active and self.clock() < deadline:
            self.sleep(POLL_SECONDS)
        with suppress(Exception):
            stream.stop()
        self.sleep(_seconds(getattr(stream, "latency", 0.0)))

    def _recover(self) -> Stream:
        """The device went away: say so, wait for it, resume from the rep start."""
        self.notice("audio device lost; waiting for it to come back...")
        deadline = self.clock() + self.recover_seconds
        while True:
            try:
                self.backend.refresh()
                self.t.request(TransportCommand.RECOVER)
                stream = self._open()
                self.recoveries += 1
                self.notice("audio device back; resuming from the start of the rep")
                return stream
            except AudioDeviceError as exc:
                if self.clock() >= deadline:
                    raise AudioDeviceError(
                        f"the audio device went away and did not come back within {self.recover_seconds:g} s ({exc})"
                    ) from None
                self.sleep(1.0)


def _threads() -> set[int]:
    """Our process's threads (Linux), to find those opening a stream starts."""
    try:
        return {int(tid) for tid in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def _seconds(latency: Any) -> float:
    return float(latency[1] if isinstance(latency, tuple) else latency or 0.0)


def _close(stream: Stream) -> None:
    """Stop at once (abort, not drain) and release; a dead stream may refuse."""
    for op in (stream.abort, stream.close):
        with suppress(Exception):
            op()
