"""The writes of a WAV export done behind the render (``_WriteBehind``)."""

from __future__ import annotations

import errno
import threading

import numpy as np
import pytest

from voicecoach.encode.streaming import MixSource, _WriteBehind, _WriteNow


class Recorder:
    """A writer that records ``(frame, samples)`` and can be held or made to fail."""

    def __init__(self, fail_at: int | None = None):
        self.written: list[tuple[int, list[int]]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.fail_at = fail_at

    def write_at(self, frame: int, piece: np.ndarray) -> None:
        self.hold.wait()
        if frame == self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.written.append((frame, piece[:, 0].tolist()))


def test_writes_land_in_order_with_the_samples_of_the_moment_they_were_put():
    f, w = Recorder(), _WriteBehind(2)
    buffers = [np.zeros((4, 1), np.int16) for _ in range(2)]
    for turn, frame in enumerate((0, 4, 8, 12)):
        slot = turn % 2
        w.take(slot)
        buffers[slot][:, 0] = np.arange(frame, frame + 4)
        w.put(slot, f, [(frame, buffers[slot][:2]), (frame + 2, buffers[slot][2:])])
    w.close()
    w.check()
    assert f.written == [(k, [k, k + 1]) for k in range(0, 16, 2)]


def test_a_buffer_is_not_handed_back_until_its_writes_are_done():
    f, w = Recorder(), _WriteBehind(2)
    f.hold.clear()                                   # the disk is slow
    w.take(0)
    w.put(0, f, [(0, np.zeros((3, 1), np.int16))])
    taken = threading.Event()
    t = threading.Thread(target=lambda: (w.take(0), taken.set()))
    t.start()
    assert not taken.wait(0.2)                       # slot 0 still being written
    w.take(1)                                        # the other one is free
    f.hold.set()
    assert taken.wait(10)
    t.join()
    w.close()
    assert f.written == [(0, [0, 0, 0])]


def test_a_write_error_is_raised_in_the_callers_thread_and_stops_the_writing():
    f, w = Recorder(fail_at=4), _WriteBehind(2)
    data = np.ones((4, 1), np.int16)
    w.take(0)
    w.put(0, f, [(0, data)])
    w.take(1)
    w.put(1, f, [(4, data), (8, data)])              # fails at frame 4: frame 8 is not written
    with pytest.raises(OSError) as info:
        w.take(1)
    assert info.value.errno == errno.ENOSPC
    w.put(0, f, [(12, data)])                        # after the error: skipped
    w.close()
    with pytest.raises(OSError):
        w.check()
    assert [frame for frame, _ in f.written] == [0]


def test_writing_now_is_in_order_at_once():
    f, w = Recorder(), _WriteNow()
    w.take(0)
    w.put(0, f, [(0, np.full((2, 1), 7, np.int16))])
    assert f.written == [(0, [7, 7])]
    w.close()
    w.check()


class _Steady:
    """A fake of the mixer: 0.25 on every frame of a 10-frame session, silence after."""

    frames, channels = 10, 1

    def render(self, view: np.ndarray, start: int, bus=None) -> None:
        view[:] = 0.0
        view[:max(0, self.frames - start)] = 0.25


class _Bed:
    """A fake of the music bed: adds 0.5 and returns what it added."""

    def add(self, view: np.ndarray, start: int) -> np.ndarray:
        music = np.full_like(view, 0.5)
        view += music
        return music


@pytest.mark.parametrize("keep", [True, False])
def test_the_music_under_the_mix_is_kept_only_for_a_music_stem(keep):
    source = MixSource(_Steady(), _Bed(), keep_music=keep)
    for _ in range(3):
        view = np.zeros((4, 1), np.float32)
        source.pull(view)
    assert view[:2, 0].tolist() == [0.75, 0.75] and view[2:, 0].tolist() == [0.0, 0.0]
    kept = source.music_at(0, 12)
    # with a music stem, each frame's music until the stem takes it; without,
    # none at all (a whole session's music would pile up in memory)
    assert kept[:, 0].tolist() == ([0.5] * 10 if keep else [])
