"""Alternative metronome sounds (WAV, 48 kHz, 16-bit mono), built by scripts/make_sounds.py."""
