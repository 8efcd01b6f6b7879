"""/healthz answers while the process lives; /readyz says "compiling" (503) until the scheduler is
compiled or loaded in this process, then "ready" (200) when the database answers, every migration is
applied and Redis (when set) answers, each check named in the body; `manage.py warm_scheduler` does the
warm-up with progress lines (orderahead/readiness.py)."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from core_native import warm
from orderahead import readiness

pytestmark = pytest.mark.django_db  # /readyz checks the database and its migrations


@pytest.fixture
def fresh_state(monkeypatch):
    """This process's readiness as a new worker has it (nothing warmed yet)."""
    state = readiness.Readiness()
    monkeypatch.setattr(readiness, "STATE", state)
    return state


def test_healthz_answers_while_the_scheduler_compiles(fresh_state):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_says_compiling_until_the_warm_up_is_done(fresh_state):
    client = Client()
    before = client.get("/readyz")
    assert before.status_code == 503
    assert before.json()["status"] == "compiling"
    assert before["Cache-Control"].startswith("max-age=0")

    fresh_state.run_warm_up()

    after = client.get("/readyz")
    assert after.status_code == 200
    body = after.json()
    assert body["status"] == "ready"
    assert body["kernels_total"] >= len(warm.compiled_kernels())


def test_readyz_reports_a_failed_warm_up(fresh_state, monkeypatch):
    def broken(progress=None):
        raise RuntimeError("no compiler")

    monkeypatch.setattr("core_native.warm_up", broken)
    with pytest.raises(RuntimeError):
        fresh_state.run_warm_up()
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["error"]) == ("failed", "RuntimeError: no compiler")
    assert body["checks"]["scheduler"] == {"ok": False, "error": "RuntimeError: no compiler"}


def test_background_warm_up_makes_the_process_ready(fresh_state):
    fresh_state.start_in_background().join(timeout=900)
    assert Client().get("/readyz").json()["status"] == "ready"


def test_warm_scheduler_prints_progress_while_compiling(fresh_state, monkeypatch):
    def compiling(progress=None):  # what warm_up reports on a fresh install, three kernels long
        for done in (1, 2, 3):
            progress(warm.WarmUpProgress(done, 3, 10.0 * done))
        progress(warm.WarmUpProgress(3, 3, 30.0, done=True))
        return {"seconds": 30.0, "compiled": 3, "total": 3}

    monkeypatch.setattr("core_native.warm_up", compiling)
    out = io.StringIO()
    call_command("warm_scheduler", stdout=out)
    text = out.getvalue()
    assert "Compiling the scheduler (first run only, about" in text
    assert "3/3 kernels" in text
    assert "Scheduler compiled in 30.0 s (3 kernels)" in text
    assert fresh_state.as_json()["status"] == "ready"


def test_warm_scheduler_says_when_it_only_loaded_the_cache(fresh_state):
    call_command("warm_scheduler", stdout=io.StringIO())  # compiled or loaded: from here on it is warm
    out = io.StringIO()
    call_command("warm_scheduler", stdout=out)
    assert "Scheduler loaded from cache in" in out.getvalue()
    assert "Compiling" not in out.getvalue()


ALL_OK = {"database": {"ok": True}, "migrations": {"ok": True}, "scheduler": {"ok": True}}


@pytest.fixture
def warm_state(fresh_state, settings, monkeypatch):
    """A worker whose scheduler is ready, without Redis, and that has not checked its migrations yet."""
    fresh_state.run_warm_up()
    settings.REDIS_URL = ""
    monkeypatch.setattr(readiness, "_migrations_applied", False)
    return fresh_state


def test_readyz_names_every_check_when_all_pass(warm_state):
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == ALL_OK


def test_readyz_fails_while_a_migration_is_unapplied(warm_state, monkeypatch):
    class OneUnapplied:
        def __init__(self, connection):
            self.loader = type("Loader", (), {"graph": type("Graph", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets):
            return [(type("Migration", (), {"app_label": "fulfilment", "name": "0099_new"})(), False)]

    monkeypatch.setattr(readiness, "MigrationExecutor", OneUnapplied)
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["migrations"] == {"ok": False,
                                            "error": "1 unapplied (manage.py migrate): fulfilment.0099_new"}
    assert body["checks"]["database"] == {"ok": True}


def test_readyz_fails_when_the_database_does_not_answer(warm_state, monkeypatch):
    def refused():
        raise OSError("connection refused")

    monkeypatch.setattr(readiness, "connection", type("Down", (), {"cursor": staticmethod(refused)})())
    monkeypatch.setattr(readiness, "_migrations_applied", True)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "error": "OSError: connection refused"}


def test_readyz_checks_redis_only_when_it_is_set(warm_state, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert "ConnectionError" in body["checks"]["redis"]["error"]
