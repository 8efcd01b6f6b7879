"""Hostile request bodies get the API's JSON error shape, never a 500 or Django's HTML page: JSON nested
thousands of levels deep is a 400 that says so, a body over DATA_UPLOAD_MAX_MEMORY_SIZE a 413."""

import json

import pytest
from rest_framework.test import APIClient

from orderahead.parsers import MAX_DEPTH

pytestmark = pytest.mark.django_db


@pytest.fixture
def anonymous():
    return APIClient(raise_request_exception=False)  # a 500 is an answer here, not a test crash


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def anonymous_endpoints(store):
    return [f"/api/stores/{store.pk}/quote/", "/api/auth/login/", "/api/auth/register/"]


@pytest.mark.parametrize("depth", [100_000, MAX_DEPTH + 1])
def test_deeply_nested_json_is_a_400_that_says_so(anonymous, store, depth):
    for url in anonymous_endpoints(store):
        response = anonymous.generic("POST", url, nested(depth), content_type="application/json")

        assert response.status_code == 400, (url, response.content[:200])
        error = response.json()["error"]
        assert error["code"] == "parse_error" and "nested too deeply" in error["message"], url


def test_nesting_an_ordinary_request_needs_is_accepted(anonymous, store, menu):
    body = {"items": [{"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["large"].pk]}], "pickup": "asap"}

    response = anonymous.post(f"/api/stores/{store.pk}/quote/", body, format="json")

    assert response.status_code == 200, response.json()


def test_an_oversized_body_is_a_json_413(anonymous, store, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    padding = json.dumps({"items": [], "pad": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    for url in [*anonymous_endpoints(store), "/api/payments/stripe/webhook/"]:
        response = anonymous.generic("POST", url, padding, content_type="application/json")

        assert response.status_code == 413, (url, response.status_code, response.content[:200])
        assert response["Content-Type"] == "application/json"
        error = response.json()["error"]
        assert error["code"] == "too_large" and "0.0625 MiB" in error["message"], url


def test_the_webhook_refuses_a_deeply_nested_body_without_a_500(anonymous, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"

    response = anonymous.generic("POST", "/api/payments/stripe/webhook/", nested(100_000),
                                 content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00")

    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_signature"
