"""The dnsmasq hook: RFC 4701 DHCIDs, dnsmasq's arguments and environment, the UPDATE messages
and the RFC 4703 sequences they form, configuration, and never failing dnsmasq."""

from __future__ import annotations

import base64
import io
import ipaddress
import struct
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.tsigkeyring
import pytest

from leasedns.cli import dhcp_hook as hook
from leasedns.keys import TsigKey
from leasedns.wire import names

SECRET = base64.b64encode(b"k" * 32).decode()
KEY = f"ddns-key:hmac-sha256:{SECRET}"
NOW = 1_795_299_016.0

# Recorded from dnsmasq 2.90 handing a busybox udhcpc client a lease ("add").
DNSMASQ_ADD_ENV = {
    "DNSMASQ_CLIENT_ID": "01:16:cc:76:41:01:b5",
    "DNSMASQ_DOMAIN": "lab.example",
    "DNSMASQ_INTERFACE": "ldxs0",
    "DNSMASQ_LEASE_EXPIRES": "1795299136",
    "DNSMASQ_LOG_DHCP": "1",
    "DNSMASQ_REQUESTED_OPTIONS": "1,3,6,12,15,28,42",
    "DNSMASQ_SUPPLIED_HOSTNAME": "laptop",
    "DNSMASQ_TAGS": "ldxs0",
    "DNSMASQ_TIME_REMAINING": "120",
    "DNSMASQ_VENDOR_CLASS": "udhcp 1.35.0",
}
DNSMASQ_ADD_ARGS = ["add", "16:cc:76:41:01:b5", "10.0.5.128", "laptop"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cfg(**kw) -> hook.HookConfig:  # type: ignore[no-untyped-def]
    base = hook.HookConfig(server="127.0.0.1", port=5300, key=None,
                           reverse_zones=[names.from_text("5.0.10.in-addr.arpa.")])  # fmt: skip
    return hook.apply_settings(base, kw, "test")


def event(args: list[str] | None = None, **env: str) -> hook.LeaseEvent:
    return hook.parse_event(args or DNSMASQ_ADD_ARGS, {**DNSMASQ_ADD_ENV, **env}, NOW)


# --- RFC 4701 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier_type", "identifier", "fqdn", "expected"),
    [  # RFC 4701 §3.6.1, §3.6.2, §3.6.3
        (2, "000100064 12df1660102030405 06", "chi6.example.com.",
         "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="),
        (1, "01 0708090a0b0c", "chi.example.com.",
         "AAEBOSD+XR3Os/0LozeXVqcNc7FwCfQdWL3b/NaiUDlW2No="),
        (0, "01 010203040506", "client.example.com.",
         "AAABxLmlskllE0MVjd57zHcWmEH3pCQ6VytcKD//7es/deY="),
    ],
)  # fmt: skip
def test_dhcid_matches_the_rfc_4701_examples(
    identifier_type: int, identifier: str, fqdn: str, expected: str
) -> None:
    raw = bytes.fromhex(identifier.replace(" ", ""))
    assert b64(hook.dhcid_rdata(identifier_type, raw, names.from_text(fqdn))) == expected


def test_dhcid_ignores_the_case_of_the_name() -> None:
    a = hook.dhcid_rdata(1, b"\x01\x02", names.from_text("Chi.Example.COM."))
    assert a == hook.dhcid_rdata(1, b"\x01\x02", names.from_text("chi.example.com."))


def test_dnsmasq_client_id_gives_the_rfc_example_2() -> None:
    ev = event(["add", "07:08:09:0a:0b:0c", "192.0.2.2", "chi"],
               DNSMASQ_CLIENT_ID="01:07:08:09:0a:0b:0c", DNSMASQ_DOMAIN="example.com")  # fmt: skip
    reg = hook.registration(ev, hook.HookConfig())
    assert b64(reg.dhcid) == "AAEBOSD+XR3Os/0LozeXVqcNc7FwCfQdWL3b/NaiUDlW2No="


