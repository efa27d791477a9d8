"""Stored records: RRset metadata read back as written, from older and newer versions too."""

from __future__ import annotations

from dataclasses import fields

import orjson
from hypothesis import given
from hypothesis import strategies as st

from leasedns.store.records import AuditEvent, Provenance, RRsetMeta, State

metas = st.builds(
    RRsetMeta,
    provenance=st.sampled_from(Provenance),
    state=st.sampled_from(State),
    identity=st.text(max_size=20),
    created=st.integers(0, 2**40),
    confirmed=st.integers(0, 2**40),
    human_touched=st.integers(0, 2**40),
    state_deadline=st.integers(0, 2**40),
    writer=st.text(max_size=20),
    grace_seconds=st.integers(0, 2**31),
    ttl_before_grace=st.integers(0, 2**31),
)


@given(metas)
def test_meta_round_trip_keeps_values_and_enum_types(meta: RRsetMeta) -> None:
    back = RRsetMeta.from_json(meta.to_json())
    assert back == meta
    assert type(back.provenance) is Provenance and type(back.state) is State


def test_to_dict_names_every_field_in_order() -> None:
    meta = RRsetMeta(Provenance.DHCP, State.GRACE, "id", 1, 2, 3, 4, "w", 5, 6)
    d = meta.to_dict()
    assert list(d) == [f.name for f in fields(RRsetMeta)]
    assert d == {f.name: getattr(meta, f.name) for f in fields(RRsetMeta)}


def test_meta_from_an_older_version_takes_defaults() -> None:
    raw = orjson.dumps({"provenance": "dhcp", "created": 7})
    assert RRsetMeta.from_json(raw) == RRsetMeta(provenance=Provenance.DHCP, created=7)
    assert RRsetMeta.from_json(b"{}") == RRsetMeta()


def test_meta_from_a_newer_version_ignores_what_it_does_not_know() -> None:
    d = RRsetMeta(Provenance.CLIENT, State.PINNED, created=3).to_dict()
    d["someday"] = True
    assert RRsetMeta.from_json(orjson.dumps(d)) == RRsetMeta(
        Provenance.CLIENT, State.PINNED, created=3
    )


def test_meta_fields_in_another_order_read_by_name() -> None:
    d = RRsetMeta(Provenance.ADMIN, created=9, writer="x").to_dict()
    shuffled = dict(reversed(list(d.items())))
    assert RRsetMeta.from_json(orjson.dumps(shuffled)) == RRsetMeta(
        Provenance.ADMIN, created=9, writer="x"
    )


def test_human_provenances() -> None:
    assert {p for p in Provenance if p.is_human} == {Provenance.ZONEFILE, Provenance.ADMIN}


def test_audit_event_round_trip() -> None:
    ev = AuditEvent(1.5, "deferred-delete", "lab.example.", "k.", "dhcp", "", "delete", "why",
                    {"owner": "h.lab.example.", "type": 1})  # fmt: skip
    assert AuditEvent.from_json(ev.to_json()) == ev
    assert list(orjson.loads(ev.to_json())) == [f.name for f in fields(AuditEvent)]
