# `deploy/lab slow|unslow TARGET`: an upstream that turns slow without
# failing. The target's processes are frozen for MS milliseconds out of every
# 2 x MS (deploy/lib/stutter, run in the target's namespace and recorded like
# the lab's other processes), so every request they serve may wait up to MS
# longer. Deterministic on purpose: a CPU quota (`docker update --cpus`) slows
# a debug build on a busy machine far more than a release build on an idle
# one, and a soak needs the same slowness on every run. Sourced by deploy/lab.

# slow NODE PROC [MS]: MS defaults to 100 (below every timeout of the lab's
# tandem config: health checks 300 ms, reads 1 s).
fault_slow() {
    local node=$1 proc=$2 ms=${3:-100} pids
    if ! [[ $ms =~ ^[0-9]+$ ]] || [ "$ms" -lt 10 ] || [ "$ms" -gt 10000 ]; then
        die "slow: MS '$ms' must be a whole number of milliseconds, 10 to 10000"
    fi
    recorded_pid "$node" slow >/dev/null && die "$node is already slowed (deploy/lab unslow $node first)"
    mapfile -t pids < <(pids_of "$node" "$proc")
    [ ${#pids[@]} -gt 0 ] || die "$(label "$node" "$proc"): nothing runs"
    spawn "$node" slow "$ROOT/deploy/lib/stutter" "$ms" "${pids[@]}"
    say "slowed $(label "$node" "$proc"): frozen ${ms} ms of every $((2 * ms)) ms (${pids[*]})"
}

# unslow NODE PROC: the stutter stopped; it resumes what it froze.
fault_unslow() {
    local node=$1 proc=$2 pid pids
    pid=$(recorded_pid "$node" slow) || {
        say "$(label "$node" "$proc"): not slowed"
        return 0
    }
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone 5 "$pid" || kill -KILL "$pid" 2>/dev/null || true
    mapfile -t pids < <(pids_of "$node" "$proc")
    signal_all CONT "${pids[@]}"
    rm -f "$(pid_file "$node" slow)"
    say "unslowed $(label "$node" "$proc") (${pids[*]:-none})"
}
