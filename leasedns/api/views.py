"""What the API and the /ui page show: zones, RRsets with role and explanation, tombstones, audit.

Plain functions over a store ``Reader``, the zone's lifecycle settings and
``now``; the JSON field names here are the documented API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, tzinfo
from typing import Any

import dns.rdatatype

from leasedns.lease.entry import LeaseEntry
from leasedns.lease.explain import Attempt, Subject, explain
from leasedns.lease.protect import ZoneLifecycle
from leasedns.lease.roles import RoleIndex, address_text
from leasedns.store.records import RRsetMeta, State
from leasedns.store.zonestore import Reader
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.zone.inventory import iso, zone_rows
from leasedns.zone.present import rdata_text, type_text

ATTEMPT_WINDOW = 7 * 86400  # how far back the audit is read for refused automation attempts

# The notes lease.protect and the update engine write into the audit (see Guard.remove/check_add).
_KEPT = re.compile(r"^(\S+) type (\d+): kept \((.+)\)$")
_HUMAN_ADD = re.compile(r"^REFUSED: (\S+) type (\d+) was made by a human")
_CLAIM = re.compile(r"^REFUSED: (\S+) is \w+ for another client")
_RECONCILED = re.compile(r"^reconciled (\S+) (.+)$")

AttemptKey = tuple[str, int]  # (owner text, type); type 0 = every type at the name


def attempts_by_rrset(r: Reader, zone: Name, since: float) -> dict[AttemptKey, list[Attempt]]:
    """Refused or not-applied automation attempts per RRset, read back from the audit log."""
    zt = names.to_text(zone)
    out: dict[AttemptKey, list[Attempt]] = {}
    for e in r.audit_events(since):
        if e.zone != zt:
            continue
        if e.kind == "update" and e.outcome == "applied":
            returned: dict[str, str] = {}
            for note in e.detail.get("ignored") or []:
                m = _KEPT.match(str(note))
                if m and m.group(3) in ("made by a human", "pinned"):
                    key = (m.group(1), int(m.group(2)))
                    out.setdefault(key, []).append(Attempt(e.time, e.actor, "delete", m.group(3)))
                rec = _RECONCILED.match(str(note))
                if rec and (rec.group(1) not in returned or "→" in rec.group(2)):
                    returned[rec.group(1)] = rec.group(2)  # the address move says the most
            for owner, what in returned.items():
                out.setdefault((owner, 0), []).append(Attempt(e.time, e.actor, "reconciled", what))
        elif e.kind == "update" and e.outcome == "refused":
            m = _HUMAN_ADD.match(e.reason)
            if m:
                key = (m.group(1), int(m.group(2)))
                out.setdefault(key, []).append(
                    Attempt(e.time, e.actor, "overwrite", "made by a human")
                )
            m = _CLAIM.match(e.reason)
            if m:
                out.setdefault((m.group(1), 0), []).append(Attempt(e.time, e.actor, "claim"))
        elif e.kind in ("deferred-delete", "update-lease") and e.outcome == "keep":
            d = e.detail
            if "made by a human" in e.reason or "pinned" in e.reason:
                why = "made by a human" if "made by a human" in e.reason else "pinned"
                key = (str(d.get("owner", "")), int(d.get("type", 0)))
                out.setdefault(key, []).append(Attempt(e.time, e.actor, "deadline", why))
    return out


def record_rows(
    r: Reader,
    zone: Name,
    settings: ZoneLifecycle,
    roles: RoleIndex,
    now: float,
    name: Name | None = None,
    states: Iterable[str] | None = None,
    tz: tzinfo = UTC,
) -> list[dict[str, Any]]:
    """Every RRset of ``zone`` (or at ``name``) as the API returns it."""
    st = r.zone_state(zone)
    paused = st.paused if st is not None else ""
    wanted = set(states) if states else None
    attempts = attempts_by_rrset(r, zone, now - ATTEMPT_WINDOW)
    metas = {(o, t): m for o, t, m in r.iter_meta(zone)}
    data = {(o, t): rds for o, t, _ttl, rds in r.iter_zone(zone) if name is None or o == name}
    out = []
    for row in zone_rows(r, zone, name):
        owner = names.from_text(row["name"])
        rtype = _type_code(row["type"])
        meta = metas.get((owner, rtype)) or RRsetMeta()
        if wanted is not None and str(meta.state) not in wanted:
            continue
        rdatas = data.get((owner, rtype), ())
        reasons = roles.reasons(owner, rtype, rdatas, meta)
        subject = Subject(
            names.to_text(zone), row["name"], row["type"], row["ttl"],
            tuple(a for a in (address_text(rtype, rd) for rd in rdatas) if a),
        )  # fmt: skip
        leases = _leases_of(r, zone, owner, rtype)
        tried = attempts.get((row["name"], rtype), []) + attempts.get((row["name"], 0), [])
        why = explain(subject, meta, leases, settings, reasons, paused, now, tried, tz)
        deadlines = [e.deadline for e in leases]
        out.append(
            {
                "zone": names.to_text(zone),
                "name": row["name"],
                "type": row["type"],
                "ttl": row["ttl"],
                "rdata": row["rdata"],
                "provenance": str(meta.provenance),
                "state": str(meta.state),
                "role": "infrastructure" if reasons else "host",
                "role_reasons": reasons,
                "identity": meta.identity or None,
                "lease_expires": iso(min(deadlines)) if deadlines else None,
                "state_deadline": iso(meta.state_deadline),
                "created": iso(meta.created),
                "confirmed": iso(meta.confirmed),
                "human_touched": iso(meta.human_touched),
                "writer": meta.writer or None,
                "leases": row["leases"],
                "explanation": [{"code": x.code, "text": x.text} for x in why],
            }
        )
    return out


def _leases_of(r: Reader, zone: Name, owner: Name, rtype: int) -> list[LeaseEntry]:
    out = []
    for _, raw in r.leases_at(zone, owner):
        e = LeaseEntry.from_json(raw)
        if e.rtype in (rtype, 255):
            out.append(e)
    return out


def _type_code(text: str) -> int:
    return int(dns.rdatatype.from_text(text))


def zone_summary(
    r: Reader, zone: Name, settings: ZoneLifecycle, roles: RoleIndex
) -> dict[str, Any]:
    """One entry of ``GET /api/v1/zones``."""
    st = r.zone_state(zone)
    states = {str(s): 0 for s in State}
    infra = 0
    metas = {(o, t): m for o, t, m in r.iter_meta(zone)}
    n = 0
    for owner, rtype, _ttl, rdatas in r.iter_zone(zone):
        n += 1
        meta = metas.get((owner, rtype)) or RRsetMeta()
        states[str(meta.state)] += 1
        if roles.reasons(owner, rtype, rdatas, meta):
            infra += 1
    return {
        "zone": names.to_text(zone),
        "serial": st.serial if st else None,
        "source": st.source if st else None,
        "rrsets": n,
        "states": states,
        "infrastructure": infra,
        "tombstones": sum(1 for _ in r.iter_tombstones(zone)),
        "profile": settings.profile,
        "grace": settings.grace,
        "keep_on_expiry": settings.keep_on_expiry,
        "paused": (st.paused or None) if st else None,
        "paused_at": iso(st.paused_at) if st else None,
    }


def tombstone_rows(r: Reader, zone: Name) -> list[dict[str, Any]]:
    """``GET /api/v1/zones/{zone}/tombstones``: newest first."""
    out = []
    for _, raw in r.iter_tombstones(zone):
        v = json.loads(raw)
        rtype = int(v["type"])
        meta = v.get("meta") or {}
        out.append(
            {
                "zone": v["zone"],
                "name": v["owner"],
                "type": type_text(rtype),
                "ttl": v["ttl"],
                "rdata": [rdata_text(rtype, bytes.fromhex(h)) for h in v["rdatas"]],
                "provenance": meta.get("provenance"),
                "state_before": meta.get("state"),
                "identity": meta.get("identity") or None,
                "reason": v["reason"],
                "removed_by": v["actor"],
                "removed_at": iso(v["removed_at"]),
                "removed_at_unix": v["removed_at"],
                "meta": meta,
            }
        )
    out.sort(key=lambda x: x["removed_at_unix"], reverse=True)
    return out


def audit_rows(
    r: Reader, zone: str | None, since: float, limit: int = 1000
) -> list[dict[str, Any]]:
    """``GET /api/v1/audit``: oldest first, at most ``limit`` (the newest)."""
    rows = []
    for e in r.audit_events(since):
        if zone is not None and e.zone != zone:
            continue
        d = asdict(e)
        d["time_iso"] = iso(e.time)
        rows.append(d)
    return rows[-limit:] if limit else rows


def served_zone_rows(
    r: Reader,
    zones: Iterable[Name],
    settings_for: Callable[[Name], ZoneLifecycle],
    roles_for: Callable[[Name], RoleIndex],
) -> list[dict[str, Any]]:
    """``GET /api/v1/zones``: every served zone, sorted by name."""
    return [
        zone_summary(r, z, settings_for(z), roles_for(z))
        for z in sorted(zones, key=lambda z: tuple(reversed(z)))
    ]
