"""``leasedns update``: nsupdate's language and exit codes, plus deferred deletes and leases.

Exit status as nsupdate: 0 on success, 1 on a syntax or fatal error, 2 when an update failed.
Replies are read from the socket here rather than by ``dns.query`` so that a reply whose TSIG
does not verify can still be decoded and its RCODE reported, as nsupdate does.
"""

from __future__ import annotations

import getopt
import ipaddress
import os
import socket
import struct
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO, cast

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TSIG
import dns.tsig

import leasedns
from leasedns import keys
from leasedns.cli import nsupdate_lang as lang
from leasedns.cli.message_text import message_text
from leasedns.keys import TsigKey
from leasedns.wire import names
from leasedns.wire.names import Name

DEFAULT_PORT = 53
UDP_REQUEST_LIMIT = 512
"""Requests larger than this go over TCP, as nsupdate does."""
SESSION_KEY_FILE = "/run/session.key"
RESOLV_CONF = "/etc/resolv.conf"

USAGE = (
    "usage: leasedns update [-dDilv46] [-y [hmac:]keyname:secret | -k keyfile] [-p port] "
    "[-t timeout] [-u udptimeout] [-r udpretries] [-C resolvconf] [filename]"
)

TSIG_ERROR_NAMES = {
    16: "BADSIG",
    17: "BADKEY",
    18: "BADTIME",
    19: "BADMODE",
    20: "BADNAME",
    21: "BADALG",
    22: "BADTRUNC",
}


class UpdateAbortedError(Exception):
    """A failure after which the client stops with status 1, as nsupdate's fatal()."""


class BadReplyError(Exception):
    """A reply that is not a DNS message."""


@dataclass(frozen=True)
class Endpoint:
    """An address and port: the server an update goes to, or the local address it leaves from."""

    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.address}#{self.port}"


@dataclass
class ClientOptions:
    """Command-line flags, named after nsupdate's."""

    debug: bool = False
    use_tcp: bool = False
    port: int = DEFAULT_PORT
    timeout: int = 300
    udp_timeout: int = 3
    udp_retries: int = 3
    key: TsigKey | None = None
    local_only: bool = False
    family: int = socket.AF_UNSPEC
    interactive: bool = False
    input_path: str | None = None
    resolv_conf: str = RESOLV_CONF
    show_version: bool = False


@dataclass(frozen=True)
class Reply:
    """A decoded reply, and what was wrong with its TSIG if anything."""

    message: dns.message.Message
    tsig_problem: str | None = None


def read_nameservers(text: str) -> list[str]:
    """``nameserver`` addresses of a resolv.conf."""
    servers = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            servers.append(parts[1])
    return servers


def parse_arguments(argv: list[str]) -> ClientOptions:
    """nsupdate's flags; raises UpdateAbortedError with the message to print."""
    try:
        flags, rest = getopt.getopt(argv, "dDilvV46y:k:p:t:u:r:C:L:h")
    except getopt.GetoptError as e:
        raise UpdateAbortedError(f"{e}\n{USAGE}") from None
    options = ClientOptions()
    key_file: str | None = None
    key_text: str | None = None
    for flag, value in flags:
        if flag in ("-d", "-D"):
            options.debug = True
        elif flag == "-i":
            options.interactive = True
        elif flag == "-l":
            options.local_only = True
        elif flag == "-v":
            options.use_tcp = True
        elif flag == "-V":
            options.show_version = True
        elif flag == "-4":
            options.family = socket.AF_INET
        elif flag == "-6":
            options.family = socket.AF_INET6
        elif flag == "-y":
            key_text = value
        elif flag == "-k":
            key_file = value
        elif flag == "-p":
            options.port = _number(value, "port number", 1, 65535)
        elif flag == "-t":
            options.timeout = _number(value, "timeout", 0, lang.MAX_UINT32)
        elif flag == "-u":
            options.udp_timeout = _number(value, "udp timeout", 0, lang.MAX_UINT32)
        elif flag == "-r":
            options.udp_retries = _number(value, "udp retries", 0, lang.MAX_UINT32)
        elif flag == "-C":
            options.resolv_conf = value
        elif flag == "-L":
            _number(value, "library debug value", 0, lang.MAX_UINT32)
        elif flag == "-h":
            raise UpdateAbortedError(USAGE)
    if key_file is not None and key_text is not None:
        raise UpdateAbortedError("cannot specify both -k and -y")
    if len(rest) > 1:
        raise UpdateAbortedError(USAGE)
    options.input_path = rest[0] if rest and rest[0] != "-" else None
    if key_text is not None:
        try:
            options.key = keys.parse_key_spec(key_text)
        except keys.KeySpecError as e:
            raise UpdateAbortedError(
                f"key option must specify [hmac:]keyname:secret: {e}"
            ) from None
    if key_file is None and options.local_only and options.key is None:
        key_file = SESSION_KEY_FILE if os.path.exists(SESSION_KEY_FILE) else None
    if key_file is not None:
        options.key = read_key_file(key_file)
    return options


