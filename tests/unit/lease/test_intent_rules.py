"""Intent rules end to end over the engines: role awareness, profile overrides, the keep switch,
adoption, downtime pauses and tombstone retention (issue "Intent-aware lifecycle" 1, 2, 3, 5, 6, 7)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from harness import Harness, deferred_delete

from leasedns.lease.protect import ZoneLifecycle
from leasedns.lease.roles import InfraSettings, RoleIndex
from leasedns.store.records import Provenance, State
from leasedns.zone import loader
from leasedns.zone.masterfile import parse_zone_file

A = 1
ZONE_EXTRA = """nfs CNAME nas-dyn
mail MX 10 mx-dyn
"""


def add(h: Harness, name: str, addr: str, key: str = "dhcp-key.", lease: int | None = None) -> None:
    u = h.update(key)
    u.add(name, 300, "A", addr)
    if lease is not None:
        deferred_delete(u, name, lease, "A", addr)
    assert h.send(u).rcode() == 0


def delete(h: Harness, name: str, key: str = "dhcp-key.") -> None:
    u = h.update(key)
    u.delete(name, "A")
    assert h.send(u).rcode() == 0


def meta(h: Harness, name: str):  # type: ignore[no-untyped-def]
    from leasedns.wire import names

    with h.store.reader() as r:
        return r.get_meta(h.zone, names.from_text(name, h.zone), A)


def roles(h: Harness) -> RoleIndex:
    with h.store.reader() as r:
        return RoleIndex.build(r, [h.zone], h.infra)


@pytest.fixture
def h(tmp_path):  # type: ignore[no-untyped-def]
    return Harness(tmp_path, profile="balanced", grace=100)


def test_infrastructure_reasons_from_human_records_networks_and_patterns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, profile="balanced", grace=100)
    f = tmp_path / "lab.zone"
    f.write_text(f.read_text() + ZONE_EXTRA)
    with h.store.writer() as w:
        loader.import_zone(w, parse_zone_file(str(f)), str(f), h.clock())
    add(h, "nas-dyn", "10.0.9.20")
    add(h, "mx-dyn", "10.0.9.25")
    add(h, "twin", "10.0.0.10")  # the zone file's "static" has this address
    add(h, "plain", "10.0.9.99")
    add(h, "rack", "10.0.8.7")
    add(h, "hv7", "10.0.9.77")
    h.infra = InfraSettings(networks=["10.0.8.0/24"], name_patterns=["hv*.lab.example."])
    idx = roles(h)

    def why(name: str, addr: bytes) -> list[str]:
        from leasedns.wire import names

        return idx.reasons(names.from_text(name, h.zone), A, (addr,), meta(h, name))

    assert why("nas-dyn", bytes([10, 0, 9, 20])) == ["target of CNAME nfs.lab.example."]
    assert why("mx-dyn", bytes([10, 0, 9, 25])) == ["target of MX mail.lab.example."]
    assert why("twin", bytes([10, 0, 0, 10])) == [
        "address 10.0.0.10 is also in the human record static.lab.example."
    ]
    assert why("rack", bytes([10, 0, 8, 7])) == [
        "address 10.0.8.7 is in infrastructure network 10.0.8.0/24"
    ]
    assert why("hv7", bytes([10, 0, 9, 77])) == [
        "name matches infrastructure pattern hv*.lab.example."
    ]
    assert why("plain", bytes([10, 0, 9, 99])) == []


def test_infrastructure_is_handled_at_least_as_conservatively_as_conservative(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, profile="aggressive", grace=100)
    h.infra = InfraSettings(networks=["10.0.8.0/24"])
    add(h, "rack", "10.0.8.7", lease=50)
    add(h, "phone", "10.0.9.7", lease=50)
    h.advance(50)
    assert h.rrset("phone", A) is None, "aggressive: the draft exactly"
    assert meta(h, "rack").state == State.GRACE, "infrastructure: grace, not deletion"
    h.advance(100)
    assert meta(h, "rack").state == State.PROPOSED and h.rrset("rack", A) is not None


def test_profile_overrides_per_name_pattern_and_network(h: Harness) -> None:
    h.settings = replace(
        h.settings,
        overrides=(("*.iot.lab.example.", "", "aggressive"), ("", "10.0.7.0/24", "conservative")),
    )
    add(h, "cam.iot", "10.0.9.31")
    add(h, "printer9", "10.0.7.9")
    add(h, "laptop", "10.0.9.40")
    for name in ("cam.iot", "printer9", "laptop"):
        delete(h, name)
    assert h.rrset("cam.iot", A) is None, "name pattern override: aggressive removes at once"
    assert meta(h, "laptop").state == State.GRACE, "the zone's balanced profile"
    assert meta(h, "printer9").state == State.GRACE
    h.advance(100)
    assert h.rrset("laptop", A) is None, "balanced: removed after grace"
    assert meta(h, "printer9").state == State.PROPOSED, "network override: conservative proposes"


def test_keep_on_expiry_never_deletes_on_lease_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, profile="aggressive", grace=100)
    h.settings = replace(h.settings, keep_on_expiry=True)
    add(h, "sleepy", "10.0.9.50", lease=30)
    h.advance(1000)
    assert h.rrset("sleepy", A) is not None and meta(h, "sleepy").state == State.PROPOSED


def test_admin_editing_an_automation_rrset_adopts_it(h: Harness) -> None:
    add(h, "nas9", "10.0.9.60")
    assert meta(h, "nas9").provenance == Provenance.DHCP
    add(h, "nas9", "10.0.9.61", key="admin-key.")
    m = meta(h, "nas9")
    assert m.provenance == Provenance.ADMIN and m.human_touched
    with h.store.reader() as r:
        notes = [e.detail.get("ignored", []) for e in r.audit_events() if e.kind == "update"]
    assert any("adopted nas9.lab.example." in n for ns in notes for n in ns), notes
    delete(h, "nas9")  # automation may not remove it now
    assert h.rrset("nas9", A) is not None


def test_downtime_with_many_deadlines_past_pauses_removal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, profile="balanced", grace=100)
    h.settings = replace(h.settings, blast_min=3, blast_share=0.25)
    for i in range(8):
        add(h, f"dev{i}", f"10.0.9.{100 + i}", lease=50)
    restarted = Harness(tmp_path, profile="balanced", grace=100, store=h.store)
    restarted.settings = h.settings
    restarted.clock.t = h.clock.t + 10_000  # the server was down for hours
    restarted.timers.load(int(restarted.clock.t))
    with restarted.store.reader() as r:
        st = r.zone_state(restarted.zone)
    assert st is not None and "server was down: 8 removal deadlines passed" in st.paused
    restarted.advance(500)
    assert all(restarted.rrset(f"dev{i}", A) is not None for i in range(8)), "nothing mass-deleted"


def test_tombstones_past_retention_are_purged(h: Harness) -> None:
    h.settings = replace(h.settings, tombstone_retention=1000)
    add(h, "gone", "10.0.9.70", key="admin-key.")
    delete(h, "gone", key="admin-key.")
    with h.store.reader() as r:
        assert len(list(r.iter_tombstones(h.zone))) == 1
    assert h.timers.purge_tombstones(int(h.clock.t) + 999) == 0
    assert h.timers.purge_tombstones(int(h.clock.t) + 1001) == 1
    with h.store.reader() as r:
        assert list(r.iter_tombstones(h.zone)) == []


def test_settings_default_grace_is_the_lease_at_least_an_hour() -> None:
    from leasedns.lease.protect import grace_seconds

    assert grace_seconds(ZoneLifecycle(), 600) == 3600
    assert grace_seconds(ZoneLifecycle(), 7200) == 7200
    assert grace_seconds(ZoneLifecycle(grace=5), 7200) == 5
