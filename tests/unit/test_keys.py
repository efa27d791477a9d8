"""TSIG key forms: CLI specs, BIND key files, YAML dicts, keygen and the keyring."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest

from leasedns.keys import (
    ALGORITHMS,
    Keyring,
    KeySpecError,
    Role,
    TsigKey,
    canonical_algorithm,
    format_bind_key,
    format_cli_spec,
    key_from_yaml,
    keygen,
    parse_bind_keyfile,
    parse_key_spec,
)

SECRET = "AN/sECypkN3t+3IUL5k0VRvG6RphfJlJy18vebyA1Zs="

# Printed by `tsig-keygen` (BIND 9.18.49, Debian 12).
TSIG_KEYGEN_OUTPUT = """\
key "tsig-key" {
	algorithm hmac-sha256;
	secret "AN/sECypkN3t+3IUL5k0VRvG6RphfJlJy18vebyA1Zs=";
};
"""

# Printed by `ddns-confgen -z lab.example` (BIND 9.18.49, Debian 12).
DDNS_CONFGEN_OUTPUT = """\
# To activate this key, place the following in named.conf, and
# in a separate keyfile on the system or systems from which nsupdate
# will be run:
key "ddns-key.lab.example" {
	algorithm hmac-sha256;
	secret "rVsGFFBrfi02MwT4dfVEQyC7fFk7cXwqO4De/GWSFSc=";
};

# Then, in the "zone" definition statement for "lab.example",
# place an "update-policy" statement like this one, adjusted as\x20
# needed for your preferred permissions:
update-policy {
\t  grant ddns-key.lab.example zonesub ANY;
};

# After the keyfile has been placed, the following command will
# execute nsupdate using this key:
nsupdate -k <keyfile>

