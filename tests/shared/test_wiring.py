# The one wiring (panel.wiring.build_panel) on both runtimes: a test board
# description and fake parts (a store in a temporary directory, recording relay
# pins, an in-memory adapter with a real adapter-side protocol machine at its
# far end, an in-memory datagram network for SIP and RTP) give a complete
# panel, and calls placed from its keypad ring an analog handset and a SIP
# phone; the phone's DTMF digit opens the door.
import asyncio
import json

from fake_adapter import FakeAdapter
from loopback_network import LoopbackNetwork

from checks import temp_dir
from panel.clock import Clock
from panel.compat import ticks_diff, ticks_ms
from panel.drivers.pins import RecordingPin
from panel.proto import sdp, sip_message
from panel.store import Store
from panel.wiring import BoardParts, build_panel

PANEL_SIP = ("10.0.0.7", 5060)
PANEL_RTP = ("10.0.0.7", 40000)
PHONE = ("10.0.0.9", 5060)

TEST_BOARD = {
    "name": "wiring-test",
    "device_model": "TEST-PANEL",
    "locks": 2,
    "sip": {"local_host": PANEL_SIP[0], "local_port": PANEL_SIP[1]},
    "limits": {"forward_rules": 20, "redirect_rules": 4, "call_log_entries": 50},
}


async def _until(predicate, limit_ms=3000):
    start = ticks_ms()
    while not predicate():
        if ticks_diff(ticks_ms(), start) > limit_ms:
            return False
        await asyncio.sleep(0.01)
    return True


class Rig:
    def __init__(self, name):
        self.network = LoopbackNetwork()
        self.phone = self.network.endpoint(PHONE)
        self.adapter = FakeAdapter()
        self.pins = [RecordingPin(1), RecordingPin(2)]
        self.store = Store(temp_dir(name) + "/store")
        self.store.open()
        self.board = json.loads(json.dumps(TEST_BOARD))
        parts = BoardParts(
            store=self.store,
            clock=Clock(assume_set=True),
            relay_pins=self.pins,
            open_adapter=self.adapter.open_transport,
            sip_socket=lambda: (self.network.endpoint(PANEL_SIP), PANEL_SIP),
            rtp_socket=lambda: (self.network.endpoint(PANEL_RTP), PANEL_RTP),
        )
        self.panel = build_panel(self.board, parts)
        self.services = self.panel.services

    def phone_received(self):
        messages = []
        while self.network.queues[PHONE]:
            data, _ = self.network.queues[PHONE].pop(0)
            messages.append(sip_message.parse(data))
        return messages

    def close(self):
        self.panel.stop()
        self.store.close()


async def test_board_description_and_fake_parts_make_a_panel_that_calls():
    rig = Rig("wiring-call")
    try:
        # The board dict is the caller's: the wiring reads it and leaves it.
        assert rig.board == TEST_BOARD
        assert rig.panel.limits["forward_rules"] == 20
        assert rig.panel.limits["tokens"] == 8  # the default where the board is silent
        rig.services.forward_rules.upsert_many([(223, ["vizit:7"]), (224, ["sip:5588@10.0.0.9"])])
        # SIP on, no account: sip: URI targets are dialled directly (spec 3.3).
        rig.services.sip.set_enabled({"sip_enable": True})
        rig.panel.start()
        calls = rig.panel.calls
        assert await _until(lambda: rig.panel.adapter.present)
        assert rig.services.system.device_info()["hybrid_enable"] is True

        # Apartment 223: the analog handset on vizit:7 rings and answers.
        results = calls.press("223#")
        assert results[-1]["action"] == "dial" and results[-1]["accepted"] is True
        assert await _until(lambda: ("vizit", 7) in rig.adapter.rings)
        assert await _until(lambda: calls.machine.state == "talking")
        assert calls.hangup() is True
        assert await _until(lambda: calls.machine.state == "idle")

        # Apartment 224: an INVITE reaches the phone on the in-memory network.
        assert calls.press("224#")[-1]["accepted"] is True
        invites = []
        assert await _until(lambda: invites.extend(rig.phone_received()) or invites)
        invite = invites[0]
        assert invite.method == "INVITE" and invite.uri == "sip:5588@10.0.0.9"
        offer = sdp.negotiate(sdp.parse(invite.body))
        assert (offer.address, offer.port) == PANEL_RTP
        answer = sip_message.make_response(invite, 200, to_tag="phone")
        answer.add("contact", "<sip:5588@10.0.0.9:5060>")
        answer.add("content-type", "application/sdp")
        answer.body = sdp.build(9, 9, PHONE[0], 30000)
        rig.phone.sendto(answer.to_bytes(), PANEL_SIP)
        assert await _until(lambda: calls.machine.state == "talking")
        # The resident presses the door code of lock 1 (SIP INFO, RFC 2976).
        dialog = sip_message.Dialog.from_uas_request(invite, "phone")
        info = dialog.request(
            "INFO", sip_message.Via("UDP", PHONE[0], PHONE[1], {"branch": "z9hG4bKi1"})
        )
        info.add("content-type", "application/dtmf-relay")
        info.body = b"Signal=1\r\nDuration=160\r\n"
        rig.phone.sendto(info.to_bytes(), PANEL_SIP)
        assert await _until(lambda: rig.pins[0].openings == 1)
        assert rig.pins[1].openings == 0
        events = [item["name"]["key"] for item in rig.services.call_log.items(reverse=False)]
        assert events[0] == "device_booted"
        assert "access_granted_by_call_host" in events
    finally:
        rig.close()


async def test_a_heap_too_short_for_the_boot_log_does_not_stop_the_start():
    # The boot's log entries are best effort: a MemoryError there (the account
    # check reads the store) still starts the drivers, and the panel takes calls.
    rig = Rig("wiring-boot-heap")
    try:
        system = rig.services.system

        def short_heap():
            raise MemoryError("memory allocation failed")

        system.account_state = short_heap
        rig.services.forward_rules.upsert_many([(223, ["vizit:7"])])
        rig.panel.start()
        assert rig.panel.sip_user_agent is not None
        assert await _until(lambda: rig.panel.adapter.present)
        assert rig.panel.calls.press("223#")[-1]["accepted"] is True
        assert await _until(lambda: ("vizit", 7) in rig.adapter.rings)
    finally:
        rig.close()
