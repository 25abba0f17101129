"""Run Debian's kamailio (5.6) as a real registrar and proxy for the call tests.

Kamailio(work_dir).start() writes a config of its own under work_dir and runs
`kamailio -DD -E -f <cfg>` (foreground, log on stderr into kamailio.log) with
UDP and TCP listeners on one free loopback port and TLS on another, and
in-memory location (usrloc db_mode 0, no authentication: it is a registrar,
not a security check). make_certificates(directory) makes the CA and the
server certificate (CN and subjectAltName localhost / 127.0.0.1) with the
openssl command; kamailio's TLS listener uses them.

The routing script is the usual one of a small PBX proxy: in-dialog requests
follow the Record-Route (loose_route), REGISTER is saved, anything else is
looked up and relayed statefully. A client on TCP or TLS has no listener of
its own at its Contact, so (as kamailio's sample config does for clients
behind NAT) REGISTERs store the connection's source as the binding's
`received` address and dialog-forming requests get a Contact alias, so that
requests to the client take the connection it keeps open.
With nat_helper=False the script routes plainly by the Contact (RFC 3261);
accept_aliases=True then lets a Via ;alias (RFC 5923) name the connection,
outbound=True loads the outbound module (RFC 5626 flow tokens in Record-Route).

registered(user) tells whether usrloc holds a binding (kamailio's log line of
the routing script: "saved <user>"); log() returns the log.
"""

import glob
import os
import shutil
import subprocess

from support.baresip import free_tcp_port, free_udp_tcp_port
from support.processes import read_log, stop_process, wait_while_running


def kamailio_path():
    path = shutil.which("kamailio")
    if path is None and os.path.exists("/usr/sbin/kamailio"):
        path = "/usr/sbin/kamailio"
    return path


def module_dir():
    found = glob.glob("/usr/lib/*/kamailio/modules/tm.so")
    return os.path.dirname(found[0]) if found else None


def tls_module_present():
    directory = module_dir()
    return directory is not None and os.path.exists(os.path.join(directory, "tls.so"))


def make_certificates(directory):
    """ca.pem/ca.key and server.pem/server.key (signed by the CA) in directory."""
    directory = str(directory)

    def run(*args):
        subprocess.run(args, cwd=directory, check=True, capture_output=True)

    run(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=intercom test CA",
    )  # fmt: skip
    run(
        "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost",
    )  # fmt: skip
    with open(os.path.join(directory, "ext.cnf"), "w") as handle:
        handle.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(
        "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf",
    )  # fmt: skip
    return os.path.join(directory, "ca.pem")


ROUTING = r"""
request_route {
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    force_rport();
    if (has_totag()) {
        if (loose_route()) {
            handle_ruri_alias();
            t_relay();
            exit;
        }
        if (is_method("ACK")) {
            if (t_check_trans()) {
                t_relay();
            }
            exit;
        }
        handle_ruri_alias();
        t_relay();
        exit;
    }
    if (is_method("CANCEL")) {
        if (t_check_trans()) {
            t_relay();
        }
        exit;
    }
    t_check_trans();
    if (is_method("REGISTER")) {
        if ($proto != "udp") {
            fix_nated_register();
        }
        if (!save("location")) {
            sl_reply_error();
        } else {
            xlog("L_NOTICE", "saved $tU over $proto from $si:$sp\n");
        }
        exit;
    }
    if (is_method("INVITE")) {
        if ($proto != "udp") {
            set_contact_alias();
        }
        record_route();
    }
    if (!lookup("location")) {
        xlog("L_NOTICE", "no binding for $rU\n");
        sl_send_reply("404", "Not Found");
        exit;
    }
    xlog("L_NOTICE", "relaying $rm for $rU to $ru\n");
    t_relay();
}

onreply_route {
    if ($proto != "udp" && is_present_hf("Contact")) {
        set_contact_alias();
    }
}
"""


