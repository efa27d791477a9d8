"""Queued dynamic updates applied in bulk: one transaction, one serial bump per zone per batch.

Like Knot's ``update_enqueue`` + ``process_bulk``: updates that arrive together
are evaluated in arrival order, each against the state the previous ones left,
inside ONE LMDB write transaction; the replies go out only after it committed
(sync on), so an acknowledged update is on disk.  Pure given a store, a clock
and a ``schedule`` callable (the reactor's ``callLater(0, ...)`` in production).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from leasedns.keys import Keyring
from leasedns.lease.book import LeaseBook, WheelOp
from leasedns.lease.deferred import is_deferred, purge_orphans, record_deferred, record_update_lease
from leasedns.lease.entry import CANCEL, capped_ttl
from leasedns.lease.protect import Actor, BlastRadius, Guard, ZoneLifecycle
from leasedns.lease.roles import RoleIndex
from leasedns.query.respond import render_unparsed
from leasedns.store.records import AuditEvent, Provenance, RRsetMeta
from leasedns.store.zonestore import Store, Writer
from leasedns.update import policy, rfc2136
from leasedns.update.message import (
    UpdateFormatError,
    UpdateMessage,
    UpdateRR,
    parse_update,
    read_name,
)
from leasedns.update.rfc2136 import NOERROR, REFUSED, SERVFAIL, ZoneTxn
from leasedns.wire import names, tsig
from leasedns.wire.names import Name
from leasedns.wire.render import opt_rr
from leasedns.zone.commit import ZoneChange, finish_zones
from leasedns.zone.present import rr_text

RCODE_TEXT = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
              6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
              16: "BADVERS"}  # fmt: skip
T_SOA = 6
BADVERS = 16  # extended RCODE (RFC 6891 §6.1.3): 0 in the header, 1 in the OPT's upper bits
IGNORED = -1  # not an RCODE: no reply is sent at all (RFC 9664 §8)
_TSIG_ERRORS = {1: "TSIG: malformed TSIG record (FORMERR)", 16: "TSIG: BADSIG, the MAC does not verify",
                17: "TSIG: BADKEY, unknown key or algorithm", 18: "TSIG: BADTIME, clock outside the fudge",
                22: "TSIG: BADTRUNC, truncated MAC"}  # fmt: skip


@dataclass
class ZonePolicy:
    rules: list[policy.Rule] = field(default_factory=list)
    allow_update: list[str] = field(default_factory=list)
    unsigned_role: str = (
        "admin"  # what an address-allowed unsigned update counts as (BIND: full rights)
    )


@dataclass(frozen=True)
class LeaseLimits:
    """RFC 9664 §8 recommended bounds: 30 s .. 24 h for LEASE, 30 s .. 7 days for KEY-LEASE."""

    lease_min: int = 30
    lease_max: int = 86400
    key_lease_min: int = 30
    key_lease_max: int = 7 * 86400

    def grant(self, lease: int, key_lease: int | None) -> tuple[int, int | None]:
        g = min(max(lease, self.lease_min), self.lease_max)
        if key_lease is None:
            return g, None
        return g, min(max(key_lease, self.key_lease_min), self.key_lease_max)


@dataclass
class Pending:
    wire: bytes
    addr: str
    send: Callable[[bytes], None]
    tsig: tsig.TsigResult
    msg: UpdateMessage | None = None
    granted: tuple[int, int | None] | None = None


@dataclass
class Outcome:
    rcode: int
    reason: str = ""
    ignored: list[str] = field(default_factory=list)


class UpdateEngine:
    def __init__(
        self,
        store: Store,
        served: Callable[[Name], bool],
        keyring: Keyring,
        zone_policy: Callable[[Name], ZonePolicy],
        clock: Callable[[], float],
        schedule: Callable[[Callable[[], None]], None],
        on_change: Callable[[ZoneChange], None],
        serial_policy: str = "increment",
        journal_depth: int = 1000,
        journal_max_bytes: int = 64 << 20,
        max_udp: int = 1232,
        lease_limits: LeaseLimits | None = None,
        on_wheel_ops: Callable[[list[WheelOp]], None] | None = None,
        lifecycle: Lifecycle | None = None,
        lease_update_interval: float = 0.0,
    ) -> None:
        self.store = store
        self.served = served
        self.keyring = keyring
        self.zone_policy = zone_policy
        self.clock = clock
        self.schedule = schedule
        self.on_change = on_change
        self.serial_policy = serial_policy
        self.journal_depth = journal_depth
        self.journal_max_bytes = journal_max_bytes
        self.max_udp = max_udp
        self.lease_limits = lease_limits or LeaseLimits()
        self.on_wheel_ops = on_wheel_ops
        self.lifecycle = lifecycle
        self.queue: list[Pending] = []
        # RFC 9664 §8: when each registration last had a Lease Update acknowledged
        self.lease_update_interval = lease_update_interval
        self._lease_acked: dict[tuple[Name | None, str, Name, Name | None], float] = {}
        self.stats = {"batches": 0, "updates": 0, "commits": 0, "refused": 0, "applied": 0,
                      "protected_refusals": 0, "reconciliations": 0,
                      "lease_updates_ignored": 0}  # fmt: skip

    # -- intake ------------------------------------------------------------

    def submit(self, wire: bytes, addr: str, send: Callable[[bytes], None]) -> None:
        """Verify TSIG at once (bad signatures never queue); queue the rest for the next batch."""
        now = self.clock()
        result = tsig.verify_request(wire, self.keyring, now)
        if result.error != NOERROR:
            self._audit_refusal(
                wire, addr, result, _TSIG_ERRORS.get(result.error, f"TSIG error {result.error}")
            )
            send(tsig.error_response(wire, result, result.rcode, now, self.max_udp))
            return
        self.queue.append(Pending(wire, addr, send, result))
        if len(self.queue) == 1:
            self.schedule(self.flush)

    def _audit_refusal(self, wire: bytes, addr: str, result: tsig.TsigResult, reason: str) -> None:
        """A forged or unverifiable update: record the zone it aimed at and the key it claimed."""
        try:
            zone = names.to_text(read_name(wire, 12)[0]) if len(wire) > 12 else ""
        except UpdateFormatError:
            zone = ""
        claimed = names.to_text(result.ctx.key_name) if result.ctx is not None else ""
        with self.store.writer() as w:
            w.audit(AuditEvent(self.clock(), "update", zone, actor=claimed, client=addr,
                               outcome="refused", reason=reason,
                               detail={"tsig_error": result.error}))  # fmt: skip
        self.stats["refused"] += 1

    # -- the batch ---------------------------------------------------------

    def flush(self) -> None:
        batch, self.queue = self.queue, []
        if not batch:
            return
        now = self.clock()
        outcomes: list[Outcome] = []
        changed: list[ZoneChange] = []
        wheel_ops: list[WheelOp] = []
        try:
            with self.store.writer() as w:
                zones: dict[Name, ZoneTxn] = {}
                book = LeaseBook(w)
                guard = self.lifecycle.guard(w, book, int(now)) if self.lifecycle else None
                if guard is not None:
                    guard.ztxn_for = lambda z: zones.setdefault(z, ZoneTxn(w, z, guard=guard))
                for p in batch:
                    outcomes.append(self._one(w, book, guard, p, zones, now))
                changed = finish_zones(w, zones, now, "update", "dynamic update", self.serial_policy,
                                       self.journal_depth, self.journal_max_bytes)  # fmt: skip
                wheel_ops = book.wheel_ops
        except Exception as e:  # noqa: BLE001 - nothing was committed; say so to every client
            outcomes = [Outcome(SERVFAIL, f"store error: {e}") for _ in batch]
            changed = []
        if wheel_ops and self.on_wheel_ops is not None:
            self.on_wheel_ops(wheel_ops)
        self.stats["batches"] += 1
        self.stats["commits"] += 1
        self.stats["updates"] += len(batch)
        for p, o in zip(batch, outcomes, strict=True):  # the clients first: they are waiting
            if o.rcode == IGNORED:
                self.stats["lease_updates_ignored"] += 1
                continue
            self.stats["applied" if o.rcode == NOERROR else "refused"] += 1
            p.send(self._reply(p, o.rcode, now))
            if o.rcode == NOERROR and p.granted is not None and self.lease_update_interval:
                self._lease_acked[_registration(p)] = now
        if len(self._lease_acked) > 4096:  # forget clients whose interval is over
            since = now - self.lease_update_interval
            self._lease_acked = {c: t for c, t in self._lease_acked.items() if t > since}
        for ch in changed:  # the answer cache and NOTIFY: nothing is answered before this runs
            self.on_change(ch)

    def _one(
        self,
        w: Writer,
        book: LeaseBook,
        guard: Guard | None,
        p: Pending,
        zones: dict[Name, ZoneTxn],
        now: float,
    ) -> Outcome:
        key = p.tsig.key
        key_name = key.name if key is not None else None
        role = key.role.value if key is not None else "dhcp"
        actor = names.to_text(key_name) if key_name is not None else f"unsigned from {p.addr}"
        try:
            msg = parse_update(p.wire)
        except UpdateFormatError as e:
            out = Outcome(rfc2136.FORMERR, str(e))
            self._audit(w, p, None, actor, role, out, now)
            return out
        p.msg = msg
        if msg.edns is not None and msg.edns[1] > 0:  # RFC 6891 §6.1.3: "MUST" be BADVERS
            out = Outcome(BADVERS, f"EDNS version {msg.edns[1]} is not supported")
            self._audit(w, p, msg, actor, role, out, now)
            return out
        if msg.lease is not None and self._too_soon(p, now):
            out = Outcome(IGNORED, "RFC 9664 §8: Lease Update within "
                          f"{self.lease_update_interval:g} s of the last one acknowledged")  # fmt: skip
            self._audit(w, p, msg, actor, role, out, now)
            return out
        if key is None:
            role = self.zone_policy(msg.zone).unsigned_role
        if guard is not None:
            guard.actor = Actor(actor, role, update_identity(msg, role, key_name))
            guard.notes, guard.reconciled = [], []
        out = self._evaluate(w, book, guard, p, msg, zones, key_name, role, actor, now)
        self._audit(w, p, msg, actor, role, out, now)
        return out

    def _too_soon(self, p: Pending, now: float) -> bool:
        """RFC 9664 §8: "another Lease Update Request of either type from the client during
        that interval MUST be silently ignored" (a client renewing in a loop costs a parse)."""
        last = self._lease_acked.get(_registration(p))
        return last is not None and now - last < self.lease_update_interval

    def _evaluate(
        self,
        w: Writer,
        book: LeaseBook,
        guard: Guard | None,
        p: Pending,
        msg: UpdateMessage,
        zones: dict[Name, ZoneTxn],
        key_name: Name | None,
        role: str,
        actor: str,
        now: float,
    ) -> Outcome:
        rc = rfc2136.check_zone_section(msg, self.served)
        if rc:
            return Outcome(
                rc, "zone section: not a zone served here" if rc == 9 else "zone section"
            )
        zp = self.zone_policy(msg.zone)
        if key_name is None and not policy.address_allowed(zp.allow_update, p.addr):
            return Outcome(REFUSED, "unsigned update and the address is not in allow_update")
        if role == "transfer":
            return Outcome(REFUSED, "transfer keys may not update")
        z = zones.get(msg.zone) or ZoneTxn(w, msg.zone, guard=guard)
        zones[msg.zone] = z
        rc = rfc2136.check_prerequisites(z, msg)
        if rc:
            return Outcome(rc, "prerequisite failed")
        rc = rfc2136.prescan(msg.zone, msg, allow_deferred=True)
        if rc:
            return Outcome(rc, "prescan: malformed update RR")
        for rr in msg.updates:
            if not policy.allowed(zp.rules, key_name, role, msg.zone, rr.name, rr.rtype):
                return Outcome(
                    REFUSED,
                    f"policy: {role} may not change {names.to_text(rr.name)} type {rr.rtype}",
                )
        why = rfc2136.occluding_apex_dname(z, msg)
        if why:
            return Outcome(REFUSED, why)
        if guard is not None:  # humans outrank automation; RFC 4703 conflict rule during grace
            for rr in msg.updates:
                why = (
                    guard.check_add(msg.zone, rr.name, rr.rtype) if rr.rclass == msg.zclass else ""
                )
                if why:
                    self.stats["protected_refusals"] += 1
                    return Outcome(REFUSED, why)
        return self._apply(z, book, guard, p, msg, role, actor, now)

    def _apply(
        self,
        z: ZoneTxn,
        book: LeaseBook,
        guard: Guard | None,
        p: Pending,
        msg: UpdateMessage,
        role: str,
        actor: str,
        clock_now: float,
    ) -> Outcome:
        """Immediate operations first, then deferred deletes and leases (draft §3, RFC 9664).

        A lease starts at the next whole second (the wheel counts whole seconds): rounding
        down would let a deadline or a TTL step fire up to a second early, and nothing may
        be deleted before its time (draft §3: "deferred for that number of seconds")."""
        now, start = int(clock_now), math.ceil(clock_now)
        deferred: list[UpdateRR] = []
        immediate: list[UpdateRR] = []
        for rr in msg.updates:
            (deferred if is_deferred(rr) else immediate).append(rr)
        leases = [rr.ttl for rr in deferred if rr.ttl != CANCEL]
        if msg.lease is not None:
            p.granted = self.lease_limits.grant(*msg.lease)
            leases.append(p.granted[0])
        if leases:  # draft §4.1: added RRs get at most half the (shortest) lease as TTL
            cap = min(leases)
            immediate = [replace(rr, ttl=capped_ttl(rr.ttl, cap)) if rr.rclass == msg.zclass else rr
                         for rr in immediate]  # fmt: skip
        identity = guard.actor.identity if guard is not None else ""
        adopted: list[str] = []
        meta_for = self._meta_for(role, actor, now, identity, adopted)
        ignored = rfc2136.apply_updates(z, immediate, msg.zclass, meta_for)
        if guard is not None:
            ignored = (
                guard.notes
                + guard.reconcile_notes()
                + adopted
                + [i for i in ignored if not i.endswith(("grace", "kept", "paused"))]
            )
            self.stats["reconciliations"] += len(guard.reconciled)
        purge_orphans(
            z, book, {rr.name for rr in immediate}
        )  # also leases of data a revive replaced
        notes = [record_deferred(z, book, rr, actor, role, start) for rr in deferred]
        if p.granted is not None:
            lease, key_lease = p.granted
            adds = [rr for rr in immediate if rr.rclass == msg.zclass]
            record_update_lease(z, book, adds, lease, key_lease or lease, actor, role, start)
            notes.append(
                f"update lease {lease} s" + (f", key lease {key_lease} s" if key_lease else "")
            )
        return Outcome(NOERROR, "applied", ignored + notes)

    def _meta_for(
        self, role: str, actor: str, now: int, identity: str = "", adopted: list[str] | None = None
    ) -> rfc2136.MetaFor:
        prov = {"admin": Provenance.ADMIN, "client": Provenance.CLIENT}.get(role, Provenance.DHCP)

        def meta_for(owner: Name, rtype: int, old: RRsetMeta | None) -> RRsetMeta:
            if old is None:
                return RRsetMeta(
                    provenance=prov, created=now, confirmed=now, writer=actor,
                    human_touched=now if prov.is_human else 0,
                    identity="" if prov.is_human else identity,
                )  # fmt: skip
            if prov.is_human:
                if not old.provenance.is_human and adopted is not None:
                    adopted.append(f"adopted {names.to_text(owner)} type {rtype}: now human-owned")
                return old.with_(
                    provenance=Provenance.ADMIN if not old.provenance.is_human else old.provenance,
                    human_touched=now, confirmed=now, writer=actor,
                )  # fmt: skip
            return old.with_(confirmed=now, writer=actor, identity=old.identity or identity)

        return meta_for

    def _audit(
        self,
        w: Writer,
        p: Pending,
        msg: UpdateMessage | None,
        actor: str,
        role: str,
        o: Outcome,
        now: float,
    ) -> None:
        detail: dict[str, object] = {"rcode": RCODE_TEXT.get(o.rcode, "none (no reply)")}
        if msg is not None:
            detail["updates"] = [_describe(rr) for rr in msg.updates]
            if msg.prereqs:
                detail["prereqs"] = len(msg.prereqs)
        if o.ignored:
            detail["ignored"] = o.ignored
        w.audit(
            AuditEvent(
                time=now,
                kind="update",
                zone=names.to_text(msg.zone) if msg is not None else "",
                actor=actor,
                role=role,
                client=p.addr,
                outcome=_outcome(o.rcode),
                reason=o.reason
                if o.rcode in (NOERROR, IGNORED)
                else f"{RCODE_TEXT.get(o.rcode, o.rcode)}: {o.reason}",
                detail=detail,
            )
        )

    def _reply(self, p: Pending, rcode: int, now: float) -> bytes:
        """RFC 2136 §3.8: the header and zone section echoed, OPT when the request had one."""
        wire = p.wire
        msg = p.msg
        flags = 0x8000 | (int.from_bytes(wire[2:4], "big") & 0x7800) | (rcode & 0xF)
        if msg is not None:
            opt = b""
            if rcode == BADVERS:
                opt = opt_rr(self.max_udp, ext_rcode=BADVERS >> 4)
            elif msg.edns is not None or p.granted is not None:
                opt = _opt_with_lease(self.max_udp, p.granted if rcode == NOERROR else None)
            counts = b"\x00\x01\x00\x00\x00\x00\x00\x01" if opt else b"\x00\x01" + b"\x00" * 6
            out = wire[:2] + flags.to_bytes(2, "big") + counts + wire[12 : msg.zone_end] + opt
        else:  # not parsed (FORMERR): zone section and OPT as far as they can be read
            out = render_unparsed(wire, rcode, self.max_udp)[1] or b""
        if p.tsig.signed:
            out = tsig.sign_response(out, p.tsig, now)
        return out


