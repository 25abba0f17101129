# The event lines of BAS-IP contract 10.2 and 10.3 (panel.core.event_lines)
# and their durable queue (panel.services.events) filled by the call log, on
# both runtimes. The message checks split each line the way the deployed
# server's parser does (at ":" and ",", parts trimmed) and read the parts by
# position. tests/host/test_events.py sends them to a real HTTP listener.
from api_harness import Harness
from panel.core import event_lines
from panel.services.events import Events
from panel.services.settings import SIP_ENABLE, Settings
from panel.store import Store

SERVER = {"enabled": True, "server": {"server": "127.0.0.1", "port": 9, "severity": 6}, "tag": ""}


def server_parts(message):
    """What SmartYard's event parser sees: the message split at ':' and ','."""
    parts = []
    current = ""
    for char in message:
        if char in ":,":
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def test_utc_timestamps_with_milliseconds_and_z():
    assert event_lines.utc_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert event_lines.utc_timestamp(951782400123) == "2000-02-29T00:00:00.123Z"
    assert event_lines.utc_timestamp(1795961109120) == "2026-11-29T14:05:09.120Z"
    assert event_lines.utc_timestamp(1709164799999) == "2024-02-28T23:59:59.999Z"
    assert event_lines.utc_timestamp(4107542399999) == "2100-02-28T23:59:59.999Z"


def test_line_format_priority_host_app():
    text = "Access: Lock 1: Door opened by exit button"
    line = event_lines.line(6, 1795961109120, "10.0.0.7", "", text)
    assert line == "<134>2026-11-29T14:05:09.120Z 10.0.0.7 intercom-panel " + text
    assert event_lines.line(4, 0, "10.0.0.7", "my tag", "x").startswith("<132>")
    assert event_lines.line(4, 0, "10.0.0.7", "my tag", "x").split(" ")[2] == "my_tag"
    datagram = event_lines.syslog_datagram(6, 1795961109120, "10.0.0.7", "door", text)
    assert datagram == "<134>1 2026-11-29T14:05:09.120Z 10.0.0.7 door - - - " + text


def test_targets_have_no_scheme_port_colon_or_comma():
    target = event_lines.target_text
    assert target("sip:101@10.0.0.5:5060") == "101@10.0.0.5"
    assert target("sip:5588@127.0.0.1:40000;transport=udp") == "5588@127.0.0.1"
    assert target("101", "pbx.example") == "101@pbx.example"
    assert target("laskomex:10") == "laskomex-10@hybrid"
    assert target("vizit:7") == "vizit-7@hybrid"
    assert target(None) == event_lines.NO_TARGET
    assert event_lines.clean(" a:b,c ") == "a-b-c"


def message(event, info, **context):
    found = event_lines.message(event, info, context)
    assert found is not None, event
    return found


def test_call_lines_match_the_server_positions():
    level, text = message(
        "outgoing_call",
        {"forward_number": 223, "destination": "sip:5588@127.0.0.1:5062", "result": "answered"},
        apartment="223",
    )
    assert level == 6
    assert text == (
        "Call: Apartment: 223: 5588@127.0.0.1: Line: Outgoing call. call number: 223: "
        "Result: call was accepted"
    )
    parts = server_parts(text)
    assert parts[8] == "call was accepted"
    assert parts[5] == "Outgoing call. call number"
    assert parts[3].split("@")[0] == "5588"
    for result in ("no_answer", "busy", "cancelled", "unreachable"):
        info = {"forward_number": 223, "destination": "vizit:7", "result": result}
        assert event_lines.message("outgoing_call", info, {}) is None
    level, text = message(
        "outgoing_call_missed",
        {"forward_number": 31, "reason": "noanswer"},
        apartment="31",
        last_target="vizit-7@hybrid",
    )
    assert server_parts(text)[8] == "call was no accepted"
    assert server_parts(text)[3] == "vizit-7@hybrid"
    assert len(server_parts(text)) == 9


