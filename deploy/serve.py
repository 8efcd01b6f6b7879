"""`make serve` (python -m deploy.serve): the production set-up on this machine.

1. settings for every process: production settings, a strong SECRET_KEY (made once into var/secret_key
   when unset), no HTTPS redirect (nginx listens on plain HTTP at 127.0.0.1 here; a real host terminates
   TLS at nginx, see the sample block in deploy/nginx.conf.template), TRUSTED_PROXIES=127.0.0.1 (nginx),
   static files from nginx instead of WhiteNoise;
2. the PostgreSQL database of DATABASE_URL, created when missing;
3. migrate; the demo chain (seed_demo) only into an empty database; collectstatic into STATIC_ROOT for
   nginx; warm_scheduler once, so every worker loads the compiled kernels from the shared cache;
4. var/nginx.conf for WORKERS workers (deploy/nginx_config.py);
5. exec honcho on deploy/Procfile: nginx, WORKERS Daphne workers, expire_orders and kds_outbox_prune, started
   and stopped together (Ctrl-C stops all; each worker drains first, orderahead/graceful_shutdown.py).

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/orderahead_serve), REDIS_URL (default
redis://127.0.0.1:6379/1), WORKERS (default: the number of cores), SERVE_HOST and SERVE_PORT (nginx,
default 127.0.0.1:8080), WORKER_PORT (web.1's port, default 8100; web.N's is WORKER_PORT + N - 1),
SERVE_VAR (default <repo>/var). Anything else the settings read (DB_POOL_MAX_SIZE, STRIPE_*, ...) passes through.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = ROOT / "deploy" / "Procfile"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/orderahead_serve"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"  # not 0: the tests use db 0
POSTGRES_MAX_CONNECTIONS = 100  # the server's default max_connections


def secret_key(var_dir: Path) -> str:
    """SECRET_KEY from the environment, else the one made on the first run (kept in var/secret_key, so
    sessions and signed pickup codes survive a restart)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50) + "\n")  # 67 characters, as strong as Django's own
    return path.read_text().strip()


def stack_environment(*, database_url: str, redis_url: str, var_dir: Path, secret: str) -> dict[str, str]:
    """What every process of the stack (workers, jobs, manage.py steps) gets on top of the caller's
    environment. SECURE_SSL_REDIRECT and TRUSTED_PROXIES keep a value the caller set."""
    return {
        "DJANGO_SETTINGS_MODULE": "orderahead.settings.production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secret,
        "SECURE_SSL_REDIRECT": os.environ.get("SECURE_SSL_REDIRECT", "0"),
        "TRUSTED_PROXIES": os.environ.get("TRUSTED_PROXIES", "127.0.0.1"),
        "SERVE_STATIC": "0",  # nginx serves STATIC_ROOT
        "SERVE_VAR": str(var_dir),
        # One directory for every worker's metrics, so any worker's /metrics shows their sum (orderahead/metrics.py).
        "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "prometheus"),
        # manage.py, daphne and honcho from this virtualenv
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def fresh_metrics_dir(var_dir: Path) -> Path:
    """PROMETHEUS_MULTIPROC_DIR, emptied: the counts of a previous run's processes must not add up with ours."""
    path = var_dir / "prometheus"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database named in `url` if it does not exist yet; True when it was created.
    SQLite files are created by migrate."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if not url.startswith(("postgres://", "postgresql://")):
        return False
    name = conninfo_to_dict(url).get("dbname") or "postgres"
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def database_is_empty() -> bool:
    """No store and no user: a database nobody has used yet, where the demo chain may go."""
    from django.contrib.auth import get_user_model

    from stores.models import Store

    return not Store.objects.exists() and not get_user_model().objects.exists()


def prepare(out=sys.stdout) -> None:
    """migrate, seed_demo into an empty database, collectstatic, warm_scheduler: in this process, under
    the stack's environment (already in os.environ)."""
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    call_command("migrate", "--noinput", stdout=out)
    if database_is_empty():
        out.write("Empty database: loading the demo chain (logins with the published demo password).\n")
        call_command("seed_demo", "--allow-production", stdout=out)
    call_command("collectstatic", "--noinput", verbosity=0, stdout=out)
    call_command("warm_scheduler", stdout=out)  # once; the workers then load the kernels from the cache
    connections.close_all()


def warn_about_connections(workers: int, out=sys.stdout) -> None:
    pool = int(os.environ.get("DB_POOL_MAX_SIZE", "10"))
    needed = workers * pool + 2  # + the two periodic jobs
    if needed > POSTGRES_MAX_CONNECTIONS - 3:
        out.write(f"Warning: {workers} workers x DB_POOL_MAX_SIZE={pool} (+2 jobs) = {needed} PostgreSQL "
                  f"connections, over max_connections ({POSTGRES_MAX_CONNECTIONS}); lower DB_POOL_MAX_SIZE.\n")


def main() -> None:
    from deploy.nginx_config import NginxConfig, prepare_var_dir, render

    var_dir = Path(os.environ.get("SERVE_VAR") or ROOT / "var").resolve()
    workers = int(os.environ.get("WORKERS") or os.cpu_count() or 1)
    listen = f"{os.environ.get('SERVE_HOST', '127.0.0.1')}:{os.environ.get('SERVE_PORT', '8080')}"
    worker_port = int(os.environ.get("WORKER_PORT", "8100"))
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        sys.exit("nginx is missing: `make serve` installs it as root (apt-get install nginx-light)")

    fresh_metrics_dir(var_dir)  # before any process loads the settings, which require it
    os.environ.update(stack_environment(database_url=database_url, redis_url=redis_url, var_dir=var_dir,
                                        secret=secret_key(var_dir)))
    os.environ["PATH"] += os.pathsep + "/usr/sbin"  # Debian's nginx, for a user whose PATH lacks sbin
    os.chdir(ROOT)
    if ensure_database(database_url):
        print(f"Created the database of {database_url}")
    warn_about_connections(workers)
    prepare()
    prepare_var_dir(var_dir)
    (var_dir / "nginx.conf").write_text(render(NginxConfig.for_workers(workers, worker_port, listen=listen,
                                                                        var_dir=var_dir)))
    print(f"\n  {workers} workers on 127.0.0.1:{worker_port}-{worker_port + workers - 1} behind nginx on "
          f"http://{listen}/  (readiness: /readyz, access log: {var_dir}/log/access.log)\n", flush=True)
    os.execvp("honcho", ["honcho", "-f", str(PROCFILE), "-d", str(ROOT), "start", "-p", str(worker_port),
                         "-c", f"web={workers}"])


if __name__ == "__main__":
    main()
