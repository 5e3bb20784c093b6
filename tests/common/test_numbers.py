import numpy as np
import pytest

from voicecoach.common.numbers import check_count, check_positive_int


def test_counts_take_zero_and_numpy_integers():
    assert check_count(0, "frames") == 0 and check_count(np.int64(7), "frames") == 7
    assert type(check_count(np.int64(7), "frames")) is int
    with pytest.raises(ValueError, match="frames must be >= 0, not -1"):
        check_count(-1, "frames")


def test_positive_ints_refuse_zero():
    assert check_positive_int(3, "samplerate") == 3
    with pytest.raises(ValueError, match="samplerate must be positive, not 0"):
        check_positive_int(0, "samplerate")


@pytest.mark.parametrize("check", [check_count, check_positive_int])
@pytest.mark.parametrize("value", [True, 2.0, "3", None])
def test_anything_but_an_integer_is_a_type_error(check, value):
    with pytest.raises(TypeError, match=f"n must be an int, not {type(value).__name__}"):
        check(value, "n")
