import copy
import string
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.errors import InputError, PresetError
from voicecoach.plan.preset import MAX_SESSION_SECONDS, dump_preset, parse_preset, preset_from_dict
from voicecoach.plan.preset_files import builtin_names, load_file, load_preset

VALID = {
    "title": "Test lifts", "exercise": "leg lift", "sets": 2, "reps": 5, "rest": 20,
    "tempo": "3-1-2-1", "cues": {"concentric": ["Breathe out and lift", "Lift"]},
}


def with_(path: str, value):
    """VALID with the dotted ``path`` set to ``value`` (or removed when value is DEL)."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    if value is DEL:
        node.pop(last, None)
    else:
        node[last] = value
    return data


DEL = object()

# (mutation, key named in the message, fragment of the message)
BROKEN = [
    (with_("sets", 0), "sets", "between 1 and 20 (got 0)"),
    (with_("reps", 0), "reps", "(got 0)"),
    (with_("reps", -3), "reps", "(got -3)"),
    (with_("reps", 2.5), "reps", "whole number (got 2.5)"),
    (with_("reps", True), "reps", "whole number (got True)"),
    (with_("reps", "ten"), "reps", "whole number (got 'ten')"),
    (with_("rest", -5), "rest", "(got -5)"),
    (with_("rest", "long"), "rest", "number of seconds (got 'long')"),
    (with_("rest", float("nan")), "rest", "(got nan)"),
    (with_("tempo", "3-1-2"), "tempo", "does not parse"),
    (with_("tempo", "0-1-2-1"), "tempo", "eccentric"),
    (with_("tempo", 3121), "tempo", "string like '3-1-2-1' (got 3121)"),
    (with_("title", DEL), "title", "missing key"),
    (with_("exercise", ""), "exercise", "must not be empty"),
    (with_("tempo", DEL), "tempo", "exactly one of 'tempo'"),
    ({**VALID, "hold": 30}, "tempo", "exactly one of 'tempo'"),
    ({**VALID, "repz": 5}, "repz", "did you mean 'reps'?"),
    ({**VALID, "tmepo_x": 5}, "tmepo_x", "unknown key"),
    (with_("cues.concentrc", ["x"]), "cues.concentrc", "did you mean 'concentric'?"),
    (with_("cues.concentric", [1]), "cues.concentric[0]", "non-empty string (got 1)"),
    (with_("cues.concentric", 5), "cues.concentric", "list of strings (got 5)"),
    (with_("cues.last_rep", "yes"), "cues.last_rep", "true or false (got 'yes')"),
    (with_("cues.halfway_rep", 9), "cues.halfway_rep", "between 0 and 5 (got 9)"),
    (with_("cues", "loud"), "cues", "must be a table"),
    (with_("start", "middle"), "start", "one of concentric, eccentric (got 'middle')"),
    (with_("sides", "both"), "sides", "one of none, alternate, each"),
    (with_("side_names", ["Left"]), "side_names", "exactly two"),
    (with_("count", ["top"]), "count", "phases counted aloud"),
    (with_("speech.rate", 5), "speech.rate", "(got 5)"),
    (with_("speech.volume", 5), "speech.volume", "unknown key"),
    (with_("speech.engine", "espeak"), "speech.engine", "one of auto, piper, pyttsx3 (got 'espeak')"),
    ({**VALID, "warmup": [{"say": "x"}]}, "warmup[1].seconds", "missing key"),
    ({**VALID, "warmup": [{"say": "x", "seconds": 5, "reps": 2}]}, "warmup[1].reps", "unknown key"),
    ({**VALID, "warmup": "stretch"}, "warmup", "list of [[warmup]] tables"),
    ({**VALID, "sets": 20, "reps": 200, "tempo": "9-9-9-9"}, "sets", "limit is 4 hours"),
    (with_("mix.music", 30), "mix.music", "between -60 and 12 dB (got 30)"),
    (with_("mix.duck_depth", -3), "mix.duck_depth", "between 0 and 60 dB (got -3)"),
    (with_("mix.duck_attack", "slow"), "mix.duck_attack", "number of seconds (got 'slow')"),
    (with_("mix.volume", 3), "mix.volume", "unknown key"),
    (with_("sounds.tick", "missing.wav"), "sounds.tick", "no such sound file"),
    (with_("sounds.gong", "chime"), "sounds.gong", "unknown key"),
]


@pytest.mark.parametrize("data, key, fragment", BROKEN, ids=[b[1] + ":" + b[2][:20] for b in BROKEN])
def test_broken_preset_names_file_key_and_value(tmp_path, data, key, fragment):
    path = tmp_path / "mine.toml"
    text = tomli_w.dumps(data)
    if "nan" in fragment:       # tomli_w refuses to write nan; a person can
        text = "rest = nan\n" + tomli_w.dumps({k: v for k, v in data.items() if k != "rest"})
    path.write_text(text)
    with pytest.raises(PresetError) as info:
        load_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert fragment in message
    assert "\n" not in message


def test_sounds_and_mix_load_and_round_trip(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "my-tick.wav").write_bytes(b"RIFF")
    path = tmp_path / "p.toml"
    path.write_text(tomli_w.dumps({**VALID, "sounds": {"tick": "sub/my-tick.wav", "rest_end": "chime"},
                                   "mix": {"music": -10, "duck_depth": 18}}))
    p = load_file(path)
    assert p.sound("tick") == str(tmp_path / "sub" / "my-tick.wav") and p.sound("rest_end") == "chime"
    assert p.levels.music_db == -10 and p.duck.depth_db == 18 and p.duck.attack == 0.15
    assert parse_preset(dump_preset(p), "again") == p
    q = p.with_overrides(voice_volume=3, music_volume=-20)
    assert (q.levels.voice_db, q.levels.music_db) == (3, -20)
    with pytest.raises(PresetError, match=r"--music|mix.music"):
        p.with_overrides(music_volume=40)


@pytest.mark.parametrize("text, fragment", [
    ("title = 'x\n", "not valid TOML"),
    ("= 3", "not valid TOML"),
    ("\x00\x01", "not valid TOML"),
])
def test_not_toml(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PresetError, match=fragment):
        load_file(path)


def test_missing_file_and_directory_and_binary(tmp_path):
    with pytest.raises(PresetError, match="no such file"):
        load_file(tmp_path / "nope.toml")
    with pytest.raises(PresetError, match="is a directory"):
        load_file(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PresetError, match="not UTF-8"):
        load_file(tmp_path / "bin.toml")


def test_unknown_preset_name_suggests():
    with pytest.raises(PresetError, match="did you mean 'leg-lifts'"):
        load_preset("leg-lift")


def test_every_builtin_round_trips_through_show_text():
    assert {"leg-lifts", "bent-knee", "single-leg", "hanging", "dead-bug", "plank",
            "warmup"} <= set(builtin_names())
    for name in builtin_names():
        preset = load_preset(name)
        assert parse_preset(dump_preset(preset), "shown") == preset


def test_default_leg_lifts_follows_the_method():
    p = load_preset("leg-lifts")
    assert (p.sets, p.reps) == (3, 10)
    assert p.tempo.eccentric == 3 and p.start == "concentric"
    assert "eccentric" in p.count
    assert any("out" in c.lower() for c in p.cues.concentric)   # exhale on the lift


def test_side_and_hold_presets():
    assert load_preset("single-leg").sides == "alternate"
    assert load_preset("dead-bug").sides == "alternate"
    plank = load_preset("plank")
    assert plank.hold == 30 and plank.tempo is None and plank.phases == ("hold",)


def test_user_preset_dir_shadows_builtin(tmp_path):
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "leg-lifts.toml").write_text(tomli_w.dumps({**VALID, "reps": 7}))
    assert load_preset("leg-lifts", tmp_path).reps == 7
    assert load_preset("leg-lifts").reps == 10


def test_overrides_are_validated_and_named_as_options():
    p = load_preset("leg-lifts")
    q = p.with_overrides(sets=5, reps=15, tempo="4/0/1/0", rest=90)
    assert (q.sets, q.reps, str(q.tempo), q.rest) == (5, 15, "4-0-1-0", 90.0)
    with pytest.raises(PresetError, match=r"--reps: .*\(got 0\)"):
        p.with_overrides(reps=0)
    with pytest.raises(PresetError, match="--tempo"):
        p.with_overrides(tempo="fast")
    with pytest.raises(PresetError, match="--tempo: preset plank is an isometric hold"):
        load_preset("plank").with_overrides(tempo="3121")
    with pytest.raises(PresetError, match="4 hours"):
        p.with_overrides(sets=20, reps=200)


def test_speech_engine_loads_overrides_and_round_trips(tmp_path):
    from voicecoach.plan.kinds import EngineKind
    p = parse_preset(tomli_w.dumps(with_("speech.engine", "pyttsx3")), "x.toml")
    assert p.engine is EngineKind.PYTTSX3
    assert parse_preset(dump_preset(p), "shown") == p
    assert p.with_overrides(engine="piper").engine is EngineKind.PIPER
    assert load_preset("leg-lifts").engine is None                       # auto unless asked


def test_limit_is_four_hours():
    assert MAX_SESSION_SECONDS == 4 * 3600


def test_preset_errors_are_input_errors():
    assert issubclass(PresetError, InputError) and issubclass(PresetError, ValueError)


# ---- fuzzing: the loader only ever returns a Preset or raises PresetError

toml_scalars = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.booleans(),
    st.text(string.printable, max_size=12),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(string.ascii_lowercase + "_", min_size=1, max_size=10),
                                            inner, max_size=4)),
    max_leaves=12,
)
keys = st.sampled_from(["title", "exercise", "sets", "reps", "rest", "tempo", "hold", "start", "sides",
                        "side_names", "count", "cues", "warmup", "speech", "variation", "bogus"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, toml_values, max_size=10))
def test_fuzz_random_documents(data):
    doc = {**VALID, **data}
    try:
        preset = preset_from_dict(doc, "fuzz.toml")
    except PresetError as exc:
        assert str(exc).startswith("fuzz.toml")
        return
    assert parse_preset(dump_preset(preset), "again") == preset


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_fuzz_random_text(text):
    try:
        parse_preset(text, "fuzz.toml")
    except PresetError:
        pass
