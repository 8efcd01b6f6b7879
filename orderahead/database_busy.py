"""A request that finds every pooled database connection busy gets a 503 that says so, not a 500.

The pool (DB_POOL_MAX_SIZE per process) is what keeps a rush from exhausting PostgreSQL's connections;
past it requests queue for DB_POOL_TIMEOUT_S. One that still gets none was refused for load, not for a
bug: the client is told to retry shortly, and nothing was written (the request never reached a query).
"""

import logging

from django.db import OperationalError

from orderahead.api_errors import json_error

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 2


def _is_pool_timeout(exception: BaseException) -> bool:
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # SQLite-only installs have no pool
        return False
    return isinstance(exception, OperationalError) and isinstance(exception.__cause__, PoolTimeout)


class DatabaseBusyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not _is_pool_timeout(exception):
            return None
        logger.warning("database pool exhausted: %s %s answered 503", request.method, request.path)
        return json_error("busy", "The service is busy right now. Please try again in a few seconds; nothing "
                                  "was changed.", 503, retry_after_s=RETRY_AFTER_S)
