"""IXFR (RFC 1995) from the journal: decisions, condensation, and AXFR(N) + IXFR(N->M) == AXFR(M)."""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rdatatype
import dns.zone
from xfr_lab import (
    NOW,
    ORIGIN,
    ZONE,
    Lab,
    dns_zone_rrs,
    feed,
    ixfr_query,
    wire_rrs,
    zone_text,
)

from leasedns.store.records import JournalEntry, RRsetMeta, ZoneState
from leasedns.wire import names
from leasedns.xfr import ixfr
from leasedns.xfr.ixfr import Difference, Plan
from leasedns.zone import serial as serials

SOA = dns.rdatatype.SOA
IXFR = dns.rdatatype.IXFR
A = 1


def ixfr_into(lab: Lab, z: dns.zone.Zone, serial: int, tcp: bool = True) -> list[bytes]:
    q = ixfr_query(serial)
    msgs = lab.messages(lab.ask(q, tcp=tcp))
    feed(z, q, msgs, IXFR, serial, is_udp=not tcp)
    return msgs


def three_versions(lab: Lab) -> None:
    lab.load(zone_text(10, {"www": "10.0.0.3", "old": "10.0.0.4", "keep": "10.0.0.5"}))
    lab.load(zone_text(11, {"www": "10.0.0.33", "old": "10.0.0.4", "keep": "10.0.0.5"}))
    lab.load(zone_text(12, {"www": "10.0.0.33", "keep": "10.0.0.5", "new": "10.0.0.6"}))


def test_up_to_date_or_newer_client_gets_one_soa(lab: Lab) -> None:
    three_versions(lab)
    for serial in (12, 13, 12 + (1 << 30)):
        msgs = lab.messages(lab.ask(ixfr_query(serial)))
        assert len(msgs) == 1
        rrs = wire_rrs(msgs)
        assert [r[1] for r in rrs] == [SOA]
        assert dns.message.from_wire(msgs[0]).answer[0][0].serial == 12


def test_incremental_is_condensed_and_correct(lab: Lab) -> None:
    lab.load(zone_text(10, {"www": "10.0.0.3", "old": "10.0.0.4", "keep": "10.0.0.5"}))
    z = lab.axfr_zone()
    lab.load(zone_text(11, {"www": "10.0.0.33", "old": "10.0.0.4", "keep": "10.0.0.5"}))
    lab.load(zone_text(12, {"www": "10.0.0.33", "keep": "10.0.0.5", "new": "10.0.0.6"}))
    msgs = ixfr_into(lab, z, 10)
    assert dns_zone_rrs(z) == lab.stored_rrs()
    rrs = wire_rrs(msgs)
    soas = [i for i, r in enumerate(rrs) if r[1] == SOA]
    assert len(soas) == 4  # current, old, new (= current), current: one condensed sequence
    owners = {r[0] for r in rrs if r[1] != SOA}
    assert owners == {f"www.{ORIGIN}", f"old.{ORIGIN}", f"new.{ORIGIN}"}
    assert lab.handler.outcomes == {"axfr": 1, "ixfr-incremental": 1}


def test_every_older_version_reaches_the_newest(lab: Lab) -> None:
    hosts = {"a": "10.0.0.1"}
    snapshots: list[tuple[int, dns.zone.Zone]] = []
    for serial in range(100, 106):
        hosts = dict(hosts)
        hosts[f"h{serial}"] = f"10.1.0.{serial}"
        if serial % 2:
            hosts.pop("a", None)
        else:
            hosts["a"] = f"10.2.0.{serial}"
        lab.load(zone_text(serial, hosts))
        snapshots.append((serial, lab.axfr_zone()))
    for serial, z in snapshots:
        ixfr_into(lab, z, serial)
        assert dns_zone_rrs(z) == lab.stored_rrs(), serial


def test_unknown_or_purged_serial_gets_the_whole_zone(lab: Lab) -> None:
    three_versions(lab)
    for serial in (5, 4_000_000_000):  # never seen; older than 12 in RFC 1982 terms
        assert _plan(lab, serial)[0] is Plan.FULL
        q = ixfr_query(serial)
        msgs = lab.messages(lab.ask(q))
        rrs = wire_rrs(msgs)
        assert rrs[0][1] == SOA and rrs[1][1] != SOA and rrs[-1][1] == SOA  # AXFR style
        z = dns.zone.Zone(ORIGIN)
        feed(z, q, msgs, IXFR, serial)
        assert dns_zone_rrs(z) == lab.stored_rrs()


def _plan(lab: Lab, serial: int) -> tuple[Plan, Difference | None]:
    with lab.store.reader() as r:
        return ixfr.plan(r, ZONE, serial)


def test_ixfr_without_authority_soa_is_formerr(lab: Lab) -> None:
    three_versions(lab)
    q = dns.message.make_query(ORIGIN, IXFR)
    reply = lab.ask(q)
    assert dns.message.from_wire(reply.wire).rcode() == dns.rcode.FORMERR


def test_ixfr_over_udp_when_it_fits(lab: Lab) -> None:
    lab.load(zone_text(10, {"www": "10.0.0.3"}))
    z = lab.axfr_zone()
    lab.load(zone_text(11, {"www": "10.0.0.4"}))
    msgs = ixfr_into(lab, z, 10, tcp=False)
    assert len(msgs) == 1
    assert dns_zone_rrs(z) == lab.stored_rrs()


