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


_A_RDATAS = st.lists(
    st.sampled_from([bytes((10, 0, 0, 5)), bytes((10, 1, 0, 5)), b"\x0a\x00\x00", b""]),
    max_size=3,
).map(tuple)


@given(
    owner=st.sampled_from([OWNER, names.from_text("printer.lab.example."), names.from_text("x.")]),
    rtype=st.sampled_from([1, 28, 12]),
    rdatas=_A_RDATAS | st.just((bytes(15) + b"\x05",)),
    state=st.sampled_from(State),
    networks=st.sampled_from([[], ["10.0.0.0/24"], ["fd00::/8", "bad"]]),
    patterns=st.sampled_from([[], ["h*.lab.example."]]),
    target=st.booleans(),
    human=st.sampled_from([{}, {"10.0.0.5": "printer.lab.example."}, {"::5": "h1.lab.example."}]),
)
def test_is_infrastructure_answers_as_the_reasons_do(
    owner: names.Name,
    rtype: int,
    rdatas: tuple[bytes, ...],
    state: State,
    networks: list[str],
    patterns: list[str],
    target: bool,
    human: dict[str, str],
) -> None:
    idx = RoleIndex(
        targets={OWNER: ["target of CNAME www.lab.example."]} if target else {},
        human_addresses=human,
        settings=InfraSettings(networks=networks, name_patterns=patterns),
    )
    for meta in (RRsetMeta(state=state), None):
        want = bool(idx.reasons(owner, rtype, rdatas, meta))
        assert idx.is_infrastructure(owner, rtype, rdatas, meta) is want
