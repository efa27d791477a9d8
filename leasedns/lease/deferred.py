"""Deferred deletes (draft §3), RFC 9664 leases and half-life steps (draft §4), over a zone view.

Update time: ``record_deferred`` stores or cancels a deferred delete,
``record_update_lease`` gives added RRs an RFC 9664 lease, and
``purge_orphans`` drops entries whose data a normal delete removed.  Timer
time: ``carry_out`` executes a due deadline or half-life step.  The
lifecycle policy decides every removal (``lease.lifecycle.decide``).
"""

from __future__ import annotations

from collections.abc import Iterable

from leasedns.lease.book import LeaseBook
from leasedns.lease.entry import (
    CANCEL,
    TTL_FLOOR,
    LeaseEntry,
    LeaseKind,
    Scope,
    first_step,
    halve,
    step_after,
)
from leasedns.lease.lifecycle import Decision, Effect, Event, decide
from leasedns.update.message import C_ANY, C_NONE, T_ANY, UpdateRR
from leasedns.update.rfc2136 import MetaFor, ZoneTxn, apply_updates, canon
from leasedns.wire import names
from leasedns.wire.names import Name

T_KEY = 25


def is_deferred(rr: UpdateRR) -> bool:
    """Draft §3: a delete whose TTL is not 0."""
    return rr.rclass in (C_ANY, C_NONE) and rr.ttl != 0


def scope_of(rr: UpdateRR) -> Scope:
    if rr.rclass == C_NONE:
        return Scope.RR
    return Scope.NAME if rr.rtype == T_ANY else Scope.RRSET


def _covered_ttls(z: ZoneTxn, owner: Name, rtype: int, scope: Scope, rdata: bytes) -> list[int]:
    """TTLs of the RRsets a deferred delete refers to (empty: it refers to nothing)."""
    if scope == Scope.NAME:
        return [ttl for ttl, _ in z.types_at(owner).values()]
    cur = z.get(owner, rtype)
    if cur is None:
        return []
    if scope == Scope.RR:
        c = canon(rtype, rdata)
        if not any(canon(rtype, rd) == c for rd in cur[1]):
            return []
    return [cur[0]]


def refers_to_data(z: ZoneTxn, e: LeaseEntry) -> bool:
    return bool(_covered_ttls(z, e.owner_name, e.rtype, e.scope, bytes.fromhex(e.rdata)))


def record_deferred(
    z: ZoneTxn, book: LeaseBook, rr: UpdateRR, issuer: str, role: str, now: int
) -> str:
    """Draft §3.2 and §3.4 for one delete with a non-zero TTL; returns what happened."""
    scope = scope_of(rr)
    probe = LeaseEntry(
        names.to_text(z.zone), names.to_text(rr.name), rr.rtype if scope != Scope.NAME else T_ANY,
        LeaseKind.DEFERRED_DELETE, scope, rr.rdata.hex() if scope == Scope.RR else "",
        now, rr.ttl if rr.ttl != CANCEL else 0, issuer, role,
    )  # fmt: skip
    old = book.get(probe.key())
    if rr.ttl == CANCEL:
        if old is None:
            return "cancel: no deferred delete was pending"
        book.remove(old)
        return f"cancelled deferred delete due at {old.deadline}"
    ttls = _covered_ttls(z, rr.name, rr.rtype, scope, rr.rdata)
    if not ttls:
        return "deferred delete refers to no data: nothing deferred"
    step = first_step(now, rr.ttl) if max(ttls) > TTL_FLOOR else 0
    book.put(probe.with_(next_step=step))
    verb = "replaced" if old is not None else "deferred"
    return f"{verb}: delete in {rr.ttl} s (at {now + rr.ttl})"


def record_update_lease(
    z: ZoneTxn, book: LeaseBook, added: Iterable[UpdateRR], lease: int, key_lease: int,
    issuer: str, role: str, now: int,
) -> None:  # fmt: skip
    """RFC 9664 §7: every RR added in the update gets the lease (KEY RRs the key lease)."""
    for rr in added:
        if z.get(rr.name, rr.rtype) is None:
            continue  # the add was ignored (CNAME rules, ...): nothing to lease
        seconds = key_lease if rr.rtype == T_KEY else lease
        book.put(
            LeaseEntry(
                names.to_text(z.zone),
                names.to_text(rr.name),
                rr.rtype,
                LeaseKind.UPDATE_LEASE,
                Scope.RR,
                rr.rdata.hex(),
                now,
                seconds,
                issuer,
                role,
            )  # fmt: skip
        )


def purge_orphans(z: ZoneTxn, book: LeaseBook, owners: Iterable[Name]) -> int:
    """Draft §3.3: entries that no longer refer to any record are dropped."""
    n = 0
    for owner in owners:
        for e in book.at(z.zone, owner):
            if not refers_to_data(z, e):
                book.remove(e)
                n += 1
    return n


def carry_out(
    z: ZoneTxn,
    book: LeaseBook,
    e: LeaseEntry,
    event: Event,
    profile: str,
    meta_for: MetaFor,
    key: bytes | None = None,
) -> Decision:
    """Execute a due deadline or half-life step for ``e`` as the lifecycle policy decides."""
    d = decide(event, e, profile)
    owner = e.owner_name
    if d.effect is _REDUCE_TTL:  # members are singletons: no str comparison
        types = z.types_at(owner)
        covered = list(types) if e.scope == Scope.NAME else [e.rtype]
        highest = 0
        for rtype in covered:
            cur = types.get(rtype)
            if cur is None:
                continue
            new = halve(cur[0])
            highest = max(highest, new)
            if new != cur[0]:
                z.put(owner, rtype, new, cur[1], meta_for(owner, rtype, z.meta(owner, rtype)))
        nxt = step_after(e.started, e.seconds, e.next_step) if highest > TTL_FLOOR else 0
        book.put(e.with_(next_step=nxt if nxt and nxt < e.deadline else 0))
        return d
    if d.effect is _DELETE:
        rdata = bytes.fromhex(e.rdata)
        if e.scope is _ONE_RR:
            rr = UpdateRR(owner, e.rtype, C_NONE, 0, rdata)
        else:
            rr = UpdateRR(owner, e.rtype, C_ANY, 0, b"")
        kept = apply_updates(z, [rr], 1, meta_for)
        if kept and any(k.endswith("paused") for k in kept):
            return _PAUSED
        book.remove(e, key)
        purge_orphans(z, book, [owner])
        if kept:
            return Decision(Effect.KEEP, "kept", "; ".join(kept))
    return d


# Bound once: Python 3.11 looks ``Enum.MEMBER`` up through EnumType.__getattr__ (per deadline).
_REDUCE_TTL, _DELETE, _ONE_RR = Effect.REDUCE_TTL, Effect.DELETE, Scope.RR
_PAUSED = Decision(
    Effect.KEEP, "paused", "automatic removal is paused for this zone; retried later"
)
