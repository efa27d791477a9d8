"""Dynamic update throughput of leasedns, BIND and Knot: TSIG-signed adds, 1 and 8 clients.

Every server gets the same fresh zone and key, runs pinned to CPU 0 with its default
(durable) settings, and receives the same 2,000 TSIG-signed UPDATEs over UDP, each
adding one A record at a new name: first from one client waiting for every reply,
then from 8 concurrent clients.  The client (this process) runs on CPU 1.

Durability is counted, not assumed: a separate, shorter pass runs the same kind of
load with ``strace`` attached to the server and counts the calls that force data to
stable storage (fsync, fdatasync, msync with MS_SYNC, sync_file_range, sync, syncfs)
plus the writes made through descriptors opened with O_SYNC/O_DSYNC (LMDB writes its
meta page that way), both divided by the number of updates.  strace slows every
system call, so the timed runs are made without it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.tsig
import dns.update
from bench_query import Server, free_port, stop  # noqa: E402 - same directory, run as a script

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "update"
PYTHON = ROOT / ".venv" / "bin" / "python" if (ROOT / ".venv").exists() else Path(sys.executable)
SERVER_CPU = "0"
CLIENT_CPU = 1
ZONE = "bench.test."
KEY_NAME = "bench-key."
ALGORITHM = "hmac-sha256"
TIMEOUT = 5.0  # seconds to wait for one reply; a reply that does not come is an error

ZONE_TEXT = """$ORIGIN bench.test.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
     IN NS  ns1
ns1  IN A   127.0.0.1
www  IN A   192.0.2.80
"""


class BenchError(RuntimeError):
    """A server would not start, refused the updates, or strace gave no figures."""


# -- servers -------------------------------------------------------------------------------


def start(
    name: str, argv: list[str], port: int, workdir: Path, env: dict[str, str] | None = None
) -> Server:
    """Start pinned to the server CPU (``exec``'d by taskset, so the PID is the server's)."""
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, *argv], stdout=log, stderr=log, cwd=workdir, env=env
    )
    server = Server(name, proc, port, log)
    try:
        wait_ready(server)
    except BaseException:
        stop(server)
        raise
    return server


def wait_ready(server: Server, limit: float = 60.0) -> None:
    """Until the zone's SOA is answered with NOERROR (the zone is loaded, not just the port)."""
    probe = dns.message.make_query(ZONE, "SOA")
    began = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", server.port))
        s.settimeout(0.1)
        while time.monotonic() - began < limit:
            if not server.alive():
                raise BenchError(
                    f"{server.name} exited with {server.proc.returncode}; see {server.log.name}"
                )
            try:
                s.send(probe.to_wire())
                reply = dns.message.from_wire(s.recv(4096))
            except (ConnectionRefusedError, TimeoutError):
                time.sleep(0.02)
                continue
            if reply.id == probe.id and reply.rcode() == dns.rcode.NOERROR and reply.answer:
                return
            time.sleep(0.02)
    raise BenchError(f"{server.name} did not serve {ZONE} within {limit:.0f} s")


def fresh_dir(name: str) -> Path:
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    (d / "bench.test.zone").write_text(ZONE_TEXT)
    return d


def start_leasedns(secret: str) -> Server:
    d = fresh_dir("leasedns")
    port = free_port()
    argv = [str(PYTHON), "-m", "leasedns", "serve", "--zone", str(d / "bench.test.zone"),
            "--data-dir", str(d / "data"), "--listen", f"127.0.0.1:{port}", "--http", "off",
            "--key", f"{KEY_NAME}:{ALGORITHM}:{secret}"]  # fmt: skip
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")  # keep compiled modules, as an install does
    env["PYTHONPATH"] = str(ROOT)  # this tree's leasedns, whatever the server's working directory
    return start("leasedns", argv, port, d, env)


