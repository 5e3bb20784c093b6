"""Shared by the planning tests: a deterministic speech-length function."""

import pytest

SR = 48000


def _fake_speech(samplerate: int = SR, per_char: float = 0.06):
    """Spoken length of a phrase as a fixed function of its text (no engine):
    timelines planned with it do not depend on a voice's exact lengths."""
    def frames(text: str) -> int:
        return max(1, round((0.1 + per_char * len(text)) * samplerate))
    return frames


@pytest.fixture
def speech_len():
    """``speech_len(samplerate=48000, per_char=0.06)`` -> a text -> frames function."""
    return _fake_speech
