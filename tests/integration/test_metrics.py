"""/metrics on the HTTP port: the counters move with the traffic that should move them."""

from __future__ import annotations

import dns.message
import dns.zone
import pytest
from prometheus_client.parser import text_string_to_metric_families
from serverkit import (
    ZONES,
    Server,
    ask,
    metric,
    scrape,
    tcp_exchange,
    udp_exchange,
)

import leasedns

HEADER_ONLY = b"\x12\x34\x00\x00" + b"\x00" * 8  # QDCOUNT 0: FORMERR


def test_exposition_is_prometheus_text(lab_server: Server) -> None:
    families = {f.name: f.type for f in text_string_to_metric_families(scrape(lab_server))}
    for name, kind in [
        ("leasedns_queries", "counter"),
        ("leasedns_cache_hits", "counter"),
        ("leasedns_cache_misses", "counter"),
        ("leasedns_truncated_answers", "counter"),
        ("leasedns_malformed_packets", "counter"),
        ("leasedns_zone_load_errors", "counter"),
        ("leasedns_zone_serial", "gauge"),
        ("leasedns_zone_rrsets", "gauge"),
        ("leasedns_build_info", "gauge"),  # an info metric in the text format
    ]:
        assert families.get(name) == kind, f"{name}: {families.get(name)}"


def test_build_info(lab_server: Server) -> None:
    assert metric(lab_server, "leasedns_build_info", version=leasedns.__version__) == 1


def test_zone_serial_and_rrset_count(lab_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ZONES)  # dnspython resolves $INCLUDE against the working directory
    for origin, file in [
        ("lab.example.", "lab.example.zone"),
        ("0.0.10.in-addr.arpa.", "0.0.10.in-addr.arpa.zone"),
    ]:
        z = dns.zone.from_file(file, origin=origin, relativize=False, allow_include=True)
        rrsets = sum(len(node.rdatasets) for node in z.nodes.values())
        assert metric(lab_server, "leasedns_zone_serial", zone=origin) == 2026112101
        assert metric(lab_server, "leasedns_zone_rrsets", zone=origin) == rrsets
    assert metric(lab_server, "leasedns_zone_load_errors_total") == 0


def test_queries_by_qtype_and_rcode(lab_server: Server) -> None:
    def count(qtype: str, rcode: str) -> float:
        return metric(lab_server, "leasedns_queries_total", qtype=qtype, rcode=rcode)

    before = {
        k: count(*k)
        for k in [("MX", "NOERROR"), ("A", "NXDOMAIN"), ("AAAA", "REFUSED"), ("TXT", "NOERROR")]
    }
    for tcp in (False, True, False):  # the second UDP one is served from the cache
        ask(lab_server, "lab.example.", "MX", tcp=tcp)
    ask(lab_server, "missing-metrics.lab.example.", "A")
    ask(lab_server, "missing-metrics.lab.example.", "A", tcp=True)
    ask(lab_server, "example.com.", "AAAA")
    assert count("MX", "NOERROR") == before[("MX", "NOERROR")] + 3
    assert count("A", "NXDOMAIN") == before[("A", "NXDOMAIN")] + 2
    assert count("AAAA", "REFUSED") == before[("AAAA", "REFUSED")] + 1
    assert count("TXT", "NOERROR") == before[("TXT", "NOERROR")]


def test_error_rcodes_counted(lab_server: Server) -> None:
    formerr = metric(lab_server, "leasedns_queries_total", rcode="FORMERR")
    notimp = metric(lab_server, "leasedns_queries_total", rcode="NOTIMP")
    assert udp_exchange(lab_server, HEADER_ONLY) is not None
    notimp_query = bytearray(dns.message.make_query("lab.example.", "A").to_wire())
    notimp_query[2] |= 3 << 3  # opcode 3
    assert udp_exchange(lab_server, bytes(notimp_query)) is not None
    assert metric(lab_server, "leasedns_queries_total", rcode="FORMERR") == formerr + 1
    assert metric(lab_server, "leasedns_queries_total", rcode="NOTIMP") == notimp + 1


def test_cache_hits_and_misses(lab_server: Server) -> None:
    hits = metric(lab_server, "leasedns_cache_hits_total")
    misses = metric(lab_server, "leasedns_cache_misses_total")
    q = dns.message.make_query("hv3.lab.example.", "A", use_edns=0, payload=1111)
    assert udp_exchange(lab_server, q.to_wire()) is not None
    assert metric(lab_server, "leasedns_cache_misses_total") == misses + 1
    assert metric(lab_server, "leasedns_cache_hits_total") == hits
    for _ in range(3):
        q.id = (q.id + 1) & 0xFFFF
        assert udp_exchange(lab_server, q.to_wire()) is not None
    assert metric(lab_server, "leasedns_cache_misses_total") == misses + 1
    assert metric(lab_server, "leasedns_cache_hits_total") == hits + 3
    tcp_exchange(lab_server, q.to_wire())  # TCP answers are not cached
    assert metric(lab_server, "leasedns_cache_misses_total") == misses + 1
    assert metric(lab_server, "leasedns_cache_hits_total") == hits + 3


def test_truncated_answers(special_server: Server) -> None:
    """Every UDP answer sent with TC=1 counts, whether built fresh or replayed from the cache."""
    before = metric(special_server, "leasedns_truncated_answers_total")
    q = dns.message.make_query("medium.special.test.", "TXT")  # 693 bytes of TXT, no EDNS
    for _ in range(2):
        q.id = (q.id + 1) & 0xFFFF
        raw = udp_exchange(special_server, q.to_wire())
        assert raw is not None and raw[2] & 0x02
    tcp_exchange(special_server, q.to_wire())  # complete over TCP: not truncated
    assert metric(special_server, "leasedns_truncated_answers_total") == before + 2


def test_malformed_and_dropped_packets(lab_server: Server) -> None:
    malformed = metric(lab_server, "leasedns_malformed_packets_total")
    dropped = metric(lab_server, "leasedns_dropped_packets_total")
    assert udp_exchange(lab_server, HEADER_ONLY) is not None
    assert udp_exchange(lab_server, b"\x12\x34\x00\x00\x00\x01" + b"\x00" * 6) is not None
    assert tcp_exchange(lab_server, HEADER_ONLY)[3] & 0xF == 1
    assert metric(lab_server, "leasedns_malformed_packets_total") == malformed + 3
    assert udp_exchange(lab_server, b"\x00\x01\x02", timeout=0.3) is None  # short
    response = bytearray(dns.message.make_query("lab.example.", "A").to_wire())
    response[2] |= 0x80
    assert udp_exchange(lab_server, bytes(response), timeout=0.3) is None  # QR=1
    assert metric(lab_server, "leasedns_dropped_packets_total") == dropped + 2
    assert metric(lab_server, "leasedns_malformed_packets_total") == malformed + 3
