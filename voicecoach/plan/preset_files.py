"""Where presets come from: a ``.toml`` path, the user's folder
(``config_dir/presets``, shadowing built-ins) or the built-ins shipped in the
package; the model in :mod:`voicecoach.plan.preset` knows nothing of places."""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from importlib import resources
from pathlib import Path

from voicecoach.common.files import UnusableFile, read_capped
from voicecoach.errors import PresetError
from voicecoach.plan.phrases import PhraseBook
from voicecoach.plan.preset import Preset, dump_preset, parse_preset, preset_from_dict

DEFAULT_PRESET = "leg-lifts"  # played when no preset is named
MAX_PRESET_BYTES = 1024 * 1024
"""A preset is a page of text; anything bigger is not one (and is not read)."""
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _builtin_dir():
    return resources.files("voicecoach.audio_cues.presets")


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".toml"))


def user_names(config_dir: Path | None) -> list[str]:
    return [] if config_dir is None else sorted(p.stem for p in user_preset_dir(config_dir).glob("*.toml"))


def user_preset_dir(config_dir: Path) -> Path:
    return Path(config_dir) / "presets"


def load_file(path: Path) -> Preset:
    """Load a preset file; a missing or unreadable file is a :class:`PresetError`."""
    path = Path(path)
    try:
        raw = read_capped(path, MAX_PRESET_BYTES)  # a FIFO or /dev/zero can not hang us
    except UnusableFile as exc:
        raise PresetError(str(path), None, exc.problem) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PresetError(str(path), None, "is not UTF-8 text") from None
    return parse_preset(text, str(path), name=path.stem, base_dir=path.parent)


def load_preset(spec: str, config_dir: Path | None = None, phrases: PhraseBook | None = None) -> Preset:
    """Resolve ``spec``: a path to a ``.toml`` file, a user preset name (in
    ``config_dir/presets``, shadowing built-ins) or a built-in name. A
    built-in speaks the language of ``phrases`` when the book translates it;
    the user's own presets say their own words."""
    if not isinstance(spec, str):
        raise TypeError(f"preset must be a name or a path string, got {type(spec).__name__}")
    if spec.endswith(".toml") or "/" in spec or "\\" in spec:
        return load_file(Path(spec))
    mine = None if config_dir is None else user_preset_dir(config_dir) / f"{spec}.toml"
    if mine is not None and mine.is_file():
        # Known by the name it was found by: a copy keeps its original's name key,
        # and the timeline and the training log must not call it the original.
        return dataclasses.replace(load_file(mine), name=spec)
    resource = _builtin_dir() / f"{spec}.toml"
    if resource.is_file():
        data = tomllib.loads(resource.read_text("utf-8"))
        words = {} if phrases is None else phrases.entries.get("presets", {}).get(spec, {})
        return preset_from_dict(translated(data, words), f"built-in preset {spec}", name=spec)
    known = builtin_names() + user_names(config_dir)
    close = difflib.get_close_matches(spec, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known presets: {', '.join(known)}"
    raise PresetError(spec, None, f"no such preset{hint}")


def translated(data: dict, words: dict) -> dict:
    """A preset's TOML with a phrase book's words for it: title, description,
    side names and cues replaced, warm-up steps said in order."""
    out = {**data, **{k: words[k] for k in ("title", "description", "side_names") if k in words}}
    out["cues"] = {**data.get("cues", {}), **words.get("cues", {})}
    says = list(words.get("warmup", ()))
    out["warmup"] = [
        {**step, "say": says[i]} if i < len(says) else step for i, step in enumerate(data.get("warmup", []))
    ]
    return out


def save_user_preset(name: str, preset: Preset, config_dir: Path) -> Path:
    """Write ``preset`` into the user's folder as ``name`` (its name key too),
    making the folder; an existing preset of that name is never replaced."""
    if not _USER_NAME.fullmatch(name) or name.endswith(".toml") or name == "next":
        problem = "a preset name is letters, digits, '-', '_' and '.', without a folder or '.toml', and not 'next'"
        raise PresetError(name, None, problem)
    path = user_preset_dir(config_dir) / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump_preset(dataclasses.replace(preset, name=name))
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise PresetError(str(path), None, "already exists; edit it, or choose another name") from None
    return path
