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

# Link down/up at the switch port: the node is cut off (host loss, partition)
# but keeps running, as when a cable or a hypervisor's network goes.
link_set() {
    local node=$1 state=$2
    ip -n "$SWITCH_NS" link set "p-$node" "$state"
}
link_state() {
    ip -n "$SWITCH_NS" -o link show "p-$1" 2>/dev/null | grep -q '[<,]UP[,>]' && echo up || echo down
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
