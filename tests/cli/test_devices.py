"""``voicecoach devices`` and the environment's defaults, through the injected backend."""

import io
from dataclasses import replace

from voicecoach.cli.app import main
from voicecoach.cli.console import KeyReader
from voicecoach.cli.environment import sounddevice_backend, terminal_keys
from voicecoach.live.player import SoundDeviceBackend


def test_devices_are_the_backends_outputs_with_the_default_marked(env, fake_audio):
    audio = fake_audio()
    mine = replace(env, audio_backend=lambda: audio)
    assert main(["devices"], env=mine) == 0
    assert mine.stdout.getvalue().splitlines() == [
        "*   0  Fake speakers  (Fake API, 2 ch, 48000 Hz)",
        "    3  Fake headphones  (Fake API, 2 ch, 48000 Hz)"]
    assert audio.opened == []                        # listing opens nothing


def test_no_device_is_exit_1_and_quiet_says_nothing(env, fake_audio):
    for args, said in ((["devices"], "voicecoach: error: no audio output device found; "
                                     "try 'voicecoach export'\n"),
                       (["devices", "--quiet"], "")):       # as its help says: print nothing
        mine = replace(env, audio_backend=lambda: fake_audio(devices=[]),
                       stdout=io.StringIO(), stderr=io.StringIO())
        assert main(args, env=mine) == 1
        assert mine.stderr.getvalue() == said and mine.stdout.getvalue() == ""


def test_quiet_prints_nothing_when_there_is_a_device(env, fake_audio):
    mine = replace(env, audio_backend=lambda: fake_audio())
    assert main(["devices", "--quiet"], env=mine) == 0
    assert mine.stdout.getvalue() == "" and mine.stderr.getvalue() == ""


def test_the_defaults_are_the_real_device_and_the_terminal():
    assert isinstance(sounddevice_backend(), SoundDeviceBackend)      # constructing opens nothing
    stream = io.StringIO()
    reader = terminal_keys(stream, False)
    assert isinstance(reader, KeyReader) and reader.stream is stream and not reader.enabled


def test_quiet_says_nothing_even_when_the_device_list_fails(env):
    from voicecoach.errors import AudioDeviceError

    class Broken:
        def devices(self):
            raise AudioDeviceError("cannot list audio devices: Error querying device -1")
    for args, code in ((["devices", "--quiet"], 1), (["devices"], 1)):
        mine = replace(env, audio_backend=Broken, stdout=io.StringIO(), stderr=io.StringIO())
        assert main(args, env=mine) == code
        assert (mine.stderr.getvalue() == "") == ("--quiet" in args)
