# What runs where: `deploy/lab status` and `deploy/lab wait-ready`. Sourced by deploy/lab.

proc_line() {
    local label=$1 pid=${2:-}
    if [ -z "$pid" ]; then
        printf '    %-16s %s\n' "$label" "DOWN"
    else
        printf '    %-16s pid %-7s %s\n' "$label" "$pid" "$(state_of "$pid")"
    fi
}

# Last VRRP transition a node logged (its notify hook), e.g. "MASTER", or
# "-" while its keepalived does not run (the log then tells the past).
vrrp_state() {
    recorded_pid "$1" keepalived >/dev/null || {
        echo -
        return
    }
    tail -n 1 "$(node_dir "$1")/transitions.log" 2>/dev/null | awk '{print $5}'
}

status() {
    need_lab
    local node holders
    holders=$(vip_holders | tr '\n' ' ')
    echo "lab in $LAB_DIR, network $SUBNET, VIP $VIP held by: ${holders:-nobody}"
    for node in "${NODES[@]}"; do
        printf '  %-7s %-15s link %s\n' "$node" "$(node_ip "$node")" "$(link_state "$node")"
        case $node in
        lb*)
            proc_line tandem "$(tandem_pid "$node" || true)"
            proc_line keepalived "$(recorded_pid "$node" keepalived || true)"
            printf '    %-16s %s (track file %s)\n' "last transition" "$(vrrp_state "$node" || echo '?')" \
                "$(cat "$(node_dir "$node")/tandem.track" 2>/dev/null || echo '?')"
            ;;
        app*) proc_line tandem-app "$(recorded_pid "$node" app || true)" ;;
        data)
            local name kind addr pid up role
            while IFS=$'\t' read -r name kind addr pid up role; do
                if [ "$up" = up ]; then
                    printf '    %-16s pid %-7s %-8s %-21s %s\n' "$name" "$pid" "$(state_of "$pid")" "$addr" "$role"
                else
                    printf '    %-16s %-22s %s\n' "$name" DOWN "$addr"
                fi
            done < <(tier_status 2>/dev/null)
            proc_line tandem-dbctl "$(recorded_pid data dbctl || true)"
            ;;
        esac
    done
}

# The home state every drill starts from: lb1 holds the VIP and serves, lb2 is
# BACKUP with a healthy tandem, every app answers, the database has a master
# and a replicating replica, Redis has a master and a replica.
ready() {
    # (Transitions are logged by notify scripts that may run out of order, so
    # the VIP and the processes decide, not the log.)
    [ "$(vip_holders | tr '\n' ' ')" = "lb1 " ] || return 1
    recorded_pid lb1 keepalived >/dev/null && recorded_pid lb2 keepalived >/dev/null || return 1
    local node
    for node in "${LB_NODES[@]}"; do
        [ "$(cat "$(node_dir "$node")/tandem.track" 2>/dev/null)" = 0 ] || return 1
    done
    for node in "${APP_NODES[@]}"; do
        in_ns client curl -sf -o /dev/null --max-time 1 "http://$(node_ip "$node"):$APP_PORT/healthz" || return 1
    done
    local roles
    roles=$(tier_status 2>/dev/null | awk -F'\t' '$5 == "up" {print $2 "-" $6}' | sort | tr '\n' ' ')
    [[ "$roles" == *"mariadb-master"*"mariadb-replica"* ]] || return 1
    [[ "$roles" == *"redis-master"*"redis-replica"* ]] || return 1
    in_ns client curl -sf -o /dev/null --max-time 1 "http://$VIP:$HTTP_PORT/api/property?limit=1"
}

wait_ready() {
    need_lab
    local limit=${1:-90}
    wait_until "$limit" "the lab ready" ready || die "not ready after ${limit}s: $(status 2>&1)"
}
