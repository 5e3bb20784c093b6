"""The public API: ``from voicecoach import ...`` gives the core functions."""

import subprocess
import sys

import voicecoach


def test_public_names_are_the_core_functions():
    from voicecoach.encode.writer import export
    from voicecoach.plan.preset_files import load_preset
    from voicecoach.plan.schedule import build_timeline
    assert voicecoach.load_preset is load_preset
    assert voicecoach.build_timeline is build_timeline
    from voicecoach.live.playback import play
    assert voicecoach.export is export
    assert voicecoach.play is play
    assert set(voicecoach.__all__) >= {"load_preset", "build_timeline", "prepare", "export", "play"}


def test_build_timeline_from_the_api_is_pure_planning():
    from voicecoach import build_timeline, load_preset
    tl = build_timeline(load_preset("plank"), lambda text: 4800 + 100 * len(text), 48000)
    assert tl.frames > 0 and tl.preset == "plank"


def test_importing_the_package_loads_no_audio_library():
    code = ("import sys, voicecoach; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('numpy', 'soundfile', 'sounddevice')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_unknown_name_is_an_attribute_error():
    try:
        voicecoach.no_such_thing
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
