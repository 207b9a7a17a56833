"""Keep URLs that come from ad data from reaching inward: the image fetcher's address policy.

An ad's ``image_url`` is written by whoever can edit the ad, so fetching it must not let them
reach the daemon's own network: the loopback interface, private and shared ranges, link-local
addresses (the cloud metadata service at 169.254.169.254 among them), multicast, and every
other address that is not globally routable. :class:`UrlPolicy` checks a URL before a request
(scheme, no user-info, the optional host allow-list, an IP-literal host); :class:`GuardedResolver`
checks every address a host name resolves to, at connection time, inside aiohttp's connector,
so the address connected to is the address checked (no second lookup to rebind). The fetcher
follows redirects itself and checks each hop the same way.

Loopback is refused too unless ``allow_loopback`` is set: the sandbox's emulators serve images
from 127.0.0.1, so the sandbox config and the tests opt in; production configs must not.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refused_address(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why ``ip`` must not be fetched from (None when it is a public address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            why = refused_address(inner, allow_loopback=allow_loopback)
            return f"{why} (inside {ip})" if why else None
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is link-local (cloud metadata services live there)"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip.is_private:
        return f"{ip} is a private address"
    if not ip.is_global:
        return f"{ip} is not a globally routable address"
    return None


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    for entry in allowed:
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


@dataclass(frozen=True)
class UrlPolicy:
    """What image URLs may point at; see the module docstring."""

    allow_loopback: bool = False
    #: Empty: any public host. Else only these hosts (``cdn.example.com``) or subdomains
    #: (``*.example.com``), case-insensitive; addresses are still checked.
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_hosts",
                           tuple(h.strip().lower().rstrip(".") for h in self.allowed_hosts))

    def check_url(self, url: str) -> tuple[str, str] | None:
        """``(status, reason)`` when ``url`` is refused before any request, else None.

        Status ``invalid_url`` for what is not a plain http(s) URL, ``refused_host`` for a
        host outside the allow-list or an address that is not public.
        """
        try:
            parts = urlsplit(url)
            port = parts.port  # raises ValueError on a bad port
        except ValueError as exc:
            return "invalid_url", f"invalid URL: {exc}"
        del port
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "invalid_url", f"not an http(s) URL: {url[:80]!r}"
        if "@" in parts.netloc:
            # http://cdn.example.com@10.0.0.1/ reads like one host and goes to another.
            return "invalid_url", "user-info (user:password@) in an image URL is refused"
        host = parts.hostname.rstrip(".").lower()
        if self.allowed_hosts and not _host_allowed(host, self.allowed_hosts):
            return "refused_host", f"host {host[:80]!r} is not in image_allowed_hosts"
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return None  # a name: its addresses are checked when it is resolved
        why = refused_address(ip, allow_loopback=self.allow_loopback)
        return ("refused_host", why) if why else None


class RefusedAddressError(OSError):
    """Every address of a host is one the policy refuses."""


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that drops the addresses :func:`refused_address` refuses."""

    def __init__(self, policy: UrlPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        # Made on first use: aiohttp's DefaultResolver may be aiodns, which wants a loop.
        self._inner = inner

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = DefaultResolver()
        found = await self._inner.resolve(host, port, family)
        kept, reasons = [], []
        for r in found:
            try:
                ip = ipaddress.ip_address(r["host"].split("%", 1)[0])
            except ValueError:
                reasons.append(f"{r['host']!r} is not an address")
                continue
            why = refused_address(ip, allow_loopback=self.policy.allow_loopback)
            if why is None:
                kept.append(r)
            else:
                reasons.append(why)
        if not kept:
            raise RefusedAddressError(
                f"{host} resolves only to refused addresses: {'; '.join(reasons)[:300]}")
        return kept

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
