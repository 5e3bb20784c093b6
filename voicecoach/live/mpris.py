"""MPRIS: headset buttons, media keys, the desktop's sound menu and phone
remotes steer the session over D-Bus, as every desktop routes them to the
active media player's ``org.mpris.MediaPlayer2.*`` on the session bus:

=================  =====================================================
PlayPause          pause or resume, like space (a rep resumes from its
Pause / Play       start after a count-in)
Next               the next set, or the end of the rest, like ``n``
Previous           the current set again, from its count-in
Stop / Quit        end the session, like ``q`` (it is recorded as today)
=================  =====================================================

:class:`MprisPlayer` is the pure mapping (calls to commands, :class:`NowPlaying`
to properties and signals), tested with a fake bus; :class:`MprisControl` puts it
on a real bus with jeepney, answering calls on its own thread and handing commands
to :meth:`Transport.request` the same lock-free way a key does.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from voicecoach.live.now_playing import NowPlaying, now_playing
from voicecoach.live.transport import Transport, TransportCommand, TransportState
from voicecoach.plan.phrases import PhraseBook, default_phrases

__all__ = ["BUS_NAME", "PATH", "MprisControl", "MprisError", "MprisPlayer", "Signal", "Track", "open_mpris"]

_log = logging.getLogger("voicecoach.mpris")

BUS_NAME = "org.mpris.MediaPlayer2.voicecoach"
PATH = "/org/mpris/MediaPlayer2"
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
PEER = "org.freedesktop.DBus.Peer"
TRACK_ID = "/org/voicecoach/session"
PUBLISH_SECONDS = 0.05  # how often where the session is goes to the bus (if it changed)

#: Player methods and the command each one sends (None: accepted, does nothing).
METHODS: dict[str, TransportCommand | None] = {
    "PlayPause": TransportCommand.TOGGLE,
    "Play": TransportCommand.RESUME,
    "Pause": TransportCommand.PAUSE,
    "Next": TransportCommand.SKIP,
    "Previous": TransportCommand.RESTART,
    "Stop": TransportCommand.QUIT,
    "Seek": None,
    "SetPosition": None,
    "OpenUri": None,
}

Variant = tuple[str, Any]


class MprisError(Exception):
    """A D-Bus error reply: ``name`` as D-Bus spells it, and a message."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Track:
    """What is playing: the session."""

    title: str
    preset: str
    frames: int
    samplerate: int
    phrases: PhraseBook | None = None  # the language of where it is (English when None)


@dataclass(frozen=True)
class Signal:
    """A signal to emit from :data:`PATH`."""

    interface: str
    member: str
    signature: str
    body: tuple


def _us(frames: int, samplerate: int) -> int:
    return frames * 1_000_000 // samplerate


