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


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory) -> Path:
    """One cue cache for the whole run: speech is deterministic, so a cue
    synthesised by one test is exactly what another would synthesise."""
    return tmp_path_factory.mktemp("shared-cache")


@pytest.fixture
def env(tmp_path: Path, shared_cache_dir: Path) -> Environment:
    return Environment(
        stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
        config_dir=tmp_path / "config", cache_dir=shared_cache_dir, data_dir=tmp_path / "data",
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
