"""Domain names as tuples of lower-cased labels, and their wire and key forms.

A ``Name`` is ``tuple[bytes, ...]`` of labels left to right without the root
label: ``www.lab.example.`` is ``(b"www", b"lab", b"example")`` and the root is
``()``.  Labels are lower-cased ASCII (DNS compares names case-insensitively,
RFC 4343), so names can be dict keys and compared with ``==`` directly.
"""

from __future__ import annotations

import functools

Name = tuple[bytes, ...]

ROOT: Name = ()


class NameError_(ValueError):
    """A name that is not a valid domain name."""


def from_text(text: str, origin: Name | None = None) -> Name:
    """Parse presentation format (``\\.`` and ``\\DDD`` escapes), relative to ``origin``."""
    if text == "@":
        if origin is None:
            raise NameError_("'@' without an origin")
        return origin
    labels: list[bytes] = []
    cur = bytearray()
    i = 0
    raw = text.encode("utf-8")
    absolute = False
    while i < len(raw):
        c = raw[i]
        if c == 0x5C:  # backslash
            if i + 1 < len(raw) and raw[i + 1 : i + 2].isdigit():
                digits = raw[i + 1 : i + 4]
                if len(digits) != 3 or not digits.isdigit() or int(digits) > 255:
                    raise NameError_(f"bad \\DDD escape in {text!r} (RFC 1035 §5.1)")
                cur.append(int(digits))
                i += 4
                continue
            if i + 1 >= len(raw):
                raise NameError_(f"trailing backslash in {text!r}")
            cur.append(raw[i + 1])
            i += 2
            continue
        if c == 0x2E:  # dot
            if not cur:
                if i == len(raw) - 1 and not labels:
                    absolute = True  # "." alone is the root
                    i += 1
                    continue
                raise NameError_(f"empty label in {text!r}")
            labels.append(bytes(cur))
            cur = bytearray()
            if i == len(raw) - 1:
                absolute = True
            i += 1
            continue
        cur.append(c)
        i += 1
    if cur:
        labels.append(bytes(cur))
    name = tuple(label.lower() for label in labels)
    if not absolute:
        if origin is None:
            raise NameError_(f"relative name {text!r} without an origin")
        name = name + origin
    check(name)
    return name


def check(name: Name, allow_nul: bool = False) -> None:
    """RFC 1035 §2.3.4 limits.  NUL bytes are refused in names we store (store keys use NUL
    as separator); a question may hold them (``allow_nul``): such a name exists nowhere."""
    total = 1
    for label in name:
        if not label or len(label) > 63:
            raise NameError_("label length must be 1..63")
        if not allow_nul and b"\x00" in label:
            raise NameError_("NUL byte in a label is not supported")
        total += len(label) + 1
    if total > 255:
        raise NameError_("name longer than 255 octets")


# Bytes printed as they are: letters, digits and the punctuation RFC 1035 §5.1 does not
# make special ("." "\\" '"' "(" ")" ";" "@" "$" need escapes).  NUL never occurs in a label.
_PLAIN = bytes(b for b in range(0x21, 0x7F) if b not in b'.\\"();@$') + b"\x00"


@functools.lru_cache(maxsize=1 << 16)
def to_text(name: Name) -> str:
    """Presentation form with a trailing dot; unusual bytes escaped as ``\\DDD``."""
    if not name:
        return "."
    joined = b"\x00".join(name)
    if not joined.translate(None, _PLAIN):  # nothing to escape: the usual case, all in C
        return joined.replace(b"\x00", b".").decode("ascii") + "."
    out = []
    for label in name:
        parts = []
        for b in label:
            if b in (0x2E, 0x5C, 0x22, 0x28, 0x29, 0x3B, 0x40, 0x24):
                parts.append("\\" + chr(b))
            elif 0x21 <= b <= 0x7E:
                parts.append(chr(b))
            else:
                parts.append(f"\\{b:03d}")
        out.append("".join(parts))
    return ".".join(out) + "."


@functools.lru_cache(maxsize=1 << 12)
def to_wire(name: Name) -> bytes:
    """Uncompressed wire form (cached: zone, key and algorithm names recur in every message)."""
    return b"".join(bytes((len(label),)) + label for label in name) + b"\x00"


def from_wire(data: bytes, offset: int = 0, keep_case: bool = False) -> tuple[Name, int]:
    """Read an uncompressed name at ``offset``; return it and the offset after it.
    ``keep_case`` leaves the labels as written (a name inside stored RDATA, re-rendered)."""
    labels = []
    while True:
        if offset >= len(data):
            raise NameError_("name runs past the end of the data")
        n = data[offset]
        offset += 1
        if n == 0:
            break
        if n > 63:
            raise NameError_("compressed or extended label in uncompressed data")
        label = data[offset : offset + n]
        labels.append(label if keep_case else label.lower())
        offset += n
        if offset > len(data):
            raise NameError_("label runs past the end of the data")
    name = tuple(labels)
    check(name)
    return name, offset


