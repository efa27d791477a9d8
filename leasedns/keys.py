"""TSIG keys: roles, the keyring, and the CLI, BIND key-file and YAML forms of a key.

Every form defaults the role to ``admin`` when none is given, because a key
pasted from ``tsig-keygen`` or ``nsupdate -y`` is what an administrator uses;
give ``dhcp``, ``client`` or ``transfer`` explicitly for narrower keys.
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from leasedns.wire import names
from leasedns.wire.names import Name

# Canonical algorithm name -> HMAC output length in octets (RFC 8945 §6).
ALGORITHMS: dict[str, int] = {
    "hmac-md5": 16,
    "hmac-sha1": 20,
    "hmac-sha224": 28,
    "hmac-sha256": 32,
    "hmac-sha384": 48,
    "hmac-sha512": 64,
}

# Other spellings accepted on input; hmac-md5's registered name is the long one.
ALGORITHM_ALIASES: dict[str, str] = {"hmac-md5.sig-alg.reg.int": "hmac-md5"}

# What ``nsupdate -y name:secret`` assumes when the algorithm is left out.
NSUPDATE_DEFAULT_ALGORITHM = "hmac-md5"


class Role(enum.StrEnum):
    ADMIN = "admin"
    DHCP = "dhcp"
    CLIENT = "client"
    TRANSFER = "transfer"


class KeySpecError(ValueError):
    """A key definition that cannot be used."""


@dataclass(frozen=True)
class TsigKey:
    name: Name
    algorithm: str
    secret: bytes = field(repr=False)
    role: Role = Role.ADMIN

    def __post_init__(self) -> None:
        if not self.name:
            raise KeySpecError("a key name must not be the root")
        if self.algorithm not in ALGORITHMS:
            raise KeySpecError(f"algorithm {self.algorithm!r} is not canonical")
        if not self.secret:
            raise KeySpecError("the secret is empty")
        if not isinstance(self.role, Role):
            raise KeySpecError(f"role {self.role!r} is not a Role")

    @property
    def name_text(self) -> str:
        """The key name without the trailing dot, as BIND and nsupdate print it."""
        return names.to_text(self.name)[:-1]

    @property
    def secret_base64(self) -> str:
        return base64.b64encode(self.secret).decode("ascii")


def canonical_algorithm(text: str) -> str:
    """Map an algorithm spelling (any case, optional trailing dot) to its canonical name."""
    low = text.strip().lower().rstrip(".")
    low = ALGORITHM_ALIASES.get(low, low)
    if low not in ALGORITHMS:
        raise KeySpecError(f"unsupported algorithm {text!r} (use one of {', '.join(ALGORITHMS)})")
    return low


def is_algorithm(text: str) -> bool:
    try:
        canonical_algorithm(text)
    except KeySpecError:
        return False
    return True


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise KeySpecError(
            f"unknown role {text!r} (use one of {', '.join(r.value for r in Role)})"
        ) from None


def parse_key_name(text: str) -> Name:
    """A key name is always absolute: ``ddns-key.lab`` means ``ddns-key.lab.``."""
    try:
        name = names.from_text(text.strip(), origin=names.ROOT)
    except names.NameError_ as e:
        raise KeySpecError(f"bad key name {text!r}: {e}") from None
    if not name:
        raise KeySpecError("a key name must not be the root")
    return name


def decode_secret(text: str) -> bytes:
    """Base64 secret; whitespace inside is allowed as in BIND key files."""
    compact = "".join(text.split())
    try:
        secret = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise KeySpecError("the secret is not valid base64") from None
    if not secret:
        raise KeySpecError("the secret is empty")
    return secret


def parse_key_spec(spec: str) -> TsigKey:
    """Parse a command-line key.

    Accepted forms (the role defaults to ``admin``):

    - ``NAME:ALG:SECRET[:ROLE]``, the leasedns form;
    - ``ALG:NAME:SECRET[:ROLE]``, i.e. ``nsupdate -y`` order, recognised because the
      first field is an algorithm name;
    - ``NAME:SECRET``, as ``nsupdate -y`` takes it, which means hmac-md5 there and here.

    Error messages never repeat the spec, since it holds the secret.
    """
    fields = spec.split(":")
    role = Role.ADMIN
    if len(fields) == 2:
        name_text, secret_text = fields
        alg_text = NSUPDATE_DEFAULT_ALGORITHM
    elif len(fields) in (3, 4):
        if is_algorithm(fields[0]):
            alg_text, name_text, secret_text = fields[:3]
        elif is_algorithm(fields[1]):
            name_text, alg_text, secret_text = fields[:3]
        else:
            raise KeySpecError(
                "key spec has no known algorithm in its first or second field "
                "(expected NAME:ALG:SECRET[:ROLE] or ALG:NAME:SECRET[:ROLE])"
            )
        if len(fields) == 4:
            role = parse_role(fields[3])
    else:
        raise KeySpecError(
            f"key spec has {len(fields)} ':'-separated fields "
            "(expected NAME:ALG:SECRET[:ROLE], ALG:NAME:SECRET[:ROLE] or NAME:SECRET)"
        )
    return TsigKey(
        name=parse_key_name(name_text),
        algorithm=canonical_algorithm(alg_text),
        secret=decode_secret(secret_text),
        role=role,
    )


def key_from_yaml(d: Mapping[str, Any]) -> TsigKey:
    """A key from the config file: ``{name, secret, algorithm?, role?}``.

    ``algorithm`` defaults to hmac-sha256 and ``role`` to admin.
    """
    if not isinstance(d, Mapping):
        raise KeySpecError(f"a key must be a mapping, not {type(d).__name__}")
    unknown = sorted(set(d) - {"name", "algorithm", "secret", "role"})
    if unknown:
        raise KeySpecError(f"unknown key field(s): {', '.join(map(str, unknown))}")
    for required in ("name", "secret"):
        if required not in d:
            raise KeySpecError(f"a key needs a {required!r} field")
    values = {k: d[k] for k in ("name", "algorithm", "secret", "role") if k in d}
    for k, v in values.items():
        if not isinstance(v, str):
            raise KeySpecError(f"key field {k!r} must be a string")
    return TsigKey(
        name=parse_key_name(values["name"]),
        algorithm=canonical_algorithm(values.get("algorithm", "hmac-sha256")),
        secret=decode_secret(values["secret"]),
        role=parse_role(values.get("role", Role.ADMIN.value)),
    )


def keys_of_entry(entry: Mapping[str, Any]) -> list[TsigKey]:
    """The keys one configured entry names: ``{spec: "ALG:NAME:SECRET[:ROLE]"}``, ``{file:
    PATH, role?}`` (a BIND key file, every key in it with that role) or a YAML key.
    KeySpecError and OSError go to the caller."""
    if "spec" in entry:
        return [parse_key_spec(str(entry["spec"]))]
    if "file" in entry:
        role = parse_role(str(entry.get("role", Role.ADMIN.value)))
        return read_bind_keyfile(str(entry["file"]), role)
    return [key_from_yaml({a: b for a, b in entry.items() if a != "__line__"})]


def keygen(
    name: str,
    algorithm: str = "hmac-sha256",
    role: Role | str = Role.ADMIN,
    rng: Callable[[int], bytes] = os.urandom,
) -> TsigKey:
    """A new key whose secret is as long as the HMAC output, as ``tsig-keygen`` makes it."""
    alg = canonical_algorithm(algorithm)
    return TsigKey(
        name=parse_key_name(name),
        algorithm=alg,
        secret=rng(ALGORITHMS[alg]),
        role=role if isinstance(role, Role) else parse_role(role),
    )


def format_bind_key(k: TsigKey) -> str:
    """The ``key`` statement exactly as ``tsig-keygen`` prints it (the role is not part of it)."""
    lines = [
        f'key "{k.name_text}" {{',
        f"\talgorithm {k.algorithm};",
        f'\tsecret "{k.secret_base64}";',
        "};",
    ]
    return "\n".join(lines) + "\n"


def format_cli_spec(k: TsigKey) -> str:
    """``ALG:NAME:SECRET``, usable as ``nsupdate -y``; ``:ROLE`` is added unless it is admin."""
    spec = f"{k.algorithm}:{k.name_text}:{k.secret_base64}"
    if k.role is not Role.ADMIN:
        spec += f":{k.role.value}"
    return spec


class Keyring(Mapping[Name, TsigKey]):
    """Keys by name; lookups ignore the case of the name's labels."""

    def __init__(self, keys: Iterable[TsigKey] = ()) -> None:
        self._keys: dict[Name, TsigKey] = {}
        for k in keys:
            if k.name in self._keys:
                raise KeySpecError(f"key {k.name_text!r} is defined twice")
            self._keys[k.name] = k

    def __getitem__(self, name: Name) -> TsigKey:
        return self._keys[tuple(label.lower() for label in name)]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, tuple):
            return False
        return tuple(label.lower() for label in name) in self._keys

    def __iter__(self) -> Iterator[Name]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Keyring({', '.join(k.name_text for k in self._keys.values())})"


