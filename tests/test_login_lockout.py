"""Sign-in lock-out (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords the kitchen screens' and the
admin's sign-in forms, and the API's token login, refuse that username (from anywhere) and that client
address (for anyone) for the cool-off, even with the right password; other people elsewhere sign in."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db

FORMS = ["/kds/login/", "/admin/login/"]
ATTACKER, ELSEWHERE = "203.0.113.9", "198.51.100.20"


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


@pytest.fixture
def staff(db, store):
    """Two staff accounts that can use both forms (admin needs is_staff)."""
    people = {}
    for name in ("barista_x", "barista_y"):
        user = factories.staff(name, store, "barista")
        user.is_staff = True
        user.save()
        people[name] = user
    return people


def sign_in(client, url, username, password="wrong-password"):
    return client.post(url, {"username": username, "password": password})


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def assert_locked_page(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    assert b"Too many failed sign-ins" in response.content


@pytest.mark.parametrize("url", FORMS)
def test_a_form_locks_a_user_out_after_the_limit_even_with_the_right_password(url, staff, limit):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    answers = [sign_in(attacker, url, "barista_x").status_code for _ in range(limit - 1)]
    assert answers == [200] * (limit - 1)  # the form again, saying the password did not match

    assert_locked_page(sign_in(attacker, url, "barista_x"))
    assert_locked_page(sign_in(attacker, url, "barista_x", factories.PASSWORD))
    assert not signed_in(attacker)

    # The username is locked from any address ...
    elsewhere = Client(REMOTE_ADDR="192.0.2.50")
    assert_locked_page(sign_in(elsewhere, url, "barista_x", factories.PASSWORD))
    # ... and the address for any username.
    assert_locked_page(sign_in(attacker, url, "barista_y", factories.PASSWORD))
    # Another user from another address is not held up.
    colleague = Client(REMOTE_ADDR=ELSEWHERE)
    assert sign_in(colleague, url, "barista_y", factories.PASSWORD).status_code == 302
    assert signed_in(colleague)


def test_a_lock_earned_on_one_form_holds_on_the_other(staff, limit):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(limit):
        sign_in(attacker, "/kds/login/", "barista_x")

    assert_locked_page(sign_in(Client(REMOTE_ADDR=ELSEWHERE), "/admin/login/", "barista_x", factories.PASSWORD))


def test_rotating_forwarded_for_does_not_dodge_the_address_lock(staff, limit, settings):
    settings.TRUSTED_PROXIES = []
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for n in range(limit):
        attacker.post("/kds/login/", {"username": f"guess{n}", "password": "x"}, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    refused = attacker.post("/kds/login/", {"username": "barista_y", "password": factories.PASSWORD},
                            HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert_locked_page(refused)


def test_the_api_token_login_counts_and_answers_in_json(staff, limit):
    api = APIClient(REMOTE_ADDR=ATTACKER)
    answers = [api.post("/api/auth/login/", {"username": "barista_x", "password": "wrong-password"},
                        format="json").status_code for _ in range(limit - 1)]
    assert answers == [401] * (limit - 1)

    for password in ("wrong-password", factories.PASSWORD):
        refused = api.post("/api/auth/login/", {"username": "barista_x", "password": password}, format="json")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) == 15 * 60
        error = refused.json()["error"]
        assert error["code"] == "locked_out" and "Too many failed sign-ins" in error["message"]
        assert error["retry_after_s"] == 15 * 60
        assert "token" not in refused.json()
    # The lock is the account's everywhere, the kitchen screens' form included.
    assert_locked_page(sign_in(Client(REMOTE_ADDR=ELSEWHERE), "/kds/login/", "barista_x", factories.PASSWORD))
    other = APIClient(REMOTE_ADDR=ELSEWHERE).post("/api/auth/login/", {"username": "barista_y",
                                                                       "password": factories.PASSWORD}, format="json")
    assert other.status_code == 200 and other.json()["token"]
