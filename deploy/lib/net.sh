# The lab network: namespaces, the bridge, veths; cut and heal. Sourced by deploy/lab.

net_up() {
    ip netns add "$SWITCH_NS"
    ip -n "$SWITCH_NS" link add br0 type bridge
    # No STP and no forwarding delay: a healed link forwards at once.
    ip -n "$SWITCH_NS" link set br0 type bridge stp_state 0 forward_delay 0
    ip -n "$SWITCH_NS" link set br0 up
    ip -n "$SWITCH_NS" link set lo up
    local node
    for node in "${NODES[@]}"; do
        ip netns add "$(ns_of "$node")"
        # Each veth is made inside the switch namespace, its other end moved
        # into the node as eth0.
        ip -n "$SWITCH_NS" link add "p-$node" type veth peer name eth0 netns "$(ns_of "$node")"
        ip -n "$SWITCH_NS" link set "p-$node" master br0 up
        in_ns "$node" ip link set lo up
        in_ns "$node" ip addr add "$(node_ip "$node")/$PREFIX" dev eth0
        in_ns "$node" ip link set eth0 up
    done
    # The host's way in, for a browser and wrk: the VIP and the status pages.
    ip link add "$HOST_IF" type veth peer name p-host netns "$SWITCH_NS"
    ip -n "$SWITCH_NS" link set p-host master br0 up
    ip addr add "$HOST_IP/$PREFIX" dev "$HOST_IF"
    ip link set "$HOST_IF" up
}

# Deletes every lab namespace and the host veth. Processes must be gone first.
net_down() {
    local node
    for node in "${NODES[@]}"; do
        ip netns del "$(ns_of "$node")" 2>/dev/null || true
    done
    ip netns del "$SWITCH_NS" 2>/dev/null || true
    ip link del "$HOST_IF" 2>/dev/null || true
}

# Link down/up at the switch port, for kill/stop/start: the node's interface
# loses its carrier, as when a container's network goes away.
link_set() {
    local node=$1 state=$2
    ip -n "$SWITCH_NS" link set "p-$node" "$state"
}

# cut/heal: the port leaves the bridge but stays up, so the node keeps its
# carrier and believes it is fine: a partition (or a host lost somewhere past
# its own switch). A cut master keeps the VIP and stays MASTER; after heal both
# are master until vrrp_higher_prio_send_advert settles it.
port_attach() {
    local node=$1 attached=$2
    if [ "$attached" = yes ]; then
        ip -n "$SWITCH_NS" link set "p-$node" master br0
    else
        ip -n "$SWITCH_NS" link set "p-$node" nomaster
    fi
}

# up, down (link), or cut (up but off the bridge).
link_state() {
    local line
    line=$(ip -n "$SWITCH_NS" -o link show "p-$1" 2>/dev/null) || {
        echo missing
        return
    }
    if ! grep -q '[<,]UP[,>]' <<<"$line"; then
        echo down
    elif ! grep -q ' master br0 ' <<<"$line"; then
        echo cut
    else
        echo up
    fi
}

# Which LB nodes have the VIP configured (two after keepalived was killed on
# the master: the dead one keeps it until keepalived returns).
vip_holders() {
    local node
    for node in "${LB_NODES[@]}"; do
        if in_ns "$node" ip -o addr show dev eth0 2>/dev/null | grep -q " $VIP/"; then
            echo "$node"
        fi
    done
}
