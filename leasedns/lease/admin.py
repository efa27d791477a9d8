"""Admin operations inside one write transaction: pin, unpin, approve, restore, resume.

Each asks ``lease.state.transition`` where the lifecycle has a rule for it
(pin, unpin, approve), writes one audit event per RRset it acts on, and
collects removals and restores in ``ZoneTxn``s so ``finish`` gives them a
serial bump and a journal entry like any other zone change.  Pure given a
``Writer``, a ``Guard`` (for the mode and the blast-radius state) and ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dns.rdatatype

from leasedns.lease.book import LeaseBook
from leasedns.lease.deferred import purge_orphans
from leasedns.lease.protect import Guard, tombstone
from leasedns.lease.state import Effect, Input, transition
from leasedns.store import codec, schema
from leasedns.store.records import AuditEvent, RRsetMeta, State
from leasedns.store.zonestore import Writer
from leasedns.timers.events import TimerKind, due_key
from leasedns.update.rfc2136 import ZoneTxn
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.zone.commit import ZoneChange, finish_zones

T_SOA, T_CNAME = 6, 5
_BESIDE_CNAME = {46, 47, 50}  # RRSIG, NSEC, NSEC3 may sit beside a CNAME


class AdminError(ValueError):
    """An admin operation that cannot be carried out (``not_found`` tells 404 from 409)."""

    def __init__(self, message: str, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True)
class Change:
    """What an operation did to one RRset."""

    owner: Name
    rtype: int
    before: str  # a state, or "removed" for a restore
    after: str  # a state, or "removed"
    changed: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": names.to_text(self.owner),
            "type": type_text(self.rtype),
            "before": self.before,
            "after": self.after,
            "changed": self.changed,
            "message": self.message,
        }


@dataclass
class AdminTxn:
    """Admin operations sharing one write transaction; call ``finish`` before it commits."""

    w: Writer
    book: LeaseBook
    guard: Guard
    actor: str
    now: int
    client: str = ""  # where the request came from, for the audit
    zones: dict[Name, ZoneTxn] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)

    # -- pin / unpin ---------------------------------------------------------

    def pin(self, zone: Name, owner: Name, rtype: int | None) -> list[Change]:
        """Never removed automatically while pinned; a running grace interval is cancelled."""
        out = []
        for t in self._targets(zone, owner, rtype):
            meta = self._meta(zone, owner, t)
            effect, nxt = self._transition(zone, owner, t, meta, Input.PIN)
            what = _what(owner, t)
            if effect != Effect.PIN or nxt is None:
                out.append(
                    Change(owner, t, meta.state, meta.state, False, f"{what}: already pinned")
                )
                continue
            if meta.state == State.GRACE:
                self._cancel_grace(zone, owner, t, meta)
                self._restore_ttl(zone, owner, t, meta)
            self.w.put_meta(
                zone, owner, t, self._meta(zone, owner, t).with_(state=nxt, state_deadline=0)
            )
            msg = f"{what}: pinned (was {meta.state}); never removed automatically"
            self._audit(zone, "pin", "pinned", msg, owner, t, meta)
            out.append(Change(owner, t, meta.state, nxt, True, msg))
        return out

    def unpin(self, zone: Name, owner: Name, rtype: int | None) -> list[Change]:
        """Back to ``active``: the lifecycle handles it again from the next event on."""
        out = []
        for t in self._targets(zone, owner, rtype):
            meta = self._meta(zone, owner, t)
            effect, nxt = self._transition(zone, owner, t, meta, Input.UNPIN)
            what = _what(owner, t)
            if effect != Effect.UNPIN or nxt is None:
                out.append(
                    Change(
                        owner,
                        t,
                        meta.state,
                        meta.state,
                        False,
                        f"{what}: not pinned ({meta.state})",
                    )
                )
                continue
            self.w.put_meta(zone, owner, t, meta.with_(state=nxt, state_deadline=0))
            msg = f"{what}: unpinned, now {nxt}"
            self._audit(zone, "unpin", "unpinned", msg, owner, t, meta)
            out.append(Change(owner, t, meta.state, nxt, True, msg))
        return out

    # -- approve: the admin's go-ahead for a proposed cleanup ----------------

    def approve(self, zone: Name, owner: Name, rtype: int | None) -> list[Change]:
        """Remove softly (tombstone + audit) what is proposed for cleanup or in grace."""
        out = []
        refused = []
        for t in self._targets(zone, owner, rtype):
            meta = self._meta(zone, owner, t)
            effect, _ = self._transition(zone, owner, t, meta, Input.APPROVE)
            what = _what(owner, t)
            if effect != Effect.DELETE:
                refused.append(f"{what} is {meta.state}, not proposed for cleanup")
                continue
            if meta.state == State.GRACE:
                self._cancel_grace(zone, owner, t, meta)
            reason = "cleanup approved by an admin"
            tombstone(self.w, zone, owner, t, reason, self.actor, self.now)
            z = self._zone(zone)
            z.delete(owner, t)
            purge_orphans(z, self.book, [owner])
            msg = f"{what}: removed (was {meta.state}); tombstone kept, leasedns restore brings it back"
            self._audit(zone, "cleanup-approve", "removed", msg, owner, t, meta)
            out.append(Change(owner, t, meta.state, "removed", True, msg))
            self.done.append("cleanup approved")
        if not out:
            raise AdminError("nothing to approve: " + "; ".join(refused))
        return out

    # -- restore from a tombstone ------------------------------------------

    def tombstones_of(
        self, zone: Name, owner: Name, rtype: int | None
    ) -> list[tuple[bytes, dict[str, Any]]]:
        """Tombstones of ``owner`` (one type, or all), oldest first."""
        base = schema.owner_prefix(zone, owner) + b"\x00"
        out = []
        for k, v in self.w.iter_tombstones(zone):
            if not k.startswith(base) or len(k) != len(base) + 12:  # type, removed-at, sequence
                continue
            t = int.from_bytes(k[len(base) : len(base) + 2], "big")
            if rtype is None or t == rtype:
                out.append((k, codec.loads(v)))
        return out

    def restore(
        self, zone: Name, owner: Name, rtype: int | None, removed_at: int | None = None
    ) -> list[Change]:
        """Put an RRset back exactly as it was removed (data, TTL, metadata), now ``active``."""
        self._zone_state(zone)
        found = self.tombstones_of(zone, owner, rtype)
        if removed_at is not None:
            found = [(k, v) for k, v in found if int(v["removed_at"]) == removed_at]
        latest: dict[int, tuple[bytes, dict[str, Any]]] = {}
        for k, v in found:
            latest[int(v["type"])] = (k, v)  # oldest first, so the newest wins
        if not latest:
            what = _what(owner, rtype) if rtype is not None else names.to_text(owner)
            when = f" removed at {removed_at}" if removed_at is not None else ""
            raise AdminError(f"no tombstone for {what}{when}", not_found=True)
        z = self._zone(zone)
        out = []
        for t, (k, v) in sorted(latest.items()):
            self._check_restorable(zone, owner, t)
            meta = RRsetMeta.from_json(codec.dumps(v["meta"]))
            meta = meta.with_(state=State.ACTIVE, state_deadline=0)
            rdatas = tuple(bytes.fromhex(h) for h in v["rdatas"])
            z.put(owner, t, int(v["ttl"]), rdatas, meta)
            self.w.delete_tombstone(k)
            msg = f"{_what(owner, t)}: restored ({len(rdatas)} RR, removed at {v['removed_at']}: {v['reason']})"
            self._audit(
                zone, "restore", "restored", msg, owner, t, meta, removed_at=v["removed_at"]
            )
            out.append(Change(owner, t, "removed", State.ACTIVE, True, msg))
            self.done.append("restored from tombstone")
        return out

    def _check_restorable(self, zone: Name, owner: Name, rtype: int) -> None:
        types = self.w.types_at(zone, owner)
        what = _what(owner, rtype)
        if rtype in types:
            raise AdminError(f"{what} exists again; delete it first to restore the old data")
        if rtype == T_CNAME and any(t not in _BESIDE_CNAME for t in types):
            raise AdminError(f"{what}: the name holds other data now; a CNAME cannot join it")
        if T_CNAME in types and rtype not in _BESIDE_CNAME:
            raise AdminError(f"{what}: the name holds a CNAME now")

    def _restore_ttl(self, zone: Name, owner: Name, rtype: int, meta: RRsetMeta) -> None:
        """Leaving grace by an admin's hand: the TTL grace lowered comes back (a zone change)."""
        cur = self.w.get(zone, owner, rtype)
        if cur is None or not meta.ttl_before_grace or meta.ttl_before_grace == cur[0]:
            return
        z = self._zone(zone)
        z.put(owner, rtype, meta.ttl_before_grace, cur[1], meta.with_(ttl_before_grace=0))

    # -- resume after a blast-radius pause ------------------------------------

    def resume(self, zone: Name) -> Change:
        """Automatic removal runs again; held-back removals retry at their next timer."""
        self._zone_state(zone)
        was = self.guard.blast.resume(self.w, zone)
        if not was:
            return Change(
                zone, T_SOA, "running", "running", False, "automatic removal is not paused"
            )
        msg = f"automatic removal resumed (was paused: {was})"
        self.w.audit(
            AuditEvent(float(self.now), "cleanup-resumed", names.to_text(zone), actor=self.actor,
                       role="admin", client=self.client, outcome="resumed", reason=msg)
        )  # fmt: skip
        return Change(zone, T_SOA, "paused", "running", True, msg)

    # -- closing ---------------------------------------------------------------

    def finish(
        self, serial_policy: str = "increment", journal_depth: int = 1000,
        journal_max_bytes: int = 64 << 20,
    ) -> list[ZoneChange]:  # fmt: skip
        """One serial bump and journal entry per zone whose data changed."""
        reason = "admin: " + ", ".join(dict.fromkeys(self.done)) if self.done else "admin"
        return finish_zones(
            self.w, self.zones, self.now, self.actor, reason, serial_policy, journal_depth,
            journal_max_bytes,
        )  # fmt: skip

    # -- helpers ---------------------------------------------------------------

    def _zone_state(self, zone: Name) -> Any:
        state = self.w.zone_state(zone)
        if state is None:
            raise AdminError(f"zone {names.to_text(zone)} is not in the store", not_found=True)
        return state

    def _zone(self, zone: Name) -> ZoneTxn:
        z = self.zones.get(zone)
        if z is None:
            z = self.zones[zone] = ZoneTxn(self.w, zone)
        return z

    def _targets(self, zone: Name, owner: Name, rtype: int | None) -> list[int]:
        self._zone_state(zone)
        if rtype is None:
            types = sorted(t for t in self.w.types_at(zone, owner) if t != T_SOA)
            if not types:
                raise AdminError(f"no data at {names.to_text(owner)}", not_found=True)
            return types
        if self.w.get(zone, owner, rtype) is None:
            raise AdminError(f"{_what(owner, rtype)} not found", not_found=True)
        return [rtype]

    def _meta(self, zone: Name, owner: Name, rtype: int) -> RRsetMeta:
        return self.w.get_meta(zone, owner, rtype) or RRsetMeta()

    def _transition(
        self, zone: Name, owner: Name, rtype: int, meta: RRsetMeta, event: Input
    ) -> tuple[Effect, State | None]:
        return transition(self.guard.mode(zone, owner, rtype, meta), meta.state, event)

    def _cancel_grace(self, zone: Name, owner: Name, rtype: int, meta: RRsetMeta) -> None:
        key = schema.rrset_key(zone, owner, rtype)
        if meta.state_deadline:
            self.w.delete_due(due_key(meta.state_deadline, TimerKind.GRACE_END, key))
        self.book.wheel_ops.append(("cancel", 0, TimerKind.GRACE_END, key))

    def _audit(
        self, zone: Name, kind: str, outcome: str, reason: str, owner: Name, rtype: int,
        meta: RRsetMeta, **extra: Any,
    ) -> None:  # fmt: skip
        detail: dict[str, Any] = {"owner": names.to_text(owner), "type": rtype,
                                  "state_before": str(meta.state), "identity": meta.identity}  # fmt: skip
        detail.update(extra)
        self.w.audit(
            AuditEvent(float(self.now), kind, names.to_text(zone), actor=self.actor, role="admin",
                       client=self.client, outcome=outcome, reason=reason, detail=detail)
        )  # fmt: skip


def _what(owner: Name, rtype: int | None) -> str:
    return f"{names.to_text(owner)} {type_text(rtype) if rtype is not None else 'ANY'}"


def type_text(rtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rtype))
