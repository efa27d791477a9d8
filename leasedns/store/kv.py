"""The ordered key/value transaction interface both store backends provide."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol


class KVReader(Protocol):
    def get(self, db: bytes, key: bytes) -> bytes | None: ...

    def scan(self, db: bytes, start: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """Items with key >= ``start`` in ascending byte order."""
        ...

    def last(self, db: bytes) -> tuple[bytes, bytes] | None: ...


class KVWriter(KVReader, Protocol):
    def put(self, db: bytes, key: bytes, value: bytes) -> None: ...

    def delete(self, db: bytes, key: bytes) -> bool: ...


class KVBackend(Protocol):
    def read(self) -> AbstractContextManager[KVReader]: ...

    def write(self) -> AbstractContextManager[KVWriter]:
        """A transaction committed (durably) on normal exit and aborted on an exception."""
        ...

    def generation(self) -> int:
        """A number that changes whenever a write transaction commits (and only then), so
        a reader can tell that its derived figures are still current."""
        ...

    def close(self) -> None: ...
