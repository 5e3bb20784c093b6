"""Making the sound: metronome sounds, the mixer, ducking, levels and music.

numpy, no devices, no files written."""
