"""Interop: dig (BIND) and kdig (Knot) against the real server, UDP and TCP, IPv4 and IPv6.

dig prints YAML (``+yaml``) and kdig prints RFC 8427 JSON (``+json``); both are read into
one ``Reply`` so each test runs unchanged with either client.  EDNS(0) behaviour
(RFC 6891) is checked here because these clients build OPT records independently of
the dnspython used elsewhere.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import yaml
from serverkit import (
    BIG_TXT_STRINGS,
    MEDIUM_TXT_STRINGS,
    Server,
    env_without_proxies,
    have_ipv6,
    make_server,
    need,
)

SOA_LAB = (
    "lab.example. 300 SOA ns1.lab.example. hostmaster.lab.example. 2026112101 3600 600 1209600 300"
)
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 16: "BADVERS"}  # fmt: skip


@dataclass
class Reply:
    status: str
    flags: set[str]
    answer: list[str] = field(default_factory=list)
    authority: list[str] = field(default_factory=list)
    additional: list[str] = field(default_factory=list)
    edns: dict | None = None  # type: ignore[type-arg]  # version, udp, do, options
    size: int = 0
    transport: str = ""
    question: str = ""


def _rr_text(text: str) -> str:
    """``owner TTL [IN] TYPE rdata`` with the class dropped and blanks collapsed."""
    parts = text.split()
    if len(parts) > 2 and parts[2] == "IN":
        del parts[2]
    return " ".join(parts)


def _from_dig_yaml(out: str) -> Reply:
    doc = yaml.safe_load(out)
    assert doc and doc[0]["type"] == "MESSAGE", out
    msg = doc[0]["message"]
    data = msg["response_message_data"]
    edns = None
    opt = data.get("OPT_PSEUDOSECTION", {}).get("EDNS")
    if opt is not None:
        flags = (opt.get("flags") or "").split()
        extra = {k: v for k, v in opt.items() if k not in ("version", "flags", "udp")}
        edns = {"version": opt["version"], "udp": opt["udp"], "do": "do" in flags, "options": extra}
    return Reply(
        status=data["status"],
        flags=set(data["flags"].split()),
        answer=[_rr_text(t) for t in data.get("ANSWER_SECTION", [])],
        authority=[_rr_text(t) for t in data.get("AUTHORITY_SECTION", [])],
        additional=[_rr_text(t) for t in data.get("ADDITIONAL_SECTION", [])],
        edns=edns,
        size=int(str(msg["message_size"]).rstrip("b")),
        transport=msg["socket_protocol"],
        question=data["QUESTION_SECTION"][0],
    )


def _kdig_rr(rr: dict) -> str:  # type: ignore[type-arg]
    rdata = next((v for k, v in rr.items() if k.startswith("rdata")), None)
    if rdata is None:
        rdata = rr.get("RDATAHEX", "")
    return _rr_text(f"{rr['NAME']} {rr['TTL']} {rr.get('TYPEname', rr['TYPE'])} {rdata}")


def _from_kdig_json(out: str) -> Reply:
    m = json.loads(out)
    flags = {f.lower() for f in ("QR", "AA", "TC", "RD", "RA", "AD", "CD") if m.get(f)}
    rcode = m["RCODE"]
    edns = None
    additional = []
    for rr in m.get("additionalRRs", []):
        if rr["TYPE"] == 41:
            ttl = rr["TTL"]
            rcode |= (ttl >> 24) << 4
            options = {k: v for k, v in rr.items() if k not in ("NAME", "TYPE", "TYPEname", "CLASS", "TTL", "RDLENGTH", "RDATAHEX")}  # fmt: skip
            if rr.get("RDLENGTH"):
                options["RDATAHEX"] = rr.get("RDATAHEX")
            edns = {
                "version": (ttl >> 16) & 0xFF,
                "udp": rr["CLASS"],
                "do": bool(ttl & 0x8000),
                "options": options,
            }
        else:
            additional.append(_kdig_rr(rr))
    return Reply(
        status=RCODES.get(rcode, str(rcode)),
        flags=flags,
        answer=[_kdig_rr(rr) for rr in m.get("answerRRs", [])],
        authority=[_kdig_rr(rr) for rr in m.get("authorityRRs", [])],
        additional=additional,
        edns=edns,
        size=m["msgLength"],
        question=f"{m['QNAME']} {m['QCLASSname']} {m['QTYPEname']}",
    )


def run(tool: str, server: Server, *args: str, tcp: bool = False, six: bool = False) -> Reply:
    """One query with ``dig`` or ``kdig``; ``args`` are the tool's own (``+bufsize=512``, ...)."""
    base = [need(tool), f"@{server.host}", "-p", str(server.port), "+norec"]
    if six:
        base.append("-6")
    if tool == "dig":
        base += ["+yaml", "+time=2", "+tries=1", "+tcp" if tcp else "+notcp"]
    else:
        base += ["+json", "+timeout=2", "+retry=0", "+tcp" if tcp else "+notcp"]
    p = subprocess.run(
        [*base, *args], capture_output=True, text=True, timeout=20, env=env_without_proxies()
    )
    assert p.returncode == 0, f"{tool} {args}: {p.returncode}\n{p.stdout}\n{p.stderr}"
    reply = _from_dig_yaml(p.stdout) if tool == "dig" else _from_kdig_json(p.stdout)
    if tool == "kdig":
        m = re.search(r"\((UDP|TCP)\)", p.stderr + p.stdout)
        reply.transport = m.group(1) if m else ("TCP" if tcp else "UDP")
    return reply


