"""Per-zone update policy (modelled on BIND's update-policy) and the unsigned-update address ACL."""

from __future__ import annotations

import pytest

from leasedns.update import policy
from leasedns.update.policy import (
    DEFAULT_RULES,
    PolicyError,
    Rule,
    address_allowed,
    allowed,
    parse_rules,
)
from leasedns.wire import names

ZONE = names.from_text("lab.example.")
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, DHCID, ANY = 1, 2, 5, 6, 12, 15, 16, 28, 33, 49, 255

DHCP_KEY = names.from_text("dhcp-key.")
HOST_KEY = names.from_text("host1.lab.example.")
ADMIN_KEY = names.from_text("admin-key.")


def n(text: str) -> names.Name:
    return names.from_text(text, ZONE)


# -- defaults (no rules configured) --------------------------------------------------------


@pytest.mark.parametrize("rtype", [A, NS, SOA, MX, CNAME, SRV, ANY])
def test_admin_may_change_any_type_anywhere_in_the_zone(rtype: int) -> None:
    assert allowed(None, ADMIN_KEY, "admin", ZONE, n("anything"), rtype)
    assert allowed([], ADMIN_KEY, "admin", ZONE, ZONE, rtype)


def test_admin_may_not_change_names_outside_the_zone() -> None:
    assert not allowed(None, ADMIN_KEY, "admin", ZONE, names.from_text("other.example."), A)


@pytest.mark.parametrize("rtype", [A, AAAA, PTR, DHCID, TXT, ANY])
def test_dhcp_may_write_what_ddns_writes(rtype: int) -> None:
    """RFC 4702/4704: A, AAAA, PTR, DHCID (and TXT for older servers); ANY is the delete of a
    whole name that DHCP servers send when a lease ends."""
    assert allowed(None, DHCP_KEY, "dhcp", ZONE, n("host7"), rtype)


@pytest.mark.parametrize("rtype", [NS, SOA, MX, CNAME, SRV])
def test_dhcp_may_not_write_other_types(rtype: int) -> None:
    assert not allowed(None, DHCP_KEY, "dhcp", ZONE, n("host7"), rtype)


def test_dhcp_stays_inside_the_zone() -> None:
    assert not allowed(None, DHCP_KEY, "dhcp", ZONE, names.from_text("host7.other."), A)


def test_client_may_change_only_its_own_name() -> None:
    """``self``: the owner equals the key name (RFC 9664 / SRP style host keys)."""
    assert allowed(None, HOST_KEY, "client", ZONE, HOST_KEY, A)
    assert allowed(None, HOST_KEY, "client", ZONE, HOST_KEY, TXT)
    assert allowed(None, HOST_KEY, "client", ZONE, HOST_KEY, ANY)
    assert not allowed(None, HOST_KEY, "client", ZONE, n("host2"), A)
    assert not allowed(None, HOST_KEY, "client", ZONE, n("sub.host1"), A)


@pytest.mark.parametrize("rtype", [SOA, NS])
def test_client_may_not_change_soa_or_ns_even_at_its_own_name(rtype: int) -> None:
    assert not allowed(None, HOST_KEY, "client", ZONE, HOST_KEY, rtype)


@pytest.mark.parametrize("rtype", [A, TXT, ANY])
def test_transfer_keys_may_change_nothing(rtype: int) -> None:
    assert not allowed(None, ADMIN_KEY, "transfer", ZONE, n("h"), rtype)


def test_unsigned_update_counts_as_dhcp() -> None:
    """The engine treats an unsigned update from an allowed address as role dhcp."""
    assert allowed(None, None, "dhcp", ZONE, n("h"), A)
    assert not allowed(None, None, "client", ZONE, n("h"), A)  # no key name for "self"


# -- configured rules ----------------------------------------------------------------------


