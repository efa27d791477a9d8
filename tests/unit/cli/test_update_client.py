"""Tests for ``leasedns update``: argument handling, reply decoding, and whole scripts sent to a
small UDP+TCP responder running in a thread."""

from __future__ import annotations

import base64
import io
import shutil
import socket
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update
import dns.wire
import pytest

from leasedns.cli import nsupdate_lang as lang
from leasedns.cli import update_client as client
from leasedns.keys import TsigKey

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OTHER_SECRET = base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()
KEY = TsigKey((b"ddns-key", b"example", b"com"), "hmac-sha256", base64.b64decode(SECRET))
SOA_RDATA = "ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60"


@dataclass(frozen=True)
class Received:
    transport: str
    wire: bytes
    peer: tuple[str, int]

    @property
    def message(self) -> dns.message.Message:
        return dns.message.from_wire(self.wire, keyring=False)


@dataclass
class FakeServer:
    """Test peer, not part of the product: answers UPDATEs with a fixed RCODE and SOA queries
    for one zone, over UDP and TCP on one port, and records every request it gets."""

    rcode: int = dns.rcode.NOERROR
    zone: str = "example.com."
    key: dns.tsig.Key | None = None
    truncate_udp: bool = False
    soa_in_authority: bool = True
    granted_lease: bytes | None = None
    unsigned_replies: bool = False
    refuse_outside: bool = True
    soa_rcode: int | None = None
    primary: str = "ns1.example.com."
    received: list[Received] = field(default_factory=list)

    def __enter__(self) -> FakeServer:
        for _ in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind(("127.0.0.1", udp.getsockname()[1]))
                break
            except OSError:
                udp.close()
                tcp.close()
        else:
            raise RuntimeError("no free port for UDP and TCP")
        tcp.listen(4)
        udp.settimeout(0.05)
        tcp.settimeout(0.05)
        self._udp, self._tcp = udp, tcp
        self.port = udp.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._udp.close()
        self._tcp.close()

    @property
    def updates(self) -> list[Received]:
        return [r for r in self.received if r.message.opcode() == dns.opcode.UPDATE]

    @property
    def queries(self) -> list[Received]:
        return [r for r in self.received if r.message.opcode() == dns.opcode.QUERY]

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            self._udp.sendto(self._answer(wire, "udp", peer), peer)

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                connection, peer = self._tcp.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                while header := connection.recv(2):
                    (length,) = struct.unpack("!H", header)
                    wire = b""
                    while len(wire) < length:
                        wire += connection.recv(length - len(wire))
                    reply = self._answer(wire, "tcp", peer)
                    connection.sendall(struct.pack("!H", len(reply)) + reply)

    def _answer(self, wire: bytes, transport: str, peer: tuple[str, int]) -> bytes:
        self.received.append(Received(transport, wire, peer))
        tsig_error = 0
        try:
            query = dns.message.from_wire(wire, keyring=self.key)
        except dns.exception.DNSException:
            query = dns.message.from_wire(wire, keyring=False)
            query.keyring = self.key
            tsig_error = dns.rcode.BADSIG
        if self.unsigned_replies:
            query.tsig = None
        if query.opcode() == dns.opcode.QUERY:
            return self._answer_soa(query)
        if self.truncate_udp and transport == "udp":
            flags = dns.flags.QR | dns.opcode.to_flags(dns.opcode.UPDATE) | dns.flags.TC
            return struct.pack("!HHHHHH", query.id, flags, 0, 0, 0, 0)
        response = dns.message.make_response(query, tsig_error=tsig_error)
        response.set_rcode(dns.rcode.NOTAUTH if tsig_error else self.rcode)
        if self.granted_lease is not None and lang.update_lease_of(query) is not None:
            response.use_edns(0, options=[dns.edns.GenericOption(2, self.granted_lease)])
        return response.to_wire()

    def _answer_soa(self, query: dns.message.Message) -> bytes:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        zone = dns.name.from_text(self.zone)
        qname = query.question[0].name
        soa = dns.rrset.from_text(
            zone, 3600, "IN", "SOA", f"{self.primary} hostmaster.{self.zone} 1 3600 600 86400 60"
        )
        if qname == zone:
            response.answer.append(soa)
        elif qname.is_subdomain(zone):
            if self.soa_in_authority:
                response.set_rcode(dns.rcode.NXDOMAIN)
                response.authority.append(soa)
        elif self.refuse_outside:
            response.set_rcode(dns.rcode.REFUSED)
        if self.soa_rcode is not None:
            response.set_rcode(self.soa_rcode)
        return response.to_wire()