def test_mac_without_client_id_gives_the_rfc_example_3() -> None:
    env = {k: v for k, v in DNSMASQ_ADD_ENV.items() if k != "DNSMASQ_CLIENT_ID"}
    env["DNSMASQ_DOMAIN"] = "example.com"
    ev = hook.parse_event(["add", "01:02:03:04:05:06", "192.0.2.3", "client"], env, NOW)
    assert ev.client_id is None
    reg = hook.registration(ev, hook.HookConfig())
    assert b64(reg.dhcid) == "AAABxLmlskllE0MVjd57zHcWmEH3pCQ6VytcKD//7es/deY="


def test_dhcpv6_duid_gives_the_rfc_example_1() -> None:
    env = {"DNSMASQ_DOMAIN": "example.com", "DNSMASQ_IAID": "1", "DNSMASQ_TIME_REMAINING": "600"}
    args = ["add", "00:01:00:06:41:2d:f1:66:01:02:03:04:05:06", "2001:db8::1234:5678", "chi6"]
    reg = hook.registration(hook.parse_event(args, env, NOW), hook.HookConfig())
    assert b64(reg.dhcid) == "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="
    assert reg.address_type == 28


def test_rfc_4361_client_id_gives_the_same_dhcid_as_dhcpv6() -> None:
    """Type 255, IAID, DUID (RFC 4361 §6.1): identifier type 2 over the DUID, as Kea does."""
    duid = "00:01:00:06:41:2d:f1:66:01:02:03:04:05:06"
    v4 = event(["add", "01:02:03:04:05:06", "10.0.5.9", "dual"],
               DNSMASQ_CLIENT_ID="ff:00:00:00:01:" + duid)  # fmt: skip
    v6 = hook.parse_event(
        ["add", duid, "fd00:10::9", "dual"], {"DNSMASQ_DOMAIN": "lab.example"}, NOW
    )
    r4, r6 = hook.registration(v4, hook.HookConfig()), hook.registration(v6, hook.HookConfig())
    assert r4.dhcid == r6.dhcid and r4.dhcid[:2] == b"\x00\x02"


def test_identity_mac_is_the_same_in_both_families() -> None:
    v4 = event(["add", "02:00:00:00:00:09", "10.0.5.9", "dual"])
    v6 = hook.parse_event(["add", "00:03:00:01:aa:bb:cc:dd:ee:ff", "fd00:10::9", "dual"],
                          {"DNSMASQ_DOMAIN": "lab.example", "DNSMASQ_MAC": "02:00:00:00:00:09"},
                          NOW)  # fmt: skip
    by_mac = hook.HookConfig(identity="mac")
    assert hook.registration(v4, by_mac).dhcid == hook.registration(v6, by_mac).dhcid
    assert (
        hook.registration(v4, hook.HookConfig()).dhcid
        != hook.registration(v6, hook.HookConfig()).dhcid
    )


def test_other_hardware_types_keep_their_htype() -> None:
    ev = event(["add", "06-01:02:03:04:05:06", "10.0.5.9", "tr"], DNSMASQ_CLIENT_ID="")
    assert hook.client_identifier(ev) == (0, b"\x06\x01\x02\x03\x04\x05\x06")


# --- what dnsmasq passes ------------------------------------------------------------------------


def test_the_recorded_add_event() -> None:
    ev = event()
    assert ev.action == "add"
    assert ev.address == ipaddress.ip_address("10.0.5.128")
    assert (ev.hostname, ev.domain) == ("laptop", "lab.example")
    assert ev.client_id == bytes.fromhex("0116cc764101b5")
    assert (ev.htype, ev.hwaddr) == (1, bytes.fromhex("16cc764101b5"))
    assert ev.remaining == 120


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DNSMASQ_TIME_REMAINING": "77", "DNSMASQ_LEASE_EXPIRES": "1"}, 77),
        ({"DNSMASQ_LEASE_EXPIRES": str(int(NOW) + 300)}, 300),  # "del" has no TIME_REMAINING
        ({"DNSMASQ_LEASE_EXPIRES": "0"}, None),  # an infinite lease
        ({"DNSMASQ_LEASE_LENGTH": "3600"}, 3600),  # dnsmasq built with HAVE_BROKEN_RTC
        ({"DNSMASQ_LEASE_EXPIRES": str(int(NOW) - 5)}, 0),
        ({}, None),
    ],
)
def test_remaining_lease(env: dict[str, str], expected: int | None) -> None:
    assert hook.remaining_lease(env, NOW) == expected


