"""Typed errors; the CLI alone turns them into one line and an exit code.

Bad input (a preset, an option, a file the user named) is an
:class:`InputError` and exits 2; a failure of the machine or its software
(no audio device, no speech engine, a full disk) is a :class:`RuntimeFailure`
and exits 1. Both derive from :class:`VoicecoachError`, the package's one base.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """The process exit statuses the CLI promises (signals: 128 + the signal number)."""

    OK = 0
    FAILURE = 1
    BAD_INPUT = 2
    HANGUP = 129
    INTERRUPTED = 130
    TERMINATED = 143


class VoicecoachError(Exception):
    """Base of every error voicecoach raises on purpose."""

    exit_code = ExitStatus.FAILURE


class InputError(VoicecoachError, ValueError):
    """Something the user gave us is wrong: exit code 2."""

    exit_code = ExitStatus.BAD_INPUT


class PresetError(InputError):
    """A preset file or value is invalid.

    The message names the source, the key and the offending value; a
    command-line option is its own source (``source`` empty, ``key`` the option).
    """

    def __init__(self, source: str, key: str | None, problem: str):
        self.source = source
        self.key = key
        self.problem = problem
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {problem}")


class TempoError(InputError):
    """A tempo string does not parse or describes an impossible rep."""


class RuntimeFailure(VoicecoachError):
    """The machine cannot do what was asked: exit code 1."""

    exit_code = ExitStatus.FAILURE


class SpeechEngineError(RuntimeFailure):
    """The text-to-speech engine is missing, broken or stuck."""


class AudioDeviceError(RuntimeFailure):
    """No usable audio output device, or it went away."""


class ExportError(RuntimeFailure):
    """An audio file could not be written (disk full, unwritable path, encoder)."""
