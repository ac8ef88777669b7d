"""Observables: typed, normalised and extracted from free text.

Members share IP addresses and networks, domain names, URLs, e-mail addresses,
file hashes, CVE ids and AS numbers. Each value is kept in one canonical form,
so that equal things match wherever they were written:

- Defanged input is accepted everywhere (``hxxp``, ``[.]``, ``(dot)``, ``[@]``,
  ``(at)``, ``[:]``, ``[://]`` …); :func:`refang` undoes it.
- IPv4: a dotted quad. An octet with a leading zero (``010.1.1.1``, octal to
  some parsers) is refused. IPv6: the lower-case compressed form that
  :mod:`ipaddress` prints (IPv4-mapped included); brackets and zone id dropped.
- CIDR: ``address/prefix`` with the host bits cleared (``10.1.2.3/8`` →
  ``10.0.0.0/8``); a /32 or /128 stays a network.
- Domain: lower case, one trailing dot dropped, IDNA A-labels
  (``bücher.example`` → ``xn--bcher-kva.example``); at least two labels of
  1–63 characters, 253 in all, the last alphabetic or ``xn--``.
- URL: ``scheme://`` required; scheme and host lower case (the host as a
  domain or IP, IPv6 in brackets), default port dropped, empty path → ``/``,
  dot segments resolved, percent escapes in upper case with unreserved
  characters decoded and non-ASCII encoded, fragment dropped; user info and
  the query (its parameter order) kept.
- E-mail: the whole address in lower case (mailboxes that differ only by case
  are too rare to be worth a missed match), the domain as above.
- Hashes: lower-case hex of exactly 32 (MD5), 40 (SHA-1) or 64 (SHA-256).
- CVE: ``CVE-YYYY-NNNN…`` in upper case, year 1999–2100, four digits or more.
- ASN: ``AS64500``, from ``as64500``, ``ASN 64500``, ``64500`` or asdot ``AS0.64500``.

Extraction from text (:func:`extract`) prefers precision: it knows only http,
https and ftp URLs and ``AS``/``ASN``-prefixed AS numbers, skips IPv4
addresses with leading zeros and "domains" ending in a common file extension
(``setup.exe``, ``invoice.pdf``). A URL is reported together with its host
(domain or IP), because correlating by host is useful; an e-mail address is
reported alone, not its domain. A hash must stand alone, so a SHA-256 is never
also an MD5 or SHA-1.
"""

from __future__ import annotations

import bisect
import contextlib
import ipaddress
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from encodings import idna as _stdlib_idna
from urllib.parse import unquote

from django.db import models
from django.utils.translation import gettext_lazy as _

try:  # IDNA 2008 with the UTS 46 mapping, as browsers use; the standard library knows IDNA 2003
    import idna as _idna
except ImportError:  # pragma: no cover - depends on the environment
    _idna = None

MAX_VALUE_LENGTH = 2048


class ObservableKind(models.TextChoices):
    IPV4 = "ipv4", _("IPv4 address")
    IPV6 = "ipv6", _("IPv6 address")
    CIDR = "cidr", _("IP network (CIDR)")
    DOMAIN = "domain", _("Domain name")
    URL = "url", _("URL")
    EMAIL = "email", _("E-mail address")
    MD5 = "md5", _("MD5 hash")
    SHA1 = "sha1", _("SHA-1 hash")
    SHA256 = "sha256", _("SHA-256 hash")
    CVE = "cve", _("CVE id")
    ASN = "asn", _("Autonomous system number")


class InvalidObservable(ValueError):
    """A value that is not a valid observable; ``str(exc)`` tells a person why.

    The message is only formatted (and translated) when it is shown, so that
    extraction, which refuses many candidates, stays cheap.
    """

    def __init__(self, message: str, value: str = "", **params: object) -> None:
        super().__init__(message, value)
        self.message = message
        self.value = value
        self.params = params

    def __str__(self) -> str:
        text = str(self.message)
        if "%(" not in text:  # a plain message, perhaps with a literal "%"
            return text
        return text % {"value": _shown(self.value), **self.params}