@pytest.mark.parametrize(
    "args",
    [["add", "16:cc:76:41:01:b5"], ["add", "zz", "10.0.0.1"], ["add", "16:cc", "10.0.0.300"]],
)
def test_malformed_arguments(args: list[str]) -> None:
    with pytest.raises(hook.HookEventError):
        hook.parse_event(args, {}, NOW)


# --- the messages -----------------------------------------------------------------------------


def decode(step: hook.Step, key: TsigKey | None = None) -> dns.message.Message:
    wire = step.message(key).to_wire()
    keyring = dns.tsigkeyring.from_text({"ddns-key.": ("hmac-sha256", SECRET)}) if key else None
    return dns.message.from_wire(wire, keyring=keyring)


def rrs(section: list) -> list[tuple[str, str, str, int, str]]:  # type: ignore[type-arg]
    out = []
    for rrset in section:
        cls = dns.rdataclass.to_text(rrset.deleting or rrset.rdclass)
        typ = dns.rdatatype.to_text(rrset.rdtype)
        if len(rrset) == 0:
            out.append((rrset.name.to_text(), cls, typ, rrset.ttl, ""))
        for rd in rrset:
            text = rd.to_text().replace(" ", "") if typ == "DHCID" else rd.to_text()
            out.append((rrset.name.to_text(), cls, typ, rrset.ttl, text))
    return out


def update_lease(m: dns.message.Message) -> int | None:
    for option in m.options:
        if option.otype == 2:
            return int(struct.unpack("!I", option.to_wire())[0])
    return None


def test_claim_is_signed_and_carries_identity_and_lease() -> None:
    reg = hook.registration(event(), cfg(key=KEY))
    config = cfg(key=KEY)
    m = decode(hook.claim(reg), config.key)
    assert m.had_tsig and m.keyname == dns.name.from_text("ddns-key.")
    dhcid = b64(reg.dhcid)
    assert m.question[0].name.to_text() == "lab.example."  # the zone section
    assert rrs(m.answer) == [("laptop.lab.example.", "NONE", "ANY", 0, "")]  # prerequisites
    assert rrs(m.authority) == [
        ("laptop.lab.example.", "IN", "A", 60, "10.0.5.128"),
        ("laptop.lab.example.", "IN", "DHCID", 60, dhcid),
    ]
    assert update_lease(m) == 120  # RFC 9664: the remaining DHCP lease


def test_refresh_replace_and_reverse() -> None:
    reg = hook.registration(event(), cfg())
    dhcid = b64(reg.dhcid)
    ours = ("laptop.lab.example.", "IN", "DHCID", 0, dhcid)
    m = decode(hook.refresh(reg))
    assert rrs(m.answer) == [ours, ("laptop.lab.example.", "IN", "A", 0, "10.0.5.128")]
    assert [r[2] for r in rrs(m.authority)] == ["A", "DHCID"] and update_lease(m) == 120
    m = decode(hook.replace_address(reg))
    assert rrs(m.answer) == [ours]
    assert rrs(m.authority)[0] == ("laptop.lab.example.", "ANY", "A", 0, "")
    m = decode(hook.reverse_replace(reg))
    assert m.question[0].name.to_text() == "5.0.10.in-addr.arpa."
    assert rrs(m.answer) == []
    assert rrs(m.authority) == [
        ("128.5.0.10.in-addr.arpa.", "ANY", "PTR", 0, ""),
        ("128.5.0.10.in-addr.arpa.", "ANY", "DHCID", 0, ""),
        ("128.5.0.10.in-addr.arpa.", "IN", "PTR", 60, "laptop.lab.example."),
        ("128.5.0.10.in-addr.arpa.", "IN", "DHCID", 60, dhcid),
    ]
    m = decode(hook.reverse_refresh(reg))
    assert rrs(m.answer) == [
        ("128.5.0.10.in-addr.arpa.", "IN", "PTR", 0, "laptop.lab.example."),
        ("128.5.0.10.in-addr.arpa.", "IN", "DHCID", 0, dhcid),
    ]


