"""The collector: store-derived gauges are walked once per store change, not once per scrape."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from leasedns.config import Config, ZoneConfig
from leasedns.metrics import LeasednsCollector, registry_for
from leasedns.server.core import ServerCore
from leasedns.store.kv import KVBackend
from leasedns.store.lmdb_kv import LmdbKV
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.zonestore import Store
from leasedns.wire import names

ZONE = """$ORIGIN metrics.test.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
     IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
"""
ORIGIN = names.from_text("metrics.test.")


@pytest.fixture(params=["lmdb", "memory"])
def core(request: pytest.FixtureRequest, tmp_path: Path) -> ServerCore:
    zone = tmp_path / "metrics.test.zone"
    zone.write_text(ZONE)
    cfg = Config(zones=[ZoneConfig(file=str(zone))], data_dir=str(tmp_path), http=None)
    kv: KVBackend = LmdbKV(str(tmp_path / "store")) if request.param == "lmdb" else MemoryKV()
    c = ServerCore(cfg, Store(kv))
    assert c.load_zones(first_start=True).loaded
    return c


def gauge(core: ServerCore, name: str) -> float:
    text = generate_latest(registry_for(core)).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("zone") == "metrics.test.":
                return sample.value
    raise AssertionError(f"{name} not exported")


def test_scrapes_without_a_change_reuse_one_walk(core: ServerCore) -> None:
    collector = LeasednsCollector(core)
    first = collector.store_figures()
    assert first.zones["metrics.test."].rrsets == 4
    assert collector.store_figures() is first


def test_a_committed_change_is_seen_by_the_next_scrape(core: ServerCore) -> None:
    collector = LeasednsCollector(core)
    before = collector.store_figures()
    with core.store.writer() as w:
        w.put_rrset(
            ORIGIN, names.from_text("new.metrics.test."), 1, 300, (b"\xc0\x00\x02\x07",), None
        )
    after = collector.store_figures()
    assert after is not before
    assert after.zones["metrics.test."].rrsets == 5


def test_a_write_that_fails_changes_nothing_seen(core: ServerCore) -> None:
    collector = LeasednsCollector(core)
    before = collector.store_figures()
    with pytest.raises(RuntimeError), core.store.writer() as w:
        w.put_rrset(
            ORIGIN, names.from_text("gone.metrics.test."), 1, 300, (b"\xc0\x00\x02\x08",), None
        )
        raise RuntimeError("abort")
    assert collector.store_figures().zones == before.zones


def test_exported_gauges_come_from_the_walk(core: ServerCore) -> None:
    assert gauge(core, "leasedns_zone_rrsets") == 4
    assert gauge(core, "leasedns_tombstones") == 0
