"""Which webhook URLs are accepted when registered (issue 14 item 3): every refused address class,
IPv4 and IPv6, and the schemes deployed and in development."""

from __future__ import annotations

import re

import pytest

from notifications_app.adapters.outbound_http import OutboundPolicy, UnsafeUrl, check_url
from notifications_app.domain.endpoint import url_pattern

DEPLOYED = OutboundPolicy(allow_loopback_http=False)
DEVELOPMENT = OutboundPolicy(allow_loopback_http=True)


@pytest.mark.parametrize(
    ("host", "named"),
    [
        ("10.0.0.5", "10.0.0.5 is a private address"),
        ("172.16.3.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104 (a URL's host here, not a bind address)
        ("169.254.169.254", "the cloud instance metadata address"),
        ("169.254.10.10", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("239.1.2.3", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),
        ("100.64.0.1", "shared address space 100.64.0.0/10"),
        ("192.0.2.10", "a special-purpose address"),  # documentation
        ("198.18.0.1", "a special-purpose address"),  # benchmarking
        ("[::1]", "::1 is a loopback address"),
        ("[::]", "the unspecified address"),
        ("[fe80::1]", "a link-local address"),
        ("[fe80::1%25eth0]", "names a network interface"),
        ("[fd00:ec2::254]", "the cloud instance metadata address"),
        ("[fd12:3456::1]", "a private (unique local) address"),
        ("[fec0::1]", "a site-local address"),
        ("[ff02::1]", "a multicast address"),
        ("[2001:db8::1]", "a special-purpose address"),  # documentation
        ("[100::1]", "a reserved address"),  # discard-only
        ("[::ffff:10.0.0.5]", "IPv4-mapped form of 10.0.0.5, a private address"),
        ("[::ffff:169.254.169.254]", "IPv4-mapped form of 169.254.169.254, the cloud instance metadata"),
        ("[64:ff9b::10.0.0.5]", "NAT64 form of 10.0.0.5, a private address"),
        ("[::10.0.0.5]", "an IPv4-compatible address (it carries 10.0.0.5)"),
        ("[2002:a00:5::1]", "a 6to4 address (it carries 10.0.0.5)"),
        ("[2001:0:4136:e378:8000:63bf:f5ff:fffa]", "a Teredo address (it carries 10.0.0.5)"),
    ],
)
def test_a_literal_address_that_is_not_public_is_refused_with_its_class(host, named):
    with pytest.raises(UnsafeUrl, match="webhooks are delivered to public addresses only") as refusal:
        check_url(f"https://{host}/hook", DEPLOYED)
    assert named in str(refusal.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/tasks?team=7",
        "https://hooks.example.com:8443/",
        "https://8.8.8.8/hook",
        "https://[2606:4700::1111]/hook",
        "https://[::ffff:8.8.8.8]/hook",  # dual-stack sockets reach the public IPv4 address
        "https://[64:ff9b::808:808]/hook",  # NAT64 to a public IPv4 address
        "HTTPS://Hooks.Example.COM/",
    ],
)
def test_public_https_urls_are_accepted_deployed(url):
    check_url(url, DEPLOYED)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/", "must start with https://"),
        ("http://127.0.0.1:8025/", "a loopback address"),
        ("ftp://hooks.example.com/", "must start with https://"),
        ("file:///etc/passwd", "must start with https://"),
        ("gopher://hooks.example.com/", "must start with https://"),
        ("hooks.example.com/path", "without a scheme"),
        ("https:///path", "has no host"),
        ("https://user:secret@hooks.example.com/", "user name or password"),
        ("https://hooks.example.com@10.0.0.5/", "user name or password"),
        ("https://hooks.example.com:0/", "port must be a number from 1 to 65535"),
        ("https://hooks.example.com:65536/", "not valid"),
        ("https://hooks.example.com:https/", "not valid"),
        ("https://hooks.example.com/a b", "spaces or control characters"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "spaces or control characters"),
        ("https://hooks.example.com/" + "a" * 2030, "at most 2048 are accepted"),
        ("https://[::1/", "not valid"),
        ("https://localhost:8025/", "localhost is this machine"),
        ("https://api.localhost/", "this machine"),
        ("https://metadata/computeMetadata", "not a fully qualified name"),
        ("https://127.1/", "ends in a number"),
        ("https://2130706433/", "ends in a number"),
        ("https://0x7f.0.0.1/", "ends in a number"),
        ("https://hooks_1.example.com/", "not a valid host name"),
        ("https://bücher.example/", "xn-- form"),
    ],
)
def test_unsafe_urls_are_refused_deployed(url, reason):
    with pytest.raises(UnsafeUrl, match=reason):
        check_url(url, DEPLOYED)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8025/", "http://[::1]:8025/hooks", "http://localhost:8025/", "https://hooks.example.com/"],
)
def test_development_accepts_a_local_receiver_over_http(url):
    check_url(url, DEVELOPMENT)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/", r"http:// is accepted for a local receiver only"),
        ("http://10.0.0.5:8025/", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud instance metadata address"),
        ("http://[::ffff:10.0.0.5]:8025/", "a private address"),
    ],
)
def test_development_still_refuses_everything_but_loopback_over_http(url, reason):
    with pytest.raises(UnsafeUrl, match=reason):
        check_url(url, DEVELOPMENT)


def test_a_refusal_is_a_value_error_so_validation_can_report_it():
    assert issubclass(UnsafeUrl, ValueError)


@pytest.mark.parametrize("url", ["http://localhost:8025/", "http://[::1]:8025/", "https://8.8.8.8/", "https://[::1]/"])
def test_deployed_the_published_url_pattern_takes_https_to_a_dns_name_only(url):
    assert re.fullmatch(url_pattern(allow_loopback_http=False), url) is None
    assert re.fullmatch(url_pattern(allow_loopback_http=False), "https://hooks.example.com:8443/x?y=1")


@pytest.mark.parametrize("url", ["http://localhost:8025/hook", "http://[::1]:8025/", "http://127.0.0.1:8025"])
def test_in_development_the_published_url_pattern_takes_the_local_receiver_urls_check_url_takes(url):
    check_url(url, OutboundPolicy(allow_loopback_http=True))
    assert re.fullmatch(url_pattern(allow_loopback_http=True), url)
