"""Role index sentences: addresses as ipaddress prints them, configured networks parsed once."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from leasedns.lease.roles import InfraSettings, RoleIndex, address_text
from leasedns.store.records import RRsetMeta, State
from leasedns.wire import names

OWNER = names.from_text("h1.lab.example.")


@given(st.binary(min_size=4, max_size=4))
def test_ipv4_text_is_what_ipaddress_prints(rdata: bytes) -> None:
    assert address_text(1, rdata) == str(ipaddress.IPv4Address(rdata))


@given(st.binary(min_size=16, max_size=16))
def test_ipv6_text_is_what_ipaddress_prints(rdata: bytes) -> None:
    assert address_text(28, rdata) == str(ipaddress.IPv6Address(rdata))


def test_not_an_address() -> None:
    assert address_text(1, b"\x01\x02\x03") is None and address_text(16, b"abcd") is None


def test_reasons_from_networks_human_addresses_patterns_and_pins() -> None:
    idx = RoleIndex(
        human_addresses={"10.0.0.5": "printer.lab.example."},
        settings=InfraSettings(networks=["10.0.0.0/24", "not a network", "fd00::/8"],
                               name_patterns=["h*.lab.example."]),
    )  # fmt: skip
    why = idx.reasons(OWNER, 1, (bytes((10, 0, 0, 5)),), RRsetMeta(state=State.PINNED))
    assert why == [
        "address 10.0.0.5 is also in the human record printer.lab.example.",
        "address 10.0.0.5 is in infrastructure network 10.0.0.0/24",
        "name matches infrastructure pattern h*.lab.example.",
        "pinned by an admin",
    ]
    assert idx.reasons(OWNER, 1, (bytes((10, 1, 0, 5)),), None) == [
        "name matches infrastructure pattern h*.lab.example."
    ]


def test_an_address_in_its_own_human_record_is_no_reason() -> None:
    idx = RoleIndex(human_addresses={"10.0.0.5": "h1.lab.example."})
    assert idx.reasons(OWNER, 1, (bytes((10, 0, 0, 5)),), RRsetMeta()) == []
