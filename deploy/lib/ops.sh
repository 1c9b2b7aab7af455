# Operations on a running lab that are not faults: a config reload through
# tandem's admin API and the pids of a target. Sourced by deploy/lab.

# reload NODE: POST /api/reload on the node's tandem with the lab's admin
# token, as an operator would after editing lb.yaml. Fails (exit 1, tandem's
# answer on stderr) when tandem refuses the config or does not answer.
lab_reload() {
    local node=$1 answer
    [[ $node == lb* ]] || die "reload: $node runs no tandem (lb1, lb2, lb-master, lb-backup)"
    answer=$(in_ns "$node" curl -sS --max-time 5 -X POST \
        -H "Authorization: Bearer $(cat "$(TOKEN_FILE)")" \
        -w '\n%{http_code}' "http://127.0.0.1:$ADMIN_PORT/api/reload" 2>&1) ||
        die "reload $node: no answer from tandem's admin API: $answer"
    local code=${answer##*$'\n'} body=${answer%$'\n'*}
    [ "$code" = 200 ] || die "reload $node: HTTP $code: $body"
    say "reloaded $node: $(echo "$body" | tr -s " \n" " ")"
}

# pid TARGET: the pids of a target (one per line), as the faults resolve
# them; exit 1 when nothing runs. For samplers: `drill` watches tandem's RSS
# and descriptors by this.
lab_pid() {
    local node=$1 proc=$2 pids
    mapfile -t pids < <(pids_of "$node" "$proc")
    [ ${#pids[@]} -gt 0 ] || die "$(label "$node" "$proc"): nothing runs"
    printf '%s\n' "${pids[@]}"
}