@dataclass
class Run:
    status: int
    out: str
    err: str


def run(script: str, argv: list[str] | None = None) -> Run:
    out, err = io.StringIO(), io.StringIO()
    status = client.main(argv or [], stdin=io.StringIO(script), stdout=out, stderr=err)
    return Run(status, out.getvalue(), err.getvalue())


def raw_update_records(wire: bytes) -> list[tuple[str, int, int, int, bytes]]:
    """Update-section RRs exactly as sent: name, type, class, TTL, rdata."""
    parser = dns.wire.Parser(wire)
    _, _, zocount, prcount, upcount, _ = parser.get_struct("!HHHHHH")
    for _ in range(zocount):
        parser.get_name(decompress=True)
        parser.get_struct("!HH")
    records = []
    for index in range(prcount + upcount):
        name = parser.get_name(decompress=True)
        rdtype, rdclass, ttl, rdlen = parser.get_struct("!HHIH")
        rdata = parser.get_bytes(rdlen)
        if index >= prcount:
            records.append((name.to_text(), rdtype, rdclass, ttl, rdata))
    return records


# --- whole scripts against the responder ----------------------------------------------


def test_deferred_delete_and_lease_are_sent_and_answer_shows_the_granted_lease() -> None:
    with FakeServer(granted_lease=struct.pack("!II", 7200, 86400)) as server:
        result = run(
            f"server 127.0.0.1 {server.port}\n"
            "zone example.com\n"
            "lease 3600 604800\n"
            "update add h.example.com 300 A 192.0.2.1\n"
            "update delete h.example.com 3600 A 192.0.2.1\n"
            "update delete g.example.com cancel TXT\n"
            "send\n"
            "answer\n"
        )
    assert (result.status, result.err) == (0, "")
    [update] = server.updates
    assert update.transport == "udp"
    assert raw_update_records(update.wire) == [
        ("h.example.com.", dns.rdatatype.A, dns.rdataclass.IN, 300, b"\xc0\x00\x02\x01"),
        ("h.example.com.", dns.rdatatype.A, dns.rdataclass.NONE, 3600, b"\xc0\x00\x02\x01"),
        ("g.example.com.", dns.rdatatype.TXT, dns.rdataclass.ANY, 0xFFFFFFFF, b""),
    ]
    sent = update.message
    assert sent.zone[0].name == dns.name.from_text("example.com.")
    assert lang.update_lease_of(sent) == lang.UpdateLease(3600, 604800)
    assert result.out.startswith("Answer:\n;; ->>HEADER<<- opcode: UPDATE, status: NOERROR, id: ")
    assert "\n;; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: " in result.out
    assert "\n; UPDATE-LEASE: 7200 KEY-LEASE: 86400\n" in result.out


def test_lease_applies_to_the_next_update_only() -> None:
    with FakeServer() as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\nlease 600\n"
            "add a.example.com 60 A 192.0.2.1\nsend\n"
            "add b.example.com 60 A 192.0.2.2\nsend\n"
        )
    assert result.status == 0
    first, second = server.updates
    assert lang.update_lease_of(first.message) == lang.UpdateLease(600)
    assert second.message.edns == -1


def test_failed_update_exits_2_and_later_commands_still_run() -> None:
    with FakeServer(rcode=dns.rcode.NXRRSET) as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "prereq yxrrset h.example.com A\nupdate delete h.example.com A\nsend\n"
            "answer\n"
            "update add i.example.com 60 A 192.0.2.9\nsend\n"
        )
    assert result.status == 2
    assert result.err == "update failed: NXRRSET\nupdate failed: NXRRSET\n"
    assert "status: NXRRSET" in result.out
    assert len(server.updates) == 2


