import json

import pytest

from voicecoach.plan.kinds import REP_KINDS, EventKind, SegmentKind
from voicecoach.plan.labels import LabelStyle, segment_label


def test_kinds_serialise_as_their_plain_values():
    assert json.dumps([SegmentKind.GET_READY, EventKind.SPEECH]) == '["get_ready", "speech"]'
    assert REP_KINDS == {"concentric", "top", "eccentric", "bottom", "hold"}


@pytest.mark.parametrize("kind, status, table, chapter", [
    ("intro", "intro", "intro", "Intro"),
    ("warmup", "warm-up", "warmup", "Warm-up"),
    ("get_ready", "get ready", "get ready", "Get ready"),
    ("concentric", "lift", "lift", "Lift"),
    ("eccentric", "lower", "lower", "Lower"),
    ("top", "pause", "pause top", "Pause top"),
    ("bottom", "pause", "pause bottom", "Pause bottom"),
    ("hold", "hold", "hold", "Hold"),
    ("rest", "rest", "rest", "Rest"),
    ("outro", "outro", "outro", "Outro"),
])
def test_one_label_per_kind_and_place(kind, status, table, chapter):
    assert segment_label(SegmentKind(kind), LabelStyle.STATUS) == status
    assert segment_label(kind, LabelStyle.TABLE) == table
    assert segment_label(kind, LabelStyle.CHAPTER) == chapter


def test_label_rejects_what_is_not_a_kind():
    with pytest.raises(ValueError, match="sideways"):
        segment_label("sideways", LabelStyle.TABLE)
    with pytest.raises(TypeError, match="int"):
        segment_label(3, LabelStyle.TABLE)
    with pytest.raises(ValueError, match="label style"):
        segment_label(SegmentKind.REST, "poster")
