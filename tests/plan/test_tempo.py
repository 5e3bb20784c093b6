import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicecoach.errors import InputError, TempoError
from voicecoach.plan.tempo import EXPLOSIVE_SECONDS, Tempo, parse_tempo


@pytest.mark.parametrize("text, expected", [
    ("3-1-2-1", (3, 1, 2, 1)),
    ("3/1/2/1", (3, 1, 2, 1)),
    ("3121", (3, 1, 2, 1)),
    ("3.5-0-1-0", (3.5, 0, 1, 0)),
    ("4/0.5/x/0", (4, 0.5, EXPLOSIVE_SECONDS, 0)),
    ("30X0", (3, 0, EXPLOSIVE_SECONDS, 0)),
    (" 2 - 0 - 2 - 0 ", (2, 0, 2, 0)),
])
def test_parse_accepts_every_spelling(text, expected):
    t = parse_tempo(text)
    assert (t.eccentric, t.bottom, t.concentric, t.top) == expected


@pytest.mark.parametrize("text", ["", "3-1-2", "3-1-2-1-0", "3-1/2-1", "31210", "3.5121",
                                  "a-b-c-d", "3--1-2", "-3-1-2-1", "3 1 2 1"])
def test_parse_rejects_malformed(text):
    with pytest.raises(TempoError, match="does not parse"):
        parse_tempo(text)


@pytest.mark.parametrize("text, phase", [("0-1-2-1", "eccentric"), ("3-1-0-1", "concentric"),
                                         ("61-0-1-0", "eccentric")])
def test_impossible_tempo_names_the_phase(text, phase):
    with pytest.raises(TempoError, match=phase):
        parse_tempo(text)


def test_errors_are_typed():
    with pytest.raises(TypeError):
        parse_tempo(3121)
    with pytest.raises(TypeError):
        Tempo("3", 1, 2, 1)
    assert issubclass(TempoError, InputError) and issubclass(TempoError, ValueError)


def test_str_is_canonical_and_round_trips():
    t = parse_tempo("3.5/1/x/0")
    assert str(t) == "3.5-1-1-0"
    assert parse_tempo(str(t)) == t
    assert t.seconds == 3.5 + 1 + EXPLOSIVE_SECONDS


@given(st.lists(st.integers(0, 9), min_size=4, max_size=4).filter(lambda v: v[0] and v[2]))
def test_compact_equals_dashed(v):
    assert parse_tempo("".join(map(str, v))) == parse_tempo("-".join(map(str, v)))


@given(st.text(max_size=20))
def test_parse_never_raises_anything_else(text):
    try:
        parse_tempo(text)
    except TempoError:
        pass
