"""Which served zone holds a name: the longest matching origin."""

from __future__ import annotations

from collections.abc import Iterable

from leasedns.wire.names import Name

T_DS = 43


class ZoneIndex:
    """The set of served origins; DS at a child apex is looked up in the parent (RFC 4035 §3.1.4.1)."""

    __slots__ = ("origins",)

    def __init__(self, origins: Iterable[Name] = ()) -> None:
        self.origins: frozenset[Name] = frozenset(origins)

    def find(self, name: Name, qtype: int = 1) -> Name | None:
        origins = self.origins
        for i in range(len(name) + 1):
            cand = name[i:]
            if cand in origins:
                if i == 0 and qtype == T_DS and cand:
                    parent = self.find(cand[1:], 1)
                    if parent is not None:
                        return parent
                return cand
        return None

    def __contains__(self, name: Name) -> bool:
        return name in self.origins
