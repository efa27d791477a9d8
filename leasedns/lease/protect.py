"""Veto hooks on the write transaction: every removal and every automation add asks the lifecycle.

``Guard`` sits on a ``ZoneTxn`` (as dnspython's ``check_delete_rdataset``
hooks do) so RFC 2136 code stays free of intent rules: it calls
``z.remove()``, and the guard decides from ``lease.state`` whether that is a
soft delete (tombstone), the start of grace, or nothing (protected, pinned,
paused) — and says why.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from leasedns.lease.book import LeaseBook
from leasedns.lease.roles import RoleIndex, address_text
from leasedns.lease.state import Effect, Input, Mode, mode_for, transition
from leasedns.store import codec, schema
from leasedns.store.records import AuditEvent, RRsetMeta, State
from leasedns.store.zonestore import Writer
from leasedns.timers.events import TimerKind
from leasedns.wire import names
from leasedns.wire.names import Name

GRACE_TTL = 60  # "still published, TTL at the floor"
T_PTR = 12
_REVERSE = ((b"in-addr", b"arpa"), (b"ip6", b"arpa"))


def is_reverse(owner: Name) -> bool:
    return owner[-2:] in _REVERSE


# bound once: Python 3.11 looks Enum members up via EnumType.__getattr__
_DELETE = Effect.DELETE
_HUMAN_DELETE, _AUTOMATION_DELETE = Input.HUMAN_DELETE, Input.AUTOMATION_DELETE
MIN_GRACE = 3600  # "default: the lease length, at least 1 h"


@dataclass(frozen=True)
class Actor:
    """Who is acting: a key (with its role), the timer, or an admin through the CLI/API."""

    name: str
    role: str  # admin | dhcp | client | timer
    identity: str = ""  # DHCID hex, client-id, or "key:NAME" for self-updating clients

    @property
    def human(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class ZoneLifecycle:
    """A zone's lifecycle settings (profile, grace, keep switch, blast-radius limits)."""

    profile: str = "balanced"
    grace: int | None = None  # None: the lease length, at least MIN_GRACE
    keep_on_expiry: bool = False
    blast_share: float = 0.25
    blast_window: int = 600
    blast_min: int = 10
    tombstone_retention: int = 30 * 86400
    overrides: tuple[
        tuple[str, str, str], ...
    ] = ()  # (name pattern, network, profile), first match wins

    def profile_of(self, owner_text: str, addresses: list[str]) -> str:
        """The zone's profile, overridden per name pattern or address network (YAML)."""
        for pattern, network, profile in self.overrides:
            if pattern and fnmatch.fnmatch(owner_text.rstrip("."), pattern.rstrip(".")):
                return profile
            if network:
                for a in addresses:
                    try:
                        if ipaddress.ip_address(a) in ipaddress.ip_network(network, strict=False):
                            return profile
                    except ValueError:
                        continue
        return self.profile


def grace_seconds(settings: ZoneLifecycle, lease_seconds: int) -> int:
    if settings.grace is not None:
        return settings.grace
    return max(lease_seconds, MIN_GRACE)


@dataclass
class BlastRadius:
    """Automatic removals per zone in a sliding window; too many pauses the zone (ARCHITECTURE §3 rule 4)."""

    recent: dict[Name, deque[int]] = field(default_factory=dict)
    pauses: int = 0

    def allow(self, w: Writer, zone: Name, settings: ZoneLifecycle, dynamic: int, now: int) -> bool:
        state = w.zone_state(zone)
        if state is None:
            return True
        if state.paused:
            return False
        q = self.recent.setdefault(zone, deque())
        while q and q[0] <= now - settings.blast_window:
            q.popleft()
        limit = max(settings.blast_min, int(settings.blast_share * dynamic))
        if len(q) + 1 > limit:
            self.pause(
                w,
                zone,
                f"more than {limit} automatic removals within {settings.blast_window} s",
                now,
            )
            return False
        q.append(now)
        return True

    def resume(self, w: Writer, zone: Name) -> str:
        """An admin lets automatic removal run again, with a fresh window; returns the old reason."""
        self.recent.pop(zone, None)
        state = w.zone_state(zone)
        if state is None or not state.paused:
            return ""
        was = state.paused
        state.paused, state.paused_at = "", 0
        w.put_zone_state(zone, state)
        return was

    def pause(self, w: Writer, zone: Name, reason: str, now: int) -> None:
        state = w.zone_state(zone)
        if state is None or state.paused:
            return
        state.paused = reason
        state.paused_at = now
        w.put_zone_state(zone, state)
        self.pauses += 1
        w.audit(AuditEvent(float(now), "cleanup-paused", names.to_text(zone), actor="leasedns",
                           outcome="paused", reason=reason))  # fmt: skip


