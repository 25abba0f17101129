# SDP (RFC 4566) offer/answer (RFC 3264) for the panel's one audio stream:
# PCMU/8000 (payload type 0), PCMA/8000 (8) and telephone-event/8000
# (RFC 4733, dynamic payload type, 101 in our offers). We offer both laws,
# PCMU first; the plan takes the first of them the peer lists (an answer's
# order is the answerer's choice, RFC 3264 6.1). Pure: addresses, ports and session ids
# come in as arguments. Bounded: the body is at most one SIP datagram.
from panel.compat import const
from panel.proto.sip_message import MAX_DATAGRAM, RemoteError

# Lines in one description (a typical softphone answer has 15 to 30).
_MAX_LINES = const(128)
# Media sections considered (audio, video, ...): we use the first audio one.
_MAX_MEDIA = const(8)
# Formats listed on one m= line.
_MAX_FORMATS = const(32)

PCMU_PAYLOAD_TYPE = const(0)
PCMA_PAYLOAD_TYPE = const(8)
# The audio encodings we speak, in our order of preference: (SDP encoding
# name lower-case, static payload type). proto.g711 codes both.
AUDIO_CODECS = (("pcmu", PCMU_PAYLOAD_TYPE), ("pcma", PCMA_PAYLOAD_TYPE))
_RTPMAP_NAMES = {PCMU_PAYLOAD_TYPE: "PCMU", PCMA_PAYLOAD_TYPE: "PCMA"}
TELEPHONE_EVENT_PAYLOAD_TYPE = const(101)
DEFAULT_PTIME = const(20)


class Media:
    """One m= section: kind, port, formats and their attributes."""

    def __init__(self, kind, port, protocol, formats):
        self.kind = kind
        self.port = port
        self.protocol = protocol
        self.formats = formats
        self.rtpmap = {}  # payload type -> (encoding lower-case, clock rate)
        self.fmtp = {}  # payload type -> parameter text
        self.ptime = None
        self.direction = "sendrecv"
        self.address = None  # media-level c= line, if any

    def payload_type_for(self, encoding, rate):
        """The payload type this section uses for encoding/rate, or None."""
        for payload_type in self.formats:
            mapped = self.rtpmap.get(payload_type)
            if mapped is None:
                # Static types need no rtpmap (RFC 3551): 0 is PCMU/8000, 8 PCMA/8000.
                if rate == 8000 and (
                    (payload_type == PCMU_PAYLOAD_TYPE and encoding == "pcmu")
                    or (payload_type == PCMA_PAYLOAD_TYPE and encoding == "pcma")
                ):
                    return payload_type
            elif mapped[0] == encoding and mapped[1] == rate:
                return payload_type
        return None

    def first_audio_codec(self):
        """(encoding, payload type) of the first listed format we speak, or None."""
        for payload_type in self.formats:
            for encoding, _ in AUDIO_CODECS:
                if self.payload_type_for(encoding, 8000) == payload_type:
                    return encoding, payload_type
        return None


class SessionDescription:
    def __init__(self):
        self.origin = None
        self.address = None  # session-level c= address
        self.media = []

    def audio(self):
        """The first audio section with a non-zero port, or None."""
        for media in self.media:
            if media.kind == "audio" and media.port != 0:
                return media
        return None

    def audio_address(self):
        media = self.audio()
        if media is None:
            return None
        return media.address or self.address


def _parse_int(text, low, high, what):
    if not text.isdigit() or len(text) > 10:
        raise RemoteError("Bad SDP %s" % what, 488)
    value = int(text)
    if not low <= value <= high:
        raise RemoteError("SDP %s out of range" % what, 488)
    return value


def _parse_connection(value):
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise RemoteError("Bad SDP connection line", 488)
    # Multicast TTL/count suffix (a.b.c.d/127) is not for us; keep the address.
    return parts[2].split("/")[0]


def parse(body):
    """SDP bytes into a SessionDescription, or RemoteError (488)."""
    if len(body) > MAX_DATAGRAM:
        raise RemoteError("SDP too large", 513)
    try:
        text = bytes(body).decode()
    except UnicodeError:
        raise RemoteError("SDP is not UTF-8", 488)
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) > _MAX_LINES:
        raise RemoteError("Too many SDP lines", 488)
    description = SessionDescription()
    media = None
    seen_version = False
    for line in lines:
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise RemoteError("Bad SDP line", 488)
        kind, value = line[0], line[2:]
        if kind == "v":
            if value != "0":
                raise RemoteError("Unsupported SDP version", 488)
            seen_version = True
        elif not seen_version:
            raise RemoteError("SDP must start with v=0", 488)
        elif kind == "o":
            description.origin = value
        elif kind == "c":
            if media is None:
                description.address = _parse_connection(value)
            else:
                media.address = _parse_connection(value)
        elif kind == "m":
            if len(description.media) >= _MAX_MEDIA:
                raise RemoteError("Too many SDP media", 488)
            parts = value.split()
            if len(parts) < 4:
                raise RemoteError("Bad SDP media line", 488)
            if len(parts) - 3 > _MAX_FORMATS:
                raise RemoteError("Too many SDP formats", 488)
            port = _parse_int(parts[1].split("/")[0], 0, 65535, "port")
            formats = []
            if parts[2].startswith("RTP/"):
                for item in parts[3:]:
                    formats.append(_parse_int(item, 0, 127, "payload type"))
            media = Media(parts[0], port, parts[2], formats)
            description.media.append(media)
        elif kind == "a" and media is not None:
            _parse_attribute(media, value)
    if not seen_version:
        raise RemoteError("Empty SDP", 488)
    return description


