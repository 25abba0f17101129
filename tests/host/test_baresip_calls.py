"""Voice against a real softphone: the panel as `make run` starts it (host.run,
an espeak-ng phrase as the visitor's voice, one WAV per call of what it
heard) makes a keypad call to Debian's baresip set to auto-answer and to play
a phrase of its own (tests/support/baresip.py). Both directions are checked
by normalised cross-correlation after G.711 (>= 0.9, the lag searched): the
panel's WAV of the call against baresip's phrase, and baresip's recording of
the call against the panel's phrase; for PCMU and for PCMA. A resident's
RFC 4733 "1" from baresip opens lock 1.

Timing is never asserted: every wait polls with a deadline."""

import pytest

from support.baresip import Baresip, baresip_path
from support.voice import VoicePanel, both_directions, phrase_wav

pytestmark = pytest.mark.skipif(
    baresip_path() is None, reason="baresip missing: `make voip-peers` installs it"
)

DEAD_PROXY = "sip:127.0.0.1:9"
VISITOR = "Hello, this is the visitor at the front door. Please let me in. One two three."
RESIDENT = "Flat twelve here. Come in please, the lift is on the left. Four five six."


def phrases(directory):
    visitor = phrase_wav(str(directory / "visitor.wav"), VISITOR)
    resident = phrase_wav(str(directory / "resident.wav"), RESIDENT)
    if visitor is None or resident is None:
        pytest.skip("espeak-ng missing: the phrases cannot be made")
    return visitor, resident


@pytest.fixture
def voices(tmp_path):
    return phrases(tmp_path)


@pytest.fixture
def panel(tmp_path, voices):
    panel = VoicePanel(tmp_path / "panel", voices[0], DEAD_PROXY)
    panel.enable_sip()
    try:
        yield panel
    finally:
        panel.stop()


@pytest.fixture
def make_phone(tmp_path):
    phones = []

    def make(**options):
        phone = Baresip(tmp_path / ("phone%d" % len(phones)), **options)
        phones.append(phone)
        return phone.start()

    try:
        yield make
    finally:
        for phone in phones:
            phone.stop()


def talk(panel, phone, number, seconds_of_audio=6):
    """Dial `number` on the keypad, wait for the call and enough audio, hang up."""
    panel.api("POST", "/api/v1/forward/item/%d" % number, {"forward_entity_list": [phone.uri]})
    panel.api("POST", "/sim/keypad", {"keys": "%d#" % number})
    panel.wait_for(lambda: panel.call()["state"] == "talking", 15, "answered")
    frames = 50 * seconds_of_audio
    panel.wait_for(
        lambda: (panel.call().get("media") or {}).get("audio_in", 0) >= frames, 30, "audio in"
    )
    media = panel.call()["media"]
    assert panel.hangup().status == 200
    panel.wait_for(lambda: panel.call()["state"] == "idle", 10, "idle")
    phone.wait_for(lambda: phone.closed_by_peer() == 1, 10, "baresip got the BYE")
    return media


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_keypad_call_to_baresip_carries_voice_both_ways(panel, make_phone, voices, codec):
    phone = make_phone(play=voices[1], codec=codec)
    media = talk(panel, phone, 61)
    assert media["foreign"] == 0 and media["malformed"] == 0, media
    phone.stop()  # closes its WAV files
    # The law the phone was limited to is the one both sides used.
    assert "Set audio encoder: %s 8000Hz" % codec in phone.log(), phone.log()
    (panel_wav,) = panel.recordings()
    (phone_wav,) = phone.recordings("dec")
    figures = both_directions(panel_wav, phone_wav, phone.play, panel.voice, codec)
    assert figures["to_panel"] >= 0.9 and figures["to_phone"] >= 0.9, figures
    assert figures["own"] < 0.5, figures


def test_a_resident_digit_from_baresip_opens_the_door(panel, make_phone, voices):
    phone = make_phone(play=voices[1], codec="PCMA")
    panel.api("POST", "/api/v1/forward/item/62", {"forward_entity_list": [phone.uri]})
    panel.api("POST", "/sim/keypad", {"keys": "62#"})
    panel.wait_for(lambda: panel.call()["state"] == "talking", 15, "answered")
    assert panel.locks()[0]["openings"] == 0
    assert phone.send_digits("1")["ok"] is True
    panel.wait_for(lambda: panel.locks()[0]["openings"] >= 1, 10, "lock 1 opened")
    call = panel.call()
    assert call["door_openings"][0]["lock"] == 1 and call["door_openings"][0]["via"] == "dtmf"
    assert call["media"]["events"] >= 1, call["media"]
    assert "send DTMF digit: '1'" in phone.log()
    assert panel.hangup().status == 200
    panel.wait_for(lambda: panel.call()["state"] == "idle", 10, "idle")
