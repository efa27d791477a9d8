"""UDP listener that reads and answers datagrams in batches with recvmmsg/sendmmsg (Linux)."""

from __future__ import annotations

import ctypes
import errno
import socket
import struct
import sys
from collections.abc import Callable
from ctypes import POINTER, Structure, addressof, c_int, c_size_t, c_uint, c_uint32, c_void_p
from typing import Any

from twisted.internet import reactor as _installed_reactor
from twisted.internet.abstract import isIPv6Address
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from zope.interface import implementer

from leasedns.server.answer_cache import cache_key
from leasedns.server.core import ServerCore

BATCH = 64  # datagrams per system call
BATCHES_PER_READ = 8  # then back to the reactor, so TCP and timers get their turn
RECV_SLOT = 8192  # Twisted's UDP maxPacketSize: larger datagrams are dropped (MSG_TRUNC)
SEND_SLOT = 4096  # larger replies (max_udp_payload above it) go out with a plain sendto
NAME_SLOT = 28  # sizeof(struct sockaddr_in6); a sockaddr_in takes the first 16

MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40
_WOULD_BLOCK = (errno.EAGAIN, errno.EWOULDBLOCK)
_log = Logger()
_reactor: Any = _installed_reactor  # typed loosely: zope interfaces confuse mypy


class _IoVec(Structure):
    _fields_ = [("iov_base", c_void_p), ("iov_len", c_size_t)]


class _MsgHdr(Structure):
    _fields_ = [
        ("msg_name", c_void_p),
        ("msg_namelen", c_uint32),
        ("msg_iov", POINTER(_IoVec)),
        ("msg_iovlen", c_size_t),
        ("msg_control", c_void_p),
        ("msg_controllen", c_size_t),
        ("msg_flags", c_int),
    ]


class _MMsgHdr(Structure):
    _fields_ = [("msg_hdr", _MsgHdr), ("msg_len", c_uint)]


_MSIZE = ctypes.sizeof(_MMsgHdr)
_VSIZE = ctypes.sizeof(_IoVec)
_WORD = {4: "I", 8: "Q"}


def _layout(*fields: tuple[int, str], gaps: bool = True) -> struct.Struct:
    """A struct format for ``fields`` (offset, code) in native order, from ctypes offsets.
    Writers take ``gaps=False``: packing a gap would overwrite what lies in it."""
    fmt, at = "=", 0
    for offset, code in fields:
        if offset != at and not gaps:
            raise ValueError(f"a gap before offset {offset}")
        fmt += f"{offset - at}x{code}"
        at = offset + struct.calcsize("=" + code)
    return struct.Struct(fmt)


_HDR = _MMsgHdr.msg_hdr.offset
# (msg_namelen, msg_flags, msg_len) of a received message
_RECV_INFO = _layout(
    (_HDR + _MsgHdr.msg_namelen.offset, "I"),
    (_HDR + _MsgHdr.msg_flags.offset, "i"),
    (_MMsgHdr.msg_len.offset, "I"),
)
# (msg_name, msg_namelen) of a message to send: adjacent at the start of the header
_SEND_NAME = _layout(
    (_HDR + _MsgHdr.msg_name.offset, _WORD[ctypes.sizeof(c_void_p)]),
    (_HDR + _MsgHdr.msg_namelen.offset, "I"),
    gaps=False,
)
# iov_len, written at _IOV_LEN_AT past the start of an iovec
_IOV_LEN = struct.Struct("=" + _WORD[ctypes.sizeof(c_size_t)])
_IOV_LEN_AT = _IoVec.iov_len.offset


