from __future__ import annotations

from ipaddress import ip_address

import pytest

from analytics import anonymize_ip, mask_ip

# Matomo's published vectors (plugins/PrivacyManager tests, Matomo\Network\IPv6::anonymize):
# levels 1, 2, 3 mask 1, 2, 3 bytes of IPv4; IPv6 keeps /64, /48 and /24 (ffff:ff00::).
MATOMO_VECTORS = [
    ("0.0.0.0", ("0.0.0.0", "0.0.0.0", "0.0.0.0")),
    ("0.0.0.1", ("0.0.0.0", "0.0.0.0", "0.0.0.0")),
    ("255.255.255.255", ("255.255.255.0", "255.255.0.0", "255.0.0.0")),
    ("192.168.1.12", ("192.168.1.0", "192.168.0.0", "192.0.0.0")),
    ("203.0.113.77", ("203.0.113.0", "203.0.0.0", "203.0.0.0")),
    ("2001:db8:0:8d3:0:8a2e:70:7344", ("2001:db8:0:8d3::", "2001:db8::", "2001:d00::")),
    ("2001:6f8:900:724::2", ("2001:6f8:900:724::", "2001:6f8:900::", "2001:600::")),
    ("::1", ("::", "::", "::")),
    ("::ffff:127.0.0.1", ("::ffff:127.0.0.0", "::ffff:127.0.0.0", "::ffff:127.0.0.0")),
    ("::ffff:192.168.1.12", ("::ffff:192.168.1.0", "::ffff:192.168.0.0", "::ffff:192.0.0.0")),
]


@pytest.mark.parametrize(("address", "expected"), MATOMO_VECTORS)
@pytest.mark.parametrize("level", [1, 2, 3])
def test_anonymize_ip_matomo_vectors(address: str, expected: tuple[str, ...], level: int) -> None:
    masked = anonymize_ip(address, level)
    assert ip_address(masked) == ip_address(expected[level - 1])


def test_anonymize_ip_mapped_ipv6_gets_the_ipv4_rule() -> None:
    mapped = ip_address("::ffff:203.0.113.77")
    assert mask_ip(mapped, 2) == ip_address("::ffff:203.0.0.0")
    # the IPv6 rule at level 2 (/48) would have kept the whole mapped address
    assert mask_ip(mapped, 2) != mapped


def test_anonymize_ip_default_level_is_two_bytes() -> None:
    assert anonymize_ip("198.51.100.23") == "198.51.0.0"


@pytest.mark.parametrize("level", [0, 4, -1])
def test_anonymize_ip_rejects_levels_outside_one_to_three(level: int) -> None:
    with pytest.raises(ValueError, match="1, 2 or 3"):
        anonymize_ip("198.51.100.23", level)


def test_anonymize_ip_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        anonymize_ip("not-an-ip")