_INVALID = {
    "ipv4": _("'%(value)s' is not a valid IPv4 address."),
    "ipv6": _("'%(value)s' is not a valid IPv6 address."),
    "cidr": _(
        "'%(value)s' is not a valid IP network; write it as address/prefix, e.g. 192.0.2.0/24."
    ),
    "domain": _("'%(value)s' is not a valid domain name."),
    "url": _(
        "'%(value)s' is not a valid URL; write it as scheme://host/path, e.g. https://example.org/."
    ),
    "email": _("'%(value)s' is not a valid e-mail address."),
    "md5": _("'%(value)s' is not a valid MD5 hash (32 hexadecimal characters)."),
    "sha1": _("'%(value)s' is not a valid SHA-1 hash (40 hexadecimal characters)."),
    "sha256": _("'%(value)s' is not a valid SHA-256 hash (64 hexadecimal characters)."),
    "cve": _("'%(value)s' is not a valid CVE id; write it as CVE-YYYY-NNNN, e.g. CVE-2021-44228."),
    "asn": _("'%(value)s' is not a valid AS number; write it as AS64500 (1 to 4294967295)."),
}
_LEADING_ZERO = _("'%(value)s' is ambiguous: an octet has a leading zero (octal to some programs).")
_TOO_LONG = _("The value is too long (at most %(max)s characters).")
_EMPTY = _("Enter a value.")
_UNKNOWN_KIND = _("'%(value)s' is not a known kind of observable.")
_UNRECOGNISED = _(
    "'%(value)s' is not an IP address or network, domain, URL, e-mail address, "
    "MD5/SHA-1/SHA-256 hash, CVE id or AS number."
)


def _shown(value: str) -> str:
    if len(value) > 80:
        value = value[:77] + "…"
    return "".join(ch if ch.isprintable() else " " for ch in value)


def _invalid(kind: str, value: str) -> InvalidObservable:
    return InvalidObservable(_INVALID[kind], value)


# --- Refanging -----------------------------------------------------------------------------

# A defanged scheme keeps its length (hxxp → http, fxp → ftp), so it is fixed in place by a
# pass of its own, run only when the text holds one. The bracketed forms change the length.
_DEFANGED_SCHEME = re.compile(r"\b(?:h[x*]{2}p(s?)|fxp)(?=[\[(]?:)", re.IGNORECASE)
_SCHEME_HINTS = ("xxp", "**p", "x*p", "*xp", "fxp")

# Every branch starts with a plain character, so the regex engine can skip ahead to the next
# bracket, space or backslash instead of trying each position.
_INNER_DOT_AT = r"[ ]?(?:\.|[dD][oO][tT]|@|[aA][tT])[ ]?[\])}][ ]?"  # [.] (dot) [ @ ] (at)
_INNER = rf"(?:{_INNER_DOT_AT}|(?::|://|:/|//|/)[\])}}])"  # … or [:] [://] (/)
_DEFANG = re.compile(
    rf"\[{_INNER}|\({_INNER}|\{{{_INNER}| [\[({{]{_INNER_DOT_AT}|\\\."  # … or example\.org
)


def _fang_scheme(m: re.Match[str]) -> str:
    return "ftp" if m[0][0] in "fF" else "http" + m[1].lower()


def _fang(m: re.Match[str]) -> str:
    inner = m[0].strip(" []{}()\\").lower()
    if inner in (".", "dot"):
        return "."
    if inner in ("@", "at"):
        return "@"
    return inner  # ":", "://", "/" …


def _fang_schemes(text: str) -> str:
    lowered = text.lower()
    if any(hint in lowered for hint in _SCHEME_HINTS):
        return _DEFANGED_SCHEME.sub(_fang_scheme, text)
    return text


def refang(text: str) -> str:
    """Undo the usual defanging: ``hxxps://evil[.]example/`` → ``https://evil.example/``."""
    return _DEFANG.sub(_fang, _fang_schemes(text))