def test_release_steps() -> None:
    reg = hook.registration(event(["del", *DNSMASQ_ADD_ARGS[1:]]), cfg())
    dhcid = b64(reg.dhcid)
    ours = ("laptop.lab.example.", "IN", "DHCID", 0, dhcid)
    m = decode(hook.release_address(reg))
    assert rrs(m.answer) == [ours]
    assert rrs(m.authority) == [("laptop.lab.example.", "NONE", "A", 0, "10.0.5.128")]
    assert update_lease(m) is None
    m = decode(hook.release_name(reg))
    assert rrs(m.answer) == [ours, ("laptop.lab.example.", "NONE", "A", 0, ""),
                             ("laptop.lab.example.", "NONE", "AAAA", 0, "")]  # fmt: skip
    assert rrs(m.authority) == [("laptop.lab.example.", "ANY", "DHCID", 0, "")]
    m = decode(hook.reverse_release(reg))
    assert rrs(m.answer) == [
        ("128.5.0.10.in-addr.arpa.", "IN", "PTR", 0, "laptop.lab.example."),
        ("128.5.0.10.in-addr.arpa.", "IN", "DHCID", 0, dhcid),
    ]


def test_ipv6_registration_uses_aaaa_and_the_longest_reverse_zone() -> None:
    config = cfg(reverse_zones=["d.f.ip6.arpa.", "0.0.0.0.0.0.0.0.0.1.0.0.0.0.d.f.ip6.arpa."])
    ev = hook.parse_event(["add", "00:01:00:01:aa:bb", "fd00:10::77", "dual"],
                          {"DNSMASQ_DOMAIN": "lab.example"}, NOW)  # fmt: skip
    reg = hook.registration(ev, config)
    assert reg.reverse_zone == names.from_text("0.0.0.0.0.0.0.0.0.1.0.0.0.0.d.f.ip6.arpa.")
    assert names.to_text(reg.reverse_name).startswith("7.7.0.0.")
    assert rrs(decode(hook.claim(reg)).authority)[0][2:] == ("AAAA", 3600, "fd00:10::77")
    assert update_lease(decode(hook.claim(reg))) is None  # no lease information: no lease


@pytest.mark.parametrize(("lease", "ttl"), [(None, 3600), (30, 60), (600, 200), (86400, 3600)])
def test_automatic_ttl_is_a_third_of_the_lease(lease: int | None, ttl: int) -> None:
    assert hook.auto_ttl(lease) == ttl


def test_fixed_ttl_and_no_lease() -> None:
    reg = hook.registration(event(), cfg(ttl="300", lease="no"))
    m = decode(hook.claim(reg))
    assert {r[3] for r in rrs(m.authority)} == {300} and update_lease(m) is None


@pytest.mark.parametrize(
    ("args", "env", "zone", "why"),
    [
        (["add", "16:cc:76:41:01:b5", "10.0.5.1"], {}, None, "no hostname"),
        (["add", "16:cc:76:41:01:b5", "10.0.5.1", "a.b"], {}, None, "single label"),
        (["add", "16:cc:76:41:01:b5", "10.0.5.1", "x"], {"DNSMASQ_DOMAIN": ""}, None, "no domain"),
        (["add", "16:cc:76:41:01:b5", "10.0.5.1", "x"], {"DNSMASQ_DOMAIN": "other.test"},
         "lab.example.", "not inside the zone"),
    ],
)  # fmt: skip
def test_leases_that_cannot_be_registered(
    args: list[str], env: dict[str, str], zone: str | None, why: str
) -> None:
    with pytest.raises(hook.NotRegisteredError, match=why):
        hook.registration(event(args, **env), cfg(zone=zone))


# --- the sequences (RFC 4703), against scripted answers -------------------------------------------


class Server:
    """Answers each step with the next scripted RCODE and remembers what was sent."""

    def __init__(self, *rcodes: int) -> None:
        self.rcodes: Iterator[int] = iter(rcodes)
        self.sent: list[hook.Step] = []

    def __call__(self, step: hook.Step) -> int:
        self.sent.append(step)
        return next(self.rcodes)

    @property
    def purposes(self) -> list[str]:
        return [s.purpose for s in self.sent]


OK, YXDOMAIN, YXRRSET, NXRRSET, REFUSED = 0, 6, 7, 8, 5