def test_truncated_udp_reply_is_retried_over_tcp() -> None:
    with FakeServer(truncate_udp=True) as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "update delete h.example.com 60 A\nsend\nanswer\n"
        )
    assert (result.status, result.err) == (0, "")
    assert [r.transport for r in server.updates] == ["udp", "tcp"]
    assert server.updates[0].wire == server.updates[1].wire
    assert "\n;; flags: qr; ZONE: 1," in result.out


def test_v_flag_sends_over_tcp() -> None:
    with FakeServer() as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\nadd h.example.com 60 A 192.0.2.1\n\n",
            ["-v"],
        )
    assert result.status == 0
    assert [r.transport for r in server.updates] == ["tcp"]


def test_update_larger_than_512_octets_goes_over_tcp() -> None:
    adds = "".join(f'add h{i}.example.com 60 TXT "{"x" * 40}"\n' for i in range(12))
    with FakeServer() as server:
        result = run(f"server 127.0.0.1 {server.port}\nzone example.com\n{adds}send\n")
    assert result.status == 0
    [update] = server.updates
    assert update.transport == "tcp"
    assert len(update.wire) > 512


def test_tsig_signed_update_with_verified_reply() -> None:
    with FakeServer(key=lang.dnspython_key(KEY)) as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "update delete h.example.com 600 A\nsend\nanswer\n",
            ["-y", f"hmac-sha256:ddns-key.example.com:{SECRET}"],
        )
    assert (result.status, result.err) == (0, "")
    [update] = server.updates
    verified = dns.message.from_wire(update.wire, keyring=lang.dnspython_key(KEY))
    assert verified.had_tsig and verified.keyname == dns.name.from_text("ddns-key.example.com.")
    assert "\t0\tANY\tTSIG\thmac-sha256. " in result.out


def test_key_command_signs_the_update() -> None:
    with FakeServer(key=lang.dnspython_key(KEY)) as server:
        result = run(
            f"key hmac-sha256:ddns-key.example.com {SECRET}\n"
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "update add h.example.com 60 A 192.0.2.1\nsend\n"
        )
    assert (result.status, result.err) == (0, "")
    assert server.updates[0].message.had_tsig


def test_update_signed_with_the_wrong_secret_fails_with_badsig() -> None:
    with FakeServer(key=lang.dnspython_key(KEY)) as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "update add h.example.com 60 A 192.0.2.1\nsend\nanswer\n",
            ["-y", f"hmac-sha256:ddns-key.example.com:{OTHER_SECRET}"],
        )
    assert result.status == 2
    assert result.err == (
        "; TSIG error with server: tsig indicates error\nupdate failed: NOTAUTH(BADSIG)\n"
    )
    assert "status: NOTAUTH" in result.out and " BADSIG 0 \n" in result.out


def test_unsigned_reply_to_a_signed_update_is_an_error() -> None:
    with FakeServer(key=lang.dnspython_key(KEY), unsigned_replies=True) as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "update add h.example.com 60 A 192.0.2.1\nsend\n",
            ["-y", f"hmac-sha256:ddns-key.example.com:{SECRET}"],
        )
    assert result.status == 2
    assert result.err == "; TSIG error with server: expected a TSIG or SIG(0)\n"


def test_zone_is_found_from_the_soa_in_a_negative_answer() -> None:
    with FakeServer() as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nupdate add h.sub.example.com 60 A 192.0.2.1\nsend\n",
            ["-d"],
        )
    assert result.status == 0
    [query] = server.queries
    assert query.message.question[0].name == dns.name.from_text("h.sub.example.com.")
    assert not query.message.flags & dns.flags.RD
    [update] = server.updates
    assert update.message.zone[0].name == dns.name.from_text("example.com.")
    assert "Found zone name: example.com." in result.err
    assert "The primary is: ns1.example.com." in result.err


