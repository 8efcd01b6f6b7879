"""The periodic jobs deploy/Procfile runs as their own processes keep going with `--every`."""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


class Stop(Exception):
    pass


@pytest.mark.parametrize("command", [["expire_orders"], ["kds_outbox_prune", "--keep-hours", "1"],
                                     ["loyalty_expire"]])
def test_every_repeats_the_pass_after_the_pause(command, monkeypatch):
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 2:
            raise Stop

    monkeypatch.setattr("time.sleep", sleep)
    with pytest.raises(Stop):
        call_command(*command, "--every", "30", stdout=StringIO())
    assert pauses == [30, 30]  # a pass, a pause, a pass, a pause


def test_without_every_the_prune_runs_once():
    out = StringIO()
    call_command("kds_outbox_prune", stdout=out)
    assert out.getvalue().count("Deleted") == 1
