# Starting the lab's processes, one kind per function. Sourced by deploy/lab.
# Each start_* is idempotent: what already runs is left alone.

TIER_DIR() { echo "$LAB_DIR/data/tier"; }
TOKEN_FILE() { echo "$LAB_DIR/admin.token"; }

# Local-demo admin token for both tandems' runtime API, made once per lab.
make_token() { make_token_file "$(TOKEN_FILE)"; }

# ---- data node: MariaDB pair, Redis pair, 3 Sentinels, promotion controller

# start_tier [KIND [NAME]]: starts the tier, or restarts what of it is down
# (only servers of KIND, or only NAME): a killed MariaDB master comes back
# read-only for the controller to rejoin, a Redis master as a replica.
start_tier() {
    local only_kind=${1:-} only_name=${2:-} dir
    dir=$(TIER_DIR)
    if [ -f "$dir/tandem-services.state" ]; then
        local name kind addr pid up role down=()
        while IFS=$'\t' read -r name kind addr pid up role; do
            [ "$up" = up ] && continue
            [ -z "$only_kind" ] || [ "$kind" = "$only_kind" ] || continue
            [ -z "$only_name" ] || [ "$name" = "$only_name" ] || continue
            down+=("$name")
        done < <(tier_status)
        for name in "${down[@]}"; do
            in_ns data "$(bin tandem-services)" start --dir "$dir" "$name"
        done
    else
        mkdir -p "$LAB_DIR/data"
        in_ns data "$(bin tandem-services)" up --dir "$dir" --host "$(node_ip data)" >"$LAB_DIR/data/tier-up.log" 2>&1 ||
            die "data tier failed to start: $(tail -5 "$LAB_DIR/data/tier-up.log")"
    fi
}

# name kind host:port pid up|down role, tab-separated, one server per line.
tier_status() {
    in_ns data "$(bin tandem-services)" status --dir "$(TIER_DIR)" --porcelain
}

# tier_pids [KIND|ROLE-KIND]: pids of the running tier servers matching.
#   tier_pids                  every server
#   tier_pids mariadb          every MariaDB node
#   tier_pids mariadb master   the MariaDB master
tier_pids() {
    local want_kind=${1:-} want_role=${2:-}
    local name kind addr pid up role
    while IFS=$'\t' read -r name kind addr pid up role; do
        [ "$up" = up ] || continue
        [ -z "$want_kind" ] || [ "$kind" = "$want_kind" ] || continue
        [ -z "$want_role" ] || [ "$role" = "$want_role" ] || continue
        echo "$pid"
    done < <(tier_status 2>/dev/null)
}

start_dbctl() {
    recorded_pid data dbctl >/dev/null && return
    # The tier's env names every node's admin URL (local-demo credentials).
    local vars
    mapfile -t vars < <(grep -E '^TANDEM_DBCTL_' "$(TIER_DIR)/env")
    spawn data dbctl "${vars[@]}" RUST_LOG=info "$(bin tandem-dbctl)" watch
}

# ---- app nodes

start_app() {
    local node=$1
    recorded_pid "$node" app >/dev/null && return
    local dir vars
    dir=$(node_dir "$node")
    mkdir -p "$dir"
    "$ROOT/deploy/lib/render" "$ROOT/deploy/templates/app.env.tmpl" NODE="$node" APP_PORT="$APP_PORT" >"$dir/app.env"
    # Settings: the node's own file, then the data tier's URLs (TANDEM_APP_*).
    mapfile -t vars < <(cat "$dir/app.env" <(grep -E '^TANDEM_APP_' "$(TIER_DIR)/env") | grep -v '^#')
    spawn "$node" app "${vars[@]}" "$(bin tandem-app)"
}

# ---- balancer nodes: tandem (under deploy/lib/tracked) and keepalived

render_lb() {
    local node=$1 peer=lb1 app addrs=""
    [ "$node" = lb1 ] && peer=lb2
    for app in "${APP_NODES[@]}"; do addrs+="$(node_ip "$app"):$APP_PORT "; done
    make_token
    TOKEN_FILE=$(TOKEN_FILE) INTERFACE=eth0 NOTIFY=$(notify_script) \
        lb_configs "$(node_dir "$node")" "$node" "$(node_ip "$node")" "$(node_ip "$peer")" "$addrs"
}

# keepalived's enable_script_security disables a notify script on a path a
# non-root user owns or can write (a user's checkout): run a root-owned copy.
notify_script() {
    install -D -m 755 -o root -g root "$ROOT/keepalived/notify.sh" "$LAB_DIR/bin/notify.sh"
    echo "$LAB_DIR/bin/notify.sh"
}

start_tandem() {
    local node=$1 dir
    recorded_pid "$node" tandem-tracked >/dev/null && return
    dir=$(node_dir "$node")
    [ -f "$dir/lb.yaml" ] || render_lb "$node"
    # Not serving until the wrapper sees /healthz pass (a SIGKILLed wrapper
    # may have left 0 behind).
    echo 1 >"$dir/tandem.track"
    spawn "$node" tandem-tracked "$ROOT/deploy/lib/tracked" "$dir/tandem.track" \
        "http://127.0.0.1:$ADMIN_PORT/healthz" env RUST_LOG=warn "$(bin tandem)" --config "$dir/lb.yaml"
}

# tandem's own pid (the tracked wrapper's child), from its pid file.
tandem_pid() {
    local pid
    pid=$(cat "$(node_dir "$1")/tandem.pid" 2>/dev/null) || return 1
    pid_is "$pid" "$(bin tandem)" && echo "$pid"
}

start_keepalived() {
    local node=$1 dir
    recorded_pid "$node" keepalived >/dev/null && return
    dir=$(node_dir "$node")
    [ -f "$dir/keepalived.conf" ] || render_lb "$node"
    # A keepalived that was SIGKILLed left the VIP on eth0; the returning one
    # starts as BACKUP and must not answer for it meanwhile.
    in_ns "$node" ip addr del "$VIP/$PREFIX" dev eth0 2>/dev/null || true
    # A SIGKILLed keepalived leaves its pid files; a reused pid in them would
    # make the new one refuse to start.
    rm -f "$dir/keepalived-main.pid" "$dir/keepalived-vrrp.pid"
    # Foreground (-n), log to the console (-l), details (-D), VRRP only (-P),
    # no syslog (-G), own pid files so two instances on one filesystem do
    # not collide.
    spawn "$node" keepalived /usr/sbin/keepalived -n -l -D -P -G -f "$dir/keepalived.conf" \
        -p "$dir/keepalived-main.pid" -r "$dir/keepalived-vrrp.pid"
}

# keepalived's VRRP child (the parent restarts it if it dies alone).
keepalived_child_pid() {
    local pid
    pid=$(cat "$(node_dir "$1")/keepalived-vrrp.pid" 2>/dev/null) || return 1
    pid_is "$pid" /usr/sbin/keepalived && echo "$pid"
}