def test_zone_discovery_walks_up_until_an_soa_answer() -> None:
    with FakeServer(soa_in_authority=False) as server:
        result = run(
            f"server 127.0.0.1 {server.port}\n"
            "prereq nxdomain h.sub.example.com\nupdate add h.sub.example.com 60 A 192.0.2.1\n\n"
        )
    assert (result.status, result.err) == (0, "")
    assert [q.message.question[0].name.to_text() for q in server.queries] == [
        "h.sub.example.com.",
        "sub.example.com.",
        "example.com.",
    ]
    assert server.updates[0].message.zone[0].name == dns.name.from_text("example.com.")


def test_zone_discovery_without_an_enclosing_zone_stops_with_status_1() -> None:
    with FakeServer(zone="example.net.", refuse_outside=False) as server:
        result = run(f"server 127.0.0.1 {server.port}\nupdate add h.example.com 60 A 192.0.2.1\n\n")
    assert (result.status, result.err) == (1, "could not find enclosing zone\n")
    assert [q.message.question[0].name.to_text() for q in server.queries] == [
        "h.example.com.",
        "example.com.",
        "com.",
        ".",
    ]
    assert server.updates == []


def test_refused_soa_query_stops_with_status_1() -> None:
    with FakeServer(zone="example.net.") as server:
        result = run(f"server 127.0.0.1 {server.port}\nupdate add h.example.com 60 A 192.0.2.1\n\n")
    assert result.status == 1
    assert result.err == (
        f"; Communication with 127.0.0.1#{server.port} failed: REFUSED\n"
        "could not reach any name server\n"
    )


def test_failed_soa_query_stops_with_status_1() -> None:
    with FakeServer(soa_rcode=dns.rcode.SERVFAIL) as server:
        result = run(f"server 127.0.0.1 {server.port}\nupdate add h.example.com 60 A 192.0.2.1\n\n")
    assert (result.status, result.err) == (1, "response to SOA query was unsuccessful\n")
    assert server.updates == []


def test_debug_shows_outgoing_update_and_reply() -> None:
    with FakeServer(rcode=dns.rcode.REFUSED) as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "update delete h.example.com cancel\nsend\n",
            ["-d"],
        )
    assert result.status == 2
    assert f"Sending update to 127.0.0.1#{server.port}\n" in result.err
    assert "\nReply from update query:\n" in result.err and "status: REFUSED" in result.err
    assert "update failed" not in result.err
    assert result.out.startswith("Outgoing update query:\n")
    assert "\nh.example.com.\t\t4294967295 ANY\tANY\t\n" in result.out


def test_local_sets_the_source_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        source_port = probe.getsockname()[1]
    with FakeServer() as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nlocal 127.0.0.1 {source_port}\nzone example.com\n"
            "add h.example.com 60 A 192.0.2.1\nsend\n"
        )
    assert result.status == 0
    assert server.updates[0].peer == ("127.0.0.1", source_port)


def test_nothing_is_sent_without_send_or_after_quit() -> None:
    with FakeServer() as server:
        unsent = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\nadd h.example.com 60 A 192.0.2.1\n"
        )
        quitted = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "add h.example.com 60 A 192.0.2.1\nquit\nsend\n"
        )
        empty = run(f"server 127.0.0.1 {server.port}\nzone example.com\n\n\nsend\n")
    assert (unsent.status, quitted.status, empty.status) == (0, 0, 0)
    assert server.received == []


def test_server_that_does_not_answer_is_a_communication_failure() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = run(
            f"server 127.0.0.1 {port}\nzone example.com\nadd h.example.com 60 A 192.0.2.1\nsend\n",
            ["-u", "1", "-r", "0"],
        )
    assert result.status == 2
    assert result.err == f"; Communication with 127.0.0.1#{port} failed: timed out\n"


