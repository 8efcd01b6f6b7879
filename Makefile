# Two commands set everything up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Only the test targets point at the local test services (the PostgreSQL pass and the Redis tests);
# `make run` uses SQLite and the in-memory layer unless the user sets DATABASE_URL or REDIS_URL.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/test)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
PYTEST_ARGS ?=
# The SQLite pass runs in this many pytest-xdist processes (its tests share no port, file or database); the
# PostgreSQL pass stays serial: its fault tests each run a whole production stack.
TEST_WORKERS ?= $(shell nproc)

.PHONY: install run serve nginx test test-fast migrate seed bench clean browser axe vendor-chartjs

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_loyalty

# Embedded default: SQLite, in-memory channel layer, one Daphne process, demo data, demo payments.
run: seed
	$(PY) manage.py warm_scheduler
	@echo ""
	@echo "  Customer app   http://$(HOST):$(PORT)/"
	@echo "  API docs       http://$(HOST):$(PORT)/api/docs/"
	@echo "  Kitchen screens http://$(HOST):$(PORT)/kds/   (barista1..3)"
	@echo "  Admin          http://$(HOST):$(PORT)/admin/   (admin / demo-pass-123)"
	@echo "  Logins         manager1..3, barista1..3, customer  (password demo-pass-123)"
	@echo ""
	$(PY) -m daphne -b $(HOST) -p $(PORT) orderahead.asgi:application

# Production on this machine (deploy/serve.py): PostgreSQL (DATABASE_URL, default .../orderahead_serve, created
# when missing), Redis (REDIS_URL, default db 1), nginx on SERVE_PORT in front of WORKERS Daphne workers, and
# the periodic jobs, all under honcho (deploy/Procfile). Ctrl-C stops everything.
WORKERS ?= $(shell nproc)
SERVE_PORT ?= 8080
serve: install nginx
	WORKERS=$(WORKERS) SERVE_PORT=$(SERVE_PORT) $(PY) -m deploy.serve

# nginx from Debian's packages, installed when missing and run as root (like Chromium below).
NGINX ?= /usr/sbin/nginx
nginx:
	@test -x $(NGINX) || { if [ "$$(id -u)" = 0 ]; then apt-get install -y nginx-light || { apt-get update && apt-get install -y nginx-light; }; \
	  else echo "nginx is missing: sudo apt-get install -y nginx-light"; exit 1; fi; }

# The browser tests drive Debian's Chromium through Playwright; no browser is ever downloaded.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	  else echo "Chromium is missing: sudo apt-get install -y chromium (the browser tests skip without it)"; fi; }

# axe-core for the browser tests' accessibility checks, from the npm registry at the version package-lock.json pins
# (never a CDN); installed when missing. Without node and npm those checks skip (and fail under CI=true).
AXE := tests/browser/node_modules/axe-core/axe.min.js
axe:
	@test -f $(AXE) || { if command -v npm >/dev/null; then npm ci --prefix tests/browser --no-audit --no-fund; \
	  else echo "npm is missing: apt-get install -y npm (the accessibility checks skip without it)"; fi; }

# Chart.js for the manager dashboard is committed under fulfilment/static/dashboard/vendor/ (no CDN, and neither
# `make run` nor `make test` needs npm). To move to another version: change the pin in vendor/chartjs/package.json,
# run this (npm from the npm registry), look at the dashboard, commit the new file and its licence.
CHARTJS_DIR := fulfilment/static/dashboard/vendor
vendor-chartjs:
	npm install --prefix vendor/chartjs --no-audit --no-fund
	sed '/^\/\/# sourceMappingURL=/d' vendor/chartjs/node_modules/chart.js/dist/chart.umd.js > $(CHARTJS_DIR)/chart.umd.js
	cp vendor/chartjs/node_modules/chart.js/LICENSE.md $(CHARTJS_DIR)/chart.js.LICENSE.md
	@sed -n 2p $(CHARTJS_DIR)/chart.umd.js

# Pass 1: everything on SQLite. Pass 2: the concurrency tests on PostgreSQL.
# pytest exits 5 when a pass selects no test; that is not a failure here.
test: install browser axe
	@$(MAKE) --no-print-directory nginx || echo "Without nginx the production-stack tests skip (and fail under CI=true)."
	REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m "not postgres" -n $(TEST_WORKERS) $(PYTEST_ARGS)
	REDIS_URL=$(TEST_REDIS_URL) DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest -m postgres $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Local loop: skip the slow load and fault tests.
test-fast: install
	REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m "not postgres and not slow" -x -n $(TEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache test-artifacts tests/browser/node_modules vendor/chartjs/node_modules