TOOLS = pytest.mark.parametrize("tool", ["dig", "kdig"])
TRANSPORTS = pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])


# -- answers --------------------------------------------------------------------------------


@TOOLS
@TRANSPORTS
def test_cname_answer(lab_server: Server, tool: str, tcp: bool) -> None:
    r = run(tool, lab_server, "www.lab.example.", "A", tcp=tcp)
    assert r.status == "NOERROR" and r.flags == {"qr", "aa"}
    assert r.answer == [
        "www.lab.example. 3600 CNAME web.lab.example.",
        "web.lab.example. 3600 A 10.0.0.40",
    ]
    assert r.authority == [] and r.additional == []


@TOOLS
@TRANSPORTS
def test_nxdomain(lab_server: Server, tool: str, tcp: bool) -> None:
    r = run(tool, lab_server, "nope.lab.example.", "A", tcp=tcp)
    assert r.status == "NXDOMAIN" and r.flags == {"qr", "aa"}
    assert r.answer == [] and r.authority == [SOA_LAB] and r.additional == []


@TOOLS
@TRANSPORTS
def test_empty_non_terminal_is_nodata(lab_server: Server, tool: str, tcp: bool) -> None:
    r = run(tool, lab_server, "b.lab.example.", "A", tcp=tcp)
    assert r.status == "NOERROR" and r.flags == {"qr", "aa"}
    assert r.answer == [] and r.authority == [SOA_LAB]


@TOOLS
@TRANSPORTS
def test_referral(lab_server: Server, tool: str, tcp: bool) -> None:
    r = run(tool, lab_server, "host.sub.lab.example.", "AAAA", tcp=tcp)
    assert r.status == "NOERROR" and r.flags == {"qr"}  # no AA in a referral
    assert r.answer == []
    assert r.authority == ["sub.lab.example. 3600 NS ns.sub.lab.example."]
    assert r.additional == ["ns.sub.lab.example. 3600 A 10.0.1.53"]


@TOOLS
@TRANSPORTS
def test_refused(lab_server: Server, tool: str, tcp: bool) -> None:
    r = run(tool, lab_server, "www.example.net.", "A", tcp=tcp)
    assert r.status == "REFUSED" and "aa" not in r.flags
    assert r.answer == r.authority == r.additional == []


