"""SIP over TCP (sipp's TCP mode, `-t t1`) and TLS (a small registrar of our
own behind ssl, with a CA and a server certificate made here with openssl):
the user agent registers over one connection, writes Via TCP/TLS and
;transport= in its Contact, and its messages are framed by Content-Length."""

import asyncio
import socket
import ssl
import subprocess
import time

import pytest

from panel.drivers.sip_ua import SipUserAgent
from panel.proto import sip_message
from support.sipp import Sipp, sipp_path

SETTINGS = {
    "realm": "127.0.0.1",
    "user": "100001",
    "password": "s3cret",
    "user_id": "",
    "registration_interval": 30,
    "outbound": "",
}


def _udp_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _until(condition, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.skipif(sipp_path() is None, reason="sipp missing")
async def test_register_over_tcp_with_sipp(tmp_path):
    sipp = Sipp("registrar_once.xml", tmp_path, tcp=True).start()
    port = sipp.port
    udp = _udp_socket()
    ua = SipUserAgent(udp, udp.getsockname())
    ua.start()
    try:
        ua.register(dict(SETTINGS, proxy="sip:127.0.0.1:%d" % port, transport="tcp"))
        await _until(lambda: ua.status()["sip_status"] == "OK")
        assert ua._stream.counters["connects"] == 1
        status = await sipp.wait(10)
        assert status == 0, sipp.log()
        with open(sipp.message_file, errors="replace") as handle:
            log = handle.read()
        assert "Via: SIP/2.0/TCP 127.0.0.1" in log and ";transport=tcp>" in log
    finally:
        ua.stop()
        ua.unregister()
        sipp.stop()
        udp.close()


def _make_certificates(directory):
    run = lambda *args: subprocess.run(args, cwd=directory, check=True, capture_output=True)  # noqa: E731
    run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=test CA",
    )
    run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    )
    with open(directory / "ext.cnf", "w") as handle:
        handle.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(
        "openssl",
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    )


async def test_register_over_tls_with_our_ca(tmp_path):
    _make_certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tmp_path / "server.pem"), str(tmp_path / "server.key"))
    received = []

    async def registrar(reader, writer):
        buffer = b""
        while True:
            data = await reader.read(4096)
            if not data:
                return
            buffer += data
            messages, buffer = sip_message.split_stream(buffer)
            for raw in messages:
                request = sip_message.parse(raw)
                received.append(request)
                response = sip_message.make_response(request, 200, to_tag="reg")
                response.add("expires", "60")
                writer.write(response.to_bytes())
                await writer.drain()

    server = await asyncio.start_server(registrar, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    udp = _udp_socket()
    ua = SipUserAgent(udp, udp.getsockname())
    ua.start()
    try:
        settings = dict(SETTINGS, proxy="sip:localhost:%d" % port, transport="tls")
        settings["tls"] = {"ca_file": str(tmp_path / "ca.pem"), "verify": True}
        ua.register(settings)
        await _until(lambda: ua.status()["sip_status"] == "OK")
        register = received[0]
        assert register.top_via().transport == "TLS"
        # RFC 5626 4.2.1: the flow's instance and reg-id, outbound supported.
        contact = register.get("contact")
        assert ';transport=tls>;+sip.instance="<urn:uuid:' in contact, contact
        assert contact.endswith(";reg-id=1"), contact
        assert register.get("supported") == "outbound, path"
        assert "alias" in register.top_via().parameters
        # A CA that did not sign the server's certificate: no connection, ERROR.
        other = tmp_path / "other"
        other.mkdir()
        _make_certificates(other)
        settings["tls"] = {"ca_file": str(other / "ca.pem"), "verify": True}
        ua.register(settings)
        await asyncio.sleep(1)
        assert ua._stream.counters["connects"] == 0 and ua._stream.counters["drops"] == 1
        assert len(received) == 1
    finally:
        ua.stop()
        ua.unregister()
        server.close()
        udp.close()
