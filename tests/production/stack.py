"""The production stack in a test: nginx in front of N Daphne workers (and, unless told otherwise, the periodic
jobs), run from the same deploy/Procfile lines, settings and nginx template as `make serve`, on free ports
with a var directory of its own. The fault tests build on it:

    def test_kill_a_worker(make_stack, fresh_postgres_url, redis_url):
        stack = make_stack(workers=3, database_url=fresh_postgres_url, redis_url=redis_url)
        ids = stack.seed(SEED_CODE)                   # JSON printed by code run in `manage.py shell`
        stack.kill_worker(1)                          # SIGKILL, as a crash
        status, body = stack.request("GET", "/readyz")  # through nginx
        stack.restart_worker(1)                       # same port, waits for its /readyz
        stack.stop_worker(0)                          # SIGTERM: drains (1001 to sockets), returns the exit code

Processes are started directly, not under honcho: honcho stops every process when one exits, and a fault
test wants the others to carry on. Each worker's output goes to var/log/web.<i>.log (`worker_log(i)`);
nginx writes its JSON access log to var/log/access.log (`access_log()`).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from honcho.environ import parse_procfile

from deploy.nginx_config import NginxConfig, prepare_var_dir
from deploy.serve import PROCFILE, fresh_metrics_dir, stack_environment
from tests.live_server import ROOT, manage, server_env

# Tests place orders fast from one address; these limits are production's business, not the stack's.
GENEROUS_THROTTLES = {"THROTTLE_ORDER_PLACE": "100000/min", "THROTTLE_AUTH": "100000/min",
                      "THROTTLE_QUOTE": "100000/min"}
TEST_SECRET_KEY = "stack-test-secret-key-" + "k" * 20 + "0123456789abcdef"


def procfile_commands() -> dict[str, str]:
    """deploy/Procfile's process types and their commands."""
    return dict(parse_procfile(PROCFILE.read_text()).processes)