def _refang_mapped(text: str) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Refang, keeping (new start, new end, old start, old end) of each replacement."""
    spans: list[tuple[int, int, int, int]] = []
    shift = 0

    def replace(m: re.Match[str]) -> str:
        nonlocal shift
        new = _fang(m)
        start = m.start() + shift
        spans.append((start, start + len(new), m.start(), m.end()))
        shift += len(new) - (m.end() - m.start())
        return new

    return _DEFANG.sub(replace, _fang_schemes(text)), spans


class _PositionMap:
    """Maps positions in refanged text back to the text as written."""

    def __init__(self, spans: list[tuple[int, int, int, int]]) -> None:
        self.spans = spans
        self.new_ends = [span[1] for span in spans]

    def old(self, pos: int, *, end: bool) -> int:
        i = bisect.bisect_right(self.new_ends, pos)
        if i < len(self.spans) and self.spans[i][0] < pos:  # inside replacement i
            return self.spans[i][3] if end else self.spans[i][2]
        if i == 0:
            return pos
        _ns, new_end, _os, old_end = self.spans[i - 1]
        return pos - new_end + old_end


# --- Normalisation, one function per kind ---------------------------------------------------

_IPV4_SHAPE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}\Z")
_DIGITS_AND_DOTS = re.compile(r"[0-9.]+\Z")


def _ipv4(value: str) -> str:
    if not _IPV4_SHAPE.match(value):
        raise _invalid("ipv4", value)
    octets = value.split(".")
    if any(len(o) > 1 and o[0] == "0" for o in octets):
        raise InvalidObservable(_LEADING_ZERO, value)
    if any(int(o) > 255 for o in octets):
        raise _invalid("ipv4", value)
    return value


def _ipv6(value: str) -> str:
    text = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    text = text.partition("%")[0]  # a zone id only means something on one machine
    if ":" not in text or not re.fullmatch(r"[0-9A-Fa-f:.]+", text):
        raise _invalid("ipv6", value)
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        raise _invalid("ipv6", value) from None


def _cidr(value: str) -> str:
    address, slash, prefix = value.partition("/")
    if not slash or not address or not re.fullmatch(r"[0-9]{1,3}|[0-9.]{7,15}", prefix):
        raise _invalid("cidr", value)
    if "." in address and ":" not in address:
        _ipv4(address)  # refuses leading zeros with its own message
    try:
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    except ValueError:
        raise _invalid("cidr", value) from None


_ASCII_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_TLD = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})\Z")
_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the full stops IDNA treats as dots


def _label_to_ascii(label: str) -> str:
    if _idna is not None:
        try:
            return _idna.alabel(label).decode("ascii")
        except _idna.IDNAError:
            pass  # IDNA 2003 still allows names (emoji …) that exist in the wild
    return _stdlib_idna.ToASCII(label).decode("ascii")


def _names_to_ascii(name: str) -> str:
    if _idna is not None:
        with contextlib.suppress(_idna.IDNAError):  # then each label is tried on its own
            name = _idna.uts46_remap(name, std3_rules=False, transitional=False)
    return ".".join(
        label if label.isascii() else _label_to_ascii(label) for label in _DOTS.split(name)
    )


def _valid_alabel(label: str) -> bool:
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return bool(decoded) and not decoded.isascii()


def _hostname(value: str, *, strict: bool = True) -> str:
    """A domain name; ``strict=False`` (URL hosts) also allows one label and any last label."""
    name = value[:-1] if value.endswith(".") else value
    if not name.isascii():
        try:
            name = _names_to_ascii(name)
        except UnicodeError:
            raise _invalid("domain", value) from None
    name = name.lower()
    labels = name.split(".")
    if len(name) > 253 or (strict and len(labels) < 2):
        raise _invalid("domain", value)
    for label in labels:
        if not _ASCII_LABEL.match(label) or (label.startswith("xn--") and not _valid_alabel(label)):
            raise _invalid("domain", value)
    if strict and not _TLD.match(labels[-1]):
        raise _invalid("domain", value)
    return name


def _domain(value: str) -> str:
    return _hostname(value)


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(\?[^#]*)?(?:#.*)?\Z", re.S)
_URL_REFUSED = re.compile(r"[\s\x00-\x1f\x7f]")
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_NEEDS_ESCAPE = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%\[\]]")


@dataclass(frozen=True)
class _Url:
    value: str
    host_kind: str | None  # what the host is on its own, or None (no host, or "localhost")
    host: str
    host_start: int  # where the host was in the URL as given
    host_end: int


def _pct_case(m: re.Match[str]) -> str:
    char = chr(int(m[1], 16))
    return char if char in _UNRESERVED else "%" + m[1].upper()


def _pct_escape(m: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in m[0].encode("utf-8"))


def _percent(text: str) -> str:
    if "%" in text:
        text = _PCT.sub(_pct_case, text)
    return _NEEDS_ESCAPE.sub(_pct_escape, text)


def _remove_dot_segments(path: str) -> str:
    if "/." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        if segment in (".", ".."):
            if segment == ".." and len(out) > 1:
                out.pop()
            if i == last:
                out.append("")  # "/a/.." is the directory "/"
            continue
        out.append(segment)
    return "/".join(out)


def _parse_url(value: str) -> _Url:
    m = _URL.match(value)
    if not m or _URL_REFUSED.search(value):
        raise _invalid("url", value)
    scheme = m[1].lower()
    userinfo, at, hostport = m[2].rpartition("@")
    host_start = m.start(2) + len(userinfo) + len(at)
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise _invalid("url", value)
        host_raw, rest = hostport[: end + 1], hostport[end + 1 :]
    else:
        host_raw, colon, port = hostport.partition(":")
        rest = colon + port
    port = rest[1:]
    if (rest and not rest.startswith(":")) or not re.fullmatch(r"[0-9]{0,5}", port):
        raise _invalid("url", value)
    if port:
        port = str(int(port))
        if int(port) > 65535:
            raise _invalid("url", value)
        if _DEFAULT_PORTS.get(scheme) == port:
            port = ""
    try:
        if not host_raw:
            if scheme != "file":
                raise _invalid("url", value)
            host_kind, host, shown = None, "", ""
        elif host_raw.startswith("["):
            host = _ipv6(host_raw)
            host_kind, shown = "ipv6", f"[{host}]"
        elif _DIGITS_AND_DOTS.match(name := unquote(host_raw, errors="strict")):
            host_kind, host = "ipv4", _ipv4(name)
            shown = host
        else:
            host = shown = _hostname(name, strict=False)
            host_kind = "domain" if "." in host and _TLD.match(host.rpartition(".")[2]) else None
    except ValueError:  # InvalidObservable, or a host that is not UTF-8 once unquoted
        raise _invalid("url", value) from None
    path = _remove_dot_segments(_percent(m[3])) or "/"
    query = _percent(m[4]) if m[4] is not None else ""
    url = f"{scheme}://{userinfo}{at}{shown}{':' + port if port else ''}{path}{query}"
    if len(url) > MAX_VALUE_LENGTH:
        raise InvalidObservable(_TOO_LONG, value, max=MAX_VALUE_LENGTH)
    if host_raw.startswith("["):  # the address without its brackets
        return _Url(url, host_kind, host, host_start + 1, host_start + len(host_raw) - 1)
    return _Url(url, host_kind, host, host_start, host_start + len(host_raw))


def _url(value: str) -> str:
    return _parse_url(value).value


_LOCAL_PART = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*\Z")


def _email(value: str) -> str:
    local, at, domain = value.lower().rpartition("@")
    if not at or len(local) > 64 or not _LOCAL_PART.match(local):
        raise _invalid("email", value)
    try:
        return f"{local}@{_hostname(domain)}"
    except InvalidObservable:
        raise _invalid("email", value) from None


def _hash(kind: str, length: int) -> Callable[[str], str]:
    pattern = re.compile(rf"[0-9a-f]{{{length}}}\Z")

    def normalise_hash(value: str) -> str:
        lowered = value.lower()
        if not pattern.match(lowered):
            raise _invalid(kind, value)
        return lowered

    return normalise_hash


_DASH = "-\u2010-\u2015\u2212"  # pages often turn the hyphen into a typographic dash
_CVE = re.compile(rf"CVE[{_DASH}]([0-9]{{4}})[{_DASH}]([0-9]{{4,19}})\Z", re.IGNORECASE)


def _cve(value: str) -> str:
    m = _CVE.match(value)
    if not m or not 1999 <= int(m[1]) <= 2100:
        raise _invalid("cve", value)
    return f"CVE-{m[1]}-{m[2]}"


_ASN = re.compile(r"(?:ASN?)?[ \t]*:?[ \t]*([0-9]{1,10})(?:\.([0-9]{1,5}))?\Z", re.IGNORECASE)


def _asn(value: str) -> str:
    m = _ASN.match(value)
    if not m:
        raise _invalid("asn", value)
    number = int(m[1])
    if m[2] is not None:  # asdot notation (RFC 5396): high.low
        if number > 65535 or int(m[2]) > 65535:
            raise _invalid("asn", value)
        number = number * 65536 + int(m[2])
    if not 0 < number <= 4294967295:
        raise _invalid("asn", value)
    return f"AS{number}"


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "cidr": _cidr,
    "domain": _domain,
    "url": _url,
    "email": _email,
    "md5": _hash("md5", 32),
    "sha1": _hash("sha1", 40),
    "sha256": _hash("sha256", 64),
    "cve": _cve,
    "asn": _asn,
}


def _settled(kind: str, result: str) -> str:
    """Normalising can leave text that reads as defanged again (a URL's "[%2E]" decodes to
    "[.]"): go round until nothing changes, so that normalise(normalise(x)) == normalise(x)."""
    for _round in range(8):
        again = refang(result)
        if again == result:
            return result
        result = _NORMALISERS[kind](again)
    raise _invalid(kind, result)


def normalise(kind: str, value: str) -> str:
    """The canonical form of ``value`` as an observable of ``kind``; defanged input is fine."""
    normaliser = _NORMALISERS.get(str(kind))
    if normaliser is None:
        raise InvalidObservable(_UNKNOWN_KIND, str(kind))
    if not isinstance(value, str):
        raise _invalid(str(kind), repr(value))
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidObservable(_TOO_LONG, value, max=MAX_VALUE_LENGTH)
    text = refang(value).strip()
    if not text:
        raise InvalidObservable(_EMPTY, value)
    try:
        result = _settled(str(kind), normaliser(text))
    except InvalidObservable:
        raise
    except ValueError:  # a codec or library refusal we did not foresee: still the person's input
        raise _invalid(str(kind), value) from None
    if len(result) > MAX_VALUE_LENGTH:
        raise InvalidObservable(_TOO_LONG, value, max=MAX_VALUE_LENGTH)
    return result


# --- Guessing the kind of one value ---------------------------------------------------------

_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://"), "url"),
    (re.compile(rf"CVE[{_DASH}]", re.IGNORECASE), "cve"),
    (re.compile(r"ASN?[ \t]*:?[ \t]*[0-9]+(?:\.[0-9]+)?\Z", re.IGNORECASE), "asn"),
    (re.compile(r"[^\s/@]+@[^\s/@]+\Z"), "email"),
    (re.compile(r"[0-9A-Fa-f:.\[\]]+/[0-9.]+\Z"), "cidr"),
    (re.compile(r"[0-9]+(?:\.[0-9]+)+\Z"), "ipv4"),
    (re.compile(r"\[?[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(?:%\w+)?\]?\Z"), "ipv6"),
    (re.compile(r"[0-9A-Fa-f]{32}\Z"), "md5"),
    (re.compile(r"[0-9A-Fa-f]{40}\Z"), "sha1"),
    (re.compile(r"[0-9A-Fa-f]{64}\Z"), "sha256"),
    (re.compile(r"[^\s/:@?#]+\.[^\s/:@?#.]+\.?\Z"), "domain"),
    (re.compile(r"[^\s/:@?#]+\.[^\s/:@?#.]+(?::[0-9]+)?[/?#]\S*\Z"), "url"),  # scheme forgotten
]


def detect_kind(value: str) -> str | None:
    """The kind a person most likely meant by this one value, judged by its shape.

    It does not validate: ``999.1.1.1`` is an IPv4 address, so that
    :func:`parse` can say what is wrong with it. Free text gives None.
    """
    text = refang(value).strip()
    if not text or len(text) > MAX_VALUE_LENGTH:
        return None
    for shape, kind in _SHAPES:
        if shape.match(text):
            return kind
    return None


def parse(value: str, kind: str | None = None) -> tuple[str, str]:
    """``(kind, normalised value)``; the kind is guessed when not given."""
    if kind is None:
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidObservable(_TOO_LONG, value, max=MAX_VALUE_LENGTH)
        kind = detect_kind(value)
        if kind is None:
            raise InvalidObservable(_UNRECOGNISED, value.strip())
    return str(kind), normalise(kind, value)


# --- Extraction from free text --------------------------------------------------------------

# Names that end like this are usually files, not hosts (.zip, .py, .sh and .md are real
# top-level domains, but in an incident report they are mostly file names).
_FILE_EXTENSIONS_TEXT = """
    exe dll sys bin dat tmp log txt doc docx xls xlsx xlsm ppt pptx pdf rtf zip rar gz tgz bz xz
    tar iso img msi jar apk dmg pkg deb rpm lnk hta scr vbs vbe wsf bat cmd js jse css json xml
    yml yaml ini cfg conf csv tsv php py pyc sh pl rb go java class jpg jpeg png gif bmp ico svg
    webp mp mov avi mkv wav html htm aspx asp jsp md db sqlite bak old eml msg crx elf so