def test_closed_port_is_connection_refused_at_once_as_in_nsupdate() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when this block ends
    result = run(
        f"server 127.0.0.1 {port}\nzone example.com\nadd h.example.com 60 A 192.0.2.1\nsend\n",
        ["-u", "30", "-r", "3"],  # a timeout would take two minutes
    )
    assert result.status == 2
    assert result.err == f"; Communication with 127.0.0.1#{port} failed: connection refused\n"


def test_syntax_error_stops_with_status_1_and_names_the_line() -> None:
    with FakeServer() as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\n"
            "add h.example.com 60 A 192.0.2.1\nfoo bar\nsend\n"
        )
    assert result.status == 1
    assert result.err == "incorrect section name: foo\nsyntax error (line 4: foo bar)\n"
    assert server.received == []


def test_interactive_mode_reports_syntax_errors_and_goes_on() -> None:
    with FakeServer() as server:
        result = run(
            f"server 127.0.0.1 {server.port}\nzone example.com\nupdate bogus\n"
            "add h.example.com 60 A 192.0.2.1\nsend\n",
            ["-i"],
        )
    assert result.status == 0
    assert result.err == "incorrect operation code: bogus\n"
    assert result.out.startswith("> > > ")
    assert len(server.updates) == 1


def test_show_prints_the_pending_update_without_sending() -> None:
    result = run("zone example.com\nlease 60\nupdate delete h.example.com 30 A 192.0.2.1\nshow\n")
    assert result.status == 0
    assert result.out.startswith("Outgoing update query:\n")
    assert ";; ZONE SECTION:\n;example.com.\t\t\tIN\tSOA\n" in result.out
    assert "\nh.example.com.\t\t30\tNONE\tA\t192.0.2.1\n" in result.out
    assert "\n; UPDATE-LEASE: 60\n" in result.out


def test_script_file_argument(tmp_path: Path) -> None:
    with FakeServer() as server:
        script = tmp_path / "update.txt"
        script.write_text(
            f"server 127.0.0.1 {server.port}\nzone example.com\nadd h.example.com 60 A 192.0.2.1\nsend\n"
        )
        result = run("", [str(script)])
    assert result.status == 0
    assert len(server.updates) == 1


def test_missing_script_file(tmp_path: Path) -> None:
    result = run("", [str(tmp_path / "missing")])
    assert result.status == 1
    assert result.err.startswith(f"could not open '{tmp_path / 'missing'}':")


def test_version_flag() -> None:
    result = run("", ["-V"])
    assert (result.status, result.out) == (0, f"leasedns update {client.leasedns.__version__}\n")


# --- arguments and key files -------------------------------------------------------------


def test_y_flag_with_and_without_algorithm() -> None:
    assert client.parse_arguments(["-y", f"hmac-sha256:ddns-key.example.com:{SECRET}"]).key == KEY
    md5 = client.parse_arguments(["-y", f"ddns-key.example.com:{SECRET}"]).key
    assert md5 is not None and md5.algorithm == "hmac-md5"


def test_k_flag_reads_a_bind_key_file(tmp_path: Path) -> None:
    path = tmp_path / "ddns.key"
    path.write_text(
        "# made by tsig-keygen\n"
        'key "ddns-key.example.com" {\n\talgorithm hmac-sha256;\n'
        f'\tsecret "{SECRET}"; // shared with the server\n}};\n'
    )
    assert client.parse_arguments(["-k", str(path)]).key == KEY


def test_k_flag_with_a_bad_file_stops(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text('key "k" { algorithm hmac-sha256; };\n')
    with pytest.raises(client.UpdateAbortedError, match="could not read key from .*no secret"):
        client.parse_arguments(["-k", str(path)])
    with pytest.raises(client.UpdateAbortedError, match="could not read key from .*missing"):
        client.parse_arguments(["-k", str(tmp_path / "missing")])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-k", "a", "-y", f"k:{SECRET}"], "cannot specify both -k and -y"),
        (["-p", "0"], "bad port number '0'"),
        (["-t", "x"], "bad timeout 'x'"),
        (["-Z"], "option -Z not recognized"),
        (["-y", "nocolon"], "key option must specify [hmac:]keyname:secret"),
        (["a", "b"], "usage: leasedns update"),
    ],
)
def test_bad_arguments_exit_1(argv: list[str], message: str) -> None:
    result = run("", argv)
    assert result.status == 1
    assert message in result.err


