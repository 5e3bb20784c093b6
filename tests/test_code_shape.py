"""The shape the code keeps: functions a reader holds in mind at once."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "voicecoach"
LONGEST = 80


def _too_long(source: str, name: str) -> list[str]:
    return [
        f"{name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > LONGEST
    ]


def test_no_function_is_longer_than_a_reader_holds_in_mind():
    long = [line for path in sorted(PACKAGE.rglob("*.py")) for line in _too_long(path.read_text(), str(path))]
    assert not long, "\n".join(long)


def test_the_check_finds_a_function_one_line_too_long_and_inside_a_class():
    body = "\n".join(f"        x{i} = {i}" for i in range(LONGEST - 1))
    assert _too_long(f"class C:\n    def f(self):\n{body}\n", "m") == []
    body += "\n        y = 0"
    assert _too_long(f"class C:\n    def f(self):\n{body}\n", "m") == ["m:2 f (81 lines)"]
