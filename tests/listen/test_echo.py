"""The log of what was played: how much of an utterance the coach was heard in."""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.listen.echo import KEEP, PlayedLog


def test_the_share_of_an_utterance_the_coach_was_heard_in():
    log = PlayedLog(1000)
    loud, quiet = np.full((100, 2), 0.1, np.float32), np.zeros((100, 2), np.float32)
    for i in range(10):  # 0.1 s blocks from t = 5: loud, quiet, loud, ...
        log.played(loud if i % 2 == 0 else quiet, 5.0 + i / 10)
    assert abs(log.sounding(5.0, 6.0) - 0.5) < 1e-9
    assert abs(log.sounding(5.0, 5.1) - 1.0) < 1e-9
    assert abs(log.sounding(5.1, 5.2)) < 1e-9
    assert log.sounding(7.0, 8.0) == 0.0 and log.sounding(6.0, 6.0) == 0.0


def test_only_the_latest_blocks_are_kept():
    log = PlayedLog(1000)
    loud = np.full(100, 0.1, np.float32)
    for i in range(KEEP + 5):
        log.played(loud, i / 10)
    assert log.sounding(0.0, 0.5) == 0.0  # forgotten
    assert abs(log.sounding((KEEP - 1) / 10, (KEEP + 4) / 10) - 1.0) < 1e-9


def test_spans_told_with_the_share_they_sounded():
    log = PlayedLog(1000)
    log.heard(10.0, 10.5, 1.0)
    log.heard(10.5, 11.0, 0.5)
    log.heard(11.0, 12.0, 0.0)
    assert abs(log.sounding(10.0, 11.0) - 0.75) < 1e-9
    assert abs(log.sounding(10.25, 10.75) - 0.75) < 1e-9
    assert log.sounding(11.0, 12.0) == 0.0
    with pytest.raises(ValueError, match="share"):
        log.heard(12.0, 12.1, 1.5)