def bind_config(d: Path, port: int, secret: str) -> str:
    """A primary zone open to the key by update-policy; BIND's defaults otherwise (journal on)."""
    return f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
}};
controls {{ }};
key "{KEY_NAME[:-1]}" {{
    algorithm {ALGORITHM};
    secret "{secret}";
}};
zone "{ZONE[:-1]}" {{
    type primary;
    file "bench.test.zone";
    update-policy {{ grant {KEY_NAME[:-1]} zonesub ANY; }};
}};
"""


def start_bind(secret: str) -> Server:
    d = fresh_dir("bind")
    port = free_port()
    conf = d / "named.conf"
    conf.write_text(bind_config(d, port, secret))
    named = shutil.which("named") or "/usr/sbin/named"
    return start("bind", [named, "-g", "-c", str(conf)], port, d)  # -g: foreground, log to stderr


def knot_config(d: Path, port: int, secret: str) -> str:
    """An ACL with action update for the key; Knot's defaults otherwise (journal, zonefile-sync)."""
    return f"""server:
    rundir: "{d}"
    pidfile: "{d}/knot.pid"
    listen: 127.0.0.1@{port}
database:
    storage: "{d}/db"
key:
  - id: {KEY_NAME[:-1]}
    algorithm: {ALGORITHM}
    secret: {secret}
acl:
  - id: bench-update
    key: {KEY_NAME[:-1]}
    action: update
template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
zone:
  - domain: {ZONE}
    file: "{d}/bench.test.zone"
    acl: bench-update
log:
  - target: stderr
    any: warning
"""


def start_knot(secret: str) -> Server:
    d = fresh_dir("knot")
    port = free_port()
    (d / "db").mkdir()  # Knot does not create its database directory
    conf = d / "knot.conf"
    conf.write_text(knot_config(d, port, secret))
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    return start("knot", [knotd, "-c", str(conf)], port, d)


STARTERS = {"leasedns": start_leasedns, "bind": start_bind, "knot": start_knot}


# -- the client ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    wire: bytes
    mac: bytes
    name: str


def build_requests(
    keyring: dict[dns.name.Name, dns.tsig.Key], prefix: str, count: int
) -> list[Request]:
    """Signed in advance, so the clients spend their time waiting on the server, not signing.
    (TSIG allows 300 s of fudge; every run here is far shorter.)"""
    out = []
    for i in range(count):
        name = f"{prefix}-{i}.{ZONE}"
        u = dns.update.UpdateMessage(
            ZONE, keyring=keyring, keyname=dns.name.from_text(KEY_NAME), keyalgorithm=ALGORITHM
        )
        u.add(name, 300, "A", f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}")
        wire = u.to_wire()
        out.append(Request(wire, u.mac or b"", name))
    return out


@dataclass
class PhaseResult:
    updates: int
    clients: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    errors: int

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def merged(self, other: PhaseResult) -> PhaseResult:
        """Two rounds of one phase as one result."""
        return PhaseResult(self.updates + other.updates, self.clients, self.seconds + other.seconds,
                           self.latencies_ms + other.latencies_ms, self.errors + other.errors)  # fmt: skip

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass(eq=False)
class _Client:
    """One client's socket and where it is in its share of the requests."""

    sock: socket.socket
    reqs: list[Request]
    next: int = 0
    sent_at: float = 0.0
    deadline: float = 0.0


