#!/usr/bin/env bash
# The proxy benchmark (`make bench`): tandem against nginx and HAProxy on this
# machine, in the same run. Installs nginx, HAProxy and wrk if missing, builds
# tandem and the bench tool, runs `bench` with the arguments given. Method,
# pitfalls and results: loadtest/README.md.
#
#   loadtest/bench.sh                          # 10 rounds x 2 s, workers 1 and 2, every workload
#   loadtest/bench.sh --rounds 10 --workers 1  # any flag of `bench --help`
#   BENCH_BUILD=debug loadtest/bench.sh --smoke --out target/bench-smoke   # what make test runs
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh nginx-light haproxy wrk nghttp2-client openssl
build=${BENCH_BUILD:-release}
case "$build" in
    release) cargo build -q --release -p tandem-lb -p tandem-loadtest --bin tandem --bin bench; bin=target/release ;;
    debug) cargo build -q -p tandem-lb -p tandem-loadtest --bin tandem --bin bench; bin=target/debug ;;
    *) echo "bench.sh: BENCH_BUILD must be release or debug, not $build" >&2; exit 2 ;;
esac
exec "$bin/bench" --tandem "$bin/tandem" "$@"
