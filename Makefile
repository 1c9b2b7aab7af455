# tandem: the commands the README names.
#   make up      the whole stack in network namespaces (deploy/lab): two tandems
#                under keepalived, three apps, MariaDB, Redis, Sentinels; prints URLs
#   make down    remove it; make status: who holds the VIP, every process, roles
#   make drill   the failover drill suite against the lab (loadtest/README.md)
#   make up-docker, down-docker, status-docker, drill-docker: the same stack and
#                drills in Docker (docker-compose.yml; installs and starts Docker)
#   make test    install what the tests need, then run every test (lab and Docker
#                drills included; DOCKER_TESTS=0 skips the Docker ones)
#   make run     just the balancer with lb/examples/lb.yaml (foreground)
#   make bench   tandem against nginx and HAProxy on this machine (loadtest/README.md)
#   make soak    10 minutes of load, kills, reloads and a slow app; tandem's
#                memory and descriptors must stay flat (loadtest/README.md)
#   make services       start the data tier (MariaDB, Redis, Sentinel) for development
#   make services-down  stop it
# They install their own system packages with apt-get (run as root on
# Debian/Ubuntu); a package already present is not installed again.

SHELL := /bin/bash
CARGO ?= cargo
# Debian packages the build and the tests need: cmake for Pingora's zlib-ng,
# nginx as the reference the differential tests compare against, curl for
# smoke checks, MariaDB and Redis for the data tier (`services/`: started by
# hand from their own configs, never as system services).
# keepalived and iproute2 for the lab (VRRP in network namespaces), openssl
# for its local-demo CA (https://VIP/).
DEB_PACKAGES := cmake nginx-light curl pkg-config mariadb-server mariadb-client redis-server redis-sentinel \
	keepalived iproute2 openssl
# Only the tests need these: chromium (headless) for the status page's browser
# test and the lab's HTTPS check (libnss3-tools: certutil, to trust the lab
# CA); haproxy and wrk for the benchmark's smoke run; openssl (s_client) for
# the TLS tests and the benchmark; h2load (nghttp2-client) for its h2 workload;
# pebble, the ACME test CA, for the ACME test.
TEST_PACKAGES := chromium libnss3-tools haproxy wrk openssl nghttp2-client pebble
EXAMPLES := $(wildcard lb/examples/*.yaml)

.PHONY: up down status drill run test test-lab deps test-deps build build-lab check-examples lint clean \
	services services-down services-status bench bench-smoke bench-app soak props \
	deps-docker up-docker down-docker status-docker drill-docker test-docker

# The development data tier: fixed ports (MariaDB 13306-13307, Redis
# 16379-16380, Sentinels 26479-26481), files and `env` in SERVICES_DIR.
# Extra flags for `tandem-services up`: SERVICES_ARGS="--replicas 2 --mariadb-port 23306".
SERVICES_DIR ?= /tmp/tandem-services
SERVICES_ARGS ?=

deps:
	@./scripts/install-deps.sh $(DEB_PACKAGES)

# Every binary the lab runs: tandem, tandem-app, tandem-dbctl, tandem-services, drill.
LAB_CRATES := -p tandem-lb -p tandem-app -p tandem-services -p tandem-loadtest
# The lab's VIP (deploy/lib/common.sh: LAB_NET.10).
LAB_NET ?= 10.231.0
DRILL_OUT ?= target/drill/lab

build: deps
	$(CARGO) build --release -p tandem-lb

build-lab: deps
	$(CARGO) build --release $(LAB_CRATES)

up: build-lab
	./deploy/lab up

down:
	./deploy/lab down

status:
	./deploy/lab status

# The standard suite (loadtest/suites/lab.yaml) from the lab's client node;
# reports in $(DRILL_OUT), the summary in $(DRILL_OUT)/suite.md.
drill: build-lab
	./deploy/lab exec client ./target/release/drill suite loadtest/suites/lab.yaml \
		--url http://$(LAB_NET).10/ --out $(DRILL_OUT)

# ---- the Docker stack (docker-compose.yml, deploy/docker/stack)
# Its /24 (VIP .10), as deploy/docker/stack and docker-compose.yml default it;
# `make up-docker TANDEM_NET=10.99.0` reaches them through the environment.
TANDEM_NET ?= 10.230.0
DOCKER_DRILL_OUT ?= target/drill/docker
# 0 skips test-docker in `make test` (a machine that cannot run containers).
DOCKER_TESTS ?= 1

# Docker's engine and Compose: installed (docker.io, docker-compose) and
# started (dockerd) only when missing; an engine already running is used.
deps-docker:
	./deploy/docker/engine start

up-docker: build-lab deps-docker
	./deploy/docker/stack up

down-docker:
	./deploy/docker/stack down

status-docker:
	./deploy/docker/stack status

# loadtest/suites/docker.yaml from this host (the VIP is on the stack's
# bridge): docker stop/kill/pause faults; the summary in $(DOCKER_DRILL_OUT)/suite.md.
drill-docker: build-lab
	./target/release/drill suite loadtest/suites/docker.yaml \
		--url http://$(TANDEM_NET).10/ --out $(DOCKER_DRILL_OUT)

run: build
	RUST_LOG=$${RUST_LOG:-info} ./target/release/tandem --config lb/examples/lb.yaml

services: deps
	$(CARGO) run -q -p tandem-services -- up --dir $(SERVICES_DIR) $(SERVICES_ARGS)

services-status:
	$(CARGO) run -q -p tandem-services -- status --dir $(SERVICES_DIR)

services-down:
	$(CARGO) run -q -p tandem-services -- down --dir $(SERVICES_DIR)

# tandem against nginx and HAProxy, same machine, same run: throughput, p50/p99,
# CPU per request, memory, connection reuse. About 10 minutes; results in
# target/bench (bench.md, bench.json, bench.svg). Flags: BENCH_ARGS="--rounds 10".
BENCH_ARGS ?=
bench: deps
	./loadtest/bench.sh $(BENCH_ARGS)

# The same script, short (one round of 1 s runs, 1 worker, 1,000 idle
# connections), with the debug binaries: fails unless every number was
# produced for every proxy. Part of `make test`; no timing is asserted.
bench-smoke: deps
	BENCH_BUILD=debug ./loadtest/bench.sh --smoke --out target/bench-smoke

# wrk against one tandem-app over its own data tier; method in loadtest/README.md.
bench-app: deps
	./loadtest/bench-app.sh

check-examples:
	$(CARGO) build -p tandem-lb
	@for f in $(EXAMPLES); do ./target/debug/tandem check --config $$f || exit 1; done

# Every shell program (a file with a sh or bash shebang); the libraries they
# source (deploy/lib/*.sh, deploy/docker/lib.sh) are checked through them
# (-x), as they run, so their variables count as used where they are.
SHELL_PROGRAMS = $(shell grep -rlE '^\#!(/usr/bin/env (ba)?sh|/bin/(ba)?sh)' deploy loadtest keepalived scripts .ci | sort)

# Formatting, clippy warnings and shellcheck findings fail the build: the
# code stays easy to live in.
lint:
	@./scripts/install-deps.sh shellcheck
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	shellcheck -x -P SCRIPTDIR $(SHELL_PROGRAMS)

test-deps: deps
	@./scripts/install-deps.sh $(TEST_PACKAGES)

# The property tests (proptest) draw their inputs from this seed in `make
# test`, so a run is repeatable and CI never fails on a draw no one has seen;
# `make props` explores with fresh random seeds and more cases (a failure
# there is saved under */proptest-regressions/ and replayed by every run).
PROPTEST_RNG_SEED ?= 1207
PROPS_CASES ?= 2000

