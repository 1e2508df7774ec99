"""The client's IP address: from the connection, or from a trusted proxy's headers.

``X-Forwarded-For`` (or, when absent, RFC 7239 ``Forwarded``) is read only when the
connection's peer is one of the configured trusted proxies. The chain is walked from right to
left, skipping addresses that are themselves trusted proxies, and the first untrusted one is
the client (as in uvicorn's ``proxy_headers.py``): everything left of it was written by the
client and may be forged. An entry that is not an IP address ends the walk and the peer is
used instead, so garbage can never make up an address.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

from starlette.types import Scope

from .anonymize import IPAddress

__all__ = ["TrustedProxies", "client_ip", "parse_ip"]


class TrustedProxies:
    """A set of networks whose forwarded-for headers are believed.

    :param networks: CIDRs or single addresses, e.g. ``("127.0.0.1", "10.0.0.0/8")``.
    :raises ValueError: an entry is not an address or network.
    """

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self.networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(n.strip(), strict=False) for n in networks
        )
        # integer ranges per IP version: a membership test is a few comparisons
        self._ranges: dict[int, tuple[tuple[int, int], ...]] = {
            v: tuple(
                (int(n.network_address), int(n.broadcast_address))
                for n in self.networks
                if n.version == v
            )
            for v in (4, 6)
        }

        # peers found trusted, by their text: a proxy's address, never a visitor's, so
        # remembering it keeps no personal data and skips parsing on every request
        self._trusted_hosts: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts_host(self, host: str) -> bool:
        """Whether the peer ``host`` (text, as in the ASGI ``client``) is a trusted proxy."""
        if host in self._trusted_hosts:
            return True
        ip = parse_ip(host)
        if ip is None or ip not in self:
            return False
        if len(self._trusted_hosts) < 1024:
            self._trusted_hosts.add(host)
        return True

    def __contains__(self, ip: object) -> bool:
        # exact type tests and a plain loop: this runs for every forwarded hop of every event
        if type(ip) is IPv4Address:
            ranges = self._ranges[4]
        elif isinstance(ip, IPv6Address):
            mapped = ip.ipv4_mapped
            if mapped is not None:
                ip, ranges = mapped, self._ranges[4]
            else:
                ranges = self._ranges[6]
        elif isinstance(ip, IPv4Address):
            ranges = self._ranges[4]
        else:
            return False
        value = int(ip)
        for lo, hi in ranges:
            if lo <= value <= hi:
                return True
        return False


def parse_ip(text: str) -> IPAddress | None:
    """Parse one forwarded entry: ``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:443``, or None."""
    text = text.strip()
    if '"' in text:
        text = text.strip('"').strip()
    if text[:1] == "[":
        end = text.find("]")
        if end < 0:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    # inet_pton is strict (no leading zeros, no short forms) and much faster than
    # ipaddress's parser; zone ids ("%eth0") are local to the proxy and refused by it
    try:
        if ":" in text:
            return IPv6Address(socket.inet_pton(socket.AF_INET6, text))
        return IPv4Address(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        return None


def _forwarded_for(values: Sequence[str]) -> list[str]:
    """The ``for=`` entries of RFC 7239 ``Forwarded`` headers, in order."""
    entries: list[str] = []
    for value in values:
        for element in value.split(","):
            found = ""
            for pair in element.split(";"):
                key, _, val = pair.partition("=")
                if key.strip().lower() == "for":
                    found = val
            entries.append(found)
    return entries


def client_ip(scope: Scope, trusted: TrustedProxies) -> IPAddress | None:
    """The client's address for an HTTP ``scope``; None when the peer is not an IP address."""
    client = scope.get("client")
    host = str(client[0]) if client else ""
    if not trusted or not trusted.trusts_host(host):
        return parse_ip(host)
    xff: list[str] = []
    forwarded: list[str] = []
    for key, value in scope.get("headers", ()):
        if key == b"x-forwarded-for":
            xff.extend(value.decode("latin-1").split(","))
        elif key == b"forwarded":
            forwarded.append(value.decode("latin-1"))
    chain = xff or _forwarded_for(forwarded)
    candidate: IPAddress | None = None
    for entry in reversed(chain):
        ip = parse_ip(entry)
        if ip is None:
            return parse_ip(host)
        candidate = ip
        if ip not in trusted:
            return ip
    return candidate if candidate is not None else parse_ip(host)
