"""Observables: normalisation, kind detection and extraction from free text (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls

from accord.sharing import observables
from accord.sharing.observables import (
    MAX_VALUE_LENGTH,
    Extracted,
    InvalidObservable,
    ObservableKind,
    detect_kind,
    extract,
    normalise,
    parse,
    refang,
)

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"

ADVISORY = f"""\
NCSC-XX advisory 2024-017: active exploitation of CVE-2024-3400 (TLP:CLEAR)

Since 12 April our partners in the energy sector have seen exploitation attempts
against internet-facing gateways. The attackers connect from 203.0.113.45 and
198.51.100[.]7, and from the IPv6 range 2001:DB8:0:0:1::/80. A first-stage loader is
fetched from hxxps://update-check[.]example[.]com/gw/loader.sh and a second stage from
hXXp://198.51.100.7:8080/s.bin. Phishing mails came from it-support[at]contoso-mail(.)example
and led victims to https://Login.Contoso-Mail.example:443/%7esso/?next=%2fportal#top.

Files dropped:
  - loader.sh  SHA-256 {SHA256}
  - svc.dll    MD5 {MD5.upper()}
  - {SHA1}.tmp

The C2 infrastructure is hosted in AS64511 and ASN 64512 (see also CVE‑2023‑4966).
Block 203.0.113.0/24 at the edge. Indicators repeat: 203.0.113.45, update-check.example.com.
"""


# --- Normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("ipv4", " 192.0.2.1 ", "192.0.2.1"),
        ("ipv4", "192[.]0[.]2[.]1", "192.0.2.1"),
        ("ipv6", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("ipv6", "[2001:db8::1]", "2001:db8::1"),
        ("ipv6", "fe80::1%eth0", "fe80::1"),
        ("ipv6", "2001[:]db8[:][:]1", "2001:db8::1"),
        ("cidr", "10.1.2.3/8", "10.0.0.0/8"),
        ("cidr", "192.0.2.7/32", "192.0.2.7/32"),
        ("cidr", "2001:DB8::1/32", "2001:db8::/32"),
        ("cidr", "::1/128", "::1/128"),
        ("domain", "Example.ORG.", "example.org"),
        ("domain", "bücher.example", "xn--bcher-kva.example"),
        ("domain", "evil[.]example(.)com", "evil.example.com"),
        ("domain", "_dmarc.example.org", "_dmarc.example.org"),
        ("url", "HTTP://Example.COM:80", "http://example.com/"),
        ("url", "https://example.com:8443/a/./b/../c?q=1#frag", "https://example.com:8443/a/c?q=1"),
        ("url", "hxxps[://]evil[.]example/x", "https://evil.example/x"),
        ("url", "http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
        (
            "url",
            "ftp://user:Secret@FTP.example.org:21/pub",
            "ftp://user:Secret@ftp.example.org/pub",
        ),
        ("url", "https://bücher.example/ü?x=%2f%41", "https://xn--bcher-kva.example/%C3%BC?x=%2FA"),
        ("url", "ssh://git@example.org:22/repo", "ssh://git@example.org:22/repo"),
        ("url", "http://Ex%61mple.com/x[%2E]y", "http://example.com/x.y"),
        ("url", "http://%31%39%32.0.2.1/", "http://192.0.2.1/"),
        ("email", "John.Doe@Example.ORG", "john.doe@example.org"),
        ("email", "info[at]bücher[dot]example", "info@xn--bcher-kva.example"),
        ("email", "alerts (at) example (dot) org", "alerts@example.org"),
        ("md5", MD5.upper(), MD5),
        ("sha1", f" {SHA1} ", SHA1),
        ("sha256", SHA256.upper(), SHA256),
        ("cve", "cve-2021-44228", "CVE-2021-44228"),
        ("cve", "CVE\u20112014\u20110160", "CVE-2014-0160"),
        ("cve", "CVE-2024-123456", "CVE-2024-123456"),
        ("asn", "as64500", "AS64500"),
        ("asn", "ASN 64500", "AS64500"),
        ("asn", "64500", "AS64500"),
        ("asn", "AS1.10", "AS65546"),
        ("asn", "AS4294967295", "AS4294967295"),
    ],
)
def test_every_kind_normalises(kind: str, value: str, expected: str) -> None:
    assert normalise(kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "forms"),
    [
        (
            "domain",
            ["bücher.example", "BÜCHER.example.", "xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE"],
        ),
        ("ipv6", ["2001:db8::1", "2001:DB8:0:0:0:0:0:1", "2001:0db8::0001", "[2001:db8::1]"]),
        ("cidr", ["192.0.2.0/24", "192.0.2.99/24", "192.0.2.0/255.255.255.0"]),
        (
            "url",
            [
                "http://example.com/~user/",
                "HTTP://EXAMPLE.com:80/%7Euser/",
                "http://example.com/%7euser/#section",
                "hxxp://example[.]com/~user/",
                "http://example.com./a/../~user/",
            ],
        ),
        ("url", ["https://example.com", "https://example.com:443/", "https://Example.com/"]),
        ("email", ["Alice@Example.org", "alice@example.org", "alice[@]example[.]org"]),
        ("asn", ["AS64500", "as64500", "ASN 64500", "asn:64500", "AS0.64500"]),
    ],
)
def test_equal_things_match(kind: str, forms: list[str]) -> None:
    assert len({normalise(kind, form) for form in forms}) == 1


def test_different_things_stay_different() -> None:
    assert normalise("url", "http://example.com/A") != normalise("url", "http://example.com/a")
    assert normalise("url", "http://example.com/a%2Fb") != normalise(
        "url", "http://example.com/a/b"
    )
    assert normalise("url", "http://example.com:8080/") != normalise("url", "http://example.com/")
    assert normalise("url", "https://example.com/?b=2&a=1") == "https://example.com/?b=2&a=1"


def test_domain_fallback_without_the_idna_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Installations without the idna package use the standard library's IDNA codec.
    monkeypatch.setattr(observables, "_idna", None)
    assert normalise("domain", "Bücher.example") == "xn--bcher-kva.example"
    assert normalise("email", "a@bücher.example") == "a@xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("ipv4", "999.1.1.1", "'999.1.1.1' is not a valid IPv4 address."),
        ("ipv4", "010.1.1.1", "'010.1.1.1' is ambiguous: an octet has a leading zero"),
        ("ipv4", "1.2.3", "'1.2.3' is not a valid IPv4 address."),
        ("ipv6", "2001:db8::1::2", "'2001:db8::1::2' is not a valid IPv6 address."),
        ("ipv6", "192.0.2.1", "is not a valid IPv6 address."),
        ("cidr", "192.0.2.0", "write it as address/prefix, e.g. 192.0.2.0/24"),
        ("cidr", "192.0.2.0/33", "'192.0.2.0/33' is not a valid IP network"),
        ("cidr", "010.0.0.0/8", "leading zero"),
        ("domain", "localhost", "'localhost' is not a valid domain name."),
        ("domain", "example.123", "is not a valid domain name."),
        ("domain", "-bad-.example", "is not a valid domain name."),
        ("domain", "a..example", "is not a valid domain name."),
        ("domain", "x" * 64 + ".example", "is not a valid domain name."),
        ("domain", "xn--zz.example", "is not a valid domain name."),
        ("url", "example.com/login", "write it as scheme://host/path"),
        ("url", "http://exa mple.com/", "is not a valid URL"),
        ("url", "http://example.com:99999/", "is not a valid URL"),
        ("url", "http:///path", "is not a valid URL"),
        ("url", "http://999.1.1.1/", "is not a valid URL"),
        ("email", "not-an-address", "is not a valid e-mail address."),
        ("email", "a@localhost", "is not a valid e-mail address."),
        ("email", ".a@example.org", "is not a valid e-mail address."),
        ("md5", MD5[:-1], "is not a valid MD5 hash (32 hexadecimal characters)."),
        ("sha1", SHA256, "is not a valid SHA-1 hash (40 hexadecimal characters)."),
        ("sha256", "z" * 64, "is not a valid SHA-256 hash (64 hexadecimal characters)."),
        ("cve", "CVE-1998-0001", "write it as CVE-YYYY-NNNN"),
        ("cve", "CVE-2021-123", "is not a valid CVE id"),
        ("asn", "AS0", "is not a valid AS number"),
        ("asn", "AS4294967296", "(1 to 4294967295)"),
        ("asn", "AS70000.1", "is not a valid AS number"),
        ("ipv4", "   ", "Enter a value."),
        ("colour", "red", "'colour' is not a known kind of observable."),
    ],
)
def test_invalid_values_are_refused_with_a_clear_message(
    kind: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidObservable) as info:
        normalise(kind, value)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_overlong_values_are_refused_and_shortened_in_the_message() -> None:
    value = "https://example.com/" + "a" * MAX_VALUE_LENGTH
    with pytest.raises(InvalidObservable) as info:
        normalise("url", value)
    assert str(info.value) == f"The value is too long (at most {MAX_VALUE_LENGTH} characters)."
    with pytest.raises(InvalidObservable) as info:
        normalise("domain", "x" * 300)
    assert len(str(info.value)) < 150  # the value is cut short, not echoed whole
    # percent-encoding may make a URL longer than it was typed: still refused
    with pytest.raises(InvalidObservable):
        normalise("url", "https://example.com/" + "ü" * 1000)


def test_messages_without_placeholders_are_shown_as_given() -> None:
    assert str(InvalidObservable("Only 100% valid values.", "x")) == "Only 100% valid values."


def test_kinds_are_text_choices() -> None:
    assert ObservableKind.SHA256 == "sha256"
    assert str(ObservableKind.CIDR.label) == "IP network (CIDR)"
    assert set(ObservableKind.values) == set(observables._NORMALISERS)
    assert normalise(ObservableKind.IPV4, "192.0.2.1") == "192.0.2.1"


# --- Detecting the kind of one typed value --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("192.0.2.1", "ipv4"),
        ("999.1.1.1", "ipv4"),
        ("192[.]0[.]2[.]1", "ipv4"),
        ("2001:db8::1", "ipv6"),
        ("[::1]", "ipv6"),
        ("192.0.2.0/24", "cidr"),
        ("2001:db8::/32", "cidr"),
        ("example.org", "domain"),
        ("bücher.example", "domain"),
        ("evil[.]example", "domain"),
        ("https://example.org/x", "url"),
        ("hxxp://evil[.]example", "url"),
        ("evil.example/login.php", "url"),
        ("alice@example.org", "email"),
        ("alice[at]example[dot]org", "email"),
        (MD5, "md5"),
        (SHA1.upper(), "sha1"),
        (SHA256, "sha256"),
        ("CVE-2021-44228", "cve"),
        ("AS64500", "asn"),
        ("ASN 64500", "asn"),
        ("hello world", None),
        ("", None),
        ("just-a-word", None),
        ("Our SOC saw 192.0.2.1 yesterday", None),
    ],
)
def test_detect_kind(value: str, kind: str | None) -> None:
    assert detect_kind(value) == kind


def test_parse() -> None:
    assert parse("  HXXPS://Evil[.]Example:443 ") == ("url", "https://evil.example/")
    assert parse("64500", "asn") == ("asn", "AS64500")
    assert parse("Bücher.example") == ("domain", "xn--bcher-kva.example")
    with pytest.raises(InvalidObservable, match="'999.1.1.1' is not a valid IPv4 address."):
        parse("999.1.1.1")
    with pytest.raises(InvalidObservable, match="is not an IP address or network, domain, URL"):
        parse("hello world")
    with pytest.raises(InvalidObservable, match="too long"):
        parse("a" * (MAX_VALUE_LENGTH + 1))


def test_refang() -> None:
    assert refang("hxxps[://]evil[.]example(.)com{.}au/a[/]b") == "https://evil.example.com.au/a/b"
    assert refang("hXXp://a[dot]b fxp://c[.]d h**ps://e\\.f") == "http://a.b ftp://c.d https://e.f"
    assert refang("x [at] y (dot) z, u[@]v, 1[:]2") == "x@y.z, u@v, 1:2"
    assert (
        refang("plain text (with brackets) [and more]") == "plain text (with brackets) [and more]"
    )


# --- Extraction -----------------------------------------------------------------------------


def _pairs(items: list[Extracted]) -> list[tuple[str, str]]:
    return [(item.kind, item.value) for item in items]


def test_extracts_an_advisory() -> None:
    found = _pairs(extract(ADVISORY))
    assert found == [
        ("cve", "CVE-2024-3400"),
        ("ipv4", "203.0.113.45"),
        ("ipv4", "198.51.100.7"),
        ("cidr", "2001:db8:0:0:1::/80"),
        ("url", "https://update-check.example.com/gw/loader.sh"),
        ("domain", "update-check.example.com"),
        ("url", "http://198.51.100.7:8080/s.bin"),
        ("email", "it-support@contoso-mail.example"),
        ("url", "https://login.contoso-mail.example/~sso/?next=%2Fportal"),
        ("domain", "login.contoso-mail.example"),
        ("sha256", SHA256),
        ("md5", MD5),
        ("sha1", SHA1),
        ("asn", "AS64511"),
        ("asn", "AS64512"),
        ("cve", "CVE-2023-4966"),
        ("cidr", "203.0.113.0/24"),
    ]


def test_raw_is_the_text_as_written() -> None:
    raw = {(item.kind, item.value): item.raw for item in extract(ADVISORY)}
    assert raw[("ipv4", "198.51.100.7")] == "198.51.100[.]7"
    assert raw[("url", "https://update-check.example.com/gw/loader.sh")] == (
        "hxxps://update-check[.]example[.]com/gw/loader.sh"
    )
    assert raw[("domain", "update-check.example.com")] == "update-check[.]example[.]com"
    assert (
        raw[("email", "it-support@contoso-mail.example")] == "it-support[at]contoso-mail(.)example"
    )
    assert raw[("md5", MD5)] == MD5.upper()
    assert raw[("cve", "CVE-2023-4966")] == "CVE\u20112023\u20114966"
    assert raw[("asn", "AS64512")] == "ASN 64512"
    for item in extract(ADVISORY):
        assert item.raw in ADVISORY


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("seen from 192[.]0[.]2[.]1 today", "ipv4", "192.0.2.1"),
        ("seen from 192(.)0(.)2(.)1 today", "ipv4", "192.0.2.1"),
        ("v6 peer 2001[:]db8[:][:]7 today", "ipv6", "2001:db8::7"),
        ("block 192.0.2[.]0/24 now", "cidr", "192.0.2.0/24"),
        ("resolves evil{.}example[dot]net daily", "domain", "evil.example.net"),
        ("resolves evil [.] example [.] net daily", "domain", "evil.example.net"),
        ("fetches hxxp://evil[.]example/a.ps1 first", "url", "http://evil.example/a.ps1"),
        ("fetches hXXps[://]evil[.]example/ first", "url", "https://evil.example/"),
        ("fetches https[:]//evil[.]example/x first", "url", "https://evil.example/x"),
        ("fetches fxp://files[.]example/p first", "url", "ftp://files.example/p"),
        ("mail bob[@]evil[.]example now", "email", "bob@evil.example"),
        ("mail bob[at]evil[dot]example now", "email", "bob@evil.example"),
        ("mail bob (at) evil (dot) example now", "email", "bob@evil.example"),
        ("mail bob@evil\\.example now", "email", "bob@evil.example"),
        (f"hash {MD5} here", "md5", MD5),
        (f"hash {SHA1}, here", "sha1", SHA1),
        (f"hash: {SHA256}.", "sha256", SHA256),
        ("bug cve-2022-22965 again", "cve", "CVE-2022-22965"),
        ("origin AS13335, again", "asn", "AS13335"),
        ("origin ASN: 13335 again", "asn", "AS13335"),
        ("origin as13335 again", "asn", "AS13335"),
    ],
)
def test_each_kind_extracts_fanged_or_defanged(text: str, kind: str, value: str) -> None:
    assert (kind, value) in _pairs(extract(text))


def test_unique_in_order_of_first_appearance() -> None:
    text = "b.example then 192.0.2.1, then B.EXAMPLE. again, 192[.]0[.]2[.]1 and a.example"
    found = extract(text)
    assert _pairs(found) == [
        ("domain", "b.example"),
        ("ipv4", "192.0.2.1"),
        ("domain", "a.example"),
    ]
    assert found[0].raw == "b.example"  # the first appearance wins
    assert _pairs(extract(text, limit=2)) == _pairs(found)[:2]
    assert extract(text, limit=0) == []


def test_hashes_are_not_double_reported() -> None:
    found = _pairs(extract(f"sha256 {SHA256} sha1 {SHA1}"))
    assert found == [("sha256", SHA256), ("sha1", SHA1)]
    # hex runs of other lengths, or glued to other word characters, are not hashes
    assert extract(f"{SHA256}ab {MD5}0 x{MD5} {'a' * 50} {MD5}_x") == []


def test_url_reports_its_host_and_email_does_not() -> None:
    found = _pairs(
        extract("see https://cdn.example.net/x and http://192.0.2.9/ or ops@mail.example")
    )
    assert found == [
        ("url", "https://cdn.example.net/x"),
        ("domain", "cdn.example.net"),
        ("url", "http://192.0.2.9/"),
        ("ipv4", "192.0.2.9"),
        ("email", "ops@mail.example"),
    ]
    found = _pairs(extract("at http://[2001:db8::5]:8080/p today"))
    assert found == [("url", "http://[2001:db8::5]:8080/p"), ("ipv6", "2001:db8::5")]
    assert [item.raw for item in extract("at http://[2001:db8::5]:8080/p")][1] == "2001:db8::5"


def test_trailing_punctuation_is_not_part_of_a_url() -> None:
    text = (
        "(see https://a.example/x), 'https://b.example/y', <https://c.example/z>; "
        '"https://d.example/q?a=1". [https://e.example/w] https://en.example/wiki/A_(b)!'
    )
    urls_found = [item.value for item in extract(text) if item.kind == "url"]
    assert urls_found == [
        "https://a.example/x",
        "https://b.example/y",
        "https://c.example/z",
        "https://d.example/q?a=1",
        "https://e.example/w",
        "https://en.example/wiki/A_(b)",
    ]


def test_extraction_prefers_precision() -> None:
    text = (
        "Version 1.2.3.4.5 of the agent, octal-looking 010.1.1.1, files setup.exe, report.pdf, "
        "invoice.docx and main.py; e.g. and i.e. are fine; meeting at 12:30:45; "
        "such as 12 people; mailto without dot a@localhost; ssh://host.example/ is not http; "
        "ASN alone; MAC 00:1a:2b:3c:4d:5e."
    )
    assert _pairs(extract(text)) == [("domain", "host.example")]


def test_a_hash_named_file_still_gives_its_hash() -> None:
    assert _pairs(extract(f"dropped {MD5}.exe and {SHA1}.dll")) == [("md5", MD5), ("sha1", SHA1)]


def test_ipv4_ranges_and_ports() -> None:
    found = _pairs(extract("range 192.0.2.1-192.0.2.9, listener 192.0.2.20:4444, net 10.9.8.7/99"))
    assert found == [
        ("ipv4", "192.0.2.1"),
        ("ipv4", "192.0.2.9"),
        ("ipv4", "192.0.2.20"),
        ("ipv4", "10.9.8.7"),
    ]


def test_international_names_extract() -> None:
    found = _pairs(extract("phish at bücher.example and https://bücher.example/ü"))
    assert found == [
        ("domain", "xn--bcher-kva.example"),
        ("url", "https://xn--bcher-kva.example/%C3%BC"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "." * 100_000,
        "a." * 200_000,
        "1." * 200_000,
        ":" * 200_000,
        "-" * 200_000,
        "a-" * 100_000,
        "CVE-2021-" * 20_000,
        "[.]" * 50_000,
        " [" * 100_000,
        "a@" * 100_000,
        "1.2.3.4/" * 20_000,
        "http://" + "a" * 200_000,
        "http://x.example/" + ")" * 200_000,
        ("abcd:" * 8 + " ") * 10_000,
        "0" * 200_000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_pathological_input_returns(text: str) -> None:
    found = extract(text)
    assert isinstance(found, list)
    assert len(found) <= 1


# --- Properties ------------------------------------------------------------------------------

_VALUES = st.one_of(
    st.ip_addresses(v=4).map(lambda ip: ("ipv4", str(ip))),
    st.ip_addresses(v=6).map(lambda ip: ("ipv6", ip.exploded.upper())),
    st.tuples(st.ip_addresses(v=4), st.integers(0, 32)).map(lambda t: ("cidr", f"{t[0]}/{t[1]}")),
    st.tuples(st.ip_addresses(v=6), st.integers(0, 128)).map(lambda t: ("cidr", f"{t[0]}/{t[1]}")),
    domains().map(lambda name: ("domain", name.upper())),
    st.binary(min_size=16, max_size=16).map(lambda b: ("md5", b.hex().upper())),
    st.binary(min_size=20, max_size=20).map(lambda b: ("sha1", b.hex())),
    st.binary(min_size=32, max_size=32).map(lambda b: ("sha256", b.hex().upper())),
    urls().map(lambda url: ("url", url)),
    st.integers(1, 4294967295).map(lambda n: ("asn", f"as{n}")),
)


@given(_VALUES)
def test_normalise_is_idempotent(pair: tuple[str, str]) -> None:
    kind, value = pair
    once = normalise(kind, value)
    assert normalise(kind, once) == once
    assert parse(once) == (kind, once)  # a normalised value is recognised for what it is


@given(st.text(max_size=300))
def test_extract_never_fails_and_values_are_normalised(text: str) -> None:
    for item in extract(text):
        assert normalise(item.kind, item.value) == item.value
        assert item.raw in text