def test_flags_are_read() -> None:
    options = client.parse_arguments(["-d", "-v", "-p", "5300", "-t", "10", "-u", "2", "-r", "1"])
    assert (options.debug, options.use_tcp, options.port) == (True, True, 5300)
    assert (options.timeout, options.udp_timeout, options.udp_retries) == (10, 2, 1)
    assert client.parse_arguments(["-"]).input_path is None


def test_read_nameservers() -> None:
    text = "# resolv\nsearch example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"
    assert client.read_nameservers(text) == ["192.0.2.53", "2001:db8::53"]


def test_without_server_the_update_goes_to_the_primary_found_via_resolv_conf(
    tmp_path: Path,
) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("search example.com\nnameserver 127.0.0.1\n")
    with FakeServer(primary="localhost.") as server:
        argv = ["-4", "-p", str(server.port), "-C", str(resolv)]
        found = run("add h.example.com 60 A 192.0.2.1\nsend\n", argv)
        missing = run("zone nowhere.example.com\nadd h.example.com 60 A 192.0.2.1\nsend\n", argv)
    assert (found.status, found.err) == (0, "")
    assert [q.message.question[0].name.to_text() for q in server.queries] == [
        "h.example.com.",
        "nowhere.example.com.",
    ]
    assert all(q.message.flags & dns.flags.RD for q in server.queries)
    [update] = server.updates
    assert update.message.zone[0].name == dns.name.from_text("example.com.")
    assert missing.status == 2
    assert missing.err == "specified zone 'nowhere.example.com.' does not exist (NXDOMAIN)\n"


# --- replies -----------------------------------------------------------------------------


def signed_update() -> dns.update.UpdateMessage:
    message = dns.update.UpdateMessage("example.com.")
    message.use_tsig(lang.dnspython_key(KEY))
    message.to_wire()
    return message


def test_decode_reply_verifies_a_signed_reply() -> None:
    request = signed_update()
    response = dns.message.make_response(request)
    reply = client.decode_reply(response.to_wire(), request)
    assert reply.tsig_problem is None and reply.message.had_tsig


def test_decode_reply_reports_a_forged_signature() -> None:
    request = signed_update()
    response = dns.message.make_response(request)
    response.keyring = dns.tsig.Key(
        "ddns-key.example.com.", base64.b64decode(OTHER_SECRET), dns.tsig.HMAC_SHA256
    )
    reply = client.decode_reply(response.to_wire(), request)
    assert reply.tsig_problem == "tsig verify failure"
    assert reply.message.rcode() == dns.rcode.NOERROR


def test_decode_reply_rejects_garbage() -> None:
    with pytest.raises(client.BadReplyError):
        client.decode_reply(b"\x00\x01\x80", signed_update())


def test_failure_text_names_the_tsig_error() -> None:
    request = signed_update()
    response = dns.message.make_response(request, tsig_error=dns.rcode.BADTIME)
    response.set_rcode(dns.rcode.NOTAUTH)
    message = dns.message.from_wire(response.to_wire(), keyring=False)
    assert client.failure_text(message) == "NOTAUTH(BADTIME)"
    plain = dns.message.make_response(dns.message.make_query("example.com.", "SOA"))
    plain.set_rcode(dns.rcode.YXDOMAIN)
    assert client.failure_text(plain) == "YXDOMAIN"


def test_zone_from_soa_reply() -> None:
    query = dns.message.make_query("www.example.com.", "SOA")
    negative = dns.message.make_response(query)
    negative.authority.append(dns.rrset.from_text("example.com.", 60, "IN", "SOA", SOA_RDATA))
    assert client.zone_from_soa_reply(negative) == (
        (b"example", b"com"),
        (b"ns1", b"example", b"com"),
    )
    alias = dns.message.make_response(query)
    alias.answer.append(
        dns.rrset.from_text("www.example.com.", 60, "IN", "CNAME", "x.example.org.")
    )
    alias.authority.append(dns.rrset.from_text("example.org.", 60, "IN", "SOA", SOA_RDATA))
    assert client.zone_from_soa_reply(alias) is None
    assert client.zone_from_soa_reply(dns.message.make_response(query)) is None


