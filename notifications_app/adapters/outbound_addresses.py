"""Which IP addresses a webhook may be delivered to: public unicast only (issue 14 item 3).

`ipaddress`'s `is_global` (the IANA special-purpose registries) is the base; the checks before it
name the class in the refusal, and cover what `is_global` lets through (multicast, IPv6
site-local) or refuses too broadly (IPv4-mapped and NAT64 forms of public addresses).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address

# The cloud's instance metadata service (EC2, ECS, Lambda's runtime API neighbours): the classic
# SSRF target, named in refusals so the user sees why a link-local address matters.
METADATA_ADDRESSES = frozenset({IPv4Address("169.254.169.254"), IPv6Address("fd00:ec2::254")})
_RFC1918 = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"))
_SHARED = IPv4Network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT: is_private is False, is_global too
_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address reached
_IPV4_COMPATIBLE = IPv6Network("::/96")  # RFC 4291 §2.5.5.1, deprecated: ::a.b.c.d


def address_refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why `address` must not receive a webhook, as "<address> is <class>"; None when allowed.

    Inputs: an IPv4 or IPv6 address; `allow_loopback` (development: a local receiver).
    Output: a sentence fit for an API user, or None for a public unicast address.
    """
    if address.is_loopback and allow_loopback:
        return None
    if isinstance(address, IPv6Address):
        embedded = _translated_ipv4(address)
        if embedded is not None:
            # Dual-stack sockets and NAT64 gateways reach the IPv4 address inside: judge that one.
            form = "IPv4-mapped" if address.ipv4_mapped else "NAT64"
            if address_refusal(embedded, allow_loopback=allow_loopback) is None:
                return None
            return f"{address} is the {form} form of {embedded}, {_special_class(embedded)}"
        tunnelled = _tunnelled_ipv4(address)
        if tunnelled is not None:
            # 6to4, Teredo and IPv4-compatible addresses are deprecated ways to carry IPv4 inside
            # IPv6; no webhook receiver needs them, so they are refused whatever they carry.
            kind, inner_address = tunnelled
            return f"{address} is {kind} address (it carries {inner_address}), which is not accepted"
        if address.scope_id:
            return f"{address} names a network interface (%{address.scope_id}), so it is not a public address"
    label = _special_class(address)
    return None if label is None else f"{address} is {label}"


def _special_class(address: IPAddress) -> str | None:
    """The name of the address's special-purpose class, or None for a public unicast address."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address in METADATA_ADDRESSES:
        return "the cloud instance metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:  # is_global is True for much of 224.0.0.0/4 and ff00::/8
        return "a multicast address"
    if isinstance(address, IPv4Address):
        if any(address in network for network in _RFC1918):
            return "a private address"
        if address in _SHARED:
            return "in the shared address space 100.64.0.0/10 (carrier-grade NAT)"
    else:
        if address.is_site_local:  # fec0::/10, deprecated, and is_global is True for it
            return "a site-local address"
        if address in IPv6Network("fc00::/7"):
            return "a private (unique local) address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a special-purpose address, not a public one"
    return None


def _translated_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(address: IPv6Address) -> tuple[str, IPv4Address] | None:
    """(kind with its article, IPv4 address) of a 6to4, Teredo or IPv4-compatible address; None for others."""
    if address.sixtofour is not None:
        return "a 6to4", address.sixtofour
    if address.teredo is not None:
        return "a Teredo", address.teredo[1]
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 have classes of their own
        return "an IPv4-compatible", IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_address(text: str) -> IPAddress | None:
    """`text` as an IP address (IPv6 without brackets), or None when it is not one."""
    try:
        return ip_address(text)
    except ValueError:
        return None
