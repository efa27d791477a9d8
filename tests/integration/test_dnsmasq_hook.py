"""``leasedns dhcp-hook`` run by a real dnsmasq serving real DHCP clients in network namespaces.

Topology (all 10.x addresses live only on veths this test creates)::

    client ns "laptop"   --veth--+
                                 bridge -- dnsmasq ns -- veth -- root ns: leasedns
    client ns "intruder" --veth--+        (runs the hook)          on 10.214.n.1

busybox udhcpc is the client: SIGUSR1 renews (dnsmasq ``old``), SIGUSR2 releases
(``del``).  When network namespaces cannot be made here, the second test still runs
the hook with exactly the arguments and environment dnsmasq passes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.name
import dns.rdatatype
import pytest
from serverkit import ROOT, ZONES, Server, ask, need, poll, rrsets

pytestmark = pytest.mark.interop

KEY_NAME = "ddns-key"
SECRET = "ZG5zbWFzcS1ob29rLXRvLWxlYXNlZG5zLXRlc3Qtc2VjcmV0"
GRACE = 300
LAPTOP = "laptop.lab.example."
MAC_LAPTOP = "02:00:5e:20:00:01"
MAC_INTRUDER = "02:00:5e:20:00:02"
LEASE_TTL = 200  # the hook's automatic TTL: a third of dnsmasq's 10 min lease


def client_id_dhcid(mac: str, fqdn: str) -> str:
    """RFC 4701 §3.5.2, type 1 from the client identifier udhcpc sends (01 + MAC)."""
    wire = dns.name.from_text(fqdn).canonicalize().to_wire()
    assert wire is not None
    digest = hashlib.sha256(bytes.fromhex("01" + mac.replace(":", "")) + wire).digest()
    return (b"\x00\x01\x01" + digest).hex()


def run(*cmd: str) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, f"{' '.join(cmd)}: {p.stderr}"


def namespaces_work() -> bool:
    """``ip netns add`` needs root and a kernel that allows it (not every container does)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"ldprobe{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ok


def install_if_missing(packages: dict[str, str]) -> None:
    """Debian packages the test drives, installed when missing and we are root."""
    missing = [pkg for binary, pkg in packages.items() if shutil.which(binary) is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                       capture_output=True, env=env, timeout=600)  # fmt: skip


# --- looking at leasedns ----------------------------------------------------------------------


def answer(server: Server, name: str, rdtype: str) -> tuple[set[str], int | None]:
    r = ask(server, name, rdtype)
    want = dns.rdatatype.from_text(rdtype)
    for rrset in r.answer:
        if rrset.name == dns.name.from_text(name) and rrset.rdtype == want:
            return {rd.to_text() for rd in rrset}, rrset.ttl
    return set(), None


def dhcid_served(server: Server, name: str) -> set[str]:
    r = ask(server, name, "DHCID")
    return {rd.to_wire().hex() for rrset in r.answer for rd in rrset}


def audit_updates(server: Server, since: float) -> list[dict[str, Any]]:
    p = server.cli("audit", "--data-dir", str(server.data_dir), "--json")
    assert p.returncode == 0, p.stderr
    return [e for e in json.loads(p.stdout) if e["kind"] == "update" and e["time"] >= since]


def audit_notes(server: Server, since: float) -> list[str]:
    """What leasedns said about the updates: grace, reconciliation, leases."""
    return [n for e in audit_updates(server, since) for n in e["detail"].get("ignored", [])]


def reverse_zone_file(path: Path, origin: str) -> Path:
    path.write_text(
        f"$ORIGIN {origin}\n$TTL 3600\n"
        "@ IN SOA ns1.lab.example. hostmaster.lab.example. 1 3600 600 1209600 300\n"
        "  IN NS ns1.lab.example.\n"
    )
    return path


def start_leasedns(server_factory: Callable[..., Server], tmp_path: Path, host: str,
                   rev_origin: str, yaml_text: str = "") -> Server:  # fmt: skip
    rev = reverse_zone_file(tmp_path / "reverse.zone", rev_origin)
    extra = ["--key", f"{KEY_NAME}:hmac-sha256:{SECRET}:dhcp", "--profile", "balanced",
             "--grace", str(GRACE)]  # fmt: skip
    if yaml_text:
        (tmp_path / "leasedns.yaml").write_text(yaml_text)
        extra += ["--config", str(tmp_path / "leasedns.yaml")]
    return server_factory(extra=extra, zones=[ZONES / "lab.example.zone", rev], host=host)