@TRANSPORTS
def test_mixed_case_echoed(lab_server: Server, tcp: bool) -> None:
    """dig only: kdig lower-cases the name before sending it."""
    r = run("dig", lab_server, "AlIaS1.LaB.eXaMpLe.", "A", tcp=tcp)
    assert r.question.split()[0] == "AlIaS1.LaB.eXaMpLe."
    assert r.answer[0].split()[0] == "AlIaS1.LaB.eXaMpLe."
    assert [a.lower() for a in r.answer] == [
        "alias1.lab.example. 3600 cname alias2.lab.example.",
        "alias2.lab.example. 3600 cname web.lab.example.",
        "web.lab.example. 3600 a 10.0.0.40",
    ]


@TOOLS
def test_reverse_generate(lab_server: Server, tool: str) -> None:
    r = run(tool, lab_server, "-x", "10.0.0.137")
    assert r.status == "NOERROR" and "aa" in r.flags
    assert r.answer == ["137.0.0.10.in-addr.arpa. 3600 PTR dhcp-137.lab.example."]


@TOOLS
def test_any_over_udp_one_rrset_over_tcp_all(lab_server: Server, tool: str) -> None:
    udp = run(tool, lab_server, "lab.example.", "ANY")
    assert udp.transport == "UDP" and udp.status == "NOERROR" and "aa" in udp.flags
    assert len({" ".join(a.split()[:3]) for a in udp.answer}) == 1, udp.answer
    tcp = run(tool, lab_server, "lab.example.", "ANY", tcp=True)
    types = sorted({a.split()[2] for a in tcp.answer})
    assert types == ["CAA", "MX", "NAPTR", "NS", "SOA", "TXT"]
    assert len(tcp.answer) == 8


# -- EDNS(0), RFC 6891 ----------------------------------------------------------------------


@TOOLS
@TRANSPORTS
def test_opt_echoed_with_our_payload(lab_server: Server, tool: str, tcp: bool) -> None:
    r = run(tool, lab_server, "+bufsize=4096", "hv1.lab.example.", "A", tcp=tcp)
    assert r.status == "NOERROR" and r.answer == ["hv1.lab.example. 3600 A 10.0.0.11"]
    assert r.edns is not None
    assert r.edns["version"] == 0 and r.edns["udp"] == 1232 and not r.edns["do"]
    assert r.edns["options"] == {}


@TOOLS
def test_no_opt_without_edns(lab_server: Server, tool: str) -> None:
    """RFC 6891 §7: no OPT in the response to a query that had none."""
    r = run(tool, lab_server, "+noedns", "hv1.lab.example.", "A")
    assert r.edns is None and r.answer == ["hv1.lab.example. 3600 A 10.0.0.11"]


@TOOLS
@TRANSPORTS
def test_do_bit_echoed(lab_server: Server, tool: str, tcp: bool) -> None:
    """RFC 3225 §3: the DO bit is copied into the response."""
    r = run(tool, lab_server, "+dnssec", "nope.lab.example.", "A", tcp=tcp)
    assert r.status == "NXDOMAIN" and r.edns is not None and r.edns["do"]
    assert r.authority == [SOA_LAB]


@TOOLS
@TRANSPORTS
def test_unknown_option_ignored(lab_server: Server, tool: str, tcp: bool) -> None:
    """RFC 6891 §6.1.2: unknown options are ignored, and not echoed."""
    r = run(tool, lab_server, "+ednsopt=65001:abcd", "hv3.lab.example.", "A", tcp=tcp)
    assert r.status == "NOERROR" and r.answer == ["hv3.lab.example. 3600 A 10.0.0.13"]
    assert r.edns is not None and r.edns["options"] == {}


@TOOLS
@TRANSPORTS
def test_badvers(lab_server: Server, tool: str, tcp: bool) -> None:
    """RFC 6891 §6.1.3: version 1 gets BADVERS (extended RCODE 16) and our version, 0."""
    args = ["+edns=1", "+noednsneg"] if tool == "dig" else ["+edns=1"]
    r = run(tool, lab_server, *args, "hv1.lab.example.", "A", tcp=tcp)
    assert r.status == "BADVERS"
    assert r.edns is not None and r.edns["version"] == 0 and r.edns["udp"] == 1232
    assert r.answer == r.authority == r.additional == []


