import os
import stat

import pytest

from voicecoach.common.atomic import PART_MARK, atomic_path, temp_beside


def test_replaces_the_target_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.bin" + PART_MARK)
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_a_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_temp_files_are_new_each_time_with_the_mode_asked(tmp_path):
    target = tmp_path / "x.cue"
    a, b = temp_beside(target, mode=0o600), temp_beside(target, mode=0o600)
    assert a != b and a.stat().st_size == 0
    assert stat.S_IMODE(a.stat().st_mode) == 0o600
    with pytest.raises(TypeError, match="Path"):
        temp_beside(str(target))
