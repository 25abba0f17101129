# RFC 5626 (SIP outbound) identifiers: the instance ID a user agent keeps
# for life (+sip.instance of its REGISTER Contact, RFC 5626 4.1), made from
# the device serial number of the board file.
#
#   instance_urn(serial) -> "urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
#
# A serial that already is a UUID (the host and unix boards' are) is used as
# it is, in lower case; any other (an ESP32's MAC-based serial, say) gives a
# name-based UUID (RFC 4122 4.3, version 3: MD5 of the serial), so the same
# panel always has the same instance ID and two panels never share one.
from panel.proto.md5 import md5_hex

_HEX = "0123456789abcdef"


def _is_uuid(text):
    if len(text) != 36:
        return False
    for index in range(36):
        if index in (8, 13, 18, 23):
            if text[index] != "-":
                return False
        elif text[index] not in _HEX:
            return False
    return True


def instance_urn(serial):
    text = str(serial or "").strip().lower()
    if not _is_uuid(text):
        digest = md5_hex(b"intercom-panel:" + text.encode())
        # RFC 4122 4.3: version 3 in the high nibble of time_hi, variant 10x.
        variant = _HEX[8 | (int(digest[16], 16) & 3)]
        text = "%s-%s-3%s-%s%s-%s" % (
            digest[0:8],
            digest[8:12],
            digest[13:16],
            variant,
            digest[17:20],
            digest[20:32],
        )
    return "urn:uuid:" + text
