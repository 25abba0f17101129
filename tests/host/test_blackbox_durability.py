"""Acknowledged changes survive a clean restart, the reboot route and kill -9."""

import http.client
import threading
import time

from support.panel_process import PanelProcess


def test_rules_survive_restart_and_reboot_route(tmp_path, runtime):
    panel = PanelProcess(tmp_path, runtime=runtime).start()
    try:
        for number in range(1, 21):
            assert (
                panel.request(
                    "POST",
                    "/api/v1/forward/item/%d" % number,
                    body={"forward_entity_list": ["sip:%d@10.0.0.5" % number]},
                ).json
                == {}
            )
        assert (
            panel.request("POST", "/api/v1/forward/mode", body={"forward_mode": "one_by_one"}).json
            == {}
        )
        assert panel.request("GET", "/api/v1/system/reboot/run").json == {}
        time.sleep(1.0)
        panel.wait_ready()
        assert (
            panel.request("GET", "/api/v1/forward/items").json["list_option"]["pagination"][
                "total_items"
            ]
            == 20
        )
    finally:
        panel.stop()
    panel = PanelProcess(tmp_path, port=panel.port, runtime=runtime).start()
    try:
        assert panel.request("GET", "/api/v1/forward/item/17").json == {
            "forward_number": 17,
            "forward_entity_list": ["sip:17@10.0.0.5"],
        }
        assert panel.request("GET", "/api/v1/forward/mode").json == {"forward_mode": "one_by_one"}
    finally:
        panel.stop()


def test_kill_9_in_a_burst_of_writes_loses_no_acknowledged_change(tmp_path, runtime):
    panel = PanelProcess(tmp_path, runtime=runtime).start()
    acknowledged = {}
    stop = threading.Event()

    def writer(first):
        number = first
        while not stop.is_set():
            queue = ["sip:%d@10.0.0.%d" % (number, number % 250 + 1)]
            try:
                reply = panel.request(
                    "POST",
                    "/api/v1/forward/item/%d" % number,
                    body={"forward_entity_list": queue},
                    timeout=5,
                )
            except (OSError, http.client.HTTPException):
                # Cut mid-answer (IncompleteRead): not acknowledged.
                return
            if reply.status == 200:
                acknowledged[number] = queue
            number += 4

    threads = [threading.Thread(target=writer, args=(first,)) for first in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    panel.kill_hard()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(acknowledged) > 20
    panel = PanelProcess(tmp_path, port=panel.port, runtime=runtime).start()
    try:
        for number, queue in acknowledged.items():
            reply = panel.request("GET", "/api/v1/forward/item/%d" % number)
            assert reply.status == 200, (number, reply)
            assert reply.json["forward_entity_list"] == queue
    finally:
        panel.stop()
