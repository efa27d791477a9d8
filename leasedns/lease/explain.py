"""Why an RRset is here and what will happen to it: reason codes with plain sentences.

A pure function of the RRset's metadata, its leases, the zone's lifecycle
settings, its role and the time (ARCHITECTURE §3 rule 5).  What a lease end,
a grace end or a DHCP delete would do is read from ``lease.state.transition``,
the same table the server acts on, so an explanation can never promise
something the lifecycle does not do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from leasedns.lease.entry import LeaseEntry, LeaseKind, Scope, halve
from leasedns.lease.protect import ZoneLifecycle, grace_seconds
from leasedns.lease.roles import address_text
from leasedns.lease.state import Effect, Input, Mode, mode_for, transition
from leasedns.store.records import Provenance, RRsetMeta, State

PINNED_ROLE_REASON = "pinned by an admin"  # lease.roles says so; the pin has its own sentence

AtFn = Callable[[float], str]


@dataclass(frozen=True)
class Reason:
    """One line of an explanation: a stable code for scripts, a sentence for people."""

    code: str
    text: str


@dataclass(frozen=True)
class Subject:
    """The RRset being explained, in presentation form."""

    zone: str
    owner: str
    rtype: str
    ttl: int
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """Something automation did or tried on this RRset, read back from the audit log."""

    time: float
    actor: str
    action: str  # refused: "delete" | "overwrite" | "claim" | "deadline"; or "reconciled"
    why: str = ""  # "made by a human", "pinned", "10.0.0.5 → 10.0.0.9", ...


def duration(seconds: float) -> str:
    """'1 h 58 m', '40 s', '2 d 3 h': the two most significant units, rounded down."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    parts: list[tuple[int, str]] = []
    for label, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, s = divmod(s, size)
        if n or parts:
            parts.append((n, label))
        if len(parts) == 2:
            break
    return " ".join(f"{n} {label}" for n, label in parts if n)


def clock_time(ts: float, now: float, tz: tzinfo = UTC) -> str:
    """'10:02' today, '2026-11-22 10:02' on another day (in ``tz``)."""
    when = datetime.fromtimestamp(ts, tz)
    if when.date() == datetime.fromtimestamp(now, tz).date():
        return when.strftime("%H:%M")
    return when.strftime("%Y-%m-%d %H:%M")


def identity_text(identity: str) -> str:
    """'DHCID 000201636fc0…', 'key host1.lab.example.', or the identity as the hook gave it."""
    kind, _, value = identity.partition(":")
    if kind == "dhcid" and value:
        return f"DHCID {value[:12]}…" if len(value) > 12 else f"DHCID {value}"
    if kind == "key" and value:
        return f"key {value}"
    return identity


def _key(name: str) -> str:
    return name[:-1] if name.endswith(".") and name != "." else name


def effective_mode(
    subject: Subject, meta: RRsetMeta, settings: ZoneLifecycle, infrastructure: Sequence[str]
) -> Mode:
    """The mode the server applies (``Guard.mode``): protected, or the profile, made stricter."""
    human = meta.provenance.is_human or bool(meta.human_touched)
    profile = settings.profile_of(subject.owner, list(subject.addresses))
    return mode_for(profile, human, bool(infrastructure), settings.keep_on_expiry)


