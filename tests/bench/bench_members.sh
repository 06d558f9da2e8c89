#!/usr/bin/env bash
# tests/bench/bench_members.sh: how fast membership converges, with real
# fednode processes on 127.0.0.1, for N = 4, 8, 16, 32 (override with
# FED_BENCH_SIZES="4 8").
#
# For each N: N-1 nodes join through one seed; then
#   join  - the Nth node starts: time from its "listening" log line to the
#           last of the N-1 others logging it as a member;
#   dead  - a non-seed node is SIGKILLed: time from the kill to the last of
#           the N-1 others logging it dead. That includes the suspicion
#           timeout, which is a setting, so it is printed less that timeout
#           too: detection (first suspicion) plus dissemination.
# The baseline is SWIM's own yardstick, log2(N) probe periods: the rounds
# of epidemic dissemination an update needs to reach N nodes.
# Times come from each node's log (wall clock, ms), one clock on one machine.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
fednode="$bin/fednode"
sizes=${FED_BENCH_SIZES:-"4 8 16 32"}
probe_ms=200
timeout_ms=100
suspicion_ms=1000
python=/usr/bin/python3
[ -x "$python" ] || python=python3

work=$(mktemp -d /tmp/fed-bench-members.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
# log_ms LINE: the wall-clock ms of a log line "2026-11-24T19:06:30.698Z ...".
log_ms() { date -d "$(cut -c1-23 <<<"$1")Z" +%s%3N; }
# wait_logs DIR FROM TO PATTERN LIMIT_S: until every log nFROM..nTO (in DIR)
# has a line matching PATTERN; prints the latest such line's ms.
wait_logs() {
    local dir=$1 from=$2 to=$3 pattern=$4 limit=$5 deadline=$(($(now_ms) + $5 * 1000))
    while [ "$(now_ms)" -lt $deadline ]; do
        local latest=0 all=1
        for i in $(seq "$from" "$to"); do
            [ -e "$dir/skip$i" ] && continue
            line=$(grep -m1 -E "$pattern" "$dir/n$i.out" 2>/dev/null) || { all=0; break; }
            t=$(log_ms "$line")
            [ "$t" -gt $latest ] && latest=$t
        done
        if [ $all = 1 ]; then echo $latest; return 0; fi
        sleep 0.05
    done
    return 1
}

printf "%-6s %-8s %10s %12s %14s %10s\n" N event ms "log2(N)*T" "ratio" "ms-susp"
for n in $sizes; do
    dir="$work/$n"
    mkdir -p "$dir"
    base=$((23000 + (n * 40) % 2000))
    declare -A id=()
    for i in $(seq 1 "$n"); do
        out=$("$fednode" id -d "$dir/n$i" --json 2>/dev/null)
        id[$i]=$($python -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$out")
    done
    for i in $(seq 1 "$n"); do
        {
            echo "gossip: {probe_interval: ${probe_ms}ms, probe_timeout: ${timeout_ms}ms, suspicion_timeout: ${suspicion_ms}ms}"
            echo "durability: wal"
            echo "trust:"
            for j in $(seq 1 "$n"); do echo "  - {key: '${id[$j]}', role: peer}"; done
        } >"$dir/n$i.yaml"
    done
    start() {
        local i=$1; shift
        "$fednode" -c "$dir/n$i.yaml" -d "$dir/n$i" --name "n$i" \
            --peer-bind "tcp://127.0.0.1:$((base + i))" \
            --control-bind "tcp://127.0.0.1:$((base + 1000 + i))" "$@" >"$dir/n$i.out" 2>&1 &
        pids+=($!)
        eval "pid$i=$!"
    }
    seed="${id[1]}@tcp://127.0.0.1:$((base + 1))"
    start 1
    for i in $(seq 2 $((n - 1))); do start "$i" --seed "$seed"; done
    # Converged: every early node has logged every other as joined.
    for i in $(seq 1 $((n - 1))); do
        for j in $(seq 1 $((n - 1))); do
            [ "$i" = "$j" ] && continue
            wait_logs "$dir" "$i" "$i" "member n$j \(.*joined" 30 >/dev/null ||
                { echo "N=$n: n$i never saw n$j join" >&2; exit 1; }
        done
    done
    sleep 1 # let the join gossip die down
    log2=$($python -c "import math; print(math.log2($n))")
    yard=$($python -c "print(round($log2 * $probe_ms))")

    start "$n" --seed "$seed"
    started=$(wait_logs "$dir" "$n" "$n" "peer: listening" 10) || { echo "n$n did not start" >&2; exit 1; }
    last=$(wait_logs "$dir" 1 $((n - 1)) "member n$n \(.*joined" 30) || { echo "N=$n: join not seen everywhere" >&2; exit 1; }
    join=$((last - started))
    printf "%-6s %-8s %10d %12d %14s %10s\n" "$n" join "$join" "$yard" \
        "$($python -c "print('%.2f x' % ($join / $yard))")" "-"

    sleep 1
    victim=$((n / 2 + 1))
    eval "vpid=\$pid$victim"
    killed=$(now_ms)
    { kill -KILL "$vpid"; wait "$vpid"; } 2>/dev/null
    touch "$dir/skip$victim"
    last=$(wait_logs "$dir" 1 "$n" "member n$victim \(.*is now dead" 60) || { echo "N=$n: death not seen everywhere" >&2; exit 1; }
    dead=$((last - killed))
    printf "%-6s %-8s %10d %12d %14s %10d\n" "$n" dead "$dead" "$yard" \
        "$($python -c "print('%.2f x' % (($dead - $suspicion_ms) / $yard))")" $((dead - suspicion_ms))

    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    pids=()
    unset id
done
echo "(probe_interval ${probe_ms} ms, probe_timeout ${timeout_ms} ms, suspicion_timeout ${suspicion_ms} ms;"
echo " ratio = time / (log2(N) probe periods); for dead, time less the suspicion timeout)"
