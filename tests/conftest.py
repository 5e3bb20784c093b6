"""Shared fixtures: an injected environment so the real CLI runs in-process,
and a fake audio device that records what the player rendered."""

from __future__ import annotations

import io
import types
from pathlib import Path

import numpy as np
import pytest
from running import Run, private_env, run_in
from workers import run_wide_folder

from voicecoach.cli.environment import Environment
from voicecoach.errors import AudioDeviceError
from voicecoach.live.player import Device


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory) -> Path:
    """One cue cache for the whole run, every worker's: speech is
    deterministic, so a cue synthesised by one test is exactly what another
    would synthesise, and the cache is written atomically (entries and
    loudness alike), as two voicecoach processes may share one."""
    return run_wide_folder(tmp_path_factory, "shared-cache")


@pytest.fixture(autouse=True)
def no_desktop_bus(monkeypatch):
    """In-process tests never appear on the developer's desktop as a media
    player: no session bus unless a test brings its own."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def env(tmp_path: Path, shared_cache_dir: Path) -> Environment:
    return Environment(
        stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
        config_dir=tmp_path / "config", cache_dir=shared_cache_dir, data_dir=tmp_path / "data",
        stdin_isatty=False, stderr_isatty=False, language="en",   # whatever this machine's locale
    )


@pytest.fixture
def run(env: Environment):
    """Run the CLI in-process with fresh streams; return code, stdout, stderr."""
    def _run(*args: str) -> Run:
        return run_in(env, *args)
    return _run


@pytest.fixture
def proc_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a child ``python -m voicecoach``, its folders in ``tmp_path``."""
    return private_env(tmp_path)


# ------------------------------------------------------------ a fake audio device

class FakeStream:
    """One open output stream of :class:`FakeAudio`; :meth:`pump` is PortAudio asking for blocks."""

    def __init__(self, backend, callback, finished, channels):
        self.backend, self.callback, self.finished = backend, callback, finished
        self.channels = channels
        self.active = True
        self.latency = 0.01
        self.closed = False

    def pump(self, n):
        b = self.backend
        # A real device's clock runs on while the player's render thread works; this
        # one runs only when the test's does, so each block waits for the ring to fill.
        ahead = getattr(getattr(self.callback, "__self__", None), "ahead", None)
        for _ in range(n):
            if not self.active:
                return
            if ahead is not None:
                ahead.settle()
            out = np.full((b.block, self.channels), np.nan, np.float32)   # garbage in, must be overwritten
            status = FakeAudio.UNDERFLOW if b.underflow_every and \
                len(b.blocks) % b.underflow_every == 1 else FakeAudio.OK
            try:
                self.callback(out, b.block, None, status)
            except Exception as exc:            # CallbackStop
                self.active = False
                b.stops.append(type(exc).__name__)
            assert not np.isnan(out).any()
            b.blocks.append(out.copy())
            if b.lose_after is not None and len(b.blocks) == b.lose_after:
                self.active = False
                self.finished()
                return

    def abort(self):
        self.active = False

    def stop(self):
        """Drain: what PortAudio does after CallbackStop, then inactive."""
        self.active = False
        self.stopped = True

    def close(self):
        self.closed = True


class FakeAudio:
    """A recording audio backend with its own clock: every ``sleep`` of the
    player lets the device take ``per_sleep`` blocks from the callback.

    ``lose_after`` blocks the device goes away; ``refuse`` reopenings fail
    after that; every ``underflow_every`` blocks the status reports an
    underflow; after ``interrupt_after`` blocks a sleep raises
    KeyboardInterrupt (Ctrl-C reaches the main thread while it waits).
    """

    OK = types.SimpleNamespace(output_underflow=False)
    UNDERFLOW = types.SimpleNamespace(output_underflow=True)

    def __init__(self, lose_after=None, refuse=0, underflow_every=0, per_sleep=8, block=512,
                 interrupt_after=None, devices=None):
        self.blocks, self.stops, self.streams, self.opened = [], [], [], []
        self.lose_after, self.refuse, self.underflow_every = lose_after, refuse, underflow_every
        self.per_sleep, self.block, self.interrupt_after = per_sleep, block, interrupt_after
        self.refreshes = 0
        self.now = 0.0
        self._devices = devices if devices is not None else [
            Device(0, "Fake speakers", "Fake API", 2, 48000.0, True),
            Device(3, "Fake headphones", "Fake API", 2, 48000.0, False),
        ]

    # the Backend seam
    def open(self, *, samplerate, channels, device, latency, callback, finished):
        self.opened.append((samplerate, channels, device, latency))
        if len(self.streams) and self.refuse > 0:
            self.refuse -= 1
            raise AudioDeviceError("no device")
        stream = FakeStream(self, callback, finished, channels)
        self.streams.append(stream)
        if len(self.streams) > 1:
            self.lose_after = None
        return stream

    def refresh(self):
        self.refreshes += 1

    def devices(self):
        return list(self._devices)

    # the clock the player waits on
    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        if self.streams:
            self.streams[-1].pump(self.per_sleep)
        if self.interrupt_after is not None and len(self.blocks) >= self.interrupt_after:
            self.interrupt_after = None
            raise KeyboardInterrupt

    def heard(self, channel=0):
        """Everything the device took, one channel, in order."""
        if not self.blocks:
            return np.zeros(0, np.float32)
        return np.concatenate(self.blocks)[:, channel]


@pytest.fixture
def fake_audio():
    """The :class:`FakeAudio` class: call it to make a recording backend."""
    return FakeAudio


def pytest_collection_modifyitems(config, items):
    """The long tests first, then the rest, so no long test trails at the
    end. Among the long ones, those that play on a sound server (they wait on
    its clock, not on a core) are spread evenly among the CPU-bound ones, two
    by two as xdist hands tests out: while one worker waits on a clock the
    other mostly keeps a core busy, where all the playing ones together had
    both workers waiting. The order within each kind is kept.
    Only on xdist's workers: a single run (or the mutation tool's) keeps
    the fast tests first."""
    if not hasattr(config, "workerinput"):
        return
    long = [item for item in items if item.get_closest_marker("e2e") or item.get_closest_marker("slow")]
    if not long:
        return
    waiting = [item for item in long if "pulse" in item.fixturenames]
    busy = [item for item in long if "pulse" not in item.fixturenames]
    first, step = [], 2 * max(1, round(len(busy) / max(1, len(waiting))))   # spread evenly
    while waiting or busy:
        first += waiting[:2] + busy[:step]
        waiting, busy = waiting[2:], busy[step:]
    chosen = set(map(id, long))
    items[:] = first + [item for item in items if id(item) not in chosen]


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden transcripts of what the coach says "
                          "(scripts/update_goldens); review the diff by eye")


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


def _fake_speech(samplerate: int = 48000, per_char: float = 0.06):
    """Spoken length of a phrase as a fixed function of its text (no engine):
    timelines planned with it do not depend on a voice's exact lengths."""
    def frames(text: str) -> int:
        return max(1, round((0.1 + per_char * len(text)) * samplerate))
    return frames


@pytest.fixture
def speech_len():
    """``speech_len(samplerate=48000, per_char=0.06)`` -> a text -> frames function."""
    return _fake_speech