def explain(
    subject: Subject,
    meta: RRsetMeta | None,
    leases: Sequence[LeaseEntry],
    settings: ZoneLifecycle,
    infrastructure: Sequence[str],
    paused: str,
    now: float,
    attempts: Sequence[Attempt] = (),
    tz: tzinfo = UTC,
) -> list[Reason]:
    """Every reason that applies to ``subject`` at ``now``, most important first.

    ``infrastructure`` is ``RoleIndex.reasons`` for the RRset (empty: a host),
    ``paused`` the zone's blast-radius pause reason ("" when cleanup runs).
    """
    meta = meta or RRsetMeta()
    mode = effective_mode(subject, meta, settings, infrastructure)
    human = mode == Mode.PROTECTED

    def at(ts: float) -> str:
        return clock_time(ts, now, tz)

    out = [_provenance(meta, at)]
    if meta.state == State.PINNED:
        out.append(Reason("pinned", "pinned: never removed automatically"))
    elif meta.state == State.GRACE:
        out.append(_grace(meta, mode, paused, now, at))
    elif meta.state == State.PROPOSED:
        out.append(
            Reason(
                "proposed",
                "proposed for cleanup: waiting for an admin "
                f"(leasedns cleanup approve {subject.owner} {subject.rtype})",
            )
        )
    if paused and not human and settings.profile != "aggressive":  # Guard._blast_ok: same rule
        out.append(
            Reason(
                "paused",
                f"automatic removal is paused for this zone ({paused}); "
                f"leasedns cleanup resume {subject.zone}",
            )
        )
    roles = [r for r in infrastructure if r != PINNED_ROLE_REASON]
    if roles:
        if human:
            out.append(Reason("infrastructure", "infrastructure: " + "; ".join(roles)))
        else:
            stricter = (
                mode == Mode.CONSERVATIVE
                and settings.profile_of(subject.owner, list(subject.addresses)) != "conservative"
            )
            extra = (
                " (handled as conservative: cleanup needs an admin's approval)" if stricter else ""
            )
            out.append(
                Reason("infrastructure", "kept as infrastructure: " + "; ".join(roles) + extra)
            )
    if settings.keep_on_expiry and not human:
        out.append(
            Reason(
                "keep-on-expiry",
                "this zone never deletes on lease expiry: cleanup needs an admin's approval",
            )
        )
    for e in sorted(leases, key=lambda x: x.deadline):
        out.append(_lease(e, meta, mode, settings, now, at))
    steps = sorted(e.next_step for e in leases if e.next_step and e.next_step > now)
    if steps and halve(subject.ttl) != subject.ttl:
        out.append(
            Reason(
                "ttl-step",
                f"TTL halves next at {at(steps[0])} ({subject.ttl} s → {halve(subject.ttl)} s)",
            )
        )
    if not leases and not human and meta.state == State.ACTIVE:
        out.append(_no_lease(subject, meta, mode, settings))
    attempts = [a for a in attempts if a.time >= meta.created]  # not an earlier incarnation's
    returns = [a for a in attempts if a.action == "reconciled"]
    if returns:
        last = max(returns, key=lambda x: x.time)
        out.append(
            Reason(
                "reconciled", f"the same client returned at {at(last.time)}: reconciled {last.why}"
            )
        )
    refused = [a for a in attempts if a.action != "reconciled"]
    for a in sorted(refused, key=lambda x: x.time)[-3:]:
        out.append(_attempt(a, at))
    return out


def _provenance(meta: RRsetMeta, at: AtFn) -> Reason:
    who = _key(meta.writer) or "an admin"
    ident = f" ({identity_text(meta.identity)})" if meta.identity else ""
    renewed = (
        f"; last renewed at {at(meta.confirmed)}"
        if meta.confirmed and meta.created and meta.confirmed > meta.created
        else ""
    )
    if meta.provenance == Provenance.ZONEFILE:
        text = "created by the zone file; DHCP lease expiry will not remove it"
        if meta.human_touched and meta.writer:
            text += f" (last changed by {who} at {at(meta.human_touched)})"
        return Reason("zonefile", text)
    if meta.provenance == Provenance.ADMIN:
        if meta.identity:  # automation made it, a human edited it: adopted
            return Reason(
                "adopted",
                f"edited by admin {who} at {at(meta.human_touched or meta.created)}: "
                "now human-owned; DHCP lease expiry will not remove it",
            )
        when = f" at {at(meta.created)}" if meta.created else ""
        return Reason("admin", f"added by admin {who}{when}; DHCP lease expiry will not remove it")
    when = f" at {at(meta.created)}" if meta.created else ""
    if meta.provenance == Provenance.CLIENT:
        if meta.identity.startswith("key:"):
            ident = ""  # the key is the identity: said once
        return Reason("client", f"added by the host itself (key {who}){ident}{when}{renewed}")
    return Reason("dhcp", f"added by DHCP key {who}{ident}{when}{renewed}")


