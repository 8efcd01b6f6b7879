"""Settings read from the environment: a bad value stops the start with the variable's name."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from orderahead.env import env_bool, env_float, env_int


def test_a_number_setting_reads_its_value_or_the_default(monkeypatch):
    monkeypatch.delenv("KDS_OUTBOX_POLL_S", raising=False)
    assert env_float("KDS_OUTBOX_POLL_S", 1.0, minimum=0.05) == 1.0
    monkeypatch.setenv("KDS_OUTBOX_POLL_S", "0.25")
    assert env_float("KDS_OUTBOX_POLL_S", 1.0, minimum=0.05) == 0.25


@pytest.mark.parametrize("raw", ["fast", "0.01", "-1", "nan", "inf"])
def test_a_bad_number_setting_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("KDS_OUTBOX_POLL_S", raw)
    with pytest.raises(ImproperlyConfigured, match="KDS_OUTBOX_POLL_S"):
        env_float("KDS_OUTBOX_POLL_S", 1.0, minimum=0.05)


def test_bad_booleans_and_integers_name_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    monkeypatch.setenv("STRIPE_TIMEOUT_S", "twenty")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG")
    with pytest.raises(ImproperlyConfigured, match="STRIPE_TIMEOUT_S"):
        env_int("STRIPE_TIMEOUT_S", 20)
