"""voicecoach: a voice and a metronome that guide exercise sessions hands-free."""

__version__ = "0.1.0"
