"""Query throughput of leasedns against NSD on the same zone and query mix, measured with dnsperf."""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import dns.flags
import dns.message
import dns.rcode
import gen_zone

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
PYTHON = ROOT / ".venv" / "bin" / "python"
SERVER_CPU = "0"
CLIENT_CPU = "1"


class BenchError(RuntimeError):
    """A server would not start, answered wrongly, or dnsperf gave no figures."""


# -- ports and processes -------------------------------------------------------


def free_port() -> int:
    """A loopback port free for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise BenchError("no free loopback port")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: IO[bytes]
    startup: float = 0.0

    def alive(self) -> bool:
        return self.proc.poll() is None


def start(
    name: str, argv: list[str], port: int, log_path: Path, env: dict[str, str] | None = None
) -> Server:
    """Start pinned to the server CPU; ``startup`` is process start to first answer."""
    log = open(log_path, "wb")  # closed by stop()
    began = time.monotonic()
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, *argv], stdout=log, stderr=log, cwd=ROOT, env=env
    )
    server = Server(name, proc, port, log)
    try:
        server.startup = wait_for_answer(server, began)
    except BaseException:
        stop(server)
        raise
    return server


def wait_for_answer(server: Server, began: float, limit: float = 120.0) -> float:
    """Poll with a connected socket: a closed port refuses at once, so the 2 ms
    retry step, not a receive timeout, bounds the error of the measurement."""
    probe = dns.message.make_query(gen_zone.ORIGIN, "SOA", use_edns=False).to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", server.port))
        s.settimeout(0.05)
        while time.monotonic() - began < limit:
            if not server.alive():
                raise BenchError(f"{server.name} exited with {server.proc.returncode}, see its log")
            try:
                s.send(probe)
                reply = s.recv(4096)
            except (ConnectionRefusedError, TimeoutError):
                time.sleep(0.002)
                continue
            if reply[:2] == probe[:2]:
                return time.monotonic() - began
    raise BenchError(f"{server.name} gave no answer within {limit:.0f} s")


def stop(server: Server) -> None:
    """SIGTERM, then SIGKILL after 20 s (BIND can take a while to flush)."""
    if server.alive():
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    server.log.close()


def children(pid: int) -> list[int]:
    """``pid`` and every descendant (NSD forks a transfer daemon and its servers)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found += children(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by ``pids``."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_busy_seconds(cpu: str) -> float:
    """Time CPU ``cpu`` has spent not idle, by /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        fields = line.split()
        if fields[0] == "cpu" + cpu:
            ticks = [int(x) for x in fields[1:9]]
            return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return str(pid)


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(m.group(1)) if m else 0


# -- the two servers ------------------------------------------------------------


def start_leasedns(zone: Path, data_dir: Path, log_path: Path) -> Server:
    port, http = free_port(), free_port()
    argv = [str(PYTHON), "-m", "leasedns", "serve", "--zone", str(zone),
            "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}",
            "--http", f"127.0.0.1:{http}"]  # fmt: skip
    return start("leasedns", argv, port, log_path, python_env())


def python_env() -> dict[str, str]:
    """Let Python keep its compiled modules, as an installed server does, but under
    benchmarks/out/ rather than in the source tree."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    return env


def nsd_config(workdir: Path, zone: Path, port: int) -> str:
    """Foreground, no chroot, no user switch, one server process, rate limiting off."""
    return f"""server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    do-ip6: no
    username: ""
    chroot: ""
    server-count: 1
    reuseport: no
    verbosity: 0
    hide-version: yes
    zonesdir: "{workdir}"
    pidfile: "{workdir}/nsd.pid"
    database: ""
    zonelistfile: "{workdir}/zone.list"
    xfrdfile: "{workdir}/xfrd.state"
    xfrdir: "{workdir}/xfr"
    logfile: "{workdir}/nsd.log"
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "{gen_zone.ORIGIN}"
    zonefile: "{zone}"
"""


def start_nsd(zone: Path, workdir: Path) -> Server:
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "xfr").mkdir(parents=True)
    port = free_port()
    conf = workdir / "nsd.conf"
    conf.write_text(nsd_config(workdir, zone, port))
    check = subprocess.run(["nsd-checkconf", str(conf)], capture_output=True, text=True)
    if check.returncode:
        raise BenchError(f"nsd-checkconf: {check.stderr or check.stdout}")
    return start("nsd", ["nsd", "-d", "-c", str(conf)], port, workdir / "stdout.log")


