# Digest authentication (RFC 2617 / RFC 7616 vectors, SIP challenges).
from checks import raises
from panel.proto import digest
from panel.proto.sip_message import RemoteError


def test_rfc_2617_qop_auth_vector():
    response = digest.compute_response(
        "MD5",
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
        "GET",
        "/dir/index.html",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "auth",
        1,
        "0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_rfc_7616_md5_and_sha256_vectors():
    arguments = (
        "Mufasa",
        "http-auth@example.org",
        "Circle of Life",
        "GET",
        "/dir/index.html",
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "auth",
        1,
        "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert digest.compute_response("MD5", *arguments) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest.compute_response("SHA-256", *arguments) == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


def test_no_qop_response_rfc_2069_style():
    # HA1 = md5(user:realm:pass), HA2 = md5(method:uri), response = md5(HA1:nonce:HA2)
    from panel.proto.md5 import md5_hex

    ha1 = md5_hex("100001:asterisk:s3cret")
    ha2 = md5_hex("REGISTER:sip:10.0.0.1")
    expected = md5_hex("%s:%s:%s" % (ha1, "abc123", ha2))
    assert (
        digest.compute_response(
            "MD5", "100001", "asterisk", "s3cret", "REGISTER", "sip:10.0.0.1", "abc123"
        )
        == expected
    )


def test_parse_challenge_and_answer_round_trip():
    challenge = digest.parse_challenge(
        'Digest realm="asterisk", nonce="5f3e", opaque="xyz", algorithm=MD5, '
        'qop="auth,auth-int", stale=FALSE'
    )
    assert challenge.realm == "asterisk" and challenge.nonce == "5f3e"
    assert challenge.qop_options == ["auth", "auth-int"]
    assert not challenge.stale and challenge.header_name == "authorization"
    value = digest.authorization(
        challenge, "REGISTER", "sip:10.0.0.1", "100001", "s3cret", "0a4f113b", 1
    )
    assert value.startswith("Digest ")
    assert "nc=00000001" in value and 'cnonce="0a4f113b"' in value
    assert 'opaque="xyz"' in value and "qop=auth" in value
    parameters = digest.parse_authorization(value)
    assert parameters["username"] == "100001" and parameters["uri"] == "sip:10.0.0.1"
    assert digest.verify(parameters, "REGISTER", "s3cret")
    assert not digest.verify(parameters, "REGISTER", "wrong")
    assert not digest.verify(parameters, "INVITE", "s3cret")


def test_no_qop_challenge_gives_no_nc():
    challenge = digest.parse_challenge('Digest realm="r", nonce="n"', proxy=True)
    assert challenge.header_name == "proxy-authorization"
    value = digest.authorization(challenge, "INVITE", "sip:5588@r", "u", "p", "c")
    assert "nc=" not in value and "cnonce" not in value
    assert digest.verify(digest.parse_authorization(value), "INVITE", "p")


def test_md5_sess_round_trip():
    challenge = digest.parse_challenge('Digest realm="r", nonce="n", algorithm=MD5-sess, qop=auth')
    value = digest.authorization(challenge, "REGISTER", "sip:r", "u", "p", "cn", 7)
    assert "nc=00000007" in value
    assert digest.verify(digest.parse_authorization(value), "REGISTER", "p")


def test_bad_challenges_are_remote_errors():
    for text in (
        'Basic realm="x"',
        "Digest",
        'Digest realm="r"',
        'Digest realm="r", nonce="n", algorithm=SHA-1',
        'Digest realm="r", nonce="n", qop="auth-int"',
        'Digest realm="r", nonce="' + "n" * 300 + '"',
        "Digest realm",
    ):
        raises(RemoteError, digest.parse_challenge, text)