@TOOLS
def test_payload_below_512_counts_as_512(lab_server: Server, tool: str) -> None:
    """RFC 6891 §6.2.5: a requestor's size under 512 is treated as 512."""
    r = run(tool, lab_server, "+bufsize=100", "lab.example.", "NS")
    assert "tc" not in r.flags and len(r.answer) == 2 and len(r.additional) == 3


# -- truncation -----------------------------------------------------------------------------

MEDIUM_TXT = "medium.special.test."
BIG_TXT = "big.special.test."


@TOOLS
@pytest.mark.parametrize("opts", [["+noedns"], ["+bufsize=512"]], ids=["noedns", "bufsize512"])
def test_medium_rrset_truncated_at_512(special_server: Server, tool: str, opts: list[str]) -> None:
    r = run(tool, special_server, "+ignore", *opts, MEDIUM_TXT, "TXT")
    assert "tc" in r.flags and r.status == "NOERROR"
    assert r.answer == []  # RFC 2181 §9: never a partial RRset
    assert r.size <= 512
    assert (r.edns is not None) == (opts != ["+noedns"])


@TOOLS
def test_medium_rrset_fits_1232(special_server: Server, tool: str) -> None:
    r = run(tool, special_server, "+ignore", "+bufsize=1232", MEDIUM_TXT, "TXT")
    assert "tc" not in r.flags and r.status == "NOERROR" and "aa" in r.flags
    assert len(r.answer) == 1 and r.answer[0].count('"') == 2 * MEDIUM_TXT_STRINGS
    assert 693 < r.size <= 1232


@TOOLS
@pytest.mark.parametrize("bufsize", [1232, 4096])
def test_big_rrset_truncated_at_our_limit(special_server: Server, tool: str, bufsize: int) -> None:
    """Our payload is 1232 (RFC 6891 §6.2.5: the smaller of both sizes limits the answer)."""
    r = run(tool, special_server, "+ignore", f"+bufsize={bufsize}", BIG_TXT, "TXT")
    assert "tc" in r.flags and r.answer == [] and r.size <= 1232
    assert r.edns is not None and r.edns["udp"] == 1232


@TOOLS
@pytest.mark.parametrize("name", [MEDIUM_TXT, BIG_TXT])
def test_complete_over_tcp(special_server: Server, tool: str, name: str) -> None:
    r = run(tool, special_server, name, "TXT", tcp=True)
    strings = MEDIUM_TXT_STRINGS if name == MEDIUM_TXT else BIG_TXT_STRINGS
    assert r.transport == "TCP" and "tc" not in r.flags and r.status == "NOERROR"
    assert len(r.answer) == 1 and r.answer[0].count('"') == 2 * strings


def test_dig_retries_over_tcp_after_tc(special_server: Server) -> None:
    r = run("dig", special_server, "+noedns", BIG_TXT, "TXT")  # no +ignore: dig follows TC
    assert r.transport == "TCP" and "tc" not in r.flags
    assert r.answer[0].count('"') == 2 * BIG_TXT_STRINGS


# -- IPv6 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def v6_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not have_ipv6():
        pytest.skip("this host has no IPv6 loopback")
    s = make_server(tmp_path_factory.mktemp("v6"), host="::1")
    s.start()
    yield s
    s.stop()


@TOOLS
@TRANSPORTS
def test_ipv6_listener(v6_server: Server, tool: str, tcp: bool) -> None:
    r = run(tool, v6_server, "ns1.lab.example.", "AAAA", tcp=tcp, six=True)
    assert r.transport == ("TCP" if tcp else "UDP")
    assert r.status == "NOERROR" and r.flags == {"qr", "aa"}
    assert r.answer == ["ns1.lab.example. 3600 AAAA fd00:10::2"]
