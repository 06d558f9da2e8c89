#!/usr/bin/env bash
# tests/integration/test_convergence.sh: a five-node cluster under write load
# converges, loses nothing, duplicates nothing, cuts off a removed key and
# refuses a forked origin (DESIGN §4 and §7, doc/protocol.md §1.3 and §4).
# Real processes on 127.0.0.1, own ports and data dirs, all reaped.
#
#   1. five nodes write 1,000 events each at the same time: within the
#      deadline every node holds the same 5,020 events (with the five
#      node.started and the built-in agents registered), the same version vector, the same ids and views byte
#      for byte, every acknowledged event, and sync status says in sync;
#   2. all five write again and one (durability sync) is SIGKILLed
#      mid-stream, a request in flight, and restarted from its data dir
#      while the others write on: every event a client was
#      told is stored is on every node (0 lost), each origin's chain is
#      1…head with no seq twice (0 duplicated), same events everywhere;
#   3. `fedctl trust remove` of n5 on n1: the trust.removed event reaches
#      every other node; what n5 writes afterwards reaches them over its
#      open connections and is dropped, stored by none of them; they list
#      n5 as left; n5, alone at last and refused by its seed, exits;
#   4. a fork (n4's data dir cloned, both copies write the same seqs):
#      the node a relay hands the clone's events to refuses them, records
#      origin.forked (which reaches every node) and refuses n4 from then on;
#      the quarantine is that node's own (§1.3): the others go on taking
#      n4's events until they are shown the fork too, then refuse them as
#      well. The clone's events are stored nowhere.
#
# Events are written by tests/integration/publisher (one control connection
# per writer, an "ack SEQ ID K" line per acknowledged event): a fedctl
# process per event is too slow for 5,000 events at once. On a failure the
# last lines of every log are printed; FED_KEEP=DIR keeps a copy of the
# whole work dir there.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
publisher="$bin/tests/integration/publisher"
work=$(mktemp -d /tmp/fed-test-conv.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

# Ports above the kernel's ephemeral range (32768-60999 by default) and above
# every other test's: nI listens on base+I (peer) and base+10+I (control),
# the clone of scenario 4 on base+8 and base+18.
base=$((61000 + ($$ % 220) * 20))
count=6 # n1..n5 run; n6 never does: its key (trusted) lends the relay a peer's key
burst=1000 # events per node in scenario 1
stream=300 # events per node in scenario 2
converge_s=30 # deadline: every node holds every event this long after the last ack
# This test keeps both cores busy for most of a minute (five nodes, five
# writers). Under make -j it shares them with tests whose checks are timed
# (test_join's 100 ms probes), so its nodes and writers run niced: they
# yield the CPU to the others, and their own deadlines allow for it.
nice="nice -n 10"
declare -A id seed pid
peer_cluster $count $base "{probe_interval: 200ms, probe_timeout: 100ms, suspicion_timeout: 3s, interval: 200ms}" "durability: wal"
# n5, removed in scenario 3, must outlive its removal long enough to write:
# a node its peers all cut off declares them dead after its suspicion
# timeout and, alone and refused by its seed, exits. 15 s for n5 alone.
n5_suspicion_s=15
sed -i "s/suspicion_timeout: 3s/suspicion_timeout: ${n5_suspicion_s}s/" "$work/n5.yaml"
start() {
    local i=$1; shift
    $nice "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" --name "n$i" \
        --peer-bind "tcp://127.0.0.1:$((base + i))" \
        --control-bind "tcp://127.0.0.1:$((base + 10 + i))" "$@" >>"$work/n$i.out" 2>&1 &
    pid[$i]=$!
    pids+=("${pid[$i]}")
}
# stop I: SIGTERM, and the exit status checked.
stop() {
    kill -TERM "${pid[$1]}"
    wait "${pid[$1]}"
    expect "n$1 stops cleanly" 0 $?
}
now_ms() { date +%s%3N; }
# events I: how many events node nI holds (from its status).
events() {
    "$fedctl" --data-dir "$work/n$1" --timeout 2s status --json 2>/dev/null |
        $python -c 'import json,sys; print(json.load(sys.stdin)["events"])' 2>/dev/null
}
counts() { for i in $1; do echo -n "n$i=$(events "$i") "; done; }
# vv I: node nI's version vector, "n1=SEQ n2=SEQ …" (each member's head as nI holds it).
vv() {
    "$fedctl" --data-dir "$work/n$1" --timeout 2s members --json 2>/dev/null |
        $python -c 'import json,sys
print(" ".join(sorted("%s=%d" % (m["name"], m["seq"]) for m in json.load(sys.stdin))))' 2>/dev/null
}
# head_of I J: nJ's head (highest seq) as node nI holds it.
head_of() { vv "$1" | tr ' ' '\n' | sed -n "s/^n$2=//p"; }
# state_of I J: nJ's state in nI's member list ("" when not listed).
state_of() {
    "$fedctl" --data-dir "$work/n$1" --timeout 2s members --json 2>/dev/null |
        $python -c 'import json,sys
print("".join(m["state"] for m in json.load(sys.stdin) if m["name"] == sys.argv[1]))' "n$2" 2>/dev/null
}
# in_sync I: 1 when node nI's sync status has nothing lacking either way.
in_sync() {
    "$fedctl" --data-dir "$work/n$1" --timeout 2s sync status --json 2>/dev/null |
        $python -c 'import json,sys
r = json.load(sys.stdin); print(1 if r and sum(x["we_lack"] + x["they_lack"] for x in r) == 0 else 0)' 2>/dev/null
}
# metric I NAME: the value of the metric NAME (with its labels) on node nI.
metric() {
    "$fedctl" --data-dir "$work/n$1" --timeout 2s metrics 2>/dev/null | awk -v m="$2" '$1 == m { print $2 }'
}
# converged "I J …" SECONDS: until the listed nodes hold the same version
# vector, and as many events as it counts (each origin's 1…head, nothing
# more). Prints the milliseconds it took.
converged() {
    local start_ms deadline=$((SECONDS + $2)) first v n sum
    start_ms=$(now_ms)
    while [ $SECONDS -lt $deadline ]; do
        first="" ; v=1
        for i in $1; do
            n=$(vv "$i")
            [ -z "$first" ] && first=$n
            sum=$(tr ' ' '\n' <<<"$n" | awk -F= '{ s += $2 } END { print s }')
            { [ -n "$n" ] && [ "$n" = "$first" ] && [ "$(events "$i")" = "$sum" ]; } || { v=0; break; }
        done
        [ $v = 1 ] && { echo $(($(now_ms) - start_ms)); return 0; }
        sleep 0.2
    done
    return 1
}
# audit I: node nI's log against every publisher's acknowledgments
# ($work/acks.TAG.J: node nJ's writer). Prints "lost=L dup=D chain=C":
#   lost  acknowledged events (origin, seq, id) that nI lacks or holds with another id
#   dup   events with the same body (tag, k) stored twice, beyond what the
#         writer reported "uncertain" (its request reached a node that died)
#   chain origins whose seqs are not exactly 1…head once each, plus ids held twice
audit_py='
import glob, json, os, sys
work, ids = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
held, bodies, seen, chain = {}, {}, set(), 0
for line in sys.stdin:
    e = json.loads(line)
    chain += e["id"] in seen
    seen.add(e["id"])
    held.setdefault(e["origin"], {}).setdefault(e["seq"], []).append(e["id"])
    if e["type"] == "user.test":
        key = (e["body"].get("tag"), e["body"].get("k"))
        bodies[key] = bodies.get(key, 0) + 1
for seqs in held.values():
    chain += sorted(seqs) != list(range(1, len(seqs) + 1)) or any(len(v) != 1 for v in seqs.values())
lost = dup = 0
for path in glob.glob(os.path.join(work, "acks.*")):
    tag, node = path.rsplit("/", 1)[1].split(".")[1:3]
    origin, uncertain = ids[node], set()
    for line in open(path):
        w = line.split()
        if w[0] == "ack":
            lost += held.get(origin, {}).get(int(w[1])) != [w[2]]
        elif w[0] == "uncertain":
            uncertain.add(int(w[1]))
    for (t, k), n in bodies.items():
        if t == tag + "-n" + node and n > 1 and k not in uncertain:
            dup += n - 1
print("lost=%d dup=%d chain=%d" % (lost, dup, chain))
'
audit() {
    local args=() j
    for j in $(seq 1 $count); do args+=("$j=${id[$j]}"); done
    "$fednode" log -d "$work/n$1" --json 2>/dev/null | $python -c "$audit_py" "$work" "${args[@]}"
}
# write TAG I N [ARGS]: node nI's writer publishes N events tagged TAG-nI in
# the background (acks in $work/acks.TAG.I); its pid in writer[I].
declare -A writer
write() {
    $nice "$publisher" "${@:4}" "$work/n$2" "$3" "$1-n$2" >"$work/acks.$1.$2" \
        2>"$work/writer.$1.$2.err" &
    writer[$2]=$!
    pids+=("${writer[$2]}")
}
acked() { local n; n=$(grep -c '^ack ' "$work/acks.$1.$2" 2>/dev/null); echo "${n:-0}"; }
acked_at_least() { [ "$(acked "$1" "$2")" -ge "$3" ]; }
# wait_for SECONDS COMMAND…: polls COMMAND every 0.1 s until it succeeds.

# --- join -------------------------------------------------------------------
# n3 is the node SIGKILLed in scenario 2: with durability sync, an event
# acknowledged to a client is on its disk, so a restart cannot lose it
# (and so cannot write another event at that seq: a fork).
start 1
for i in 2 4 5; do start $i --seed "${seed[1]}"; done
start 3 --seed "${seed[1]}" --durability sync
if wait_for 20 converged "1 2 3 4 5" 1 >/dev/null; then ok "five nodes joined and share their node.started events"
else fail "node.started not everywhere: $(counts "1 2 3 4 5")"; exit 1; fi

# --- 1. five nodes x 1,000 events at the same time --------------------------
t0=$(now_ms)
for i in 1 2 3 4 5; do write s1 "$i" $burst; done
bad=""
for i in 1 2 3 4 5; do wait "${writer[$i]}" || bad+=" n$i($(cat "$work/writer.s1.$i.err"))"; done
t1=$(now_ms)
expect "every writer's $burst events were acknowledged" "" "$bad"
expect "acknowledgments counted" "$burst $burst $burst $burst $burst" \
    "$(for i in 1 2 3 4 5; do echo -n "$(acked s1 "$i") "; done | sed 's/ $//')"
total=$((5 * burst + 5 + 5 * builtins)) # five node.started, each node's built-in agents
if took=$(converged "1 2 3 4 5" $converge_s); then
    expect "all five hold $total events" "$total $total $total $total $total" \
        "$(for i in 1 2 3 4 5; do echo -n "$(events "$i") "; done | sed 's/ $//')"
    ok "converged ${took} ms after the last ack (deadline ${converge_s} s; writing took $((t1 - t0)) ms)"
else
    fail "not converged within ${converge_s} s: $(counts "1 2 3 4 5")"
fi
v1=$(vv 1)
for i in 2 3 4 5; do expect "n$i has n1's version vector" "$v1" "$(vv "$i")"; done
d1=$(digest 1)
for i in 2 3 4 5; do expect "n$i holds exactly n1's events and views" "$d1" "$(digest "$i")"; done
for i in 1 2 3 4 5; do expect "n$i: every acknowledged event, no duplicate, whole chains" \
    "lost=0 dup=0 chain=0" "$(audit "$i")"; done
all_in_sync() { for i in 1 2 3 4 5; do [ "$(in_sync "$i")" = 1 ] || return 1; done; }
if wait_for 10 all_in_sync; then ok "sync status: every node in sync with every peer"
else fail "sync status: $(for i in 1 2 3 4 5; do echo -n "n$i=$(in_sync "$i") "; done)"; fi
echo "# scenario 1: $((5 * burst)) events written in $((t1 - t0)) ms, converged ${took:-?} ms later"

# --- 2. kill -9 mid-stream ----------------------------------------------------
t0=$(now_ms)
# n3's own writer SIGKILLs n3 with its request for event mid + 1 in flight
# (publisher --kill-at): mid-stream and mid-request, however slow the machine.
mid=$((stream / 3))
for i in 1 2 4 5; do write s2 "$i" $stream --timeout 2000 --patience 60000; done
write s2 3 $stream --timeout 2000 --patience 60000 --kill-at $mid "${pid[3]}"
n3_killed() { grep -q '^killed' "$work/acks.s2.3"; }
if wait_for 60 n3_killed; then
    wait "${pid[3]}" 2>/dev/null
    killed_at=$(sed '/^killed/q' "$work/acks.s2.3" | grep -c '^ack ')
    expect "n3 SIGKILLed mid-stream by its writer, after $mid of $stream acks" $mid "$killed_at"
else
    fail "n3's writer did not kill n3: $(cat "$work/writer.s2.3.err")"
    { kill -KILL "${pid[3]}"; wait "${pid[3]}"; } 2>/dev/null
fi
# Let the others write on while n3 is down, then restart it from its data dir
# (no --seed: it rejoins from its members snapshot).
others=$(($(acked s2 1) + 50))
[ $others -le $stream ] || others=$stream # n1's writer may be nearly done already
wait_for 30 acked_at_least s2 1 $others || fail "n1's writer stalled while n3 was down"
start 3 --durability sync
bad=""
for i in 1 2 3 4 5; do wait "${writer[$i]}" || bad+=" n$i($(cat "$work/writer.s2.$i.err"))"; done
t1=$(now_ms)
expect "every writer finished, n3's across its restart" "" "$bad"
expect "every writer's $stream events were acknowledged" "$stream $stream $stream $stream $stream" \
    "$(for i in 1 2 3 4 5; do echo -n "$(acked s2 "$i") "; done | sed 's/ $//')"
uncertain=$(grep -c '^uncertain' "$work/acks.s2.3")
echo "# n3 was killed with event $((mid + 1)) in flight; its writer had $uncertain request(s) of unknown outcome"
if took=$(converged "1 2 3 4 5" $converge_s); then
    ok "converged ${took} ms after the last ack (deadline ${converge_s} s)"
else
    fail "not converged within ${converge_s} s after the restart: $(for i in 1 2 3 4 5; do echo "n$i: $(vv "$i");"; done)"
fi
h3=$(head_of 3 3)
min3=$((burst + stream + 2 + builtins)) # two node.started, the agents (first start only)
if [ "${h3:-0}" -ge $min3 ] && [ "${h3:-0}" -le $((min3 + uncertain)) ]; then
    ok "n3's chain is $h3 events: 2 node.started + $builtins agents + $burst + $stream, + up to $uncertain of unknown outcome"
else fail "n3's head is '$h3', expected $min3..$((min3 + uncertain))"; fi
for i in 1 2 3 4 5; do expect "n$i after the kill: 0 lost, 0 duplicated, whole chains" \
    "lost=0 dup=0 chain=0" "$(audit "$i")"; done
d1=$(digest 1)
for i in 2 3 4 5; do expect "n$i holds exactly n1's events and views" "$d1" "$(digest "$i")"; done
"$fednode" verify -d "$work/n3" >"$work/verify.out" 2>&1
expect "n3's log verifies (every chain, link and signature)" 0 $?
echo "# scenario 2: writing across the kill took $((t1 - t0)) ms, converged ${took:-?} ms later"

# --- 3. trust.removed cuts n5 off everywhere ----------------------------------
t0=$(now_ms)
h5=$(head_of 1 5)
dropped() { metric "$1" 'fednode_peer_frames_dropped_total{reason="untrusted"}'; }
untrusted0=$(for i in 1 2 3 4; do dropped "$i"; done | awk '{ s += $1 } END { print s }')
# "--": a Z85 key may begin with '-', which fedctl would take for an option.
out=$("$fedctl" --data-dir "$work/n1" trust remove -- "${id[5]}" 2>&1)
expect "fedctl trust remove n5 on n1" 0 $?
removed_on() { [ "$("$fednode" log -d "$work/n$1" --type trust.removed 2>/dev/null | wc -l)" = 1 ]; }
removed_everywhere() { for i in 1 2 3 4; do removed_on "$i" || return 1; done; }
if wait_for 15 removed_everywhere; then ok "the trust.removed event reached n1..n4"
else fail "trust.removed is not everywhere: $(for i in 1 2 3 4; do removed_on "$i" && echo -n "n$i "; done)($out)"; fi
# n5 still runs, and still holds its connections to the others: what it
# writes now is pushed to them at once.
write s3 5 20 --patience 10000
wait "${writer[5]}"
expect "n5 still takes its own writes" 20 "$(acked s3 5)"
expect "n5 holds them" $((h5 + 20)) "$(head_of 5 5)"
# A marker from n1 shows replication going on meanwhile; then n5's head on
# the others is watched for 2 s more, ten gossip intervals (nothing to poll
# for: the point is that nothing arrives).
"$fedctl" --data-dir "$work/n1" events publish user.marker >/dev/null 2>&1
marker_everywhere() { for i in 2 3 4; do [ "$("$fednode" log -d "$work/n$i" --type user.marker 2>/dev/null | wc -l)" = 1 ] || return 1; done; }
wait_for 15 marker_everywhere || fail "n1's marker event did not reach n2..n4"
heads=""
watch_until=$(($(now_ms) + 2000))
while true; do
    heads=$(for i in 1 2 3 4; do echo -n "$(head_of "$i" 5) "; done | sed 's/ $//')
    if [ "$heads" != "$h5 $h5 $h5 $h5" ] || [ "$(now_ms)" -ge $watch_until ]; then break; fi
    sleep 0.2
done
expect "n5's events written after its removal are stored on no other node (n5's head there)" \
    "$h5 $h5 $h5 $h5" "$heads"
untrusted=$(for i in 1 2 3 4; do dropped "$i"; done | awk '{ s += $1 } END { print s }')
if [ "${untrusted:-0}" -gt "${untrusted0:-0}" ]; then
    ok "n5's frames reached the others and were dropped as untrusted ($((untrusted - untrusted0)))"
else fail "no frame from n5 dropped as untrusted (before $untrusted0, after $untrusted)"; fi
# A member that lost the peer role is marked left everywhere (protocol §4.5.6).
states5() { for i in 1 2 3 4; do echo -n "$(state_of "$i" 5) "; done | sed 's/ $//'; }
left_everywhere() { [ "$(states5)" = "left left left left" ]; }
if wait_for 15 left_everywhere; then ok "n5 is left in n1..n4's member lists"
else fail "n5 is listed as '$(states5)' on n1..n4, expected left"; fi
t1=$(now_ms)
echo "# scenario 3: $((t1 - t0)) ms (n5's exit is checked at the end)"

# --- 4. a fork is refused and reported ---------------------------------------
t0=$(now_ms)
stop 4
h4=$(head_of 1 4)
cp -a "$work/n4" "$work/clone"
rm -f "$work/clone/members" "$work/clone/control.endpoint"
echo "durability: wal" >"$work/clone.yaml" # trusts no peer, has no seed
$nice "$fednode" -c "$work/clone.yaml" -d "$work/clone" --name n4clone \
    --peer-bind "tcp://127.0.0.1:$((base + 8))" --control-bind "tcp://127.0.0.1:$((base + 18))" \
    >>"$work/clone.out" 2>&1 &
clone=$!
pids+=("$clone")
wait_for 10 test -s "$work/clone/control.endpoint"
"$fedctl" --data-dir "$work/clone" events publish user.test --body '{"side":"clone"}' >/dev/null 2>&1
expect "the clone published at seq $((h4 + 2)) (after its node.started)" 0 $?
kill -TERM "$clone"
wait "$clone"
"$fednode" export "$work/clone.fed" -d "$work/clone" >/dev/null 2>&1
clone_ids=$("$fednode" log -d "$work/clone" --origin "${id[4]}" --from $((h4 + 1)) --json 2>/dev/null |
    $python -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')
expect "the clone wrote two events of its own" 2 "$(wc -w <<<"$clone_ids")"
# The real n4 writes the same seqs: its node.started and one event.
start 4
wait_for 10 test -s "$work/n4/control.endpoint"
"$fedctl" --data-dir "$work/n4" --timeout 10s events publish user.test --body '{"side":"n4"}' >/dev/null 2>&1
# n4_at SEQ "I J …": until the listed nodes hold n4's events up to SEQ.
n4_at() { for i in $2; do [ "$(head_of "$i" 4)" = "$1" ] || return 1; done; }
if wait_for 15 n4_at $((h4 + 2)) "1 2 3 4"; then ok "n4's own seqs $((h4 + 1))..$((h4 + 2)) reached n1..n3"
else fail "n4's head: $(for i in 1 2 3 4; do echo -n "n$i=$(head_of "$i" 4) "; done)"; fi
# Only the clone's events, seq h4+1 on: the conflicting ones.
$python - "$work/clone.fed" "$work/fork.fed" "$h4" <<'EOF' || echo "# cannot read the export: $?"
import sys
import msgpack
data = open(sys.argv[1], "rb").read()
unpacker = msgpack.Unpacker(raw=True)
unpacker.feed(data)
events, start = [], 0
for event in unpacker:
    end = unpacker.tell()
    events.append((event, data[start:end]))
    start = end
origin = [e[1] for e, _ in events if b"clone" in e[6].get(b"side", b"")][0]
with open(sys.argv[2], "wb") as out:
    for e, raw in events:
        if e[1] == origin and e[2] > int(sys.argv[3]):
            out.write(raw)
EOF
relay() { $python "$(dirname "$0")/relay.py" "$work/n6/node.key" "$work/n$1/node.key" \
    "tcp://127.0.0.1:$((base + $1))" "$work/fork.fed" original >>"$work/relay.out" 2>&1; }
quarantined() { metric "$1" 'fednode_events_received_total{result="quarantined"}'; }
quarantined_at_least() { [ "$(quarantined "$1")" -ge "$2" ]; }
forks_on() { for i in "$@"; do [ "$(metric "$i" fednode_forks_total)" = 1 ] || return 1; done; }
forked_events() { "$fednode" log -d "$work/n$1" --type origin.forked 2>/dev/null | wc -l; }
stored_anywhere() {
    local i e out=""
    for i in 1 2 3 4 5; do
        for e in $clone_ids; do
            "$fednode" log -d "$work/n$i" --origin "${id[4]}" --from $((h4 + 1)) --json 2>/dev/null |
                grep -q "$e" && out+="n$i:${e:0:8} "
        done
    done
    echo "$out"
}
relay 1; rc=$?
if [ $rc = 77 ]; then
    echo "skip - fork checks: /usr/bin/python3 lacks zmq or msgpack"
else
    expect "relay handed the clone's events to n1" 0 $rc
    wait_for 10 forks_on 1
    expect "n1 counted one fork" 1 "$(metric 1 fednode_forks_total)"
    contains "n1 logged the fork" "forked at seq $((h4 + 1)): quarantined" "$(cat "$work/n1.out")"
    forked_on() { for i in 1 2 3 4; do [ "$(forked_events "$i")" = "$1" ] || return 1; done; }
    if wait_for 15 forked_on 1; then ok "n1's origin.forked event reached n1..n4"
    else fail "origin.forked: $(for i in 1 2 3 4; do echo -n "n$i=$(forked_events "$i") "; done)"; fi
    body=$("$fednode" log -d "$work/n2" --type origin.forked --json 2>/dev/null |
        $python -c 'import json,sys; e=json.loads(sys.stdin.readline()); print(e["body"]["seq"])')
    expect "origin.forked names the seq of the fork" $((h4 + 1)) "$body"
    expect "the clone's events are stored on no node" "" "$(stored_anywhere)"
    # n4 writes on. n1 refuses it; n2 and n3 hold no evidence of the fork
    # (n1 keeps it and passes nothing of a forked origin on), so they take it.
    q1=$(quarantined 1)
    write s4 4 3
    wait "${writer[4]}"
    expect "n4 still takes its own writes" 3 "$(acked s4 4)"
    if wait_for 15 n4_at $((h4 + 5)) "2 3"; then
        ok "n2 and n3, shown no fork, take n4's new events (quarantine is per node, §1.3)"
    else fail "n4's head on n2, n3: $(head_of 2 4) $(head_of 3 4), expected $((h4 + 5))"; fi
    wait_for 15 quarantined_at_least 1 $((q1 + 3)) ||
        fail "n1 was not offered n4's new events: quarantined $(quarantined 1), was $q1"
    expect "n1 refuses n4 after the fork (n4's head there)" $((h4 + 2)) "$(head_of 1 4)"
    echo "# n1 has refused n4's events $(($(quarantined 1) - q1)) times: its peers offer them every round"
    # Shown the fork too, n2 and n3 quarantine n4 and report it themselves.
    relay 2
    relay 3
    if wait_for 10 forks_on 2 3; then ok "n2 and n3, shown the clone's events, each counted one fork"
    else fail "forks counted: $(for i in 1 2 3; do echo -n "n$i=$(metric "$i" fednode_forks_total) "; done)"; fi
    if wait_for 15 forked_on 3; then ok "n1..n4 each hold three origin.forked events (by n1, n2, n3)"
    else fail "origin.forked: $(for i in 1 2 3 4; do echo -n "n$i=$(forked_events "$i") "; done)"; fi
    q=$(for i in 1 2 3; do echo -n "$(quarantined "$i") "; done)
    write s5 4 2
    wait "${writer[4]}"
    offered() {
        local i j=1
        for i in 1 2 3; do
            [ "$(quarantined "$i")" -ge $(($(cut -d' ' -f$j <<<"$q") + 2)) ] || return 1
            j=$((j + 1))
        done
    }
    wait_for 15 offered || fail "n4's latest events were not offered everywhere: quarantined $q -> $(for i in 1 2 3; do echo -n "$(quarantined "$i") "; done)"
    expect "now n1, n2, n3 all refuse n4 (n4's head there)" "$((h4 + 2)) $((h4 + 5)) $((h4 + 5))" \
        "$(head_of 1 4) $(head_of 2 4) $(head_of 3 4)"
    expect "the clone's events are still stored on no node" "" "$(stored_anywhere)"
fi
t1=$(now_ms)
echo "# scenario 4: $((t1 - t0)) ms"

# Cut off by every member, n5 ends up alone; its seed refuses it as an
# unknown key, and a node refused by its seed while alone exits with status
# 1 (protocol §4.6). That takes it its suspicion timeout (see above).
n5_gone() { ! kill -0 "${pid[5]}" 2>/dev/null; }
if wait_for $((n5_suspicion_s + 20)) n5_gone; then
    wait "${pid[5]}"
    expect "removed n5, refused by its seed once alone, exited with status 1" 1 $?
    contains "and said why" "seed tcp://127.0.0.1:$((base + 1)) refused to admit this node" \
        "$(cat "$work/n5.out")"
else
    fail "removed n5 still runs $((n5_suspicion_s + 20)) s after scenario 4: $(tail -n 3 "$work/n5.out")"
fi
for i in 1 2 3 4; do stop "$i"; done
lacks "no sanitizer report in any log" "ERROR: AddressSanitizer" "$(cat "$work"/n*.out "$work"/clone.out)"
lacks "no UBSan report in any log" "runtime error" "$(cat "$work"/n*.out "$work"/clone.out)"
if [ "$failures" -gt 0 ]; then
    for f in "$work"/n?.out "$work"/clone.out "$work"/writer.*.err "$work"/relay.out; do
        [ -s "$f" ] && { echo "# --- last lines of ${f##*/}"; tail -n 15 "$f" | sed 's/^/# /'; }
    done
fi
[ -n "${FED_KEEP:-}" ] && cp -a "$work" "$FED_KEEP"
finish