def test_configured_rules_replace_the_defaults() -> None:
    rules = parse_rules(
        [{"grant": "dhcp-key.", "match": "subdomain", "name": "dhcp", "types": ["A"]}], ZONE
    )
    assert allowed(rules, DHCP_KEY, "dhcp", ZONE, n("h.dhcp"), A)
    assert not allowed(rules, DHCP_KEY, "dhcp", ZONE, n("h"), A)  # the zone-wide default is gone
    assert not allowed(rules, ADMIN_KEY, "admin", ZONE, n("h"), A)  # so is the admin's


def test_grant_by_key_name_is_case_insensitive_and_absolute() -> None:
    rules = parse_rules([{"grant": "DHCP-Key.", "match": "zonesub", "types": "A"}], ZONE)
    assert allowed(rules, DHCP_KEY, "dhcp", ZONE, n("h"), A)
    assert not allowed(rules, ADMIN_KEY, "dhcp", ZONE, n("h"), A)
    assert not allowed(rules, None, "dhcp", ZONE, n("h"), A)


def test_grant_key_name_without_trailing_dot_is_absolute() -> None:
    """Key names are absolute wherever they are written (``--key``, key files, YAML keys)."""
    rules = parse_rules([{"grant": "dhcp-key", "match": "zonesub", "types": "A"}], ZONE)
    assert allowed(rules, DHCP_KEY, "dhcp", ZONE, n("h"), A)
    assert not allowed(rules, ADMIN_KEY, "dhcp", ZONE, n("h"), A)


def test_grant_by_role() -> None:
    rules = parse_rules([{"grant": "role:client", "match": "zonesub", "types": ["TXT"]}], ZONE)
    assert allowed(rules, HOST_KEY, "client", ZONE, n("x"), TXT)
    assert not allowed(rules, DHCP_KEY, "dhcp", ZONE, n("x"), TXT)


def test_grant_star_matches_everyone_including_unsigned() -> None:
    rules = parse_rules([{"grant": "*", "match": "name", "name": "open", "types": "TXT"}], ZONE)
    assert allowed(rules, None, "dhcp", ZONE, n("open"), TXT)
    assert allowed(rules, HOST_KEY, "client", ZONE, n("open"), TXT)
    assert not allowed(rules, None, "dhcp", ZONE, n("open"), A)


def test_match_name_is_exact() -> None:
    rules = parse_rules([{"grant": "*", "match": "name", "name": "printer"}], ZONE)
    assert allowed(rules, None, "dhcp", ZONE, n("printer"), A)
    assert not allowed(rules, None, "dhcp", ZONE, n("x.printer"), A)
    assert not allowed(rules, None, "dhcp", ZONE, n("printer2"), A)


def test_match_subdomain_includes_the_name_itself() -> None:
    rules = parse_rules([{"grant": "*", "match": "subdomain", "name": "dhcp.lab.example."}], ZONE)
    assert allowed(rules, None, "dhcp", ZONE, n("dhcp"), A)
    assert allowed(rules, None, "dhcp", ZONE, n("a.b.dhcp"), A)
    assert not allowed(rules, None, "dhcp", ZONE, n("xdhcp"), A)


def test_match_wildcard_needs_at_least_one_more_label() -> None:
    rules = parse_rules([{"grant": "*", "match": "wildcard", "name": "*.dhcp"}], ZONE)
    assert allowed(rules, None, "dhcp", ZONE, n("h.dhcp"), A)
    assert allowed(rules, None, "dhcp", ZONE, n("a.b.dhcp"), A)
    assert not allowed(rules, None, "dhcp", ZONE, n("dhcp"), A)
    assert not allowed(rules, None, "dhcp", ZONE, n("h.other"), A)


def test_match_self_compares_owner_with_key_name() -> None:
    rules = parse_rules([{"grant": "*", "match": "self", "types": ["A", "AAAA"]}], ZONE)
    assert allowed(rules, HOST_KEY, "client", ZONE, HOST_KEY, AAAA)
    assert not allowed(rules, HOST_KEY, "client", ZONE, n("host2"), AAAA)
    assert not allowed(rules, None, "dhcp", ZONE, HOST_KEY, A)  # unsigned has no self


