# MD5 against the RFC 1321 appendix A.5 test suite, on both runtimes: the
# pure-Python code always, and md5_hex (hashlib where the runtime has md5).
from panel.proto import md5

RFC_1321_VECTORS = (
    (b"", "d41d8cd98f00b204e9800998ecf8427e"),
    (b"a", "0cc175b9c0f1b6a831c399e269772661"),
    (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
    (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
    (b"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
    (
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "d174ab98d277d9f5a5611c2c9f419d9f",
    ),
    (b"1234567890" * 8, "57edf4a22be3c955ac49da2e2107b67a"),
)


def test_pure_md5_matches_rfc_1321_vectors():
    for data, expected in RFC_1321_VECTORS:
        assert md5.pure_md5_hex(data) == expected


def test_md5_hex_matches_rfc_1321_vectors():
    for data, expected in RFC_1321_VECTORS:
        assert md5.md5_hex(data) == expected


def test_padding_boundaries_agree_with_md5_hex():
    # 55, 56 and 64 bytes straddle the one-or-two padding blocks cases.
    for length in (55, 56, 57, 63, 64, 65, 119, 120, 128):
        data = bytes(range(length))
        assert md5.pure_md5_hex(data) == md5.md5_hex(data)


def test_incremental_updates_equal_one_shot():
    hasher = md5.Md5()
    for piece in (b"message", b" ", b"digest"):
        hasher.update(piece)
    assert hasher.hexdigest() == "f96b697d7cb7938d525a2f31aaf161d0"
    # digest() leaves the object usable: more data changes the result.
    hasher.update(b"!")
    assert hasher.hexdigest() == md5.pure_md5_hex(b"message digest!")


def test_text_is_hashed_as_utf8():
    assert md5.pure_md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72"
