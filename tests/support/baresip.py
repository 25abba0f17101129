"""Run Debian's baresip (1.0.0) as a real softphone for the call tests.

Baresip(work_dir, play=wav, codec="PCMU", registrar=None).start() writes a
config directory of its own under work_dir and starts `baresip -f <dir>`:

- SIP on 127.0.0.1 (UDP and TCP on one free port), RTP on a free even range;
- one account, user `user` (default 5588): direct IP (no registration) or,
  with registrar=(host, port), registered there over UDP (regint 60);
- answermode=auto: every INVITE is answered at once;
- audio_codecs restricted to `codec` (PCMU or PCMA; only g711 is loaded);
- the microphone is the WAV file `play` (8 kHz 16-bit mono) followed by
  `silence_s` of silence (module aufile: at the end of its file baresip hangs
  up, so the silence keeps the call up until the panel ends it); the
  speaker goes nowhere (aubridge, a device no source reads), and what it
  hears is written to <dir>/sound/dump-*-dec.wav by the sndfile filter
  (recordings(); the -enc file is what it sent);
- a ctrl_tcp control port: send_digits("1") sends RFC 4733 events in the call.

baresip prints its log to stdout; log() returns it for assertion messages.
"""

import glob
import json
import os
import random
import shutil
import socket
import subprocess
import time
import wave

from support.processes import read_log, stop_process, wait_while_running
from support.sipp import free_udp_port_pair

MODULE_PATH = "/usr/lib/baresip/modules"


def baresip_path():
    return shutil.which("baresip")


def free_udp_tcp_port():
    """A random high port free for UDP and TCP on 127.0.0.1, with the next
    one free for TCP too (baresip's SIP takes UDP and TCP on it, and TLS on
    port + 1). Random, not the kernel's pick: this sandbox refuses a TCP bind
    to a port a UDP socket was just given. A small race is accepted."""
    for _ in range(200):
        port = random.randrange(20000, 60000)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", port))
            for offset in (0, 1):
                with socket.socket() as tcp:
                    tcp.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free for UDP and TCP")


def free_tcp_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _netstring(data):
    return b"%d:%s," % (len(data), data)


