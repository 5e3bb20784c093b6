"""Real audio without a sound card: a private PulseAudio server with a null
sink, which PortAudio reaches through ALSA's ``pulse`` device. The fixtures
start and stop their own server and record the sink's monitor with parec."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mpris_bus import SessionBus
from pulse import Pulse

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def pulse(tmp_path):
    if not (shutil.which("pulseaudio") and shutil.which("parec")):
        pytest.skip("PulseAudio is not installed (scripts/setup --test installs it)")
    server = Pulse(tmp_path / "pulse-runtime")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def session_bus():
    """A private session bus (dbus-daemon), as a desktop has."""
    if not (shutil.which("dbus-daemon") and shutil.which("dbus-send")):
        pytest.skip("D-Bus is not installed (scripts/setup --test installs it)")
    bus = SessionBus()
    bus.start()
    yield bus
    bus.stop()


@pytest.fixture(scope="session")
def cue_cache(shared_cache_dir):
    """The run's cue cache (every worker's): a module-scoped export computed
    on both workers synthesises and measures only once."""
    return shared_cache_dir


@pytest.fixture
def vc(pulse, cue_cache):
    """Run the voicecoach CLI as a real process against our server."""
    env = {k: v for k, v in pulse.env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}  # no desktop's bus
    env = {**env, "VOICECOACH_CACHE_DIR": str(cue_cache),
           "VOICECOACH_CONFIG_DIR": str(cue_cache / "config"),
           "VOICECOACH_DATA_DIR": str(pulse.runtime.parent / "data")}

    def run(*args, **kw):
        return subprocess.run([sys.executable, "-m", "voicecoach", *args], env=env,
                              capture_output=True, text=True, timeout=kw.pop("timeout", 180), **kw)
    run.env = env
    return run


SHORT = """
title = "Short test"
exercise = "leg lift"
sets = {sets}
reps = {reps}
rest = 5
tempo = "2-0-1-0"
[cues]
concentric = ["Breathe out and lift", "Lift"]
"""


@pytest.fixture
def short_preset(tmp_path):
    def make(sets=2, reps=2, engine=None):
        path = tmp_path / f"short-{sets}x{reps}-{engine or 'default'}.toml"
        text = SHORT.format(sets=sets, reps=reps)
        if engine is not None:
            text += f'[speech]\nengine = "{engine}"\n'
        path.write_text(text)
        return path
    return make
