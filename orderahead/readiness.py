"""Is this process ready to serve? `/healthz` (liveness: it answers) and `/readyz` (readiness).

`/readyz` answers 200 only when every check passes, else 503, with each check named in the body:
- `database`: a query goes through;
- `migrations`: no migration of this code is left unapplied (once true it is remembered: a process's code
  does not change under it);
- `redis`: PING answers (only when REDIS_URL is set: the channel layer and the cache live there);
- `scheduler`: the compiled kernels are loaded in this process.

A fresh install compiles the scheduler's kernels on first use (minutes; docs/SCHEDULER.md, "Cold
compile"); every later process loads Numba's cache in under a second. Until that is done in this process
a quote would wait for the compiler, so `status` is "compiling" (503) and a load balancer (or `make run`,
which warms up before starting Daphne) keeps traffic away. `status` is "ready", "compiling", "failed"
(the warm-up failed) or "unavailable" (the scheduler is ready but another check fails).

orderahead/asgi.py starts the warm-up in a background thread when the ASGI app loads
(`start_warm_up`), so every production worker warms itself; SCHEDULER_WARM_UP=0 turns that off.
Nothing polls `/readyz` by itself on this machine (nginx and honcho have no active health checks): a real
host's load balancer polls it on every worker.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


class Readiness:
    """The warm-up's state in this process: "compiling" (not finished, or not started), "ready" or "failed"."""

    def __init__(self):
        self._lock = threading.Lock()
        self.status = "compiling"
        self.compiled = 0
        self.total = 0
        self.started_at: float | None = None
        self.seconds: float | None = None
        self.error: str | None = None
        self.thread: threading.Thread | None = None

    def as_json(self) -> dict:
        with self._lock:
            body = {"status": self.status}
            if self.status == "ready":  # kernels_compiled: 0 when all came from the cache
                body.update(warm_up_s=round(self.seconds or 0.0, 3), kernels_compiled=self.compiled,
                            kernels_total=self.total)
            elif self.status == "failed":
                body["error"] = self.error
            else:
                body.update(started=self.started_at is not None, kernels_compiled=self.compiled,
                            kernels_total=self.total)
            return body

    def run_warm_up(self, progress=None) -> dict:
        """Compile or load the scheduler here and now (core_native.warm_up), then say "ready"."""
        from core_native import warm_up

        with self._lock:
            self.started_at = time.monotonic()

        def note(step):
            with self._lock:
                self.compiled, self.total = step.compiled, step.total
            if progress is not None:
                progress(step)

        try:
            result = warm_up(progress=note)
        except Exception as error:  # noqa: BLE001 - any failure: never "ready", and say why
            with self._lock:
                self.status, self.error = "failed", f"{type(error).__name__}: {error}"
            logger.exception("scheduler warm-up failed")
            raise
        with self._lock:
            self.status, self.seconds = "ready", result["seconds"]
            self.compiled, self.total = result["compiled"], result["total"]
        return result

    def start_in_background(self) -> threading.Thread:
        """Start the warm-up in a daemon thread (once); the process keeps answering meanwhile."""
        with self._lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._background, name="scheduler-warm-up", daemon=True)
                self.thread.start()
            return self.thread

    def _background(self):
        try:
            result = self.run_warm_up()
        except Exception:  # noqa: BLE001 - logged and reported by run_warm_up
            return
        logger.info("scheduler ready: %s kernels compiled, %.1f s", result["compiled"], result["seconds"])


STATE = Readiness()


def start_warm_up() -> threading.Thread:
    return STATE.start_in_background()


@never_cache
@require_GET
def healthz(request):
    """200 while the process answers (liveness)."""
    return JsonResponse({"status": "ok"})


def _failure(error: Exception) -> dict:
    return {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any failure means "not ready", and says why
        return _failure(error)
    return {"ok": True}


_migrations_applied = False


def check_migrations() -> dict:
    global _migrations_applied
    if _migrations_applied:
        return {"ok": True}
    try:
        executor = MigrationExecutor(connection)
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:  # any failure: not ready
        return _failure(error)
    if unapplied:
        names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in unapplied]
        return {"ok": False, "error": f"{len(names)} unapplied (manage.py migrate): {', '.join(names[:5])}"}
    _migrations_applied = True
    return {"ok": True}


@functools.lru_cache(maxsize=2)
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def check_redis() -> dict | None:
    """None when this process uses no Redis (no REDIS_URL)."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    try:
        _redis_client(url).ping()
    except Exception as error:  # any failure: not ready
        return _failure(error)
    return {"ok": True}


def check_scheduler(state: dict) -> dict:
    if state["status"] == "ready":
        return {"ok": True}
    return {"ok": False, "error": state.get("error") or "compiling"}


def readiness_report() -> dict:
    """The scheduler's state (status, warm-up figures) with every check under "checks"."""
    body = STATE.as_json()
    checks = {"database": check_database(), "migrations": check_migrations()}
    redis_check = check_redis()
    if redis_check is not None:
        checks["redis"] = redis_check
    checks["scheduler"] = check_scheduler(body)
    body["checks"] = checks
    if body["status"] == "ready" and not all(check["ok"] for check in checks.values()):
        body["status"] = "unavailable"
    return body


@never_cache
@require_GET
def readyz(request):
    """200 when every check passes (status "ready"); 503 otherwise, the failing checks saying why."""
    body = readiness_report()
    return JsonResponse(body, status=200 if body["status"] == "ready" else 503)
