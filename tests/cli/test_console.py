"""The terminal during play: the status text, the line redrawn in place, and
single keys read from a real pseudo-terminal in cbreak mode."""

import io
import os
import termios
import time
from dataclasses import replace

import numpy as np
import pytest

from voicecoach.audio.mixer import Mixer
from voicecoach.audio.sounds import make_sounds
from voicecoach.cli.console import KeyReader, StatusLine, status_text
from voicecoach.live.clips import make_clips
from voicecoach.live.transport import Transport
from voicecoach.plan.preset_files import load_preset
from voicecoach.plan.schedule import build_timeline

SR = 8000
SPOKEN = 800          # every phrase lasts 0.1 s: the plan is then easy to read


def transport(name, **overrides):
    preset = load_preset(name).with_overrides(sets=2, reps=2, **overrides)
    tl = build_timeline(preset, lambda text: SPOKEN, SR)
    tone = np.full(SPOKEN, 0.1, np.float32)
    mixer = Mixer(tl, {text: tone for text in tl.texts()}, make_sounds(SR))
    return Transport(mixer, tl, make_clips(lambda text: tone, make_sounds(SR), SR, sets=2))


def heard_at(t, frame):
    """The transport as if ``frame`` were what is heard now."""
    t.heard = replace(t.heard, position=frame)


def at_each_kind(t):
    """The status text at the first frame of each kind of segment, in order."""
    shown = {}
    for seg in t.timeline.segments:
        if seg.kind not in shown:
            heard_at(t, seg.start)
            shown[seg.kind] = status_text(t)
    return shown


def test_status_text_for_every_kind_of_segment():
    t = transport("leg-lifts")
    assert t.timeline.frames == 144 * SR
    assert at_each_kind(t) == {
        "intro": "intro  2:24.0 left",
        "warmup": "warm-up  2:21.0 left",
        "get_ready": "set 1/2  get ready  1:36.0 left",
        "concentric": "set 1/2  rep 1/2  lift  1:31.0 left",
        "top": "set 1/2  rep 1/2  pause  1:29.0 left",
        "eccentric": "set 1/2  rep 1/2  lower  1:28.0 left",
        "bottom": "set 1/2  rep 1/2  pause  1:25.0 left",
        "rest": "rest  1:17.0 left",                # between sets: no set shown
        "outro": "outro  0:03.0 left",
    }
    heard_at(t, t.timeline.frames)                  # the very end still names the outro
    assert status_text(t) == "outro  0:00.0 left"


def test_status_text_of_a_hold_and_of_sides():
    plank = at_each_kind(transport("plank"))
    assert plank["hold"].startswith("set 1/2  rep 1/2  hold  ")
    dead_bug = at_each_kind(transport("dead-bug"))
    assert dead_bug["eccentric"].startswith("set 1/2  rep 1/2 Left arm, right leg  lower  ")


def test_status_text_says_paused_where_the_phase_was():
    t = transport("leg-lifts")
    t.request("pause")
    t.position = next(s.start for s in t.timeline.segments if s.kind == "eccentric")
    t.render(np.zeros((16, 1), np.float32))
    assert t.state == "paused"
    assert status_text(t) == "set 1/2  rep 1/2  PAUSED  1:31.0 left"   # back to the rep's start


def test_status_line_redraws_in_place_and_clears():
    t = transport("leg-lifts")
    screen = io.StringIO()
    line = StatusLine(screen, enabled=True)
    line.draw(t)
    first = "\r\x1b[Kintro  2:24.0 left" + StatusLine.HELP
    assert screen.getvalue() == first
    line.draw(t)                                      # nothing changed: nothing written
    assert screen.getvalue() == first
    heard_at(t, 24000)
    line.draw(t)
    assert screen.getvalue() == first + "\r\x1b[Kwarm-up  2:21.0 left" + StatusLine.HELP
    line.clear()
    assert screen.getvalue().endswith(StatusLine.HELP + "\r\x1b[K")
    size = len(screen.getvalue())
    line.clear()                                      # already clear
    assert len(screen.getvalue()) == size
    line.draw(t)                                      # drawn again after a clear
    assert screen.getvalue().endswith("\r\x1b[Kwarm-up  2:21.0 left" + StatusLine.HELP)
    assert "\n" not in screen.getvalue()


def test_status_line_writes_nothing_without_a_terminal():
    screen = io.StringIO()
    line = StatusLine(screen, enabled=False)
    line.draw(transport("leg-lifts"))
    line.clear()
    assert screen.getvalue() == ""


@pytest.fixture
def terminal():
    """A pseudo-terminal: the player's side (a file like stdin) and the keyboard's side."""
    keyboard, tty_fd = os.openpty()
    tty = os.fdopen(tty_fd, "rb", buffering=0)
    yield tty, keyboard
    tty.close()
    os.close(keyboard)


def next_key(reader, wait=10.0):
    """Poll until a key arrives (a pty hands bytes over almost at once)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        key = reader.poll()
        if key is not None:
            return key
        time.sleep(0.01)
    return None


def test_keys_are_read_one_by_one_without_enter_and_the_terminal_is_restored(terminal):
    tty, keyboard = terminal
    before = termios.tcgetattr(tty.fileno())
    assert before[3] & termios.ICANON and before[3] & termios.ECHO
    with KeyReader(tty, enabled=True) as reader:
        mode = termios.tcgetattr(tty.fileno())
        assert not mode[3] & termios.ICANON and not mode[3] & termios.ECHO   # cbreak, no echo
        assert reader.poll() is None                                        # nothing pressed: no wait
        os.write(keyboard, b" ")
        assert next_key(reader) == " "
        os.write(keyboard, b"nq")
        assert next_key(reader) == "n" and next_key(reader) == "q"
        assert reader.poll() is None
    assert termios.tcgetattr(tty.fileno()) == before


def test_the_terminal_is_restored_when_play_fails(terminal):
    tty, _ = terminal
    before = termios.tcgetattr(tty.fileno())
    with pytest.raises(KeyboardInterrupt), KeyReader(tty, enabled=True):
        raise KeyboardInterrupt
    assert termios.tcgetattr(tty.fileno()) == before


def test_a_disabled_reader_leaves_the_terminal_alone(terminal):
    tty, keyboard = terminal
    before = termios.tcgetattr(tty.fileno())
    with KeyReader(tty, enabled=False) as reader:
        assert termios.tcgetattr(tty.fileno()) == before
        os.write(keyboard, b"q\n")
        assert reader.poll() is None
    assert termios.tcgetattr(tty.fileno()) == before


def test_status_text_in_the_sessions_language():
    from voicecoach.plan.phrases import phrase_book

    book = phrase_book("de")
    preset = load_preset("single-leg", phrases=book).with_overrides(sets=2, reps=2, language="de")
    tl = build_timeline(preset, lambda text: SPOKEN, SR, book)
    tone = np.full(SPOKEN, 0.1, np.float32)
    mixer = Mixer(tl, {text: tone for text in tl.texts()}, make_sounds(SR))
    t = Transport(mixer, tl, make_clips(lambda text: tone, make_sounds(SR), SR, book, sets=2))
    shown = {}
    for seg in t.timeline.segments:
        if seg.kind not in shown:
            heard_at(t, seg.start)
            shown[seg.kind] = status_text(t, book)
    assert shown["concentric"].startswith("Satz 1/2  Wdh. 1/2 Links  Heben  ")
    assert shown["rest"].startswith("Pause  noch ")
    t.request("pause")
    t.render(np.zeros((16, 1), np.float32))
    assert "PAUSIERT" in status_text(t, book)
