"""A private D-Bus session bus, and MPRIS calls to a player on it with dbus-send.

Used by the end-to-end tests: every client started with :attr:`SessionBus.env`
talks to our daemon and to no other.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

DEST = "org.mpris.MediaPlayer2.voicecoach"
PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"


class SessionBus:
    """``dbus-daemon --session`` of our own; its address is on its first line."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.address = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon did not start")

    @property
    def env(self) -> dict:
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None

    def send(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(["dbus-send", "--session", "--print-reply", f"--dest={DEST}", PATH, *args],
                           env={**os.environ, **self.env}, capture_output=True, text=True, timeout=20)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    def call(self, method: str) -> None:
        """A Player method (PlayPause, Next, Stop...), as a headset button sends it."""
        self.send(f"{PLAYER}.{method}")

    def get(self, name: str) -> str:
        """A Player property as dbus-send prints it."""
        return self.send("org.freedesktop.DBus.Properties.Get", f"string:{PLAYER}",
                         f"string:{name}").stdout

    def status(self) -> str:
        m = re.search(r'string "(\w+)"', self.get("PlaybackStatus"))
        return m.group(1) if m else ""

    def wait_for(self, predicate, what: str, timeout: float = 120) -> str:
        """Poll the metadata until ``predicate(text)``; the player must be on the bus."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            r = self.send("org.freedesktop.DBus.Properties.Get", f"string:{PLAYER}",
                          "string:Metadata", check=False)
            if r.returncode == 0:
                last = r.stdout
                if predicate(last):
                    return last
            time.sleep(0.05)
        raise AssertionError(f"never saw {what}; last metadata: {last[-400:]}")
