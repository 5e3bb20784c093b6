"""``python -m voicecoach``."""

from voicecoach.cli.app import main

raise SystemExit(main())