def read_key_file(path: str) -> TsigKey:
    """The first key of a BIND key file (``tsig-keygen``, ``ddns-confgen``, session.key)."""
    try:
        found = keys.read_bind_keyfile(path)
    except OSError as e:
        raise UpdateAbortedError(f"could not read key from {path}: {_reason(e)}") from None
    except keys.KeySpecError as e:
        raise UpdateAbortedError(f"could not read key from {e}") from None
    if not found:
        raise UpdateAbortedError(f"could not read key from {path}: no key statement")
    return found[0]


def _number(text: str, what: str, low: int, high: int) -> int:
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise UpdateAbortedError(f"bad {what} '{text}'")
    return int(text)


_TSIG_PROBLEMS: tuple[tuple[type[Exception], str], ...] = (
    (dns.tsig.PeerError, "tsig indicates error"),
    (dns.tsig.BadTime, "clocks are unsynchronized"),
    (dns.tsig.BadSignature, "tsig verify failure"),
    (dns.tsig.BadKey, "tsig verify failure"),
    (dns.tsig.BadAlgorithm, "tsig verify failure"),
    (dns.message.UnknownTSIGKey, "tsig verify failure"),
)


def decode_reply(raw: bytes, request: dns.message.Message) -> Reply:
    """Parse and TSIG-verify a reply (RFC 8945 §5.3); a reply whose signature cannot be
    verified is still decoded, unverified, so its RCODE can be reported as nsupdate does."""
    signed = request.keyring is not None
    try:
        message = dns.message.from_wire(
            raw, keyring=request.keyring, request_mac=request.mac or b""
        )
        return Reply(message)
    except Exception as e:
        error = e
    try:
        message = dns.message.from_wire(raw, keyring=False)
    except Exception as e:
        raise BadReplyError(str(e) or type(e).__name__) from None
    if signed and not message.had_tsig:
        return Reply(message, "expected a TSIG or SIG(0)")
    if not signed and message.had_tsig:
        return Reply(message, "unexpected TSIG")
    for kind, problem in _TSIG_PROBLEMS:
        if isinstance(error, kind):
            return Reply(message, problem)
    raise BadReplyError(str(error) or type(error).__name__)


def failure_text(message: dns.message.Message) -> str:
    """RCODE, with the TSIG error in parentheses when set: ``NOTAUTH(BADSIG)``."""
    text = dns.rcode.to_text(message.rcode())
    if message.tsig:
        error = cast(dns.rdtypes.ANY.TSIG.TSIG, message.tsig[0]).error
        if error:
            text += f"({TSIG_ERROR_NAMES.get(error, str(error))})"
    return text


def zone_from_soa_reply(message: dns.message.Message) -> tuple[Name, Name] | None:
    """The zone and its primary (SOA MNAME) told by a reply to an SOA query, or None when the
    query must move one label up: no SOA, or an alias in the answer."""
    for rrset in message.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            soa = cast(dns.rdtypes.ANY.SOA.SOA, rrset[0])
            return lang.from_dns_name(rrset.name), lang.from_dns_name(soa.mname)
        if rrset.rdtype in (dns.rdatatype.CNAME, dns.rdatatype.DNAME):
            return None
    for rrset in message.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            soa = cast(dns.rdtypes.ANY.SOA.SOA, rrset[0])
            return lang.from_dns_name(rrset.name), lang.from_dns_name(soa.mname)
    return None


