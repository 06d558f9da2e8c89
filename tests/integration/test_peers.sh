#!/usr/bin/env bash
# tests/integration/test_peers.sh: membership with real processes.
#
# Five fednode processes on 127.0.0.1, each with its own ports and data dir,
# all trusting each other's keys (config trust: role peer). Checks, with
# deadlines and never fixed waits:
#   - all five join through one seed and each lists five alive members;
#   - a node killed with SIGKILL is marked dead by every other node within
#     the documented bound, suspicion_timeout + (2N + 2) probe intervals;
#   - restarted with no --seed (it rejoins from data_dir/members) it is
#     alive again everywhere, at a higher incarnation;
#   - a node stopped with SIGSTOP is suspected, refutes after SIGCONT, and
#     no healthy node is declared dead meanwhile (Lifeguard's false
#     positive count: 0);
#   - the seed dies; the others still see each other and a newcomer joins
#     through another live member;
#   - SIGTERM says BYE: the others mark the node left, not dead.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-peers.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

base=$((21000 + ($$ % 500) * 20))
probe_ms=200
suspicion_ms=3000
count=6 # n1..n5 start; n6 is the newcomer

# Keys first, so that every config can trust every node.
declare -A id seed pid
peer_cluster $count $base "{probe_interval: ${probe_ms}ms, probe_timeout: 100ms, suspicion_timeout: ${suspicion_ms}ms}"

# start I [ARGS]: starts node nI in the background.
start() {
    local i=$1; shift
    "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" --name "n$i" \
        --peer-bind "tcp://127.0.0.1:$((base + i))" \
        --control-bind "tcp://127.0.0.1:$((base + 10 + i))" "$@" >>"$work/n$i.out" 2>&1 &
    pid[$i]=$!
    pids+=("${pid[$i]}")
}
# states I: "name=state@incarnation ..." as node nI lists its members, sorted.
states() {
    "$fedctl" --data-dir "$work/n$1" --timeout 2s members --json 2>/dev/null |
        $python -c 'import json,sys
print(" ".join(sorted("%s=%s@%d" % (m["name"], m["state"], m["incarnation"]) for m in json.load(sys.stdin))))' 2>/dev/null
}
# state_of I NAME: NAME's state as node nI sees it ("" if unknown).
state_of() { states "$1" | tr ' ' '\n' | sed -n "s/^$2=\([a-z]*\)@.*/\1/p"; }
# wait_all "I J K" NAME STATE SECONDS: until every listed node sees NAME in
# STATE; prints the milliseconds it took; fails after SECONDS.
wait_all() {
    local nodes=$1 name=$2 want=$3 limit=$4 start_ms now_ms
    start_ms=$(date +%s%3N)
    while true; do
        local all=1
        for i in $nodes; do [ "$(state_of "$i" "$name")" = "$want" ] || { all=0; break; }; done
        now_ms=$(date +%s%3N)
        if [ $all = 1 ]; then echo $((now_ms - start_ms)); return 0; fi
        [ $((now_ms - start_ms)) -gt $((limit * 1000)) ] && return 1
        sleep 0.05
    done
}
# dead_declared NAME: how many nodes' logs declared NAME dead.
dead_declared() { cat "$work"/n*.out | grep -c "swim: $1 (.*without refuting: dead" ; }

# --- five nodes join through one seed -------------------------------------
start 1 --region eu-west
start 2 --seed "${seed[1]}" --region eu-east --zone b
for i in 3 4 5; do start $i --seed "${seed[1]}" --region us-east; done
joined=1
for i in 1 2 3 4 5; do
    for j in 1 2 3 4 5; do
        wait_all "$i" "n$j" alive 15 >/dev/null || { joined=0; break 2; }
    done
done
if [ $joined = 1 ]; then ok "5 nodes joined through one seed"; else
    fail "5 nodes did not all join: $(for i in 1 2 3 4 5; do echo "n$i: $(states $i);"; done)"
    exit 1
fi
for i in 1 2 3 4 5; do
    expect "n$i lists 5 members" 5 "$(states $i | wc -w)"
done

# Serf-style filters: by state, and by tag with an anchored regexp.
names() {
    "$fedctl" --data-dir "$work/n1" --timeout 2s members --json "$@" 2>/dev/null |
        $python -c 'import json,sys; print(" ".join(sorted(m["name"] for m in json.load(sys.stdin))))'
}
expect "members --tag region=eu.* picks the eu nodes" "n1 n2" "$(names --tag 'region=eu.*')"
expect "members --tag region=eu is anchored (no eu-west)" "" "$(names --tag 'region=eu')"
expect "members --tag with a label" "n2" "$(names --tag 'region=eu-.*' --tag 'zone=b')"
expect "members --status alive lists all five" "n1 n2 n3 n4 n5" "$(names --status alive)"
expect "members --status dead lists none yet" "" "$(names --status dead)"
out=$("$fedctl" --data-dir "$work/n1" members --tag 'region=(' 2>&1); rc=$?
expect "a bad tag regexp is a usage error" 2 "$rc"
contains "and names the tag" "region" "$out"

