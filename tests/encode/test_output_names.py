"""Output names the way they were typed: a trailing slash names a folder and
an empty name is no name, not the current folder (a Path drops both)."""

from __future__ import annotations

import os

import pytest
from running import private_env, voicecoach


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "said"), [
    ("new.wav/", "--output: new.wav/: a name ending in / is a folder; name a file to write"),
    ("", "--output: the output name is empty; name a file, or - for standard output"),
])
def test_an_output_name_that_names_no_file_is_refused(tmp_path, name, said):
    r = voicecoach(private_env(tmp_path / "home"), "export", "plank", "--sets", "1",
                   "-o", name, cwd=tmp_path)
    assert (r.returncode, r.stderr.decode()) == (2, f"voicecoach: error: {said}\n")
    assert set(os.listdir(tmp_path)) <= {"home"}                # no new.wav, nothing