# --- the same script through BIND's nsupdate ---------------------------------------------


def comparable(wire: bytes) -> list[tuple[str, str, int, int, int, list[str]]]:
    message = dns.message.from_wire(wire, keyring=False)
    rows = []
    for section, rrsets in (("zone", message.zone), ("prereq", message.prerequisite)):
        rows += [(section, r.name.to_text(), r.rdclass, r.rdtype, r.ttl, []) for r in rrsets]
    for rrset in message.update:
        rdclass = rrset.deleting if rrset.deleting is not None else rrset.rdclass
        texts = sorted(rd.to_text() for rd in rrset)
        rows.append(("update", rrset.name.to_text(), rdclass, rrset.rdtype, rrset.ttl, texts))
    return rows


def run_both(server: FakeServer, body: str) -> tuple[Run, subprocess.CompletedProcess[str]]:
    """The script through our client, then through BIND's nsupdate, both to ``server``."""
    script = f"server 127.0.0.1 {server.port}\n{body}"
    ours = run(script)
    bind = subprocess.run(["nsupdate"], input=script, capture_output=True, text=True, timeout=30)
    return ours, bind


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("nsupdate") is None, reason="bind9-dnsutils not installed")
def test_same_script_builds_the_same_update_as_bind_nsupdate() -> None:
    body = (
        "zone example.com\n"
        "prereq nxdomain new.example.com\n"
        "prereq yxrrset old.example.com IN A\n"
        "prereq yxrrset v.example.com A 192.0.2.7\n"
        "prereq nxrrset n.example.com TXT\n"
        "update delete old.example.com A\n"
        "update delete gone.example.com\n"
        "update delete r.example.com MX 10 mail.example.com.\n"
        'update add new.example.com 300 TXT "hello world"\n'
        "ttl 60\n"
        "add new.example.com CNAME target.example.com.\n"
        "send\n"
    )
    with FakeServer() as server:
        ours, bind = run_both(server, body)
    assert (ours.status, bind.returncode) == (0, 0), bind.stderr
    ours_update, bind_update = server.updates
    assert comparable(ours_update.wire) == comparable(bind_update.wire)
    assert [r[3] for r in raw_update_records(ours_update.wire)] == [
        r[3] for r in raw_update_records(bind_update.wire)
    ]


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("nsupdate") is None, reason="bind9-dnsutils not installed")
def test_show_and_answer_print_exactly_what_bind_nsupdate_prints() -> None:
    body = (
        "zone example.com\n"
        "prereq yxrrset www.example.com A\n"
        "prereq yxdomain www.example.com\n"
        "prereq yxrrset www.example.com A 192.0.2.99\n"
        "update add a-rather-long-host-name-01.example.com 86400 IN MX 10 mail.example.com\n"
        "update add m.example.com 300 A 192.0.2.1\n"
        "update add m.example.com 300 A 192.0.2.2\n"
        "update delete z.example.com\n"
        'update add t.example.com 300 TXT "a b" c\n'
        "update add s.example.com 300 TYPE65000 \\# 2 abcd\n"
        "show\nsend\nanswer\n"
    )
    with FakeServer(rcode=dns.rcode.NXRRSET) as server:
        ours, bind = run_both(server, body)
    assert (ours.status, bind.returncode) == (2, 2), bind.stderr
    ids = [u.message.id for u in server.updates]
    assert ";; PREREQUISITE SECTION:\nwww.example.com.\t0\tANY\tA\t\n" in ours.out
    assert ours.out == bind.stdout.replace(f"id: {ids[1]:6d}", f"id: {ids[0]:6d}")
    assert ours.err == bind.stderr == "update failed: NXRRSET\n"
