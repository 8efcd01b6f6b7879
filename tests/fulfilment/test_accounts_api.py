"""Customer accounts: sign up, log in, and use the token on the ordering API."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tests import factories

pytestmark = pytest.mark.django_db

User = get_user_model()


def register(api, username="jody", password="flat white 2024", **extra):
    return api.post("/api/auth/register/", {"username": username, "password": password, **extra}, format="json")


def assert_error(response, status: int, code: str, message: str = "") -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"], error
    return error


def test_register_returns_a_token_that_works_for_orders(api):
    response = register(api, email="jody@example.com")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["username"] == "jody" and body["token"]
    user = User.objects.get(username="jody")
    assert user.email == "jody@example.com" and user.check_password("flat white 2024")
    assert "password" not in body
    orders = api.get("/api/orders/", HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert orders.status_code == 200 and orders.json() == []


def test_duplicate_username_is_a_conflict(api, customer_a):
    for username in ("customer_a", "Customer_A"):
        error = assert_error(register(api, username=username), 409, "username_taken", "That username is taken")
        assert error["fields"] == {"username": "taken"}
    assert User.objects.filter(username__iexact="customer_a").count() == 1


@pytest.mark.parametrize("password, code, message", [
    ("password", "weak_password", "too common"),
    ("83920174652", "weak_password", "entirely numeric"),
    ("jojojojo1", "weak_password", "too similar to the username"),
    ("short", "invalid", "password: Ensure this field has at least 8 characters"),
])
def test_weak_password_is_refused(api, password, code, message):
    username = "jojojojo" if "jojo" in password else "jody"

    assert_error(register(api, username=username, password=password), 400, code, message)
    assert not User.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"password": "flat white 2024"}, "username"),
    ({"username": "jody"}, "password"),
    ({"username": "jody", "password": "flat white 2024", "email": "not-an-email"}, "email"),
    ({"username": "j", "password": "flat white 2024"}, "username"),
])
def test_incomplete_sign_up_is_a_400(api, body, field):
    assert_error(api.post("/api/auth/register/", body, format="json"), 400, "invalid", field)
    assert not User.objects.exists()


@pytest.mark.parametrize("username", [
    "jo dy", "<script>alert(1)</script>", "jody!", "o'brien", "jody/../admin", "jody\u200b", "\u2615jody",
    "jo\ndy", "j" * 151,
], ids=["space", "markup", "bang", "quote", "slash", "zero-width-space", "emoji", "newline-inside", "too-long"])
def test_username_outside_djangos_rules_is_a_400_naming_the_field(api, username):
    """The same rule as Django's User model: letters, digits and @/./+/-/_, up to its 150 characters."""
    error = assert_error(register(api, username=username), 400, error_code(username), "username")

    assert "username" in error["fields"]
    assert not User.objects.exists()


def error_code(username: str) -> str:
    return "invalid" if len(username) > 150 else "invalid_username"


def test_invalid_username_message_says_what_is_allowed(api):
    error = assert_error(register(api, username="jo dy"), 400, "invalid_username")

    assert error["message"] == ("Enter a valid username. This value may contain only letters, numbers, and "
                                "@/./+/-/_ characters.")
    assert error["fields"] == {"username": [error["message"]]}


@pytest.mark.parametrize("username", ["jody", "jody.b+coffee@x-y_z", "Zoë", "李小龍", "j" * 150])
def test_usernames_the_user_model_accepts_are_accepted(api, username):
    assert register(api, username=username).status_code == 201
    assert User.objects.get().username == username


def test_username_that_only_looks_different_is_taken(api, customer_a):
    """Fullwidth letters are the same username once normalised (NFKC), as the User model stores it."""
    error = assert_error(register(api, username="\uff23ustomer_a"), 409, "username_taken")

    assert error["fields"] == {"username": "taken"}
    assert User.objects.count() == 1


def test_malformed_sign_up_json_is_a_400(api):
    response = api.post("/api/auth/register/", "{username", content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_login_returns_the_token(api, customer_a):
    response = api.post("/api/auth/login/", {"username": "customer_a", "password": factories.PASSWORD}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"token": Token.objects.get(user=customer_a).key, "username": "customer_a"}
    again = api.post("/api/auth/login/", {"username": "customer_a", "password": factories.PASSWORD}, format="json")
    assert again.json()["token"] == response.json()["token"]
    assert api.get("/api/orders/", HTTP_AUTHORIZATION=f"Token {response.json()['token']}").status_code == 200


@pytest.mark.parametrize("username, password", [("customer_a", "wrong-password"), ("nobody", "whatever-123")])
def test_login_with_wrong_credentials_is_a_json_401(api, customer_a, username, password):
    response = api.post("/api/auth/login/", {"username": username, "password": password}, format="json")

    assert_error(response, 401, "bad_credentials", "Wrong username or password")
    assert not Token.objects.exists()


def test_login_of_a_deactivated_account_is_refused(api, customer_a):
    customer_a.is_active = False
    customer_a.save()

    response = api.post("/api/auth/login/", {"username": "customer_a", "password": factories.PASSWORD}, format="json")

    assert_error(response, 401, "bad_credentials")


def test_login_without_a_password_is_a_400(api):
    assert_error(api.post("/api/auth/login/", {"username": "customer_a"}, format="json"), 400, "invalid", "password")
