"""The MPRIS mapping with a fake bus: calls become transport commands, the
player's state becomes properties and signals. No D-Bus daemon needed."""

import logging

import numpy as np
import pytest

from voicecoach.live.now_playing import now_playing
from voicecoach.live.mpris import (
    PLAYER,
    PROPERTIES,
    ROOT,
    METHODS,
    MprisControl,
    MprisError,
    MprisPlayer,
    Signal,
    Track,
    open_mpris,
)
from voicecoach.live.transport import Transport, TransportCommand, TransportState

SR = 8000


class FakeBus:
    """Records what the player emits; calls go straight to it."""

    def __init__(self, session):
        tl, mixer, clips = session
        self.t = Transport(mixer, tl, clips)
        self.sent = []
        self.signals = []
        self.player = MprisPlayer(Track("Leg lifts", "leg-lifts", tl.frames, SR),
                                  self.send, self.signals.append)

    def send(self, command):
        self.sent.append(command)
        self.t.request(command)

    def call(self, member, *args, interface=PLAYER):
        return self.player.call(interface, member, args)

    def prop(self, name, interface=PLAYER):
        sig, (value,) = self.call("Get", interface, name, interface=PROPERTIES)
        assert sig == "v"
        return value[1]

    def play(self, frames):
        out = np.zeros((frames, 1), np.float32)
        self.t.render(out)
        self.player.update(now_playing(self.t))
        return out[:, 0]


@pytest.fixture
def bus(session):
    return FakeBus(session)


@pytest.mark.parametrize("member,command", [
    ("PlayPause", TransportCommand.TOGGLE), ("Pause", TransportCommand.PAUSE), ("Play", TransportCommand.RESUME),
    ("Next", TransportCommand.SKIP), ("Previous", TransportCommand.RESTART), ("Stop", TransportCommand.QUIT),
])
def test_each_button_sends_its_command(bus, member, command):
    assert bus.call(member) == ("", ())
    assert bus.sent == [command]


def test_quit_on_the_root_interface_stops_and_seek_does_nothing(bus):
    bus.call("Quit", interface=ROOT)
    bus.call("Seek", 5_000_000)
    bus.call("SetPosition", "/org/voicecoach/session", 0)
    assert bus.sent == [TransportCommand.QUIT]


def test_play_pause_really_pauses_the_transport_and_the_state_follows(bus, session):
    tl, _, clips = session
    bus.play(3 * SR)
    assert bus.prop("PlaybackStatus") == "Playing"
    bus.signals.clear()
    bus.call("PlayPause")
    out = bus.play(len(clips.paused) + 2 * SR)
    assert bus.t.state == TransportState.PAUSED and not out[-SR:].any()
    assert bus.prop("PlaybackStatus") == "Paused"
    changed = [s for s in bus.signals if s.member == "PropertiesChanged"]
    assert changed and changed[-1].body[0] == PLAYER
    assert changed[-1].body[1]["PlaybackStatus"] == ("s", "Paused")
    bus.call("PlayPause")
    bus.play(SR)
    assert bus.prop("PlaybackStatus") == "Playing"
    bus.call("Stop")
    bus.play(10 * SR)
    assert bus.prop("PlaybackStatus") == "Stopped" and bus.prop("CanGoNext") is False


