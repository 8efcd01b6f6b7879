"""DRF throttles that identify an anonymous client by orderahead.client_ip, not by X-Forwarded-For.

DRF's own `get_ident` believes `X-Forwarded-For` from anyone unless NUM_PROXIES is set, so a client that
sends a new made-up address with each request is never throttled. Views use these classes instead of
rest_framework.throttling's (settings also set NUM_PROXIES = 0, so a stray DRF throttle falls back to
the connecting address rather than the header).
"""

from rest_framework import throttling

from orderahead.client_ip import client_ip


class ClientAddressMixin:
    def get_ident(self, request):
        return client_ip(request)


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle):
    pass


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    pass
