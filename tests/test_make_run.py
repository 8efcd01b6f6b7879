"""`make run` is the embedded default: whatever the Makefile does for the test targets, the server it
starts must need no other service (SQLite, the in-memory channel layer, the local-memory cache) unless
the user sets DATABASE_URL or REDIS_URL.

The test runs the real `run` target with a stand-in for the venv's python that records the environment
of every command make runs, then builds Django's settings from the environment the server got.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RECORDER = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    with open({log!r}, "a") as log:
        log.write(json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ)}}) + "\\n")
    """)


def _run_target_commands(tmp_path, **extra_env) -> list[dict]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "commands.jsonl"
    recorder = venv / "bin" / "python"
    recorder.write_text(RECORDER.format(python=sys.executable, log=str(log)))
    recorder.chmod(0o755)
    (venv / ".installed").touch()  # newer than pyproject.toml: make installs nothing
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL", "MAKEFLAGS")}
    env.update(extra_env)
    done = subprocess.run(["make", "--no-print-directory", "run", f"VENV={venv}", "PORT=0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in log.read_text().splitlines()]


def _settings_under(env: dict) -> dict:
    probe = ("import json, django; from django.conf import settings; django.setup(); "
             "print(json.dumps({'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], "
             "'cache': settings.CACHES['default']['BACKEND'], 'db': settings.DATABASES['default']['ENGINE']}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**env, "DJANGO_SETTINGS_MODULE": "orderahead.settings.base"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_make_run_needs_no_service(tmp_path):
    commands = _run_target_commands(tmp_path)

    assert commands[-1]["argv"][:2] == ["-m", "daphne"], "the run target ends by serving with Daphne"
    for command in commands:
        assert "REDIS_URL" not in command["env"], f"`{' '.join(command['argv'])}` was given REDIS_URL"
        assert "DATABASE_URL" not in command["env"], f"`{' '.join(command['argv'])}` was given DATABASE_URL"
    assert _settings_under(commands[-1]["env"]) == {
        "layer": "channels.layers.InMemoryChannelLayer",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "db": "django.db.backends.sqlite3",
    }


def test_make_run_uses_redis_when_the_user_sets_it(tmp_path):
    commands = _run_target_commands(tmp_path, REDIS_URL="redis://127.0.0.1:6399/3")

    assert commands[-1]["env"]["REDIS_URL"] == "redis://127.0.0.1:6399/3"
    assert _settings_under(commands[-1]["env"])["layer"] == "kitchen_display.layers.PooledRedisChannelLayer"
