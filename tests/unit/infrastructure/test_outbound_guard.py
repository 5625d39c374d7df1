"""The outbound guard: which URLs and addresses the gateway fetches from. Every spelling of an
internal address is refused without a lookup (decimal, octal, hex and short IPv4, IPv6 and the
IPv6 forms carrying an IPv4 address), credentials and empty queries or fragments are refused,
a host is refused when any address it resolves to is internal, and the operator's allow list
opens exactly what it names."""

from __future__ import annotations

import ipaddress
import socket
from typing import NoReturn

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from infrastructure.net.addresses import REFUSED_V4, REFUSED_V6, internal, literal
from infrastructure.net.outbound import OutboundPolicy, OutboundRefused


async def no_lookup(host: str, port: int) -> NoReturn:
    raise AssertionError(f"{host} was looked up: a literal address needs no lookup")


def answering(*addresses: str) -> OutboundPolicy:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return OutboundPolicy(resolver=resolve)


refused_v4 = st.sampled_from(REFUSED_V4).flatmap(
    lambda net: st.integers(int(net.network_address), int(net.broadcast_address)).map(
        ipaddress.IPv4Address
    )
)
refused_v6 = st.sampled_from(REFUSED_V6).flatmap(
    lambda net: st.integers(int(net.network_address), int(net.broadcast_address)).map(
        ipaddress.IPv6Address
    )
)
public_v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(lambda a: not internal(a))


def spellings(address: ipaddress.IPv4Address) -> list[str]:
    """Ways a URL's host may name `address`, as resolvers (inet_aton) and browsers read them."""
    a, b, c, d = address.packed
    value = int(address)
    return [
        str(address),
        str(value),  # 2130706433
        hex(value),  # 0x7f000001
        ".".join(f"0{part:o}" for part in (a, b, c, d)),  # 0177.00.00.01
        ".".join(hex(part) for part in (a, b, c, d)),  # 0x7f.0x0.0x0.0x1
        f"{a}.{(b << 16) + (c << 8) + d}",  # 127.1
        f"{a}.{b}.{(c << 8) + d}",  # 127.0.1
        f"{address}.",  # a trailing dot
        f"[::ffff:{address}]",
        f"[::ffff:{(a << 8) + b:x}:{(c << 8) + d:x}]",
        f"[2002:{(a << 8) + b:x}:{(c << 8) + d:x}::1]",  # 6to4
        f"[64:ff9b::{address}]",  # NAT64
    ]


@given(refused_v4, st.sampled_from(["http", "https"]), st.data())
async def test_every_spelling_of_an_internal_ipv4_address_is_refused_without_a_lookup(
    address: ipaddress.IPv4Address, scheme: str, data: st.DataObject
) -> None:
    host = data.draw(st.sampled_from(spellings(address)))
    prefix = data.draw(st.sampled_from(["", "good@", "good:pw@", "public.example.com@"]))
    url = f"{scheme}://{prefix}{host}:8080/x"
    with pytest.raises(OutboundRefused) as refused:
        await OutboundPolicy(resolver=no_lookup).check(url, https_only=False)
    assert refused.value.reason in ("internal_address", "bad_url")


@given(refused_v4)
def test_each_legacy_spelling_names_the_address_inet_aton_reads(
    address: ipaddress.IPv4Address,
) -> None:
    for spelling in spellings(address)[:8]:
        assert literal(spelling) == address, spelling
        try:
            read = ipaddress.IPv4Address(socket.inet_aton(spelling.removesuffix(".")))
        except OSError:
            continue  # glibc is stricter than the browsers for some forms; we refuse them too
        assert read == address, spelling


@given(refused_v6)
async def test_every_internal_ipv6_address_is_refused(address: ipaddress.IPv6Address) -> None:
    with pytest.raises(OutboundRefused, match="internal_address"):
        await OutboundPolicy(resolver=no_lookup).check(f"https://[{address}]/", https_only=True)


@pytest.mark.parametrize(
    "host",
    [
        "[::1]",
        "[::]",
        "[0:0:0:0:0:0:0:1]",
        "[fe80::1%25eth0]",
        "[fd00::1]",
        "[ff02::1]",
        "[::ffff:169.254.169.254]",
        "[::127.0.0.1]",
        "0.0.0.0",
        "0",
        "100.64.0.1",
        "100.100.100.200",
        "169.254.169.254",
        "255.255.255.255",
        "224.0.0.1",
    ],
)
async def test_the_usual_targets_are_refused(host: str) -> None:
    with pytest.raises(OutboundRefused):
        await OutboundPolicy(resolver=no_lookup).check(f"http://{host}/latest", https_only=False)


