"""``python -m voicecoach``."""

from voicecoach.cli.app import run

run()
