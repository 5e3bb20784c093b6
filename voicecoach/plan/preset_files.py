"""Where presets come from: a ``.toml`` path, the user's folder
(``config_dir/presets``, shadowing built-ins) or the built-ins shipped in the
package; the model in :mod:`voicecoach.plan.preset` knows nothing of places."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from voicecoach.common.files import UnusableFile, read_capped
from voicecoach.errors import PresetError
from voicecoach.plan.preset import Preset, parse_preset

DEFAULT_PRESET = "leg-lifts"  # played when no preset is named
MAX_PRESET_BYTES = 1024 * 1024
"""A preset is a page of text; anything bigger is not one (and is not read)."""


def _builtin_dir():
    return resources.files("voicecoach.audio_cues.presets")


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".toml"))


def user_names(config_dir: Path | None) -> list[str]:
    folder = user_preset_dir(config_dir)
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.toml"))


def user_preset_dir(config_dir: Path | None) -> Path | None:
    return None if config_dir is None else Path(config_dir) / "presets"


def load_file(path: Path) -> Preset:
    """Load a preset file; a missing or unreadable file is a :class:`PresetError`."""
    path = Path(path)
    try:
        raw = read_capped(path, MAX_PRESET_BYTES)      # a FIFO or /dev/zero can not hang us
    except UnusableFile as exc:
        raise PresetError(str(path), None, exc.problem) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PresetError(str(path), None, "is not UTF-8 text") from None
    return parse_preset(text, str(path), name=path.stem, base_dir=path.parent)


def load_preset(spec: str, config_dir: Path | None = None) -> Preset:
    """Resolve ``spec``: a path to a ``.toml`` file, a user preset name (in
    ``config_dir/presets``, shadowing built-ins) or a built-in name."""
    if not isinstance(spec, str):
        raise TypeError(f"preset must be a name or a path string, got {type(spec).__name__}")
    if spec.endswith(".toml") or "/" in spec or "\\" in spec:
        return load_file(Path(spec))
    folder = user_preset_dir(config_dir)
    if folder is not None and (folder / f"{spec}.toml").is_file():
        return load_file(folder / f"{spec}.toml")
    resource = _builtin_dir() / f"{spec}.toml"
    if resource.is_file():
        return parse_preset(resource.read_text("utf-8"), f"built-in preset {spec}", name=spec)
    known = builtin_names() + user_names(config_dir)
    close = difflib.get_close_matches(spec, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known presets: {', '.join(known)}"
    raise PresetError(spec, None, f"no such preset{hint}")
