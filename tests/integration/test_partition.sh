#!/usr/bin/env bash
# tests/integration/test_partition.sh: a 2 | 3 partition with writes on both
# sides, healed; every node converges. Real processes, real TCP, a real cut:
#
#   - two network namespaces joined by a veth pair, side A (n1, n2) on
#     10.77.0.1 and side B (n3, n4, n5) on 10.77.0.2; control sockets are
#     ipc:// files, so fedctl reaches every node from outside;
#   - the partition is a blackhole route on each side for the other side's
#     address: packets vanish as on a cut cable (no reset, no ICMP);
#   - during it each side declares the other dead, keeps taking writes and
#     replicates them within its side;
#   - healed: the sides find each other again (SWIM reconnect: a dead member
#     is asked whether it is back every gossip.reconnect_interval) and
#     anti-entropy brings every node to the same events and views, none
#     lost, none twice, within the bound below.
#
# Needs root and `ip netns` (iproute2); skips (77) where namespaces cannot
# be made.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-part.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

ns_a="fedpa$$" ns_b="fedpb$$"
addr_a=10.77.0.1 addr_b=10.77.0.2
netns_cleanup() {
    ip netns del "$ns_a" 2>/dev/null
    ip netns del "$ns_b" 2>/dev/null
}
trap 'cleanup; netns_cleanup' EXIT
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null ||
    ! ip netns add "$ns_a" 2>/dev/null; then
    echo "skip - needs root and ip netns (iproute2) to cut the network between nodes"
    exit 77
fi
ip netns add "$ns_b" &&
    ip link add "va$$" netns "$ns_a" type veth peer name "vb$$" netns "$ns_b" &&
    ip -n "$ns_a" addr add "$addr_a/24" dev "va$$" &&
    ip -n "$ns_b" addr add "$addr_b/24" dev "vb$$" &&
    ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up &&
    ip -n "$ns_a" link set "va$$" up && ip -n "$ns_b" link set "vb$$" up ||
    { echo "skip - could not set up the namespaces and veth pair"; exit 77; }
ip netns exec "$ns_a" ping -c1 -W2 "$addr_b" >/dev/null 2>&1 ||
    ip netns exec "$ns_a" true # ping may be absent; the nodes' join below is the real check

# The bound after healing: reconnect_interval (the sides find each other,
# 0.5 s) + suspicion_timeout (a member flapped by the merge refutes, 1 s)
# + 2·⌈log2 5⌉ anti-entropy rounds of interval (1.2 s) = 2.7 s, stated as
# 5 s for a loaded 2-core machine, 10 s under sanitizers.
gossip="{probe_interval: 200ms, probe_timeout: 100ms, suspicion_timeout: 1s, interval: 200ms, reconnect_interval: 500ms}"
bound=5
[ -n "${FED_SANITIZERS:-}" ] && bound=10
base=$((31000 + ($$ % 300) * 10))
declare -A id seed pid side host
peer_cluster 5 $base "$gossip" "durability: wal"
for i in 1 2 3 4 5; do
    if [ $i -le 2 ]; then side[$i]=$ns_a host[$i]=$addr_a; else side[$i]=$ns_b host[$i]=$addr_b; fi
    seed[$i]="${id[$i]}@tcp://${host[$i]}:$((base + i))"
done
start() {
    local i=$1; shift
    ip netns exec "${side[$i]}" "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" --name "n$i" \
        --peer-bind "tcp://${host[$i]}:$((base + i))" \
        --control-bind "ipc://$work/n$i.ctl" "$@" >>"$work/n$i.out" 2>&1 &
    pid[$i]=$!
    pids+=("${pid[$i]}")
}
ctl() { local i=$1; shift; "$fedctl" --data-dir "$work/n$i" --timeout 3s "$@"; }
events() {
    ctl "$1" status --json 2>/dev/null |
        $python -c 'import json,sys; print(json.load(sys.stdin)["events"])' 2>/dev/null
}
# alive_count I: how many members node nI holds alive (itself included).
alive_count() {
    ctl "$1" members --status alive --json 2>/dev/null |
        $python -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null
}
all_events() { local n=$1; shift; for i in "$@"; do [ "$(events "$i")" = "$n" ] || return 1; done; }
all_alive() { local n=$1; shift; for i in "$@"; do [ "$(alive_count "$i")" = "$n" ] || return 1; done; }
publish() {
    for k in $(seq 1 "$2"); do
        ctl "$1" events publish user.test --body "{\"tag\":\"$3\",\"k\":$k}" >/dev/null 2>&1 ||
            echo "publish $3 $k failed on n$1" >>"$work/publish.err"
    done
}
counts() { for i in 1 2 3 4 5; do echo -n "n$i=$(events $i) "; done; }
cut() { ip -n "$ns_a" route "$1" blackhole "$addr_b/32" && ip -n "$ns_b" route "$1" blackhole "$addr_a/32"; }

