"""In-memory twin of the LMDB backend: same ordered-bytes semantics, for unit tests."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from contextlib import contextmanager

from leasedns.store.schema import DATABASES


class _Table:
    __slots__ = ("data", "keys")

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.keys: list[bytes] = []

    def copy(self) -> _Table:
        t = _Table()
        t.data = dict(self.data)
        t.keys = list(self.keys)
        return t


class _Txn:
    def __init__(self, tables: dict[bytes, _Table], write: bool) -> None:
        self._tables = tables
        self._write = write
        self._copied: set[bytes] = set()

    def get(self, db: bytes, key: bytes) -> bytes | None:
        return self._tables[db].data.get(key)

    def scan(self, db: bytes, start: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        t = self._tables[db]
        i = bisect.bisect_left(t.keys, start)
        keys = t.keys
        while i < len(keys):
            k = keys[i]
            v = t.data.get(k)
            if v is not None:
                yield k, v
            i += 1

    def last(self, db: bytes) -> tuple[bytes, bytes] | None:
        t = self._tables[db]
        if not t.keys:
            return None
        k = t.keys[-1]
        return k, t.data[k]

    def _own(self, db: bytes) -> _Table:
        if not self._write:
            raise RuntimeError("write in a read transaction")
        if db not in self._copied:
            self._tables[db] = self._tables[db].copy()
            self._copied.add(db)
        return self._tables[db]

    def put(self, db: bytes, key: bytes, value: bytes) -> None:
        t = self._own(db)
        if key not in t.data:
            bisect.insort(t.keys, key)
        t.data[key] = bytes(value)

    def delete(self, db: bytes, key: bytes) -> bool:
        t = self._own(db)
        if key not in t.data:
            return False
        del t.data[key]
        t.keys.pop(bisect.bisect_left(t.keys, key))
        return True


class MemoryKV:
    def __init__(self) -> None:
        self._tables = {db: _Table() for db in DATABASES}
        self._commits = 0

    @contextmanager
    def read(self) -> Iterator[_Txn]:
        yield _Txn(dict(self._tables), write=False)

    @contextmanager
    def write(self) -> Iterator[_Txn]:
        txn = _Txn(dict(self._tables), write=True)
        yield txn
        self._tables = txn._tables
        self._commits += 1

    def generation(self) -> int:
        return self._commits

    def close(self) -> None:
        pass
