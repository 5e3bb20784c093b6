"""The short session the ``voicecoach play`` tests play, and their cue cache."""

from __future__ import annotations

import pytest

# Two sets of two reps and a 5 s rest. At 48 kHz: set 1 rep 1 lifts at
# 10.0 s, its reps take 3 s each, the rest runs from 16.0 to 21.0 s, set 2
# lifts at 21.0 s and 24.0 s, the session ends at 31.0 s (checked in
# test_play.py). The voice is espeak's, whatever else is installed.
SHORT = """
title = "Short test"
exercise = "leg lift"
sets = 2
reps = 2
rest = 5
tempo = "2-0-1-0"
[speech]
engine = "pyttsx3"
"""


@pytest.fixture(scope="module")
def cue_cache(shared_cache_dir):
    """The run's cue cache, which the played sessions share with the rest."""
    return shared_cache_dir


@pytest.fixture
def short(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(SHORT)
    return path