class MprisPlayer:
    """The MPRIS object, without a bus: calls in (``send`` gets their commands,
    from any thread), signals out (``emit`` gets ``PropertiesChanged`` and ``Seeked``).

    :meth:`call` runs on the bus thread and :meth:`update` on the player's;
    they share only :attr:`_props`, replaced whole (one atomic assignment).
    """

    def __init__(self, track: Track, send: Callable[[TransportCommand], None], emit: Callable[[Signal], None]):
        self.track = track
        self.send = send
        self.emit = emit
        self._now: NowPlaying | None = None
        self._props: dict[str, dict[str, Variant]] = self._properties(None)

    def _properties(self, now: NowPlaying | None) -> dict[str, dict[str, Variant]]:
        state = TransportState.PLAYING if now is None else "quitting" if now.quitting else now.state
        live = state not in (TransportState.DONE, "quitting")
        status = {"playing": "Playing", "paused": "Paused"}.get(state, "Stopped")  # TransportState's values
        t = self.track
        book = t.phrases or default_phrases()
        where = now.describe(", ", book) if now is not None else book.text("status_starting")
        metadata = {
            "mpris:trackid": ("o", TRACK_ID),
            "mpris:length": ("x", _us(t.frames, t.samplerate)),
            "xesam:title": ("s", f"{t.title} · {where}"),
            "xesam:artist": ("as", ["voicecoach"]),
            "xesam:album": ("s", t.title),
            "xesam:comment": ("as", [where]),
        }
        return {
            ROOT: {
                "CanQuit": ("b", True),
                "CanRaise": ("b", False),
                "HasTrackList": ("b", False),
                "Identity": ("s", "voicecoach"),
                "SupportedUriSchemes": ("as", []),
                "SupportedMimeTypes": ("as", []),
            },
            PLAYER: {
                "PlaybackStatus": ("s", status),
                "Rate": ("d", 1.0),
                "MinimumRate": ("d", 1.0),
                "MaximumRate": ("d", 1.0),
                "Volume": ("d", 1.0),
                "Metadata": ("a{sv}", metadata),
                "Position": ("x", _us(now.position, now.samplerate) if now else 0),
                "CanGoNext": ("b", live),
                "CanGoPrevious": ("b", live),
                "CanPlay": ("b", live),
                "CanPause": ("b", live),
                "CanSeek": ("b", False),
                "CanControl": ("b", True),
            },
        }

    def update(self, now: NowPlaying) -> None:
        """Take the player's state; emit what changed (``Position`` changes
        by itself while playing, so it is only signalled by ``Seeked``)."""
        old, new = self._props, self._properties(now)
        self._props = new
        changed = {k: v for k, v in new[PLAYER].items() if k != "Position" and old[PLAYER].get(k) != v}
        if changed:
            self.emit(Signal(PROPERTIES, "PropertiesChanged", "sa{sv}as", (PLAYER, changed, [])))
        if self._now is not None and now.seeks != self._now.seeks:
            self.emit(Signal(PLAYER, "Seeked", "x", (new[PLAYER]["Position"][1],)))
        self._now = now

    def call(self, interface: str, member: str, args: tuple) -> tuple[str, tuple]:
        """Answer one method call: ``(signature, body)`` of the reply; an
        :class:`MprisError` for an unknown interface, method or property."""
        if interface == PROPERTIES:
            return self._property_call(member, args)
        if interface == INTROSPECTABLE and member == "Introspect":
            return "s", (_introspection(self._props),)
        if interface == PEER and member in ("Ping", "GetMachineId"):
            return ("", ()) if member == "Ping" else ("s", (_machine_id(),))
        if interface in (PLAYER, "") and member in METHODS:
            command = METHODS[member]
            if command is not None:
                self.send(command)
            return "", ()
        if interface in (ROOT, "") and member in ("Quit", "Raise"):
            if member == "Quit":
                self.send(TransportCommand.QUIT)
            return "", ()
        raise MprisError(
            "org.freedesktop.DBus.Error.UnknownMethod", f"no method {member} in {interface or 'any interface'}"
        )

    def _property_call(self, member: str, args: tuple) -> tuple[str, tuple]:
        props = self._props
        if member == "GetAll":
            return "a{sv}", (dict(props.get(args[0], {})),)
        if member == "Get":
            iface, name = args
            if name not in props.get(iface, {}):
                raise MprisError("org.freedesktop.DBus.Error.UnknownProperty", f"no property {name} in {iface}")
            return "v", (props[iface][name],)
        if member == "Set":
            raise MprisError("org.freedesktop.DBus.Error.PropertyReadOnly", f"{args[1]} cannot be set")
        raise MprisError("org.freedesktop.DBus.Error.UnknownMethod", f"no method {member}")


def _machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with suppress(OSError):
            return Path(path).read_text().strip()
    return ""