def _grace(meta: RRsetMeta, mode: Mode, paused: str, now: float, at: AtFn) -> Reason:
    since = meta.state_deadline - meta.grace_seconds if meta.grace_seconds else 0
    since_text = f" since {at(since)}" if since else ""
    who = (
        f"the same client ({identity_text(meta.identity)})" if meta.identity else "the same client"
    )
    effect, _ = transition(mode, State.GRACE, Input.GRACE_END)
    deadline = at(meta.state_deadline) if meta.state_deadline else "the end of grace"
    then = {
        Effect.DELETE: f"removed at {deadline}",
        Effect.PROPOSE: f"proposed for cleanup at {deadline}",
    }.get(effect, f"kept after {deadline}")
    text = f"in grace{since_text} — awaiting {who} to return; {then}"
    if meta.state_deadline and meta.state_deadline <= now and paused:
        text += " (held: automatic removal is paused)"
    return Reason("grace", text)


def _lease(
    e: LeaseEntry,
    meta: RRsetMeta,
    mode: Mode,
    settings: ZoneLifecycle,
    now: float,
    at: AtFn,
) -> Reason:
    left = e.deadline - now
    of = ""
    if e.scope == Scope.RR:
        a = address_text(e.rtype, bytes.fromhex(e.rdata))
        of = f" of {a}" if a else ""
    elif e.scope == Scope.NAME:
        of = " of every RRset at the name"
    if e.kind == LeaseKind.DEFERRED_DELETE:
        what = (
            f"deferred delete{of} in {duration(left)}"
            if left > 0
            else f"deferred delete{of} was due at {at(e.deadline)}"
        )
        code = "deferred-delete"
    else:
        what = (
            f"lease{of} ends in {duration(left)}"
            if left > 0
            else f"lease{of} ended at {at(e.deadline)}"
        )
        code = "lease"
    issuer = _key(e.issuer)
    if e.role == "admin":
        return Reason(code, f"{what} (set by {issuer}: always carried out)")
    by = f" (set by {issuer})" if e.kind == LeaseKind.DEFERRED_DELETE else ""
    effect, _ = transition(mode, meta.state, Input.LEASE_END)
    if effect == Effect.DELETE:
        return Reason(code, f"{what}{by}; removed then unless renewed or pinned")
    if effect == Effect.START_GRACE:
        length = (
            settings.grace if settings.grace is not None else grace_seconds(settings, e.seconds)
        )
        return Reason(code, f"{what}{by}, then {duration(length)} grace; {_after_grace(mode)}")
    if mode == Mode.PROTECTED:
        why = "it was made by a human"
    elif meta.state == State.PINNED:
        why = "it is pinned"
    else:
        why = f"it is already in {meta.state}"
    return Reason(code, f"{what}{by}: will not remove it, {why}")


def _after_grace(mode: Mode) -> str:
    effect, _ = transition(mode, State.GRACE, Input.GRACE_END)
    if effect == Effect.DELETE:
        return "removed after that unless renewed or pinned"
    if effect == Effect.PROPOSE:
        return "then proposed for cleanup, removed only when an admin approves"
    return "kept after that"


def _no_lease(subject: Subject, meta: RRsetMeta, mode: Mode, settings: ZoneLifecycle) -> Reason:
    effect, _ = transition(mode, meta.state, Input.AUTOMATION_DELETE)
    if effect == Effect.START_GRACE:
        length = grace_seconds(settings, subject.ttl)
        return Reason(
            "no-lease",
            f"no lease here: stays until its DHCP server deletes it, then {duration(length)} "
            f"grace; {_after_grace(mode)}",
        )
    if effect == Effect.DELETE:
        return Reason("no-lease", "no lease here: stays until its DHCP server deletes it")
    return Reason("no-lease", "no lease here: a delete from automation will not remove it")


def _attempt(a: Attempt, at: AtFn) -> Reason:
    who = _key(a.actor) or "automation"
    when = at(a.time)
    if a.action == "claim":
        return Reason(
            "claim-refused",
            f"another client tried to claim the name through {who} at {when}: refused "
            "(RFC 4703 conflict rule)",
        )
    if a.action == "overwrite":
        return Reason(
            "automation-refused",
            f"{who} tried to overwrite it at {when}: refused ({a.why or 'made by a human'})",
        )
    if a.action == "deadline":
        return Reason(
            "automation-refused",
            f"a deadline set by {who} ran out at {when}: not applied ({a.why or 'made by a human'})",
        )
    return Reason(
        "automation-refused",
        f"{who} tried to delete it at {when}: not applied ({a.why or 'made by a human'})",
    )
