"""Stripe settings are checked at start: a key pasted into the wrong variable stops the process with its name."""

import os
import subprocess
import sys

import pytest


def start_with(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    environment.update(env, DJANGO_SETTINGS_MODULE="orderahead.settings.base")
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=environment,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env, named", [
    ({"STRIPE_SECRET_KEY": "pk_test_oops"}, "STRIPE_SECRET_KEY"),
    ({"STRIPE_SECRET_KEY": "sk_test_ok", "STRIPE_WEBHOOK_SECRET": "sk_test_oops"}, "STRIPE_WEBHOOK_SECRET"),
    ({"STRIPE_PUBLISHABLE_KEY": "pk_test_ok"}, "STRIPE_PUBLISHABLE_KEY"),
])
def test_misplaced_stripe_key_stops_the_start(env, named):
    started = start_with(**env)

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr and named in started.stderr


def test_real_looking_keys_start():
    assert start_with(STRIPE_SECRET_KEY="sk_test_1", STRIPE_PUBLISHABLE_KEY="pk_test_1",
                      STRIPE_WEBHOOK_SECRET="whsec_1").returncode == 0
