"""Which speech engine a session asks for: part of the preset (``[speech] engine``), so it lives with the plan."""

from __future__ import annotations

from enum import StrEnum


class EngineKind(StrEnum):
    """A preset's ``[speech] engine`` and ``--engine``."""

    AUTO = "auto"          # piper when a neural voice is installed, else pyttsx3
    PIPER = "piper"        # neural (optional dependency group ``neural``)
    PYTTSX3 = "pyttsx3"    # espeak-ng on Linux, SAPI5 / NSSS elsewhere; always there