def drive_clients(port: int, shares: list[list[Request]], latencies: list[float],
                  replies: list[tuple[Request, bytes]], errors: list[str]) -> None:  # fmt: skip
    """Every client sends, waits for its reply, sends the next: ``len(shares)`` clients,
    each with a connected UDP socket, all driven by this one thread over ``selectors``.

    One thread reading whichever socket is ready keeps the client's own cost per reply to
    a few microseconds, whatever order the replies come in, with no interpreter-lock
    hand-offs between client threads: against a responder that answers at once it drives
    ~40,000 exchanges/s with one client and ~95,000/s with eight, far above any server
    measured here.  Replies are checked after the phase (``check_replies``), so checking
    stays out of the figures.
    """
    sel = selectors.DefaultSelector()
    live: set[_Client] = set()

    def send_next(c: _Client) -> None:
        """Send the client's next request, or retire the client when it has none left."""
        while c.next < len(c.reqs):
            c.sent_at = time.perf_counter()
            c.deadline = c.sent_at + TIMEOUT
            try:
                c.sock.send(c.reqs[c.next].wire)
                return
            except OSError as e:
                errors.append(f"{c.reqs[c.next].name}: {e}")
                c.next += 1
        sel.unregister(c.sock)
        c.sock.close()
        live.discard(c)

    for share in shares:
        if share:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            c = _Client(s, share)
            sel.register(s, selectors.EVENT_READ, c)
            live.add(c)
    for c in list(live):
        send_next(c)
    while live:
        wait = min(c.deadline for c in live) - time.perf_counter()
        for key, _ in sel.select(max(0.0, wait)):
            c = key.data
            req = c.reqs[c.next]
            try:
                raw = c.sock.recv(65535)
            except OSError as e:
                errors.append(f"{req.name}: {e}")
            else:
                if raw[:2] != req.wire[:2]:
                    continue  # a late reply to an earlier, timed-out request
                latencies.append((time.perf_counter() - c.sent_at) * 1000)
                replies.append((req, raw))
            c.next += 1
            send_next(c)
        now = time.perf_counter()
        for c in [c for c in live if c.deadline <= now]:
            errors.append(f"{c.reqs[c.next].name}: timed out")
            c.next += 1
            send_next(c)


def check_replies(
    replies: list[tuple[Request, bytes]], keyring: dict[dns.name.Name, dns.tsig.Key]
) -> list[str]:
    """Every reply must be NOERROR and carry a TSIG that verifies over its request's MAC."""
    errors = []
    for req, raw in replies:
        try:
            reply = dns.message.from_wire(raw, keyring=keyring, request_mac=req.mac)
        except dns.exception.DNSException as e:
            errors.append(f"{req.name}: {e!r}")
            continue
        if reply.rcode() != dns.rcode.NOERROR or not reply.had_tsig:
            errors.append(f"{req.name}: {dns.rcode.to_text(reply.rcode())}, tsig {reply.had_tsig}")
    return errors


def run_phase(
    port: int, reqs: list[Request], clients: int, keyring: dict[dns.name.Name, dns.tsig.Key]
) -> PhaseResult:
    shares = [reqs[i::clients] for i in range(clients)]
    latencies: list[float] = []
    replies: list[tuple[Request, bytes]] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    drive_clients(port, shares, latencies, replies, errors)
    seconds = time.perf_counter() - t0
    errors += check_replies(replies, keyring)
    if errors:
        print(f"    {len(errors)} errors, first: {errors[0]}", file=sys.stderr)
    return PhaseResult(len(reqs), clients, seconds, latencies, len(errors))


def check_served(server: Server, reqs: list[Request]) -> None:
    """The last update of a phase must be visible to a plain query."""
    q = dns.message.make_query(reqs[-1].name, "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT)
        s.sendto(q.to_wire(), ("127.0.0.1", server.port))
        r = dns.message.from_wire(s.recv(65535))
    if not r.answer:
        raise BenchError(f"{server.name} acknowledged {reqs[-1].name} but does not serve it")


# -- counting what reaches stable storage -------------------------------------------------

SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "sync", "syncfs")
WRITE_CALLS = ("write", "pwrite64", "writev", "pwritev", "pwritev2")
O_DSYNC = 0o10000  # set in O_SYNC too
STRACE_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")


@dataclass
class SyncCount:
    updates: int
    sync_calls: int
    sync_writes: int

    @property
    def syncs_per_update(self) -> float:
        return self.sync_calls / self.updates

    @property
    def sync_writes_per_update(self) -> float:
        return self.sync_writes / self.updates


