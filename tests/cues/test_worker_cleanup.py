"""The worker's ``voicecoach-tts-*`` folder goes away on every exit path:
the parent closing, timing out, or dying by SIGTERM, SIGHUP or SIGKILL
(idle, or while the worker is stuck in a synthesis). Real processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from running import hangup_by_default

from voicecoach.cues import engine as engine_module
from voicecoach.cues import piper_voices
from voicecoach.cues.engine import SpeechEngine
from voicecoach.cues.settings import EngineKind, SpeechSettings
from voicecoach.errors import SpeechEngineError

HAS_PIPER = piper_voices.piper_installed() and bool(piper_voices.find_piper_voices())

PARENT = textwrap.dedent("""
    import sys
    from voicecoach.cues.engine import SpeechEngine
    from voicecoach.cues.settings import EngineKind, SpeechSettings
    if __name__ == "__main__":
        kind, busy = EngineKind(sys.argv[1]), sys.argv[2] == "busy"
        eng = SpeechEngine(kind, timeout=600)
        eng.synthesize("One", SpeechSettings(engine=kind))
        worker = eng._res.worker
        print(worker.directory, worker.process.pid, flush=True)
        if busy:   # a write that can never finish: espeak hangs inside the synthesis
            eng._synthesize_to("Two", {"voice": None, "rate": None}, "/nonexistent-vc/x.wav")
        else:
            import time
            time.sleep(600)
""")


def _gone(path: str, pid: int, within: float = 60.0) -> bool:
    """Poll (no timing assertion: a busy machine may take a while)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        if not alive and not os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


CASES = [(EngineKind.PYTTSX3, "idle"), (EngineKind.PYTTSX3, "busy")]
if HAS_PIPER:
    CASES.append((EngineKind.PIPER, "idle"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name)
@pytest.mark.parametrize("kind, state", CASES, ids=lambda x: str(x))
def test_parent_killed_by_a_signal_leaves_no_temp_folder(kind, state, sig, tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    proc = subprocess.Popen([sys.executable, str(script), str(kind), state],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=hangup_by_default)
    try:
        line = proc.stdout.readline().split()
        assert line, proc.stderr.read()
        directory, worker_pid = line[0], int(line[1])
        assert os.path.basename(directory).startswith("voicecoach-tts-")
        assert os.path.isdir(directory)
        if state == "busy":
            time.sleep(0.5)            # let the hopeless write start (the test holds either way)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert _gone(directory, worker_pid), (directory, os.listdir(directory))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_close_and_garbage_collection_remove_the_folder():
    eng = SpeechEngine(EngineKind.PYTTSX3)
    eng.synthesize("One", SpeechSettings())
    directory = eng._res.worker.directory
    eng.close()
    assert not os.path.exists(directory)
    eng = SpeechEngine(EngineKind.PYTTSX3)
    eng.synthesize("One", SpeechSettings())
    directory = eng._res.worker.directory
    del eng
    import gc
    gc.collect()
    assert not os.path.exists(directory)


@pytest.mark.skipif(not HAS_PIPER, reason="the neural group is not installed")
def test_a_worker_killed_for_a_timeout_leaves_no_folder(monkeypatch):
    # The parent's own timeout (Piper cannot be interrupted inside onnxruntime):
    # the first request loads the model, far longer than 10 ms.
    monkeypatch.setattr(engine_module, "REPLY_MARGIN_S", 0.0)
    with SpeechEngine(EngineKind.PIPER, timeout=0.01) as eng:
        eng._request(("voices", 1.0), "starting")
        directory = eng._res.worker.directory
        with pytest.raises(SpeechEngineError, match="did not answer within"):
            eng.synthesize("Breathe out and lift, and lower it slowly", SpeechSettings(engine=EngineKind.PIPER))
        assert eng._res.worker is None
        assert not os.path.exists(directory)


LAUNCHER = Path(sys.executable).with_name("voicecoach")


@pytest.mark.parametrize("when", ["synthesising", 0.3, 0.6], ids=str)
@pytest.mark.parametrize("engine", ["pyttsx3"] + (["piper"] if HAS_PIPER else []))
def test_ctrl_c_during_cold_synthesis_exits_130_and_leaves_nothing(engine, when, tmp_path):
    temp = tmp_path / "tmp"          # the workers' folders land here (TMPDIR), ours alone
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "VOICECOACH_CACHE_DIR": str(tmp_path / "cache"),
           "VOICECOACH_DATA_DIR": str(tmp_path / "data")}
    # the launcher a user starts: a press while Python itself is still starting (a
    # busy machine makes that the first few tenths of a second) waits for main
    proc = subprocess.Popen([LAUNCHER, "timeline", "--engine", engine],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if when == "synthesising":
        deadline = time.monotonic() + 60
        while not list(temp.glob("voicecoach-tts-*")):      # a worker is up: synthesis under way
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.02)
    else:                  # wherever it is by then: imports, planning, workers starting...
        time.sleep(when)
    proc.send_signal(signal.SIGINT)
    code, err = proc.wait(timeout=60), proc.stderr.read()
    assert code == 130 and "voicecoach: interrupted" in err, (code, err)
    deadline = time.monotonic() + 30
    while list(temp.glob("voicecoach-tts-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(temp.glob("voicecoach-tts-*")) == []
