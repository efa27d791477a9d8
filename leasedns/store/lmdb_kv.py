"""LMDB backend: the only module that imports ``lmdb``.

Sync is left on (LMDB's default), so a write transaction is on disk when
``write()`` returns; callers acknowledge updates only after that.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lmdb

from leasedns.store.schema import DATABASES, SCHEMA_VERSION


class StoreVersionError(RuntimeError):
    """The data directory was written by an incompatible schema version."""


class _Txn:
    __slots__ = ("_txn", "_dbs")

    def __init__(self, txn: Any, dbs: dict[bytes, Any]) -> None:
        self._txn = txn
        self._dbs = dbs

    # py-lmdb's arguments passed by position: keywords cost more than the lookup itself
    def get(self, db: bytes, key: bytes) -> bytes | None:
        return self._txn.get(key, None, self._dbs[db])

    def scan(self, db: bytes, start: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        # the cursor's own iterator, not a generator around it: most scans stop at once
        # (a name's leases, its types), and the wrapper was most of their cost
        cur = self._txn.cursor(self._dbs[db])
        if not cur.set_range(start):
            return iter(())
        return cur.iternext()  # type: ignore[no-any-return]

    def last(self, db: bytes) -> tuple[bytes, bytes] | None:
        cur = self._txn.cursor(self._dbs[db])
        if not cur.last():
            return None
        return cur.key(), cur.value()

    def put(self, db: bytes, key: bytes, value: bytes) -> None:
        self._txn.put(key, value, True, True, False, self._dbs[db])

    def delete(self, db: bytes, key: bytes) -> bool:
        return self._txn.delete(key, b"", self._dbs[db])  # type: ignore[no-any-return]  # a bool


class LmdbKV:
    def __init__(self, path: str, map_size: int = 1 << 34, readonly: bool = False) -> None:
        os.makedirs(path, exist_ok=True)
        self.env = lmdb.open(
            path,
            map_size=map_size,
            max_dbs=len(DATABASES) + 4,
            sync=True,
            metasync=True,
            readonly=readonly,
            max_readers=256,
        )
        self._dbs = {name: self.env.open_db(name, create=not readonly) for name in DATABASES}
        if not readonly:
            with self.env.begin(write=True) as txn:
                have = txn.get(b"version", db=self._dbs[b"schema"])
                if have is None:
                    txn.put(b"version", SCHEMA_VERSION, db=self._dbs[b"schema"])
                elif have != SCHEMA_VERSION:
                    raise StoreVersionError(
                        f"store schema {have!r}, this leasedns knows {SCHEMA_VERSION!r}"
                    )

    @contextmanager
    def read(self) -> Iterator[_Txn]:
        with self.env.begin(write=False) as txn:
            yield _Txn(txn, self._dbs)

    @contextmanager
    def write(self) -> Iterator[_Txn]:
        with self.env.begin(write=True) as txn:
            yield _Txn(txn, self._dbs)

    def generation(self) -> int:
        """LMDB's id of the last committed write transaction."""
        return int(self.env.info()["last_txnid"])

    def begin_read(self) -> Any:
        """A raw read transaction for the query path (caller aborts it)."""
        return self.env.begin(write=False)

    def close(self) -> None:
        self.env.close()