def sync_fds(pid: int) -> set[int]:
    """Descriptors of ``pid`` opened with O_SYNC or O_DSYNC (from /proc/PID/fdinfo)."""
    found = set()
    for entry in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = entry.read_text()
        except OSError:
            continue
        m = re.search(r"^flags:\s+([0-7]+)", text, re.M)
        if m and int(m.group(1), 8) & O_DSYNC:
            found.add(int(entry.name))
    return found


def count_syncs(
    server: Server, reqs: list[Request], clients: int, keyring: dict[dns.name.Name, dns.tsig.Key]
) -> SyncCount:
    strace = shutil.which("strace")
    if strace is None:
        raise BenchError("strace is not installed (apt-get install strace)")
    trace = OUT / f"{server.name}-{clients}.strace"
    calls = ",".join((*SYNC_CALLS, "msync", "open", "openat", "close", *WRITE_CALLS))
    pid = server.proc.pid
    dsync = sync_fds(pid)
    tracer = subprocess.Popen([strace, "-f", "-qq", "-e", f"trace={calls}", "-e", "signal=none",
                               "-o", str(trace), "-p", str(pid)], stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1.0)  # strace attaches to every thread before the first request goes out
    run_phase(server.port, reqs, clients, keyring)
    time.sleep(0.5)  # let the last commit's calls land in the trace
    tracer.send_signal(signal.SIGINT)
    tracer.wait(20)
    sync_calls = sync_writes = 0
    for line in trace.read_text().splitlines():
        m = STRACE_LINE.match(line)
        if m is None:
            continue
        call, args, ret = m.group(2), m.group(3), int(m.group(4))
        first = args.split(",", 1)[0].strip()
        if call in SYNC_CALLS or (call == "msync" and "MS_SYNC" in args):
            sync_calls += 1
        elif call in ("open", "openat") and ret >= 0:
            if "O_SYNC" in args or "O_DSYNC" in args:
                dsync.add(ret)
            else:
                dsync.discard(ret)
        elif call == "close" and first.isdigit():
            dsync.discard(int(first))
        elif call in WRITE_CALLS and first.isdigit() and int(first) in dsync and ret > 0:
            sync_writes += 1
    if sync_calls == 0 and sync_writes == 0:
        raise BenchError(
            f"no sync of any kind traced for {server.name}: is strace allowed to attach?"
        )
    return SyncCount(len(reqs), sync_calls, sync_writes)


# -- the run -------------------------------------------------------------------------------


@dataclass
class Contender:
    """A running server with its key and what it has measured so far."""

    name: str
    server: Server
    keyring: dict[dns.name.Name, dns.tsig.Key]
    phases: dict[int, PhaseResult] = field(default_factory=dict)
    syncs: dict[int, SyncCount] = field(default_factory=dict)
    sent: int = 0

    def requests(self, count: int) -> list[Request]:
        reqs = build_requests(self.keyring, f"u{self.sent}", count)
        self.sent += count
        return reqs

    def measure(self, count: int, clients: int) -> None:
        reqs = self.requests(count)
        result = run_phase(self.server.port, reqs, clients, self.keyring)
        check_served(self.server, reqs)
        if not self.server.alive():
            raise BenchError(f"{self.name} died during the run; see {self.server.log.name}")
        old = self.phases.get(clients)
        self.phases[clients] = result if old is None else old.merged(result)


def start_contender(name: str) -> Contender:
    secret_bytes = os.urandom(32)
    keyring = {dns.name.from_text(KEY_NAME): dns.tsig.Key(KEY_NAME, secret_bytes, ALGORITHM)}
    print(f"{name}: starting", file=sys.stderr)
    server = STARTERS[name](base64.b64encode(secret_bytes).decode())
    return Contender(name, server, keyring)


