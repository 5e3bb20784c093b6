"""Assets that ship with voicecoach: phrase book, built-in presets, sounds."""