def _load_libc() -> tuple[Any, Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        recvmmsg, sendmmsg = libc.recvmmsg, libc.sendmmsg
    except (OSError, AttributeError):
        return None
    recvmmsg.argtypes = [c_int, c_void_p, c_uint, c_int, c_void_p]
    recvmmsg.restype = c_int
    sendmmsg.argtypes = [c_int, c_void_p, c_uint, c_int]
    sendmmsg.restype = c_int
    return recvmmsg, sendmmsg


_LIBC = _load_libc()


def available() -> bool:
    """True on Linux when libc exports recvmmsg and sendmmsg."""
    return _LIBC is not None


def sockaddr_to_tuple(raw: bytes) -> tuple[Any, ...]:
    """A ``struct sockaddr_in``/``sockaddr_in6`` as the tuple ``socket.sendto`` takes."""
    family = int.from_bytes(raw[0:2], sys.byteorder)
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET6:
        host = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        flowinfo = int.from_bytes(raw[4:8], "big")
        return host, port, flowinfo, int.from_bytes(raw[24:28], sys.byteorder)
    return socket.inet_ntop(socket.AF_INET, raw[4:8]), port


@implementer(IReadDescriptor)
class BatchUdpReader:
    """Answers cache hits straight from the receive buffers, without building an address
    tuple; misses go to ``core.handle`` with the (host, port) Twisted would have given."""

    def __init__(self, core: ServerCore, sock: socket.socket) -> None:
        if _LIBC is None:
            raise OSError(errno.ENOSYS, "recvmmsg/sendmmsg are not available")
        self.core = core
        self.sock = sock
        self._fd = sock.fileno()
        self._recvmmsg, self._sendmmsg = _LIBC
        self._rbuf = (ctypes.c_char * (BATCH * RECV_SLOT))()
        self._sbuf = (ctypes.c_char * (BATCH * SEND_SLOT))()
        self._names = (ctypes.c_char * (BATCH * NAME_SLOT))()
        self._riov = (_IoVec * BATCH)()
        self._siov = (_IoVec * BATCH)()
        self._rmsgs = (_MMsgHdr * BATCH)()
        self._smsgs = (_MMsgHdr * BATCH)()
        names = addressof(self._names)
        for i in range(BATCH):
            self._riov[i].iov_base = addressof(self._rbuf) + i * RECV_SLOT
            self._riov[i].iov_len = RECV_SLOT
            self._siov[i].iov_base = addressof(self._sbuf) + i * SEND_SLOT
            for msgs, iov in ((self._rmsgs, self._riov), (self._smsgs, self._siov)):
                h = msgs[i].msg_hdr
                h.msg_name = names + i * NAME_SLOT
                h.msg_namelen = NAME_SLOT
                h.msg_iov = ctypes.cast(addressof(iov) + i * _VSIZE, POINTER(_IoVec))
                h.msg_iovlen = 1
        # The kernel writes msg_namelen, msg_flags and msg_len back: restore them from this
        # copy after each batch so every call offers the full name buffer again.
        self._rpristine = bytes(memoryview(self._rmsgs).cast("B"))
        self._smv = memoryview(self._sbuf).cast("B")
        self._names_mv = memoryview(self._names).cast("B")
        self._rmsgs_mv = memoryview(self._rmsgs).cast("B")
        self._smsgs_mv = memoryview(self._smsgs).cast("B")
        self._siov_mv = memoryview(self._siov).cast("B")
        self._names_addr = names
        self._rptr = addressof(self._rmsgs)
        self._sptr = addressof(self._smsgs)

    # -- IReadDescriptor -------------------------------------------------------

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:  # noqa: N802 - Twisted's interface name
        return "BatchUdpReader"

    def connectionLost(self, reason: object) -> None:  # noqa: N802 - Twisted's interface name
        self._close()

    def doRead(self) -> None:  # noqa: N802 - Twisted's interface name
        for _ in range(BATCHES_PER_READ):
            if self._fd < 0:
                return
            n = self._recvmmsg(self._fd, self._rptr, BATCH, MSG_DONTWAIT, None)
            if n <= 0:
                return  # EAGAIN (drained), or an error the next readiness will show again
            try:
                self._answer_batch(n)
            finally:
                self._rmsgs_mv[: n * _MSIZE] = self._rpristine[: n * _MSIZE]
            if n < BATCH:
                return

    # -- the listening port ----------------------------------------------------

    def getHost(self) -> IPv4Address | IPv6Address:  # noqa: N802 - Twisted's port interface
        host, port = self.sock.getsockname()[:2]
        if self.sock.family == socket.AF_INET6:
            return IPv6Address("UDP", host, port)
        return IPv4Address("UDP", host, port)

    def stopListening(self) -> None:  # noqa: N802 - Twisted's port interface
        if self._fd >= 0:
            _reactor.removeReader(self)
        self._close()

    def _close(self) -> None:
        if self._fd >= 0:
            self._fd = -1
            self.sock.close()

    # -- the batch -------------------------------------------------------------

    def _answer_batch(self, n: int) -> None:
        core = self.core
        entries = core.cache.entries
        rbuf: Any = self._rbuf  # its slices are bytes, whatever the stubs say
        smv, rm = self._smv, self._rmsgs_mv
        recv_info, send_name, iov_len = (
            _RECV_INFO.unpack_from,
            _SEND_NAME.pack_into,
            _IOV_LEN.pack_into,
        )
        sm, siov, names = self._smsgs_mv, self._siov_mv, self._names_addr
        j = 0  # messages queued for sendmmsg; datagrams with no reply leave no gap
        for i in range(n):
            try:
                namelen, flags, ln = recv_info(rm, i * _MSIZE)
                if flags & MSG_TRUNC:
                    core.dispatcher.counters.malformed += 1  # larger than any query we accept
                    continue
                off = i * RECV_SLOT
                data = rbuf[off : off + ln]  # slicing a c_char array gives bytes
                k = cache_key(data)
                e = entries.get(k[0]) if k is not None else None
                if e is not None:
                    e[2] += 1
                    out = data[:2] + e[0] + data[12 : k[1]] + e[1]  # type: ignore[index]
                else:
                    wire = self._miss(data, k, i, namelen)
                    if wire is None:
                        continue
                    out = wire
                lo = len(out)
                if lo > SEND_SLOT:
                    self._send_to(out, self._peer(i, namelen))
                    continue
                so = j * SEND_SLOT
                smv[so : so + lo] = out
                iov_len(siov, j * _VSIZE + _IOV_LEN_AT, lo)
                send_name(sm, j * _MSIZE, names + i * NAME_SLOT, namelen)
                j += 1
            except Exception:  # noqa: BLE001 - as Twisted's own UDP port: log, keep reading
                _log.failure("answering a datagram")
        if j:
            self._flush(j)

    def _miss(self, data: bytes, k: tuple[bytes, int] | None, i: int, namelen: int) -> bytes | None:
        core = self.core
        peer = self._peer(i, namelen)
        addr = peer[:2]  # what Twisted hands a DatagramProtocol for IPv6 too
        try:
            reply = core.handle(data, addr, False, self._sender(peer))
        except Exception:  # noqa: BLE001 - a packet must never take the listener down
            core.dispatcher.counters.malformed += 1
            return None
        if reply.wire is None:
            return None  # no answer, or one that comes later through the send callback
        if k is not None and reply.result is not None:
            core.dispatcher.counters.cache_misses += 1
            core.cache.put(k[0], k[1], reply.wire, reply.result)
        return reply.wire

    def _peer(self, i: int, namelen: int) -> tuple[Any, ...]:
        at = i * NAME_SLOT
        return sockaddr_to_tuple(bytes(self._names_mv[at : at + namelen]))

    def _sender(self, peer: tuple[Any, ...]) -> Callable[[bytes], None]:
        return lambda wire: self._send_to(wire, peer)

    def _send_to(self, wire: bytes, peer: tuple[Any, ...]) -> None:
        if self._fd < 0:
            return
        try:
            self.sock.sendto(wire, peer)
        except OSError:
            pass  # full buffer or unreachable peer: UDP gives no promise, the client retries

    def _flush(self, count: int) -> None:
        """Send the queued replies; a failed message is skipped and the rest retried, and a
        full socket buffer drops what is left (the clients retry)."""
        start = 0
        if self._fd < 0:
            return  # stopped while answering
        for _ in range(count + 1):  # each pass sends or skips at least one, or gives up
            sent = self._sendmmsg(
                self._fd, self._sptr + start * _MSIZE, count - start, MSG_DONTWAIT
            )
            if sent < 0:
                err = ctypes.get_errno()
                if err in _WOULD_BLOCK:
                    return
                if err != errno.EINTR:
                    start += 1  # this destination refused (EPERM, ENETUNREACH, ...)
            else:
                start += sent
            if start >= count:
                return


def listen_udp(core: ServerCore, host: str, port: int) -> BatchUdpReader:
    """Bind ``host:port`` like ``reactor.listenUDP`` would, answered by a ``BatchUdpReader``."""
    family = socket.AF_INET6 if isIPv6Address(host) else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise CannotListenError(host, port, e) from e
    sock.setblocking(False)
    reader = BatchUdpReader(core, sock)
    _reactor.addReader(reader)
    return reader