T_DHCID = 49


def _registration(p: Pending) -> tuple[Name | None, str, Name, Name | None]:
    """What RFC 9664 §8 paces: one client's registration of one name, told apart by key,
    address, zone and the first owner updated.  Pacing a key alone would hold back a DHCP
    server that registers many hosts, or a host's forward and reverse names, one update
    each; the loop §8 guards against renews the same name again and again."""
    msg = p.msg
    assert msg is not None
    owner = msg.updates[0].name if msg.updates else None
    return (p.tsig.key.name if p.tsig.key is not None else None, p.addr, msg.zone, owner)


def update_identity(msg: UpdateMessage, role: str, key_name: Name | None) -> str:
    """Who the update speaks for: the DHCID it carries (RFC 4701), else a client key's name."""
    for rr in list(msg.updates) + list(msg.prereqs):
        if rr.rtype == T_DHCID and rr.rdata and rr.rclass == msg.zclass:
            return "dhcid:" + rr.rdata.hex()
    if role == "client" and key_name is not None:
        return "key:" + names.to_text(key_name)
    return ""


@dataclass
class Lifecycle:
    """What the update engine needs to build a lifecycle guard for each batch."""

    settings_for: Callable[[Name], ZoneLifecycle]
    roles_for: Callable[[Name], RoleIndex]
    blast: BlastRadius
    served_zones: Callable[[], Iterable[Name]] | None = None

    def guard(self, w: Writer, book: LeaseBook, now: int) -> Guard:
        g = Guard(w, book, Actor("", ""), self.settings_for, self.roles_for, self.blast, now)
        g.served = self.served_zones
        return g


