# tandem: the commands the README names.
#   make up    build and run the balancer with lb/examples/lb.yaml (foreground)
#   make test  install what the tests need, then run every test
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
DEB_PACKAGES := cmake nginx-light curl pkg-config mariadb-server mariadb-client redis-server redis-sentinel
# Only the tests need these: chromium (headless) for the status page's browser test.
TEST_PACKAGES := chromium
EXAMPLES := $(wildcard lb/examples/*.yaml)

.PHONY: up test deps test-deps build check-examples lint clean services services-down services-status bench-app

# The development data tier: fixed ports (MariaDB 13306-13307, Redis
# 16379-16380, Sentinels 26479-26481), files and `env` in SERVICES_DIR.
# Extra flags for `tandem-services up`: SERVICES_ARGS="--replicas 2 --mariadb-port 23306".
SERVICES_DIR ?= /tmp/tandem-services
SERVICES_ARGS ?=

deps:
	@./scripts/install-deps.sh $(DEB_PACKAGES)

build: deps
	$(CARGO) build --release -p tandem-lb

up: build
	RUST_LOG=$${RUST_LOG:-info} ./target/release/tandem --config lb/examples/lb.yaml

services: deps
	$(CARGO) run -q -p tandem-services -- up --dir $(SERVICES_DIR) $(SERVICES_ARGS)

services-status:
	$(CARGO) run -q -p tandem-services -- status --dir $(SERVICES_DIR)

services-down:
	$(CARGO) run -q -p tandem-services -- down --dir $(SERVICES_DIR)

# wrk against one tandem-app over its own data tier; method in loadtest/README.md.
bench-app: deps
	./loadtest/bench-app.sh

check-examples:
	$(CARGO) build -p tandem-lb
	@for f in $(EXAMPLES); do ./target/debug/tandem check --config $$f || exit 1; done

# Formatting and clippy warnings fail the build: the code stays easy to live in.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-deps: deps
	@./scripts/install-deps.sh $(TEST_PACKAGES)

test: test-deps check-examples lint
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

clean:
	$(CARGO) clean