"""


def fixed_rng(n: int) -> bytes:
    return bytes(range(n))


# --- CLI specs ------------------------------------------------------------------


def test_leasedns_cli_form() -> None:
    k = parse_key_spec(f"dhcp-key.lab:hmac-sha256:{SECRET}:dhcp")
    assert k == TsigKey((b"dhcp-key", b"lab"), "hmac-sha256", base64.b64decode(SECRET), Role.DHCP)


def test_cli_form_role_defaults_to_admin() -> None:
    assert parse_key_spec(f"k:hmac-sha512:{SECRET}").role is Role.ADMIN


def test_nsupdate_order_is_recognised_by_the_algorithm_first() -> None:
    k = parse_key_spec(f"hmac-sha1:Upd.Key.:{SECRET}")
    assert k.name == (b"upd", b"key")
    assert k.algorithm == "hmac-sha1"
    assert parse_key_spec(f"HMAC-SHA384:k:{SECRET}:transfer").role is Role.TRANSFER


def test_nsupdate_without_algorithm_means_hmac_md5() -> None:
    assert parse_key_spec(f"k:{SECRET}").algorithm == "hmac-md5"


def test_hmac_md5_long_name_is_accepted() -> None:
    k = parse_key_spec(f"hmac-md5.sig-alg.reg.int.:k:{SECRET}")
    assert k.algorithm == "hmac-md5"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f"k:hmac-sha999:{SECRET}", "no known algorithm"),
        (f"k:hmac-sha256:{SECRET}:root", "unknown role"),
        ("k:hmac-sha256:not*base64", "not valid base64"),
        ("k:hmac-sha256:", "empty"),
        ("k", "1 ':'-separated fields"),
        (f"a:b:hmac-sha256:{SECRET}:admin", "5 ':'-separated fields"),
        (f"bad..name:hmac-sha256:{SECRET}", "bad key name"),
        (f".:hmac-sha256:{SECRET}", "root"),
    ],
)
def test_bad_cli_specs(spec: str, message: str) -> None:
    with pytest.raises(KeySpecError, match=message) as info:
        parse_key_spec(spec)
    assert SECRET not in str(info.value)


# --- BIND key files ----------------------------------------------------------------


def test_real_tsig_keygen_output() -> None:
    [k] = parse_bind_keyfile(TSIG_KEYGEN_OUTPUT)
    assert k.name == (b"tsig-key",)
    assert k.algorithm == "hmac-sha256"
    assert k.secret == base64.b64decode(SECRET)
    assert k.role is Role.ADMIN


def test_real_ddns_confgen_output_skips_update_policy() -> None:
    [k] = parse_bind_keyfile(DDNS_CONFGEN_OUTPUT, "ddns.key", role=Role.DHCP)
    assert k.name == (b"ddns-key", b"lab", b"example")
    assert k.role is Role.DHCP
    assert len(k.secret) == 32


def test_format_bind_key_is_byte_identical_to_tsig_keygen() -> None:
    k = TsigKey((b"tsig-key",), "hmac-sha256", base64.b64decode(SECRET), Role.ADMIN)
    assert format_bind_key(k) == TSIG_KEYGEN_OUTPUT


def test_several_keys_comments_and_unquoted_names() -> None:
    text = """
    /* keys for the lab
       zone */
    key dhcp-key {           // unquoted name
        algorithm HMAC-MD5.SIG-ALG.REG.INT;
        secret "c2VjcmV0
                MTIz";       # base64 may be split
    };
    key "xfr.lab." { secret "eGZy"; algorithm hmac-sha512; };
    options { directory "/var/cache/bind"; };
    """
    a, b = parse_bind_keyfile(text)
    assert (a.name, a.algorithm, a.secret) == ((b"dhcp-key",), "hmac-md5", b"secret123")
    assert (b.name, b.algorithm, b.secret) == ((b"xfr", b"lab"), "hmac-sha512", b"xfr")


def test_unterminated_statement_between_keys_does_not_swallow_a_key() -> None:
    text = 'nsupdate -k <keyfile>\nkey "a" { algorithm hmac-sha1; secret "eA=="; };\nrndc reload'
    [k] = parse_bind_keyfile(text)
    assert k.name == (b"a",)


def test_empty_file_has_no_keys() -> None:
    assert parse_bind_keyfile("# nothing\n// here\n") == []


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ('key "k" {\n algorithm hmac-sha256;\n secret "eA=="\n};\n', "f.key:4", "expected ';'"),
        ('key "k" {\n algorithm hmac-sha257;\n secret "eA==";\n};\n', "f.key:2", "unsupported"),
        ('key "k" {\n algorithm hmac-sha256;\n};\n', "f.key:1", "no secret"),
        ('\n\nkey "k" {\n secret "eA==";\n};\n', "f.key:3", "no algorithm"),
        ('key "k" {\n algorithm hmac-sha256;\n secret "!!";\n};\n', "f.key:3", "base64"),
        ('key "k" {\n algorithm hmac-sha256;\n owner x;\n};\n', "f.key:3", "unknown key clause"),
        ('key "k" {\n secret "eA==;\n};\n', "f.key:2", "unterminated string"),
        ("/* open\n\n", "f.key:1", "unterminated /\\* comment"),
        ('key "k" {\n algorithm hmac-sha256;\n', "f.key:2", "unexpected end of file"),
        ("zone x {\n", "f.key:1", "unexpected end of file"),
        ('key "k" { algorithm hmac-sha256; algorithm hmac-md5; };', "f.key:1", "twice"),
        ('key "a..b" { };', "f.key:1", "bad key name"),
        ("};", "f.key:1", "expected a statement"),
    ],
)
def test_keyfile_errors_have_file_and_line(text: str, where: str, reason: str) -> None:
    with pytest.raises(KeySpecError, match=f"^{where}: .*{reason}"):
        parse_bind_keyfile(text, "f.key")


def test_duplicate_key_in_file() -> None:
    text = TSIG_KEYGEN_OUTPUT + "\n" + TSIG_KEYGEN_OUTPUT.replace("tsig-key", "TSIG-KEY.")
    with pytest.raises(KeySpecError, match=r"^f:6: key 'tsig-key' already defined at line 1"):
        parse_bind_keyfile(text, "f")


@pytest.mark.skipif(shutil.which("tsig-keygen") is None, reason="bind9 tools not installed")
@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_live_tsig_keygen_for_every_algorithm(algorithm: str) -> None:
    out = subprocess.run(
        ["tsig-keygen", "-a", algorithm, "live.example"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    [k] = parse_bind_keyfile(out, "tsig-keygen")
    assert k.name == (b"live", b"example")
    assert k.algorithm == algorithm
    assert len(k.secret) == ALGORITHMS[algorithm]
    assert format_bind_key(k) == out


@pytest.mark.skipif(shutil.which("ddns-confgen") is None, reason="bind9 tools not installed")
def test_live_ddns_confgen() -> None:
    out = subprocess.run(
        ["ddns-confgen", "-z", "lab.example"], check=True, capture_output=True, text=True
    ).stdout
    [k] = parse_bind_keyfile(out, "ddns-confgen")
    assert k.name == (b"ddns-key", b"lab", b"example")


# --- YAML dicts ------------------------------------------------------------------


def test_yaml_key_full() -> None:
    k = key_from_yaml(
        {"name": "kea.lab.", "algorithm": "hmac-sha224", "secret": SECRET, "role": "dhcp"}
    )
    assert (k.name, k.algorithm, k.role) == ((b"kea", b"lab"), "hmac-sha224", Role.DHCP)


def test_yaml_key_defaults() -> None:
    k = key_from_yaml({"name": "k", "secret": SECRET})
    assert (k.algorithm, k.role) == ("hmac-sha256", Role.ADMIN)


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ({"name": "k"}, "needs a 'secret'"),
        ({"secret": SECRET}, "needs a 'name'"),
        ({"name": "k", "secret": SECRET, "policy": "x"}, "unknown key field"),
        ({"name": "k", "secret": 5}, "must be a string"),
        ({"name": "k", "secret": SECRET, "role": "owner"}, "unknown role"),
        ({"name": "k", "secret": SECRET, "algorithm": "hmac-sha256-128"}, "unsupported"),
        (["k", SECRET], "must be a mapping"),
    ],
)
def test_yaml_key_errors(d: object, message: str) -> None:
    with pytest.raises(KeySpecError, match=message):
        key_from_yaml(d)  # type: ignore[arg-type]


# --- keygen and printing -------------------------------------------------------------


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_keygen_secret_is_digest_sized_and_round_trips(algorithm: str) -> None:
    k = keygen("new.lab.example", algorithm, Role.CLIENT, rng=fixed_rng)
    assert k.secret == bytes(range(ALGORITHMS[algorithm]))
    assert parse_bind_keyfile(format_bind_key(k), role=Role.CLIENT) == [k]
    assert parse_key_spec(format_cli_spec(k)) == k


def test_cli_spec_is_nsupdate_y_form_for_admin_keys() -> None:
    k = keygen("upd", rng=fixed_rng)
    assert format_cli_spec(k) == "hmac-sha256:upd:" + base64.b64encode(bytes(range(32))).decode()
    assert format_cli_spec(keygen("d", role="dhcp", rng=fixed_rng)).endswith(":dhcp")


def test_keygen_uses_os_random_by_default() -> None:
    assert keygen("a").secret != keygen("a").secret


def test_keygen_rejects_unknown_algorithm() -> None:
    with pytest.raises(KeySpecError, match="unsupported algorithm"):
        keygen("k", "hmac-sha3")


def test_repr_hides_the_secret() -> None:
    k = parse_key_spec(f"k:hmac-sha256:{SECRET}")
    assert SECRET not in repr(k)
    assert repr(k.secret) not in repr(k)


def test_tsigkey_rejects_non_canonical_values() -> None:
    with pytest.raises(KeySpecError):
        TsigKey((b"k",), "HMAC-SHA256", b"x", Role.ADMIN)
    with pytest.raises(KeySpecError):
        TsigKey((), "hmac-sha256", b"x", Role.ADMIN)
    with pytest.raises(KeySpecError):
        TsigKey((b"k",), "hmac-sha256", b"", Role.ADMIN)


def test_canonical_algorithm_spellings() -> None:
    assert canonical_algorithm("HMAC-SHA256.") == "hmac-sha256"
    assert canonical_algorithm("hmac-md5.sig-alg.reg.int") == "hmac-md5"


# --- keyring --------------------------------------------------------------------------


def test_keyring_lookup_is_case_insensitive() -> None:
    a = keygen("Upd.Lab", rng=fixed_rng)
    b = keygen("xfr", role=Role.TRANSFER, rng=fixed_rng)
    ring = Keyring([a, b])
    assert len(ring) == 2
    assert set(ring) == {(b"upd", b"lab"), (b"xfr",)}
    assert ring[(b"UPD", b"lab")] is a
    assert (b"XFR",) in ring
    assert ring.get((b"nope",)) is None
    assert "xfr" not in ring


def test_keyring_refuses_duplicate_names() -> None:
    with pytest.raises(KeySpecError, match="defined twice"):
        Keyring([keygen("a", rng=fixed_rng), keygen("A.", "hmac-sha1", rng=fixed_rng)])
