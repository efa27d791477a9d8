"""Properties of name keys: byte order is canonical DNS order (RFC 4034 §6.1) and prefixes are subtrees."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from leasedns.wire import names
from leasedns.wire.names import Name

# A small alphabet makes shared prefixes and equal labels common; the wide one covers
# every octet a label may hold (NUL is refused by names.check).
narrow_label = st.binary(min_size=1, max_size=3).map(
    lambda b: bytes(0x61 + x % 3 if x % 4 else 0x01 + x % 2 for x in b)
)
wide_label = st.binary(min_size=1, max_size=63).filter(lambda b: b"\x00" not in b)
label = st.one_of(narrow_label, wide_label).map(bytes.lower)


def _fits(name: Name) -> bool:
    return len(names.to_wire(name)) <= 255


dns_name = st.lists(label, max_size=5).map(tuple).filter(_fits)


def canonical(name: Name) -> tuple[bytes, ...]:
    """RFC 4034 §6.1: compare label by label from the most significant (rightmost), each
    as a lower-cased octet string in which a missing octet sorts before any octet."""
    return tuple(reversed(name))


@given(st.lists(dns_name, max_size=30))
def test_key_sort_equals_canonical_sort(batch: list[Name]) -> None:
    assert sorted(batch, key=names.key) == sorted(batch, key=canonical)


@given(dns_name, dns_name)
def test_key_comparison_is_canonical(a: Name, b: Name) -> None:
    assert (names.key(a) < names.key(b)) == (canonical(a) < canonical(b))
    assert (names.key(a) == names.key(b)) == (a == b)


@given(dns_name, dns_name)
def test_key_prefix_iff_subdomain(a: Name, b: Name) -> None:
    assert names.key(a).startswith(names.key(b)) == names.is_subdomain(a, b)


@given(dns_name)
def test_round_trips(name: Name) -> None:
    assert names.from_key(names.key(name)) == name
    wire = names.to_wire(name)
    assert names.from_wire(wire) == (name, len(wire))
    assert names.from_text(names.to_text(name)) == name


@given(dns_name, st.randoms(use_true_random=False))
def test_from_text_ignores_case(name: Name, rnd: random.Random) -> None:
    text = names.to_text(name)
    mixed = "".join(c.upper() if rnd.random() < 0.5 else c for c in text)
    assert names.from_text(mixed) == name
