"""Cache entries that are not cue files: FIFOs, links to endless or huge
files, many corrupt entries. Each is a miss, removed, with one warning per kind."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from voicecoach.cues.cache import MAX_ENTRY_BYTES, CueCache

pytestmark = pytest.mark.timeout(30)

KEYS = [f"{i:064x}" for i in range(1, 6)]


def test_unbounded_reads_cache_entry_fifo_is_a_miss(tmp_path, caplog):
    cache = CueCache(tmp_path)
    os.mkfifo(cache.path(KEYS[0]))
    with caplog.at_level(logging.WARNING, logger="voicecoach.cues"):
        assert cache.length(KEYS[0]) is None
        assert cache.get(KEYS[0]) is None
    assert not os.path.lexists(cache.path(KEYS[0]))
    assert "is a FIFO" in caplog.text


def test_unbounded_reads_cache_entry_linked_to_endless_data(tmp_path, caplog):
    """A FIFO fed by a thread stands in for /dev/zero, a sparse file for a huge one."""
    cache = CueCache(tmp_path)
    feed = tmp_path / "zeros"
    os.mkfifo(feed)
    stop = threading.Event()

    def pump() -> None:
        try:
            fd = os.open(feed, os.O_WRONLY)      # blocks until someone reads; nobody should
        except OSError:
            return
        try:
            while not stop.is_set():
                os.write(fd, bytes(65536))
        except OSError:
            pass
        finally:
            os.close(fd)
    t = threading.Thread(target=pump, daemon=True)
    t.start()
    cache.path(KEYS[0]).symlink_to(feed)
    huge = tmp_path / "huge"
    with open(huge, "wb") as f:
        f.truncate(MAX_ENTRY_BYTES * 100)
    cache.path(KEYS[1]).symlink_to(huge)
    with caplog.at_level(logging.WARNING, logger="voicecoach.cues"):
        assert cache.get(KEYS[0]) is None and cache.get(KEYS[1]) is None
    stop.set()
    assert feed.exists() and huge.exists()            # the links went, not what they point at
    assert not os.path.lexists(cache.path(KEYS[0])) and not os.path.lexists(cache.path(KEYS[1]))
    lines = caplog.text.strip().splitlines()
    assert len(lines) == 2 and "is a FIFO" in lines[0] and "MiB" in lines[1]


def test_noise_cache_warns_once_per_kind_of_problem(tmp_path, caplog):
    cache = CueCache(tmp_path)
    for key in KEYS:
        cache.path(key).write_bytes(b"garbage" * 10)
    with caplog.at_level(logging.WARNING, logger="voicecoach.cues"):
        assert all(cache.get(key) is None for key in KEYS)
    assert len(caplog.records) == 1
    assert "not a cue file" in caplog.records[0].getMessage()
    assert list(tmp_path.iterdir()) == []
