"""RFC 2136 §3.2 prerequisite evaluation against a brute-force model over small random zones."""

from __future__ import annotations

from dataclasses import dataclass

import dns.rdata
from hypothesis import given, settings
from hypothesis import strategies as st

from leasedns.store.memory_kv import MemoryKV
from leasedns.store.records import RRsetMeta
from leasedns.store.zonestore import Store
from leasedns.update.message import C_ANY, C_IN, C_NONE, UpdateMessage, UpdateRR
from leasedns.update.rfc2136 import (
    FORMERR,
    NOERROR,
    NOTZONE,
    NXDOMAIN,
    NXRRSET,
    YXDOMAIN,
    YXRRSET,
    ZoneTxn,
    check_prerequisites,
)
from leasedns.wire import names

ZONE = names.from_text("lab.example.")
A, MX, TXT, ANY = 1, 15, 16, 255
C_CH = 3

# a.b without b makes b an empty non-terminal: it exists in the tree but is not "in use"
OWNERS = ["@", "a", "b", "a.b", "c"]
OUTSIDE = ["lab.example.org.", "example.", "other."]
TYPES = [A, MX, TXT]
# Presentation forms per type; MX exchanges differ only in case where they must compare equal.
VALUES: dict[int, list[str]] = {
    A: ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    MX: ["10 mx.lab.example.", "10 MX.Lab.Example.", "20 mx.lab.example.", "10 other.example."],
    TXT: ['"x"', '"X"', '"y"'],
}


def semantic(rtype: int, text: str) -> str:
    """What the model compares: names inside rdata ignore case (RFC 4343); TXT does not."""
    return text.lower() if rtype == MX else text


def owner(text: str) -> names.Name:
    return names.from_text(text, ZONE)


def wire(rtype: int, text: str) -> bytes:
    return dns.rdata.from_text("IN", rtype, text).to_wire()


@dataclass(frozen=True)
class Prereq:
    name: str  # relative to the zone unless it ends with a dot
    rtype: int
    rclass: int
    ttl: int
    value: str | None  # presentation rdata, None for RDLENGTH 0

    def rr(self) -> UpdateRR:
        n = names.from_text(self.name) if self.name.endswith(".") else owner(self.name)
        data = (
            b"" if self.value is None else wire(self.rtype if self.rtype != ANY else A, self.value)
        )
        return UpdateRR(n, self.rtype, self.rclass, self.ttl, data)


Zone = dict[tuple[str, int], dict[str, str]]  # (owner, type) -> semantic value -> stored form


@st.composite
def zones(draw: st.DrawFn) -> Zone:
    z: Zone = {}
    for o in OWNERS:
        for t in sorted(draw(st.sets(st.sampled_from(TYPES)))):
            chosen = draw(st.lists(st.sampled_from(VALUES[t]), min_size=1, max_size=3))
            rrset: dict[str, str] = {}
            for text in chosen:
                rrset.setdefault(semantic(t, text), text)  # the store never holds duplicates
            z[(o, t)] = rrset
    return z


def well_formed() -> st.SearchStrategy[Prereq]:
    o = st.sampled_from(OWNERS)
    return st.one_of(
        st.builds(lambda n: Prereq(n, ANY, C_ANY, 0, None), o),  # name is in use
        st.builds(lambda n, t: Prereq(n, t, C_ANY, 0, None), o, st.sampled_from(TYPES)),
        st.builds(lambda n: Prereq(n, ANY, C_NONE, 0, None), o),  # name is not in use
        st.builds(lambda n, t: Prereq(n, t, C_NONE, 0, None), o, st.sampled_from(TYPES)),
        st.sampled_from(TYPES).flatmap(
            lambda t: st.builds(
                lambda n, v: Prereq(n, t, C_IN, 0, v), o, st.sampled_from(VALUES[t])
            )
        ),
    )