"""
_FILE_EXTENSIONS = frozenset(_FILE_EXTENSIONS_TEXT.split())

# Possessive quantifiers (*+, {m,n}+) never give characters back, which keeps the scan linear.
_HOST = r"(?:\w[\w-]{0,62}+\.)+(?:xn--[a-z0-9-]{1,59}+|[^\W\d_]{2,63}+)"
# One pass over the text. Each match begins with the character before the observable (the
# text is given a leading newline), so the engine jumps from separator to separator instead
# of trying every position inside words; the lookahead then dismisses a plain word (no dot,
# colon, slash or @ after it, not a CVE id, AS number or hash) with a single look at it.
_SCAN = re.compile(
    rf"""
    [^\w.](?=[\w%+-]{{0,64}}+[.@:/]|cve|asn?[ \t:]{{0,3}}[0-9]|[0-9a-f]{{32}})(?:
        (?P<url>(?:https?|ftp)://[^\s<>"'`]++)
      | (?P<email>[\w%+-][\w.%+-]{{0,63}}+@{_HOST})(?![\w-]|\.\w)
      | (?P<ip4>(?:[0-9]{{1,3}}+\.){{3}}[0-9]{{1,3}}+)(?:/(?P<len4>[0-9]{{1,2}}+))?(?!\w|\.\w)
      | (?<!:)(?P<ip6>(?:[0-9a-f]{{0,4}}+:){{2,8}}
            (?:(?:[0-9]{{1,3}}\.){{3}}[0-9]{{1,3}}|[0-9a-f]{{1,4}})?)
            (?:/(?P<len6>[0-9]{{1,3}}+))?(?![\w:]|\.\w)
      | (?P<cve>cve[{_DASH}][0-9]{{4}}[{_DASH}][0-9]{{4,19}}+)(?!\w)
      | (?P<asn>(?:(?-i:ASN?)[ \t]?:?[ \t]?|asn?)[0-9]{{1,10}}+)(?!\w)
      | (?<![@-])(?P<domain>{_HOST})(?![\w-]|\.\w)
      | (?P<hash>[0-9a-f]{{32,64}}+)(?!\w)
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = re.compile(r"[0-9a-fA-F]+\Z")
_URL_TAIL = ".,;:!?*"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Extracted:
    kind: str
    value: str  # normalised
    raw: str  # as written in the text


def _trim_url(url: str) -> str:
    """Drop the punctuation that ends the sentence or closes a bracket around the URL."""
    while url:
        last = url[-1]
        if last in _URL_TAIL or (last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last])):
            url = url[:-1]
        else:
            break
    return url


