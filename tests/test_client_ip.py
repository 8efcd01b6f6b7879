"""Which address a request came from: X-Forwarded-For is believed only from the proxies in TRUSTED_PROXIES,
so a client that makes up a new address per request is still throttled as itself."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from orderahead.client_ip import client_ip
from orderahead.env import env_networks

pytestmark = pytest.mark.django_db

PROXY = "10.1.2.3"


@pytest.fixture(autouse=True)
def low_rates(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "3/min", "order_place": "2/min"})


def login(client, forwarded_for=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return client.post("/api/auth/login/", {"username": "nobody", "password": "wrong-password"}, format="json",
                       **extra)


def test_a_rotated_forwarded_header_does_not_reset_the_limit(settings):
    settings.TRUSTED_PROXIES = []
    attacker = APIClient(REMOTE_ADDR="203.0.113.9")

    answers = [login(attacker, forwarded_for=f"198.51.100.{n}").status_code for n in range(1, 5)]

    assert answers == [401, 401, 401, 429]
    assert login(APIClient(REMOTE_ADDR="203.0.113.10")).status_code == 401  # someone else is not held up


def test_forged_entries_left_of_what_our_proxy_saw_do_not_count(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    through_proxy = APIClient(REMOTE_ADDR=PROXY)

    # The client forges the left part; the proxy appends the address it really saw.
    answers = [login(through_proxy, forwarded_for=f"192.0.2.{n}, 198.51.100.7").status_code for n in range(1, 5)]

    assert answers == [401, 401, 401, 429]


def test_behind_a_trusted_proxy_the_header_tells_clients_apart(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    through_proxy = APIClient(REMOTE_ADDR=PROXY)
    for _ in range(3):
        login(through_proxy, forwarded_for="198.51.100.7")

    assert login(through_proxy, forwarded_for="198.51.100.7").status_code == 429
    # Another customer behind the same proxy still gets in: the limit is not the proxy's.
    assert login(through_proxy, forwarded_for="198.51.100.8").status_code == 401


@pytest.mark.parametrize(("trusted", "remote", "forwarded", "expected"), [
    ([], "203.0.113.9", "198.51.100.1", "203.0.113.9"),                   # nobody trusted: the peer
    (["10.0.0.0/8"], "203.0.113.9", "198.51.100.1", "203.0.113.9"),       # the peer is no proxy of ours
    (["10.0.0.0/8"], "10.0.0.5", "198.51.100.1", "198.51.100.1"),
    (["10.0.0.0/8"], "10.0.0.5", "1.2.3.4, 198.51.100.1, 10.0.0.4", "198.51.100.1"),  # two proxies of ours
    (["10.0.0.0/8"], "10.0.0.5", "", "10.0.0.5"),                         # a proxy with no header
    (["10.0.0.0/8"], "10.0.0.5", "10.0.0.2, 10.0.0.3", "10.0.0.2"),       # only our own hops
    (["10.0.0.0/8"], "10.0.0.5", "1.2.3.4, not-an-ip", "10.0.0.5"),       # garbage from our side: stop there
    (["10.0.0.5"], "10.0.0.6", "198.51.100.1", "10.0.0.6"),               # a single address, not a range
    (["2001:db8::/32"], "2001:db8::1", "2001:db8:1::9, 2a00::7", "2a00::7"),
    (["127.0.0.1"], "::ffff:127.0.0.1", "198.51.100.1", "198.51.100.1"),  # IPv4 on an IPv6 socket
])
def test_client_address(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_trusted_proxies_setting_is_read_strictly(monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    assert env_networks("TRUSTED_PROXIES") == []
    monkeypatch.setenv("TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32")
    assert env_networks("TRUSTED_PROXIES") == ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"]
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES.*proxy.internal"):
        env_networks("TRUSTED_PROXIES")