start 1
for i in 2 3 4 5; do start $i --seed "${seed[1]}"; done
joined=$((5 * (1 + builtins))) # five node.started, each node's built-in agents
if wait_for $((bound * 3)) all_alive 5 1 2 3 4 5 && wait_for $bound all_events $joined 1 2 3 4 5; then
    ok "five nodes across the two namespaces joined (5 alive; 5 node.started and $((5 * builtins)) agent.registered events each)"
else
    fail "cluster did not form: alive $(for i in 1 2 3 4 5; do echo -n "n$i=$(alive_count $i) "; done)"
fi
publish 1 10 before
wait_for $bound all_events $((joined + 10)) 1 2 3 4 5 && ok "before the cut: an event on n1 reaches all five" ||
    fail "before the cut: $(counts)"

# --- the cut ---------------------------------------------------------------
cut add || fail "could not add the blackhole routes"
if wait_for $((bound * 3)) all_alive 2 1 2 && wait_for $((bound * 3)) all_alive 3 3 4 5; then
    ok "each side declared the other dead (A holds 2 alive, B holds 3)"
else
    fail "sides did not split: alive $(for i in 1 2 3 4 5; do echo -n "n$i=$(alive_count $i) "; done)"
fi
publish 1 20 a1 & w1=$!
publish 2 20 a2 & w2=$!
publish 3 20 b3 & w3=$!
publish 5 20 b5 & w5=$!
wait $w1 $w2 $w3 $w5
expect "every write during the partition was acknowledged" "" "$(cat "$work/publish.err" 2>/dev/null)"
wait_for $bound all_events $((joined + 50)) 1 2 && ok "side A replicated its 40 writes within itself ($((joined + 50)) events)" ||
    fail "side A: $(counts)"
wait_for $bound all_events $((joined + 50)) 3 4 5 && ok "side B replicated its 40 writes within itself ($((joined + 50)) events)" ||
    fail "side B: $(counts)"
# Held for 8 s, dozens of gossip rounds: nothing may cross the cut. A short
# cut heals by itself when TCP retransmits PINGs queued before it; after 8 s
# the retransmit backoff is long and only the reconnect heals it (checked:
# with reconnect_interval 1h the sides were still apart 20 s after healing).
sleep 8
a=$((joined + 50))
expect "nothing crossed the cut: A and B each hold $a" "n1=$a n2=$a n3=$a n4=$a n5=$a " "$(counts)"

# --- heal --------------------------------------------------------------------
cut del || fail "could not remove the blackhole routes"
healed_at=$SECONDS
start_ms=$(date +%s%3N)
if wait_for $((bound * 4)) all_events $((joined + 90)) 1 2 3 4 5; then
    took=$(($(date +%s%3N) - start_ms))
    echo "# healed: all five hold 110 events ${took} ms after the routes came back (bound ${bound} s)"
    [ "$took" -le $((bound * 1000)) ] && ok "converged ${took} ms after healing, within the ${bound} s bound" ||
        fail "converged, but in ${took} ms: over the ${bound} s bound"
else
    fail "not converged $((SECONDS - healed_at)) s after healing: $(counts)"
fi
wait_for $((bound * 2)) all_alive 5 1 2 3 4 5 && ok "membership merged: every node holds all five alive" ||
    fail "membership after healing: alive $(for i in 1 2 3 4 5; do echo -n "n$i=$(alive_count $i) "; done)"
d1=$(digest 1)
for i in 2 3 4 5; do
    expect "n$i holds exactly n1's events and views (none lost, none twice)" "$d1" "$(digest $i)"
done
sync_clear() {
    [ "$(ctl 3 sync status --json 2>/dev/null |
        $python -c 'import json,sys; r=json.load(sys.stdin); print(sum(x["we_lack"]+x["they_lack"] for x in r))')" = 0 ]
}
wait_for $bound sync_clear && ok "sync status on n3: no peer lacks anything" ||
    fail "sync status on n3: $(ctl 3 sync status 2>&1)"

for i in 1 2 3 4 5; do
    kill -TERM "${pid[$i]}"
    wait "${pid[$i]}"
    expect "n$i stops cleanly" 0 $?
done
lacks "no sanitizer report in any log" "ERROR: AddressSanitizer" "$(cat "$work"/n*.out)"
lacks "no UBSan report in any log" "runtime error" "$(cat "$work"/n*.out)"
finish
