"""Ready wire answers keyed by the query's shape, with precise invalidation.

Key: the query's flag bytes, its lower-cased QNAME, QTYPE/QCLASS and every byte
after the question (the OPT RR, so payload size and DO are part of the shape).
Value: the response's header bytes after the ID, and everything after the
question.  A hit is ``id + header + question-as-sent + tail``: the question's
letter case is the client's own, and the cached owner names are compression
pointers into it, so 0x20 case is echoed for free.

Invalidation: a change to a name drops the entries that read that name;
answers that depend on absence (NXDOMAIN, NODATA, wildcard synthesis: they
carry the SOA serial too) are dropped whenever their zone's serial moves.  So a
busy lease zone keeps its positive answers for unrelated names cached.
"""

from __future__ import annotations

from collections.abc import Iterable

from leasedns.query.lookup import LookupResult
from leasedns.wire.names import Name


def cache_key(data: bytes) -> tuple[bytes, int] | None:
    """(key, end of question) for a plain QUERY with one question, else None (slow path)."""
    if len(data) < 17 or data[2] & 0xF8 or data[4:10] != b"\x00\x01\x00\x00\x00\x00":
        return None
    i = 12
    n = len(data)
    while True:
        ln = data[i]
        if ln == 0:
            break
        if ln > 63:
            return None
        i += ln + 1
        if i >= n:
            return None
    qend = i + 5
    if qend > n:
        return None
    return data[2:4] + data[12:i].lower() + data[i:], qend


class AnswerCache:
    """Entries are ``[header, tail, hits, qtype, rcode, tc]``; the hit count lives in the entry
    so a hit costs one increment, and is folded into ``folded`` when the entry goes."""

    __slots__ = ("entries", "by_name", "volatile", "max_entries", "folded", "folded_tc")

    def __init__(self, max_entries: int = 200_000) -> None:
        self.entries: dict[bytes, list] = {}  # type: ignore[type-arg]
        self.by_name: dict[Name, set[bytes]] = {}
        self.volatile: dict[Name, set[bytes]] = {}
        self.max_entries = max_entries
        self.folded: dict[tuple[int, int], int] = {}
        self.folded_tc = 0

    def get(self, key: bytes) -> list | None:  # type: ignore[type-arg]
        return self.entries.get(key)

    def _drop(self, key: bytes) -> None:
        e = self.entries.pop(key, None)
        if e is not None and e[2]:
            k = (e[3], e[4])
            self.folded[k] = self.folded.get(k, 0) + e[2]
            if e[5]:
                self.folded_tc += e[2]

    def truncated_hits(self) -> int:
        """Cached answers with TC=1 sent again (RFC 1035 §4.1.1 truncation)."""
        return self.folded_tc + sum(e[2] for e in self.entries.values() if e[5])

    def hit_counts(self) -> dict[tuple[int, int], int]:
        """Answers served from the cache, by (qtype, rcode)."""
        out = dict(self.folded)
        for e in self.entries.values():
            if e[2]:
                k = (e[3], e[4])
                out[k] = out.get(k, 0) + e[2]
        return out

    def put(self, key: bytes, qend: int, response: bytes, res: LookupResult | None) -> None:
        if res is None or len(response) < qend:
            return
        if len(self.entries) >= self.max_entries:
            self.clear()
        qtype = int.from_bytes(response[qend - 4 : qend - 2], "big")
        tc = bool(response[2] & 0x02)
        self.entries[key] = [response[2:12], response[qend:], 0, qtype, response[3] & 0xF, tc]
        for name in res.deps:
            self.by_name.setdefault(name, set()).add(key)
        for zone in res.volatile:
            self.volatile.setdefault(zone, set()).add(key)

    def invalidate(
        self, changed_names: Iterable[Name], zone: Name, structural: bool = False
    ) -> None:
        """Drop what a change to ``changed_names`` in ``zone`` may have made stale."""
        if structural:
            self.clear()
            return
        for name in changed_names:
            for k in self.by_name.pop(name, ()):
                self._drop(k)
        for k in self.volatile.pop(zone, ()):
            self._drop(k)

    def clear(self) -> None:
        for k in list(self.entries):
            self._drop(k)
        self.by_name.clear()
        self.volatile.clear()

    def __len__(self) -> int:
        return len(self.entries)