def write_hook(tmp_path: Path, server: Server, rev_origin: str) -> tuple[Path, Path]:
    """The dnsmasq --dhcp-script wrapper and the hook's YAML config, as the README shows."""
    config = tmp_path / "hook.yaml"
    config.write_text(
        f"server: {server.host}:{server.port}\n"
        f'key: "{KEY_NAME}:hmac-sha256:{SECRET}"\n'
        f"reverse_zones: [{rev_origin}]\n"
        "verbose: true\n"
        "timeout: 2\n"
    )
    log = tmp_path / "hook.log"
    wrapper = tmp_path / "leasedns-dhcp-hook"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "EVENT $*" >> {log}\n'
        f'{sys.executable} -m leasedns dhcp-hook --config {config} "$@" >> {log} 2>&1\n'
        f'echo "DONE $1 rc=$?" >> {log}\n'
    )
    wrapper.chmod(0o755)
    return wrapper, log


# --- the namespaces -------------------------------------------------------------------------


@dataclass
class Net:
    """Two client namespaces on a bridge in dnsmasq's namespace, which has a veth to root.

    ``n`` is the third octet of both subnets and the suffix of every name made here: the
    first one whose namespace does not exist yet, so parallel runs do not collide.
    """

    tmp: Path
    n: int = 0
    links: list[str] = field(default_factory=list)  # root-side links to delete
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    made: list[str] = field(default_factory=list)  # namespaces to delete

    @property
    def srv(self) -> str:
        return f"ldd-srv{self.n}"

    @property
    def root_addr(self) -> str:
        return f"10.214.{self.n}.1"

    @property
    def subnet(self) -> str:
        return f"10.213.{self.n}"

    def up(self) -> None:
        for i in range(200):
            self.n = (os.getpid() + i) % 200 + 20
            if (
                subprocess.run(["ip", "netns", "add", self.srv], capture_output=True).returncode
                == 0
            ):
                break
        else:
            raise AssertionError("no free namespace name")
        self.made.append(self.srv)
        n = self.n
        run("ip", "-n", self.srv, "link", "set", "lo", "up")
        # root <-> dnsmasq's namespace: the hook reaches leasedns over this
        root_if, srv_if = f"ldr{n}", f"ldu{n}"
        run("ip", "link", "add", root_if, "type", "veth", "peer", "name", srv_if)
        self.links.append(root_if)
        run("ip", "link", "set", srv_if, "netns", self.srv)
        run("ip", "addr", "add", f"{self.root_addr}/30", "dev", root_if)
        run("ip", "link", "set", root_if, "up")
        run("ip", "-n", self.srv, "addr", "add", f"10.214.{n}.2/30", "dev", srv_if)
        run("ip", "-n", self.srv, "link", "set", srv_if, "up")
        # the DHCP segment: a bridge in dnsmasq's namespace
        run("ip", "-n", self.srv, "link", "add", "ldbr", "type", "bridge")
        run("ip", "-n", self.srv, "addr", "add", f"{self.subnet}.1/24", "dev", "ldbr")
        run("ip", "-n", self.srv, "link", "set", "ldbr", "up")

    def add_client(self, hostname: str, mac: str) -> str:
        ns = f"ldd-{hostname[:6]}{self.n}"
        run("ip", "netns", "add", ns)
        self.made.append(ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.srv, "link", "add", "p" + hostname[:6], "type", "veth",
            "peer", "name", "eth0", "netns", ns)  # fmt: skip
        run("ip", "-n", self.srv, "link", "set", "p" + hostname[:6], "master", "ldbr")
        run("ip", "-n", self.srv, "link", "set", "p" + hostname[:6], "up")
        run("ip", "-n", ns, "link", "set", "eth0", "address", mac)
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        return ns

    def spawn(self, ns: str, *cmd: str, log: Path) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=open(log, "ab"),
                             stderr=subprocess.STDOUT)  # fmt: skip
        self.procs.append(p)
        return p

    def down(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)


