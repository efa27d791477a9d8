"""Stored JSON: compact, keys in order, and keys that are not str written as the standard library does."""

from __future__ import annotations

import enum
import json

from leasedns.store import codec


class Colour(enum.StrEnum):
    RED = "red"


def test_plain_records_are_compact_json_in_key_order() -> None:
    value = {"zone": "lab.example.", "type": 1, "rdatas": ["0a000001"], "meta": {"state": "active"}}
    assert codec.dumps(value) == json.dumps(value, separators=(",", ":")).encode()
    assert codec.loads(codec.dumps(value)) == value


def test_keys_that_are_not_str_are_written_as_text_like_the_standard_encoder() -> None:
    value = {1: "one", "nested": {2: [3, {4: 5}]}, Colour.RED: Colour.RED}
    assert codec.loads(codec.dumps(value)) == {
        "1": "one",
        "nested": {"2": [3, {"4": 5}]},
        "red": "red",
    }


def test_values_json_cannot_hold_are_written_as_their_text() -> None:
    assert codec.loads(codec.dumps({"path": Colour, "n": 2})) == {"path": str(Colour), "n": 2}
