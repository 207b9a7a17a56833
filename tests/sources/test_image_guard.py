"""Image fetching cannot be pointed inward: addresses, redirects, user-info, allow-list.

The image server runs on 127.0.0.1; the default policy refuses it, which is the point of
most tests here. No request may reach a refused address: the server's counters prove it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator

import anyio
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from within_daemon.sandbox.images import ImageServer
from within_daemon.sources.images import ImageFetcher
from within_daemon.sources.url_guard import (
    GuardedResolver,
    RefusedAddressError,
    UrlPolicy,
    refused_address,
)

LOOPBACK = UrlPolicy(allow_loopback=True)


@pytest.fixture
async def server() -> AsyncIterator[ImageServer]:
    srv = ImageServer()
    async with srv.serve():
        yield srv


async def fetch(url: str, policy: UrlPolicy | None = None) -> tuple[str, str | None]:
    async with ImageFetcher(timeout_seconds=2, policy=policy) as f:
        with anyio.fail_after(10):
            r = await f.fetch(url)
    return r.status, r.error


async def test_default_refuses_loopback_by_address_and_by_name(server: ImageServer) -> None:
    """127.0.0.1 and 'localhost' are refused by default without a request; opting in works."""
    port = server.base_url.rsplit(":", 1)[1]
    for url in (server.url("/img/a.png"), f"http://localhost:{port}/img/a.png",
                f"http://[::ffff:127.0.0.1]:{port}/img/a.png"):
        status, error = await fetch(url)
        assert status == "refused_host", (url, error)
        assert "loopback" in str(error)
    assert sum(server.requests.values()) == 0
    assert (await fetch(server.url("/img/a.png"), LOOPBACK))[0] == "ok"
    assert (await fetch(f"http://localhost:{port}/img/a.png", LOOPBACK))[0] == "ok"


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/x.png",
    "http://192.168.1.1/x.png", "http://[fd00:ec2::254]/x.png", "http://100.100.100.200/x",
    "http://224.0.0.1/x.png", "http://0.0.0.0/x.png", "http://[::]/x.png",
    "http://[64:ff9b::a00:1]/x.png",
])
async def test_redirect_inward_is_refused_at_the_hop(server: ImageServer, target: str) -> None:
    """A 302 from an allowed host to a metadata, private or multicast address is refused."""
    server.redirect("/img/r.png", target)
    status, error = await fetch(server.url("/img/r.png"), LOOPBACK)
    assert status == "refused_host" and str(error).startswith("redirect 1: "), error
    assert server.requests["/img/r.png"] == 1


async def test_redirects_to_allowed_hosts_are_followed_and_bounded(server: ImageServer) -> None:
    """Relative redirects are followed; a loop ends after five hops as an http_error."""
    server.redirect("/img/old.png", "/img/new.png")
    assert (await fetch(server.url("/img/old.png"), LOOPBACK))[0] == "ok"
    server.redirect("/img/loop.png", "/img/loop.png")
    status, error = await fetch(server.url("/img/loop.png"), LOOPBACK)
    assert (status, error) == ("http_error", "more than 5 redirects")
    assert server.requests["/img/loop.png"] == 6


async def test_user_info_and_non_http_urls_are_refused(server: ImageServer) -> None:
    """user:pw@ (even the cdn@internal trick) and other schemes are invalid URLs."""
    port = server.base_url.rsplit(":", 1)[1]
    for url in (f"http://cdn.example.com@127.0.0.1:{port}/img/a.png",
                f"http://user:pw@127.0.0.1:{port}/img/a.png", "file:///etc/passwd",
                "gopher://127.0.0.1/"):
        assert (await fetch(url, LOOPBACK))[0] == "invalid_url", url
    assert sum(server.requests.values()) == 0


async def test_allow_list_limits_hosts(server: ImageServer) -> None:
    """With image_allowed_hosts only those hosts (or *.subdomains) are fetched from."""
    only_cdn = UrlPolicy(allow_loopback=True, allowed_hosts=("cdn.example.com", "*.fbcdn.net"))
    status, error = await fetch(server.url("/img/a.png"), only_cdn)
    assert status == "refused_host" and "image_allowed_hosts" in str(error)
    assert only_cdn.check_url("https://scontent.xx.fbcdn.net/a.jpg") is None
    assert only_cdn.check_url("https://CDN.example.com./a.jpg") is None
    assert only_cdn.check_url("https://fbcdn.net.evil.com/a.jpg") is not None
    both = UrlPolicy(allow_loopback=True, allowed_hosts=("127.0.0.1",))
    assert (await fetch(server.url("/img/a.png"), both))[0] == "ok"


class FixedResolver(AbstractResolver):
    """A DNS that answers every name with the given addresses."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [{"hostname": host, "host": a, "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": 0} for a in self.addresses]

    async def close(self) -> None:
        return None


async def test_resolver_keeps_only_public_addresses() -> None:
    """A name resolving to private addresses is refused; mixed answers keep the public ones."""
    with pytest.raises(RefusedAddressError, match="private"):
        await GuardedResolver(UrlPolicy(), FixedResolver("10.1.2.3")).resolve("in.example", 80)
    kept = await GuardedResolver(UrlPolicy(), FixedResolver("10.1.2.3", "93.184.216.34")
                                 ).resolve("mixed.example", 80)
    assert [r["host"] for r in kept] == ["93.184.216.34"]


def test_address_classes() -> None:
    """Every inward class is refused, loopback only without the opt-in; public passes."""
    refused = ["127.0.0.1", "::1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254",
               "fe80::1", "fd00::1", "100.64.0.1", "224.0.0.251", "ff02::1", "0.0.0.0",
               "::ffff:10.0.0.1", "2002:a00:1::", "240.0.0.1", "198.18.0.1"]
    for a in refused:
        assert refused_address(ipaddress.ip_address(a)) is not None, a
    assert refused_address(ipaddress.ip_address("127.0.0.2"), allow_loopback=True) is None
    assert refused_address(ipaddress.ip_address("::1"), allow_loopback=True) is None
    assert refused_address(ipaddress.ip_address("169.254.169.254"), allow_loopback=True)
    for a in ("93.184.216.34", "2606:4700::6810:84e5", "8.8.8.8"):
        assert refused_address(ipaddress.ip_address(a)) is None, a