@pytest.mark.parametrize(
    ("rcodes", "purposes", "failed"),
    [
        ((OK, NXRRSET, OK), ["claim", "reverse-refresh", "reverse"], False),  # a new lease
        ((YXDOMAIN, OK, OK), ["claim", "refresh", "reverse-refresh"], False),  # a renewal
        ((YXDOMAIN, NXRRSET, OK, OK), ["claim", "refresh", "replace", "reverse-refresh"], False),
        ((YXDOMAIN, NXRRSET, NXRRSET), ["claim", "refresh", "replace"], True),  # another client
        ((REFUSED,), ["claim"], True),  # e.g. in grace for another client
        ((OK, NXRRSET, REFUSED), ["claim", "reverse-refresh", "reverse"], True),
    ],
)
def test_add_sequence(rcodes: tuple[int, ...], purposes: list[str], failed: bool) -> None:
    server = Server(*rcodes)
    out = hook.handle(event(), cfg(), server)
    assert server.purposes == purposes
    assert out.failed is failed


@pytest.mark.parametrize(
    ("rcodes", "purposes", "failed"),
    [
        ((OK, OK), ["refresh", "reverse-refresh"], False),  # the usual renewal: one update each
        ((NXRRSET, OK, OK), ["refresh", "claim", "reverse-refresh"], False),  # back from grace
        ((NXRRSET, YXDOMAIN, OK, OK), ["refresh", "claim", "replace", "reverse-refresh"], False),
        ((NXRRSET, YXDOMAIN, NXRRSET), ["refresh", "claim", "replace"], True),
    ],
)
def test_renewal_sequence(rcodes: tuple[int, ...], purposes: list[str], failed: bool) -> None:
    server = Server(*rcodes)
    out = hook.handle(
        event(["old", *DNSMASQ_ADD_ARGS[1:]], DNSMASQ_DATA_MISSING="1"), cfg(), server
    )
    assert server.purposes == purposes
    assert out.failed is failed


@pytest.mark.parametrize(
    ("rcodes", "purposes", "failed"),
    [
        ((OK, OK, OK), ["release", "release-name", "reverse-release"], False),
        ((OK, YXRRSET, OK), ["release", "release-name", "reverse-release"], False),  # AAAA left
        ((NXRRSET, NXRRSET), ["release", "reverse-release"], False),  # already gone / not ours
        ((REFUSED, OK), ["release", "reverse-release"], True),
    ],
)
def test_del_sequence(rcodes: tuple[int, ...], purposes: list[str], failed: bool) -> None:
    server = Server(*rcodes)
    out = hook.handle(event(["del", *DNSMASQ_ADD_ARGS[1:]]), cfg(), server)
    assert server.purposes == purposes
    assert out.failed is failed


def test_old_with_a_changed_hostname_releases_the_old_name_first() -> None:
    server = Server(OK, OK, OK, NXRRSET, OK, NXRRSET, OK)
    ev = event(["old", "16:cc:76:41:01:b5", "10.0.5.128", "desk"], DNSMASQ_OLD_HOSTNAME="laptop")
    hook.handle(ev, cfg(), server)
    assert server.purposes == ["release", "release-name", "reverse-release", "refresh", "claim",
                               "reverse-refresh", "reverse"]  # fmt: skip
    old_name = decode(server.sent[0]).answer[0].name.to_text()
    new_name = decode(server.sent[3]).authority[0].name.to_text()
    assert (old_name, new_name) == ("laptop.lab.example.", "desk.lab.example.")


def test_old_without_any_hostname_sends_nothing() -> None:
    server = Server()
    out = hook.handle(event(["old", "16:cc:76:41:01:b5", "10.0.5.128"]), cfg(), server)
    assert server.sent == [] and not out.failed


def test_no_reverse_zone_means_no_ptr() -> None:
    server = Server(OK)
    hook.handle(event(), cfg(reverse_zones=[]), server)
    assert server.purposes == ["claim"]