def test_access_lines_match_the_server_positions():
    _, text = message(
        "access_granted_by_call_host",
        {"lock": 1, "destination": "sip:5588@127.0.0.1:5062", "via": "dtmf"},
    )
    assert text == "Access: Call: Lock 1: DTMF: 5588@127.0.0.1: Door 1 opened by call host"
    assert server_parts(text)[5] == "Door 1 opened by call host"
    assert server_parts(text)[4].split("@")[0] == "5588"
    _, text = message("access_granted_by_personal_code", {"lock": 2}, code="4321")
    assert text == (
        "Access: Code: 4321: Lock 2: Input: Identifier: Door opened by access code. Info: 4321"
    )
    assert server_parts(text)[6] == "Door opened by access code. Info"
    assert server_parts(text)[2] == "4321"
    _, text = message("access_granted_by_card", {"lock": 1, "card": "00-00-1A", "reader": 1})
    assert text == (
        "Access: Card: Reader 1: Lock 1: 00-00-1A: Identifier: Door opened by card. Info: 00-00-1A"
    )
    assert server_parts(text)[6] == "Door opened by card. Info"
    assert server_parts(text)[4] == "00-00-1A"
    _, text = message("access_granted_by_exit_button", {"lock": 1})
    assert server_parts(text)[2] == "Door opened by exit button"
    _, text = message("door_sensor_opened", {"lock": 2})
    assert text == "Access: Lock 2: Door was opened with door sensor"
    _, text = message("door_sensor_closed", {"lock": 2})
    assert server_parts(text)[2] == "Door was closed with door sensor"
    _, text = message("access_granted_by_api_call", {"lock": 2})
    assert text == "Access: Lock 2: API: Door opened by API call"
    _, text = message("access_denied", {"identifier_type": "personal_code"}, code="999")
    assert text == "Access: Code: 999: Lock 1: Input: Identifier: Access denied"


def test_system_lines_and_levels():
    assert message("sip_registration_lost", {"status": "ERROR"}) == (
        4,
        "System: SIP: Registration lost",
    )
    assert message("sip_registration_restored", {})[0] == 6
    assert message("adapter_lost", {})[0] == 4
    assert message("adapter_restored", {})[1] == "System: Adapter: Connection restored"
    assert message("device_booted", {})[1] == "System: Device booted"
    assert event_lines.message("successful_login_api_call", {}, {}) is None
    assert event_lines.message("incoming_call", {"forward_number": 1}, {}) is None


async def enable(harness, document=None):
    response = await harness.call("POST", "/api/v1/syslog/settings", body=document or SERVER)
    assert response.status_code == 200, response.json


def queued_messages(events):
    found = []
    while True:
        entry = events.oldest()
        if entry is None:
            return found
        found.append(entry[3])
        events.acknowledge(entry[0])


async def test_log_and_queue_from_one_place_oldest_first():
    harness = Harness("events-queue")
    try:
        services = harness.services
        services.doors.exit_button(1)  # sending off: logged, not queued
        assert services.events.queued() == 0
        await enable(harness)
        services.doors.exit_button(1)
        services.doors.sensor(2, True)
        services.doors.sensor(2, True)  # no change: nothing
        services.call_log.add("successful_login_api_call", {"username": "admin"})  # no line
        assert services.events.queued() == 2
        logged = [item["name"]["key"] for item in services.call_log.items(reverse=False)]
        assert logged == [
            "access_granted_by_exit_button",
            "access_granted_by_exit_button",
            "door_sensor_opened",
            "successful_login_api_call",
        ]
        entry = services.events.oldest()
        assert entry[1] == 6 and entry[2] > 0
        assert queued_messages(services.events) == [
            "Access: Lock 1: Door opened by exit button",
            "Access: Lock 2: Door was opened with door sensor",
        ]
        assert services.events.queued() == 0
    finally:
        harness.close()


async def test_severity_filters_and_queue_survives_reopen():
    harness = Harness("events-severity")
    try:
        services = harness.services
        await enable(
            harness,
            {"enabled": True, "server": {"server": "10.0.0.2", "port": 514, "severity": 4}},
        )
        services.doors.exit_button(1)  # level 6 > 4: filtered
        services.call_log.link("adapter", True)  # first sight: nothing
        services.call_log.link("adapter", False)  # level 4: queued
        services.call_log.link("adapter", False)  # repeat: nothing
        assert services.events.queued() == 1
        assert services.events.counters["filtered"] == 1
        assert services.call_log.count() == 2
        # A new Events over the same store (a reboot) finds the line.
        again = Events(harness.store, services.settings, services.identifiers, 500)
        assert again.queued() == 1
        assert again.oldest()[3] == "System: Adapter: Connection lost"
    finally:
        harness.close()
    store = Store(harness.directory + "/store")
    store.open()
    try:
        reopened = Events(store, Settings(store), None, 500)
        assert queued_messages(reopened) == ["System: Adapter: Connection lost"]
    finally:
        store.close()


