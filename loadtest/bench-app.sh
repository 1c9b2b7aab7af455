#!/usr/bin/env bash
# Benchmark one tandem-app instance with wrk: GET by id (cached and
# uncached), list (cached and uncached), POST. Starts its own data tier
# (tandem-services, free ports) and app, prints a Markdown table, stops
# everything. Method and pitfalls: loadtest/README.md.
#
#   loadtest/bench-app.sh                 # wrk -t12 -c100 -d5s, the reference's parameters
#   DURATION=10s CONNS=50 THREADS=4 loadtest/bench-app.sh
set -euo pipefail

DURATION=${DURATION:-5s}
THREADS=${THREADS:-12}
CONNS=${CONNS:-100}
SEED_SECONDS=${SEED_SECONDS:-3}
# The Flask/uWSGI demo this stack descends from, wrk -c100 -t12 -d5s.
REF_UNCACHED=67
REF_CACHED=231

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/install-deps.sh wrk curl mariadb-server mariadb-client redis-server redis-sentinel
cargo build -q --release -p tandem-app -p tandem-services

work=$(mktemp -d /tmp/tandem-bench.XXXXXX)
app_pid=""
cleanup() {
    if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
    ./target/release/tandem-services down --dir "$work/services" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

./target/release/tandem-services up --dir "$work/services" --free-ports >"$work/services.out"
set -a
# shellcheck source=/dev/null # written by tandem-services up just above
. "$work/services/env"
set +a
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
TANDEM_APP_NAME=bench TANDEM_APP_LISTEN="127.0.0.1:$port" RUST_LOG=warn \
    ./target/release/tandem-app 2>"$work/app.log" &
app_pid=$!
for _ in $(seq 1 100); do
    if curl -fs "$url/readyz" 2>/dev/null | grep -q '"schema_ready":true'; then break; fi
    sleep 0.1
done
curl -fs "$url/readyz" | grep -q '"schema_ready":true' || { echo "app not ready"; cat "$work/app.log"; exit 1; }

run() { # name, wrk args...: prints the RESULT json
    local name=$1; shift
    local out
    out=$(wrk "$@" 2>&1) || { echo "wrk failed for $name: $out" >&2; exit 1; }
    echo "$out" > "$work/$name.wrk"
    grep '^RESULT ' <<<"$out" | sed 's/^RESULT //'
}

# Seed: POSTs for SEED_SECONDS, then read how many rows exist.
run seed -t2 -c8 -d"${SEED_SECONDS}s" -s loadtest/wrk/api.lua "$url" -- post >/dev/null
ids=$(curl -fs -H 'Cache-Control: no-cache' "$url/api/property?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')

wrk_args=(-t"$THREADS" -c"$CONNS" -d"$DURATION" -s loadtest/wrk/api.lua "$url" --)
# Warm the cache over every id before the cached run (not reported).
run warm -t2 -c16 -d3s -s loadtest/wrk/api.lua "$url" -- get-id "$ids" >/dev/null
declare -A result
result[get-id-cached]=$(run get-id-cached "${wrk_args[@]}" get-id "$ids")
result[get-id-uncached]=$(run get-id-uncached "${wrk_args[@]}" get-id "$ids" nocache)
result[list-cached]=$(run list-cached "${wrk_args[@]}" list)
result[list-uncached]=$(run list-uncached "${wrk_args[@]}" list "$ids" nocache)
result[post]=$(run post "${wrk_args[@]}" post)

echo
echo "tandem-app, one instance, $(nproc) cores: wrk -t$THREADS -c$CONNS -d$DURATION, $ids properties"
echo "$(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| scenario | req/s | p50 ms | p99 ms | errors | non-2xx | vs Flask demo |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for name in get-id-cached get-id-uncached list-cached list-uncached post; do
    python3 - "$name" "${result[$name]}" "$REF_CACHED" "$REF_UNCACHED" <<'PY'
import json, sys
name, data, ref_cached, ref_uncached = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ref = {"get-id-cached": ref_cached, "get-id-uncached": ref_uncached}.get(name)
ratio = f"{data['rps'] / ref:.0f}x ({ref:.0f} req/s)" if ref else "-"
print(f"| {name} | {data['rps']:.0f} | {data['p50_ms']:.2f} | {data['p99_ms']:.2f} | {data['socket_errors']} | {data['non_2xx']} | {ratio} |")
PY
done