class MprisControl:
    """:class:`MprisPlayer` on the session bus: a remote control for
    :func:`~voicecoach.live.playback.play`, entered with the transport. While
    entered it owns :data:`BUS_NAME` (or ``BUS_NAME.instance<pid>`` when taken),
    answers calls on its own thread and publishes where the session is every
    :data:`PUBLISH_SECONDS`. Tests pass their own ``connect`` and ``claim``.
    """

    def __init__(
        self, track: Track, connect: Callable[[], Any] | None = None, claim: Callable[[Any], str] | None = None
    ):
        self.track = track
        self._connect = connect or _session_bus
        self._claim = claim or _claim_name
        self.conn: Any = None
        self.name: str | None = None
        self.player: MprisPlayer | None = None
        self._stop = threading.Event()

    @contextmanager
    def __call__(self, transport: Transport) -> Iterator[MprisControl]:
        """Connect, take a name and serve while entered; on any failure of the
        bus, stay inert (one debug note): the session plays without MPRIS.
        On leaving, say "Stopped" one last time and leave the bus."""
        watch = partial(now_playing, transport)
        thread = None
        self._stop.clear()
        try:
            self.conn = self._connect()
            self.player = MprisPlayer(self.track, transport.request, self._emit)
            self.player.update(watch())
            self.name = self._claim(self.conn)
            thread = threading.Thread(
                target=self._serve, args=(self.player, watch), name="voicecoach-mpris", daemon=True
            )
            thread.start()
        except Exception as exc:
            _log.debug("MPRIS off: cannot use the session bus: %s", exc)
            self.player = None
        try:
            yield self
        finally:
            self._stop.set()
            if thread is not None:
                thread.join(5)
            if self.player is not None:
                self.player.update(watch())
            if self.conn is not None:
                with suppress(OSError):
                    self.conn.close()
            self.conn = self.player = None

    def _emit(self, signal: Signal) -> None:
        from jeepney import DBusAddress, new_signal

        where = DBusAddress(PATH, interface=signal.interface)
        try:
            self.conn.send(new_signal(where, signal.member, signal.signature, signal.body))
        except OSError as exc:  # the bus went away: keep playing
            _log.debug("MPRIS: cannot emit %s: %s", signal.member, exc)

    def _serve(self, player: MprisPlayer, watch: Callable[[], NowPlaying]) -> None:
        from jeepney import MessageType
        from jeepney.io.threading import ReceiveStopped

        published = 0.0
        while not self._stop.is_set():
            try:
                msg = self.conn.receive(timeout=PUBLISH_SECONDS)
            except TimeoutError:
                msg = None
            except (ReceiveStopped, OSError, ValueError) as exc:
                if not self._stop.is_set():
                    _log.debug("MPRIS: the bus connection ended: %s", exc)
                return
            if msg is not None and msg.header.message_type == MessageType.method_call:
                self._answer(msg)
            if time.monotonic() - published >= PUBLISH_SECONDS:
                player.update(watch())
                published = time.monotonic()

    def _answer(self, msg) -> None:
        from jeepney import HeaderFields, MessageFlag, new_error, new_method_return

        fields, player = msg.header.fields, self.player
        if player is None:
            return
        interface, member = fields.get(HeaderFields.interface, ""), fields.get(HeaderFields.member, "")
        try:
            reply = new_method_return(msg, *player.call(interface, member, tuple(msg.body)))
        except MprisError as exc:
            reply = new_error(msg, exc.name, "s", (str(exc),))
        except (TypeError, ValueError, KeyError, IndexError) as exc:  # malformed arguments
            reply = new_error(msg, "org.freedesktop.DBus.Error.InvalidArgs", "s", (str(exc),))
        if msg.header.flags & MessageFlag.no_reply_expected:
            return
        try:
            self.conn.send(reply)
        except OSError as exc:
            _log.debug("MPRIS: cannot reply: %s", exc)


def _session_bus():
    from jeepney.io.threading import open_dbus_connection

    return open_dbus_connection(bus="SESSION")


def _claim_name(conn) -> str:
    """Own :data:`BUS_NAME`, or a per-process name when it is taken."""
    from jeepney.bus_messages import message_bus
    from jeepney.io.threading import DBusRouter, Proxy

    with DBusRouter(conn) as router:
        bus = Proxy(message_bus, router, timeout=5)
        for name in (BUS_NAME, f"{BUS_NAME}.instance{os.getpid()}"):
            (code,) = bus.RequestName(name, 4)  # DO_NOT_QUEUE; 1 = now the primary owner
            if code == 1:
                return name
    raise OSError("both MPRIS names are taken")


def open_mpris(track: Track, enabled: bool = True) -> MprisControl | None:
    """The MPRIS control, or None where there is no session bus (a headless
    box, macOS, Windows) or it is turned off: the session plays as before,
    with one debug-level note (a broken jeepney leaves the control inert the same way)."""
    if not enabled:
        return None
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        _log.debug("MPRIS off: no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        return None
    return MprisControl(track)


_INTROSPECTION = """<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="v" direction="out"/></method>
    <method name="GetAll"><arg type="s" direction="in"/><arg type="a{sv}" direction="out"/></method>
    <method name="Set"><arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="v" direction="in"/></method>
    <signal name="PropertiesChanged"><arg type="s"/><arg type="a{sv}"/><arg type="as"/></signal>
  </interface>
  <interface name="org.mpris.MediaPlayer2">
    <method name="Raise"/><method name="Quit"/>
    {ROOT}
  </interface>
  <interface name="org.mpris.MediaPlayer2.Player">
    <method name="Next"/><method name="Previous"/><method name="Pause"/>
    <method name="PlayPause"/><method name="Stop"/><method name="Play"/>
    <method name="Seek"><arg name="Offset" type="x" direction="in"/></method>
    <method name="SetPosition"><arg name="TrackId" type="o" direction="in"/>
      <arg name="Position" type="x" direction="in"/></method>
    <method name="OpenUri"><arg name="Uri" type="s" direction="in"/></method>
    <signal name="Seeked"><arg name="Position" type="x"/></signal>
    {PLAYER}
  </interface>
</node>
"""


def _introspection(props: dict[str, dict[str, Variant]]) -> str:
    """The introspection XML, its properties read from ``props`` (one
    table: a property answered is a property described, with its type)."""
    xml = _INTROSPECTION
    for iface, mark in ((ROOT, "{ROOT}"), (PLAYER, "{PLAYER}")):
        tags = (f'<property name="{name}" type="{sig}" access="read"/>' for name, (sig, _) in props[iface].items())
        xml = xml.replace(mark, "\n    ".join(tags))
    return xml