@dataclass
class Client:
    """A udhcpc in its namespace; its script records the address it was given."""

    net: Net
    hostname: str
    mac: str
    tmp: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def events(self) -> Path:
        return self.tmp / f"udhcpc-{self.hostname}.events"

    def script(self) -> Path:
        path = self.tmp / f"udhcpc-{self.hostname}.sh"
        path.write_text(
            "#!/bin/sh\n"
            'case "$1" in\n'
            '  deconfig) ip addr flush dev "$interface" ;;\n'
            '  bound|renew) ip addr flush dev "$interface";'
            ' ip addr add "$ip/${mask:-24}" dev "$interface" ;;\n'
            "esac\n"
            f'echo "$1 $ip" >> {self.events}\n'
        )
        path.chmod(0o755)
        return path

    def start(self, once: bool = False) -> None:
        ns = self.net.add_client(self.hostname, self.mac)
        cmd = ["busybox", "udhcpc", "-f", "-i", "eth0", "-s", str(self.script()),
               "-x", "hostname:laptop", "-t", "20", "-T", "1", "-A", "1"]  # fmt: skip
        if once:
            cmd += ["-q", "-n"]
        self.proc = self.net.spawn(ns, *cmd, log=self.tmp / f"udhcpc-{self.hostname}.log")

    def lines(self) -> list[str]:
        return self.events.read_text().splitlines() if self.events.exists() else []

    def address(self) -> str:
        bound = [line.split()[1] for line in self.lines() if line.startswith(("bound", "renew"))]
        return bound[-1] if bound else ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(sig)


def hook_runs(log: Path) -> list[tuple[str, str]]:
    """(arguments, exit line) of every finished run of the hook, in order."""
    runs, current = [], ""
    for line in log.read_text().splitlines() if log.exists() else []:
        if line.startswith("EVENT "):
            current = line[6:]
        elif line.startswith("DONE "):
            runs.append((current, line))
    return runs


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    if not namespaces_work():
        pytest.skip("network namespaces are not available here (see the replay test below)")
    install_if_missing({"dnsmasq": "dnsmasq", "busybox": "busybox"})
    need("dnsmasq")
    need("busybox")
    n = Net(tmp_path)
    try:
        n.up()
        yield n
    finally:
        n.down()


