"""JSON for everything stored beside the answer data (metadata, leases, journal, audit).

orjson rather than the standard library: a lease deadline or an update writes
three or four of these records, and the standard encoder was a third of the
cost of carrying out a deadline.  Same JSON, compact, keys in order.
"""

from __future__ import annotations

from typing import Any

import orjson

# Keys that are not str (an int, an enum member) are written as the standard encoder wrote
# them.  orjson's option for that costs a third of every encoding, and the records leasedns
# writes almost always have plain str keys: it is used only when the plain encoding refuses.
_NON_STR_KEYS = orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj, default=str)
    except orjson.JSONEncodeError:
        return orjson.dumps(obj, default=str, option=_NON_STR_KEYS)


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)
