# Fault commands that mirror Docker's, on lab nodes and on single processes.
# Sourced by deploy/lab.
#
# TARGET is a node (lb1, app2, data, ...), NODE/PROCESS (lb1/tandem,
# lb1/keepalived, app1/app, data/dbctl, data/NAME of a tier server), or a role
# resolved when the command runs: lb-master, lb-backup (nodes), db-master,
# db-replica, db (every MariaDB), redis-master, redis-replica, redis,
# sentinels, dbctl (processes of the data node).

# resolve TARGET: prints "NODE PROCESS" (PROCESS "-" for the whole node).
resolve() {
    local target=$1
    case $target in
    lb-master | lb-backup)
        # The master: holds the VIP with its keepalived running (after a
        # keepalived kill the dead node keeps the VIP too).
        local holders node master=""
        mapfile -t holders < <(vip_holders)
        for node in "${holders[@]}"; do
            recorded_pid "$node" keepalived >/dev/null && master=$node
        done
        [ -n "$master" ] || master=${holders[0]:-}
        [ -n "$master" ] || die "$target: no node holds the VIP"
        if [ "$target" = lb-master ]; then echo "$master -"; else
            [ "$master" = lb1 ] && echo "lb2 -" || echo "lb1 -"
        fi
        ;;
    db-master | db-replica | db | redis-master | redis-replica | redis | sentinels | dbctl) echo "data $target" ;;
    lb-master/* | lb-backup/*)
        local node
        read -r node _ < <(resolve "${target%%/*}")
        echo "$node ${target#*/}"
        ;;
    */*)
        local node=${target%%/*} proc=${target#*/}
        is_node "$node" || die "unknown node in '$target' (nodes: ${NODES[*]})"
        case $node/$proc in
        lb*/tandem | lb*/keepalived | app*/app | data/dbctl) ;;
        data/*) tier_status 2>/dev/null | cut -f1 | grep -qxF -- "$proc" ||
            die "no process '$proc' on data (dbctl, or a tier server: $(tier_status 2>/dev/null | cut -f1 | tr '\n' ' '))" ;;
        *) die "no process '$proc' on $node (lb: tandem, keepalived; app: app; data: dbctl or a tier server)" ;;
        esac
        echo "$node $proc"
        ;;
    *)
        is_node "$target" || die "unknown target '$target' (nodes: ${NODES[*]}; roles: lb-master lb-backup db-master db-replica db redis-master redis-replica redis sentinels dbctl)"
        echo "$target -"
        ;;
    esac
}

# The processes of a node (every process in its namespace, as a container's
# are), or of NODE/PROCESS, as pids.
pids_of() {
    local node=$1 proc=$2
    case $node/$proc in
    */-)
        # keepalived's VRRP child before its parent: the parent's death sends
        # the child SIGTERM (a clean hand-over) if it is still alive.
        [[ $node == lb* ]] && { keepalived_child_pid "$node" || true; }
        ip netns pids "$(ns_of "$node")" 2>/dev/null
        ;;
    lb*/tandem) tandem_pid "$node" || true ;;
    lb*/keepalived)
        keepalived_child_pid "$node" || true
        recorded_pid "$node" keepalived || true
        ;;
    app*/app) recorded_pid "$node" app || true ;;
    data/dbctl) recorded_pid data dbctl || true ;;
    data/db) tier_pids mariadb ;;
    data/db-master) tier_pids mariadb master ;;
    data/db-replica) tier_pids mariadb replica ;;
    data/redis) tier_pids redis ;;
    data/redis-master) tier_pids redis master ;;
    data/redis-replica) tier_pids redis replica ;;
    data/sentinels) tier_pids sentinel ;;
    data/*)
        local name kind addr pid up role
        while IFS=$'\t' read -r name kind addr pid up role; do
            [ "$name" = "$proc" ] && [ "$up" = up ] && echo "$pid"
        done < <(tier_status 2>/dev/null)
        ;;
    *) die "unknown process '$proc' on $node" ;;
    esac
}

label() { [ "$2" = - ] && echo "$1" || echo "$1/$2"; }

signal_all() {
    local sig=$1
    shift
    local pid
    for pid in "$@"; do
        kill -s "$sig" "$pid" 2>/dev/null || true
    done
}

wait_gone() {
    local limit=$1
    shift
    local deadline=$((SECONDS + limit)) pid alive
    while :; do
        alive=0
        for pid in "$@"; do
            [ "$(state_of "$pid")" = gone ] || alive=1
        done
        [ $alive = 1 ] || return 0
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# Before tandem is stopped on purpose, keepalived gives the VIP away (the
# track file says "not serving"): the drain then sees no new connections.
step_down() {
    local node=$1
    [[ $node == lb* ]] && echo 1 >"$(node_dir "$node")/tandem.track" && sleep 0.3
    return 0
}

fault_kill() {
    local node=$1 proc=$2 pids
    mapfile -t pids < <(pids_of "$node" "$proc")
    [ ${#pids[@]} -gt 0 ] || say "$(label "$node" "$proc"): nothing runs"
    signal_all KILL "${pids[@]}"
    # A killed container's network goes with it; a killed process's does not.
    [ "$proc" = - ] && link_set "$node" down
    wait_gone 5 "${pids[@]}" || die "still running after SIGKILL: ${pids[*]}"
    say "killed $(label "$node" "$proc") (${pids[*]:-none})"
}

# docker stop: SIGTERM, 10 s, then SIGKILL.
fault_stop() {
    local node=$1 proc=$2 pids
    mapfile -t pids < <(pids_of "$node" "$proc")
    [ "$proc" = - ] || [ "$proc" = tandem ] && step_down "$node"
    signal_all CONT "${pids[@]}" # a paused process must run to act on SIGTERM
    signal_all TERM "${pids[@]}"
    if ! wait_gone 10 "${pids[@]}"; then
        say "SIGTERM ignored for 10 s: SIGKILL"
        signal_all KILL "${pids[@]}"
        wait_gone 5 "${pids[@]}" || true
    fi
    [ "$proc" = - ] && link_set "$node" down
    say "stopped $(label "$node" "$proc") (${pids[*]:-none})"
}

fault_signal() {
    local sig=$1 node=$2 proc=$3 pids
    mapfile -t pids < <(pids_of "$node" "$proc")
    [ ${#pids[@]} -gt 0 ] || die "$(label "$node" "$proc"): nothing runs"
    signal_all "$sig" "${pids[@]}"
    say "$([ "$sig" = STOP ] && echo paused || echo resumed) $(label "$node" "$proc") (${pids[*]})"
}

# Starts what is not running on the node (or the one process) and brings its link up.
fault_start() {
    local node=$1 proc=$2
    if [ "$proc" = - ]; then
        # A killed node's stale VIP must not answer ARP before keepalived decides.
        [[ $node == lb* ]] && { in_ns "$node" ip addr del "$VIP/$PREFIX" dev eth0 2>/dev/null || true; }
        link_set "$node" up
    fi
    case $node/$proc in
    lb*/-)
        start_tandem "$node"
        start_keepalived "$node"
        ;;
    lb*/tandem) start_tandem "$node" ;;
    lb*/keepalived) start_keepalived "$node" ;;
    app*/- | app*/app) start_app "$node" ;;
    data/-)
        start_tier
        start_dbctl
        ;;
    data/dbctl) start_dbctl ;;
    data/db | data/db-*) start_tier mariadb ;;
    data/redis | data/redis-*) start_tier redis ;;
    data/sentinels) start_tier sentinel ;;
    data/*) start_tier "" "$proc" ;;
    client/-) ;;
    *) die "cannot start '$proc' on $node" ;;
    esac
    say "started $(label "$node" "$proc")"
}