class Baresip:
    def __init__(
        self,
        work_dir,
        play,
        codec="PCMU",
        user="5588",
        registrar=None,
        password="s3cret",
        silence_s=40,
    ):
        if codec not in ("PCMU", "PCMA"):
            raise ValueError("codec: PCMU or PCMA")
        self.directory = os.path.join(str(work_dir), "baresip")
        self.sound_dir = os.path.join(self.directory, "sound")
        self.play = os.path.abspath(play)
        self.microphone = os.path.join(self.directory, "microphone.wav")
        self.silence_s = silence_s
        self.codec = codec
        self.user = user
        self.registrar = registrar
        self.password = password
        self.port = free_udp_tcp_port()
        self.rtp_port = free_udp_port_pair()
        self.ctrl_port = free_tcp_port()
        self.log_file = os.path.join(self.directory, "baresip.log")
        self.process = None

    @property
    def uri(self):
        """The SIP URI to call this phone directly."""
        return "sip:%s@127.0.0.1:%d" % (self.user, self.port)

    def _config(self):
        lines = [
            "poll_method epoll",
            # Its SDP names the loopback address, the only one the tests' panel talks to.
            "net_interface 127.0.0.1",
            "sip_listen 127.0.0.1:%d" % self.port,
            "call_local_timeout 120",
            "call_max_calls 4",
            # The speaker: a bridge device nobody reads from (no sound card here).
            "audio_player aubridge,nowhere",
            "audio_source aufile,%s" % self.microphone,
            "audio_alert aubridge,nowhere",
            "audio_level no",
            "ausrc_srate 8000",
            "auplay_srate 8000",
            "ausrc_channels 1",
            "auplay_channels 1",
            "audio_buffer 20-160",
            # RTP on an even port, RTCP on the next one (rtcp_mux off).
            "rtp_ports %d-%d" % (self.rtp_port, self.rtp_port + 3),
            "rtcp_mux no",
            "jitter_buffer_delay 2-10",
            "module_path %s" % MODULE_PATH,
            "module g711.so",
            "module aufile.so",
            "module aubridge.so",
            "module sndfile.so",
            "module_tmp account.so",
            "module_app menu.so",
            "module_app ctrl_tcp.so",
            "ctrl_tcp_listen 127.0.0.1:%d" % self.ctrl_port,
            "snd_path %s" % self.sound_dir,
        ]
        return "\n".join(lines) + "\n"

    def _account(self):
        params = ";answermode=auto;audio_codecs=%s;mwi=no;ptime=20" % self.codec.lower()
        if self.registrar is None:
            return "<sip:%s@127.0.0.1:%d>%s;regint=0\n" % (self.user, self.port, params)
        host, port = self.registrar
        return "<sip:%s@%s:%d;transport=udp>;auth_pass=%s%s;regint=60\n" % (
            self.user,
            host,
            port,
            self.password,
            params,
        )

    def _write_microphone(self):
        with wave.open(self.play, "rb") as reader:
            if (reader.getframerate(), reader.getsampwidth(), reader.getnchannels()) != (
                8000,
                2,
                1,
            ):
                raise ValueError("%s: 8 kHz 16-bit mono expected" % self.play)
            samples = reader.readframes(reader.getnframes())
        with wave.open(self.microphone, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(8000)
            writer.writeframes(samples + bytes(2 * 8000 * self.silence_s))

    def start(self):
        os.makedirs(self.sound_dir, exist_ok=True)
        self._write_microphone()
        with open(os.path.join(self.directory, "config"), "w") as handle:
            handle.write(self._config())
        with open(os.path.join(self.directory, "accounts"), "w") as handle:
            handle.write(self._account())
        with open(os.path.join(self.directory, "contacts"), "w") as handle:
            handle.write("")
        self._log = open(self.log_file, "wb")
        self.process = subprocess.Popen(
            [baresip_path(), "-f", self.directory],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_for(lambda: "baresip is ready" in self.log(), 15, "baresip ready")
        except BaseException:
            self.stop()  # never leave a half-started process behind
            raise
        return self

    def wait_for(self, predicate, timeout, what):
        wait_while_running(self.process, "baresip", self.log, predicate, timeout, what)

    def wait_registered(self, timeout=15):
        self.wait_for(
            lambda: "200 OK" in self.log() and "registered" in self.log(), timeout, "REGISTER"
        )

    def closed_by_peer(self):
        """How many calls the far end ended (baresip logs a received BYE as
        `session closed: Connection reset by peer`)."""
        return self.log().count("session closed: Connection reset by peer")

    def command(self, name, params=""):
        """One ctrl_tcp command; its JSON response."""
        message = json.dumps({"command": name, "params": params, "token": "t"}).encode()
        with socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=5) as connection:
            connection.sendall(_netstring(message))
            buffer = b""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                # Event netstrings ({"event": true, ...}) may come before the response.
                head, _, rest = buffer.partition(b":")
                if head.isdigit() and len(rest) > int(head):
                    payload = json.loads(rest[: int(head)])
                    if payload.get("response"):
                        return payload
                    buffer = rest[int(head) + 1 :]
                    continue
                chunk = connection.recv(4096)
                if not chunk:
                    break
                buffer += chunk
        raise AssertionError("no ctrl_tcp response to %s: %r" % (name, buffer))

    def send_digits(self, digits):
        return self.command("sndcode", digits)

    def recordings(self, kind="dec"):
        return sorted(glob.glob(os.path.join(self.sound_dir, "dump-*-%s.wav" % kind)))

    def log(self):
        return read_log(self.log_file)

    def stop(self):
        """Quit baresip (SIGTERM: it hangs up and closes its WAV files), then kill."""
        if self.process is None:
            return
        stop_process(self.process)
        self._log.close()
