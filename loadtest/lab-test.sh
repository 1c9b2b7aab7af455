#!/usr/bin/env bash
# The lab drill test (`make test-lab`, part of `make test`): brings up a private
# lab with the debug binaries, runs loadtest/suites/ci.yaml from its client
# node (each scenario asserts its budgets; drill exits 1 if one fails), tears
# the lab down and checks nothing is left behind. Reports: target/drill/ci/.
set -euo pipefail
cd "$(dirname "$0")/.."
export LAB_PREFIX=${LAB_PREFIX:-tdt} LAB_NET=${LAB_NET:-10.232.0} LAB_DIR=${LAB_DIR:-/tmp/tandem-lab-test}
export BIN_DIR=${BIN_DIR:-$PWD/target/debug}
out=${DRILL_OUT:-target/drill/ci}

# Every process inside the lab's namespaces, recorded before `down`.
lab_pids() {
    local ns
    for ns in $(ip netns list | awk '{print $1}' | grep "^$LAB_PREFIX-"); do
        ip netns pids "$ns"
    done
}

# What `down` must leave: no namespace, veth, directory or process of this lab.
leftovers() {
    ip netns list | grep "^$LAB_PREFIX-" || true
    ip -o link show "$LAB_PREFIX-host" 2>/dev/null || true
    [ ! -e "$LAB_DIR" ] || echo "$LAB_DIR"
    local pid state
    for pid in "$@"; do
        # A zombie is dead already: only its parent (init, for the lab's
        # detached processes) has yet to reap it.
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || continue
        [ "$state" = Z ] || [ "$state" = X ] || echo "pid $pid ($state): $(tr '\0' ' ' <"/proc/$pid/cmdline")"
    done
    return 0
}

torn_down=0
teardown() {
    [ $torn_down = 1 ] && return
    torn_down=1
    ./deploy/lab down || true
}
trap teardown EXIT

# A lab left by an interrupted run is removed first.
./deploy/lab down >/dev/null 2>&1 || true
./deploy/lab up
rm -rf "$out"
status=0
./deploy/lab exec client "$BIN_DIR/drill" suite loadtest/suites/ci.yaml --url "http://$LAB_NET.10/" --out "$out" || status=$?
if [ $status -ne 0 ]; then
    echo "--- lab status after the drills" >&2
    ./deploy/lab status >&2 || true
fi
mapfile -t pids < <(lab_pids)
teardown
left=$(leftovers "${pids[@]}")
if [ -n "$left" ]; then
    echo "lab-test: make down left behind:" >&2
    echo "$left" >&2
    status=1
fi
echo "lab drills: $out/suite.md"
cat "$out/suite.md" 2>/dev/null || true
exit $status
