#!/usr/bin/env bash
# The lab drill test (`make test-lab`, part of `make test`; `make soak`):
# brings up a private lab (the debug binaries unless BIN_DIR says otherwise),
# runs each SUITE[:SCENARIO] given (default loadtest/suites/ci.yaml) from its
# client node, one after another in the same lab (each scenario asserts its
# budgets; drill exits 1 if one fails), then the HTTPS checks (https_checks
# below: curl with h2, a drill over https://, a headless Chromium trusting the
# lab's CA loads the app page), tears the lab down and checks nothing is left
# behind. Reports: target/drill/<SCENARIO or the suite's stem>/.
#
#   loadtest/lab-test.sh loadtest/suites/ci.yaml loadtest/suites/soak.yaml:soak-60s
set -euo pipefail
cd "$(dirname "$0")/.."
export LAB_PREFIX=${LAB_PREFIX:-tdt} LAB_NET=${LAB_NET:-10.232.0} LAB_DIR=${LAB_DIR:-/tmp/tandem-lab-test}
export BIN_DIR=${BIN_DIR:-$PWD/target/debug}
# The test lab's own CA, made afresh and removed with the lab.
export LAB_CA_DIR=$LAB_DIR/ca
reports=${DRILL_DIR:-target/drill}
[ $# -gt 0 ] || set -- loadtest/suites/ci.yaml
for run in "$@"; do
    [ -f "${run%%:*}" ] || { echo "lab-test: no suite file ${run%%:*}" >&2; exit 2; }
done

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

# The VIP over HTTPS, from the client node, trusting only the lab's CA:
# curl gets HTTP/2, a drill over https:// loses nothing, and Chromium
# (its NSS database trusting the CA, as a user would import it) renders the
# app page. Prints what failed; returns non-zero then.
https_checks() {
    local ca=$LAB_DIR/ca/ca.pem vip=$LAB_NET.10 got ok=0 home out=$reports/https
    got=$(./deploy/lab exec client curl -sS --max-time 10 --cacert "$ca" --http2 -o /dev/null \
        -w '%{http_code} %{http_version}' "https://$vip/api/property?limit=1") || got="curl failed: $got"
    if [ "$got" != "200 2" ]; then
        echo "lab-test: https://$vip/ over HTTP/2: $got (want 200 2)" >&2
        ok=1
    fi
    rm -rf "$out"
    ./deploy/lab exec client env SSL_CERT_FILE="$ca" "$BIN_DIR/drill" run --url "https://$vip/" --name https \
        --duration 10s --rate 50 --budget failed=0 --budget missing_writes=0 --out "$out" || {
        echo "lab-test: the drill over https://$vip/ failed its budgets: $out/report.md" >&2
        ok=1
    }
    home=$LAB_DIR/chromium-home
    mkdir -p "$home/.pki/nssdb"
    certutil -N -d "sql:$home/.pki/nssdb" --empty-password
    certutil -A -d "sql:$home/.pki/nssdb" -n "tandem lab CA" -t "C,," -i "$ca"
    got=$(./deploy/lab exec client env HOME="$home" timeout 60 chromium --headless --no-sandbox --disable-gpu \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$home/profile" --virtual-time-budget=3000 --dump-dom "https://$vip/" 2>/dev/null) || true
    if ! grep -q 'id="instance">instance app' <<<"$got"; then
        echo "lab-test: Chromium did not render the app page over https://$vip/ (lab CA trusted); it got:" >&2
        head -c 2000 <<<"$got" >&2
        ok=1
    fi
    [ $ok = 1 ] || echo "lab-test: HTTPS checks passed (curl over h2, drill over https://, Chromium trusting the lab CA)"
    return $ok
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
status=0
outs=()
for run in "$@"; do
    file=${run%%:*} only=""
    [ "$file" = "$run" ] || only=${run#*:}
    name=${only:-$(basename "$file" .yaml)}
    out=$reports/$name
    outs+=("$out")
    rm -rf "$out"
    one=0
    ./deploy/lab exec client "$BIN_DIR/drill" suite "$file" ${only:+--only "$only"} \
        --url "http://$LAB_NET.10/" --out "$out" || one=$?
    if [ $one -ne 0 ]; then
        status=$one
        echo "--- lab status after $name" >&2
        ./deploy/lab status >&2 || true
    fi
done
https_checks || status=1
mapfile -t pids < <(lab_pids)
teardown
left=$(leftovers "${pids[@]}")
if [ -n "$left" ]; then
    echo "lab-test: make down left behind:" >&2
    echo "$left" >&2
    status=1
fi
for out in "${outs[@]}"; do
    echo "lab drills: $out/suite.md"
    cat "$out/suite.md" 2>/dev/null || true
done
exit $status
