"""Shared fixtures: an injected environment so the real CLI runs in-process."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from voicecoach.cli.app import main
from voicecoach.cli.environment import Environment


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    return Environment(
        stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
        config_dir=tmp_path / "config", cache_dir=tmp_path / "cache", data_dir=tmp_path / "data",
        stdin_isatty=False, stderr_isatty=False,
    )


@pytest.fixture
def run(env: Environment):
    """Run the CLI in-process with fresh streams; return code, stdout, stderr."""
    def _run(*args: str) -> Run:
        env.stdout.seek(0), env.stdout.truncate()
        env.stderr.seek(0), env.stderr.truncate()
        code = main(list(args), env=env)
        return Run(code, env.stdout.getvalue(), env.stderr.getvalue())
    return _run


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden transcripts of what the coach says "
                          "(scripts/update_goldens); review the diff by eye")


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")
