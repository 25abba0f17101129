# SDP offer/answer for PCMU and telephone-event (RFC 4566, 3264, 4733).
from checks import raises
from panel.proto import sdp
from panel.proto.sip_message import RemoteError

# A typical softphone answer: session-level c=, dynamic event type 96, extras.
SOFTPHONE = (
    b"v=0\r\no=- 3912 3913 IN IP4 192.168.1.20\r\ns=pjmedia\r\n"
    b"c=IN IP4 192.168.1.20\r\nt=0 0\r\na=X-nat:0\r\n"
    b"m=audio 4002 RTP/AVP 8 0 96\r\na=rtcp:4003 IN IP4 192.168.1.20\r\n"
    b"a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=ptime:30\r\n"
    b"a=sendrecv\r\nm=video 0 RTP/AVP 31\r\n"
)


def test_build_offer_parses_back():
    body = sdp.build(1234, 1, "10.0.0.7", 40000)
    description = sdp.parse(body)
    media = description.audio()
    assert description.audio_address() == "10.0.0.7"
    assert media.port == 40000 and media.formats == [0, 8, 101]
    assert media.rtpmap[8] == ("pcma", 8000)
    assert media.rtpmap[101] == ("telephone-event", 8000)
    assert media.rtpmap[0] == ("pcmu", 8000)
    assert media.fmtp[101] == "0-15" and media.ptime == 20
    assert body.startswith(b"v=0\r\no=panel 1234 1 IN IP4 10.0.0.7\r\n")


def test_negotiate_reads_the_peer_choices():
    plan = sdp.negotiate(sdp.parse(SOFTPHONE))
    assert (plan.address, plan.port) == ("192.168.1.20", 4002)
    # The peer lists PCMA first: its choice (RFC 3264 6.1).
    assert plan.audio_type == 8 and plan.codec == "pcma"
    assert plan.event_type == 96 and plan.ptime == 30
    pcmu_first = sdp.negotiate(sdp.parse(SOFTPHONE.replace(b" 8 0 96", b" 0 8 96")))
    assert pcmu_first.audio_type == 0 and pcmu_first.codec == "pcmu"


def test_answer_mirrors_event_type_and_direction():
    offer = sdp.parse(SOFTPHONE.replace(b"a=sendrecv", b"a=sendonly"))
    body, plan = sdp.answer(offer, 77, "10.0.0.7", 40002)
    answer_media = sdp.parse(body).audio()
    assert answer_media.formats == [8, 96] and answer_media.direction == "recvonly"
    assert plan.port == 4002


def test_static_pcmu_without_rtpmap_and_media_level_connection():
    body = (
        b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        b"m=audio 5004 RTP/AVP 0\r\nc=IN IP4 10.1.1.1\r\n"
    )
    plan = sdp.negotiate(sdp.parse(body))
    assert plan.address == "10.1.1.1" and plan.audio_type == 0 and plan.codec == "pcmu"
    static_pcma = sdp.negotiate(sdp.parse(body.replace(b"RTP/AVP 0", b"RTP/AVP 8")))
    assert static_pcma.audio_type == 8 and static_pcma.codec == "pcma"
    assert plan.event_type is None and plan.ptime == 20


def test_unusable_offers_are_488():
    no_pcmu = SOFTPHONE.replace(b" 8 0 96", b" 96")
    assert raises(RemoteError, sdp.negotiate, sdp.parse(no_pcmu)).status == 488
    no_address = b"v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n"
    assert raises(RemoteError, sdp.negotiate, sdp.parse(no_address)).status == 488
    video_only = b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5004 RTP/AVP 31\r\n"
    assert raises(RemoteError, sdp.negotiate, sdp.parse(video_only)).status == 488


def test_malformed_sdp_is_remote_error():
    cases = [
        b"",
        b"x=1\r\n",
        b"v=1\r\n",
        b"v=0\r\nm=audio\r\n",
        b"v=0\r\nm=audio 99999 RTP/AVP 0\r\n",
        b"v=0\r\nc=IN XX 1.2.3.4\r\n",
        b"v=0\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:0\r\n",
        b"v=0\r\n\xff\r\n",
        b"v=0\r\n" + b"a=x\r\n" * 200,
    ]
    for body in cases:
        raises(RemoteError, sdp.parse, body)
