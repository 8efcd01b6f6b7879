"""A periodic job's loop (orderahead.periodic.run_every) outlives a database blip; a single pass does not hide it."""

import pytest
from django.db import OperationalError

from orderahead import periodic


pytestmark = pytest.mark.django_db  # the loop lets go of broken connections after each pass


class Stop(Exception):
    pass


def test_a_pass_failing_on_the_database_is_logged_and_the_next_runs(monkeypatch, caplog):
    passes, sleeps = [], []

    def run_pass():
        passes.append(len(passes) + 1)
        if len(passes) == 1:
            raise OperationalError("terminating connection due to administrator command")

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise Stop

    monkeypatch.setattr(periodic.time, "sleep", sleep)
    with pytest.raises(Stop):
        periodic.run_every(30, run_pass)

    assert passes == [1, 2] and sleeps == [30, 30]
    assert "terminating connection" in caplog.text


def test_one_pass_raises_its_failure(monkeypatch):
    def run_pass():
        raise OperationalError("the database is away")

    with pytest.raises(OperationalError):
        periodic.run_every(0, run_pass)


def test_a_bug_ends_the_loop(monkeypatch):
    monkeypatch.setattr(periodic.time, "sleep", lambda seconds: None)
    with pytest.raises(ZeroDivisionError):
        periodic.run_every(30, lambda: 1 / 0)
