"""Is this process ready to serve? `/healthz` (it answers) and `/readyz` (the scheduler is compiled).

A fresh install compiles the scheduler's kernels on first use (minutes; docs/SCHEDULER.md,
"Cold compile"); every later process loads Numba's cache in under a second. Until that is done in
this process a quote would wait for the compiler, so `/readyz` answers 503 {"status": "compiling"}
and a load balancer (or `make run`, which warms up before starting Daphne) keeps traffic away.

orderahead/asgi.py starts the warm-up in a background thread when the ASGI app loads
(`start_warm_up`), so every production worker warms itself; SCHEDULER_WARM_UP=0 turns that off.
"""

from __future__ import annotations

import logging
import threading
import time

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


@never_cache
@require_GET
def readyz(request):
    """200 {"status": "ready"} once the scheduler is compiled or loaded in this process; 503 until then."""
    body = STATE.as_json()
    return JsonResponse(body, status=200 if body["status"] == "ready" else 503)
