"""Lease entries as stored: read back as written, and their names parsed as names.from_text does."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from leasedns.lease.entry import LeaseEntry, LeaseKind, Scope, _name
from leasedns.wire import names

ENTRY = LeaseEntry(
    "lab.example.", "h1.lab.example.", 1, LeaseKind.DEFERRED_DELETE, Scope.RR, "0a000001",
    1_700_000_000, 600, "dhcp-key.", "dhcp", next_step=1_700_000_300,
)  # fmt: skip

labels = st.binary(min_size=1, max_size=20).filter(lambda b: b"\x00" not in b)


@given(st.lists(labels, min_size=0, max_size=5))
def test_entry_names_parse_as_the_general_parser_does(parts: list[bytes]) -> None:
    name = tuple(p.lower() for p in parts)
    text = names.to_text(name)
    assert _name.__wrapped__(text) == names.from_text(text) == name


def test_mixed_case_and_escaped_names() -> None:
    for text in ("Host1.LAB.example.", "a\\.b.lab.example.", "x\\007y.lab.example.", "."):
        assert _name.__wrapped__(text) == names.from_text(text)


def test_entry_round_trip_keeps_enum_types() -> None:
    back = LeaseEntry.from_json(ENTRY.to_json())
    assert back == ENTRY
    assert type(back.kind) is LeaseKind and type(back.scope) is Scope


def test_entry_written_before_half_life_steps_existed() -> None:
    d = orjson.loads(ENTRY.to_json())
    del d["next_step"]
    assert LeaseEntry.from_json(orjson.dumps(d)) == ENTRY.with_(next_step=0)


def test_entry_fields_in_another_order_read_by_name() -> None:
    d = orjson.loads(ENTRY.to_json())
    assert LeaseEntry.from_json(orjson.dumps(dict(reversed(list(d.items()))))) == ENTRY
