"""A request that cannot reach the database or Redis gets a JSON 503 with Retry-After, not a 500.

Three ways a healthy request fails for a moment, each answered "retry shortly" so a client retries (with
its Idempotency-Key, where it has one) instead of being left unsure whether its order exists:

- every pooled database connection is busy (DB_POOL_MAX_SIZE per process, waited for DB_POOL_TIMEOUT_S):
  refused for load before any query, nothing was written;
- the database connection broke or the server refused the work (django.db.OperationalError or
  InterfaceError: the server restarted, an operator ran pg_terminate_backend, a failover): the
  transaction was rolled back with it, except when the commit itself was cut, where it may have gone
  through; either way a retry with the same Idempotency-Key returns the one order there is;
- Redis, which holds the throttle counters and the channel layer, does not answer (it restarts): the
  request stopped at the throttle, before the order was looked at.

The pool hands out only connections that pass psycopg's check (CONN_HEALTH_CHECKS, orderahead.env), so a
connection the server dropped between requests is replaced rather than failing the next request.
"""

import logging

from django.db import InterfaceError, OperationalError

from orderahead.api_errors import json_error

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 2


def _is_pool_timeout(exception: BaseException) -> bool:
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # SQLite-only installs have no pool
        return False
    return isinstance(exception, OperationalError) and isinstance(exception.__cause__, PoolTimeout)


def _is_redis_unreachable(exception: BaseException) -> bool:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # installs without Redis keep the cache and channel layer in memory
        return False
    return isinstance(exception, RedisConnectionError | RedisTimeoutError)


def is_unavailable(exception: BaseException) -> bool:
    """The database or Redis failed to answer (not a bug): retrying shortly is the remedy."""
    return isinstance(exception, OperationalError | InterfaceError) or _is_redis_unreachable(exception)


BUSY = "The service is busy right now. Please try again in a few seconds; nothing was changed."
UNAVAILABLE = ("The service is briefly unavailable. Please try again in a few seconds; retrying with the same "
               "Idempotency-Key never orders twice.")


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if _is_pool_timeout(exception):
            logger.warning("database pool exhausted: %s %s answered 503", request.method, request.path)
            return json_error("busy", BUSY, 503, retry_after_s=RETRY_AFTER_S)
        if is_unavailable(exception):
            logger.warning("%s: %s %s answered 503", _first_line(exception), request.method, request.path)
            return json_error("unavailable", UNAVAILABLE, 503, retry_after_s=RETRY_AFTER_S)
        return None


def _first_line(exception: BaseException) -> str:
    text = str(exception).strip()
    return f"{type(exception).__name__}: {text.splitlines()[0][:200] if text else ''}"
