"""Raw HTTP over real sockets for the server-limit tests: what a hostile or
broken client does (floods, slow bytes, silence) and reading answers off a
socket byte-exact, pipelined ones included."""

import socket
import threading
import time


def connect(port, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_answer(sock, buffered=b""):
    """(status, headers with lower-case names, body, bytes after it)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed before an answer: %r" % data)
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed inside a body")
        rest += chunk
    return int(lines[0].split(" ")[1]), headers, rest[:length], rest[length:]


def closed_by_server(sock, within):
    """Seconds until the server closed sock (recv gives b"" or a reset), or
    None if it is still open after `within` seconds."""
    start = time.monotonic()
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(65536):
                return time.monotonic() - start
    except ConnectionResetError:
        return time.monotonic() - start
    except socket.timeout:
        return None


def flood(port, path, line, total_bytes):
    """Send a request line and then header lines until total_bytes or the
    server stops reading; the answer, read while sending, as _read_answer."""
    sock = connect(port)
    sent = [0]

    def send():
        chunk = line * (65536 // len(line))
        try:
            sock.sendall(b"GET %s HTTP/1.1\r\nHost: panel\r\n" % path.encode())
            while sent[0] < total_bytes:
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server closed: expected

    sender = threading.Thread(target=send)
    sender.start()
    try:
        answer = read_answer(sock)
    finally:
        sender.join(30)
        sock.close()
    return answer, sent[0]
