# The panel's call environment (panel.calls.environment.CallEnvironment) over
# the wired panel's services: what the API stores is what the call engine
# reads, and its effects reach the relays and the call log. On both runtimes.
from api_harness import Harness
from panel.calls.environment import CallEnvironment


def environment_of(harness):
    return CallEnvironment(harness.services)


async def test_configuration_as_the_api_stored_it():
    harness = Harness("calls-environment-config")
    try:
        environment = environment_of(harness)
        # Factory values: BAS-IP timeouts, ring_timeout_s 30 (redirect spec 5.2).
        assert environment.mode() == "all_at_once"
        assert environment.timeouts() == (45, 20, 90)
        assert environment.ring_timeout() == 30
        assert environment.lock_codes() == {1: "1", 2: "2"}
        assert environment.lock_seconds(1) == 5
        assert environment.queue("223") is None
        for path, body in (
            ("/api/v1/forward/item/223", {"forward_entity_list": ["vizit:7", "5588"]}),
            ("/api/v1/forward/mode", {"forward_mode": "one_by_one"}),
            ("/api/v1/device/call/dial/timeout", {"dial_timeout": 60, "forwarding_timeout": 25}),
            ("/api/v1/redirect/settings", {"ring_timeout_s": 12}),
        ):
            response = await harness.call("POST", path, body=body)
            assert response.status_code == 200, (path, response.json)
        assert environment.mode() == "one_by_one"
        assert environment.timeouts() == (60, 25, 90)
        assert environment.ring_timeout() == 12
        assert environment.queue("223") == ["vizit:7", "5588"]
        assert environment.queue("0223") == ["vizit:7", "5588"]
        for text in ("", "0", "22a", "1" * 20, None):
            assert environment.queue(text) is None
        # No user agent, no adapter: nothing is reachable.
        assert not environment.reachable("sip", "sip:1@10.0.0.1")
        assert not environment.reachable("line", ("vizit", 7))
        assert environment.caller() == "panel"
    finally:
        harness.close()


async def test_effects_reach_the_relays_and_the_call_log():
    harness = Harness("calls-environment-effects")
    try:
        environment = environment_of(harness)
        info = {"forward_number": 8, "destination": "vizit:8", "via": "dtmf"}
        assert environment.open_lock(2, 0, "access_granted_by_call_host", info) is True
        assert environment.open_lock(3, 0, "access_granted_by_call_host", info) is False
        environment.log("incoming_call", {"forward_number": 8})
        entries = list(harness.services.call_log.items())
        assert [entry["name"]["key"] for entry in entries][:2] == [
            "incoming_call",
            "access_granted_by_call_host",
        ]
        assert entries[1]["info"]["lock"] == 2 and entries[1]["info"]["via"] == "dtmf"
        assert harness.pins[1].value() == 1  # lock 2's relay released
        assert environment.find_personal_code("1234") is None
    finally:
        harness.close()
