# proto.sip_message.split_stream (RFC 3261 18.3 framing for TCP/TLS), on both
# runtimes: the same messages whether the bytes come whole or one at a time.
from panel.proto import sip_message
from panel.proto.sip_message import RemoteError

ONE = b"OPTIONS sip:a SIP/2.0\r\nl: 4\r\n\r\nbody"
TWO = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"


def test_split_whole_and_byte_by_byte_with_keepalives():
    stream = b"\r\n\r\n" + ONE + b"\r\n" + TWO + b"INVITE"
    messages, rest = sip_message.split_stream(stream)
    assert messages == [ONE, TWO] and rest == b"INVITE"
    found = []
    buffer = b""
    for index in range(len(stream)):
        buffer += stream[index : index + 1]
        messages, buffer = sip_message.split_stream(buffer)
        found.extend(messages)
    assert found == [ONE, TWO]


def test_unframeable_stream_is_a_remote_error():
    for stream in (b"X" * 5000, b"A\r\nContent-Length: x\r\n\r\n", b"A\r\nl: 9999\r\n\r\n"):
        try:
            sip_message.split_stream(stream)
        except RemoteError:
            continue
        raise AssertionError(stream)
