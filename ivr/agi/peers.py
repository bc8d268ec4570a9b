"""Who may open a FastAGI session: loopback binds, and an allowlist of Asterisk addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_loopback_host(host: str) -> bool:
    """True only for a literal loopback address or `localhost`; a hostname could resolve anywhere."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_address(text: str) -> IpAddress | None:
    """A peer address as sent by the socket layer (`::ffff:10.0.0.5`, `fe80::1%eth0`), or None."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class PeerAllowlist:
    """Addresses or networks (`10.1.2.3`, `10.1.2.0/28`) allowed to connect."""

    def __init__(self, entries: Iterable[str]) -> None:
        networks: list[IpNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"allowed peer {entry!r} is not an IP address or network") from None
        self._networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def allows(self, peer: str) -> bool:
        address = parse_address(peer)
        if address is None:
            return False
        return any(address.version == net.version and address in net for net in self._networks)
