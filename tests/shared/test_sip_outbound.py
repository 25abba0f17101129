"""RFC 5626 instance IDs from the device serial number (proto.sip_outbound)."""

from panel.proto.sip_outbound import instance_urn


def test_a_uuid_serial_is_the_instance_id_itself():
    serial = "0D9F5B3E-2C41-4A7E-9F0E-3B8F2A1C6D55"
    assert instance_urn(serial) == "urn:uuid:0d9f5b3e-2c41-4a7e-9f0e-3b8f2a1c6d55"


def test_another_serial_gives_a_stable_name_based_uuid():
    first = instance_urn("chip-a4cf12345678")
    assert first == instance_urn("chip-a4cf12345678")  # the same after every boot
    assert first != instance_urn("chip-a4cf12345679")  # never another panel's
    text = first[len("urn:uuid:") :]
    groups = text.split("-")
    assert [len(group) for group in groups] == [8, 4, 4, 4, 12]
    assert groups[2][0] == "3"  # RFC 4122 version 3 (MD5, name-based)
    assert groups[3][0] in "89ab"  # RFC 4122 variant
    assert not text.strip("0123456789abcdef-")