test: test-deps check-examples lint
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		PROPTEST_RNG_SEED=$(PROPTEST_RNG_SEED) $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		PROPTEST_RNG_SEED=$(PROPTEST_RNG_SEED) $(CARGO) test --workspace --no-fail-fast; \
	fi
	$(MAKE) bench-smoke
	$(MAKE) test-lab
	@if [ "$(DOCKER_TESTS)" = 0 ]; then echo "test-docker skipped (DOCKER_TESTS=0)"; else $(MAKE) test-docker; fi

# A private lab (own namespaces, subnet and dir, so a running `make up` lab is
# left alone) with the debug binaries the tests built, the short drill suite
# with the issue's budgets (loadtest/suites/ci.yaml) and the 60-second soak
# (loadtest/suites/soak.yaml), then teardown.
test-lab: test-deps
	$(CARGO) build $(LAB_CRATES)
	./loadtest/lab-test.sh loadtest/suites/ci.yaml loadtest/suites/soak.yaml:soak-60s

# The 10-minute soak (loadtest/suites/soak.yaml, method in loadtest/README.md)
# in a private lab of its own (namespaces tds-*, 10.234.0.0/24) with the
# release binaries; any `make up` lab is left alone. Report: target/drill/soak/.
soak: build-lab
	LAB_PREFIX=tds LAB_NET=10.234.0 LAB_DIR=/tmp/tandem-lab-soak BIN_DIR=$(CURDIR)/target/release \
		./loadtest/lab-test.sh loadtest/suites/soak.yaml:soak

# A private Docker stack (own project, subnet and ports) from the debug
# binaries, the docker-stop drills with the lab's budgets, then everything
# removed, images included (loadtest/docker-test.sh).
test-docker: deps
	$(CARGO) build $(LAB_CRATES)
	./loadtest/docker-test.sh

props:
	PROPTEST_CASES=$(PROPS_CASES) $(CARGO) nextest run -p tandem-lb --no-fail-fast props

clean:
	$(CARGO) clean
