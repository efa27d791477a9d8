"""Property: for any history of changes, AXFR(N) + IXFR(N -> M) == AXFR(M).

Histories are random per-RR additions, deletions and TTL changes (whole RRsets
keep one TTL, RFC 2181 §5.2), journalled with or without the SOA in each entry.
dnspython's transfer client applies our messages, so the check does not trust
our own reading of them.
"""

from __future__ import annotations

import dns.message
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.xfr
import dns.zone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leasedns.keys import Keyring
from leasedns.query.zoneindex import ZoneIndex
from leasedns.server.dispatch import parse_request
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.records import JournalEntry, RRsetMeta, ZoneState
from leasedns.store.zonestore import Store
from leasedns.wire import names
from leasedns.xfr.access import DEFAULT_ACL
from leasedns.xfr.handler import XfrHandler
from leasedns.zone import serial as serials

ORIGIN = "lab.example."
ZONE = names.from_text(ORIGIN)
A, TXT, SOA, NS = 1, 16, 6, 2
OWNERS = [names.from_text(f"{h}.{ORIGIN}") for h in ("a", "b", "c", "x.y")] + [ZONE]
SOA_RDATA = (
    names.to_wire(names.from_text("ns1." + ORIGIN))
    + names.to_wire(names.from_text("hostmaster." + ORIGIN))
    + bytes(4)
    + b"".join(v.to_bytes(4, "big") for v in (3600, 600, 1209600, 300))
)

RRsetKey = tuple[tuple[bytes, ...], int]
Model = dict[RRsetKey, tuple[int, frozenset[bytes]]]

op = st.one_of(
    st.tuples(
        st.just("add"), st.sampled_from(OWNERS), st.sampled_from([A, TXT]), st.integers(0, 5)
    ),
    st.tuples(
        st.just("del"), st.sampled_from(OWNERS), st.sampled_from([A, TXT]), st.integers(0, 5)
    ),
    st.tuples(
        st.just("ttl"), st.sampled_from(OWNERS), st.sampled_from([A, TXT]), st.integers(0, 5)
    ),
    st.tuples(st.just("drop"), st.sampled_from(OWNERS), st.sampled_from([A, TXT]), st.just(0)),
)
history = st.lists(
    st.tuples(st.lists(op, min_size=1, max_size=4), st.booleans()), min_size=1, max_size=6
)


def rdata(rtype: int, i: int) -> bytes:
    return bytes([10, 0, 0, i]) if rtype == A else bytes([3]) + f"t{i:02d}".encode()


def rrs(owner: tuple[bytes, ...], rtype: int, ttl: int, rds: frozenset[bytes]) -> list:
    return [(names.to_text(owner), rtype, ttl, rd.hex()) for rd in sorted(rds)]


def step(model: Model, ops: list) -> tuple[Model, list, list]:
    """Apply ops to a copy of the model; return it with the RR-level deletions and additions."""
    new = dict(model)
    for kind, owner, rtype, i in ops:
        k = (owner, rtype)
        ttl, rds = new.get(k, (300, frozenset()))
        if kind == "add":
            rds = rds | {rdata(rtype, i)}
        elif kind == "del":
            rds = rds - {rdata(rtype, i)}
        elif kind == "ttl":
            ttl = [60, 300, 3600, 30, 120, 86400][i]
        else:
            rds = frozenset()
        if rds:
            new[k] = (ttl, rds)
        else:
            new.pop(k, None)
    deleted, added = [], []
    for k in set(model) | set(new):
        old, cur = model.get(k), new.get(k)
        if old == cur:
            continue
        if old is not None and cur is not None and old[0] == cur[0]:
            deleted += rrs(*k, old[0], old[1] - cur[1])
            added += rrs(*k, cur[0], cur[1] - old[1])
            continue
        if old is not None:
            deleted += rrs(*k, *old)
        if cur is not None:
            added += rrs(*k, *cur)
    return new, deleted, added


