# Lab settings and small helpers, sourced by deploy/lab.
#
# Every node is a network namespace named tdm-NODE on one bridge, which lives in
# its own namespace (tdm-sw). The host joins the bridge through a veth so a
# browser and wrk reach the VIP. Overridable from the environment:
#   LAB_DIR     state, configs, logs         default /tmp/tandem-lab
#   LAB_NET     first three octets of the /24 default 10.231.0
#   BIN_DIR     tandem, tandem-app, ...       default target/release
#   ADVERT_INT  VRRP advert interval, seconds default 0.1
#   UNICAST     1 = unicast VRRP peers        default 0 (multicast)
#   LAB_PREFIX  namespace and host veth prefix default tdm (a second lab, e.g.
#               the tests', needs its own prefix, LAB_NET and LAB_DIR)
#   LAB_CA_DIR  the local-demo CA for https://VIP/, made once and kept
#               across down and up      default ~/.local/share/tandem/lab-ca

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_DIR=${LAB_DIR:-/tmp/tandem-lab}
LAB_NET=${LAB_NET:-10.231.0}
BIN_DIR=${BIN_DIR:-$ROOT/target/release}
ADVERT_INT=${ADVERT_INT:-0.1}
UNICAST=${UNICAST:-0}
LAB_PREFIX=${LAB_PREFIX:-tdm}

PREFIX=24
SUBNET="$LAB_NET.0/$PREFIX"
VIP="$LAB_NET.10"
HOST_IP="$LAB_NET.1"
HTTP_PORT=80
HTTPS_PORT=443
ADMIN_PORT=9090
LAB_CA_DIR=${LAB_CA_DIR:-${HOME:-/root}/.local/share/tandem/lab-ca}
# The balancers' shared certificate (deploy/lib/lb-config.sh make_tls).
TLS_CERT=$LAB_DIR/tls/lb.pem
TLS_KEY=$LAB_DIR/tls/lb.key
APP_PORT=8080
ROUTER_ID=51
# lb1 is the preferred master; preempt_delay: seconds after keepalived starts.
PREEMPT_DELAY=2

LB_NODES=(lb1 lb2)
APP_NODES=(app1 app2 app3)
NODES=(lb1 lb2 app1 app2 app3 data client)

SWITCH_NS=$LAB_PREFIX-sw
HOST_IF=$LAB_PREFIX-host

# The node's address on the lab network.
node_ip() {
    case $1 in
    lb1) echo "$LAB_NET.11" ;;
    lb2) echo "$LAB_NET.12" ;;
    app1) echo "$LAB_NET.21" ;;
    app2) echo "$LAB_NET.22" ;;
    app3) echo "$LAB_NET.23" ;;
    data) echo "$LAB_NET.30" ;;
    client) echo "$LAB_NET.40" ;;
    *) die "unknown node '$1' (nodes: ${NODES[*]})" ;;
    esac
}

ns_of() { echo "$LAB_PREFIX-$1"; }
in_ns() {
    local node=$1
    shift
    ip netns exec "$LAB_PREFIX-$node" "$@"
}
node_dir() { echo "$LAB_DIR/$1"; }
is_node() { [[ " ${NODES[*]} " == *" $1 "* ]]; }

say() { printf 'lab: %s\n' "$*"; }
die() {
    printf 'lab: %s\n' "$*" >&2
    exit 1
}

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces): run as root"; }

lab_exists() { ip netns list 2>/dev/null | grep -q "^$SWITCH_NS\b"; }
need_lab() { lab_exists || die "the lab is not up: make up (or deploy/lab up)"; }

# bin NAME: path of a built binary, or a clear error.
bin() {
    local path="$BIN_DIR/$1"
    [ -x "$path" ] || die "$path is missing: build first (make up builds release binaries; BIN_DIR=$BIN_DIR)"
    echo "$path"
}

# wait_until SECONDS DESCRIPTION CMD...: polls CMD every 0.1 s.
wait_until() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# ---- recorded processes -------------------------------------------------
# Every process the lab starts has LAB_DIR/NODE/NAME.pid and NAME.log. A pid is
# only signalled while /proc says it is still the program recorded for it, so
# a reused pid is never hit.

pid_file() { echo "$LAB_DIR/$1/$2.pid"; }

# recorded_pid NODE NAME: the pid if that process still runs.
recorded_pid() {
    local file
    file=$(pid_file "$1" "$2")
    [ -f "$file" ] || return 1
    local pid program
    read -r pid program <"$file" || return 1
    pid_is "$pid" "$program" && echo "$pid"
}

# pid_is PID PROGRAM: the process runs and its argv[0] (or argv[1], for a
# script run by its interpreter) is PROGRAM.
pid_is() {
    [ -r "/proc/$1/cmdline" ] || return 1
    [ "$(state_of "$1")" != gone ] || return 1
    tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -2 | grep -qxF -- "$2"
}

# spawn NODE NAME [VAR=VALUE...] PROGRAM ARGS...: starts PROGRAM in NODE's
# namespace in its own session (it outlives this command) with the variables
# set, logs to NAME.log and records the pid (the pid is PROGRAM's own:
# setsid and ip netns exec replace themselves with it).
spawn() {
    local node=$1 name=$2
    shift 2
    local vars=()
    while [[ ${1:-} == [A-Za-z_]*=* ]]; do
        vars+=("$1")
        shift
    done
    local dir
    dir=$(node_dir "$node")
    mkdir -p "$dir"
    (
        [ ${#vars[@]} -eq 0 ] || export "${vars[@]}"
        exec setsid ip netns exec "$(ns_of "$node")" "$@"
    ) >>"$dir/$name.log" 2>&1 </dev/null &
    echo "$! $1" >"$(pid_file "$node" "$name")"
}

# state_of PID: running, paused (stopped by a signal) or gone.
state_of() {
    local s
    s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || {
        echo gone
        return
    }
    case $s in T | t) echo paused ;; Z | X | "") echo gone ;; *) echo running ;; esac
}
