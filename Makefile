# tandem: the commands the README names.
#   make up    build and run the balancer with lb/examples/lb.yaml (foreground)
#   make test  install what the tests need, then run every test
# Both install their own system packages with apt-get (run as root on
# Debian/Ubuntu); a package already present is not installed again.

SHELL := /bin/bash
CARGO ?= cargo
# Debian packages the build and the tests need: cmake for Pingora's zlib-ng,
# nginx as the reference the differential tests compare against, curl for
# smoke checks.
DEB_PACKAGES := cmake nginx-light curl pkg-config
EXAMPLES := $(wildcard lb/examples/*.yaml)

.PHONY: up test deps build check-examples lint clean

deps:
	@./scripts/install-deps.sh $(DEB_PACKAGES)

build: deps
	$(CARGO) build --release -p tandem-lb

up: build
	RUST_LOG=$${RUST_LOG:-info} ./target/release/tandem --config lb/examples/lb.yaml

check-examples:
	$(CARGO) build -p tandem-lb
	@for f in $(EXAMPLES); do ./target/debug/tandem check --config $$f || exit 1; done

# Formatting and clippy warnings fail the build: the code stays easy to live in.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: deps check-examples lint
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

clean:
	$(CARGO) clean
