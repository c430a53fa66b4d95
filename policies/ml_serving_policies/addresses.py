"""How many publicly routable addresses a set of CIDR ranges admits, counted from the ranges
themselves: 0.0.0.0/1 + 128.0.0.0/1, sixteen /4s and 0.0.0.0/0 are the same exposure.

The ranges are merged, then every special-purpose block that is not globally reachable
(IANA IPv4 and IPv6 Special-Purpose Address Registries, as Python's ipaddress reads them:
private, shared, loopback, link-local, documentation, benchmarking, reserved, plus
multicast, which no client connects from) is subtracted.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NOT_PUBLIC: dict[int, list[IpNetwork]] = {
    4: [ipaddress.ip_network(n) for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )],
    6: [ipaddress.ip_network(n) for n in (
        "::/128", "::1/128", "::ffff:0:0/96", "100::/64", "2001::/23", "2001:db8::/32",
        "fc00::/7", "fe80::/10", "ff00::/8",
    )],
}


class BadCidr(ValueError):
    pass


def parse(cidrs: Iterable[str]) -> list[IpNetwork]:
    networks = []
    for text in cidrs:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise BadCidr(f"{text!r} is not a CIDR range") from None
    return networks


def _intervals(networks: Iterable[IpNetwork]) -> list[tuple[int, int]]:
    """Merged [start, end) integer intervals."""
    spans = sorted((int(n.network_address), int(n.broadcast_address) + 1) for n in networks)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def public_addresses(networks: Iterable[IpNetwork]) -> int:
    """Publicly routable addresses in the union of `networks` (IPv4 and IPv6 counted together)."""
    total = 0
    networks = list(networks)
    for version in (4, 6):
        allowed = _intervals(n for n in networks if n.version == version)
        reserved = _intervals(NOT_PUBLIC[version])
        for start, end in allowed:
            total += end - start
            for r_start, r_end in reserved:
                overlap = min(end, r_end) - max(start, r_start)
                if overlap > 0:
                    total -= overlap
    return total


def shown_count(count: int) -> str:
    """4294967296 -> '4,294,967,296 (2^32)'; exact powers of two say so."""
    text = f"{count:,}"
    if count > 0 and count & (count - 1) == 0 and count >= 1024:
        text += f" (2^{count.bit_length() - 1})"
    return text