# --- BIND key files -------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string" or one of "{", "}", ";"
    text: str
    line: int


def _tokenize(text: str, filename: str) -> list[_Token]:
    """named.conf tokens; comments are ``#``, ``//`` and ``/* */``."""
    tokens: list[_Token] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise KeySpecError(f"{filename}:{line}: unterminated /* comment")
            line += text.count("\n", i, end)
            i = end + 2
        elif c in "{};":
            tokens.append(_Token(c, c, line))
            i += 1
        elif c == '"':
            start_line = line
            out: list[str] = []
            i += 1
            while True:
                if i >= n:
                    raise KeySpecError(f"{filename}:{start_line}: unterminated string")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n:
                    i += 1
                    c = text[i]
                if c == "\n":
                    line += 1
                out.append(c)
                i += 1
            tokens.append(_Token("string", "".join(out), start_line))
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '{};"#':
                if text.startswith("//", i) or text.startswith("/*", i):
                    break
                i += 1
            tokens.append(_Token("word", text[start:i], line))
    return tokens


class _KeyFileParser:
    def __init__(self, tokens: list[_Token], filename: str, role: Role) -> None:
        self.tokens = tokens
        self.pos = 0
        self.filename = filename
        self.role = role

    def error(self, line: int, reason: str) -> KeySpecError:
        return KeySpecError(f"{self.filename}:{line}: {reason}")

    def last_line(self) -> int:
        return self.tokens[-1].line if self.tokens else 1

    def next(self, what: str) -> _Token:
        if self.pos >= len(self.tokens):
            raise self.error(self.last_line(), f"unexpected end of file, expected {what}")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, kind: str) -> _Token:
        tok = self.next(repr(kind))
        if tok.kind != kind:
            raise self.error(tok.line, f"expected {kind!r}, found {tok.text!r}")
        return tok

    def parse(self) -> list[TsigKey]:
        keys: list[TsigKey] = []
        seen: dict[Name, int] = {}
        while self.pos < len(self.tokens):
            tok = self.next("a statement")
            if tok.kind == "word" and tok.text.lower() == "key":
                k = self.key_statement(tok)
                if k.name in seen:
                    raise self.error(
                        tok.line,
                        f"key {k.name_text!r} already defined at line {seen[k.name]}",
                    )
                seen[k.name] = tok.line
                keys.append(k)
            elif tok.kind == "word":
                self.skip_statement(tok)
            else:
                raise self.error(tok.line, f"expected a statement, found {tok.text!r}")
        return keys

    def skip_statement(self, first: _Token) -> None:
        """Skip a non-key statement (``update-policy``, ``zone``, ...) up to its ``;``.

        ddns-confgen ends its output with an unterminated ``nsupdate -k <keyfile>``
        line, so a skipped statement may run to the end of the file, or up to a
        ``key`` that starts a later line outside any braces.
        """
        depth = 0
        prev = first
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            if (
                depth == 0
                and tok.kind == "word"
                and tok.text.lower() == "key"
                and tok.line > prev.line
            ):
                return
            self.pos += 1
            prev = tok
            if tok.kind == "{":
                depth += 1
            elif tok.kind == "}":
                depth -= 1
                if depth < 0:
                    raise self.error(tok.line, "unbalanced '}'")
            elif tok.kind == ";" and depth == 0:
                return
        if depth > 0:
            raise self.error(
                self.last_line(),
                f"unexpected end of file inside the {first.text!r} statement from line {first.line}",
            )

    def key_statement(self, start: _Token) -> TsigKey:
        name_tok = self.next("a key name")
        if name_tok.kind not in ("word", "string"):
            raise self.error(name_tok.line, f"expected a key name, found {name_tok.text!r}")
        try:
            name = parse_key_name(name_tok.text)
        except KeySpecError as e:
            raise self.error(name_tok.line, str(e)) from None
        self.expect("{")
        algorithm: str | None = None
        secret: bytes | None = None
        while True:
            tok = self.next("'}' to close the key")
            if tok.kind == "}":
                break
            if tok.kind != "word":
                raise self.error(tok.line, f"expected 'algorithm' or 'secret', found {tok.text!r}")
            clause = tok.text.lower()
            value = self.next(f"a value for {clause!r}")
            if value.kind not in ("word", "string"):
                raise self.error(value.line, f"expected a value for {clause!r}")
            try:
                if clause == "algorithm":
                    if algorithm is not None:
                        raise KeySpecError("'algorithm' given twice")
                    algorithm = canonical_algorithm(value.text)
                elif clause == "secret":
                    if secret is not None:
                        raise KeySpecError("'secret' given twice")
                    secret = decode_secret(value.text)
                else:
                    raise KeySpecError(f"unknown key clause {tok.text!r}")
            except KeySpecError as e:
                raise self.error(value.line, str(e)) from None
            self.expect(";")
        self.expect(";")
        if algorithm is None:
            raise self.error(start.line, f"key {name_tok.text!r} has no algorithm")
        if secret is None:
            raise self.error(start.line, f"key {name_tok.text!r} has no secret")
        return TsigKey(name=name, algorithm=algorithm, secret=secret, role=self.role)


def read_bind_keyfile(path: str, role: Role = Role.ADMIN) -> list[TsigKey]:
    """The keys of a BIND key file on disk; OSError and KeySpecError go to the caller."""
    with open(path, encoding="utf-8") as f:
        return parse_bind_keyfile(f.read(), path, role)


def parse_bind_keyfile(
    text: str, filename: str = "<keyfile>", role: Role = Role.ADMIN
) -> list[TsigKey]:
    """Keys from BIND ``key "name" { algorithm ...; secret "..."; };`` statements.

    Reads what ``tsig-keygen`` and ``ddns-confgen`` print; other top-level statements
    (``update-policy``, ``zone``, ...) are skipped so a named.conf fragment can be read.
    Every key gets ``role``. Errors are ``file:line: reason``.
    """
    return _KeyFileParser(_tokenize(text, filename), filename, role).parse()
