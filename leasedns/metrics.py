"""Every Prometheus metric leasedns exports, declared in one place.

The query path only bumps plain integers (``server.dispatch.Counters`` and the
answer cache's per-entry hit counts); ``LeasednsCollector`` turns them into
metric families when Prometheus scrapes, so counting costs nothing per query.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from leasedns import __version__
from leasedns.wire import names

if TYPE_CHECKING:
    from leasedns.server.core import ServerCore

NS = "leasedns"

_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
           6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS"}  # fmt: skip
_QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
           33: "SRV", 35: "NAPTR", 39: "DNAME", 43: "DS", 44: "SSHFP", 52: "TLSA", 65: "HTTPS",
           99: "SPF", 255: "ANY", 251: "IXFR", 252: "AXFR", 257: "CAA", 0: "none"}  # fmt: skip


def qtype_label(t: int) -> str:
    return _QTYPES.get(t, "other")


def rcode_label(r: int) -> str:
    return _RCODES.get(r, str(r))


@dataclass
class _ZoneFigures:
    serial: int
    rrsets: int
    kinds: dict[tuple[str, str, str], int]  # (state, provenance, role) -> RRsets
    paused: bool
    tombstones: int


@dataclass
class _StoreFigures:
    """Everything the metrics learn by walking the store."""

    zones: dict[str, _ZoneFigures]
    leases: dict[str, int]


def _walk_store(core: ServerCore) -> _StoreFigures:
    from leasedns.store.records import RRsetMeta
    from leasedns.zone.inventory import lease_counts

    lc = core.lifecycle
    zones: dict[str, _ZoneFigures] = {}
    with core.store.reader() as r:
        for origin, st in r.zones():
            if origin not in core.zones:
                continue
            roles = lc.roles_for(origin) if lc is not None else None  # type: ignore[attr-defined]
            metas = {(o, t): m for o, t, m in r.iter_meta(origin)}
            kinds: dict[tuple[str, str, str], int] = {}
            rrsets = 0
            for owner, rtype, _ttl, rdatas in r.iter_zone(origin):
                rrsets += 1
                meta = metas.get((owner, rtype)) or RRsetMeta()
                infra = roles is not None and roles.is_infrastructure(owner, rtype, rdatas, meta)
                k = (str(meta.state), str(meta.provenance), "infrastructure" if infra else "host")
                kinds[k] = kinds.get(k, 0) + 1
            tombstones = sum(1 for _ in r.iter_tombstones(origin))
            zones[names.to_text(origin)] = _ZoneFigures(
                st.serial, rrsets, kinds, bool(st.paused), tombstones
            )
        leases = lease_counts(r)
    return _StoreFigures(zones, leases)


class LeasednsCollector(Collector):
    """Turns counters into metric families at scrape time.

    The gauges that need a walk over the store (RRsets by state, tombstones, leases) are
    kept until the store changes: LMDB's last committed transaction id says when. A
    scrape of a quiet server then costs nothing, and a large zone is walked at most once
    per change, not once per scrape (the walk costs tens of microseconds per RRset).
    """

    def __init__(self, core: ServerCore) -> None:
        self.core = core
        self._figures: tuple[object, _StoreFigures] | None = None

    def store_figures(self) -> _StoreFigures:
        core = self.core
        key = (core.store.generation(), core.zones.origins, id(core.lifecycle))
        cached = self._figures
        if cached is not None and cached[0] == key:
            return cached[1]
        figures = _walk_store(core)
        self._figures = (key, figures)
        return figures

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        core = self.core
        c = core.dispatcher.counters
        q = CounterMetricFamily(
            f"{NS}_queries", "DNS messages answered, by query type and response code",
            labels=["qtype", "rcode"],
        )  # fmt: skip
        merged: dict[tuple[str, str], int] = {}
        for src in (c.queries, core.cache.hit_counts()):
            for (qt, rc), n in src.items():
                k = (qtype_label(qt), rcode_label(rc))
                merged[k] = merged.get(k, 0) + n
        for (qtl, rcl), n in sorted(merged.items()):
            q.add_metric([qtl, rcl], n)
        yield q
        yield CounterMetricFamily(
            f"{NS}_truncated_answers",
            "UDP answers sent with TC=1",
            value=c.truncated + core.cache.truncated_hits(),
        )
        yield CounterMetricFamily(f"{NS}_cache_hits", "Answers served from the wire cache",
                                  value=sum(core.cache.hit_counts().values()))  # fmt: skip
        yield CounterMetricFamily(
            f"{NS}_cache_misses", "Cacheable queries answered by the engine", value=c.cache_misses
        )
        yield GaugeMetricFamily(
            f"{NS}_cache_entries", "Wire answers currently cached", value=len(core.cache)
        )
        yield CounterMetricFamily(f"{NS}_malformed_packets", "Packets answered FORMERR or dropped as malformed",
                                  value=c.malformed)  # fmt: skip
        yield CounterMetricFamily(
            f"{NS}_dropped_packets", "Packets dropped unanswered (short, or QR=1)", value=c.dropped
        )
        yield CounterMetricFamily(
            f"{NS}_zone_load_errors", "Zone files that failed to load", value=core.zone_load_errors
        )
        figures = self.store_figures()
        serial = GaugeMetricFamily(f"{NS}_zone_serial", "Current SOA serial", labels=["zone"])
        records = GaugeMetricFamily(f"{NS}_zone_rrsets", "RRsets in the zone", labels=["zone"])
        for z, zf in figures.zones.items():
            serial.add_metric([z], zf.serial)
            records.add_metric([z], zf.rrsets)
        yield serial
        yield records
        yield from _lease_metrics(core, figures)
        yield from _update_metrics(core)
        yield from _lifecycle_metrics(core, figures)
        info = InfoMetricFamily(f"{NS}_build", "leasedns build information")
        info.add_metric([], {"version": __version__})
        yield info
        for extra in core.extra_collectors:
            yield from extra()


def _lease_metrics(core: ServerCore, figures: _StoreFigures) -> Iterator[object]:
    counts = figures.leases
    yield GaugeMetricFamily(f"{NS}_deferred_deletes_pending", "Deferred deletes waiting for their deadline",
                            value=counts["deferred-delete"])  # fmt: skip
    yield GaugeMetricFamily(
        f"{NS}_update_leases", "RRs held by an RFC 9664 Update Lease", value=counts["update-lease"]
    )
    te = core.timer_engine
    if te is None:
        return
    pending = len(te.wheel)  # type: ignore[attr-defined]
    yield GaugeMetricFamily(f"{NS}_timers_pending", "Deadlines in the timer wheel", value=pending)
    st = te.stats  # type: ignore[attr-defined]
    yield CounterMetricFamily(
        f"{NS}_ttl_reductions", "TTL half-life steps applied (draft §4.2)", value=st.ttl_reductions
    )
    yield CounterMetricFamily(f"{NS}_deferred_deletes_executed", "Deferred deletes carried out",
                              value=st.deferred_deletes_executed)  # fmt: skip
    yield CounterMetricFamily(
        f"{NS}_leases_expired", "RFC 9664 leases that ended", value=st.leases_expired
    )
    yield CounterMetricFamily(f"{NS}_timer_ticks", "Timer ticks that had work", value=st.ticks)


def _update_metrics(core: ServerCore) -> Iterator[object]:
    ue = core.update_engine
    if ue is None:
        return
    st = ue.stats  # type: ignore[attr-defined]
    u = CounterMetricFamily(f"{NS}_updates", "Dynamic updates by outcome", labels=["outcome"])
    u.add_metric(["applied"], st["applied"])
    u.add_metric(["refused"], st["refused"])
    yield u
    yield CounterMetricFamily(f"{NS}_update_commits", "Write transactions committed for updates (group commit)",
                              value=st["commits"])  # fmt: skip


def _lifecycle_metrics(core: ServerCore, figures: _StoreFigures) -> Iterator[object]:
    """RRsets by state/provenance/role, grace and proposals, refusals, blast-radius pauses."""
    lc = core.lifecycle
    by_kind = GaugeMetricFamily(
        f"{NS}_rrsets", "RRsets by lifecycle state, provenance and role",
        labels=["zone", "state", "provenance", "role"],
    )  # fmt: skip
    grace = GaugeMetricFamily(
        f"{NS}_grace_rrsets",
        "RRsets in grace: published, awaiting the same client",
        labels=["zone"],
    )
    proposed = GaugeMetricFamily(
        f"{NS}_cleanup_proposals", "RRsets proposed for cleanup, waiting for an admin",
        labels=["zone"],
    )  # fmt: skip
    paused = GaugeMetricFamily(
        f"{NS}_zone_cleanup_paused",
        "1 while automatic removal is paused for the zone (blast-radius limit): alert on it",
        labels=["zone"],
    )
    tombstones = GaugeMetricFamily(
        f"{NS}_tombstones", "Removed RRsets kept for restore", labels=["zone"]
    )
    n_paused = 0
    for z, zf in figures.zones.items():
        counts = zf.kinds
        for (state, prov, role), n in sorted(counts.items()):
            by_kind.add_metric([z, state, prov, role], n)
        grace.add_metric([z], sum(n for k, n in counts.items() if k[0] == "grace"))
        proposed.add_metric([z], sum(n for k, n in counts.items() if k[0] == "proposed"))
        paused.add_metric([z], 1 if zf.paused else 0)
        n_paused += 1 if zf.paused else 0
        tombstones.add_metric([z], zf.tombstones)
    yield by_kind
    yield grace
    yield proposed
    yield paused
    yield GaugeMetricFamily(
        f"{NS}_zones_cleanup_paused", "Zones whose automatic removal is paused", value=n_paused
    )
    yield tombstones
    if lc is not None:
        yield CounterMetricFamily(
            f"{NS}_blast_radius_pauses",
            "Times automatic removal was paused by the blast-radius limit",
            value=lc.blast.pauses,  # type: ignore[attr-defined]
        )
    ue = core.update_engine
    if ue is not None:
        st_ = ue.stats  # type: ignore[attr-defined]
        yield CounterMetricFamily(
            f"{NS}_reconciliations", "Names in grace revived by the same client returning",
            value=st_.get("reconciliations", 0),
        )  # fmt: skip
        yield CounterMetricFamily(
            f"{NS}_protected_refusals",
            "Automation updates refused: human-made data, or another client's name in grace",
            value=st_.get("protected_refusals", 0),
        )
        yield CounterMetricFamily(
            f"{NS}_lease_updates_ignored",
            "RFC 9664 Lease Updates repeated within the minimum interval: not answered (§8)",
            value=st_.get("lease_updates_ignored", 0),
        )
    te = core.timer_engine
    if te is not None:
        yield CounterMetricFamily(
            f"{NS}_grace_ended",
            "Grace intervals that ran out",
            value=te.stats.grace_ended,  # type: ignore[attr-defined]
        )


def registry_for(core: ServerCore) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(LeasednsCollector(core))
    return reg
