"""Where a webhook may be sent: public `https` addresses only, checked when saved and at each delivery.

A name is resolved and every address it resolves to is judged; the delivery then connects to the
address judged, never resolving again (a name that changes between check and connect gains nothing).
With `BLINK_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`, local and private addresses and `http` are allowed
(development, tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services of cloud providers answer on these, with credentials; refused by name as well,
# whatever the ranges below say.
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)
# Shared address space (carrier-grade NAT) is not global, but `is_private` does not say so.
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class RefusedAddress(ValueError):
    """The URL or an address it resolves to may not be called."""


def why_not_address(address: IPAddress) -> str | None:
    """Why a webhook may not connect to `address`; None if it may (a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return why_not_address(address.ipv4_mapped)
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7"):
        return "a unique-local address"
    if address in _SHARED or address.is_private:
        return "a private address"
    if address.is_multicast or address.is_unspecified or address.is_reserved or not address.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """A URL taken apart, with the address a delivery connects to."""

    scheme: str
    host: str
    port: int
    address: IPAddress


def why_not_url(url: str, *, allow_private: bool) -> str | None:
    """What is wrong with `url` itself, before any name is resolved; None if nothing."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        # A URL has no white space or control characters: percent-encoded they may be in it.
        return "The URL must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "The URL is not valid."
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes:
        return "The URL must use https."
    if not parts.hostname:
        return "The URL must name a host."
    if parts.username is not None or parts.password is not None:
        return "The URL must not carry credentials."
    if parts.fragment:
        return "The URL must not have a fragment."
    if port == 0:
        return "The URL's port is not valid."
    return None


async def resolve(url: str, *, allow_private: bool, resolve_seconds: float = 5.0) -> Target:
    """The address to connect to for `url`, every address its host resolves to checked; raises
    `RefusedAddress` saying why not."""
    reason = why_not_url(url, allow_private=allow_private)
    if reason is not None:
        raise RefusedAddress(reason)
    parts = urlsplit(url)
    host = parts.hostname
    assert host is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
                resolve_seconds,
            )
        except (OSError, TimeoutError) as exc:
            raise RefusedAddress(f"The host '{host}' could not be resolved.") from exc
        addresses = []
        for info in infos:
            found = ipaddress.ip_address(info[4][0].partition("%")[0])
            if found not in addresses:
                addresses.append(found)
        if not addresses:
            raise RefusedAddress(f"The host '{host}' could not be resolved.")
    if not allow_private:
        for address in addresses:
            reason = why_not_address(address)
            if reason is not None:
                raise RefusedAddress(f"The host '{host}' resolves to {reason} ({address}).")
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0])
