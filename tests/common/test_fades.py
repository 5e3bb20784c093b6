import numpy as np
import pytest

from voicecoach.common.fades import fade_in, fade_out


def test_fade_in_starts_silent_and_rises_toward_one():
    g = fade_in(4)
    assert g.dtype == np.float64 and g.shape == (4,)
    np.testing.assert_allclose(g, [0.0, 0.5 - 0.5 * np.sqrt(0.5), 0.5, 0.5 + 0.5 * np.sqrt(0.5)])
    assert g[0] == 0.0


def test_fade_in_cut_short_keeps_the_shape_of_the_whole_fade():
    assert np.array_equal(fade_in(3, over=8), fade_in(8)[:3])
    with pytest.raises(ValueError, match="at least frames"):
        fade_in(5, over=4)


def test_fade_out_falls_to_silence():
    np.testing.assert_allclose(fade_out(2), [0.5, 0.0], atol=1e-16)
    assert fade_out(3)[-1] == 0.0 and np.all(np.diff(fade_out(3)) < 0)
    assert fade_out(0).shape == (0,) and fade_in(0).shape == (0,)


def test_fade_lengths_are_checked():
    with pytest.raises(TypeError, match="int"):
        fade_in(2.0)
    with pytest.raises(ValueError, match=">= 0"):
        fade_out(-1)
