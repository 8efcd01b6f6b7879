"""Fixtures for tests of the production stack (tests/production/stack.py): a fresh PostgreSQL database, a
Redis database of the stack's own, and `make_stack`, which starts stacks and stops them after the test."""

import contextlib
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

from tests.production.stack import running_stack


def _admin_dsn() -> str:
    settings = connection.settings_dict
    dsn = (f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} user={settings['USER']} "
           "dbname=postgres")
    return dsn + (f" password={settings['PASSWORD']}" if settings["PASSWORD"] else "")


@pytest.fixture
def fresh_postgres_url():
    """A new, empty PostgreSQL database on the test run's server (mark the test `postgres`), dropped after."""
    settings = connection.settings_dict
    name = f"stack_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    yield (f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
           f"/{name}")
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def stack_redis_url(redis_url):
    """REDIS_URL's server with a database of the stack's own (10 + the xdist worker's number, never the 0 the
    other tests use), emptied before and after: channel groups and throttle counters start clean."""
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    number = 10 + (int(worker) if worker.isdigit() else 0) % 6
    url = urlunsplit(urlsplit(redis_url)._replace(path=f"/{number}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def make_stack(tmp_path):
    """make_stack(workers=2, database_url=..., redis_url=..., jobs=True, env={...}) -> a started Stack;
    every stack started is stopped after the test."""
    with contextlib.ExitStack() as started:
        count = 0

        def make(**options):
            nonlocal count
            count += 1
            return started.enter_context(running_stack(tmp_path / f"stack{count}", **options))

        yield make
