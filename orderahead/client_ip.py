"""The one place that says which address a request came from.

Any client can send `X-Forwarded-For: <whatever>`, so the header is believed only when the peer that
connected to us (REMOTE_ADDR) is one of the proxies named in TRUSTED_PROXIES. Then the client is the
right-most address in the header that is not itself a trusted proxy: each proxy appends the address it
saw, so everything to the left of that entry was written by the client and may be forged.

The throttles (orderahead.throttling), the login lock-out (django-axes, AXES_CLIENT_IP_CALLABLE) and
anything else that limits per client use this, so one rotated header cannot reset any of them.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.utils.deprecation import MiddlewareMixin

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _parse(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client reaching an IPv6 socket shows up as ::ffff:a.b.c.d; count it as the IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, networks) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_ip(request) -> str:
    """The client's address as text (an empty string when the connection has none, as in some tests).
    Takes a Django or DRF request, or anything with a `META` dict."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR") or ""
    peer = _parse(remote)
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if peer is None or not networks or not _is_trusted(peer, networks):
        return str(peer) if peer is not None else remote
    forwarded = [part for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for entry in reversed(forwarded):
        address = _parse(entry)
        if address is None:
            # Our own proxy wrote something that is not an address: believe nothing further left.
            return str(peer)
        if not _is_trusted(address, networks):
            return str(address)
    # Every hop is one of ours (or there is no header): the left-most is as close to the client as we get.
    first = _parse(forwarded[0]) if forwarded else None
    return str(first or peer)


def is_trusted_proxy(value: str) -> bool:
    """Whether the address `value` (text) is one of TRUSTED_PROXIES."""
    address = _parse(value)
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    return address is not None and _is_trusted(address, networks)


def from_trusted_proxy(request) -> bool:
    return is_trusted_proxy(request.META.get("REMOTE_ADDR") or "")


class ForwardedProtoFromTrustedProxiesOnly(MiddlewareMixin):
    """Production's SECURE_PROXY_SSL_HEADER makes Django believe `X-Forwarded-Proto: https` from anyone, so a
    client talking plain HTTP could say it was HTTPS and skip the redirect. The header counts only when a
    proxy in TRUSTED_PROXIES sent it. First in MIDDLEWARE: SecurityMiddleware decides on it."""

    def process_request(self, request):
        if "HTTP_X_FORWARDED_PROTO" in request.META and not from_trusted_proxy(request):
            del request.META["HTTP_X_FORWARDED_PROTO"]