def write_version(
    store: Store, model: Model, new: Model, deleted: list, added: list, serial: int, with_soa: bool
) -> None:
    with store.writer() as w:
        state = w.zone_state(ZONE)
        for k in set(model) | set(new):
            if k in new:
                ttl, rds = new[k]
                w.put_rrset(ZONE, k[0], k[1], ttl, tuple(sorted(rds)), RRsetMeta())
            else:
                w.delete_rrset(ZONE, k[0], k[1])
        soa = serials.with_serial(SOA_RDATA, serial)
        w.put_rrset(ZONE, ZONE, SOA, 3600, (soa,), RRsetMeta())
        if state is None:
            state = ZoneState(origin=ORIGIN, serial=serial)
        else:
            old = (ORIGIN, SOA, 3600, serials.with_serial(SOA_RDATA, state.serial).hex())
            cur = (ORIGIN, SOA, 3600, soa.hex())
            entry = JournalEntry(
                state.serial,
                serial,
                ([old] if with_soa else []) + deleted,
                ([cur] if with_soa else []) + added,
                "test",
                "",
                0,
            )
            state.serial = serial
            w.append_journal(ZONE, state, entry, depth=100, max_bytes=1 << 20)
        w.put_zone_state(ZONE, state)


def transfer(handler: XfrHandler, q: dns.message.Message) -> list[bytes]:
    data = q.to_wire()
    req, rec = parse_request(data)
    reply = handler.transfer(data, req, rec, ("127.0.0.1", 1), True, 0.0, Keyring())
    assert reply.wire is not None
    return [reply.wire, *reply.stream]


def feed(z: dns.zone.Zone, q: dns.message.Message, msgs: list[bytes], serial: int | None) -> None:
    rdtype = q.question[0].rdtype
    with dns.xfr.Inbound(z, rdtype, serial) as inbound:
        done = False
        for m in msgs:
            r = dns.message.from_wire(
                m, xfr=True, origin=z.origin, one_rr_per_rrset=rdtype == dns.rdatatype.IXFR
            )
            done = inbound.process_message(r)
        assert done


def content(z: dns.zone.Zone) -> set:
    out = set()
    for name, rdataset in z.iterate_rdatasets():
        for rd in rdataset:
            out.add(
                (
                    name.derelativize(z.origin),
                    rdataset.rdtype,
                    rdataset.ttl,
                    rd.to_digestable(z.origin),
                )
            )
    return out


def ixfr_query(serial: int) -> dns.message.Message:
    q = dns.message.make_query(ORIGIN, dns.rdatatype.IXFR)
    q.authority.append(
        dns.rrset.from_text(ORIGIN, 0, "IN", "SOA", f"ns1.{ORIGIN} h.{ORIGIN} {serial} 0 0 0 0")
    )
    return q


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history)
def test_axfr_n_plus_ixfr_n_to_m_is_axfr_m(steps: list) -> None:
    store = Store(MemoryKV())
    handler = XfrHandler(store, ZoneIndex([ZONE]), lambda z: DEFAULT_ACL)
    model: Model = {((names.from_text("ns1." + ORIGIN)), A): (300, frozenset({rdata(A, 1)}))}
    model[(ZONE, NS)] = (3600, frozenset({names.to_wire(names.from_text("ns1." + ORIGIN))}))
    write_version(store, {}, model, [], [], 1000, True)
    snapshots: list[tuple[int, dns.zone.Zone]] = []
    serial = 1000
    for ops, with_soa in steps:
        z = dns.zone.Zone(ORIGIN)
        feed(
            z,
            dns.message.make_query(ORIGIN, "AXFR"),
            transfer(handler, dns.message.make_query(ORIGIN, "AXFR")),
            None,
        )
        snapshots.append((serial, z))
        new, deleted, added = step(model, ops)
        serial = (serial + 1) % (1 << 32)
        write_version(store, model, new, deleted, added, serial, with_soa)
        model = new
    final = dns.zone.Zone(ORIGIN)
    q = dns.message.make_query(ORIGIN, "AXFR")
    feed(final, q, transfer(handler, q), None)
    for n, z in snapshots:
        q = ixfr_query(n)
        feed(z, q, transfer(handler, q), n)
        assert content(z) == content(final), n