def _candidates(m: re.Match[str]) -> list[tuple[str, str, int, int]]:
    """(kind, normalised value, start, end) for one match of the scanner; [] if it is not one."""
    group = m.lastgroup
    if group == "url":
        raw, start = m["url"], m.start("url")
        if len(raw) > MAX_VALUE_LENGTH + 16:
            return []
        raw = _trim_url(raw)
        url = _parse_url(raw)
        found = [("url", _settled("url", url.value), start, start + len(raw))]
        if url.host_kind:
            found.append((url.host_kind, url.host, start + url.host_start, start + url.host_end))
        return found
    if group == "email":
        return [("email", _email(m["email"]), m.start("email"), m.end("email"))]
    if group in ("ip4", "len4"):
        address = _ipv4(m["ip4"])
        if m["len4"] is not None and int(m["len4"]) <= 32:
            return [("cidr", _cidr(f"{address}/{m['len4']}"), m.start("ip4"), m.end("len4"))]
        return [("ipv4", address, m.start("ip4"), m.end("ip4"))]
    if group in ("ip6", "len6"):
        if m["len6"] is not None and int(m["len6"]) <= 128:
            return [("cidr", _cidr(f"{m['ip6']}/{m['len6']}"), m.start("ip6"), m.end("len6"))]
        address = _ipv6(m["ip6"])
        return [] if address == "::" else [("ipv6", address, m.start("ip6"), m.end("ip6"))]
    if group in ("cve", "asn"):
        return [(group, _NORMALISERS[group](m[group]), m.start(group), m.end(group))]
    if group == "domain":
        name, start = m["domain"], m.start("domain")
        first, _dot, tld = name.rpartition(".")
        if tld.lower() in _FILE_EXTENSIONS:
            # "<hash>.exe": the file name still carries a hash worth reporting
            kind = _HASH_KINDS.get(len(first))
            if kind and _HEX.match(first):
                return [(kind, first.lower(), start, start + len(first))]
            return []
        return [("domain", _domain(name), start, m.end("domain"))]
    value = m["hash"]
    kind = _HASH_KINDS.get(len(value))
    return [(kind, value.lower(), m.start("hash"), m.end("hash"))] if kind else []


def extract(text: str, *, limit: int | None = None) -> list[Extracted]:
    """The observables in ``text``, each once, in the order they first appear."""
    if limit is not None and limit <= 0:
        return []
    fanged, spans = _refang_mapped(text)
    positions = _PositionMap(spans) if spans else None
    found: dict[tuple[str, str], Extracted] = {}
    seen: set[tuple[str | None, str]] = set()  # text repeats itself: judge each match once
    for m in _SCAN.finditer("\n" + fanged):
        key = (m.lastgroup, m[0])
        if key in seen:
            continue
        seen.add(key)
        try:
            candidates = _candidates(m)
        except ValueError:  # InvalidObservable, or a codec refusing a strange name: not one
            continue
        for kind, value, start, end in candidates:
            if (kind, value) in found:
                continue
            start, end = start - 1, end - 1  # the leading newline
            if positions is not None:
                start, end = positions.old(start, end=False), positions.old(end, end=True)
            found[(kind, value)] = Extracted(kind, value, text[start:end])
            if limit is not None and len(found) >= limit:
                return list(found.values())
    return list(found.values())
