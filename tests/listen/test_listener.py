"""The Listener's faults, with a fake sounddevice (the real one is in
tests/e2e/test_listener_e2e.py): each is reported once and none is raised."""

from __future__ import annotations

import sys
import threading
import time
import tracemalloc
import types

import numpy as np
import pytest

pytest.importorskip("pocketsphinx", reason="the voice-control extra is not installed (scripts/setup installs it)")

from voicecoach.listen import listener as listener_module  # noqa: E402
from voicecoach.listen.heard import Mode  # noqa: E402
from voicecoach.listen.listener import Listener  # noqa: E402


class FakeStream:
    """Delivers ``blocks`` blocks of silence from its own thread, then stops, as
    PortAudio does when the device goes away."""

    def __init__(self, blocks, *, samplerate, blocksize, callback, **_):
        self.latency, self._n, self._blocksize, self._callback = 0.01, blocks, blocksize, callback

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()

    def abort(self):
        self._n = 0

    def close(self):
        self._n = 0

    def _run(self):
        while self._n > 0:
            self._n -= 1
            self._callback(np.zeros((self._blocksize, 1), np.float32), self._blocksize, None, None)
            time.sleep(0.01)


def fake_sounddevice(monkeypatch, *, devices=None, blocks=10**9):
    def query_devices(device, kind):
        if devices is None:
            raise ValueError("No input device matching 'x'")
        return {"default_samplerate": devices}

    module = types.SimpleNamespace(query_devices=query_devices,
                                   InputStream=lambda **kw: FakeStream(blocks, **kw))  # fmt: skip
    monkeypatch.setitem(sys.modules, "sounddevice", module)


def run(seconds: float, **kw) -> list[str]:
    stopped: list[str] = []
    with Listener(lambda h: None, on_stopped=stopped.append, **kw):
        time.sleep(seconds)
    return stopped


def test_no_microphone_is_said_once(monkeypatch):
    fake_sounddevice(monkeypatch)
    assert run(0.3) == ["no microphone to listen on (No input device matching 'x')"]


def test_a_microphone_that_stops_sending_is_said_once(monkeypatch):
    fake_sounddevice(monkeypatch, devices=44100, blocks=5)
    monkeypatch.setattr(listener_module, "SILENT_FOR", 0.3)
    assert run(1.5) == ["the microphone stopped sending sound"]


def test_a_microphone_at_any_rate_listens_on(monkeypatch):
    for rate in (8000, 22050, 96000):
        fake_sounddevice(monkeypatch, devices=rate)
        assert run(0.5) == []


def test_a_failing_on_stopped_is_not_raised(monkeypatch):
    fake_sounddevice(monkeypatch)

    def boom(reason):
        raise RuntimeError(reason)

    with Listener(lambda h: None, on_stopped=boom):
        time.sleep(0.3)


def test_mode_must_be_a_mode():
    with pytest.raises(TypeError):
        Listener(lambda h: None).set_mode("answer")  # type: ignore[arg-type]
    Listener(lambda h: None).set_mode(Mode.ANSWER)


def test_played_allocates_next_to_nothing():
    listener = Listener(lambda h: None, reference=48000)
    block = np.full((1024, 2), 0.1, np.float32)
    listener.played(block, 0.0)
    tracemalloc.start()
    for i in range(1000):
        listener.played(block, i * 1024 / 48000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4096


def test_a_recogniser_gone_is_said_once(monkeypatch):
    """The decoding process ending (killed, out of memory) ends listening, said once."""
    fake_sounddevice(monkeypatch, devices=16000)
    stopped: list[str] = []
    with Listener(lambda h: None, on_stopped=stopped.append) as listener:
        time.sleep(0.3)
        listener._decoder._process.kill()
        deadline = time.monotonic() + 10
        while not stopped and time.monotonic() < deadline:
            time.sleep(0.05)
    assert stopped == ["the recogniser stopped"]
