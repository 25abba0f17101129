# MD5 hex digests for the login contract (BAS-IP 2.1 sends the password's MD5).
# The board's hashlib may have no md5 (the MicroPython WebAssembly build has only
# sha256), so fall back to the pure-Python MD5 of the SIP stack.
try:
    from hashlib import md5 as _md5
except ImportError:
    _md5 = None


def md5_hex(text):
    data = text.encode() if isinstance(text, str) else text
    if _md5 is not None:
        digest = _md5(data).digest()
    else:
        from panel.proto.md5 import md5_digest
        digest = md5_digest(data)
    return "".join("%02x" % byte for byte in digest)
