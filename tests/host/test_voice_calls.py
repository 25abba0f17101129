"""Voice on real calls: the panel as `make run` starts it (host.run, a WAV file
as the visitor's voice, one WAV per call of what it heard), real peers on
loopback: sipp echoing RTP (-rtp_echo) with one G.711 law in its answer, and
small UDP peers of our own where sipp cannot do what a case needs (a callee
that never answers at all; one that reports where our RTP and RTCP come from).

Timing is never asserted: waits poll with a deadline.
"""

import math
import os
import socket
import wave
from array import array

import pytest

from host import wav_audio
from panel.proto import sdp, sip_message
from support.sipp import Sipp, sipp_path
from support.voice import VoicePanel, best_correlation, looped

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


@pytest.fixture
def voice_panel(tmp_path):
    panel = VoicePanel(tmp_path / "panel", _voice(tmp_path), DEAD_PROXY, dial_timeout=5)
    panel.enable_sip()
    yield panel
    panel.stop()


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
    # The panel repeats its phrase: the echo is matched against the loop.
    correlation, lag = best_correlation(recorded, looped(reference), max_lag_s=1.5, loop=True)
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