class Kamailio:
    def __init__(
        self, work_dir, certificates=True, nat_helper=True, accept_aliases=False, outbound=False
    ):
        self.directory = os.path.join(str(work_dir), "kamailio")
        self.port = free_udp_tcp_port()  # UDP and TCP
        self.tls_port = free_tcp_port()
        self.certificates = certificates
        self.nat_helper = nat_helper
        self.accept_aliases = accept_aliases
        self.outbound = outbound
        self.ca_file = None
        self.log_file = os.path.join(self.directory, "kamailio.log")
        self.process = None

    def _config(self):
        lines = [
            "#!KAMAILIO",
            "debug=2",
            "log_stderror=yes",
            "memdbg=5",
            "memlog=5",
            "children=2",
            "tcp_children=2",
            "auto_aliases=no",
            "dns=no",
            "rev_dns=no",
            # RFC 5923: a Via ;alias maps the client's host:port to the
            # connection it came on (kamailio's default is no).
            "tcp_accept_aliases=%s" % ("yes" if self.accept_aliases else "no"),
            "listen=udp:127.0.0.1:%d" % self.port,
            "listen=tcp:127.0.0.1:%d" % self.port,
        ]
        if self.certificates:
            lines += ["enable_tls=yes", "listen=tls:127.0.0.1:%d" % self.tls_port]
        lines += [
            'mpath="%s/"' % module_dir(),
        ]
        if self.certificates:
            lines.append('loadmodule "tls.so"')
        if self.outbound:
            # RFC 5626 edge proxy: record_route() puts a flow token in the
            # Record-Route of a request whose Contact has ;ob, loose_route()
            # sends later requests of the dialog down that flow.
            lines.append('loadmodule "outbound.so"')
        for module in (
            "tm", "sl", "rr", "pv", "maxfwd", "usrloc", "registrar", "textops",
            "siputils", "xlog", "sanity", "nathelper", "ctl",
        ):  # fmt: skip
            lines.append('loadmodule "%s.so"' % module)
        lines += [
            'modparam("ctl", "binrpc", "unix:%s/kamailio_ctl")' % self.directory,
            'modparam("usrloc", "db_mode", 0)',
            'modparam("registrar", "max_expires", 3600)',
            'modparam("registrar", "received_avp", "$avp(RECEIVED)")',
            'modparam("nathelper", "received_avp", "$avp(RECEIVED)")',
            'modparam("rr", "enable_full_lr", 1)',
        ]
        if self.certificates:
            lines.append('modparam("tls", "config", "%s/tls.cfg")' % self.directory)
        if self.outbound:
            # RFC 5626 registrations accepted, with Flow-Timer: 1 in the 200
            # (the client's keep-alive interval, seconds: short for the tests).
            lines += [
                'modparam("registrar", "outbound_mode", 1)',
                'modparam("registrar", "flow_timer", 1)',
            ]
        routing = ROUTING
        if not self.nat_helper:
            # Plain RFC 3261 routing: requests to a client go to its Contact as written.
            for call in ("fix_nated_register();", "set_contact_alias();", "handle_ruri_alias();"):
                routing = routing.replace(call, "$var(plain) = 1;")
        return "\n".join(lines) + "\n" + routing

    def _tls_config(self):
        return (
            "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
            "require_certificate = no\nprivate_key = %s/server.key\n"
            "certificate = %s/server.pem\n\n[client:default]\nmethod = TLSv1.2+\n"
            "verify_certificate = no\nrequire_certificate = no\n"
        ) % (self.directory, self.directory)

    def start(self):
        os.makedirs(self.directory, exist_ok=True)
        if self.certificates:
            self.ca_file = make_certificates(self.directory)
            with open(os.path.join(self.directory, "tls.cfg"), "w") as handle:
                handle.write(self._tls_config())
        config = os.path.join(self.directory, "kamailio.cfg")
        with open(config, "w") as handle:
            handle.write(self._config())
        self._log = open(self.log_file, "wb")
        self.process = subprocess.Popen(
            [
                kamailio_path(), "-DD", "-E", "-f", config, "-m", "32", "-M", "4",
                "-Y", self.directory, "-w", self.directory,
                "-P", os.path.join(self.directory, "kamailio.pid"),
            ],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            self.wait_for(self._listening, 20, "kamailio listening")
        except BaseException:
            self.stop()  # never leave a half-started process behind
            raise
        return self

    def _listening(self):
        import socket

        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                return False
        if self.certificates:
            with socket.socket() as probe:
                probe.settimeout(0.5)
                return probe.connect_ex(("127.0.0.1", self.tls_port)) == 0
        return True

    def wait_for(self, predicate, timeout, what):
        wait_while_running(self.process, "kamailio", self.log, predicate, timeout, what)

    def registrations(self, user):
        """The "saved" lines of the routing script for user: [(proto, source)]."""
        found = []
        for line in self.log().splitlines():
            marker = "saved %s over " % user
            if marker in line:
                proto, _, source = line.split(marker, 1)[1].partition(" from ")
                found.append((proto, source.strip()))
        return found

    def log(self):
        return read_log(self.log_file)

    def stop(self):
        if self.process is None:
            return
        stop_process(self.process, timeout=10, group=True)
        self._log.close()