# --- configuration ----------------------------------------------------------------------------


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    conf = tmp_path / "hook.yaml"
    conf.write_text(
        "server: 10.0.0.53:5300\nkey: " + KEY + "\nzone: lab.example.\n"
        "reverse-zones: [5.0.10.in-addr.arpa.]\nttl: 120\nidentity: mac\n"
    )
    env = {"LEASEDNS_HOOK_CONFIG": str(conf), "LEASEDNS_TTL": "90", "LEASEDNS_LEASE": "off"}
    c = hook.load_config({"ttl": "45", "server": None}, env)
    assert (c.server, c.port) == ("10.0.0.53", 5300)
    assert c.key is not None and names.to_text(c.key.name) == "ddns-key."
    assert c.zone == names.from_text("lab.example.")
    assert c.reverse_zones == [names.from_text("5.0.10.in-addr.arpa.")]
    assert (c.ttl, c.lease, c.identity) == (45, False, "mac")
    assert hook.load_config({"config": str(conf)}, {"LEASEDNS_PORT": "53"}).port == 53


def test_key_file_and_server_forms(tmp_path: Path) -> None:
    keyfile = tmp_path / "ddns.key"
    keyfile.write_text(f'key "ddns-key" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n')
    c = hook.load_config({"key_file": str(keyfile), "server": "[::1]:5353"}, {})
    assert c.key is not None and c.key.algorithm == "hmac-sha256"
    assert (c.server, c.port) == ("::1", 5353)
    c = hook.load_config({}, {"LEASEDNS_REVERSE_ZONES": "5.0.10.in-addr.arpa, 6.0.10.in-addr.arpa"})
    assert len(c.reverse_zones) == 2


@pytest.mark.parametrize(
    "settings",
    [{"colour": "blue"}, {"key": "nonsense"}, {"identity": "duid"}, {"port": "99999"},
     {"ttl": "soon"}, {"lease": "maybe"}, {"key_file": "/nonexistent/ddns.key"}],
)  # fmt: skip
def test_bad_settings(settings: dict[str, str]) -> None:
    with pytest.raises(hook.HookConfigError):
        hook.apply_settings(hook.HookConfig(), settings, "test")


# --- main: dnsmasq must never see a failure -------------------------------------------------------


def run_main(args: list[str], env: dict[str, str], send: hook.Send) -> tuple[int, str]:
    err = io.StringIO()
    rc = hook.main(args, env={**env, "LEASEDNS_HOOK_CONFIG": "/dev/null"}, stderr=err, send=send,
                   now=NOW)  # fmt: skip
    return rc, err.getvalue()


def test_main_logs_failures_and_still_exits_0() -> None:
    rc, err = run_main(["--key", KEY, *DNSMASQ_ADD_ARGS], DNSMASQ_ADD_ENV,
                       Server(YXDOMAIN, NXRRSET, NXRRSET))  # fmt: skip
    assert rc == 0
    assert "error: laptop.lab.example. 10.0.5.128: the name belongs to another client" in err


def test_main_when_the_server_does_not_answer() -> None:
    def silent(step: hook.Step) -> int:
        raise TimeoutError("timed out")

    rc, err = run_main(["--server", "127.0.0.1:9", *DNSMASQ_ADD_ARGS], DNSMASQ_ADD_ENV, silent)
    assert rc == 0 and "no answer from 127.0.0.1#9: timed out" in err


def test_main_is_quiet_on_success_unless_verbose() -> None:
    assert run_main(DNSMASQ_ADD_ARGS, DNSMASQ_ADD_ENV, Server(OK, OK)) == (0, "")
    rc, err = run_main(["-v", *DNSMASQ_ADD_ARGS], DNSMASQ_ADD_ENV, Server(OK, OK))
    assert "laptop.lab.example. 10.0.5.128: registered (forward)" in err


@pytest.mark.parametrize(
    "args",
    [
        ["init"],
        ["tftp", "1234", "10.0.0.9", "/srv/tftp/pxelinux.0"],
        ["arp-add", "aa:bb", "10.0.0.1"],
    ],
)
def test_other_dnsmasq_actions_are_ignored(args: list[str]) -> None:
    server = Server()
    assert run_main(args, {}, server) == (0, "")
    assert server.sent == []


def test_bad_configuration_is_reported_not_raised() -> None:
    rc, err = run_main(DNSMASQ_ADD_ARGS, {**DNSMASQ_ADD_ENV, "LEASEDNS_KEY": "nonsense"}, Server())
    assert rc == 0 and "error: environment: key:" in err
