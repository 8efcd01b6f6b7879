"""The loop of a periodic job run as a process of its own (`--every SECONDS`, as deploy/Procfile runs them)."""

import logging
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, close_old_connections

logger = logging.getLogger(__name__)


def run_every(every: int, run_pass: Callable[[], None]) -> None:
    """`run_pass()` once (every <= 0: a failure is the command's error, for cron to see), or one pass every
    `every` seconds for good. In the loop a pass that fails on the database (a restart, a dropped
    connection) is logged and its broken connection let go; the next pass runs on time. The process must
    not end on such a blip: honcho stops the whole stack when one of its processes exits."""
    while True:
        if every <= 0:
            run_pass()
            return
        try:
            run_pass()
        except (OperationalError, InterfaceError) as error:
            logger.warning("periodic pass failed on the database, next one in %s s: %s", every,
                           str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__)
            close_old_connections()  # the connection the failure left unusable is closed, not reused
        time.sleep(every)
