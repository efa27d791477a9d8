"""Shared unit-test fixtures: a store over both backends, and zone loading from master-file text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from leasedns.store.kv import KVBackend
from leasedns.store.lmdb_kv import LmdbKV
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.zonestore import Store
from leasedns.zone.loader import ImportResult, import_zone
from leasedns.zone.masterfile import parse_zone_file

LoadZone = Callable[..., ImportResult]


@pytest.fixture(params=["memory", "lmdb"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVBackend]:
    """Each store test runs over the in-memory twin and over a real LMDB environment."""
    backend: KVBackend
    if request.param == "memory":
        backend = MemoryKV()
    else:
        backend = LmdbKV(str(tmp_path / "store"), map_size=1 << 26)
    yield backend
    backend.close()


@pytest.fixture
def store(kv: KVBackend) -> Store:
    return Store(kv)


@pytest.fixture
def load_zone(tmp_path: Path) -> LoadZone:
    """Write master-file text to ``tmp_path`` and import it into a store in one transaction."""

    def load(
        store: Store,
        text: str,
        filename: str = "zone.db",
        now: float = 1_700_000_000.0,
        serial_policy: str = "increment",
    ) -> ImportResult:
        path = tmp_path / filename
        path.write_text(text)
        parsed = parse_zone_file(str(path))
        with store.writer() as w:
            return import_zone(w, parsed, str(path), now, serial_policy)

    return load
