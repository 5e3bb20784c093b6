"""The README's examples work as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_full_preset_example_validates(run, tmp_path):
    block = re.search(r"A full example.*?```toml\n(.*?)```", README.read_text(), re.S).group(1)
    path = tmp_path / "my-lifts.toml"
    path.write_text(block)
    result = run("presets", "validate", str(path))
    assert result.code == 0, result.err
    assert result.out.startswith(f"{path}: ok: Straight-leg lifts, 3 sets of 10")