@given(public_v4)
async def test_a_public_address_is_fetched_in_any_spelling(address: ipaddress.IPv4Address) -> None:
    for spelling in spellings(address)[:8]:
        target = await OutboundPolicy(resolver=no_lookup).check(
            f"https://{spelling}/a.png", https_only=True
        )
        assert target.address == address


@given(st.sampled_from(["?", "#", "?#", "#?", "?a=1", "#frag", "/?", "/#"]))
def test_an_issuer_with_any_query_or_fragment_is_refused(tail: str) -> None:
    with pytest.raises(OutboundRefused, match="bad_url"):
        OutboundPolicy().target(f"https://idp.example.com{tail}", https_only=True, bare=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://good@127.0.0.1/",
        "https://user:pw@idp.example.com/",
        "https://idp.example.com\\@127.0.0.1/",
        "https://idp.example.com /",
        "https://idp.example.com\t/",
        "file:///etc/passwd",
        "gopher://idp.example.com/",
        "https:///path",
        "https://idp.example.com:99999/",
        "https://256.256.256.256/",
        "https://0x1.0x2.0x3.0x4.5/",
        "https://09.1.1.1/",
    ],
)
def test_malformed_or_credentialed_urls_are_refused(url: str) -> None:
    with pytest.raises(OutboundRefused, match=r"bad_url|internal_address"):
        OutboundPolicy().target(url, https_only=False)


async def test_a_host_is_refused_when_any_of_its_addresses_is_internal() -> None:
    with pytest.raises(OutboundRefused, match="internal_address"):
        await answering("93.184.215.14", "10.0.0.7").check("https://x.example/", https_only=True)
    with pytest.raises(OutboundRefused, match="internal_address"):
        await answering("::ffff:127.0.0.1").check("https://x.example/", https_only=True)
    target = await answering("93.184.215.14").check("https://x.example/", https_only=True)
    assert target.host == "x.example"


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    async def fails(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    for policy in (OutboundPolicy(resolver=fails), answering()):
        with pytest.raises(OutboundRefused, match="unresolved"):
            await policy.check("https://nowhere.example/", https_only=True)


async def test_https_is_required_unless_the_host_is_allowed() -> None:
    with pytest.raises(OutboundRefused, match="not_https"):
        answering("93.184.215.14").target("http://idp.example.com/", https_only=True)
    allowed = OutboundPolicy(["idp.corp.internal", "127.0.0.1", "10.1.0.0/16"])
    for url in ("http://IDP.corp.internal./", "http://127.0.0.1:9000", "http://10.1.2.3/"):
        allowed.target(url, https_only=True)
    for url in ("http://127.0.0.2:9000", "http://10.2.0.1/", "http://other.corp.internal/"):
        with pytest.raises(OutboundRefused):
            allowed.target(url, https_only=True)


async def test_the_allow_list_opens_exactly_what_it_names() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"idp.corp.internal": ["10.9.9.9"], "evil.example": ["127.0.0.1", "127.0.0.2"]}[host]

    policy = OutboundPolicy(["idp.corp.internal", "127.0.0.1/32"], resolver=resolve)
    await policy.check("http://idp.corp.internal/", https_only=True)
    await policy.check("http://[::ffff:127.0.0.1]:1/", https_only=True)
    with pytest.raises(OutboundRefused, match="internal_address"):
        await policy.check("https://evil.example/", https_only=True)  # 127.0.0.2 is not allowed
    with pytest.raises(OutboundRefused, match="internal_address"):
        await policy.check("https://127.0.0.2/", https_only=True)


@given(st.ip_addresses())
def test_internal_agrees_with_the_standard_library_where_it_is_sure(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    """Whatever Python calls private, loopback, link-local, multicast, reserved or not global
    is refused; the explicit ranges refuse more (shared address space among them)."""
    assume(not (isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped))
    stdlib_internal = (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
    )
    if stdlib_internal:
        assert internal(address)