@dataclass
class Worker:
    index: int
    port: int
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def url(self) -> str:
        """The worker itself, past nginx."""
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Stack:
    env: dict[str, str]
    var_dir: Path
    listen_port: int
    workers: list[Worker]
    jobs: bool = True
    ready_timeout_s: float = 120.0
    nginx: subprocess.Popen | None = None
    others: dict[str, subprocess.Popen] = field(default_factory=dict)  # the periodic jobs

    # --- where things are ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """nginx, as clients reach the product."""
        return f"http://127.0.0.1:{self.listen_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.listen_port}"

    @property
    def access_log_path(self) -> Path:
        return self.var_dir / "log" / "access.log"

    def access_log(self) -> list[dict]:
        """nginx's access log, one dict per request (request_id, status, upstream, ...)."""
        if not self.access_log_path.exists():
            return []
        return [json.loads(line) for line in self.access_log_path.read_text().splitlines() if line.strip()]

    def worker_log(self, index: int) -> str:
        return self.workers[index].log_path.read_text() if self.workers[index].log_path.exists() else ""

    # --- starting and stopping ------------------------------------------------------------------------

    def _spawn(self, command: str, log_path: Path, **env: str) -> subprocess.Popen:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as log:
            # The Procfile lines start with `exec`, so the pid is the program's own, not a shell's.
            return subprocess.Popen(["sh", "-c", command], cwd=ROOT, env={**self.env, **env}, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> Stack:
        commands = procfile_commands()
        for worker in self.workers:
            self.start_worker(worker.index, wait_ready=False)
        self.nginx = self._spawn(commands["nginx"], self.var_dir / "log" / "nginx.log")
        if self.jobs:
            for name in ("expire", "prune"):
                self.others[name] = self._spawn(commands[name], self.var_dir / "log" / f"{name}.log")
        for worker in self.workers:
            self.wait_worker_ready(worker.index)
        self.wait_ready()
        return self

    def start_worker(self, index: int, *, wait_ready: bool = True) -> Worker:
        worker = self.workers[index]
        assert not worker.alive(), f"worker {index} is running already"
        worker.process = self._spawn(procfile_commands()["web"], worker.log_path, PORT=str(worker.port))
        if wait_ready:
            self.wait_worker_ready(index)
        return worker

    def kill_worker(self, index: int, sig: int = signal.SIGKILL, timeout: float = 30) -> int:
        """Send `sig` (default SIGKILL: a crash) and wait for the worker to end; its exit code."""
        worker = self.workers[index]
        assert worker.alive(), f"worker {index} is not running"
        worker.process.send_signal(sig)
        return worker.process.wait(timeout)

    def stop_worker(self, index: int, timeout: float = 30) -> int:
        """SIGTERM, as a deploy or honcho stops it: the worker drains, then exits. Its exit code."""
        return self.kill_worker(index, signal.SIGTERM, timeout)

    def restart_worker(self, index: int, *, graceful: bool = True, wait_ready: bool = True) -> Worker:
        """Stop the worker if it runs (SIGTERM, or SIGKILL when not `graceful`), start it again on its port."""
        if self.workers[index].alive():
            self.kill_worker(index, signal.SIGTERM if graceful else signal.SIGKILL)
        return self.start_worker(index, wait_ready=wait_ready)

    def stop(self) -> None:
        """Everything down: workers drain (SIGTERM), then nginx and the jobs; SIGKILL after 15 s."""
        processes = [worker.process for worker in self.workers if worker.alive()]
        processes += [process for process in (self.nginx, *self.others.values())
                      if process is not None and process.poll() is None]
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    # --- readiness and requests -------------------------------------------------------------------------

    def wait_worker_ready(self, index: int) -> None:
        worker = self.workers[index]
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            assert worker.alive(), f"worker {index} died:\n{self.worker_log(index)[-3000:]}"
            status, _ = _get_json(f"{worker.url}/readyz")
            if status == 200:
                return
            assert time.monotonic() < deadline, f"worker {index} not ready:\n{self.worker_log(index)[-3000:]}"
            time.sleep(0.1)

    def wait_ready(self) -> dict:
        """Until /readyz answers 200 through nginx; its body."""
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            assert self.nginx is not None and self.nginx.poll() is None, \
                (self.var_dir / "log" / "nginx.log").read_text()[-3000:]
            status, body = _get_json(f"{self.url}/readyz")
            if status == 200:
                return body
            assert time.monotonic() < deadline, f"/readyz through nginx: {status} {body}"
            time.sleep(0.1)

    def request(self, method: str, path: str, body: dict | None = None, *, headers: dict | None = None,
                token: str | None = None, timeout: float = 60, base: str | None = None) -> tuple[int, dict, Message]:
        """A JSON request through nginx, or to `base` (e.g. a worker's url, past nginx): (status, JSON body
        or {}, response headers, looked up in any case)."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{base or self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _json_or_empty(response.read()), response.headers
        except urllib.error.HTTPError as error:
            return error.code, _json_or_empty(error.read()), error.headers

    # --- data ---------------------------------------------------------------------------------------------

    def manage(self, *command: str, timeout: float = 300) -> str:
        return manage(self.env, *command, timeout=timeout)

    def seed(self, code: str) -> dict:
        """Run `code` in `manage.py shell` against the stack's database; the JSON on its last line."""
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def session_cookie(self, username: str) -> str:
        """A `Cookie` header value signing `username` in (kitchen screens sign in with a session). Made in
        the database: the real login would need the Secure cookies this plain-HTTP stack cannot carry back."""
        return "sessionid=" + self.seed(f"""
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.get(username={username!r})
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps(session.session_key))
""")

    def api_token(self, username: str) -> str:
        return self.seed(f"""
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
print(json.dumps(Token.objects.get_or_create(user=get_user_model().objects.get(username={username!r}))[0].key))
""")


def _json_or_empty(raw: bytes):
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {"text": raw[:500].decode(errors="replace")}


def _get_json(url: str) -> tuple[int | None, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, _json_or_empty(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json_or_empty(error.read())
    except OSError:  # refused, reset, timed out: not up (yet)
        return None, {}


def listening_port() -> int:
    """A free port below the kernel's ephemeral range (32768 and up here): a worker restarted on its port
    would otherwise find it taken now and then by an outgoing connection (nginx's to another worker, a
    client's), which the kernel numbers from that range."""
    chooser = random.SystemRandom()
    while True:
        port = chooser.randrange(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def build_stack(var_dir: Path, *, workers: int = 2, database_url: str, redis_url: str = "", jobs: bool = True,
                env: dict[str, str] | None = None) -> Stack:
    """A Stack ready to `start()`: its database migrated, static files collected, the scheduler warmed
    and var_dir/nginx.conf written for free ports. `env` adds to or overrides the processes' settings."""
    var_dir.mkdir(parents=True, exist_ok=True)
    fresh_metrics_dir(var_dir)  # before any process loads the settings
    environment = server_env(**stack_environment(database_url=database_url, redis_url=redis_url,
                                                 var_dir=var_dir, secret=TEST_SECRET_KEY))
    environment.update(GENEROUS_THROTTLES)
    environment["PATH"] += os.pathsep + "/usr/sbin"  # nginx
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    if not redis_url:
        environment.pop("REDIS_URL", None)
    manage(environment, "migrate", "--noinput")
    manage(environment, "collectstatic", "--noinput", "--verbosity", "0")
    manage(environment, "warm_scheduler")
    stack = Stack(env=environment, var_dir=var_dir, listen_port=listening_port(), jobs=jobs,
                  workers=[Worker(index, listening_port(), var_dir / "log" / f"web.{index + 1}.log")
                           for index in range(workers)])
    prepare_var_dir(var_dir)
    config = NginxConfig(ports=[worker.port for worker in stack.workers], listen=f"127.0.0.1:{stack.listen_port}",
                         var_dir=var_dir)
    (var_dir / "nginx.conf").write_text(_render(config, environment))
    return stack


def _render(config: NginxConfig, environment: dict[str, str]) -> str:
    """`python -m deploy.nginx_config` under the stack's settings (this process has the test settings)."""
    done = subprocess.run([sys.executable, "-m", "deploy.nginx_config", "--ports", ",".join(map(str, config.ports)),
                           "--listen", config.listen, "--var-dir", str(config.var_dir)],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@contextlib.contextmanager
def running_stack(var_dir: Path, **options):
    """build_stack(...).start(), stopped when the block ends."""
    stack = build_stack(var_dir, **options)
    try:
        yield stack.start()
    finally:
        stack.stop()