def test_metadata_names_the_session_and_where_it_is(bus, session):
    tl, _, _ = session
    rep2 = next(s for s in tl.segments if s.set == 1 and s.rep == 2 and s.kind == "eccentric")
    bus.play(rep2.start + 100)
    meta = bus.prop("Metadata")
    assert meta["xesam:title"] == ("s", "Leg lifts · set 1/2, rep 2/3, lower")
    assert meta["xesam:comment"] == ("as", ["set 1/2, rep 2/3, lower"])
    assert meta["xesam:artist"] == ("as", ["voicecoach"])
    assert meta["mpris:length"] == ("x", tl.frames * 1_000_000 // SR)
    assert meta["mpris:trackid"][0] == "o"
    assert bus.prop("Position") == (rep2.start + 100) * 1_000_000 // SR
    everything = bus.call("GetAll", PLAYER, interface=PROPERTIES)[1][0]
    assert {"PlaybackStatus", "Metadata", "Position", "CanControl"} <= set(everything)
    assert bus.prop("Identity", ROOT) == "voicecoach"


def test_nothing_changed_no_signal_a_jump_is_seeked(bus, session):
    tl, _, clips = session
    bus.play(100)
    bus.signals.clear()
    bus.player.update(now_playing(bus.t))
    assert bus.signals == []
    rep = next(s for s in tl.segments if s.set == 1 and s.rep == 1 and s.kind == "eccentric")
    bus.play(rep.start)
    bus.signals.clear()
    bus.call("Pause")
    bus.play(SR)
    seeked = [s for s in bus.signals if s.member == "Seeked"]
    start = next(s for s in tl.segments if s.set == 1 and s.rep == 1).start
    assert seeked and seeked[0].body == (start * 1_000_000 // SR,)    # back to the rep's start


def test_errors_for_unknown_and_read_only_properties(bus):
    with pytest.raises(MprisError) as e:
        bus.prop("Shuffled")
    assert e.value.name.endswith("UnknownProperty")
    with pytest.raises(MprisError, match="cannot be set") as e:
        bus.call("Set", PLAYER, "Volume", ("d", 0.5), interface=PROPERTIES)
    with pytest.raises(MprisError):
        bus.call("Dance")
    assert "Introspect" in bus.call("Introspect",
                                    interface="org.freedesktop.DBus.Introspectable")[1][0]


def test_introspection_describes_every_property_answered_with_its_type(bus):
    """Desktop tools read the XML to know what they may Get: it lists each
    interface's properties exactly as GetAll answers them, and every method."""
    import xml.etree.ElementTree as ET

    (xml,) = bus.call("Introspect", interface="org.freedesktop.DBus.Introspectable")[1]
    node = ET.fromstring(xml.split("\n", 2)[2])         # past the DOCTYPE
    described = {i.get("name"): i for i in node.iter("interface")}
    for iface in (ROOT, PLAYER):
        (props,) = bus.call("GetAll", iface, interface=PROPERTIES)[1]
        listed = {p.get("name"): (p.get("type"), p.get("access"))
                  for p in described[iface].iter("property")}
        assert listed == {name: (sig, "read") for name, (sig, _) in props.items()}
    methods = {m.get("name") for m in described[PLAYER].iter("method")}
    assert methods == set(METHODS)


class FakeConnection:
    """A jeepney connection that only records what is sent."""

    def __init__(self):
        self.sent = []

    def send(self, msg):
        self.sent.append(msg)


def test_the_bus_thread_answers_calls_and_marks_errors(bus):
    from jeepney import DBusAddress, MessageType, new_method_call
    control = MprisControl(bus.player.track)
    control.conn = FakeConnection()
    control.player = bus.player
    here = DBusAddress("/org/mpris/MediaPlayer2", "org.mpris.MediaPlayer2.voicecoach", PLAYER)
    control._answer(new_method_call(here, "Next"))
    props = DBusAddress("/org/mpris/MediaPlayer2", "org.mpris.MediaPlayer2.voicecoach", PROPERTIES)
    control._answer(new_method_call(props, "Get", "ss", (PLAYER, "Nope")))
    control._answer(new_method_call(props, "Get", "ss", (PLAYER, "PlaybackStatus")))
    ok, error, status = control.conn.sent
    assert ok.header.message_type == MessageType.method_return and bus.sent == [TransportCommand.SKIP]
    assert error.header.message_type == MessageType.error
    assert status.body == (("s", "Playing"),)
    control._emit(Signal(PLAYER, "Seeked", "x", (5,)))
    assert control.conn.sent[-1].header.message_type == MessageType.signal


def test_no_session_bus_or_turned_off_plays_without_mpris(monkeypatch, caplog):
    track = Track("T", "t", 10, SR)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with caplog.at_level(logging.DEBUG, logger="voicecoach.mpris"):
        assert open_mpris(track) is None
    assert len(caplog.records) == 1 and caplog.records[0].levelno == logging.DEBUG
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    assert open_mpris(track, enabled=False) is None
    control = open_mpris(track)
    with control(FakeTransport()) as entered:     # cannot connect: inert, no exception
        assert entered.player is None and entered.name is None


class FakeTransport:
    """Only what a remote control touches: request, and what now_playing reads."""

    def __init__(self, t=None):
        self.t = t
        self.requests = []

    def request(self, command):
        self.requests.append(command)
        if self.t is not None:
            self.t.request(command)

    def __getattr__(self, name):
        return getattr(self.t, name)


class QueueConnection(FakeConnection):
    """A fake bus socket: calls queued by the test, replies and signals recorded."""

    def __init__(self, incoming):
        super().__init__()
        import queue
        self.incoming = queue.Queue()
        for msg in incoming:
            self.incoming.put(msg)
        self.closed = False

    def receive(self, timeout):
        import queue
        try:
            return self.incoming.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None

    def close(self):
        self.closed = True


def test_as_a_remote_control_it_serves_on_its_own_thread_and_says_stopped_at_the_end(session):
    import threading
    import time

    from jeepney import DBusAddress, MessageType, new_method_call
    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    here = DBusAddress("/org/mpris/MediaPlayer2", "org.mpris.MediaPlayer2.voicecoach", PLAYER)
    conn = QueueConnection([new_method_call(here, "PlayPause")])
    control = MprisControl(Track("Leg lifts", "leg-lifts", tl.frames, SR),
                           connect=lambda: conn, claim=lambda c: "org.mpris.MediaPlayer2.voicecoach")
    remote = FakeTransport(t)
    with control(remote) as entered:
        assert entered.name == "org.mpris.MediaPlayer2.voicecoach"
        assert any(th.name == "voicecoach-mpris" for th in threading.enumerate())
        deadline = time.monotonic() + 10
        while not remote.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert remote.requests == [TransportCommand.TOGGLE]
        t.render(np.zeros((SR, 1), np.float32))            # the audio side applies it
        deadline = time.monotonic() + 10                    # and the bus hears of it
        while not any(m.header.message_type == MessageType.signal and m.body[1].get(
                "PlaybackStatus") == ("s", "Paused") for m in conn.sent[1:]) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
    replies = [m for m in conn.sent if m.header.message_type == MessageType.method_return]
    assert len(replies) == 1
    paused = [m for m in conn.sent if m.header.message_type == MessageType.signal
              and m.body[1].get("PlaybackStatus") == ("s", "Paused")]
    assert paused, conn.sent
    assert conn.closed and not any(th.name == "voicecoach-mpris" for th in threading.enumerate())


def test_metadata_follows_the_sessions_language(session):
    from voicecoach.plan.phrases import phrase_book

    tl, mixer, clips = session
    t = Transport(mixer, tl, clips)
    player = MprisPlayer(Track("Beinheben", "leg-lifts", tl.frames, SR, phrase_book("fr")), t.request, print)
    assert player.call(PROPERTIES, "Get", (PLAYER, "Metadata"))[1][0][1]["xesam:comment"] == ("as", ["démarrage"])
    rep2 = next(s for s in tl.segments if s.set == 1 and s.rep == 2 and s.kind == "eccentric")
    out = np.zeros((rep2.start + 100, 1), np.float32)
    t.render(out)
    player.update(now_playing(t))
    meta = player.call(PROPERTIES, "Get", (PLAYER, "Metadata"))[1][0][1]
    assert meta["xesam:title"] == ("s", "Beinheben · série 1/2, rép. 2/3, descente")
