#!/usr/bin/env bash
# tests/integration/test_node.sh: the fednode program as an operator meets it.
#
# Starts real fednode processes in a temp dir (always reaped), and checks:
# first start creates node.key and admin.key 0600 and records node.started;
# SIGTERM stops cleanly; a restart continues the chain; a key file readable
# by others, or corrupt, refuses to start naming the file and the fix; a
# second node on the same data dir is refused; config errors carry
# file:line:column; flags override the file; --print-config round-trips;
# usage errors exit 2.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
fednode="$bin/fednode"
work=$(mktemp -d /tmp/fed-test-node.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# Ports of our own, so parallel test runs do not collide.
# Below 32768, where Linux hands out ephemeral ports to outgoing connections.
base=$((20000 + ($$ % 1200) * 10))
# Starts a node in the background: start DIR [ARGS]; sets $node_pid.
start() {
    local dir=$1; shift
    "$fednode" -d "$dir" --peer-bind "tcp://127.0.0.1:$base" \
        --control-bind "tcp://127.0.0.1:$((base + 1))" "$@" >>"$dir.out" 2>&1 &
    node_pid=$!
    pids+=("$node_pid")
}
# Polls (10 s deadline) until DIR's log holds N node.started events.
wait_started() {
    local deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ]; do
        n=$("$fednode" log -d "$1" --type node.started 2>/dev/null | wc -l)
        [ "$n" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
stop() {
    kill -TERM "$1"
    wait "$1"
}

A=$work/a
start "$A"
if wait_started "$A" 1; then ok "node started with no config"; else fail "node did not start: $(cat "$A.out")"; exit 1; fi
expect "node.key is mode 0600" "600" "$(stat -c %a "$A/node.key")"
expect "admin.key is mode 0600" "600" "$(stat -c %a "$A/admin.key")"
expect "data dir is mode 0700" "700" "$(stat -c %a "$A")"

out=$(timeout 10 "$fednode" -d "$A" 2>&1); rc=$?
expect "a second node on the same data dir exits 1" "1" "$rc"
contains "and says another fednode holds it" "another fednode" "$out"

stop "$node_pid"; rc=$?
expect "SIGTERM stops the node with exit 0" "0" "$rc"
contains "and it says it stopped" "stopped" "$(cat "$A.out")"

start "$A"
wait_started "$A" 2 && ok "restarted node records a second node.started" || fail "no second node.started"
stop "$node_pid"
out=$("$fednode" verify -d "$A" 2>/dev/null)
# First start: node.started and the nine built-in agents registered (three
# sys.*, six data.*); the restart adds its node.started only (the agents are
# registered as they are).
expect "the chain verifies after restart" "1 origins, 11 events checked, 0 bad" "$out"
seqs=$("$fednode" log -d "$A" --json 2>/dev/null | sed 's/.*"seq":\([0-9]*\).*/\1/' | tr '\n' ' ')
expect "seqs continue across restarts" "1 2 3 4 5 6 7 8 9 10 11 " "$seqs"
types=$("$fednode" log -d "$A" --json 2>/dev/null | sed 's/.*"type":"\([^"]*\)".*/\1/' | tr '\n' ' ')
expect "built-in agents registered once, not at every start" \
    "node.started $(printf 'agent.registered %.0s' $(seq 9))node.started " "$types"

contains "fednode id prints the seed string" "@tcp://127.0.0.1:$base" "$("$fednode" id -d "$A" --peer-bind "tcp://127.0.0.1:$base" 2>/dev/null)"

chmod 644 "$A/node.key"
out=$(timeout 10 "$fednode" -d "$A" 2>&1); rc=$?
expect "a key readable by others refuses to start" "1" "$rc"
contains "naming the file" "$A/node.key" "$out"
contains "and the fix" "chmod 600" "$out"
chmod 600 "$A/node.key"

cp "$A/node.key" "$work/node.key.bak"
head -c 60 "$work/node.key.bak" > "$A/node.key"
out=$(timeout 10 "$fednode" -d "$A" 2>&1); rc=$?
expect "a truncated key refuses to start" "1" "$rc"
contains "saying it is corrupt" "corrupt" "$out"
cp "$work/node.key.bak" "$A/node.key"; chmod 600 "$A/node.key"

printf 'data_dir: %s\ngossip:\n  intreval: 5s\n' "$work/c" > "$work/bad.yaml"
out=$("$fednode" --config "$work/bad.yaml" --print-config 2>&1); rc=$?
expect "an unknown config key exits 2" "2" "$rc"
contains "with file:line:column" "$work/bad.yaml:3:3" "$out"
contains "and the nearest key" "gossip.interval" "$out"

printf 'durability: sometimes\n' > "$work/bad2.yaml"
out=$("$fednode" --config "$work/bad2.yaml" --print-config 2>&1)
contains "a bad enum names line:column" "$work/bad2.yaml:1:13" "$out"

printf 'node:\n  region: eu-west\ndurability: wal\n' > "$work/good.yaml"
out=$("$fednode" --config "$work/good.yaml" --region us-east --print-config 2>&1)
contains "flags override the file" "region: \"us-east\"" "$out"
contains "file values stay" "durability: wal" "$out"
"$fednode" --config "$work/good.yaml" --print-config > "$work/printed.yaml" 2>&1
"$fednode" --config "$work/printed.yaml" --print-config > "$work/printed2.yaml" 2>&1
if cmp -s "$work/printed.yaml" "$work/printed2.yaml"; then ok "--print-config round-trips"; else fail "--print-config does not round-trip"; fi

out=$("$fednode" --peer-bind tcp://host:99999 --print-config 2>&1); rc=$?
expect "a bad endpoint flag exits 2" "2" "$rc"
contains "naming the flag" "--peer-bind" "$out"
out=$("$fednode" --bogus 2>&1); rc=$?
expect "an unknown flag exits 2" "2" "$rc"
out=$("$fednode" frobnicate 2>&1); rc=$?
expect "an unknown command exits 2" "2" "$rc"
out=$("$fednode" --help 2>&1); rc=$?
expect "--help exits 0" "0" "$rc"
contains "--help lists commands" "export FILE" "$out"
expect "--version" "fednode" "$("$fednode" --version | cut -d' ' -f1)"

out=$("$fednode" append -d "$A" 'bad type!' 2>&1); rc=$?
expect "a bad event type is refused" "1" "$rc"
contains "saying what a type looks like" "[A-Za-z0-9._-]" "$out"
out=$("$fednode" append -d "$A" user.x --body '{"a":' 2>&1); rc=$?
expect "bad JSON body exits 2" "2" "$rc"
contains "with its position" "line 1, column 6" "$out"

cd "$work" && out=$("$bin/fedctl" keygen ops 2>&1)
expect "fedctl keygen writes a 0600 secret" "600" "$(stat -c %a "$work/ops.key")"
expect "and a public file" "644" "$(stat -c %a "$work/ops.pub")"

finish
