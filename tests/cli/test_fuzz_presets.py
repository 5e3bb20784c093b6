"""Mutated presets never reach an internal error: ``presets validate`` ends
with 0 or with one line and exit 2, whatever a key holds."""

from __future__ import annotations

import io

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.cli.app import main
from voicecoach.cli.environment import Environment

pytestmark = pytest.mark.timeout(300)

BASE = {
    "title": "Mine", "exercise": "lift", "sets": 2, "reps": 3, "rest": 5, "tempo": "1-0-1-0",
    "cues": {"intro": ["Hello"], "concentric": ["Lift"]},
    "warmup": [{"say": "Warm up", "seconds": 5}],
    "mix": {"music": -6},
}
KEYS = ["title", "exercise", "sets", "reps", "rest", "tempo", "hold", "start", "sides",
        "side_names", "count", "speech", "cues", "warmup", "mix", "sounds", "name", "bogus"]

scalars = st.one_of(
    st.integers(min_value=-2**63, max_value=2**63 - 1), st.floats(allow_nan=True),
    st.booleans(), st.text(max_size=40), st.sampled_from(["", "...", "\u200b", "X-X-X-X",
                                                          "0.00001-0-0.00001-0", "9" * 400,
                                                          "woodblock", "/", "3121"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS + ["say", "seconds",
                                                                          "voice", "rate"]),
                                                 inner, max_size=4)), max_leaves=12)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=3),
       drop=st.lists(st.sampled_from(KEYS), max_size=2))
def test_crashes_mutated_presets_end_in_0_or_one_line_exit_2(tmp_path_factory, changes, drop):
    folder = tmp_path_factory.mktemp("fuzz")
    data = {k: v for k, v in {**BASE, **changes}.items() if k not in drop}
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):          # not representable as TOML (nan, mixed arrays)
        return
    path = folder / "mine.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      config_dir=folder / "c", cache_dir=folder / "k", data_dir=folder / "d",
                      stdin_isatty=False, stderr_isatty=False)
    code = main(["presets", "validate", str(path)], env=env)
    err = env.stderr.getvalue()
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith(f"voicecoach: error: {path}") and err.count("\n") == 1, err
        assert len(err) < 2100
    else:
        assert err == "" and env.stdout.getvalue().startswith(f"{path}: ok: ")