def test_dnsmasq_in_namespaces_feeds_leasedns(
    net: Net, server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    rev_origin = f"{net.n}.213.10.in-addr.arpa."
    server = start_leasedns(server_factory, tmp_path, net.root_addr, rev_origin)
    wrapper, hook_log = write_hook(tmp_path, server, rev_origin)
    dnsmasq_log = tmp_path / "dnsmasq.log"
    net.spawn(
        net.srv, need("dnsmasq"), "--no-daemon", "--conf-file=/dev/null", "--port=0",
        "--user=root", "--interface=ldbr", "--bind-interfaces", "--no-ping",
        f"--dhcp-range={net.subnet}.100,{net.subnet}.150,10m", f"--dhcp-script={wrapper}",
        f"--dhcp-leasefile={tmp_path / 'dnsmasq.leases'}", "--domain=lab.example",
        "--script-on-renewal", "--dhcp-authoritative", "--log-dhcp",
        f"--log-facility={dnsmasq_log}", log=tmp_path / "dnsmasq.out",
    )  # fmt: skip
    poll(lambda: dnsmasq_log.exists() and "DHCP, IP range" in dnsmasq_log.read_text(),
         "dnsmasq to start", lambda: (tmp_path / "dnsmasq.out").read_text())  # fmt: skip

    def story() -> str:
        return f"--- hook:\n{hook_log.read_text() if hook_log.exists() else ''}" + (
            f"\n--- dnsmasq:\n{dnsmasq_log.read_text()[-3000:]}"
        )

    def wait_hook(action: str, mac: str, seen: int) -> str:
        """Wait for a finished run for this client and action after the first ``seen`` runs;
        returns its exit line."""

        def found() -> str:
            for args, done in hook_runs(hook_log)[seen:]:
                if args.startswith(f"{action} {mac} "):
                    return done
            return ""

        poll(lambda: bool(found()), f"dnsmasq to run the hook: {action} {mac}", story)
        return found()

    laptop = Client(net, "laptop", MAC_LAPTOP, tmp_path)
    identity = client_id_dhcid(MAC_LAPTOP, LAPTOP)

    # 1. a lease: dnsmasq runs "add"; A, DHCID and PTR appear, signed by the dhcp key
    t0 = time.time()
    laptop.start()
    assert "rc=0" in wait_hook("add", MAC_LAPTOP, 0), story()
    address = laptop.address()
    assert address.startswith(f"{net.subnet}."), laptop.lines()
    rev = ".".join(reversed(address.split("."))) + ".in-addr.arpa."
    assert answer(server, LAPTOP, "A") == ({address}, LEASE_TTL), story()
    assert dhcid_served(server, LAPTOP) == {identity}
    assert answer(server, rev, "PTR")[0] == {LAPTOP}
    state = rrsets(server, "lab.example.")
    assert state[(LAPTOP, "A")]["identity"] == f"dhcid:{identity}"
    assert state[(LAPTOP, "A")]["provenance"] == "dhcp"
    assert any(n.startswith("update lease ") for n in audit_notes(server, t0)), story()

    # 2. renewal: dnsmasq runs "old"; the hook refreshes the lease, no churn.  A real
    # renewal comes at T1 (half the lease); here it is forced, so first let the RFC 9664 §8
    # minimum interval (1 s) pass, or the refresh would be silently ignored and retried.
    time.sleep(1.1)
    t1, seen = time.time(), len(hook_runs(hook_log))
    laptop.signal(signal.SIGUSR1)
    wait_hook("old", MAC_LAPTOP, seen)
    assert answer(server, LAPTOP, "A") == ({address}, LEASE_TTL)
    events = audit_updates(server, t1)
    assert [e["outcome"] for e in events] == ["applied", "applied"], events  # forward, reverse
    said = [n for e in events for n in e["detail"].get("ignored", [])]
    assert not any("grace" in n or "reconciled" in n for n in said), said

    # 3. release: dnsmasq runs "del"; balanced keeps the name in grace (TTL 60)
    seen = len(hook_runs(hook_log))
    laptop.signal(signal.SIGUSR2)
    wait_hook("del", MAC_LAPTOP, seen)
    rdatas, ttl = answer(server, LAPTOP, "A")
    assert rdatas == {address} and ttl == 60, (rdatas, ttl, story())
    state = rrsets(server, "lab.example.")
    assert state[(LAPTOP, "A")]["state"] == "grace", state[(LAPTOP, "A")]
    assert state[(LAPTOP, "DHCID")]["state"] == "grace", state[(LAPTOP, "DHCID")]
    assert answer(server, rev, "PTR") == ({LAPTOP}, 60)

    # 4. another machine asking for the same hostname cannot take it during grace
    intruder = Client(net, "intruder", MAC_INTRUDER, tmp_path)
    seen = len(hook_runs(hook_log))
    intruder.start(once=True)
    wait_hook("add", MAC_INTRUDER, seen)
    assert intruder.address(), intruder.lines()
    assert "belongs to another client" in hook_log.read_text(), story()
    assert answer(server, LAPTOP, "A")[0] == {address}
    assert dhcid_served(server, LAPTOP) == {identity}

    # 5. the laptop comes back: "add" again, reconciled, active
    t5, seen = time.time(), len(hook_runs(hook_log))
    laptop.signal(signal.SIGUSR1)
    assert "rc=0" in wait_hook("add", MAC_LAPTOP, seen), story()
    rdatas, ttl = answer(server, LAPTOP, "A")
    assert rdatas == {laptop.address()} and ttl == LEASE_TTL, (rdatas, ttl, story())
    state = rrsets(server, "lab.example.")
    assert state[(LAPTOP, "A")]["state"] == "active", story()
    assert state[(LAPTOP, "DHCID")]["state"] == "active", story()
    assert any(n.startswith("reconciled laptop.lab.example.") for n in audit_notes(server, t5))


# --- without namespaces: exactly what dnsmasq passes -------------------------------------------


def dnsmasq_environment(action: str, mac: str, now: int, lease: int = 120) -> dict[str, str]:
    """The environment dnsmasq 2.90 gives the script (recorded from a real run)."""
    env = {
        "DNSMASQ_CLIENT_ID": "01:" + mac,
        "DNSMASQ_DOMAIN": "lab.example",
        "DNSMASQ_INTERFACE": "eth1",
        "DNSMASQ_LEASE_EXPIRES": str(now + lease),
        "DNSMASQ_LOG_DHCP": "1",
    }
    if action == "add":
        env |= {
            "DNSMASQ_REQUESTED_OPTIONS": "1,3,6,12,15,28,42",
            "DNSMASQ_SUPPLIED_HOSTNAME": "laptop",
            "DNSMASQ_TAGS": "eth1",
            "DNSMASQ_TIME_REMAINING": str(lease),
            "DNSMASQ_VENDOR_CLASS": "udhcp 1.35.0",
        }
    elif action == "old":
        env |= {"DNSMASQ_DATA_MISSING": "1", "DNSMASQ_TIME_REMAINING": str(lease)}
    else:
        env |= {"DNSMASQ_DATA_MISSING": "1"}
    return env


def test_hook_with_the_arguments_and_environment_dnsmasq_passes(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    rev_origin = "5.0.10.in-addr.arpa."
    server = start_leasedns(server_factory, tmp_path, "127.0.0.1", rev_origin)
    wrapper, hook_log = write_hook(tmp_path, server, rev_origin)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DNSMASQ_", "LEASEDNS_"))}

    def dnsmasq_runs(action: str, mac: str, ip: str) -> None:
        env = base | dnsmasq_environment(action, mac, int(time.time()), lease=3600)
        p = subprocess.run([str(wrapper), action, mac, ip, "laptop"], env=env, cwd=ROOT,
                           capture_output=True, timeout=30)  # fmt: skip
        assert p.returncode == 0
        assert hook_log.read_text().rstrip().endswith("rc=0")

    identity = client_id_dhcid(MAC_LAPTOP, LAPTOP)
    active_ttl = 1200  # a third of the one-hour lease
    dnsmasq_runs("add", MAC_LAPTOP, "10.0.5.128")
    assert answer(server, LAPTOP, "A") == ({"10.0.5.128"}, active_ttl), hook_log.read_text()
    assert dhcid_served(server, LAPTOP) == {identity}
    assert answer(server, "128.5.0.10.in-addr.arpa.", "PTR")[0] == {LAPTOP}
    dnsmasq_runs("add", MAC_LAPTOP, "10.0.5.128")  # idempotent
    dnsmasq_runs("old", MAC_LAPTOP, "10.0.5.128")
    assert answer(server, LAPTOP, "A") == ({"10.0.5.128"}, active_ttl)
    dnsmasq_runs("del", MAC_LAPTOP, "10.0.5.128")  # balanced: grace, TTL at the floor
    assert answer(server, LAPTOP, "A") == ({"10.0.5.128"}, 60)
    assert answer(server, "128.5.0.10.in-addr.arpa.", "PTR") == ({LAPTOP}, 60)
    dnsmasq_runs("del", MAC_LAPTOP, "10.0.5.128")  # idempotent
    dnsmasq_runs("add", MAC_INTRUDER, "10.0.5.129")
    assert "belongs to another client" in hook_log.read_text()
    assert answer(server, LAPTOP, "A") == ({"10.0.5.128"}, 60)
    assert answer(server, "129.5.0.10.in-addr.arpa.", "PTR")[0] == set()
    t = time.time()
    dnsmasq_runs("add", MAC_LAPTOP, "10.0.5.130")
    assert answer(server, LAPTOP, "A") == ({"10.0.5.130"}, active_ttl)
    state = rrsets(server, "lab.example.")
    assert state[(LAPTOP, "A")]["state"] == state[(LAPTOP, "DHCID")]["state"] == "active"
    said = audit_notes(server, t)
    assert "reconciled laptop.lab.example. 10.0.5.128 → 10.0.5.130" in said, said


def test_lease_ends_in_grace_when_dnsmasq_says_nothing(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    """No "del" arrives (dnsmasq stopped, host gone): the RFC 9664 lease the hook sent ends
    in leasedns itself, and under balanced that is grace, not deletion."""
    rev_origin = "5.0.10.in-addr.arpa."
    server = start_leasedns(server_factory, tmp_path, "127.0.0.1", rev_origin, "lease_min: 1\n")
    wrapper, hook_log = write_hook(tmp_path, server, rev_origin)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DNSMASQ_", "LEASEDNS_"))}
    env |= dnsmasq_environment("add", MAC_LAPTOP, int(time.time()), lease=3)
    p = subprocess.run([str(wrapper), "add", MAC_LAPTOP, "10.0.5.140", "laptop"], env=env,
                       capture_output=True, timeout=30)  # fmt: skip
    assert p.returncode == 0 and "update lease" in " ".join(audit_notes(server, 0)), (
        hook_log.read_text()
    )
    assert answer(server, LAPTOP, "A")[0] == {"10.0.5.140"}

    def in_grace() -> bool:
        state = rrsets(server, "lab.example.").get((LAPTOP, "A"), {})
        return state.get("state") == "grace"

    poll(in_grace, "the lease to end", lambda: json.dumps(rrsets(server, "lab.example."), indent=1))
    # still published (the TTL was capped at half the 3 s lease, so it stays below 60)
    assert answer(server, LAPTOP, "A")[0] == {"10.0.5.140"}
    assert answer(server, "140.5.0.10.in-addr.arpa.", "PTR")[0] == {LAPTOP}
    assert rrsets(server, rev_origin)[("140.5.0.10.in-addr.arpa.", "PTR")]["state"] == "grace"


def test_shipped_dnsmasq_example_is_valid() -> None:
    install_if_missing({"dnsmasq": "dnsmasq"})
    p = subprocess.run([need("dnsmasq"), "--test", "-C", str(ZONES / "dnsmasq.conf.example")],
                       capture_output=True, text=True, timeout=30)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
