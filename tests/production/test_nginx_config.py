"""deploy/nginx.conf.template as rendered for N workers: every worker upstream, the headers the app trusts from
this proxy, the app's body limit, its static files, WebSocket upgrades, and no retried POSTs; nginx itself
accepts the result. deploy/Procfile names the processes `make serve` runs."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from deploy.nginx_config import NginxConfig, prepare_var_dir, render
from tests.live_server import ROOT
from tests.production.stack import procfile_commands

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture
def rendered(tmp_path) -> str:
    prepare_var_dir(tmp_path)
    return render(NginxConfig.for_workers(3, 8100, listen="127.0.0.1:8080", var_dir=tmp_path))


def test_every_worker_is_an_upstream_with_passive_health_checks(rendered):
    upstream = re.search(r"upstream orderahead_workers \{(.*?)\}", rendered, re.DOTALL).group(1)
    servers = re.findall(r"server (\S+) (.*);", upstream)
    assert servers == [(f"127.0.0.1:{port}", "max_fails=3 fail_timeout=10s") for port in (8100, 8101, 8102)]


def test_the_headers_the_app_reads_are_set_by_nginx(rendered):
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in rendered  # overwritten, never appended
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in rendered
    assert "proxy_set_header X-Request-ID $request_id;" in rendered
    assert "proxy_set_header Host $http_host;" in rendered
    assert "proxy_set_header Upgrade $http_upgrade;" in rendered
    assert "proxy_set_header Connection $connection_upgrade;" in rendered
    assert re.search(r"log_format json_lines escape=json '\{\"time\":\"\$time_iso8601\",\"request_id\":\"\$request_id\"",
                     rendered)


def test_only_idempotent_requests_are_retried_on_another_worker(rendered):
    retry = re.search(r"^\s*proxy_next_upstream (.*);$", rendered, re.MULTILINE).group(1).split()
    assert retry == ["error", "timeout", "http_502", "http_503"]
    assert "non_idempotent" not in retry


def test_limits_and_static_files_follow_the_django_settings(rendered):
    assert f"client_max_body_size {settings.DATA_UPLOAD_MAX_MEMORY_SIZE};" in rendered
    assert f"alias {Path(settings.STATIC_ROOT).resolve()}/;" in rendered
    assert "location /static/ {" in rendered
    assert "location /ws/ {" in rendered


def test_the_command_line_renders_what_honcho_numbers(tmp_path):
    done = subprocess.run([sys.executable, "-m", "deploy.nginx_config", "--workers", "2", "--first-port", "9100",
                           "--listen", "127.0.0.1:9080", "--var-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert re.findall(r"server (127\.0\.0\.1:\d+) ", done.stdout) == ["127.0.0.1:9100", "127.0.0.1:9101"]
    assert "listen 127.0.0.1:9080;" in done.stdout
    assert (tmp_path / "log").is_dir() and (tmp_path / "client_body").is_dir()


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (make serve installs it)")
def test_nginx_accepts_the_rendered_config(tmp_path, rendered):
    (tmp_path / "nginx.conf").write_text(rendered)
    done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def test_the_procfile_runs_the_workers_nginx_and_the_periodic_jobs():
    commands = procfile_commands()
    # web first: honcho gives it the first ports
    assert list(commands) == ["web", "nginx", "expire", "prune", "loyalty"]
    assert commands["web"] == "exec daphne -b 127.0.0.1 -p $PORT --access-log /dev/null orderahead.asgi:application"
    assert "daemon off;" in commands["nginx"]
    assert commands["expire"].endswith("expire_orders --every 30")
    assert commands["prune"].endswith("kds_outbox_prune --every 3600")
    assert commands["loyalty"].endswith("loyalty_expire --every 3600")
