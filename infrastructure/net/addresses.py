"""Which addresses the gateway refuses to connect to, and the host spellings that name an
address: the internal ranges (loopback, private networks, link-local, shared address space,
unique local, multicast, reserved, documentation, and any IPv6 form embedding one of them), and
the legacy IPv4 spellings resolvers accept (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`)."""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

REFUSED_V4 = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 included
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (CGNAT); cloud metadata services live here
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, 169.254.169.254 the usual metadata service
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",  # reserved, 255.255.255.255 included
    )
)
REFUSED_V6 = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "::/96",  # unspecified, loopback and the deprecated IPv4-compatible addresses
        "::ffff:0:0/96",  # IPv4-mapped (checked again as IPv4, for the allow list)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local
        "ff00::/8",  # multicast
    )
)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_-]+")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


def internal(address: IPAddress) -> bool:
    """True for an address the gateway never connects to unless the operator allows it."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_v4(address)
        if embedded is not None and internal(embedded):
            return True
        if address.ipv4_mapped is not None:
            return True
        refused: tuple[ipaddress.IPv4Network, ...] | tuple[ipaddress.IPv6Network, ...] = REFUSED_V6
    else:
        refused = REFUSED_V4
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or any(address in network for network in refused)
    )


def embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def canonical(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it is; any other as it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def literal(host: str) -> IPAddress | None:
    """The address a URL's host names literally, in any spelling a resolver would take; None
    for a host name. Raises ValueError for a numeric host no resolver would take."""
    bare = host.strip("[]").split("%", maxsplit=1)[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    labels = bare.removesuffix(".").split(".")
    if not labels or not _NUMBER.fullmatch(labels[-1]):
        return None  # a host name (the WHATWG URL rule: it does not end in a number)
    return _legacy_v4(labels)


def _legacy_v4(labels: list[str]) -> ipaddress.IPv4Address:
    """inet_aton's reading: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the
    last part fills the remaining bytes."""
    if len(labels) > 4 or not all(_NUMBER.fullmatch(label) for label in labels):
        raise ValueError("not an IPv4 address")
    numbers = [_number(label) for label in labels]
    *leading, last = numbers
    if any(part > 255 for part in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError("not an IPv4 address")
    value = last
    for index, part in enumerate(leading):
        value += part << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _number(label: str) -> int:
    if label[:2] in ("0x", "0X"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)
    return int(label)


def allow_entry_problem(entry: str) -> str | None:
    """What is wrong with an `outbound.allow` entry, or None: an address, a network in CIDR
    notation, or a host name."""
    try:
        ipaddress.ip_network(entry, strict=False)
        return None
    except ValueError:
        pass
    if _HOST_NAME.fullmatch(entry.lower().removesuffix(".")):
        return None
    return "must be an IP address, a network (CIDR) or a host name"
