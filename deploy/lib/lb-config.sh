# The configs of one balancer node (tandem's lb.yaml, keepalived.conf), from
# deploy/templates/lb.yaml.tmpl and keepalived/keepalived.conf.tmpl. One
# function for the lab (deploy/lib/procs.sh) and the Docker image
# (deploy/docker/run-lb, which keeps the repository's layout under /opt/tandem),
# so both run the same settings.

LB_CONFIG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# lb_configs DIR NODE SELF_IP PEER_IP APP_ADDRS: writes DIR/lb.yaml and
# DIR/keepalived.conf for NODE (lb1 is the preferred master: priority 150,
# others 100). APP_ADDRS: the app servers, "host:port" separated by spaces.
# Settings from the environment (the lab's common.sh, the compose file):
#   HTTP_PORT ADMIN_PORT TOKEN_FILE SUBNET VIP PREFIX ROUTER_ID ADVERT_INT
#   PREEMPT_DELAY UNICAST(0|1) INTERFACE NOTIFY
lb_configs() {
    local dir=$1 node=$2 self_ip=$3 peer_ip=$4 app_addrs=$5
    local servers="" addr
    for addr in $app_addrs; do
        servers+=$(printf '      - { addr: "%s", max_fails: 1, fail_timeout: 5s }\n' "$addr")$'\n'
    done
    mkdir -p "$dir"
    "$LB_CONFIG_ROOT/deploy/lib/render" "$LB_CONFIG_ROOT/deploy/templates/lb.yaml.tmpl" NODE="$node" HTTP_PORT="$HTTP_PORT" \
        ADMIN_PORT="$ADMIN_PORT" STATE_DIR="$dir" TOKEN_FILE="$TOKEN_FILE" SUBNET="$SUBNET" \
        APP_SERVERS="${servers%$'\n'}" >"$dir/lb.yaml"
    local priority=100 unicast=""
    [ "$node" = lb1 ] && priority=150
    if [ "$UNICAST" = 1 ]; then
        unicast="    unicast_src_ip $self_ip
    unicast_peer {
        $peer_ip
    }"
    fi
    "$LB_CONFIG_ROOT/deploy/lib/render" "$LB_CONFIG_ROOT/keepalived/keepalived.conf.tmpl" NODE="$node" INTERFACE="$INTERFACE" \
        ROUTER_ID="$ROUTER_ID" PRIORITY="$priority" ADVERT_INT="$ADVERT_INT" PREEMPT_DELAY="$PREEMPT_DELAY" \
        UNICAST="$unicast" VIP="$VIP" PREFIX="$PREFIX" ADMIN_PORT="$ADMIN_PORT" TRACK_FILE="$dir/tandem.track" \
        NOTIFY="$NOTIFY" TRANSITIONS_LOG="$dir/transitions.log" >"$dir/keepalived.conf"
}

# Local-demo admin token for tandem's runtime API, made once: FILE.
make_token_file() {
    [ -s "$1" ] || (umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1")
}
