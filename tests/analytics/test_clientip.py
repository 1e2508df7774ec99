from __future__ import annotations

from ipaddress import ip_address

import pytest

from analytics import TrustedProxies, client_ip
from analytics.clientip import parse_ip

TRUSTED = TrustedProxies(["127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48"])


def scope(peer: str | None, *headers: tuple[str, str]) -> dict[str, object]:
    return {
        "type": "http",
        "client": (peer, 4000) if peer is not None else None,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }


XFF = "X-Forwarded-For"
CASES = [
    # untrusted peer: headers ignored
    ("198.51.100.9", [(XFF, "203.0.113.77")], "198.51.100.9"),
    ("198.51.100.9", [("Forwarded", "for=203.0.113.77")], "198.51.100.9"),
    # trusted peer, one hop
    ("127.0.0.1", [(XFF, "203.0.113.77")], "203.0.113.77"),
    # chain: right to left, skipping trusted proxies; the forged left part is ignored
    ("127.0.0.1", [(XFF, "1.2.3.4, 203.0.113.77, 10.1.2.3")], "203.0.113.77"),
    ("10.9.9.9", [(XFF, "1.2.3.4, 203.0.113.77"), (XFF, "10.0.0.5")], "203.0.113.77"),
    # all trusted: the leftmost
    ("127.0.0.1", [(XFF, "10.0.0.7, 10.0.0.8")], "10.0.0.7"),
    # IPv6 and ports
    ("127.0.0.1", [(XFF, "2001:db8::77")], "2001:db8::77"),
    ("127.0.0.1", [(XFF, "203.0.113.77:5555")], "203.0.113.77"),
    ("127.0.0.1", [(XFF, "[2001:db8::77]:443")], "2001:db8::77"),
    # RFC 7239 Forwarded
    ("127.0.0.1", [("Forwarded", "for=203.0.113.77;proto=https")], "203.0.113.77"),
    ("127.0.0.1", [("Forwarded", 'for="[2001:db8::77]:4711"')], "2001:db8::77"),
    ("127.0.0.1", [("Forwarded", "for=1.2.3.4, for=203.0.113.77;by=10.0.0.1")], "203.0.113.77"),
    ("127.0.0.1", [("Forwarded", "for=203.0.113.77, for=10.0.0.2")], "203.0.113.77"),
    # X-Forwarded-For wins over Forwarded
    ("127.0.0.1", [(XFF, "203.0.113.77"), ("Forwarded", "for=1.2.3.4")], "203.0.113.77"),
    # garbage: the peer
    ("127.0.0.1", [(XFF, "not-an-ip")], "127.0.0.1"),
    ("127.0.0.1", [(XFF, "203.0.113.77, garbage")], "127.0.0.1"),
    ("127.0.0.1", [(XFF, "")], "127.0.0.1"),
    ("127.0.0.1", [("Forwarded", "for=unknown")], "127.0.0.1"),
    ("127.0.0.1", [("Forwarded", "for=_hidden")], "127.0.0.1"),
    ("127.0.0.1", [(XFF, "fe80::1%eth0")], "127.0.0.1"),
    # trusted peer without headers
    ("127.0.0.1", [], "127.0.0.1"),
    # IPv4-mapped peer counts as its IPv4 address
    ("::ffff:127.0.0.1", [(XFF, "203.0.113.77")], "203.0.113.77"),
    ("2001:db8:ffff::1", [(XFF, "2001:db8:1::5")], "2001:db8:1::5"),
]


@pytest.mark.parametrize(("peer", "headers", "expected"), CASES)
def test_client_ip_trusted_proxy_table(
    peer: str, headers: list[tuple[str, str]], expected: str
) -> None:
    assert client_ip(scope(peer, *headers), TRUSTED) == ip_address(expected)


def test_client_ip_without_trusted_proxies_ignores_headers() -> None:
    s = scope("127.0.0.1", (XFF, "203.0.113.77"))
    assert client_ip(s, TrustedProxies()) == ip_address("127.0.0.1")


@pytest.mark.parametrize("peer", [None, "testclient", ""])
def test_client_ip_peer_not_an_address_is_none(peer: str | None) -> None:
    assert client_ip(scope(peer, (XFF, "203.0.113.77")), TRUSTED) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2.3.4", "1.2.3.4"), (" 1.2.3.4 ", "1.2.3.4"), ("[::1]", "::1"), ("[::1", None)],
)
def test_parse_ip_forms(text: str, expected: str | None) -> None:
    result = parse_ip(text)
    assert result == (ip_address(expected) if expected else None)


def test_trusted_proxies_rejects_bad_network() -> None:
    with pytest.raises(ValueError):
        TrustedProxies(["10.0.0.0/33"])


def test_trusted_proxies_remember_only_trusted_hosts() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.trusts_host("10.1.2.3") and proxies.trusts_host("10.1.2.3")
    assert not proxies.trusts_host("203.0.113.77")
    assert not proxies.trusts_host("garbage")
    assert proxies._trusted_hosts == {"10.1.2.3"}  # a visitor's address is not kept
