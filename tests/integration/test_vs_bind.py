"""Differential conformance: leasedns and BIND's named get the same zones, key and requests.

Both servers run on free loopback ports with the same master files and the same TSIG
key (full update rights: BIND ``update-policy { grant KEY zonesub ANY; }``, leasedns
``--key NAME:hmac-sha256:SECRET:admin``).  A seeded generator sends a few hundred
RFC 2136 UPDATEs to both: the RCODEs must agree, and so must whether the SOA serial moved
(§3.6); every few updates both zones are transferred (AXFR, TSIG) and must hold the same
RRsets, SOA serial aside (each server bumps it its own way).  Scripted cases cover the
corners a random walk rarely reaches, and malformed or badly signed UPDATEs must get the
same RCODE and TSIG error.  Then both answer the same queries against the final dynamic
zone and a richer static zone: RCODE, header flags, answer, authority and additional
sections must agree.  Where the servers may defensibly differ, a comment says why the
case is left out; the one intended difference (deferred deletes) has a test of its own."""

from __future__ import annotations

from collections.abc import Iterator

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest
from bindkit import start_bind
from diffkit import (
    A_RDATA,
    EDGE,
    KEY,
    RICH_QUERIES,
    ZONES,
    Pair,
    UpdateRun,
    build_update,
    cname_loop,
    dynamic_questions,
    malformed_differences,
    query_differences,
    raw_update,
    reply_shape,
    run_updates,
    scripted_differences,
    send_update,
    sign_raw,
    started_pair,
    unexercised,
)
from serverkit import ask

pytestmark = pytest.mark.interop

UPDATES = 300


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("vsbind")
    yield from started_pair(start_bind(tmp / "bind", KEY, ZONES), "bind", tmp)


def bind_leeway(qtype: str, bind: dns.message.Message, lds: dns.message.Message) -> frozenset[str]:
    """Where BIND's answer may defensibly differ from leasedns's.

    BIND answers a CNAME loop with the chain and SERVFAIL (EDE "max. restarts reached");
    leasedns and Knot with the chain and NOERROR.  RFC 1034 §3.6.2 asks that loops be
    "signalled as an error" without saying how, and §4.3.2 (the authoritative algorithm)
    does not mention loops, so the RCODE of a loop is left out of the comparison; the
    answer section still has to agree.

    The additional section is compared too, except for ANY: BIND does no additional-section
    processing for QTYPE ANY, leasedns adds the MX/NS/SRV targets' addresses as for any other
    type.  Both are right: RFC 1034 §4.3.2 step 6 only says RRs that "may be useful" are
    added, and RFC 8482 leaves what an ANY answer holds to the server.
    """
    skip = set()
    if bind.rcode() == dns.rcode.SERVFAIL and cname_loop(bind):
        skip.add("rcode")
    if qtype == "ANY":
        skip.add("additional")
    return frozenset(skip)


@pytest.fixture(scope="module")
def update_run(pair: Pair) -> UpdateRun:
    return run_updates(pair, seed=2136, count=UPDATES)


def test_updates_match_bind(update_run: UpdateRun) -> None:
    assert not update_run.problems, "\n\n".join(update_run.problems[:5])
    assert not unexercised(update_run)


def test_scripted_updates_match_bind(pair: Pair) -> None:
    problems = scripted_differences(pair, bind_leeway)
    assert not problems, "\n\n".join(problems)


# BIND rejects a class ANY record carrying rdata while parsing the message, before it looks at
# the TSIG, so its FORMERR goes out unsigned; leasedns parses, verifies the signature, then
# finds the FORMERR in §3.2.1/§3.4.1.3 and signs the reply.  RFC 8945 §5.3 wants replies to
# verified requests signed, so leasedns is, if anything, the more correct; only the RCODE of
# these two is compared.
RCODE_ONLY = ("class ANY prerequisite with rdata", "class ANY delete with rdata")


def test_malformed_updates_match_bind(pair: Pair) -> None:
    problems = malformed_differences(pair, rcode_only=RCODE_ONLY)
    assert not problems, "\n".join(problems)


# -- known differences ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rdtype, rdclass, rdata",
    [(dns.rdatatype.A, dns.rdataclass.ANY, b""), (dns.rdatatype.ANY, dns.rdataclass.ANY, b""),
     (dns.rdatatype.A, dns.rdataclass.NONE, A_RDATA)],
    ids=["delete-rrset", "delete-name", "delete-rr"],
)  # fmt: skip
def test_delete_with_ttl_is_formerr_in_bind_and_deferred_here(
    pair: Pair, rdtype: int, rdclass: int, rdata: bytes
) -> None:
    """The one intended difference. RFC 2136 §3.4.1.3 makes a delete with a non-zero TTL
    FORMERR, and BIND answers so; leasedns implements the deferred-delete draft, whose §3
    gives that TTL a meaning (delete N seconds later) and whose §3.6 uses exactly this
    difference (NOERROR here, FORMERR from a plain RFC 2136 server) to detect support."""
    name = f"ttl-del-{rdtype}-{rdclass}.{EDGE}"
    add = [("add", name, 300, "A", "192.0.2.1")]
    assert send_update(pair.ref, build_update(EDGE, add)) == "NOERROR"
    assert send_update(pair.leasedns, build_update(EDGE, add)) == "NOERROR"
    wire = sign_raw(raw_update(EDGE, [(name, rdtype, rdclass, 300, rdata)]))
    assert reply_shape(pair.ref, wire)[0] == "FORMERR"
    assert reply_shape(pair.leasedns, wire)[0] == "NOERROR"
    # deferred, not done: the record is still served until the deadline
    answer = ask(pair.leasedns, name, "A")
    assert [rd.to_text() for rrset in answer.answer for rd in rrset] == ["192.0.2.1"]


# -- queries --------------------------------------------------------------------------------


def test_rich_zone_queries_match_bind(pair: Pair) -> None:
    problems = query_differences(pair, RICH_QUERIES, bind_leeway)
    assert not problems, "\n\n".join(problems)


def test_queries_after_updates_match_bind(pair: Pair, update_run: UpdateRun) -> None:
    """Every pool name (and a name below each, and a wildcard match) for every type."""
    problems = query_differences(pair, dynamic_questions(), bind_leeway)
    assert not problems, "\n\n".join(problems)