def tombstone(
    w: Writer,
    zone: Name,
    owner: Name,
    rtype: int,
    reason: str,
    actor: str,
    now: int,
    cur: tuple[int, tuple[bytes, ...]] | None = None,
    meta: RRsetMeta | None = None,
) -> None:
    """Keep the full RRset and its metadata so ``restore`` can bring it back."""
    cur = cur or w.get(zone, owner, rtype)
    if cur is None:
        return
    meta = meta or w.get_meta(zone, owner, rtype) or RRsetMeta()
    value = {
        "zone": names.to_text(zone), "owner": names.to_text(owner), "type": rtype,
        "ttl": meta.ttl_before_grace or cur[0],
        "rdatas": list(map(bytes.hex, cur[1])), "meta": meta.to_dict(),
        "reason": reason, "actor": actor, "removed_at": now,
    }  # fmt: skip
    key = schema.tombstone_key(zone, owner, rtype, now)
    seq = 0
    while w.get_tombstone(key) is not None:  # removed before in this same second
        seq += 1
        key = schema.tombstone_key(zone, owner, rtype, now, seq)
    w.put_tombstone(key, codec.dumps(value))


@dataclass
class Guard:
    """Decides removals and automation adds inside one batch (one write transaction)."""

    w: Writer
    book: LeaseBook
    actor: Actor
    settings_for: Callable[[Name], ZoneLifecycle]
    roles_for: Callable[[Name], RoleIndex]
    blast: BlastRadius
    now: int
    cause: Input | None = None  # LEASE_END when a timer acts for an automation deadline
    lease_seconds: int = 0
    ztxn_for: Callable[[Name], Any] | None = (
        None  # the batch's ZoneTxn for another zone (reverse PTRs)
    )
    served: Callable[[], Iterable[Name]] | None = None
    notes: list[str] = field(default_factory=list)
    reconciled: list[tuple[Name, Name, int, tuple[bytes, ...]]] = field(default_factory=list)
    _dynamic: dict[Name, int] = field(default_factory=dict)
    _roles: dict[Name, RoleIndex] = field(default_factory=dict)
    _settings: dict[Name, ZoneLifecycle] = field(default_factory=dict)

    def settings(self, zone: Name) -> ZoneLifecycle:
        """The zone's settings, looked up once per batch (a timer tick asks per removal)."""
        s = self._settings.get(zone)
        if s is None:
            s = self._settings[zone] = self.settings_for(zone)
        return s

    # -- decisions -----------------------------------------------------------

    def mode(
        self,
        zone: Name,
        owner: Name,
        rtype: int,
        meta: RRsetMeta,
        cur: tuple[int, tuple[bytes, ...]] | None = None,
    ) -> Mode:
        if meta.provenance.is_human or meta.human_touched:
            return mode_for("balanced", True, False)
        cur = cur or self.w.get(zone, owner, rtype)
        rdatas = cur[1] if cur else ()
        roles = self._roles.get(zone)
        if roles is None:
            roles = self._roles[zone] = self.roles_for(
                zone
            )  # once per batch: data moves only at its end
        infra = roles.is_infrastructure(owner, rtype, rdatas, meta)
        s = self._settings.get(zone) or self.settings(zone)  # a dict hit, no call, per removal
        if not s.overrides:
            return mode_for(s.profile, False, infra, s.keep_on_expiry)
        addresses = [a for a in (address_text(rtype, rd) for rd in rdatas) if a]
        return mode_for(
            s.profile_of(names.to_text(owner), addresses), False, infra, s.keep_on_expiry
        )

    def remove(
        self, zone: Name, owner: Name, rtype: int, cur: tuple[int, tuple[bytes, ...]] | None = None
    ) -> str:
        """Called instead of deleting an RRset outright; returns why it was kept ("" = gone)."""
        meta = self.w.get_meta(zone, owner, rtype) or RRsetMeta()
        cur = cur or self.w.get(zone, owner, rtype)
        human = self.actor.human
        # an admin's removal, the timer's for an automation deadline, or automation's own
        event = _HUMAN_DELETE if human else self.cause or _AUTOMATION_DELETE
        effect, nxt = transition(self.mode(zone, owner, rtype, meta, cur), meta.state, event)
        if effect is _DELETE:  # the common case first (a timer tick asks once per deadline)
            if not human and not self._blast_ok(zone):
                what = f"{names.to_text(owner)} type {rtype}"
                self.notes.append(f"{what}: kept, automatic removal is paused for this zone")
                return "paused"
            tombstone(self.w, zone, owner, rtype, str(event), self.actor.name, self.now, cur, meta)
            self.w.delete_rrset(zone, owner, rtype)
            return ""
        what = f"{names.to_text(owner)} type {rtype}"
        if effect == Effect.START_GRACE:
            deadline = self.start_grace(zone, owner, rtype, meta)
            self.notes.append(
                f"{what}: moved to grace (published, awaiting the same client) until {deadline}"
            )
            return "grace"
        self.notes.append(
            f"{what}: kept ({'made by a human' if meta.provenance.is_human else meta.state})"
        )
        return "kept"

    def start_grace(self, zone: Name, owner: Name, rtype: int, meta: RRsetMeta) -> int:
        cur = self.w.get(zone, owner, rtype)
        if cur is None:
            return 0
        settings = self.settings(zone)
        length = grace_seconds(
            settings, self.lease_seconds or self._lease_length(zone, owner) or cur[0]
        )
        deadline = self.now + length
        new_meta = meta.with_(state=State.GRACE, state_deadline=deadline, grace_seconds=length,
                              ttl_before_grace=cur[0])  # fmt: skip
        self.w.put_rrset(zone, owner, rtype, min(cur[0], GRACE_TTL), cur[1], new_meta)
        self._schedule(TimerKind.GRACE_END, deadline, schema.rrset_key(zone, owner, rtype))
        return deadline

    def _lease_length(self, zone: Name, owner: Name) -> int:
        """The DHCP/RFC 9664 lease behind this name, if one was given (Kea's TTL is the lease too)."""
        lengths = [e.seconds for e in self.book.at(zone, owner)]
        return max(lengths, default=0)

    def _schedule(self, kind: TimerKind, deadline: int, key: bytes) -> None:
        self.book.schedule(deadline, kind, key)

    def _blast_ok(self, zone: Name) -> bool:
        """The blast-radius limit guards the intent-aware profiles; aggressive is the draft exactly."""
        settings = self.settings(zone)
        if settings.profile == "aggressive":
            return True
        if zone not in self._dynamic:
            self._dynamic[zone] = sum(
                1
                for _, _, m in self.w.iter_meta(zone)
                if not (m.provenance.is_human or m.human_touched)
            )
        return self.blast.allow(self.w, zone, settings, self._dynamic[zone], self.now)

    def grace_end(self, zone: Name, owner: Name, rtype: int, deadline: int) -> str:
        """A grace interval ran out: remove softly, propose, or keep, as the mode says."""
        meta = self.w.get_meta(zone, owner, rtype)
        if meta is None or meta.state != State.GRACE or meta.state_deadline != deadline:
            return "stale"
        effect, nxt = transition(self.mode(zone, owner, rtype, meta), meta.state, Input.GRACE_END)
        if effect == Effect.DELETE:
            if not self._blast_ok(zone):
                self.retry_later(
                    TimerKind.GRACE_END, deadline, schema.rrset_key(zone, owner, rtype)
                )
                return "paused"
            tombstone(self.w, zone, owner, rtype, "grace ended", self.actor.name, self.now)
            self.w.delete_rrset(zone, owner, rtype)
            return "removed"
        if effect == Effect.PROPOSE:
            self.w.put_meta(zone, owner, rtype, meta.with_(state=State.PROPOSED, state_deadline=0))
            return "proposed"
        if nxt is not None and nxt != meta.state:
            self.w.put_meta(zone, owner, rtype, meta.with_(state=nxt, state_deadline=0))
        return "kept"

    def retry_later(self, kind: TimerKind, deadline: int, key: bytes, delay: int = 60) -> None:
        """A removal held back by a pause is looked at again later (it stays overdue)."""
        del deadline
        self._schedule(kind, self.now + delay, key)

    def may_shrink(self, zone: Name, owner: Name, rtype: int) -> str:
        """Removing some RRs of an RRset: automation may not edit what a human made or pinned."""
        if self.actor.human:
            return ""
        meta = self.w.get_meta(zone, owner, rtype)
        if meta is None:
            return ""
        if meta.provenance.is_human or meta.human_touched:
            self.notes.append(f"{names.to_text(owner)} type {rtype}: kept (made by a human)")
            return "kept"
        if meta.state == State.PINNED:
            self.notes.append(f"{names.to_text(owner)} type {rtype}: kept (pinned)")
            return "kept"
        return ""

    # -- automation adds -------------------------------------------------------

    def check_add(self, zone: Name, owner: Name, rtype: int) -> str:
        """Before anything is applied: may this automation add touch ``owner``? ("" = yes)."""
        if self.actor.human:
            return ""
        types = self.w.types_at(zone, owner)  # one scan; a new name (the usual case) ends here
        if rtype in types:
            meta = self.w.get_meta(zone, owner, rtype)
            if meta is not None and (meta.provenance.is_human or meta.human_touched):
                return f"{names.to_text(owner)} type {rtype} was made by a human; automation may not overwrite it"
        for t in types:
            m = self.w.get_meta(zone, owner, t)
            if m is None or m.state not in (State.GRACE, State.PROPOSED, State.PINNED):
                continue
            if is_reverse(owner) and m.state != State.PINNED:
                continue  # the DHCP server owns the address: a reused address gets its new PTR
            event = Input.SAME_IDENTITY if self.same_identity(m) else Input.OTHER_IDENTITY
            effect, _ = transition(Mode.BALANCED, m.state, event)
            if effect == Effect.REFUSE:
                return (f"{names.to_text(owner)} is {m.state} for another client"
                        f" ({m.identity or 'unknown identity'}); RFC 4703 conflict rule")  # fmt: skip
        return ""

    def _drop_old_ptr(self, owner: Name, address: str | None) -> list[str]:
        if address is None or self.ztxn_for is None or self.served is None:
            return []
        rev = names.from_text(ipaddress.ip_address(address).reverse_pointer + ".")
        zone = max((z for z in self.served() if names.is_subdomain(rev, z)), key=len, default=None)
        if zone is None:
            return []
        cur = self.w.get(zone, rev, T_PTR)
        target = names.to_wire(owner)
        if cur is None or target not in cur[1]:
            return []
        meta = self.w.get_meta(zone, rev, T_PTR) or RRsetMeta()
        if meta.provenance.is_human or meta.human_touched or meta.state == State.PINNED:
            return []
        z = self.ztxn_for(zone)
        rest = tuple(rd for rd in cur[1] if rd != target)
        z._remember(rev, T_PTR)
        tombstone(
            self.w,
            zone,
            rev,
            T_PTR,
            f"{names.to_text(owner)} moved away from {address}",
            self.actor.name,
            self.now,
        )
        if rest:
            self.w.put_rrset(zone, rev, T_PTR, cur[0], rest, meta)
        else:
            self.w.delete_rrset(zone, rev, T_PTR)
        return [f"PTR {names.to_text(rev)} → {names.to_text(owner)} removed: the address moved"]

    def same_identity(self, meta: RRsetMeta) -> bool:
        return bool(self.actor.identity) and meta.identity == self.actor.identity

    def before_add(self, zone: Name, owner: Name, rtype: int) -> None:
        """Reconciliation: the same client writing an RRset in grace revives it, moving its data."""
        if self.actor.human:
            return
        meta = self.w.get_meta(zone, owner, rtype)
        cur = self.w.get(zone, owner, rtype)
        if meta is None or cur is None:
            return
        if not self.same_identity(meta):
            if is_reverse(owner) and meta.state in (State.GRACE, State.PROPOSED):
                tombstone(
                    self.w,
                    zone,
                    owner,
                    rtype,
                    "address reused by another client",
                    self.actor.name,
                    self.now,
                )
                self.w.delete_rrset(zone, owner, rtype)
                self.notes.append(
                    f"{names.to_text(owner)} type {rtype}: stale data of a previous client replaced"
                )
            return
        effect, _ = transition(Mode.BALANCED, meta.state, Input.SAME_IDENTITY)
        if effect != Effect.REVIVE:
            return
        self.w.delete_rrset(zone, owner, rtype)  # the add that follows brings the new data
        self.reconciled.append((zone, owner, rtype, tuple(cur[1])))

    def reconcile_notes(self) -> list[str]:
        """After the adds: "reconciled 10.0.0.5 -> 10.0.0.9" for each revived RRset.

        When the address moved and leasedns also serves the reverse zone, the old
        address's PTR to this name goes too (softly, with a tombstone).
        """
        out = []
        for zone, owner, rtype, old in self.reconciled:
            cur = self.w.get(zone, owner, rtype)
            new = cur[1] if cur else ()
            for rd in set(old) - set(new):
                out += self._drop_old_ptr(owner, address_text(rtype, rd))
            a = ", ".join(address_text(rtype, rd) or rd.hex()[:16] for rd in old)
            b = ", ".join(address_text(rtype, rd) or rd.hex()[:16] for rd in new)
            out.append(f"reconciled {names.to_text(owner)} {a} → {b}" if a != b else
                       f"reconciled {names.to_text(owner)} {a} (same client returned)")  # fmt: skip
        return out

    def hidden(self, zone: Name, owner: Name, rtype: int) -> bool:
        """Prerequisites from the same client don't see what its own deletes put in grace."""
        if not self.actor.identity:
            return False
        m = self.w.get_meta(zone, owner, rtype)
        return m is not None and m.state in (State.GRACE, State.PROPOSED) and self.same_identity(m)