def run_all(
    names: list[str], updates: int, clients: int, rounds: int, sync_sample: int
) -> list[Contender]:
    """All servers up at once; each phase in ``rounds`` slices taken in turn, so a drift in
    the machine's disk or CPU speed during the run is shared instead of hitting one server."""
    contenders: list[Contender] = []
    try:
        for name in names:
            contenders.append(start_contender(name))
        for c in contenders:
            c.measure(50, 1)  # warm up: first update, journal creation
            c.phases.clear()
        for n_clients in (1, clients):
            for r in range(rounds):
                share = updates // rounds + (1 if r < updates % rounds else 0)
                for c in contenders:
                    c.measure(share, n_clients)
            for c in contenders:
                p = c.phases[n_clients]
                print(
                    f"{c.name}: {n_clients} client(s) {p.per_second:8.0f} updates/s",
                    file=sys.stderr,
                )
        if sync_sample:
            for c in contenders:
                for n_clients, count in ((1, sync_sample), (clients, 2 * sync_sample)):
                    c.syncs[n_clients] = count_syncs(
                        c.server, c.requests(count), n_clients, c.keyring
                    )
        return contenders
    finally:
        for c in contenders:
            stop(c.server)


def fmt_sync(s: SyncCount | None) -> str:
    return "-" if s is None else f"{s.syncs_per_update:.2f} + {s.sync_writes_per_update:.2f}"


def report(contenders: list[Contender], clients: int) -> str:
    lines = [
        f"{'server':9} {'clients':>7} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  "
        "syncs/update (fsync-family + O_DSYNC writes)",
    ]
    for c in contenders:
        for n in (1, clients):
            p = c.phases[n]
            lines.append(
                f"{c.name:9} {n:>7} {p.per_second:>10.0f} {p.percentile(50):>8.2f} "
                f"{p.percentile(99):>8.2f} {p.errors:>6}  {fmt_sync(c.syncs.get(n))}"
            )
    by = {c.name: c for c in contenders}
    if "bind" in by:
        base = by["bind"].phases
        lines += ["", "ratio to BIND (updates/s):"]
        for c in contenders:
            seq = c.phases[1].per_second / base[1].per_second
            con = c.phases[clients].per_second / base[clients].per_second
            lines.append(f"  {c.name:9} 1 client {seq:5.2f}x   {clients} clients {con:5.2f}x")
        if "leasedns" in by:
            ld = by["leasedns"].phases
            seq_ok = ld[1].per_second >= base[1].per_second
            con_ok = ld[clients].per_second >= 2 * base[clients].per_second
            lines.append(
                f"targets: leasedns >= 1x BIND with 1 client: {'met' if seq_ok else 'NOT met'}; "
                f">= 2x BIND with {clients} clients: {'met' if con_ok else 'NOT met'}"
            )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=2000, help="updates per phase (default 2000)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    ap.add_argument("--servers", default="leasedns,bind,knot", help="comma-separated subset")
    ap.add_argument("--rounds", type=int, default=4, help="slices each phase is taken in, in turn")
    ap.add_argument("--sync-sample", type=int, default=200,
                    help="updates in the strace pass (0 skips counting syncs)")  # fmt: skip
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {CLIENT_CPU})
    OUT.mkdir(parents=True, exist_ok=True)
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    contenders = run_all(names, args.updates, args.clients, max(1, args.rounds), args.sync_sample)
    print(report(contenders, args.clients))
    if args.json:
        data = {
            c.name: {
                str(n): {"updates": p.updates, "seconds": p.seconds, "per_second": p.per_second,
                         "p50_ms": p.percentile(50), "p99_ms": p.percentile(99), "errors": p.errors,
                         "syncs_per_update": c.syncs[n].syncs_per_update if n in c.syncs else None,
                         "sync_writes_per_update":
                             c.syncs[n].sync_writes_per_update if n in c.syncs else None}
                for n, p in c.phases.items()
            }
            for c in contenders
        }  # fmt: skip
        Path(args.json).write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench_update: {e}", file=sys.stderr)
        sys.exit(1)
