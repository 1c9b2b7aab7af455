# Helpers of deploy/docker/stack: the compose command, containers by service,
# roles resolved at run time, the home state. Sourced.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROJECT=${COMPOSE_PROJECT_NAME:-tandem}
TANDEM_NET=${TANDEM_NET:-10.230.0}
export TANDEM_NET
VIP="$TANDEM_NET.10"

LB_SERVICES=(lb1 lb2)
APP_SERVICES=(app1 app2 app3)
DB_SERVICES=(db1 db2)
REDIS_SERVICES=(redis1 redis2)
SENTINEL_SERVICES=(sentinel1 sentinel2 sentinel3)
SERVICES=("${LB_SERVICES[@]}" "${APP_SERVICES[@]}" "${DB_SERVICES[@]}" dbctl "${REDIS_SERVICES[@]}" "${SENTINEL_SERVICES[@]}")

say() { printf 'stack: %s\n' "$*"; }
die() {
    printf 'stack: %s\n' "$*" >&2
    exit 1
}

# Compose v2 (`docker compose`) when the docker CLI has it, else Debian's
# docker-compose 1.29; always this project and file.
compose() {
    if [ -z "${COMPOSE_CMD:-}" ]; then
        if docker compose version >/dev/null 2>&1; then COMPOSE_CMD="docker compose"
        elif command -v docker-compose >/dev/null; then COMPOSE_CMD=docker-compose
        else die "neither 'docker compose' nor docker-compose is installed (make deps-docker installs them)"
        fi
    fi
    $COMPOSE_CMD -p "$PROJECT" -f "$ROOT/docker-compose.yml" "$@"
}

# The container of SERVICE (running or not), by the labels both Compose
# versions set; empty when it does not exist.
cid() {
    docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" --filter "label=com.docker.compose.oneoff=False" | head -1
}

# running | paused | exited | ... (empty: no container)
cstate() {
    local id
    id=$(cid "$1")
    [ -z "$id" ] || docker inspect -f '{{.State.Status}}' "$id"
}

# healthy | unhealthy | starting | none
chealth() {
    docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(cid "$1")" 2>/dev/null
}

# The service's fixed address on the stack network (from the compose file:
# known while the container is stopped too).
cip() {
    docker inspect -f '{{range .NetworkSettings.Networks}}{{with .IPAMConfig}}{{.IPv4Address}}{{end}}{{end}}' \
        "$(cid "$1")" 2>/dev/null
}

# cexec SERVICE CMD...: CMD inside the (running) service's container, bounded.
cexec() {
    local service=$1
    shift
    timeout 5 docker exec "$(cid "$service")" "$@"
}

running() { [ "$(cstate "$1")" = running ]; }

# ---- roles, resolved when asked

# Balancers holding the VIP (running ones: a paused container cannot answer).
vip_holders() {
    local s
    for s in "${LB_SERVICES[@]}"; do
        running "$s" && cexec "$s" ip -4 -o addr show dev eth0 2>/dev/null | grep -q " $VIP/" && echo "$s"
    done
    return 0
}

db_read_only() {
    cexec "$1" mariadb -h "$(cip "$1")" -uadmin -padmin -N -e 'SELECT @@global.read_only' 2>/dev/null
}

db_replicating() {
    [ "$(cexec "$1" mariadb -h "$(cip "$1")" -uadmin -padmin -e 'SHOW SLAVE STATUS\G' 2>/dev/null |
        grep -cE 'Slave_(IO|SQL)_Running: Yes')" = 2 ]
}

# The Redis master's service, as the first answering Sentinel names it.
redis_master() {
    local s addr r
    for s in "${SENTINEL_SERVICES[@]}"; do
        running "$s" || continue
        addr=$(cexec "$s" redis-cli -h "$(cip "$s")" -p 26379 SENTINEL get-master-addr-by-name mymaster 2>/dev/null |
            head -1) || continue
        [ -n "$addr" ] || continue
        for r in "${REDIS_SERVICES[@]}"; do
            [ "$(cip "$r")" = "$addr" ] && { echo "$r"; return 0; }
        done
    done
    return 1
}

# resolve TARGET: the services it names, one per line. TARGET: a service
# (lb1, app2, db1, redis2, sentinel3, dbctl), a kind (lb, app, db, redis,
# sentinel, all) or a role: lb-master, lb-backup, db-master, db-replica,
# redis-master, redis-replica.
resolve() {
    local target=$1 s
    case $target in
    lb) printf '%s\n' "${LB_SERVICES[@]}" ;;
    app) printf '%s\n' "${APP_SERVICES[@]}" ;;
    db) printf '%s\n' "${DB_SERVICES[@]}" ;;
    redis) printf '%s\n' "${REDIS_SERVICES[@]}" ;;
    sentinel | sentinels) printf '%s\n' "${SENTINEL_SERVICES[@]}" ;;
    all) printf '%s\n' "${SERVICES[@]}" ;;
    lb-master | lb-backup)
        local master
        master=$(vip_holders | head -1)
        [ -n "$master" ] || die "$target: no balancer holds the VIP $VIP"
        if [ "$target" = lb-master ]; then echo "$master"; else
            for s in "${LB_SERVICES[@]}"; do [ "$s" = "$master" ] || echo "$s"; done
        fi
        ;;
    db-master | db-replica)
        local want=0
        [ "$target" = db-replica ] && want=1
        for s in "${DB_SERVICES[@]}"; do
            running "$s" && [ "$(db_read_only "$s")" = "$want" ] && { echo "$s"; return 0; }
        done
        die "$target: no running MariaDB node is $([ $want = 0 ] && echo writable || echo read-only)"
        ;;
    redis-master | redis-replica)
        local master
        master=$(redis_master) || die "$target: no Sentinel names a master"
        if [ "$target" = redis-master ]; then echo "$master"; else
            for s in "${REDIS_SERVICES[@]}"; do [ "$s" = "$master" ] || echo "$s"; done
        fi
        ;;
    *)
        [[ " ${SERVICES[*]} " == *" $target "* ]] ||
            die "unknown target '$target' (services: ${SERVICES[*]}; kinds: lb app db redis sentinel all; roles: lb-master lb-backup db-master db-replica redis-master redis-replica)"
        echo "$target"
        ;;
    esac
}

# ---- the home state every drill starts from

# Every container runs (not paused) and passes its healthcheck, lb1 alone
# holds the VIP, MariaDB has a writable master and a replicating replica,
# Redis a master with its replica linked, and the VIP serves the API.
ready() {
    local s
    for s in "${SERVICES[@]}"; do
        running "$s" || return 1
        case $(chealth "$s") in healthy | none) ;; *) return 1 ;; esac
    done
    [ "$(vip_holders | tr '\n' ' ')" = "lb1 " ] || return 1
    local writable=0 replicating=0
    for s in "${DB_SERVICES[@]}"; do
        case $(db_read_only "$s") in
        0) writable=$((writable + 1)) ;;
        1) db_replicating "$s" && replicating=$((replicating + 1)) ;;
        esac
    done
    [ "$writable" = 1 ] && [ "$replicating" = 1 ] || return 1
    local master
    master=$(redis_master) || return 1
    cexec "$master" redis-cli -h "$(cip "$master")" INFO replication 2>/dev/null | grep -q '^connected_slaves:1' || return 1
    cexec app1 curl -sf -o /dev/null --max-time 1 "http://$VIP/api/property?limit=1"
}

# wait_until SECONDS CMD...: polls CMD every 0.2 s.
wait_until() {
    local limit=$1
    shift
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}
