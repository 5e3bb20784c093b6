"""PortAudio's C noise on file descriptor 2 stays off the terminal."""

import subprocess
import sys

SCRIPT = r"""
import os, sys
from voicecoach.live.native_noise import NativeNoise
noise = NativeNoise(sys.stderr)
with noise as terminal:
    os.write(2, b"Expression 'r' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 3355\n")
    os.write(2, b"ALSA lib pcm.c:8740:(snd_pcm_recover) underrun occurred\n")
    terminal.write("voicecoach: audio device lost; waiting for it to come back...\n")
    print("a warning from Python", file=sys.stderr)
print("after:", len(noise.noise), file=sys.stderr)
"""


def test_c_library_lines_are_caught_and_ours_pass():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "pa_linux_alsa" not in r.stderr and "ALSA lib" not in r.stderr
    assert "audio device lost" in r.stderr
    assert "a warning from Python" in r.stderr          # not ours, not noise: passed on after
    assert "after: 2" in r.stderr


def test_a_stream_without_a_descriptor_is_left_alone():
    import io

    from voicecoach.live.native_noise import NativeNoise, is_noise
    buf = io.StringIO()
    with NativeNoise(buf) as terminal:
        assert terminal is buf
    assert is_noise("Expression 'x' failed in 'src/hostapi/alsa/pa_linux_alsa.c'")
    assert not is_noise("voicecoach: audio device lost")