def malformed() -> st.SearchStrategy[Prereq]:
    o = st.sampled_from(OWNERS)
    return st.one_of(
        st.builds(lambda n, c: Prereq(n, A, c, 60, None), o, st.sampled_from([C_ANY, C_NONE])),
        st.builds(lambda n: Prereq(n, A, C_IN, 60, "10.0.0.1"), o),
        st.builds(lambda n, c: Prereq(n, A, c, 0, "10.0.0.1"), o, st.sampled_from([C_ANY, C_NONE])),
        st.builds(lambda n: Prereq(n, ANY, C_IN, 0, None), o),
        st.builds(lambda n: Prereq(n, A, C_CH, 0, "10.0.0.1"), o),
        st.builds(
            lambda n, c: Prereq(n, ANY, c, 0, None),
            st.sampled_from(OUTSIDE),
            st.sampled_from([C_ANY, C_NONE]),
        ),
    )


prereq_lists = st.lists(
    st.one_of(well_formed(), well_formed(), well_formed(), malformed()), max_size=4
)


def model(z: Zone, prereqs: list[Prereq]) -> int:
    """RFC 2136 §3.2.5 pseudocode, written out over a dict."""
    in_use = {o for (o, _) in z}
    temp: dict[tuple[str, int], set[str]] = {}
    for p in prereqs:
        if p.ttl != 0:
            return FORMERR
        if p.name.endswith("."):  # every out-of-zone name here is written absolute
            return NOTZONE
        if p.rclass == C_ANY:
            if p.value is not None:
                return FORMERR
            if p.rtype == ANY:
                if p.name not in in_use:
                    return NXDOMAIN
            elif (p.name, p.rtype) not in z:
                return NXRRSET
        elif p.rclass == C_NONE:
            if p.value is not None:
                return FORMERR
            if p.rtype == ANY:
                if p.name in in_use:
                    return YXDOMAIN
            elif (p.name, p.rtype) in z:
                return YXRRSET
        elif p.rclass == C_IN:
            if p.rtype == ANY:
                return FORMERR
            assert p.value is not None
            temp.setdefault((p.name, p.rtype), set()).add(semantic(p.rtype, p.value))
        else:
            return FORMERR
    for key, want in temp.items():
        if set(z.get(key, {})) != want:
            return NXRRSET
    return NOERROR


def evaluate(z: Zone, prereqs: list[Prereq]) -> tuple[int, bool]:
    """leasedns's answer, and whether evaluating wrote anything."""
    store = Store(MemoryKV())
    with store.writer() as w:
        for (o, t), rrset in z.items():
            w.put_rrset(
                ZONE, owner(o), t, 300, tuple(wire(t, v) for v in rrset.values()), RRsetMeta()
            )
    msg = UpdateMessage(1, 5 << 11, ZONE, C_IN, 6, [p.rr() for p in prereqs], [])
    with store.writer() as w:
        zt = ZoneTxn(w, ZONE)
        rcode = check_prerequisites(zt, msg)
        return rcode, bool(zt.before)


@settings(max_examples=200, deadline=None)
@given(zones(), prereq_lists)
def test_prerequisites_agree_with_the_model(z: Zone, prereqs: list[Prereq]) -> None:
    rcode, wrote = evaluate(z, prereqs)
    assert rcode == model(z, prereqs)
    assert not wrote


@settings(max_examples=100, deadline=None)
@given(zones(), st.data())
def test_a_zones_own_rrsets_always_satisfy_value_prerequisites(
    z: Zone, data: st.DataObject
) -> None:
    """Stating an RRset exactly as it is, in any order and any case of embedded names, holds."""
    if not z:
        return
    key = data.draw(st.sampled_from(sorted(z)))
    o, t = key
    texts = list(z[key].values())
    spelled = [
        data.draw(st.sampled_from([v for v in VALUES[t] if semantic(t, v) == semantic(t, text)]))
        for text in texts
    ]
    order = data.draw(st.permutations(spelled))
    prereqs = [Prereq(o, t, C_IN, 0, v) for v in order]
    assert evaluate(z, prereqs)[0] == NOERROR


@settings(max_examples=100, deadline=None)
@given(zones(), st.sampled_from(OWNERS))
def test_in_use_and_not_in_use_are_exact_opposites(z: Zone, name: str) -> None:
    in_use = evaluate(z, [Prereq(name, ANY, C_ANY, 0, None)])[0]
    not_in_use = evaluate(z, [Prereq(name, ANY, C_NONE, 0, None)])[0]
    assert (in_use, not_in_use) in ((NOERROR, YXDOMAIN), (NXDOMAIN, NOERROR))
