"""Which engine would speak: a cheap identity string for the cache key, built without starting the
worker or importing pyttsx3 (package metadata and a few stat calls), so a warm cache never starts it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from voicecoach.common.atomic import atomic_path

PROCESSING_VERSION: int = 1
"""Bump whenever trim/resample/normalise change the samples: it is part of the cache key."""


def _default_driver() -> str:
    """The pyttsx3 driver for this OS (mirrors pyttsx3.engine without importing it)."""
    return {"darwin": "nsss", "win32": "sapi5"}.get(sys.platform, "espeak")


def _espeak_library() -> str:
    """File name of the espeak library pyttsx3 will load, symlinks resolved.

    On Debian that is ``libespeak-ng.so.1.1.51``: the version is in the name, so an espeak-ng upgrade changes
    the cache key. Found by looking in the loader's usual directories instead of asking ``ldconfig`` (a
    subprocess).
    """
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d]
    dirs += [f"/usr/lib/{multiarch}", f"/lib/{multiarch}", "/usr/lib64", "/usr/lib", "/usr/local/lib"]
    for name in ("libespeak-ng.so.1", "libespeak.so.1"):
        for d in dirs:
            candidate = os.path.join(d, name)
            if os.path.exists(candidate):
                return os.path.basename(os.path.realpath(candidate))
    import ctypes.util  # only on the slow path

    found = ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak")
    return found or "no-espeak-library"


def dist_infos() -> Iterator[tuple[Path, str]]:
    """Each ``*.dist-info`` folder on ``sys.path`` (its parent, its name), from
    directory listings: importlib.metadata would parse every METADATA file
    with the email package, a cost every start would pay."""
    for entry in dict.fromkeys(sys.path):
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        yield from ((Path(entry or "."), name) for name in names if name.endswith(".dist-info"))


def _installed_version(name: str) -> str:
    """A distribution's version from its ``NAME-VERSION.dist-info`` folder name."""
    for _, folder in dist_infos():
        if folder.startswith(f"{name}-"):
            return folder[len(name) + 1 : -len(".dist-info")]
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


@functools.lru_cache(maxsize=1)
def engine_identity() -> str:
    """Which engine would speak, e.g. ``pyttsx3 2.99 / espeak libespeak-ng.so.1.1.51``.

    Cheap (no worker, no pyttsx3 import, a few stat calls) so a warm cache can build its keys without starting
    the engine. A new pyttsx3, a new espeak-ng or a new OS release changes it, and with it every cache key.
    """
    driver = _default_driver()
    if driver == "espeak":
        backend = _espeak_library()
    elif driver == "nsss":
        backend = f"macOS {platform.mac_ver()[0]}"
    else:
        backend = f"Windows {platform.version()}"
    return f"pyttsx3 {_installed_version('pyttsx3')} / {driver} {backend}"


HASH_MEMO = "model-hashes.json"
"""In the cue cache folder: each model file's sha256 by path, size and mtime (a warm start reads no model)."""


def file_sha256(path: Path, memo_dir: Path | None = None) -> str:
    """sha256 (hex) of a file, remembered in ``memo_dir`` while its size and mtime stay."""
    import hashlib
    import json

    real = os.path.realpath(path)
    st = os.stat(real)
    stamp = [st.st_size, st.st_mtime_ns]
    memo_path = Path(memo_dir) / HASH_MEMO if memo_dir is not None else None
    memo: dict = {}
    if memo_path is not None:
        with contextlib.suppress(OSError, ValueError):
            memo = json.loads(memo_path.read_text(encoding="utf-8"))
        memo = memo if isinstance(memo, dict) else {}
        entry = memo.get(real)
        if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
            return entry["sha256"]
    with open(real, "rb") as f:
        value = hashlib.file_digest(f, "sha256").hexdigest()
    if memo_path is not None:
        memo[real] = {"stamp": stamp, "sha256": value}
        with contextlib.suppress(OSError):  # the memo only saves time
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(memo_path, mode=0o600) as tmp:
                tmp.write_text(json.dumps(memo), encoding="utf-8")
    return value


def speech_identity(kind, settings, voice_dir: Path | None = None, memo_dir: Path | None = None) -> str:
    """Which engine, version, model and synthesis settings would speak: the cache key's engine part.

    pyttsx3: :func:`engine_identity`. Piper: the package versions, the voice's model and config hashes and the
    fixed synthesis settings (no noise, one thread, the pause between sentences), so a new model or setting
    never reuses an old cue.
    """
    from voicecoach.cues.settings import EngineKind

    if kind is not EngineKind.PIPER:
        return engine_identity()
    from voicecoach.cues.piper_backend import SENTENCE_GAP_S
    from voicecoach.cues.piper_voices import choose_piper_voice

    voice = choose_piper_voice(settings.voice, voice_dir)
    model, config = (
        _voice_file_hash(path, i, voice.recorded, memo_dir) for i, path in enumerate((voice.model, voice.config))
    )
    return (
        f"piper-tts {_installed_version('piper_tts')} / onnxruntime "
        f"{_installed_version('onnxruntime')} / {voice.voice.id} model {model[:32]} "
        f"config {config[:32]} / noise 0, 1 thread, no graph optimisation, "
        f"sentence gap {SENTENCE_GAP_S:g} s"
    )


def _voice_file_hash(path: Path, index: int, recorded: tuple[tuple[str, int], ...], memo_dir: Path | None) -> str:
    """A packaged voice file's sha256 from its RECORD while the size still agrees (pip checked it at install;
    reading the model would slow every cold start), else hashed (and remembered)."""
    if recorded:
        digest, size = recorded[index]
        with contextlib.suppress(OSError):
            if os.path.getsize(path) == size:
                return digest
    return file_sha256(path, memo_dir)
