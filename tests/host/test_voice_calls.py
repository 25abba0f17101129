"""Voice on real calls: the panel as `make run` starts it (host.run, a WAV file
as the visitor's voice, one WAV per call of what it heard), real peers on
loopback: sipp echoing RTP (-rtp_echo) with one G.711 law in its answer, and
small UDP peers of our own where sipp cannot do what a case needs (a callee
that never answers at all; one that reports where our RTP and RTCP come from).

Timing is never asserted: waits poll with a deadline.
"""

import glob
import math
import os
import socket
import time
import wave
from array import array

import pytest

from host import wav_audio
from panel.proto import sdp, sip_message
from support.panel_process import PanelProcess
from support.sipp import Sipp, panel_sip_account, sipp_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEAD_PROXY = "sip:127.0.0.1:9"

needs_sipp = pytest.mark.skipif(sipp_path() is None, reason="sipp missing: `make sipp`")


def _voice(directory):
    """The visitor's phrase: espeak-ng's, or (without it) a chirp written here."""
    path = wav_audio.default_voice(os.path.join(ROOT, "build", "voice.wav"))
    if path:
        return path
    path = os.path.join(str(directory), "chirp.wav")
    with wave.open(path, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        samples = array(
            "h",
            [
                int(9000 * math.sin(2 * math.pi * (200 + index / 20) * index / 8000))
                for index in range(16000)
            ],
        )
        writer.writeframes(samples.tobytes())
    return path


class VoicePanel:
    def __init__(self, directory, voice):
        self.directory = str(directory)
        self.voice = voice
        self.process = PanelProcess(
            directory, extra_args=["--sip-port", "0", "--no-adapter", "--voice", voice]
        ).start()
        self.api(
            "POST", "/api/v1/device/call/dial/timeout", {"dial_timeout": 5, "forwarding_timeout": 5}
        )
        self.api(
            "POST",
            "/api/v1/device/sip/settings",
            panel_sip_account(DEAD_PROXY),
        )
        self.api("POST", "/api/v1/device/sip/enable", {"sip_enable": True})

    def api(self, method, path, body=None, expect=200):
        reply = self.process.request(method, path, body)
        assert reply.status == expect, (method, path, reply)
        return reply.json if reply.raw else None

    def call(self):
        return self.process.request("GET", "/sim/call", auth=None).json

    def hangup(self):
        return self.process.request("POST", "/sim/call/hangup", auth=None)

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; call: %s" % (what, self.call()))
            time.sleep(0.05)

    def recordings(self):
        return sorted(glob.glob(os.path.join(self.directory, "calls", "*.wav")))

    def log(self, event):
        items = self.api("GET", "/api/v1/log/items?limit=100")["list_items"]
        items.reverse()
        return [item["info"] for item in items if item["name"]["key"] == event]


@pytest.fixture
def voice_panel(tmp_path):
    panel = VoicePanel(tmp_path / "panel", _voice(tmp_path))
    yield panel
    panel.process.stop()


def _normalised_correlation(recorded, reference, lag):
    """Pearson correlation of recorded[lag:] with the (looping) reference."""
    count = min(len(recorded) - lag, 4 * len(reference))
    if count <= 0:
        return 0.0
    total_xy = total_xx = total_yy = 0.0
    total_x = total_y = 0.0
    length = len(reference)
    for index in range(count):
        x = recorded[lag + index]
        y = reference[index % length]
        total_x += x
        total_y += y
        total_xy += x * y
        total_xx += x * x
        total_yy += y * y
    mean_x = total_x / count
    mean_y = total_y / count
    covariance = total_xy / count - mean_x * mean_y
    spread = math.sqrt(
        max(total_xx / count - mean_x**2, 1e-9) * max(total_yy / count - mean_y**2, 1e-9)
    )
    return covariance / spread


def best_correlation(recorded, reference, step=160, max_lag_s=1.5):
    """(correlation, lag in samples) over frame-aligned lags: an echo returns
    whole 20 ms frames, so the delay is a whole number of frames."""
    best = (-1.0, 0)
    for lag in range(0, int(max_lag_s * 8000), step):
        value = _normalised_correlation(recorded, reference, lag)
        if value > best[0]:
            best = (value, lag)
    return best


@needs_sipp
@pytest.mark.parametrize("payload_type,codec", [(0, "PCMU"), (8, "PCMA")])
def test_keypad_call_to_an_echo_callee_records_the_visitor_voice(
    voice_panel, tmp_path, payload_type, codec
):
    directory = tmp_path / "echo"
    directory.mkdir()
    echo = Sipp(
        "uas_echo_codec.xml",
        directory,
        extra=["-rtp_echo", "-key", "pt", str(payload_type), "-key", "codec", codec],
    ).start()
    voice_panel.api(
        "POST",
        "/api/v1/forward/item/55",
        {"forward_entity_list": ["sip:5588@127.0.0.1:%d" % echo.port]},
    )
    voice_panel.api("POST", "/sim/keypad", {"keys": "55#"})
    voice_panel.wait_for(lambda: voice_panel.call()["state"] == "talking", 10, "answered")
    # Three seconds of voice out and back.
    voice_panel.wait_for(
        lambda: (voice_panel.call().get("media") or {}).get("audio_in", 0) >= 150, 10, "echo"
    )
    media = voice_panel.call()["media"]
    assert voice_panel.hangup().status == 200
    voice_panel.wait_for(lambda: voice_panel.call()["state"] == "idle", 10, "idle")
    assert echo.wait_blocking(15) == 0, echo.log()
    (recording,) = voice_panel.recordings()
    recorded = wav_audio.read_wav(recording)
    reference = wav_audio.read_wav(voice_panel.voice)
    correlation, lag = best_correlation(recorded, reference)
    print(
        "%s echo: correlation %.4f at %d ms, %d frames in"
        % (codec, correlation, lag // 8, media["audio_in"])
    )
    assert correlation >= 0.9, (correlation, lag)
    assert media["foreign"] == 0 and media["malformed"] == 0
    # The answer named one law: the INVITE offered both, PCMU first.
    with open(echo.message_file, errors="replace") as handle:
        messages = handle.read()
    assert "m=audio" in messages and "RTP/AVP 0 8 101" in messages


class SilentCallee:
    """A UDP 'SIP peer' that reads every INVITE and never answers (not even 100)."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.invites = []

    def drain(self):
        while True:
            try:
                data, _ = self.socket.recvfrom(65535)
            except (TimeoutError, socket.timeout):
                return self.invites
            message = sip_message.parse(data)
            if message.method == "INVITE":
                self.invites.append(message)

    def close(self):
        self.socket.close()


def test_a_callee_that_never_replies_is_unavailable_and_the_offer_port_is_even(voice_panel):
    silent = SilentCallee()
    try:
        voice_panel.api(
            "POST",
            "/api/v1/forward/item/56",
            {"forward_entity_list": ["sip:5588@127.0.0.1:%d" % silent.port]},
        )
        voice_panel.api("POST", "/sim/keypad", {"keys": "56#"})
        # dial_timeout (5 s) runs out with no response at all.
        voice_panel.wait_for(
            lambda: voice_panel.log("outgoing_call_missed"), 15, "the missed call logged"
        )
        voice_panel.wait_for(lambda: voice_panel.call()["state"] == "idle", 10, "idle")
        assert voice_panel.log("outgoing_call_missed") == [
            {"forward_number": 56, "reason": "unavailable"}
        ]
        assert [info["result"] for info in voice_panel.log("outgoing_call")] == ["unavailable"]
        invites = silent.drain()
        assert invites, "the INVITE never came"
        offer = sdp.parse(invites[0].body)
        port = offer.audio().port
        # RFC 3550 11: RTP on an even port, RTCP on the odd one above it.
        assert port % 2 == 0 and offer.audio().formats == [0, 8, 101]
        # No leg of the ended call is left closing (cancelling / hanging_up).
        last = voice_panel.call()["last_call"]
        assert [target["state"] for target in last["targets"]] == ["done"], last
    finally:
        silent.close()


@needs_sipp
def test_visitor_hangup_while_a_sipp_callee_rings_leaves_no_leg_cancelling(voice_panel, tmp_path):
    directory = tmp_path / "ring"
    directory.mkdir()
    ringing = Sipp("uas_ring_no_answer.xml", directory).start()
    voice_panel.api(
        "POST",
        "/api/v1/forward/item/57",
        {"forward_entity_list": ["sip:5588@127.0.0.1:%d" % ringing.port]},
    )
    voice_panel.api("POST", "/sim/keypad", {"keys": "57#"})
    voice_panel.wait_for(lambda: voice_panel.call()["state"] == "ringing", 10, "ringing")
    assert voice_panel.hangup().status == 200
    voice_panel.wait_for(lambda: voice_panel.call()["state"] == "idle", 10, "idle")
    assert ringing.wait_blocking(15) == 0, ringing.log()
    states = [target["state"] for target in voice_panel.call()["last_call"]["targets"]]
    assert states == ["done"], voice_panel.call()
    assert voice_panel.log("outgoing_call_missed") == [
        {"forward_number": 57, "reason": "caller_hung_up"}
    ]
