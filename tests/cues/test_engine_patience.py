"""A busy machine gives a slow synthesis, not a failure: the engine's timeout
counts only the time its processes had a CPU to run on, while a hung engine
is still ended (real espeak-ng through pyttsx3, real CPU contention)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from voicecoach.cues.engine import SpeechEngine
from voicecoach.cues.settings import SpeechSettings
from voicecoach.errors import SpeechEngineError

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="schedstat: Linux")]

PHRASE = ("Lie on your back, knees bent. Slide a hand under your lower back and press it "
          "down with your abs. Remember that feeling, and keep it for every rep.")


@pytest.fixture
def one_busy_cpu():
    """This process and its children on one CPU shared with eight spinning processes."""
    cpu = min(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(8)]
    try:
        yield
    finally:
        for p in spinners:
            p.kill()
            p.wait()
        os.sched_setaffinity(0, before)


def test_a_starved_engine_is_slow_not_failed(one_busy_cpu):
    with SpeechEngine(timeout=0.2) as eng:
        eng._timeout = 30.0                      # the worker's start is not what is tested
        eng.voices()
        eng._timeout = 0.2
        # a sleeper that wakes is favoured over spinners for a while: a lower share makes the starving sure
        os.setpriority(os.PRIO_PROCESS, eng._res.worker.process.pid, 5)
        t0 = time.monotonic()
        pcm, rate = eng.synthesize(PHRASE, SpeechSettings())
        wall = time.monotonic() - t0
    assert rate == 22050 and len(pcm) > 5 * rate and np.abs(pcm).max() > 0.05
    assert wall > 0.2          # longer than the timeout on the wall clock: it was starved


def test_a_hung_engine_on_a_busy_machine_is_still_ended(one_busy_cpu):
    with SpeechEngine(timeout=1.0) as eng:
        t0 = time.monotonic()
        with pytest.raises(SpeechEngineError, match="did not answer within 1 s"):
            eng._synthesize_to("Two", {"voice": None, "rate": None},
                               "/nonexistent-voicecoach-dir/x.wav")
        assert time.monotonic() - t0 < 60