def _parse_attribute(media, value):
    colon = value.find(":")
    name = value if colon < 0 else value[:colon]
    argument = "" if colon < 0 else value[colon + 1 :]
    if name in ("sendrecv", "sendonly", "recvonly", "inactive"):
        media.direction = name
    elif name == "ptime":
        media.ptime = _parse_int(argument.strip(), 1, 1000, "ptime")
    elif name in ("rtpmap", "fmtp"):
        space = argument.find(" ")
        if space <= 0:
            raise RemoteError("Bad SDP %s" % name, 488)
        payload_type = _parse_int(argument[:space], 0, 127, "payload type")
        rest = argument[space + 1 :].strip()
        if name == "fmtp":
            media.fmtp[payload_type] = rest
            return
        parts = rest.split("/")
        if len(parts) < 2:
            raise RemoteError("Bad SDP rtpmap", 488)
        rate = _parse_int(parts[1], 1, 1000000, "clock rate")
        media.rtpmap[payload_type] = (parts[0].lower(), rate)


def build(
    session_id,
    version,
    address,
    port,
    telephone_event_type=TELEPHONE_EVENT_PAYLOAD_TYPE,
    ptime=DEFAULT_PTIME,
    direction="sendrecv",
    audio_types=(PCMU_PAYLOAD_TYPE, PCMA_PAYLOAD_TYPE),
):
    """Our offer (or answer) body: the audio types (PCMU, PCMA) and
    telephone-event on one audio line. The port is even (RFC 3550 11: RTCP
    is on port + 1); drivers.sockets.udp_socket picks such ports."""
    family = "IP6" if ":" in address else "IP4"
    formats = " ".join(["%d" % payload_type for payload_type in audio_types])
    if telephone_event_type is not None:
        formats += " %d" % telephone_event_type
    lines = [
        "v=0",
        "o=panel %d %d IN %s %s" % (session_id, version, family, address),
        "s=intercom-panel",
        "c=IN %s %s" % (family, address),
        "t=0 0",
        "m=audio %d RTP/AVP %s" % (port, formats),
    ]
    for payload_type in audio_types:
        lines.append("a=rtpmap:%d %s/8000" % (payload_type, _RTPMAP_NAMES[payload_type]))
    if telephone_event_type is not None:
        lines.append("a=rtpmap:%d telephone-event/8000" % telephone_event_type)
        lines.append("a=fmtp:%d 0-15" % telephone_event_type)
    lines.append("a=ptime:%d" % ptime)
    lines.append("a=%s" % direction)
    return ("\r\n".join(lines) + "\r\n").encode()


class MediaPlan:
    """What both sides agreed: where to send RTP, which payload types, ptime."""

    def __init__(self, address, port, audio_type, event_type, ptime, direction, codec="pcmu"):
        self.codec = codec  # "pcmu" or "pcma": proto.g711.codec_named(codec)
        self.address = address
        self.port = port
        self.audio_type = audio_type
        self.event_type = event_type
        self.ptime = ptime
        self.direction = direction


def negotiate(description):
    """The MediaPlan from the peer's offer or answer; RemoteError 488 if unusable."""
    media = description.audio()
    if media is None:
        raise RemoteError("No audio in SDP", 488)
    if not media.protocol.startswith("RTP/"):
        raise RemoteError("Audio is not RTP", 488)
    chosen = media.first_audio_codec()
    if chosen is None:
        raise RemoteError("Neither PCMU nor PCMA offered", 488)
    codec, audio_type = chosen
    address = media.address or description.address
    if address is None:
        raise RemoteError("No SDP connection address", 488)
    event_type = media.payload_type_for("telephone-event", 8000)
    return MediaPlan(
        address,
        media.port,
        audio_type,
        event_type,
        media.ptime or DEFAULT_PTIME,
        media.direction,
        codec,
    )


_REVERSED_DIRECTION = {"sendonly": "recvonly", "recvonly": "sendonly"}


def answer(offer, session_id, address, port):
    """(answer body, MediaPlan) for a peer's offer (RFC 3264 section 6)."""
    plan = negotiate(offer)
    direction = _REVERSED_DIRECTION.get(plan.direction, plan.direction)
    body = build(
        session_id,
        session_id,
        address,
        port,
        plan.event_type,
        plan.ptime,
        direction,
        (plan.audio_type,),
    )
    return body, plan