def test_ixfr_over_udp_too_big_gets_one_soa(lab: Lab) -> None:
    many = {f"h{i}": f"10.0.{i // 250}.{i % 250}" for i in range(300)}
    lab.load(zone_text(10, {}))
    lab.load(zone_text(11, many))
    reply = lab.ask(ixfr_query(10), tcp=False)
    assert not reply.stream
    rrs = wire_rrs([reply.wire])
    assert [r[1] for r in rrs] == [SOA]
    assert len(reply.wire) <= 512
    assert lab.handler.outcomes == {"ixfr-udp-overflow": 1}
    # The same over TCP is incremental.
    assert len(wire_rrs(lab.messages(lab.ask(ixfr_query(10))))) > 300


def test_difference_bigger_than_the_zone_is_sent_as_axfr(lab: Lab) -> None:
    lab.load(zone_text(10, {f"h{i}": "10.0.0.1" for i in range(20)}))
    lab.load(zone_text(11, {f"h{i}": "10.0.0.2" for i in range(20)}))
    kind, _ = _plan(lab, 10)
    assert kind is Plan.FULL  # 40 changed RRs, 22 RRs in the zone (RFC 1995 §5)


def _journal_without_soa(lab: Lab) -> None:
    """What an engine that leaves the SOA out of its journal entries writes."""
    lab.load(zone_text(10, {"www": "10.0.0.3", "keep": "10.0.0.5"}))
    www = (f"www.{ORIGIN}", A, 3600, bytes([10, 0, 0, 3]).hex())
    www2 = (f"www.{ORIGIN}", A, 60, bytes([10, 0, 0, 9]).hex())
    with lab.store.writer() as w:
        st = w.zone_state(ZONE)
        assert isinstance(st, ZoneState)
        ttl, (soa,) = w.get(ZONE, ZONE, 6)  # type: ignore[misc]
        w.put_rrset(ZONE, ZONE, 6, ttl, (serials.with_serial(soa, 11),), RRsetMeta())
        w.delete_rrset(ZONE, names.from_text(www[0]), A)
        w.put_rrset(ZONE, names.from_text(www[0]), A, 60, (bytes([10, 0, 0, 9]),), RRsetMeta())
        entry = JournalEntry(10, 11, [www], [www2], "test", "ttl and address", int(NOW))
        st.serial = 11
        w.append_journal(ZONE, st, entry, depth=10, max_bytes=1 << 20)
        w.put_zone_state(ZONE, st)


def test_journal_entries_without_soa_still_give_the_right_soas(lab: Lab) -> None:
    lab.load(zone_text(10, {"www": "10.0.0.3", "keep": "10.0.0.5"}))
    z = lab.axfr_zone()
    lab2 = Lab(lab.tmp / "b")
    (lab.tmp / "b").mkdir()
    _journal_without_soa(lab2)
    q = ixfr_query(10)
    msgs = lab2.messages(lab2.ask(q))
    answers = [dns.message.from_wire(m, one_rr_per_rrset=True).answer for m in msgs]
    serial_seq = [rr[0].serial for rrs in answers for rr in rrs if rr.rdtype == SOA]
    assert serial_seq == [11, 10, 11, 11]
    feed(z, q, msgs, IXFR, 10)
    assert dns_zone_rrs(z) == lab2.stored_rrs()


def test_gap_in_the_journal_means_full_transfer(lab: Lab) -> None:
    three_versions(lab)
    with lab.store.writer() as w:
        entries = list(w.journal(ZONE))
        from leasedns.store import schema

        w.kv.delete(b"journal", schema.journal_key(ZONE, entries[0][0]))
    assert _plan(lab, 10)[0] is Plan.FULL
    assert _plan(lab, 11)[0] is Plan.INCREMENTAL


# -- condensation (RFC 1995 §6) -------------------------------------------------


def _rr(owner: str, addr: int, ttl: int = 300) -> tuple[tuple[bytes, ...], int, int, bytes]:
    return names.from_text(owner), A, ttl, bytes([10, 0, 0, addr])


def _diff() -> Difference:
    soa = (ZONE, 6, 300, b"")
    return Difference(1, 2, soa, soa)


def test_condense_add_then_delete_cancels() -> None:
    d = _diff()
    d.apply([], [_rr("x.lab.example.", 1)])
    d.apply([_rr("x.lab.example.", 1)], [])
    assert d.size == 0


def test_condense_delete_then_readd_same_ttl_cancels() -> None:
    d = _diff()
    d.apply([_rr("x.lab.example.", 1)], [])
    d.apply([], [_rr("x.lab.example.", 1)])
    assert d.size == 0


def test_condense_delete_then_readd_other_ttl_keeps_both() -> None:
    d = _diff()
    d.apply([_rr("x.lab.example.", 1, 3600)], [_rr("x.lab.example.", 1, 300)])
    d.apply([_rr("x.lab.example.", 1, 300)], [_rr("x.lab.example.", 1, 60)])
    key = (names.from_text("x.lab.example."), A, bytes([10, 0, 0, 1]))
    assert d.deleted == {key: 3600}
    assert d.added == {key: 60}


def test_chain_follows_consecutive_serials() -> None:
    def e(a: int, b: int) -> tuple[int, JournalEntry]:
        return a, JournalEntry(a, b, [], [], "", "", 0)

    entries = [e(1, 2), e(2, 3), e(3, 4), e(7, 8), e(8, 9)]
    assert [x.serial_from for x in ixfr.chain(entries, 2, 4)] == [2, 3]
    assert ixfr.chain(entries, 1, 9) == []
    assert [x.serial_from for x in ixfr.chain(entries, 7, 9)] == [7, 8]
    assert ixfr.chain(entries, 5, 9) == []
