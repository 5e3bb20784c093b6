"""What planning leaves behind: only the timeline it returns."""

import gc

import pytest

from voicecoach.plan.preset_files import builtin_names, load_preset
from voicecoach.plan.schedule import build_timeline


@pytest.mark.parametrize("name", builtin_names())
def test_planning_leaves_no_reference_cycle(name):
    # The planner holds a request per spoken beat and an event per tick: a
    # cycle through it kept them all until the collector ran, in the middle
    # of the loudness measurement of a long session. Without cycles they go
    # the moment planning returns.
    preset = load_preset(name).with_overrides(sets=2)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        timeline = build_timeline(preset)
        left = gc.collect()
    finally:
        if was_enabled:
            gc.enable()
    assert timeline.events
    assert left == 0
