"""What the exporter's render loop keeps: the music under the mix, only for a music stem."""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.encode.streaming import MixSource


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
