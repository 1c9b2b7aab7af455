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
#   HTTP_PORT HTTPS_PORT TLS_CERT TLS_KEY ADMIN_PORT TOKEN_FILE SUBNET VIP
#   PREFIX ROUTER_ID ADVERT_INT PREEMPT_DELAY UNICAST(0|1) INTERFACE NOTIFY
lb_configs() {
    local dir=$1 node=$2 self_ip=$3 peer_ip=$4 app_addrs=$5
    local servers="" addr
    for addr in $app_addrs; do
        servers+=$(printf '      - { addr: "%s", max_fails: 1, fail_timeout: 5s }\n' "$addr")$'\n'
    done
    mkdir -p "$dir"
    "$LB_CONFIG_ROOT/deploy/lib/render" "$LB_CONFIG_ROOT/deploy/templates/lb.yaml.tmpl" NODE="$node" HTTP_PORT="$HTTP_PORT" \
        HTTPS_PORT="$HTTPS_PORT" TLS_CERT="$TLS_CERT" TLS_KEY="$TLS_KEY" ADMIN_PORT="$ADMIN_PORT" STATE_DIR="$dir" TOKEN_FILE="$TOKEN_FILE" SUBNET="$SUBNET" \
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

# make_tls CA_DIR DIR NAMES...: the stack's local CA in CA_DIR (made once
# and kept, so a browser that trusts it keeps trusting it: CA_DIR/ca.pem),
# and in DIR a certificate it signs for NAMES (IP addresses or DNS names),
# shared by both balancers of the pair since they serve the same VIP:
# DIR/lb.pem (leaf then CA), DIR/lb.key. Local demo only: the CA's key sits
# next to it, unencrypted. Needs openssl.
make_tls() {
    local ca_dir=$1 dir=$2 sans="" name
    shift 2
    for name in "$@"; do
        if [[ $name =~ ^[0-9.]+$ ]]; then sans+="IP:$name,"; else sans+="DNS:$name,"; fi
    done
    mkdir -p "$ca_dir" "$dir"
    if [ ! -s "$ca_dir/ca.pem" ] || [ ! -s "$ca_dir/ca.key" ]; then
        (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj "/CN=tandem local demo CA" -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -keyout "$ca_dir/ca.key" -out "$ca_dir/ca.pem" 2>/dev/null)
    fi
    (umask 077 && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
        -keyout "$dir/lb.key" -out "$dir/lb.csr" 2>/dev/null)
    printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
        "${sans%,}" >"$dir/lb.ext"
    openssl x509 -req -in "$dir/lb.csr" -CA "$ca_dir/ca.pem" -CAkey "$ca_dir/ca.key" -CAcreateserial \
        -days 90 -extfile "$dir/lb.ext" -out "$dir/lb.leaf.pem" 2>/dev/null
    cat "$dir/lb.leaf.pem" "$ca_dir/ca.pem" >"$dir/lb.pem"
    rm -f "$dir/lb.csr" "$dir/lb.ext" "$dir/lb.leaf.pem"
}
