"""For any sequence of adds, deferred deletes, cancels, normal deletes and clock advances,
the store equals a small reference model of draft-ietf-dnsind-deferred-dns-delete §3."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import dns.rdatatype
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "lease"))
from harness import Harness, deferred_delete  # noqa: E402

from leasedns.lease.entry import CANCEL  # noqa: E402

NAMES = ["h0", "h1"]
ADDRS = ["10.0.9.1", "10.0.9.2"]  # not in any human record (that would make them infrastructure)

rr = st.tuples(st.sampled_from(NAMES), st.sampled_from(ADDRS))
op = st.one_of(
    st.tuples(st.just("add"), rr),
    st.tuples(st.just("defer"), rr, st.integers(1, 30)),
    st.tuples(st.just("cancel"), rr),
    st.tuples(st.just("delete"), rr),
    st.tuples(st.just("advance"), st.integers(0, 40)),
)


class Model:
    def __init__(self) -> None:
        self.now = 0
        self.present: set[tuple[str, str]] = set()
        self.deferred: dict[tuple[str, str], int] = {}

    def apply(self, o: tuple) -> None:  # type: ignore[type-arg]
        kind = o[0]
        if kind == "add":
            self.present.add(o[1])
        elif kind == "defer":
            if o[1] in self.present:  # §3.2: a deferred delete of nothing does nothing
                self.deferred[o[1]] = self.now + o[2]  # ... and replaces a matching one
        elif kind == "cancel":
            self.deferred.pop(o[1], None)  # §3.4
        elif kind == "delete":
            self.present.discard(o[1])
            self.deferred.pop(o[1], None)  # §3.3: purge what refers to nothing
        else:
            self.now += o[1]
            for key, deadline in list(self.deferred.items()):
                if deadline <= self.now:
                    self.present.discard(key)
                    del self.deferred[key]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=25))
def test_store_equals_reference_model(ops: list) -> None:  # type: ignore[type-arg]
    h = Harness(Path(tempfile.mkdtemp()))
    model = Model()
    for o in ops:
        kind = o[0]
        if kind == "advance":
            h.advance(o[1])
        else:
            name, addr = o[1]
            u = h.update()
            if kind == "add":
                u.add(name, 30, "A", addr)
            elif kind == "defer":
                deferred_delete(u, name, o[2], "A", addr)
            elif kind == "cancel":
                deferred_delete(u, name, CANCEL, "A", addr)
            else:
                u.delete(name, "A", addr)
            assert h.send(u).rcode() == 0
        model.apply(o)
        got = set()
        for name in NAMES:
            cur = h.rrset(name, dns.rdatatype.A)
            for rd in cur[1] if cur else ():
                got.add((name, ".".join(str(b) for b in rd)))
        assert got == model.present, f"after {o}"