# -- checking answers -------------------------------------------------------------


def ask(port: int, qname: str, qtype: str) -> dns.message.Message:
    q = dns.message.make_query(qname, qtype, use_edns=False)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        wire, _ = s.recvfrom(65535)
    return dns.message.from_wire(wire)


def answer_shape(msg: dns.message.Message) -> tuple[str, bool, list[str]]:
    rrs = sorted(line for rrset in msg.answer for line in rrset.to_text().splitlines())
    return dns.rcode.to_text(msg.rcode()), bool(msg.flags & dns.flags.AA), rrs


def compare_answers(a: Server, b: Server, queries: list[str], sample: int) -> dict[str, int]:
    """Same rcode, AA bit and answer RRs from both for a seeded sample; raises on a difference."""
    rng = random.Random(3)
    picked = rng.sample(queries, min(sample, len(queries)))
    seen: dict[str, int] = {}
    for line in picked:
        qname, qtype = line.split()
        left, right = (
            answer_shape(ask(a.port, qname, qtype)),
            answer_shape(ask(b.port, qname, qtype)),
        )
        if left != right:
            raise BenchError(f"{line}: {a.name} says {left}, {b.name} says {right}")
        kind = left[0] if left[2] or left[0] != "NOERROR" else "NODATA"
        seen[kind] = seen.get(kind, 0) + 1
    return seen


# -- dnsperf ------------------------------------------------------------------------


@dataclass
class PerfResult:
    qps: float
    latency_ms: float
    sent: int
    lost: int
    completed: int
    rcodes: str
    sizes: str
    runtime: float
    cpu: float = 0.0  # server CPU seconds (user + system) over the run
    cpu0: float = 0.0  # seconds the server's CPU was busy with anything over the run

    @property
    def cpu_us_per_query(self) -> float:
        return 1e6 * self.cpu / self.completed if self.completed else 0.0

    @property
    def busy(self) -> float:
        """Share of the run the server was on a CPU; well under 1 means it was not the limit."""
        return self.cpu / self.runtime if self.runtime else 0.0

    @property
    def others(self) -> float:
        """Share of the run the server's CPU spent on other processes (and interrupts)."""
        return max(0.0, self.cpu0 - self.cpu) / self.runtime if self.runtime else 0.0


def dnsperf(server: Server, queries: Path, duration: float, extra: list[str]) -> PerfResult:
    argv = ["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", "127.0.0.1", "-p", str(server.port),
            "-d", str(queries), "-c", "4", "-l", str(duration), *extra]  # fmt: skip
    pids = children(server.proc.pid)
    before, busy_before = cpu_seconds(pids), cpu_busy_seconds(SERVER_CPU)
    run = subprocess.run(argv, capture_output=True, text=True)
    result = parse_dnsperf(run.stdout + run.stderr)
    result.cpu = cpu_seconds(pids) - before
    result.cpu0 = cpu_busy_seconds(SERVER_CPU) - busy_before
    return result


def parse_dnsperf(text: str) -> PerfResult:
    def grab(pattern: str) -> str:
        m = re.search(pattern, text, re.M)
        if m is None:
            raise BenchError(f"dnsperf output lacks {pattern!r}:\n{text}")
        return m.group(1)

    return PerfResult(
        qps=float(grab(r"Queries per second:\s+([\d.]+)")),
        latency_ms=float(grab(r"Average Latency \(s\):\s+([\d.]+)")) * 1e3,
        sent=int(grab(r"Queries sent:\s+(\d+)")),
        lost=int(grab(r"Queries lost:\s+(\d+)")),
        completed=int(grab(r"Queries completed:\s+(\d+)")),
        rcodes=grab(r"Response codes:\s+(.*)$").strip(),
        sizes=grab(r"Average packet size:\s+(.*)$").strip(),
        runtime=float(grab(r"Run time \(s\):\s+([\d.]+)")),
    )


def warm(server: Server, queries: Path, extra: list[str]) -> None:
    """One pass over the query file, unmeasured, so every server starts the round warm."""
    dnsperf(server, queries, 60, ["-n", "1", *extra])


HEADER = (f"{'round':>6}  {'server':<9} {'qps':>8} {'avg ms':>7} {'lost':>14} "
          f"{'cpu us/q':>8} {'busy':>5} {'other':>5} {'load':>5}")  # fmt: skip


