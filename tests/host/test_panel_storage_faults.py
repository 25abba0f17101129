"""The whole panel on damaged and on full flash (the store's own tests are
test_store_damage.py and test_store_full.py): a damaged rules store boots,
serves what is intact, reports and logs the damage, deletes nothing and keeps
the operator's password (the account has a store of its own); a full flash
answers 507 in each contract's shape for writes it did not store, keeps
deletes and logins working, boots, and answers no other 5xx."""

import base64
import json
import os

from microdot.test_client import TestClient

from panel.clock import Clock
from panel.drivers.pins import RecordingPin
from panel.store import Store
from panel.wiring import BoardParts, build_panel
from support.faulty_fs import LimitedFileSystem, MemoryFileSystem
from support.panel_process import PanelProcess

NEW_PASSWORD = "s3cret-door"
NEW_BASIC = "Basic " + base64.b64encode(("admin:" + NEW_PASSWORD).encode()).decode()
RULES = 60


def _files(directory):
    found = set()
    for _folder, _, names in os.walk(directory):
        for name in names:
            found.add(name)
    return found


def _flip_a_data_byte(store_directory):
    """Flip a byte in the middle of the biggest data file; its name."""
    names = [name for name in os.listdir(store_directory) if name.endswith(".d")]
    name = max(names, key=lambda item: os.path.getsize(os.path.join(store_directory, item)))
    path = os.path.join(store_directory, name)
    with open(path, "rb") as handle:
        content = bytearray(handle.read())
    content[len(content) // 2] ^= 0x40
    with open(path, "wb") as handle:
        handle.write(content)
    return name


def _provisioned(tmp_path, queue):
    """A panel run once: the operator's password set, RULES forward rules of
    queue(number) stored; it is stopped again. Returns its HTTP port."""
    panel = PanelProcess(tmp_path).start()
    try:
        reply = panel.request(
            "POST",
            "/api/v1/security/password/admin",
            body={"old_password": "123456", "new_password": NEW_PASSWORD},
        )
        assert reply.status == 200, reply
        for number in range(1, RULES + 1):
            reply = panel.request(
                "POST",
                "/api/v1/forward/item/%d" % number,
                body={"forward_entity_list": queue(number)},
                auth=NEW_BASIC,
            )
            assert reply.status == 200, reply
    finally:
        panel.stop()
    return panel.port


def test_a_damaged_rules_store_boots_serves_reports_and_keeps_the_password(tmp_path):
    port = _provisioned(tmp_path, lambda number: ["sip:%d@10.0.0.5" % number, "vizit:%d" % number])
    store_directory = os.path.join(str(tmp_path), "store")
    before = _files(store_directory)
    damaged = _flip_a_data_byte(store_directory)

    panel = PanelProcess(tmp_path, port=port).start()
    try:
        # It boots, and the operator's password still opens it.
        assert panel.request("GET", "/api/info", auth=None).status == 200
        assert panel.request("GET", "/api/v1/forward/items", auth=None).status == 401
        listed = panel.request("GET", "/api/v1/forward/items?limit=100", auth=NEW_BASIC)
        assert listed.status == 200, listed
        served = listed.json["list_items"]
        # Every rule served is one that was written, unchanged; few are lost.
        for item in served:
            number = item["forward_number"]
            assert item["forward_entity_list"] == ["sip:%d@10.0.0.5" % number, "vizit:%d" % number]
        assert RULES - 10 <= len(served) < RULES
        health = panel.request("GET", "/api/v1/system/health", auth=NEW_BASIC)
        assert health.status == 200, health
        assert health.json["store"]["state"] == "damaged"
        assert health.json["account"] == "ok"
        assert health.json["account_store"]["state"] == "ok"
        report = health.json["store"]["damaged"][0]
        assert report["records_lost"] >= 1 and "low" in report
        log = panel.request("GET", "/api/v1/log/items?limit=50", auth=NEW_BASIC).json
        names = [item["name"]["key"] for item in log["list_items"]]
        assert "storage_damaged" in names
        assert "account_lost" not in names
        # A rule written into the damaged range is stored and read back.
        lost = set(range(1, RULES + 1)) - {item["forward_number"] for item in served}
        number = min(lost)
        reply = panel.request(
            "POST",
            "/api/v1/forward/item/%d" % number,
            body={"forward_entity_list": ["sip:%d@10.0.0.6" % number]},
            auth=NEW_BASIC,
        )
        assert reply.status == 200, reply
        assert (
            panel.request("GET", "/api/v1/forward/item/%d" % number, auth=NEW_BASIC).status == 200
        )
    finally:
        panel.stop()
    # Nothing was deleted: every file is still there or in quarantine.
    after = _files(store_directory)
    assert damaged in after
    assert {name for name in before if name.endswith(".d")} <= after


def _journal_with_changes(store_directory):
    """The biggest journal whose data file is of the current format (its
    journal must exist); its name."""
    best = None
    for name in os.listdir(store_directory):
        if not name.endswith(".j"):
            continue
        data_name = name[: name.find("_")] + ".d"
        data_path = os.path.join(store_directory, data_name)
        if not os.path.exists(data_path):
            continue
        with open(data_path, "rb") as handle:
            if handle.read(4) != b"PKD3":
                continue
        size = os.path.getsize(os.path.join(store_directory, name))
        if best is None or size > best[0]:
            best = (size, name)
    assert best is not None and best[0] > 10, best
    return best[1]


def test_a_deleted_journal_is_reported_and_the_rest_served(tmp_path):
    port = _provisioned(tmp_path, lambda number: ["sip:%d@10.0.0.5" % number])
    store_directory = os.path.join(str(tmp_path), "store")
    before = _files(store_directory)
    journal = _journal_with_changes(store_directory)
    os.remove(os.path.join(store_directory, journal))

    panel = PanelProcess(tmp_path, port=port).start()
    try:
        assert panel.request("GET", "/api/info", auth=None).status == 200
        listed = panel.request("GET", "/api/v1/forward/items?limit=100", auth=NEW_BASIC)
        assert listed.status == 200, listed
        for item in listed.json["list_items"]:
            number = item["forward_number"]
            assert item["forward_entity_list"] == ["sip:%d@10.0.0.5" % number]
        health = panel.request("GET", "/api/v1/system/health", auth=NEW_BASIC)
        assert health.status == 200, health
        store = health.json["store"]
        assert store["state"] == "damaged", store
        assert health.json["account"] == "ok"
        report = store["damaged"][0]
        assert report["reason"] == "journal missing", report
        assert report["partition"] == int(journal[1 : journal.find("_")])
        assert "low" in report and "high" in report and report["records_lost"] is None
        log = panel.request("GET", "/api/v1/log/items?limit=50", auth=NEW_BASIC).json
        damaged = [
            item["info"]
            for item in log["list_items"]
            if item["name"]["key"] == "storage_damaged"
            and item["info"]["event"] == "partition damaged"
        ]
        assert damaged and damaged[0]["reason"] == "journal missing", damaged
        assert (damaged[0]["low"], damaged[0]["high"]) == (report["low"], report["high"])
    finally:
        panel.stop()
    # Nothing deleted but the journal the test removed.
    assert before - {journal} <= _files(store_directory)


class _Rig:
    """A panel in this process over a size-limited memory flash."""

    def __init__(self, flash):
        self.store = Store("/store", flash)
        self.store.open()
        self.account_store = Store("/account", MemoryFileSystem())
        self.account_store.open()
        parts = BoardParts(
            store=self.store,
            account_store=self.account_store,
            clock=Clock(assume_set=True),
            relay_pins=[RecordingPin(1), RecordingPin(2)],
        )
        self.panel = build_panel({"limits": {"forward_rules": 5000}}, parts)
        self.client = TestClient(self.panel.app)

    async def call(self, method, path, body=None):
        headers = {"Authorization": "Basic YWRtaW46MTIzNDU2"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        response = await self.client.request(method, path, headers=headers, body=body)
        # 507 (not stored, flash full) is the one 5xx the panel may answer.
        assert response.status_code < 500 or response.status_code == 507, (
            method,
            path,
            response.status_code,
            response.text,
        )
        return response


def _queue(number):
    return {"forward_entity_list": ["sip:%d@10.0.0.%d" % (number, number % 250 + 1)] * 6}


async def test_a_full_flash_answers_507_keeps_deletes_and_logins_and_boots():
    flash = LimitedFileSystem(96 * 1024)
    rig = _Rig(flash)
    rig.panel.start()
    stored = []
    refused = None
    for number in range(1, 5000):
        response = await rig.call("POST", "/api/v1/forward/item/%d" % number, _queue(number))
        if response.status_code == 507:
            assert response.json == {"error": "Storage full"}
            refused = number
            break
        assert response.status_code == 200
        stored.append(number)
    assert refused is not None and len(stored) > 20
    # What answered 507 is not stored; every 200 is.
    assert (await rig.call("GET", "/api/v1/forward/item/%d" % refused)).status_code == 404
    for number in stored[:: max(1, len(stored) // 20)]:
        response = await rig.call("GET", "/api/v1/forward/item/%d" % number)
        assert response.json["forward_entity_list"] == _queue(number)["forward_entity_list"]
    # The redirect-rules contract answers 507 in its own shape.
    rule = {"type": "busy", "filter_number": "1XX", "tran_number": "9XX", "priority": 5}
    response = await rig.call("POST", "/rest/v1/uc/redirectrules", rule)
    assert response.status_code == 507
    assert response.json["error_code"] == 1507
    # Settings writes too; logins still work (their log entry is dropped).
    response = await rig.call("POST", "/api/v1/forward/mode", {"forward_mode": "one_by_one"})
    assert response.status_code == 507
    response = await rig.call(
        "GET", "/api/v1/login?username=admin&password=e10adc3949ba59abbe56e057f20f883e"
    )
    assert response.status_code == 200 and response.json["token"]
    assert rig.panel.services.call_log.dropped >= 1
    # Deletes always work on the full flash, and free room for new writes.
    response = await rig.call("DELETE", "/api/v1/forward/items", {"uid_items": stored[:40]})
    assert response.status_code == 200
    for number in stored[:40]:
        assert (await rig.call("GET", "/api/v1/forward/item/%d" % number)).status_code == 404
    response = await rig.call("DELETE", "/api/v1/forward/item/%d" % stored[40])
    assert response.status_code == 200
    health = (await rig.call("GET", "/api/v1/system/health")).json
    assert health["store"]["free_bytes"] is not None
    rig.panel.stop()
    rig.store.close()

    # Fill it to the brim again, then boot on the full flash.
    rig = _Rig(flash)
    number = 10000
    while True:
        response = await rig.call("POST", "/api/v1/forward/item/%d" % number, _queue(number))
        if response.status_code == 507:
            break
        number += 1
    rig.panel.stop()
    rig.store.close()
    rig = _Rig(flash)
    rig.panel.start()  # the boot's log entry does not fit: the boot goes on
    assert (await rig.call("GET", "/api/info")).status_code == 200
    listed = (await rig.call("GET", "/api/v1/forward/items?limit=1")).json
    assert listed["list_option"]["pagination"]["total_items"] > 0
    rig.panel.stop()
    rig.store.close()