async def test_full_queue_drops_oldest_and_counts():
    board = {"name": "small", "limits": {"event_queue_lines": 5, "call_log_entries": 50}}
    harness = Harness("events-overflow", board=board)
    try:
        services = harness.services
        await enable(harness)
        for index in range(8):
            services.doors.card("C%02d" % index)
        status = (await harness.call("GET", "/api/v1/syslog/status")).json
        assert status["queued"] == 5 and status["capacity"] == 5
        assert status["events_dropped"] == 3
        assert status["events_dropped_unreported"] == 3
        cards = [server_parts(text)[4] for text in queued_messages(services.events)]
        assert cards == ["C03", "C04", "C05", "C06", "C07"]
        services.events.drops_reported(3)
        status = (await harness.call("GET", "/api/v1/syslog/status")).json
        assert status["events_dropped"] == 3 and status["events_dropped_unreported"] == 0
    finally:
        harness.close()


async def test_personal_code_and_card_lines_name_the_identifier():
    harness = Harness("events-identifiers")
    try:
        services = harness.services
        await enable(harness)
        for body in (
            {"identifier_number": "4321", "identifier_type": "personal_code", "lock": "second"},
            {"identifier_number": "00-00-00-1A-2B-3C-4D", "identifier_type": "card", "lock": "all"},
        ):
            body["identifier_owner"] = {"name": "23", "type": "owner"}
            response = await harness.call("POST", "/api/v1/access/identifier", body=body)
            assert response.status_code == 200, response.json
        assert harness.panel.calls.personal_code("4321") is True
        assert services.doors.card("0000001A2B3C4D", 1) == [1, 2]
        assert services.doors.card("FFFF", 2) == []
        assert queued_messages(services.events) == [
            "Access: Code: 4321: Lock 2: Input: Identifier: Door opened by access code. Info: 4321",
            "Access: Card: Reader 1: Lock 1: 0000001A2B3C4D: Identifier: "
            "Door opened by card. Info: 0000001A2B3C4D",
            "Access: Card: Reader 1: Lock 2: 0000001A2B3C4D: Identifier: "
            "Door opened by card. Info: 0000001A2B3C4D",
            "Access: Card: Reader 2: Lock 2: FFFF: Identifier: Access denied",
        ]
    finally:
        harness.close()


async def test_sip_registration_lost_and_restored_lines():
    harness = Harness("events-sip")
    try:
        services = harness.services
        await enable(harness)
        services.settings.write(SIP_ENABLE, {"sip_enable": True})
        services.sip.on_registration("OK")
        services.sip.on_registration("ERROR")
        services.sip.on_registration("ERROR")
        services.sip.on_registration("OK")
        services.sip.on_registration("OK")
        assert queued_messages(services.events) == [
            "System: SIP: Registration lost",
            "System: SIP: Registration restored",
        ]
        keys = [item["name"]["key"] for item in services.call_log.items(reverse=False)]
        assert keys == ["sip_registration_lost", "sip_registration_restored"]
    finally:
        harness.close()


async def test_a_host_name_server_keeps_the_lines_queued_and_never_looks_it_up():
    # [D] Only IPv4 addresses are sent to: a name would be a blocking DNS
    # lookup on MicroPython. The opener is never called; the lines wait.
    from api_harness import Harness
    from panel.drivers.event_sender import EventSender, server_address

    assert server_address("10.0.0.2") == "10.0.0.2"
    assert server_address("localhost") == "127.0.0.1"
    for name in ("events.example.org", "\u0100\u0100", "10.0.0", "1.2.3.256", "\u0661.2.3.4"):
        assert server_address(name) is None, name
    harness = Harness("events-host-name")
    opened = []

    async def opener(host, port):
        opened.append((host, port))
        raise OSError("must not be called")

    try:
        body = {"enabled": True, "server": {"server": "events.example.org", "port": 514}}
        assert (await harness.call("POST", "/api/v1/syslog/settings", body=body)).status_code == 200
        harness.services.doors.exit_button(1)
        sender = EventSender(harness.services.events, lambda: "10.0.0.7", open_connection=opener)
        assert await sender.send_one() is False
        assert opened == []
        assert harness.services.events.queued() == 1
        assert "not an IPv4 address" in harness.services.events.last_error
    finally:
        harness.close()