def row(round_: str, server: Server, r: PerfResult) -> str:
    loss = 100.0 * r.lost / r.sent if r.sent else 0.0
    load = Path("/proc/loadavg").read_text().split()[0]
    return (f"{round_:>6}  {server.name:<9} {r.qps:>8.0f} {r.latency_ms:>7.3f} "
            f"{r.lost:>6} ({loss:.2f}%) {r.cpu_us_per_query:>8.1f} {r.busy:>5.0%} "
            f"{r.others:>5.0%} {load:>5}")  # fmt: skip


# -- main -----------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=15, help="seconds per dnsperf run")
    p.add_argument("--rounds", type=int, default=2, help="leasedns/NSD pairs, interleaved")
    p.add_argument("--hosts", type=int, default=10_000)
    p.add_argument("--queries", type=int, default=100_000, help="lines in the dnsperf file")
    p.add_argument("--sample", type=int, default=500, help="queries compared before measuring")
    p.add_argument("--no-edns-round", action="store_true", help="skip the extra leasedns -e run")
    args = p.parse_args()
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs; server and dnsperf will share one", file=sys.stderr)

    OUT.mkdir(parents=True, exist_ok=True)
    zone = OUT / "bench.example.zone"
    qfile = OUT / "queries.txt"
    shape = gen_zone.write_zone(zone, args.hosts)
    queries = gen_zone.write_queries(qfile, shape, args.queries)
    data_dir = OUT / "leasedns-data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    print(f"zone: {args.hosts} hosts, {len(shape.with_aaaa)} with AAAA, {shape.aliases} CNAMEs, "
          f"{shape.empty_non_terminals} empty non-terminals; {len(queries)} queries, mix "
          + ", ".join(f"{k} {v}%" for k, v in gen_zone.QUERY_MIX.items()))  # fmt: skip

    servers: list[Server] = []
    try:
        lease = start_leasedns(zone, data_dir, OUT / "leasedns.log")
        servers.append(lease)
        nsd = start_nsd(zone, OUT / "nsd")
        servers.append(nsd)
        print(f"startup to first answer: leasedns {lease.startup:.2f} s (fresh import), "
              f"nsd {nsd.startup:.2f} s")  # fmt: skip
        seen = compare_answers(lease, nsd, queries, args.sample)
        print(f"answers agree on {sum(seen.values())} sampled queries: "
              + ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))  # fmt: skip
        for s in servers:
            warm(s, qfile, [])

        print(f"\n{HEADER}")
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        results: list[tuple[Server, PerfResult]] = []
        for n in range(1, args.rounds + 1):
            mine = dnsperf(lease, qfile, args.duration, [])
            print(row(str(n), lease, mine), flush=True)
            theirs = dnsperf(nsd, qfile, args.duration, [])
            print(row(str(n), nsd, theirs), flush=True)
            ratios.append(mine.qps / theirs.qps)
            cpu_ratios.append(theirs.cpu_us_per_query / mine.cpu_us_per_query)
            results += [(lease, mine), (nsd, theirs)]
            print(f"{'':>6}  leasedns/nsd: qps {ratios[-1]:.2f}, "
                  f"cpu per query {cpu_ratios[-1]:.2f}", flush=True)  # fmt: skip
        if not args.no_edns_round:
            warm(lease, qfile, ["-e"])
            edns = dnsperf(lease, qfile, args.duration, ["-e"])
            print(row("edns", lease, edns) + f"   ({edns.qps / results[-1][1].qps:.2f} of nsd "
                  "without EDNS)")  # fmt: skip
            results.append((lease, edns))

        print()
        for s, r in results[:2]:
            print(f"{s.name}: rcodes {r.rcodes}; packet size {r.sizes}")
        for s in servers:
            pids = children(s.proc.pid)
            sizes = [rss_kib(pid) for pid in pids]
            each = ", ".join(
                f"{process_name(pid)} {kib / 1024:.1f}"
                for pid, kib in zip(pids, sizes, strict=True)
            )
            whole = f"{sum(sizes) / 1024:.1f} MiB"
            print(f"rss after the runs: {s.name} {whole}" + (f" ({each})" if len(pids) > 1 else ""))
        print(
            f"cpu ratio: {sum(cpu_ratios) / len(cpu_ratios):.2f}  "
            "(NSD's CPU per query / leasedns's: the qps ratio each could reach on a core of its own)"
        )
        print(f"ratio: {sum(ratios) / len(ratios):.2f}")
    finally:
        for s in reversed(servers):
            stop(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
