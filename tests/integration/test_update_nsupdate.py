"""RFC 2136 dynamic update driven by the real ``nsupdate`` (bind9-dnsutils), -y and -k."""

from __future__ import annotations

import json
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import pytest
from serverkit import ZONES, Server, ask, env_without_proxies, make_server, need

pytestmark = pytest.mark.interop

ADMIN_SECRET = "r0RkLQ5E1bJ8y3Yb2x3o1d3g6q0mZ8cC2Y2bXk9r3Lw="
DHCP_SECRET = "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg="
ADMIN = f"hmac-sha256:admin-key:{ADMIN_SECRET}"
DHCP = f"hmac-sha512:dhcp-key:{DHCP_SECRET}"
LAB_SERIAL = 2026112101


def nsupdate(
    server: Server, lines: list[str], *args: str, zone: str = "lab.example.", tcp: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run nsupdate with ``lines`` between the server/zone header and ``send``."""
    script = "\n".join([f"server {server.host} {server.port}", f"zone {zone}", *lines, "send", ""])
    cmd = [need("nsupdate"), "-t", "10", "-u", "2", "-r", "2", *(["-v"] if tcp else []), *args]
    return subprocess.run(
        cmd, input=script, capture_output=True, text=True, timeout=30, env=env_without_proxies()
    )


def ok(p: subprocess.CompletedProcess[str]) -> None:
    assert p.returncode == 0, f"nsupdate failed ({p.returncode}):\n{p.stdout}{p.stderr}"


def failed_with(p: subprocess.CompletedProcess[str], what: str) -> None:
    out = p.stdout + p.stderr
    assert p.returncode != 0, f"nsupdate succeeded, expected {what}:\n{out}"
    assert f"update failed: {what}" in out, out


def rrs(server: Server, name: str, rdtype: str) -> set[str]:
    """Rdata texts of ``name``/``rdtype`` as served (empty for NXDOMAIN or NODATA)."""
    r = ask(server, name, rdtype)
    want = dns.rdatatype.from_text(rdtype)
    return {
        rd.to_text()
        for rrset in r.answer
        if rrset.name.to_text() == name and rrset.rdtype == want
        for rd in rrset
    }


def serial(server: Server, zone: str = "lab.example.") -> int:
    r = ask(server, zone, "SOA")
    (rrset,) = r.answer
    return int(rrset[0].serial)


def rcode(server: Server, name: str, rdtype: str) -> int:
    return ask(server, name, rdtype).rcode()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shipped zones; an admin key and a DHCP key given with --key."""
    need("nsupdate")
    s = make_server(
        tmp_path_factory.mktemp("nsupdate"),
        extra=[
            "--key",
            f"admin-key:hmac-sha256:{ADMIN_SECRET}",
            "--key",
            f"dhcp-key:hmac-sha512:{DHCP_SECRET}:dhcp",
        ],
    )
    s.start()
    yield s
    s.stop()


# -- adding and deleting -------------------------------------------------------------------


def test_add_is_served(srv: Server) -> None:
    ok(
        nsupdate(
            srv,
            [
                "update add added.lab.example. 300 A 10.1.1.1",
                "update add added.lab.example. 300 AAAA fd00::1",
            ],
            "-y",
            ADMIN,
        )
    )
    assert rrs(srv, "added.lab.example.", "A") == {"10.1.1.1"}
    assert rrs(srv, "added.lab.example.", "AAAA") == {"fd00::1"}
    r = ask(srv, "added.lab.example.", "A")
    assert r.answer[0].ttl == 300


def test_add_over_tcp(srv: Server) -> None:
    ok(nsupdate(srv, ['update add tcp.lab.example. 300 TXT "over tcp"'], "-y", ADMIN, tcp=True))
    assert rrs(srv, "tcp.lab.example.", "TXT") == {'"over tcp"'}


def test_add_to_the_reverse_zone(srv: Server) -> None:
    ok(
        nsupdate(
            srv,
            ["update add 77.0.0.10.in-addr.arpa. 300 PTR added.lab.example."],
            "-y",
            DHCP,
            zone="0.0.10.in-addr.arpa.",
        )
    )
    assert rrs(srv, "77.0.0.10.in-addr.arpa.", "PTR") == {"added.lab.example."}


def test_delete_one_rr(srv: Server) -> None:
    ok(
        nsupdate(
            srv,
            [
                "update add pair.lab.example. 300 A 10.2.0.1",
                "update add pair.lab.example. 300 A 10.2.0.2",
            ],
            "-y",
            ADMIN,
        )
    )
    ok(nsupdate(srv, ["update delete pair.lab.example. A 10.2.0.1"], "-y", ADMIN))
    assert rrs(srv, "pair.lab.example.", "A") == {"10.2.0.2"}


def test_delete_an_rrset(srv: Server) -> None:
    assert rrs(srv, "nas.lab.example.", "AAAA") == {"fd00:10::20"}
    ok(nsupdate(srv, ["update delete nas.lab.example. AAAA"], "-y", ADMIN))
    r = ask(srv, "nas.lab.example.", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR and r.answer == []  # NODATA: the name keeps its A
    assert rrs(srv, "nas.lab.example.", "A") == {"10.0.0.20"}


def test_delete_a_name(srv: Server) -> None:
    assert rrs(srv, "hv3.lab.example.", "A") == {"10.0.0.13"}
    ok(nsupdate(srv, ["update delete hv3.lab.example."], "-y", ADMIN))
    assert rcode(srv, "hv3.lab.example.", "A") == dns.rcode.NXDOMAIN


def test_add_then_delete_in_one_update(srv: Server) -> None:
    before = serial(srv)
    ok(
        nsupdate(
            srv,
            ["update add flash.lab.example. 60 A 10.3.0.1", "update delete flash.lab.example. A"],
            "-y",
            ADMIN,
        )
    )
    assert rcode(srv, "flash.lab.example.", "A") == dns.rcode.NXDOMAIN
    assert serial(srv) == before  # nothing changed in the end (RFC 2136 §3.6)


def test_ttl_of_an_added_rr_sets_the_rrset_ttl(srv: Server) -> None:
    ok(nsupdate(srv, ["update add ttl.lab.example. 600 A 10.4.0.1"], "-y", ADMIN))
    ok(nsupdate(srv, ["update add ttl.lab.example. 120 A 10.4.0.2"], "-y", ADMIN))
    r = ask(srv, "ttl.lab.example.", "A")
    (rrset,) = r.answer
    assert rrset.ttl == 120 and {rd.to_text() for rd in rrset} == {"10.4.0.1", "10.4.0.2"}


# -- prerequisites -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prereq", "expected"),
    [
        ("prereq nxdomain web.lab.example.", "YXDOMAIN"),
        ("prereq yxdomain nothere.lab.example.", "NXDOMAIN"),
        ("prereq nxrrset web.lab.example. A", "YXRRSET"),
        ("prereq yxrrset web.lab.example. AAAA", "NXRRSET"),
        ("prereq yxrrset web.lab.example. A 10.0.0.99", "NXRRSET"),
        ("prereq yxdomain b.lab.example.", "NXDOMAIN"),  # an empty non-terminal is not "in use"
    ],
    ids=["nxdomain", "yxdomain", "nxrrset", "yxrrset", "yxrrset-value", "yxdomain-ent"],
)
def test_failing_prerequisite(srv: Server, prereq: str, expected: str) -> None:
    before = serial(srv)
    owner = f"pre-{zlib.crc32(prereq.encode())}.lab.example."
    p = nsupdate(srv, [prereq, f"update add {owner} 60 A 10.9.9.9"], "-y", ADMIN)
    failed_with(p, expected)
    assert rcode(srv, owner, "A") == dns.rcode.NXDOMAIN
    assert serial(srv) == before


@pytest.mark.parametrize(
    "prereq",
    [
        "prereq yxdomain web.lab.example.",
        "prereq nxdomain nothere.lab.example.",
        "prereq yxrrset web.lab.example. A",
        "prereq nxrrset web.lab.example. AAAA",
        "prereq yxrrset web.lab.example. A 10.0.0.40",
    ],
    ids=["yxdomain", "nxdomain", "yxrrset", "nxrrset", "yxrrset-value"],
)
def test_holding_prerequisite(srv: Server, prereq: str) -> None:
    owner = f"held-{zlib.crc32(prereq.encode())}.lab.example."
    ok(nsupdate(srv, [prereq, f"update add {owner} 60 A 10.9.9.8"], "-y", ADMIN))
    assert rrs(srv, owner, "A") == {"10.9.9.8"}


def test_value_prerequisite_compares_the_whole_rrset(srv: Server) -> None:
    """RFC 2136 §3.2.3: all members, no more, no less."""
    ok(
        nsupdate(
            srv,
            [
                "update add set.lab.example. 60 A 10.5.0.1",
                "update add set.lab.example. 60 A 10.5.0.2",
            ],
            "-y",
            ADMIN,
        )
    )
    failed_with(
        nsupdate(
            srv,
            [
                "prereq yxrrset set.lab.example. A 10.5.0.1",
                "update add set2.lab.example. 60 A 10.5.0.3",
            ],
            "-y",
            ADMIN,
        ),
        "NXRRSET",
    )
    ok(
        nsupdate(
            srv,
            [
                "prereq yxrrset set.lab.example. A 10.5.0.2",
                "prereq yxrrset set.lab.example. A 10.5.0.1",
                "update add set2.lab.example. 60 A 10.5.0.3",
            ],
            "-y",
            ADMIN,
        )
    )
    assert rrs(srv, "set2.lab.example.", "A") == {"10.5.0.3"}


def test_prerequisite_outside_the_zone_is_notzone(srv: Server) -> None:
    failed_with(
        nsupdate(
            srv,
            ["prereq yxdomain www.example.org.", "update add nz.lab.example. 60 A 10.9.9.7"],
            "-y",
            ADMIN,
        ),
        "NOTZONE",
    )
    assert rcode(srv, "nz.lab.example.", "A") == dns.rcode.NXDOMAIN


def test_zone_not_served_is_notauth(srv: Server) -> None:
    p = nsupdate(
        srv, ["update add x.other.example. 60 A 10.9.9.7"], "-y", ADMIN, zone="other.example."
    )
    failed_with(p, "NOTAUTH")


# -- apex protection and CNAME rules (RFC 2136 §3.4.2) -------------------------------------


def test_apex_soa_and_ns_survive_deletes(srv: Server) -> None:
    ns_before = rrs(srv, "lab.example.", "NS")
    assert len(ns_before) == 2
    ok(nsupdate(srv, ["update delete lab.example. NS"], "-y", ADMIN))
    ok(nsupdate(srv, ["update delete lab.example. SOA"], "-y", ADMIN))
    assert rrs(srv, "lab.example.", "NS") == ns_before
    assert rcode(srv, "lab.example.", "SOA") == dns.rcode.NOERROR and serial(srv) > 0
    ok(
        nsupdate(
            srv,
            [
                "update delete lab.example. NS ns1.lab.example.",
                "update delete lab.example. NS ns2.lab.example.",
            ],
            "-y",
            ADMIN,
        )
    )
    assert rrs(srv, "lab.example.", "NS") == {"ns2.lab.example."}  # the last NS is kept
    ok(nsupdate(srv, ["update add lab.example. 3600 NS ns1.lab.example."], "-y", ADMIN))
    assert rrs(srv, "lab.example.", "NS") == ns_before


def test_deleting_the_apex_name_keeps_soa_and_ns(srv: Server) -> None:
    assert rrs(srv, "lab.example.", "MX") == {"10 mail.lab.example."}
    ok(nsupdate(srv, ["update delete lab.example."], "-y", ADMIN))
    assert rrs(srv, "lab.example.", "MX") == set()
    assert rrs(srv, "lab.example.", "TXT") == set()
    assert len(rrs(srv, "lab.example.", "NS")) == 2
    assert rcode(srv, "lab.example.", "SOA") == dns.rcode.NOERROR


def test_soa_replaced_only_by_a_higher_serial(srv: Server) -> None:
    cur = serial(srv)
    ok(
        nsupdate(
            srv,
            [
                f"update add lab.example. 3600 SOA ns1.lab.example. changed.lab.example. {cur - 5} 3600 600 1209600 300"
            ],
            "-y",
            ADMIN,
        )
    )
    r = ask(srv, "lab.example.", "SOA")
    assert r.answer[0][0].rname.to_text() == "hostmaster.lab.example." and serial(srv) == cur
    ok(
        nsupdate(
            srv,
            [
                f"update add lab.example. 3600 SOA ns1.lab.example. changed.lab.example. {cur + 1000} 3600 600 1209600 300"
            ],
            "-y",
            ADMIN,
        )
    )
    r = ask(srv, "lab.example.", "SOA")
    assert r.answer[0][0].rname.to_text() == "changed.lab.example." and serial(srv) == cur + 1000


def test_no_data_beside_a_cname(srv: Server) -> None:
    """RFC 2136 §3.4.2.2: the A for a CNAME owner is ignored (the update still succeeds)."""
    ok(nsupdate(srv, ["update add www.lab.example. 60 A 10.9.9.6"], "-y", ADMIN))
    r = ask(srv, "www.lab.example.", "A")
    owners = {(rrset.name.to_text(), rrset.rdtype) for rrset in r.answer}
    assert ("www.lab.example.", dns.rdatatype.A) not in owners
    assert ("www.lab.example.", dns.rdatatype.CNAME) in owners


def test_no_cname_beside_data(srv: Server) -> None:
    ok(nsupdate(srv, ["update add web.lab.example. 60 CNAME nas.lab.example."], "-y", ADMIN))
    assert rrs(srv, "web.lab.example.", "CNAME") == set()
    assert rrs(srv, "web.lab.example.", "A") == {"10.0.0.40"}


def test_cname_replaces_a_cname(srv: Server) -> None:
    ok(nsupdate(srv, ["update add files.lab.example. 60 CNAME web.lab.example."], "-y", ADMIN))
    assert rrs(srv, "files.lab.example.", "CNAME") == {"web.lab.example."}


# -- serials -------------------------------------------------------------------------------


def test_serial_incremented_once_per_update_and_not_on_failure(srv: Server) -> None:
    s0 = serial(srv)
    ok(
        nsupdate(
            srv,
            [
                "update add s1.lab.example. 60 A 10.6.0.1",
                "update add s2.lab.example. 60 A 10.6.0.2",
                'update add s2.lab.example. 60 TXT "two"',
            ],
            "-y",
            ADMIN,
        )
    )
    assert serial(srv) == s0 + 1
    failed_with(
        nsupdate(
            srv,
            ["prereq nxdomain s1.lab.example.", "update add s3.lab.example. 60 A 10.6.0.3"],
            "-y",
            ADMIN,
        ),
        "YXDOMAIN",
    )
    assert serial(srv) == s0 + 1
    ok(nsupdate(srv, ["update delete nothing-here.lab.example. A"], "-y", ADMIN))  # no change
    assert serial(srv) == s0 + 1
    ok(nsupdate(srv, ["update add s3.lab.example. 60 A 10.6.0.3"], "-y", ADMIN))
    assert serial(srv) == s0 + 2


# -- who may update ------------------------------------------------------------------------


def test_unsigned_update_is_refused(srv: Server) -> None:
    before = serial(srv)
    failed_with(nsupdate(srv, ["update add unsigned.lab.example. 60 A 10.7.0.1"]), "REFUSED")
    assert rcode(srv, "unsigned.lab.example.", "A") == dns.rcode.NXDOMAIN
    assert serial(srv) == before


def test_wrong_secret_is_badsig(srv: Server) -> None:
    forged = "hmac-sha256:admin-key:" + "A" * 43 + "="
    p = nsupdate(srv, ["update add forged.lab.example. 60 A 10.7.0.2"], "-y", forged)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and "BADSIG" in out, out
    assert rcode(srv, "forged.lab.example.", "A") == dns.rcode.NXDOMAIN


def test_unknown_key_is_badkey(srv: Server) -> None:
    p = nsupdate(
        srv,
        ["update add stranger.lab.example. 60 A 10.7.0.3"],
        "-y",
        f"hmac-sha256:stranger:{ADMIN_SECRET}",
    )
    out = p.stdout + p.stderr
    assert p.returncode != 0 and "BADKEY" in out, out
    assert rcode(srv, "stranger.lab.example.", "A") == dns.rcode.NXDOMAIN


def test_dhcp_key_may_not_add_mx(srv: Server) -> None:
    failed_with(
        nsupdate(srv, ["update add dhcp-mx.lab.example. 60 MX 10 mail.lab.example."], "-y", DHCP),
        "REFUSED",
    )
    ok(nsupdate(srv, ["update add dhcp-a.lab.example. 60 A 10.7.0.4"], "-y", DHCP))


# -- the YAML configuration: key files, address ACL, policy, serial policy -----------------

UNIX_ZONE = """$ORIGIN unix.test.
$TTL 300
@    SOA ns hostmaster 1 3600 600 86400 60
     NS  ns
ns   A   192.0.2.1
"""


@pytest.fixture(scope="module")
def yaml_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """Keys from a tsig-keygen file and YAML; unix.test open to 127.0.0.1; a policy on lab."""
    tmp = tmp_path_factory.mktemp("nsupdate-yaml")
    keyfile = tmp / "nsupd.key"
    gen = subprocess.run(
        [need("tsig-keygen"), "-a", "hmac-sha384", "nsupd-key"],
        capture_output=True,
        text=True,
        check=True,
    )
    keyfile.write_text(gen.stdout)
    (tmp / "unix.test.zone").write_text(UNIX_ZONE)
    cfg = tmp / "leasedns.yaml"
    cfg.write_text(
        f"""
serial_policy: unixtime
keys:
  - file: {keyfile}
    role: admin
  - name: dhcp-key
    algorithm: hmac-sha512
    secret: "{DHCP_SECRET}"
    role: dhcp
zones:
  - file: {tmp / "unix.test.zone"}
    allow_update: ["127.0.0.1"]
    profile: aggressive
  - file: {ZONES / "lab.example.zone"}
    update_policy:
      - {{grant: "dhcp-key.", match: subdomain, name: dyn.lab.example., types: [A, TXT]}}
      - {{grant: "role:admin", match: zonesub, types: ANY}}
"""
    )
    s = make_server(tmp, zones=[], extra=["--config", str(cfg)])
    s.start()
    yield s, keyfile
    s.stop()


def test_nsupdate_k_with_a_bind_key_file(yaml_srv: tuple[Server, Path]) -> None:
    s, keyfile = yaml_srv
    ok(nsupdate(s, ["update add keyfile.lab.example. 60 A 10.8.0.1"], "-k", str(keyfile)))
    assert rrs(s, "keyfile.lab.example.", "A") == {"10.8.0.1"}


def test_unsigned_update_allowed_by_address_acl(yaml_srv: tuple[Server, Path]) -> None:
    s, _ = yaml_srv
    ok(nsupdate(s, ["update add host.unix.test. 60 A 192.0.2.50"], zone="unix.test."))
    assert rrs(s, "host.unix.test.", "A") == {"192.0.2.50"}


def test_unsigned_update_from_the_acl_has_full_rights(yaml_srv: tuple[Server, Path]) -> None:
    """As BIND's allow-update: an allowed address may change any type (allow_update_role narrows it)."""
    s, _ = yaml_srv
    ok(nsupdate(s, ["update add host.unix.test. 60 MX 10 ns.unix.test."], zone="unix.test."))
    assert rrs(s, "host.unix.test.", "MX") == {"10 ns.unix.test."}


def test_unsigned_delete_takes_effect_under_the_aggressive_profile(
    yaml_srv: tuple[Server, Path],
) -> None:
    """RFC 2136 §3.4.2.3/§3.4.2.4: a delete deletes (the profile without a grace period)."""
    s, _ = yaml_srv
    ok(
        nsupdate(
            s,
            [
                "update add gone.unix.test. 60 A 192.0.2.60",
                "update add gone.unix.test. 60 A 192.0.2.61",
            ],
            zone="unix.test.",
        )
    )
    ok(nsupdate(s, ["update delete gone.unix.test. A 192.0.2.60"], zone="unix.test."))
    assert rrs(s, "gone.unix.test.", "A") == {"192.0.2.61"}
    ok(nsupdate(s, ["update delete gone.unix.test. A"], zone="unix.test."))
    assert rcode(s, "gone.unix.test.", "A") == dns.rcode.NXDOMAIN
    failed_with(
        nsupdate(
            s,
            ["prereq yxrrset gone.unix.test. A", "update add after.unix.test. 60 A 192.0.2.62"],
            zone="unix.test.",
        ),
        "NXRRSET",
    )


def test_unsigned_update_to_a_zone_without_acl_is_refused(yaml_srv: tuple[Server, Path]) -> None:
    s, _ = yaml_srv
    failed_with(nsupdate(s, ["update add unsigned.lab.example. 60 A 10.8.0.2"]), "REFUSED")


def test_policy_refusal_is_audited(yaml_srv: tuple[Server, Path]) -> None:
    s, _ = yaml_srv
    ok(nsupdate(s, ["update add h1.dyn.lab.example. 60 A 10.8.1.1"], "-y", DHCP))
    failed_with(
        nsupdate(s, ["update add outside.lab.example. 60 A 10.8.1.2"], "-y", DHCP), "REFUSED"
    )
    failed_with(
        nsupdate(s, ["update add h2.dyn.lab.example. 60 AAAA fd00::2"], "-y", DHCP), "REFUSED"
    )
    assert rcode(s, "outside.lab.example.", "A") == dns.rcode.NXDOMAIN
    p = s.cli("audit", "--data-dir", str(s.data_dir), "--json")
    assert p.returncode == 0, p.stderr
    events = [
        e for e in json.loads(p.stdout) if e["kind"] == "update" and e["actor"] == "dhcp-key."
    ]
    refused = [e for e in events if e["outcome"] == "refused"]
    assert len(refused) == 2 and all(e["client"] == "127.0.0.1" for e in refused)
    assert all(e["zone"] == "lab.example." and "REFUSED" in e["reason"] for e in refused)
    attempted = json.dumps([e["detail"] for e in refused])
    assert "outside.lab.example." in attempted and "h2.dyn.lab.example." in attempted
    assert [e["outcome"] for e in events].count("applied") == 1


def test_serial_policy_unixtime(yaml_srv: tuple[Server, Path]) -> None:
    """The zone file says serial 1; each update makes it the clock, or +1 when the clock
    is not ahead (several updates in one second)."""
    s, _ = yaml_srv
    before = serial(s, "unix.test.")
    t0 = int(time.time())
    ok(nsupdate(s, ['update add clock.unix.test. 60 TXT "tick"'], zone="unix.test."))
    t1 = int(time.time())
    after = serial(s, "unix.test.")
    assert after == before + 1 or t0 <= after <= t1
    assert after >= t0 - 1 and after > before


def test_query_answers_come_from_dnspython_parsable_messages(srv: Server) -> None:
    """Guard for the helpers: an UPDATE-touched name answers with a well-formed message
    (the name is added here, so the test does not depend on the ones before it)."""
    ok(nsupdate(srv, ["update add guard.lab.example. 300 A 10.1.1.9"], "-y", ADMIN))
    r = ask(srv, "guard.lab.example.", "A", tcp=True)
    assert isinstance(r, dns.message.Message) and r.rcode() == dns.rcode.NOERROR