def is_truncated(raw: bytes) -> bool:
    return len(raw) >= 4 and bool(raw[2] & 0x02)


def exchange_udp(
    wire: bytes, server: Endpoint, source: Endpoint | None, timeout: float, tries: int
) -> bytes:
    """Send over UDP, resending after ``timeout`` seconds, until a reply with our ID arrives
    from the server.

    The socket is connected, as nsupdate's is: the kernel drops datagrams from anyone but
    the server, and an ICMP port unreachable ends the exchange at once with
    ``ConnectionRefusedError`` ("connection refused") instead of a timeout.
    """
    peer = ipaddress.ip_address(server.address)
    family = socket.AF_INET6 if peer.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        if source is not None:
            sock.bind((source.address, source.port))
        sock.connect((server.address, server.port))
        for _ in range(max(1, tries)):
            sock.send(wire)
            deadline = time.monotonic() + timeout
            while (remaining := deadline - time.monotonic()) > 0:
                sock.settimeout(remaining)
                try:
                    data = sock.recv(65535)
                except TimeoutError:
                    break
                if len(data) >= 12 and data[:2] == wire[:2] and data[2] & 0x80:
                    return data
    raise TimeoutError("timed out")


def exchange_tcp(
    wire: bytes, server: Endpoint, source: Endpoint | None, timeout: float | None
) -> bytes:
    """Send over TCP with the two-byte length prefix (RFC 1035 §4.2.2)."""
    source_address = None if source is None else (source.address, source.port)
    with socket.create_connection(
        (server.address, server.port), timeout=timeout, source_address=source_address
    ) as sock:
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        while True:
            (length,) = struct.unpack("!H", _receive_exactly(sock, 2))
            data = _receive_exactly(sock, length)
            if data[:2] == wire[:2]:
                return data


def _receive_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("connection closed by the server")
        data += chunk
    return data


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