def test_match_zonesub_is_the_whole_zone() -> None:
    rules = parse_rules([{"grant": "*", "match": "zonesub", "types": "A"}], ZONE)
    assert allowed(rules, None, "dhcp", ZONE, ZONE, A)
    assert allowed(rules, None, "dhcp", ZONE, n("deep.down.here"), A)
    assert not allowed(rules, None, "dhcp", ZONE, names.from_text("example."), A)


def test_rules_without_types_exclude_soa_and_ns() -> None:
    rules = parse_rules([{"grant": "*", "match": "zonesub"}], ZONE)
    assert allowed(rules, None, "dhcp", ZONE, n("h"), MX)
    assert not allowed(rules, None, "dhcp", ZONE, ZONE, SOA)
    assert not allowed(rules, None, "dhcp", ZONE, n("sub"), NS)


def test_listing_ns_grants_ns() -> None:
    rules = parse_rules(
        [{"grant": "*", "match": "subdomain", "name": "sub", "types": ["NS"]}], ZONE
    )
    assert allowed(rules, None, "dhcp", ZONE, n("sub"), NS)


def test_any_rule_grants_if_one_does() -> None:
    rules = parse_rules(
        [
            {"grant": "role:dhcp", "match": "subdomain", "name": "dhcp", "types": ["A"]},
            {"grant": "role:dhcp", "match": "subdomain", "name": "v6", "types": ["AAAA"]},
        ],
        ZONE,
    )
    assert allowed(rules, DHCP_KEY, "dhcp", ZONE, n("h.dhcp"), A)
    assert allowed(rules, DHCP_KEY, "dhcp", ZONE, n("h.v6"), AAAA)
    assert not allowed(rules, DHCP_KEY, "dhcp", ZONE, n("h.v6"), A)


def test_parse_rules_defaults() -> None:
    (rule,) = parse_rules([{}], ZONE)
    assert rule == Rule("*", "zonesub", ZONE, None)


def test_parse_rules_types_as_string_or_list() -> None:
    (a,) = parse_rules([{"types": "A AAAA"}], ZONE)
    (b,) = parse_rules([{"types": ["a", "aaaa"]}], ZONE)
    assert a.types == b.types == frozenset({A, AAAA})


@pytest.mark.parametrize(
    "raw",
    [{"match": "regex"}, {"types": ["NOSUCHTYPE"]}],
    ids=["unknown-match", "unknown-type"],
)
def test_parse_rules_refuses_what_it_cannot_understand(raw: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        parse_rules([raw], ZONE)


def test_default_rules_are_what_the_documentation_says() -> None:
    assert {r.grant for r in DEFAULT_RULES} == {"role:dhcp", "role:client"}
    assert policy.allowed(None, DHCP_KEY, "dhcp", ZONE, n("h"), DHCID)


# -- address ACL for unsigned updates ------------------------------------------------------


@pytest.mark.parametrize(
    ("acl", "addr", "ok"),
    [
        (["127.0.0.1"], "127.0.0.1", True),
        (["127.0.0.1"], "127.0.0.2", False),
        (["10.0.0.0/24"], "10.0.0.77", True),
        (["10.0.0.0/24"], "10.0.1.1", False),
        (["fd00::/8"], "fd00:10::5", True),
        (["::1"], "::1", True),
        (["fe80::/10"], "fe80::1%eth0", True),
        (["not-an-address", "10.0.0.1"], "10.0.0.1", True),
        (["10.0.0.0/8"], "garbage", False),
        ([], "127.0.0.1", False),
    ],
)
def test_address_allowed(acl: list[str], addr: str, ok: bool) -> None:
    assert address_allowed(acl, addr) is ok
