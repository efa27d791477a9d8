"""A zone's RRsets with their metadata and pending leases, as plain rows for the CLI and API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leasedns.lease.entry import LeaseEntry, LeaseKind
from leasedns.store.zonestore import Reader
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.zone.present import rdata_text, type_text


def iso(ts: int | float | None) -> str | None:
    if not ts:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _lease_row(e: LeaseEntry, rtype: int) -> dict[str, Any]:
    return {
        "kind": "deferred-delete" if e.kind == LeaseKind.DEFERRED_DELETE else "update-lease",
        "scope": str(e.scope),
        "rdata": rdata_text(rtype, bytes.fromhex(e.rdata)) if e.rdata else None,
        "lease_seconds": e.seconds,
        "set_at": iso(e.started),
        "deadline": iso(e.deadline),
        "deadline_unix": e.deadline,
        "next_ttl_step": iso(e.next_step),
        "issuer": e.issuer,
        "role": e.role,
    }


def zone_rows(r: Reader, zone: Name, name: Name | None = None) -> list[dict[str, Any]]:
    """Every RRset (or those at ``name``) with provenance, state and pending leases."""
    leases: dict[tuple[str, int], list[LeaseEntry]] = {}
    for _, raw in r.iter_leases(zone):
        e = LeaseEntry.from_json(raw)
        leases.setdefault((e.owner, e.rtype), []).append(e)
    rows = []
    for owner, rtype, ttl, rdatas in r.iter_zone(zone):
        if name is not None and owner != name:
            continue
        meta = r.get_meta(zone, owner, rtype)
        owner_text = names.to_text(owner)
        mine = leases.get((owner_text, rtype), []) + leases.get((owner_text, 255), [])
        rows.append(
            {
                "name": owner_text,
                "type": type_text(rtype),
                "ttl": ttl,
                "rdata": [rdata_text(rtype, rd) for rd in rdatas],
                "provenance": str(meta.provenance) if meta else "zonefile",
                "state": str(meta.state) if meta else "active",
                "identity": meta.identity if meta else "",
                "created": iso(meta.created) if meta else None,
                "leases": [_lease_row(e, rtype) for e in sorted(mine, key=lambda x: x.deadline)],
            }
        )
    return rows


def lease_counts(r: Reader) -> dict[str, int]:
    """Pending deferred deletes and update leases, for the metrics."""
    out = {"deferred-delete": 0, "update-lease": 0, "half-life-steps": 0}
    for _, raw in r.iter_leases():
        e = LeaseEntry.from_json(raw)
        out["deferred-delete" if e.kind == LeaseKind.DEFERRED_DELETE else "update-lease"] += 1
        if e.next_step:
            out["half-life-steps"] += 1
    return out