class UpdateClient:
    """Runs a script of nsupdate commands: keeps the session state, sends on ``send``."""

    def __init__(self, options: ClientOptions, out: TextIO, err: TextIO) -> None:
        self.options = options
        self.out = out
        self.err = err
        self.debug = options.debug
        self.parser = lang.CommandParser()
        self.pending = lang.PendingUpdate()
        self.zone: Name | None = None
        self.server: Endpoint | None = None
        self.source: Endpoint | None = None
        self.key = options.key
        self.last_answer: dns.message.Message | None = None
        self.seen_error = False
        if options.local_only:
            self.server = Endpoint("127.0.0.1", options.port)

    def run(self, lines: Iterable[str]) -> int:
        """Execute every line; the exit status nsupdate would give."""
        interactive = self.options.interactive
        iterator = iter(lines)
        line_number = 0
        while True:
            if interactive:
                self.out.write("> ")
                self.out.flush()
            line = next(iterator, None)
            if line is None:
                break
            line_number += 1
            try:
                if not self.execute(self.parser.parse(line)):
                    break
            except lang.CommandSyntaxError as e:
                self.err.write(f"{e}\n")
                if not interactive:
                    self.err.write(f"syntax error (line {line_number}: {line.strip()})\n")
                    return 1
            except UpdateAbortedError as e:
                self.err.write(f"{e}\n")
                return 1
        return 2 if self.seen_error else 0

    def execute(self, command: lang.Command) -> bool:
        """Carry out one command; False on ``quit``."""
        match command:
            case lang.AddPrerequisite(record):
                self.pending.prerequisites.append(record)
            case lang.AddUpdate(record):
                self.pending.updates.append(record)
            case lang.SetLease(lease):
                self.pending.lease = lease
            case lang.SetZone(zone):
                self.zone = zone
            case lang.SetKey(key):
                self.key = key
            case lang.SetServer(host, port):
                if self.options.local_only:
                    raise lang.CommandSyntaxError("cannot reset server in localhost-only mode")
                self.server = self._resolve(host, self.options.port if port is None else port)
            case lang.SetLocal(address, port):
                self.source = Endpoint(address, port or 0)
            case lang.Send():
                self.send()
            case lang.Show():
                self._show()
            case lang.ShowAnswer():
                if self.last_answer is not None:
                    self._print_message(self.out, "Answer:", self.last_answer)
            case lang.EnableDebug():
                self.debug = True
            case lang.Help():
                self.out.write(lang.HELP_TEXT)
            case lang.Version():
                self.out.write(f"leasedns update {leasedns.__version__}\n")
            case lang.Ignored(warning):
                if warning:
                    self.err.write(f"{warning}\n")
            case lang.Quit():
                return False
        return True

    def send(self) -> None:
        """Send the pending update (nothing when it is empty) and start a new one."""
        pending, self.pending = self.pending, lang.PendingUpdate()
        zone_class = self.parser.zone_class()
        self.parser.message_sent()
        self.last_answer = None
        if pending.is_empty():
            return
        target = self._find_target(pending, zone_class)
        if target is not None:
            self._send_update(pending, target[0], zone_class, target[1])

    def _show(self) -> None:
        message = lang.build_update_message(self.pending, self.zone, self.parser.zone_class())
        self._print_message(self.out, "Outgoing update query:", message, rendered=False)

    def _print_message(
        self, stream: TextIO, title: str, message: dns.message.Message, *, rendered: bool = True
    ) -> None:
        stream.write(f"{title}\n{message_text(message, rendered=rendered)}")

    def _resolve(self, host: str, port: int) -> Endpoint:
        try:
            ipaddress.ip_address(host)
            return Endpoint(host, port)
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, port, self.options.family, socket.SOCK_DGRAM)
        except OSError as e:
            raise UpdateAbortedError(f"couldn't get address for '{host}': {_reason(e)}") from None
        return Endpoint(str(infos[0][4][0]), port)

    def _default_servers(self) -> list[Endpoint]:
        try:
            with open(self.options.resolv_conf, encoding="utf-8") as f:
                addresses = read_nameservers(f.read())
        except OSError:
            addresses = []
        return [Endpoint(a, self.options.port) for a in addresses or ["127.0.0.1"]]

    def _exchange(self, wire: bytes, server: Endpoint, use_tcp: bool) -> bytes:
        tcp_timeout = self.options.timeout or None
        if use_tcp or len(wire) > UDP_REQUEST_LIMIT:
            return exchange_tcp(wire, server, self.source, tcp_timeout)
        udp_timeout = self.options.udp_timeout or max(
            1, self.options.timeout // (self.options.udp_retries + 1)
        )
        raw = exchange_udp(wire, server, self.source, udp_timeout, self.options.udp_retries + 1)
        if is_truncated(raw):
            if self.debug:
                self.err.write(";; Truncated, retrying in TCP mode.\n")
            raw = exchange_tcp(wire, server, self.source, tcp_timeout)
        return raw

    def _find_target(
        self, pending: lang.PendingUpdate, zone_class: int
    ) -> tuple[Name, Endpoint] | None:
        """The zone and the server to send to; asks for the zone's SOA when either is unknown."""
        if self.zone is not None and self.server is not None:
            return self.zone, self.server
        qname = self.zone if self.zone is not None else pending.discovery_name()
        assert qname is not None
        servers = [self.server] if self.server is not None else self._default_servers()
        while True:
            reply = self._query_soa(qname, zone_class, servers)
            if reply.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                raise UpdateAbortedError("response to SOA query was unsuccessful")
            if self.zone is not None and reply.rcode() == dns.rcode.NXDOMAIN:
                self.err.write(
                    f"specified zone '{names.to_text(self.zone)}' does not exist (NXDOMAIN)\n"
                )
                self.seen_error = True
                return None
            found = zone_from_soa_reply(reply)
            if found is not None:
                break
            if not qname:
                raise UpdateAbortedError("could not find enclosing zone")
            qname = qname[1:]
        zone = self.zone if self.zone is not None else found[0]
        primary = found[1]
        if self.debug:
            self.err.write(f"Found zone name: {names.to_text(found[0])}\n")
            self.err.write(f"The primary is: {names.to_text(primary)}\n")
        if self.server is not None:
            return zone, self.server
        try:
            host = names.to_text(primary)[:-1] if primary else "."
            return zone, self._resolve(host, self.options.port)
        except UpdateAbortedError as e:
            self.err.write(f"{e}\n")
            self.seen_error = True
            return None

    def _query_soa(
        self, qname: Name, zone_class: int, servers: list[Endpoint]
    ) -> dns.message.Message:
        """Ask each server in turn for the SOA of ``qname``; signed when the server was
        given (retried unsigned if the signature is refused), recursive when it was not."""
        user_server = self.server is not None
        for server in servers:
            use_key = user_server and self.key is not None
            while True:
                query = dns.message.make_query(
                    lang.to_dns_name(qname),
                    dns.rdatatype.SOA,
                    dns.rdataclass.RdataClass.make(zone_class),
                    flags=0 if user_server else dns.flags.RD,
                )
                if use_key and self.key is not None:
                    query.use_tsig(lang.dnspython_key(self.key))
                wire = query.to_wire()
                try:
                    raw = self._exchange(wire, server, self.options.use_tcp and user_server)
                    reply = decode_reply(raw, query)
                except (OSError, BadReplyError) as e:
                    self.err.write(f"; Communication with {server} failed: {_reason(e)}\n")
                    break
                if reply.tsig_problem is not None and use_key:
                    use_key = False
                    continue
                if self.debug:
                    self._print_message(self.err, "Reply from SOA query:", reply.message)
                if reply.message.rcode() == dns.rcode.REFUSED:
                    self.err.write(f"; Communication with {server} failed: REFUSED\n")
                    break
                if reply.message.opcode() != dns.opcode.QUERY:
                    raise UpdateAbortedError("invalid OPCODE in response to SOA query")
                return reply.message
        raise UpdateAbortedError("could not reach any name server")

    def _send_update(
        self, pending: lang.PendingUpdate, zone: Name, zone_class: int, server: Endpoint
    ) -> None:
        message = lang.build_update_message(pending, zone, zone_class, self.key)
        wire = message.to_wire()
        if self.debug:
            self.err.write(f"Sending update to {server}\n")
            self._print_message(self.out, "Outgoing update query:", message)
        try:
            raw = self._exchange(wire, server, self.options.use_tcp)
            reply = decode_reply(raw, message)
        except (OSError, BadReplyError) as e:
            self.err.write(f"; Communication with {server} failed: {_reason(e)}\n")
            self.seen_error = True
            return
        self.last_answer = reply.message
        if reply.tsig_problem is not None:
            self.err.write(f"; TSIG error with server: {reply.tsig_problem}\n")
            self.seen_error = True
        if reply.message.opcode() != dns.opcode.UPDATE:
            raise UpdateAbortedError("invalid OPCODE in response to UPDATE request")
        if reply.message.rcode() != dns.rcode.NOERROR:
            self.seen_error = True
            if not self.debug:
                self.err.write(f"update failed: {failure_text(reply.message)}\n")
        if self.debug:
            self._print_message(self.err, "\nReply from update query:", reply.message)


def main(
    argv: list[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Entry point of ``leasedns update``; returns the exit status."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    source = stdin if stdin is not None else sys.stdin
    try:
        options = parse_arguments(list(sys.argv[1:] if argv is None else argv))
    except UpdateAbortedError as e:
        err.write(f"{e}\n")
        return 1
    if options.show_version:
        out.write(f"leasedns update {leasedns.__version__}\n")
        return 0
    if options.input_path is None:
        options.interactive = options.interactive or source.isatty()
        return UpdateClient(options, out, err).run(iter(source.readline, ""))
    try:
        script = open(options.input_path, encoding="utf-8")
    except OSError as e:
        err.write(f"could not open '{options.input_path}': {_reason(e)}\n")
        return 1
    with script:
        return UpdateClient(options, out, err).run(script)


if __name__ == "__main__":
    raise SystemExit(main())
