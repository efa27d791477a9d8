"""A server core without sockets: update and timer engines over an in-memory store and a fake clock."""

from __future__ import annotations

import time

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsigkeyring
import dns.update

from leasedns import keys
from leasedns.cli.nsupdate_lang import _UpdateRRset
from leasedns.lease.protect import BlastRadius, ZoneLifecycle
from leasedns.lease.roles import InfraSettings, RoleIndex
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.zonestore import Store
from leasedns.wire import names
from leasedns.zone import loader
from leasedns.zone.masterfile import parse_zone_file
from leasedns.zone.timer_engine import TimerEngine
from leasedns.zone.update_engine import Lifecycle, UpdateEngine, ZonePolicy

SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
ZONE_TEXT = """$ORIGIN lab.example.
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 10.0.0.2
static A 10.0.0.10
"""


class Clock:
    def __init__(self, t: float | None = None) -> None:
        # starts at the real time: requests are TSIG-signed with it (fudge 300 s)
        self.t = float(int(time.time())) if t is None else t

    def __call__(self) -> float:
        return self.t


class Harness:
    def __init__(self, tmp_path, profile: str = "aggressive", grace: int | None = None, store=None):  # type: ignore[no-untyped-def]
        self.clock = Clock()
        self.store = store or Store(MemoryKV())
        self.zone = names.from_text("lab.example.")
        f = tmp_path / "lab.zone"
        f.write_text(ZONE_TEXT)
        with self.store.writer() as w:
            if w.zone_state(self.zone) is None:
                loader.import_zone(w, parse_zone_file(str(f)), str(f), self.clock())
        self.settings = ZoneLifecycle(profile=profile, grace=grace)
        self.infra = InfraSettings()
        self.lifecycle = Lifecycle(lambda z: self.settings, self._roles, BlastRadius())
        self.keyring = keys.Keyring(
            [
                keys.TsigKey(
                    names.from_text("dhcp-key."),
                    "hmac-sha256",
                    __import__("base64").b64decode(SECRET),
                    keys.Role.DHCP,
                ),
                keys.TsigKey(
                    names.from_text("admin-key."),
                    "hmac-sha256",
                    __import__("base64").b64decode(SECRET),
                    keys.Role.ADMIN,
                ),
            ]
        )
        self.changes: list = []
        self.timers = TimerEngine(
            self.store,
            int(self.clock()),
            lambda z: self.settings,
            self._roles,
            lambda: [self.zone],
            self.lifecycle.blast,
        )
        self.engine = UpdateEngine(
            self.store,
            served=lambda z: z == self.zone,
            keyring=self.keyring,
            zone_policy=lambda z: ZonePolicy(),
            clock=self.clock,
            schedule=lambda f: None,
            on_change=self.changes.append,
            on_wheel_ops=self.timers.apply,
            lifecycle=self.lifecycle,
        )

    def _roles(self, zone):  # type: ignore[no-untyped-def]
        """Rebuilt when human-made data may have changed, as the server's wiring does."""
        with self.store.reader() as r:
            st = r.zone_state(self.zone)
            serial = st.human_gen if st else 0
        if getattr(self, "_roles_serial", None) != serial:
            with self.store.reader() as r:
                self._roles_index = RoleIndex.build(r, [self.zone], self.infra)
            self._roles_serial = serial
        return self._roles_index

    def send(self, upd: dns.update.UpdateMessage) -> dns.message.Message:
        replies: list[bytes] = []
        self.engine.submit(upd.to_wire(), "127.0.0.1", replies.append)
        self.engine.flush()
        return dns.message.from_wire(replies[0], keyring=False)

    def update(self, key: str = "dhcp-key.") -> dns.update.UpdateMessage:
        kr = dns.tsigkeyring.from_text({key: SECRET})
        u = dns.update.UpdateMessage("lab.example.")
        u.use_tsig(
            kr, algorithm="hmac-sha256", fudge=65535
        )  # the fake clock runs ahead of real time
        return u

    def advance(self, seconds: float) -> None:
        """Move the clock, firing every due timer second by second, like the reactor would."""
        end = self.clock.t + seconds
        while True:
            nd = self.timers.next_deadline()
            if nd is None or nd > end:
                break
            self.clock.t = max(self.clock.t, nd)
            self.timers.tick(int(self.clock.t))
        self.clock.t = end

    def rrset(self, name: str, rtype: int):  # type: ignore[no-untyped-def]
        with self.store.reader() as r:
            return r.get(self.zone, names.from_text(name, self.zone), rtype)

    def serial(self) -> int:
        with self.store.reader() as r:
            st = r.zone_state(self.zone)
            assert st is not None
            return st.serial


def deferred_delete(
    u: dns.update.UpdateMessage,
    name: str,
    ttl: int,
    rtype: str | None = None,
    rdata: str | None = None,
) -> None:
    """Append a delete with a non-zero TTL (dnspython writes TTL 0 for empty RRsets: use the client's RRset)."""
    if rdata is not None:
        u.delete(name, rtype, rdata)
        u.update[-1].ttl = ttl
        return
    owner = dns.name.from_text(name, u.origin)
    rs = _UpdateRRset(
        owner,
        dns.rdataclass.IN,
        dns.rdatatype.from_text(rtype or "ANY"),
        deleting=dns.rdataclass.ANY,
    )
    rs.ttl = ttl
    u.update.append(rs)


def rcode(m: dns.message.Message) -> str:
    return dns.rcode.to_text(m.rcode())
