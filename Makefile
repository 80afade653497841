# Préau: one command per job. CI runs the same targets (.ci/run calls `make lint` and `make test`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREAU_DATABASE_URL ?= sqlite+aiosqlite:///var/preau.sqlite3
export PREAU_FILES_DIR ?= var/files
# The demo school's admin (admin.demo) may run the waiting room at /admin/gate.
export PREAU_OPERATOR_UAIS ?= 0751234A

.PHONY: run test fuzz lint bench install system-deps node-deps services messages subject-icons clean cluster cluster-down cluster-ha drills

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the browser tests, benchmarks, virtual classes, make cluster (and
# cluster-ha: Patroni, etcd, HAProxy, Redis Sentinel) and the
# Kubernetes manifests' test (kubectl kustomize) and single sign-on tests (xmlsec1 signs
# for the tests' identity provider, Préau checks in process; Node and npm for the tests'
# OpenID provider) need (root only). A kubectl, node or npm from
# another package counts: Debian's cannot be installed over it (same files).
system-deps:
	@missing=""; for p in chromium wrk janus libjs-janus-gateway janus-tools coturn nftables libjs-katex poppler-utils nginx-light kubernetes-client ffmpeg xmlsec1 nodejs npm patroni etcd-server haproxy redis-sentinel; do dpkg -s $$p >/dev/null 2>&1 || { [ $$p = kubernetes-client ] && command -v kubectl >/dev/null; } || { [ $$p = nodejs ] && command -v node >/dev/null; } || { [ $$p = npm ] && command -v npm >/dev/null; } || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "Missing Debian packages:$$missing (install them with apt-get as root)"; fi; \
	fi

# What the tests run under Node (the OpenID Connect provider of tests/sso) or inject into
# pages (axe-core, for the browser acceptance test), from
# package-lock.json: devDependencies only, nothing of it is served by Préau.
node-deps: system-deps node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# PostgreSQL and Redis must be reachable for the test suite; start them if they are down.
services:
	@pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
	  echo "PostgreSQL or Redis did not come up (see ../shared/SERVICES.md)"; exit 1

run: install
	mkdir -p var
	$(BIN)/preau migrate
	$(BIN)/preau demo
	@command -v ffmpeg >/dev/null || echo "ffmpeg is not installed (apt-get install ffmpeg, or make system-deps as root): the demo has no video lesson."
	@echo "Préau is starting on http://127.0.0.1:8000 (Ctrl+C to stop)"
	@# One local Janus with Préau's own configuration when Debian's janus is installed;
	@# development secrets are made once in var/janus.env.
	@if [ -x /usr/bin/janus ]; then \
	  test -f var/janus.env || $(BIN)/python -c "import secrets; [print(f'export PREAU_JANUS_{n}={secrets.token_urlsafe(24)}') for n in ('ADMIN_SECRET', 'TOKEN_SECRET', 'ROOM_KEY')]; print(\"export PREAU_JANUS_NODES='local|http://127.0.0.1:8088/janus|http://127.0.0.1:7088/admin|200|200000'\")" > var/janus.env; \
	  . var/janus.env && $(BIN)/preau janus config local >/dev/null && \
	  { /usr/bin/janus -F $$PWD/var/janus/local -C $$PWD/var/janus/local/janus.jcfg -o > var/janus.log 2>&1 & janus_pid=$$!; \
	    trap 'kill $$janus_pid 2>/dev/null' EXIT; echo "Janus started for virtual classes (log: var/janus.log)"; \
	    $(BIN)/preau serve; }; \
	else \
	  echo "Janus is not installed (apt-get install janus libjs-janus-gateway): virtual classes will show as unavailable."; \
	  $(BIN)/preau serve; \
	fi

# Browser tests run in their own pytest process: Playwright's synchronous driver and the
# asyncio loop of the HTTP tests must not share one. Both runs measure branch coverage, of
# the servers the tests start too ([tool.coverage] in pyproject.toml); the total must stay
# above its floor there, except for a partial run (PYTEST_ARGS set).
test: install system-deps node-deps services
	$(BIN)/coverage erase
	$(BIN)/pytest -n 2 --dist loadgroup -m "not browser" --cov --cov-report= --cov-fail-under=0 $(PYTEST_ARGS)
	$(BIN)/pytest -m browser --cov --cov-append --cov-report= --cov-fail-under=0 $(PYTEST_ARGS)
	@printf "Branch coverage of src/preau (details: $(BIN)/coverage report), %%: "
	@$(BIN)/coverage report --format=total $(if $(PYTEST_ARGS),--fail-under=0)

# The OpenAPI document fuzzed longer than in `make test` (tests/fuzz, docs/security.md):
# before a release. FUZZ_EXAMPLES examples per operation and profile; FUZZ_SEED to replay.
fuzz: install services
	PREAU_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),200) PREAU_FUZZ_SEED=$(or $(FUZZ_SEED),$$RANDOM) $(BIN)/pytest -p no:randomly tests/fuzz

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install system-deps services
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The subject icons (Lucide, from npm): regenerate src/preau/web/subject_icons.py.
subject-icons: install node-deps
	$(BIN)/python -m preau.web.subjects node_modules/lucide-static/icons
	$(BIN)/ruff format src/preau/web/subject_icons.py

messages: install
	$(BIN)/pybabel extract --no-location -F babel.cfg -k lazy -k N_ -k InvalidInput -k NotFound -k Forbidden -k Conflict -k NotAuthenticated -k TooManyAttempts -k PreauError -k ServiceUnavailable -o var/messages.pot src/preau
	@echo "Compare var/messages.pot with src/preau/translations/fr/LC_MESSAGES/*.po"

cluster: install system-deps services
	$(BIN)/python deploy/cluster.py up --workers $(or $(CLUSTER_WORKERS),2)

# The same on highly available parts (etcd, Patroni primary + replica, HAProxy, Redis
# primary + replica + three Sentinels): deploy/cluster_ha.py, docs/reliability.md.
cluster-ha: install system-deps
	$(BIN)/python deploy/cluster_ha.py up --workers $(or $(CLUSTER_WORKERS),2)

# Stops whichever of the two clusters runs (exactly the processes each started).
cluster-down:
	$(BIN)/python deploy/cluster.py down
	$(BIN)/python deploy/cluster_ha.py down

# Faults under load against the HA cluster (bench/drills.py, seven drills, docs/reliability.md;
# DRILLS_ARGS=--quick for the short run). make test runs one quick drill
# (tests/resilience/test_drills_quick.py, marked slow).
drills: install system-deps
	$(BIN)/python bench/drills.py $(DRILLS_ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