def read_compressed(wire: bytes, offset: int, in_rdata: bool = False) -> tuple[Name, int]:
    """RFC 1035 §4.1.4: a name in a message, pointers followed; they must point backwards
    (no loops).  Returns the name and the offset after it in the message.  Owner names are
    lower-cased and may not hold NUL (store keys use it); a name ``in_rdata`` is kept as
    sent, any octet allowed (DNS preserves case, RFC 2181 §11 allows any octet)."""
    labels: list[bytes] = []
    end = -1
    jumps = 0
    pos = offset
    size = len(wire)
    total = 1
    while True:
        if pos >= size:
            raise NameError_("name runs past the end")
        n = wire[pos]
        if n >= 0xC0:
            if pos + 1 >= size:
                raise NameError_("truncated compression pointer")
            ptr = ((n & 0x3F) << 8) | wire[pos + 1]
            if end < 0:
                end = pos + 2
            if ptr >= pos or jumps > 64:
                raise NameError_("bad compression pointer")
            jumps += 1
            pos = ptr
            continue
        if n > 63:
            raise NameError_("unknown label type")
        pos += 1
        if n == 0:
            break
        if pos + n > size:
            raise NameError_("label runs past the end")
        label = wire[pos : pos + n]
        if not in_rdata:
            if b"\x00" in label:
                raise NameError_("NUL byte in a label is not supported")
            label = label.lower()
        total += n + 1
        labels.append(label)
        pos += n
    if total > 255:
        raise NameError_("name longer than 255 octets")
    return tuple(labels), (end if end >= 0 else pos)


def read_message_name(wire: bytes, offset: int) -> tuple[Name, int]:
    """``read_compressed`` for owner names, with uncompressed names (zone, key and algorithm
    names recur in every update) looked up by their bytes first."""
    end = skip_compressed(wire, offset)
    try:
        return _plain_name(wire[offset:end]), end
    except NameError_:
        return read_compressed(wire, offset)  # compressed, or bad (it says why)


@functools.lru_cache(maxsize=1 << 12)
def _plain_name(raw: bytes) -> Name:
    name, end = from_wire(raw)
    if end != len(raw):
        raise NameError_("data after the name")
    return name


def skip_compressed(wire: bytes, offset: int) -> int:
    """The offset after the name at ``offset``, without reading it (a pointer ends a name)."""
    pos = offset
    size = len(wire)
    while True:
        if pos >= size:
            raise NameError_("name runs past the end")
        n = wire[pos]
        if n == 0:
            return pos + 1
        if n >= 0xC0:
            if pos + 2 > size:
                raise NameError_("truncated compression pointer")
            return pos + 2
        if n > 63:
            raise NameError_("unknown label type")
        pos += n + 1


def question_end(wire: bytes) -> int | None:
    """End of a message's one question (or UPDATE zone) entry when it can be read: QDCOUNT
    1, a name with no pointer (nothing precedes it to point at) and TYPE and CLASS inside
    the message.  For error replies to messages that fail later on, which echo it."""
    if len(wire) < 17 or wire[4:6] != b"\x00\x01":
        return None
    try:
        end = skip_compressed(wire, 12)
    except NameError_:
        return None
    if wire[end - 1] != 0 or end - 12 > 255 or end + 4 > len(wire):
        return None
    return end + 4


def is_subdomain(name: Name, origin: Name) -> bool:
    """True when ``name`` is ``origin`` or below it."""
    n = len(origin)
    return n == 0 or (len(name) >= n and name[len(name) - n :] == origin)


def relative_to(name: Name, origin: Name) -> Name:
    return name[: len(name) - len(origin)]


@functools.lru_cache(maxsize=1 << 16)
def key(name: Name) -> bytes:
    """Reversed-label store key: each label followed by NUL, root first.

    ``www.lab.example.`` -> ``b"example\\0lab\\0www\\0"``.  A name's subtree is then
    every key starting with its key, and byte order is canonical DNS order
    (RFC 4034 §6.1) because a shorter label's NUL sorts before any byte.
    """
    return b"".join(label + b"\x00" for label in reversed(name))


def from_key(k: bytes) -> Name:
    if not k:
        return ()
    parts = k.split(b"\x00")
    return tuple(reversed(parts[:-1]))
