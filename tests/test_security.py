"""Production settings, run as an operator would (a subprocess with the environment set): a weak SECRET_KEY
stops the start with a message naming it, `manage.py check --deploy` is clean with a proper key, and
pages and static files carry HSTS, nosniff and the Content-Security-Policy."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROPER_KEY = "k9#Qz!v2Lr8@Xw5^Tb7&Mn3*Pd6(Hs1)Fj4-Gc0+Yq=Ue_Ao~Ki"  # 52 characters, all different


def production(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("STRIPE_", "SECURE_", "DJANGO_")) and name not in ("SECRET_KEY", "DEBUG")}
    environment.update({"DJANGO_SETTINGS_MODULE": "orderahead.settings.production", "SECRET_KEY": PROPER_KEY,
                        "ALLOWED_HOSTS": "example.com,testserver", **env})
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_is_clean_with_a_proper_key():
    result = production("manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


@pytest.mark.parametrize("key", ["", "dev-only-insecure-key-change-me", "django-insecure-" + "x1y2z3" * 10,
                                 "too-short-but-random-9f8e7d", "ab" * 40])
def test_production_refuses_to_start_with_an_empty_or_weak_key(key):
    result = production("manage.py", "check", SECRET_KEY=key)

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and "SECRET_KEY" in last_line, result.stderr[-2000:]


RESPONSE_HEADERS = """
import json, django
django.setup()
from django.test import Client
client = Client()
out = {}
for path in ("/kds/login/", "/static/kitchen_display/kds.css", "/"):
    response = client.get(path, secure=True)
    out[path] = {"status": response.status_code, "headers": dict(response.headers),
                 "body": response.content.decode() if path == "/" else ""}
print(json.dumps(out))
"""


def headers_in_production(**env: str) -> dict:
    result = production("-c", RESPONSE_HEADERS, DATABASE_URL="sqlite:///:memory:", **env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pages_and_static_files_carry_the_security_headers():
    answers = headers_in_production()

    for path in ("/kds/login/", "/static/kitchen_display/kds.css"):
        headers = answers[path]["headers"]
        assert answers[path]["status"] == 200, path
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
    policy = answers["/kds/login/"]["headers"]["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "connect-src 'self' ws: wss:" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_the_customer_apps_inline_script_carries_the_policys_nonce():
    answer = headers_in_production()["/"]

    policy = answer["headers"]["Content-Security-Policy"]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in answer["body"]
    assert "js.stripe.com" not in policy  # no Stripe key, no stripe.js


def test_with_a_stripe_key_the_policy_lets_the_payment_element_load():
    answer = headers_in_production(STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x")["/"]

    policy = dict(part.strip().split(" ", 1) for part in answer["headers"]["Content-Security-Policy"].split(";"))
    assert "https://js.stripe.com" in policy["script-src"]
    assert "https://js.stripe.com" in policy["frame-src"] and "https://hooks.stripe.com" in policy["frame-src"]
    assert "https://api.stripe.com" in policy["connect-src"]
    assert '<script src="https://js.stripe.com/v3/"></script>' in answer["body"]


FORWARDED_PROTO = """
import json, django
django.setup()
from django.test import Client
answers = {}
for peer in ("203.0.113.9", "10.0.0.2"):
    response = Client(REMOTE_ADDR=peer).get("/kds/login/", HTTP_X_FORWARDED_PROTO="https")
    answers[peer] = [response.status_code, response.headers.get("Location", ""),
                     response.headers.get("Strict-Transport-Security", "")]
print(json.dumps(answers))
"""


def test_x_forwarded_proto_counts_only_from_a_trusted_proxy():
    result = production("-c", FORWARDED_PROTO, DATABASE_URL="sqlite:///:memory:", TRUSTED_PROXIES="10.0.0.0/8")
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])

    # A client on plain HTTP that claims HTTPS is still sent to HTTPS, and gets no HSTS over HTTP.
    assert answers["203.0.113.9"] == [301, "https://testserver/kds/login/", ""]
    # The proxy that terminated TLS is believed.
    status, _, hsts = answers["10.0.0.2"]
    assert status == 200 and hsts.startswith("max-age=")
