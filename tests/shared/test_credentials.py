from panel.core.credentials import decode_base64, parse_basic


def test_decode_base64_matches_known_values():
    assert decode_base64("YWRtaW46MTIzNDU2") == b"admin:123456"
    assert decode_base64("YQ==") == b"a"
    assert decode_base64("YWI=") == b"ab"
    assert decode_base64("") == b""


def test_decode_base64_rejects_garbage():
    for text in ("YWRtaW4", "????", "YW=u", "a" * 300, "YWRt aW4="):
        assert decode_base64(text) is None, text


def test_parse_basic():
    assert parse_basic("YWRtaW46MTIzNDU2") == ("admin", "123456")
    assert parse_basic("YWRtaW4=") is None  # no colon
    assert parse_basic("//79") is None  # not UTF-8
    assert parse_basic("OnA6cQ==") == ("", "p:q")  # password may hold colons
