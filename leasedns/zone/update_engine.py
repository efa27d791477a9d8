"""Queued dynamic updates applied in bulk: one transaction, one serial bump per zone per batch.

Like Knot's ``update_enqueue`` + ``process_bulk``: updates that arrive together
are evaluated in arrival order, each against the state the previous ones left,
inside ONE LMDB write transaction; the replies go out only after it committed
(sync on), so an acknowledged update is on disk.  Pure given a store, a clock
and a ``schedule`` callable (the reactor's ``callLater(0, ...)`` in production).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from leasedns.keys import Keyring
from leasedns.store.records import AuditEvent, JournalEntry, Provenance, RRsetMeta
from leasedns.store.zonestore import Store, Writer
from leasedns.update import policy, rfc2136
from leasedns.update.message import UpdateFormatError, UpdateMessage, UpdateRR, parse_update
from leasedns.update.rfc2136 import NOERROR, REFUSED, SERVFAIL, ZoneTxn
from leasedns.wire import names, tsig
from leasedns.wire.names import Name
from leasedns.wire.render import Renderer, opt_rr
from leasedns.zone import serial as serials
from leasedns.zone.present import rr_text

RCODE_TEXT = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
              6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}  # fmt: skip
T_SOA = 6


@dataclass
class ZonePolicy:
    rules: list[policy.Rule] = field(default_factory=list)
    allow_update: list[str] = field(default_factory=list)


@dataclass
class Pending:
    wire: bytes
    addr: str
    send: Callable[[bytes], None]
    tsig: tsig.TsigResult
    msg: UpdateMessage | None = None


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
        on_change: Callable[[Name, int, set[Name], bool], None],
        serial_policy: str = "increment",
        journal_depth: int = 1000,
        journal_max_bytes: int = 64 << 20,
        max_udp: int = 1232,
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
        self.queue: list[Pending] = []
        self.stats = {"batches": 0, "updates": 0, "commits": 0, "refused": 0, "applied": 0}

    # -- intake ------------------------------------------------------------

    def submit(self, wire: bytes, addr: str, send: Callable[[bytes], None]) -> None:
        """Verify TSIG at once (bad signatures never queue); queue the rest for the next batch."""
        now = self.clock()
        result = tsig.verify_request(wire, self.keyring, now)
        if result.error != NOERROR:
            self._audit_refusal(wire, addr, result, f"TSIG error {result.error}")
            send(tsig.error_response(wire, result, result.rcode, now))
            return
        self.queue.append(Pending(wire, addr, send, result))
        if len(self.queue) == 1:
            self.schedule(self.flush)

    def _audit_refusal(self, wire: bytes, addr: str, result: tsig.TsigResult, reason: str) -> None:
        with self.store.writer() as w:
            w.audit(AuditEvent(self.clock(), "update", "", actor="", client=addr,
                               outcome="refused", reason=reason))  # fmt: skip
        self.stats["refused"] += 1

    # -- the batch ---------------------------------------------------------

    def flush(self) -> None:
        batch, self.queue = self.queue, []
        if not batch:
            return
        now = self.clock()
        outcomes: list[Outcome] = []
        changed: list[tuple[Name, int, set[Name], bool]] = []
        try:
            with self.store.writer() as w:
                zones: dict[Name, ZoneTxn] = {}
                for p in batch:
                    outcomes.append(self._one(w, p, zones, now))
                changed = self._finish_zones(w, zones, now)
        except Exception as e:  # noqa: BLE001 - nothing was committed; say so to every client
            outcomes = [Outcome(SERVFAIL, f"store error: {e}") for _ in batch]
            changed = []
        self.stats["batches"] += 1
        self.stats["commits"] += 1
        self.stats["updates"] += len(batch)
        for zone, serial, touched, structural in changed:
            self.on_change(zone, serial, touched, structural)
        for p, o in zip(batch, outcomes, strict=True):
            self.stats["applied" if o.rcode == NOERROR else "refused"] += 1
            p.send(self._reply(p, o.rcode, now))

    def _one(self, w: Writer, p: Pending, zones: dict[Name, ZoneTxn], now: float) -> Outcome:
        key = p.tsig.key
        key_name = key.name if key is not None else None
        role = str(key.role) if key is not None else "dhcp"
        actor = names.to_text(key_name) if key_name is not None else f"unsigned from {p.addr}"
        try:
            msg = parse_update(p.wire)
        except UpdateFormatError as e:
            out = Outcome(rfc2136.FORMERR, str(e))
            self._audit(w, p, None, actor, role, out, now)
            return out
        p.msg = msg
        out = self._evaluate(w, p, msg, zones, key_name, role, actor, now)
        self._audit(w, p, msg, actor, role, out, now)
        return out

    def _evaluate(
        self,
        w: Writer,
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
            return Outcome(rc, "zone section: not a zone served here" if rc == 9 else "zone section")
        z = zones.get(msg.zone) or ZoneTxn(w, msg.zone)
        zones[msg.zone] = z
        rc = rfc2136.check_prerequisites(z, msg)
        if rc:
            return Outcome(rc, "prerequisite failed")
        rc = rfc2136.prescan(msg.zone, msg)
        if rc:
            return Outcome(rc, "prescan: malformed update RR")
        zp = self.zone_policy(msg.zone)
        if key_name is None:
            if role == "transfer" or not policy.address_allowed(zp.allow_update, p.addr):
                return Outcome(REFUSED, "unsigned update and the address is not in allow_update")
        if role == "transfer":
            return Outcome(REFUSED, "transfer keys may not update")
        for rr in msg.updates:
            if not policy.allowed(zp.rules, key_name, role, msg.zone, rr.name, rr.rtype):
                return Outcome(REFUSED, f"policy: {role} may not change {names.to_text(rr.name)} type {rr.rtype}")
        meta_for = self._meta_for(role, actor, int(now))
        ignored = rfc2136.apply_updates(z, msg.updates, msg.zclass, meta_for)
        return Outcome(NOERROR, "applied", ignored)

    def _meta_for(self, role: str, actor: str, now: int) -> rfc2136.MetaFor:
        prov = {"admin": Provenance.ADMIN, "client": Provenance.CLIENT}.get(role, Provenance.DHCP)

        def meta_for(owner: Name, rtype: int, old: RRsetMeta | None) -> RRsetMeta:
            if old is None:
                return RRsetMeta(provenance=prov, created=now, confirmed=now, writer=actor,
                                 human_touched=now if prov.is_human else 0)  # fmt: skip
            if prov.is_human:
                # a human editing automation's RRset adopts it
                return old.with_(provenance=Provenance.ADMIN if not old.provenance.is_human else old.provenance,
                                 human_touched=now, confirmed=now, writer=actor)  # fmt: skip
            return old.with_(confirmed=now, writer=actor)

        return meta_for

    def _finish_zones(
        self, w: Writer, zones: dict[Name, ZoneTxn], now: float
    ) -> list[tuple[Name, int, set[Name], bool]]:
        """One serial bump and one journal entry per changed zone."""
        out = []
        for zone, z in zones.items():
            deleted, added = z.changes()
            soa_before = z.before.get((zone, T_SOA))
            if not deleted and not added and soa_before is None:
                continue
            state = w.zone_state(zone)
            cur_soa = w.get(zone, zone, T_SOA)
            if state is None or cur_soa is None:
                continue
            old_serial = state.serial
            old_soa_rr = soa_before if soa_before is not None else cur_soa
            updated_serial = serials.soa_serial(cur_soa[1][0])
            if soa_before is not None and serials.gt(updated_serial, old_serial):
                new_serial = updated_serial  # the update set a higher serial itself
            else:
                new_serial = serials.next_serial(old_serial, self.serial_policy, now)
            new_soa = serials.with_serial(cur_soa[1][0], new_serial)
            meta = w.get_meta(zone, zone, T_SOA) or RRsetMeta()
            w.put_rrset(zone, zone, T_SOA, cur_soa[0], (new_soa,), meta)
            state.serial = new_serial
            entry = JournalEntry(
                serial_from=old_serial,
                serial_to=new_serial,
                deleted=[(names.to_text(zone), T_SOA, old_soa_rr[0], old_soa_rr[1][0].hex())]
                + [(names.to_text(o), t, ttl, rd.hex()) for o, t, ttl, rd in deleted],
                added=[(names.to_text(zone), T_SOA, cur_soa[0], new_soa.hex())]
                + [(names.to_text(o), t, ttl, rd.hex()) for o, t, ttl, rd in added],
                actor="update",
                reason="dynamic update",
                time=int(now),
            )
            w.append_journal(zone, state, entry, self.journal_depth, self.journal_max_bytes)
            w.put_zone_state(zone, state)
            touched = {o for o, _ in z.before} | {zone}
            structural = any(t in (2, 39) and o != zone for o, t in z.before)  # NS or DNAME: a cut moved
            out.append((zone, new_serial, touched, structural))
        return out

    def _audit(
        self, w: Writer, p: Pending, msg: UpdateMessage | None, actor: str, role: str, o: Outcome, now: float
    ) -> None:
        detail: dict[str, object] = {"rcode": RCODE_TEXT.get(o.rcode, str(o.rcode))}
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
                outcome="applied" if o.rcode == NOERROR else "refused",
                reason=o.reason if o.rcode == NOERROR else f"{RCODE_TEXT.get(o.rcode, o.rcode)}: {o.reason}",
                detail=detail,
            )
        )

    def _reply(self, p: Pending, rcode: int, now: float) -> bytes:
        wire = p.wire
        msg = p.msg
        flags = 0x8000 | (int.from_bytes(wire[2:4], "big") & 0x7800) | (rcode & 0xF)
        qid = int.from_bytes(wire[:2], "big")
        if msg is not None:
            zsec = names.to_wire(msg.zone) + msg.zrtype.to_bytes(2, "big") + msg.zclass.to_bytes(2, "big")
            r = Renderer(qid, flags, zsec, msg.zone, 65535)
            if msg.edns is not None:
                r.add_raw(3, opt_rr(self.max_udp))
            out = r.finish()
        else:
            out = wire[:2] + flags.to_bytes(2, "big") + b"\x00" * 8
        if p.tsig.signed:
            out = tsig.sign_response(out, p.tsig, now)
        return out


def _describe(rr: UpdateRR) -> str:
    if rr.rclass == 1:
        return "add " + rr_text(rr.name, rr.rtype, rr.ttl, rr.rdata)
    what = "RR" if rr.rclass == 254 else ("name" if rr.rtype == 255 else "RRset")
    body = rr_text(rr.name, rr.rtype, rr.ttl, rr.rdata) if rr.rdata else f"{names.to_text(rr.name)} type {rr.rtype}"
    return f"delete {what} {body}" + (f" (ttl {rr.ttl})" if rr.ttl else "")
