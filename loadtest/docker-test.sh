#!/usr/bin/env bash
# The Docker drill test (`make test-docker`, part of `make test`): a private
# stack (project tandem-test, network 10.233.0.0/24, its own published ports
# and image tag, so a stack from `make up-docker` is left alone) built from the debug
# binaries, the four docker-stop drills of loadtest/suites/docker.yaml with the
# lab's budgets (drill exits 1 if one is missed), the VIP over HTTPS (h2,
# the stack's CA), then teardown: containers,
# network and images, the base image too when this run made it, and the
# dockerd this run started. Fails if any of it is left. Reports: target/drill/docker-ci/.
set -euo pipefail
cd "$(dirname "$0")/.."
# Its own names, whatever the caller's environment says for the user's stack.
export COMPOSE_PROJECT_NAME=${DOCKER_TEST_PROJECT:-tandem-test}
export TANDEM_NET=${DOCKER_TEST_NET:-10.233.0}
# Own image tag too: the user's tandem-*:local images are neither replaced nor removed.
export TANDEM_IMAGE_TAG=test
export TANDEM_LB1_HTTP=18081 TANDEM_LB2_HTTP=18082 TANDEM_LB1_ADMIN=19091 TANDEM_LB2_ADMIN=19092
export TANDEM_LB1_HTTPS=18441 TANDEM_LB2_HTTPS=18442
# Its own local-demo CA and certificate, removed with the stack.
tls_root=$PWD/target/docker-test-tls
export TANDEM_CA_DIR=$tls_root/ca TANDEM_TLS_DIR=$tls_root/tls
export BIN_DIR=${BIN_DIR:-$PWD/target/debug}
out=${DRILL_OUT:-target/drill/docker-ci}
scenarios=${DOCKER_SCENARIOS:-app-stop,lb-stop,redis-master-stop,db-master-stop}
stack=deploy/docker/stack
base=debian:bookworm-slim

./deploy/docker/engine start
had_base=0
docker image inspect "$base" >/dev/null 2>&1 && had_base=1

# What teardown must leave: no container, network or image of this project.
leftovers() {
    docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"
    docker network ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"
    docker images -q --filter "reference=tandem-*:$TANDEM_IMAGE_TAG"
    [ $had_base = 1 ] || docker images -q "$base"
    return 0
}

torn_down=0
teardown() {
    [ $torn_down = 1 ] && return
    torn_down=1
    $stack down --images >/dev/null 2>&1 || $stack down --images || true
    [ $had_base = 1 ] || docker rmi "$base" >/dev/null 2>&1 || true
    rm -rf "$tls_root"
}
trap 'teardown; ./deploy/docker/engine stop' EXIT

# A stack left by an interrupted run is removed first.
$stack down >/dev/null 2>&1 || true
$stack up
rm -rf "$out"
status=0
"$BIN_DIR/drill" suite loadtest/suites/docker.yaml --only "$scenarios" \
    --url "http://$TANDEM_NET.10/" --out "$out" || status=$?
# The VIP over HTTPS with HTTP/2, trusting only the stack's CA.
https=$(curl -sS --max-time 10 --cacert "$TANDEM_CA_DIR/ca.pem" --http2 -o /dev/null \
    -w '%{http_code} %{http_version}' "https://$TANDEM_NET.10/api/property?limit=1" 2>&1) || true
if [ "$https" = "200 2" ]; then
    echo "docker-test: https://$TANDEM_NET.10/ answers over HTTP/2 (stack CA trusted)"
else
    echo "docker-test: https://$TANDEM_NET.10/ over HTTP/2: $https (want 200 2)" >&2
    status=1
fi
if [ $status -ne 0 ]; then
    echo "--- stack status after the drills" >&2
    $stack status >&2 || true
fi
teardown
left=$(leftovers)
if [ -n "$left" ]; then
    echo "docker-test: teardown left behind:" >&2
    echo "$left" >&2
    status=1
fi
echo "docker drills: $out/suite.md"
cat "$out/suite.md" 2>/dev/null || true
exit $status
