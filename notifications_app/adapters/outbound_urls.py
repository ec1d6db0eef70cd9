"""Which webhook URLs are accepted (issue 14 item 3), judged as written: no DNS here.

`check_url` runs when a webhook is registered or changed; the sender runs it again at delivery,
before it resolves the name and judges the addresses (`outbound_http`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv6Address
from urllib.parse import urlsplit

from notifications_app.adapters.outbound_addresses import IPAddress, address_refusal, parse_address

MAX_URL_LENGTH = 2048  # characters; browsers and most gateways accept about this much
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# WHATWG URL: a host whose last label is a number is an IPv4 address, and resolvers agree
# (`127.1`, `2130706433`, `0x7f.1` all reach 127.0.0.1): refused rather than guessed at.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


class UnsafeUrl(ValueError):
    """A webhook URL that must not be called; the message says why, fit for a 400 VALIDATION_ERROR."""


@dataclass(frozen=True)
class OutboundPolicy:
    """Where webhooks may go. `allow_loopback_http` is True in development and the local stack:
    `http://127.0.0.1:<port>`, `http://[::1]:<port>` and `http://localhost:<port>` are accepted so a
    local receiver (`webhook_listen`) works; False deployed: https to public addresses only."""

    allow_loopback_http: bool


@dataclass(frozen=True)
class Target:
    """A checked URL, in the parts the sender needs."""

    scheme: str
    host: str  # lower-case name, or an IP address (IPv6 without brackets)
    port: int
    request_target: str  # path and query, as the request line carries them
    literal: IPAddress | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.literal, IPv6Address) else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def check_url(url: str, policy: OutboundPolicy) -> None:
    """Check a webhook URL when it is registered: scheme, host, no user info, port, length, and a
    literal IP address's class. Does not resolve DNS (`UrllibSender.post` does, at delivery).

    Raises `UnsafeUrl` with a message for the API user. Rules: issue 14 item 3.
    """
    parse_url(url, policy)


def parse_url(url: str, policy: OutboundPolicy) -> Target:
    """`check_url`'s checks, returning the parts the sender needs; raises `UnsafeUrl`."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The URL is {len(url)} characters long; at most {MAX_URL_LENGTH} are accepted.")
    if any(ord(character) <= 0x20 or ord(character) == 0x7F for character in url):
        raise UnsafeUrl("The URL must not contain spaces or control characters; percent-encode them.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl(f"The URL is not valid: {error}.") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeUrl(f"The URL must start with https:// (not {scheme + ':' if scheme else 'without a scheme'}).")
    if "@" in parts.netloc:
        raise UnsafeUrl("The URL must not contain a user name or password (user:password@host).")
    host = parts.hostname or ""
    if not host:
        raise UnsafeUrl("The URL has no host: give one like https://hooks.example.com/tasks.")
    if port is not None and port < 1:
        raise UnsafeUrl("The URL's port must be a number from 1 to 65535.")
    literal = parse_address(host)
    if literal is not None:
        reason = address_refusal(literal, allow_loopback=policy.allow_loopback_http)
        if reason is not None:
            raise UnsafeUrl(f"{reason}: webhooks are delivered to public addresses only.")
        loopback = literal.is_loopback
    else:
        loopback = _check_host_name(host, policy)
    if scheme == "http" and not (loopback and policy.allow_loopback_http):
        local = " (http:// is accepted for a local receiver only, like http://127.0.0.1:8025/)"
        raise UnsafeUrl("The URL must start with https://" + (local if policy.allow_loopback_http else "") + ".")
    request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or DEFAULT_PORTS[scheme], request_target, literal)


def _check_host_name(host: str, policy: OutboundPolicy) -> bool:
    """Check a host given by name; True when it is localhost (a loopback name, RFC 6761)."""
    if host == "localhost" or host.endswith(".localhost"):
        if not policy.allow_loopback_http:
            raise UnsafeUrl(f"{host} is this machine: webhooks are delivered to public addresses only.")
        return True
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UnsafeUrl(
            f"{host!r} is not a valid host name: letters, digits, hyphens and dots, an international "
            "name in its xn-- form."
        )
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise UnsafeUrl(f"{host!r} ends in a number, which is read as an IPv4 address: write it as a.b.c.d.")
    if len(labels) == 1:
        # A single label is completed by the resolver's search domains: an internal name.
        raise UnsafeUrl(f"{host!r} is not a fully qualified name: give one like hooks.example.com.")
    return False
