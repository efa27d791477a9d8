"""Transfer ACL: loopback by default, networks, key names, and roles that always may transfer."""

from __future__ import annotations

import pytest

from leasedns.keys import Role, keygen
from leasedns.xfr.access import DEFAULT_ACL, AclSpecError, parse_acl, peer_host


def test_default_is_loopback_only() -> None:
    assert parse_acl([]) is DEFAULT_ACL
    for host in ("127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"):
        assert DEFAULT_ACL.allows(host, None), host
    for host in ("10.0.0.1", "192.0.2.1", "fe80::1", "::ffff:192.0.2.1", None, "", "bogus"):
        assert not DEFAULT_ACL.allows(host, None), host


@pytest.mark.parametrize("role", [Role.TRANSFER, Role.ADMIN])
def test_transfer_and_admin_keys_are_allowed_from_anywhere(role: Role) -> None:
    key = keygen("k", role=role)
    assert parse_acl(["none"]).allows("192.0.2.1", key)


@pytest.mark.parametrize("role", [Role.DHCP, Role.CLIENT])
def test_other_roles_follow_the_address_rules(role: Role) -> None:
    key = keygen("k", role=role)
    assert not parse_acl(["none"]).allows("192.0.2.1", key)
    assert parse_acl(["192.0.2.0/24"]).allows("192.0.2.1", key)
    assert parse_acl(["key:k.", "none"]).allows("192.0.2.1", key)
    assert parse_acl(["key K"]).allows("192.0.2.1", key)  # names compare case-insensitively


def test_networks_any_and_none() -> None:
    acl = parse_acl(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])
    assert acl.allows("10.9.9.9", None) and acl.allows("2001:db8::1", None)
    assert acl.allows("192.0.2.7", None) and not acl.allows("192.0.2.8", None)
    assert not acl.allows("127.0.0.1", None)  # a configured list replaces the default
    assert parse_acl(["any"]).allows("203.0.113.5", None)
    assert parse_acl(["any"]).allows("2001:db8::5", None)
    assert not parse_acl(["none"]).allows("127.0.0.1", None)
    assert parse_acl(["10.1.2.3/8"]).allows("10.200.0.1", None)  # host bits are ignored


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "lab.example", "key:", "300.1.1.1"])
def test_bad_entries_are_errors(bad: str) -> None:
    with pytest.raises(AclSpecError):
        parse_acl([bad])


def test_peer_host() -> None:
    assert peer_host(("192.0.2.1", 53)) == "192.0.2.1"
    assert peer_host(("::1", 53, 0, 0)) == "::1"
    assert peer_host(None) is None and peer_host("x") is None
