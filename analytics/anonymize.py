"""Matomo-style IP masking: zero the last 1, 2 or 3 bytes before anything is stored.

The levels follow Matomo's ``IPv6::anonymize`` / ``IPAnonymizer::applyIPMask``:

=====  ============  ========================================
level  IPv4 keeps    IPv6 keeps (Matomo's masks)
=====  ============  ========================================
1      /24           /64  (``ffff:ffff:ffff:ffff::``)
2      /16           /48  (``ffff:ffff:ffff::``)
3      /8            /24  (``ffff:ff00::``)
=====  ============  ========================================

An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) gets the IPv4 rule, as in Matomo. Level 0
(no masking) is not offered: it is not anonymisation (see docs/REGULATION.md item 14).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

__all__ = ["IPAddress", "MASK_LEVELS", "mask_ip", "anonymize_ip"]

IPAddress = IPv4Address | IPv6Address
MASK_LEVELS = (1, 2, 3)

_V4_MASKS = {level: (0xFFFFFFFF << (8 * level)) & 0xFFFFFFFF for level in MASK_LEVELS}
_V6_PREFIX = {1: 64, 2: 48, 3: 24}
_V6_MASKS = {level: ((1 << bits) - 1) << (128 - bits) for level, bits in _V6_PREFIX.items()}
_MAPPED_PREFIX = 0xFFFF << 32
_ALL_128 = (1 << 128) - 1


def mask_ip(ip: IPAddress, level: int = 2) -> IPAddress:
    """Return ``ip`` with its host part zeroed at Matomo level ``level`` (1, 2 or 3).

    :raises ValueError: ``level`` is not 1, 2 or 3.
    """
    if level not in _V4_MASKS:
        raise ValueError(f"ip mask level must be 1, 2 or 3, not {level!r}")
    value = int(ip)
    if isinstance(ip, IPv4Address):
        return IPv4Address(value & _V4_MASKS[level])
    if value >> 32 == 0xFFFF:  # ::ffff:a.b.c.d, the IPv4 rule on the last four bytes
        return IPv6Address(_MAPPED_PREFIX | (value & _V4_MASKS[level]))
    return IPv6Address(value & _V6_MASKS[level] & _ALL_128)


def anonymize_ip(address: str, level: int = 2) -> str:
    """Mask a textual IP address; the result in its compressed text form.

    :raises ValueError: ``address`` is not an IP address, or ``level`` is not 1..3.
    """
    return str(mask_ip(ip_address(address), level))
