"""JSON for everything stored beside the answer data (metadata, leases, journal, audit).

orjson rather than the standard library: a lease deadline or an update writes
three or four of these records, and the standard encoder was a third of the
cost of carrying out a deadline.  Same JSON, compact, keys in order.
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=str, option=_OPTIONS)


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)