def _outcome(rcode: int) -> str:
    """Audit wording: a failed prerequisite is a normal answer (D2 probes with them), not a refusal."""
    if rcode == NOERROR:
        return "applied"
    if rcode == IGNORED:
        return "ignored"
    if rcode in (3, 6, 7, 8):  # NXDOMAIN, YXDOMAIN, YXRRSET, NXRRSET (RFC 2136 §3.2)
        return "prerequisite-failed"
    if rcode in (1, 10, BADVERS):  # FORMERR, NOTZONE, an EDNS version we don't speak
        return "rejected"
    return "refused"


def _opt_with_lease(payload: int, granted: tuple[int, int | None] | None) -> bytes:
    """OPT with the RFC 9664 §4 Update Lease option carrying the granted lease (4 or 8 bytes)."""
    if granted is None:
        return opt_rr(payload)
    lease, key_lease = granted
    data = lease.to_bytes(4, "big") + (
        key_lease.to_bytes(4, "big") if key_lease is not None else b""
    )
    option = (2).to_bytes(2, "big") + len(data).to_bytes(2, "big") + data
    return opt_rr(payload)[:-2] + len(option).to_bytes(2, "big") + option


def _describe(rr: UpdateRR) -> str:
    if rr.rclass == 1:
        return "add " + rr_text(rr.name, rr.rtype, rr.ttl, rr.rdata)
    what = "RR" if rr.rclass == 254 else ("name" if rr.rtype == 255 else "RRset")
    body = (
        rr_text(rr.name, rr.rtype, rr.ttl, rr.rdata)
        if rr.rdata
        else f"{names.to_text(rr.name)} type {rr.rtype}"
    )
    return f"delete {what} {body}" + (f" (ttl {rr.ttl})" if rr.ttl else "")
