"""A real Daphne in its own process, for the tests that must go through the network as a client does
(browser tests, load on PostgreSQL, start-up and readiness), and Debian's Chromium for the browser ones.

The server gets its own database (a SQLite file in tmp_path, or a PostgreSQL database made for it),
migrated and filled through manage.py, so the server and the test see the same rows.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Outside services the embedded server must not pick up from the test run's environment.
SERVICE_VARIABLES = ("REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")


def require_browser():
    """Skip without Chromium or Playwright, except under CI=true, where the browser tests must run."""
    missing = [] if Path(CHROMIUM).exists() else [f"{CHROMIUM} (apt-get install chromium)"]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(**settings: str) -> dict:
    """The test run's environment without its outside services, plus `settings`."""
    env = {name: value for name, value in os.environ.items() if name not in SERVICE_VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "orderahead.settings.base"  # pytest-django exported the test settings
    env.update(settings)
    return env


def manage(env: dict, *command: str, timeout: float = 300) -> str:
    """Run `manage.py command` under `env`; its standard output."""
    done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=10) as response:
            return response.status == 200
    except urllib.error.HTTPError as error:
        assert error.code == 503, f"/readyz answered {error.code}"
        body = json.loads(error.read())
        assert body["status"] == "compiling", f"the scheduler's warm-up failed: {body}"
        return False


def seed(env: dict, code: str) -> dict:
    """Run `code` in `manage.py shell`; the JSON it prints on its last line."""
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


@contextlib.contextmanager
def daphne(env: dict, log_path: Path, host: str = "127.0.0.1", wait_ready: bool = True):
    """Daphne serving the project under `env` until the block ends; yields its base URL once /readyz says
    the scheduler is compiled (as a load balancer would wait), or as soon as it answers if not `wait_ready`."""
    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                    "orderahead.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "Daphne did not start"
                time.sleep(0.1)
        base = f"http://{host}:{port}"
        while wait_ready and not _ready(base):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline + 600, "the scheduler never got ready"
            time.sleep(0.2)
        yield base
        assert process.poll() is None, f"Daphne died during the test:\n{log_path.read_text()[-3000:]}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