# --- kill -9: dead everywhere within the documented bound ------------------
bound_s=$(( (suspicion_ms + (2 * 5 + 2) * probe_ms + 999) / 1000 ))
{ kill -KILL "${pid[5]}"; wait "${pid[5]}"; } 2>/dev/null
if took=$(wait_all "1 2 3 4" n5 dead $((bound_s + 2))); then
    if [ "$took" -le $((bound_s * 1000)) ]; then ok "SIGKILLed n5 is dead on n1..n4 in ${took} ms (bound ${bound_s} s)"
    else fail "n5 took ${took} ms to be dead everywhere; the bound is ${bound_s} s"; fi
else
    fail "n5 not dead everywhere after $((bound_s + 2)) s: $(for i in 1 2 3 4; do echo "n$i: $(states $i);"; done)"
fi

# --- restart: alive again everywhere, from the members snapshot -----------
contains "n5 wrote its members snapshot" "${seed[1]}" "$(cat "$work/n5/members")"
start 5
if wait_all "1 2 3 4" n5 alive 10 >/dev/null; then ok "restarted n5 (no --seed) is alive again everywhere"
else fail "restarted n5 not alive everywhere: $(for i in 1 2 3 4; do echo "n$i: $(states $i);"; done)"; fi
inc=$(states 1 | tr ' ' '\n' | sed -n 's/^n5=alive@\([0-9]*\)/\1/p')
[ "${inc:-0}" -ge 1 ] && ok "n5 refuted its death with incarnation $inc" || fail "n5 incarnation is '${inc}', expected >= 1"
for j in 1 2 3 4; do
    wait_all 5 "n$j" alive 10 >/dev/null || fail "restarted n5 does not see n$j alive: $(states 5)"
done

# --- SIGSTOP / SIGCONT: suspected, refutes, nobody dies --------------------
dead_before=$(cat "$work"/n*.out | grep -c "without refuting: dead")
kill -STOP "${pid[3]}"
if wait_all "1 2 4 5" n3 suspect 3 >/dev/null || [ -n "$(for i in 1 2 4 5; do state_of $i n3; done | grep suspect)" ]; then
    ok "stopped n3 is suspected"
else
    fail "stopped n3 was not suspected: $(states 1)"
fi
kill -CONT "${pid[3]}"
if wait_all "1 2 4 5" n3 alive 5 >/dev/null; then ok "n3 refuted after SIGCONT"
else fail "n3 not alive again after SIGCONT: $(states 1)"; fi
# Hold on for one more suspicion timeout: a late false positive would show.
sleep_until=$(( $(date +%s%3N) + suspicion_ms + 500 ))
while [ "$(date +%s%3N)" -lt $sleep_until ]; do
    for i in 1 2 4 5; do
        [ "$(state_of $i n3)" = dead ] && { fail "n$i declared n3 dead"; break 2; }
    done
    sleep 0.1
done
expect "no healthy node declared dead while n3 was stopped (Lifeguard false positives)" \
    "$dead_before" "$(cat "$work"/n*.out | grep -c "without refuting: dead")"
contains "n3 noticed its own stall" "stalled for" "$(cat "$work/n3.out")"

# --- the seed dies: the rest carry on, a newcomer joins through another ----
{ kill -KILL "${pid[1]}"; wait "${pid[1]}"; } 2>/dev/null
wait_all "2 3 4 5" n1 dead $((bound_s + 2)) >/dev/null && ok "dead seed n1 is marked dead" || fail "n1 not dead: $(states 2)"
for i in 2 3 4 5; do
    for j in 2 3 4 5; do
        [ "$(state_of $i n$j)" = alive ] || fail "after the seed died, n$i sees n$j as '$(state_of $i n$j)'"
    done
done
ok "after the seed died, n2..n5 still see each other alive"
start 6 --seed "${seed[4]}"
if wait_all "2 3 4 5" n6 alive 10 >/dev/null; then ok "newcomer n6 joined through n4 and is alive on n2..n5"
else fail "n6 did not join through n4: $(for i in 2 3 4 5; do echo "n$i: $(states $i);"; done)"; fi
wait_all 6 n2 alive 5 >/dev/null && wait_all 6 n5 alive 5 >/dev/null &&
    ok "n6 knows the members it never contacted directly" || fail "n6 sees: $(states 6)"

# --- SIGTERM says BYE: left, not dead --------------------------------------
kill -TERM "${pid[6]}"
wait "${pid[6]}"
expect "SIGTERM stops n6 with exit 0" 0 $?
if wait_all "2 3 4 5" n6 left 3 >/dev/null; then ok "n6 said BYE: left on n2..n5"
else fail "n6 is not 'left' everywhere: $(for i in 2 3 4 5; do echo "n$i: $(states $i);"; done)"; fi
expect "n6 was never declared dead" 0 "$(dead_declared n6)"

# Everyone still up has a quiet log: no crash, no sanitizer report.
for i in 2 3 4 5; do
    kill -TERM "${pid[$i]}"
    wait "${pid[$i]}"
    expect "n$i stops cleanly" 0 $?
done
lacks "no sanitizer report in any log" "ERROR: AddressSanitizer" "$(cat "$work"/n*.out)"
lacks "no UBSan report in any log" "runtime error" "$(cat "$work"/n*.out)"
finish
