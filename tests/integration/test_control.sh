#!/usr/bin/env bash
# tests/integration/test_control.sh: the control protocol end to end, as an
# operator meets it (doc/protocol.md §3, doc/fedctl.1).
#
# Starts one real fednode on 127.0.0.1 (ports of its own, a temp dir of its
# own, reaped by the EXIT trap) and runs fedctl against it for every
# command, human and --json: status, members, metrics, events
# publish/tail/show (filters, -f), trust list/add/remove, token
# create/list/revoke (the token shown once, only its hash in the log),
# keygen. Then roles (viewer, operator, untrusted, removed), exit codes
# (usage 2, refused 1, unreachable 3), and raw_control.py, a client written
# from the protocol document alone, when /usr/bin/python3 has zmq and
# msgpack. Ends with "# N checks, M failed" and a matching exit status.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
src=${srcdir:-$(dirname "$0")/../..}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-control.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# Ports of our own: offset 5 from test_node.sh's base, so the two never
# share a port whatever their pids.
# Below 32768, where Linux hands out ephemeral ports to outgoing connections.
base=$((20000 + ($$ % 1200) * 10 + 5))
peer_ep="tcp://127.0.0.1:$base"
control_ep="tcp://127.0.0.1:$((base + 1))"
D=$work/node
"$fednode" -d "$D" --peer-bind "$peer_ep" --control-bind "$control_ep" >"$work/node.out" 2>&1 &
node_pid=$!
pids+=("$node_pid")

# As the admin (the data dir's admin.key); every call bounded.
ctl() { "$fedctl" --data-dir "$D" --timeout 5s "$@"; }
# As another key: as KEYFILE ARGS...
as() { local key=$1; shift; "$fedctl" --endpoint "$control_ep" --server-key "$D/node.key" --key "$key" --timeout 5s "$@"; }

# Poll (15 s deadline) until the control endpoint answers.
deadline=$((SECONDS + 15))
until [ -f "$D/admin.key" ] && ctl --timeout 500ms status >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$node_pid" 2>/dev/null; then
        fail "node did not answer status within 15 s: $(cat "$work/node.out")"
        echo "# $checks checks, $failures failed"
        exit 1
    fi
    sleep 0.05
done
ok "node answers status"

# --- status, members --------------------------------------------------------
out=$(ctl status 2>&1); rc=$?
expect "status exits 0" "0" "$rc"
contains "status names the admin role" "role:        admin" "$out"
contains "status shows the control endpoint" "$control_ep" "$out"
out=$(ctl status --json 2>&1)
contains "status --json has role" '"role": "admin"' "$out"
contains "status --json has the data dir" "\"data_dir\": \"$D\"" "$out"
node_id=$(printf '%s\n' "$out" | sed -n 's/^  "id": "\(.*\)",$/\1/p')
expect "status --json id is 40 Z85 chars" "40" "${#node_id}"

out=$(ctl members 2>&1); rc=$?
expect "members exits 0" "0" "$rc"
contains "members has a header" "STATE" "$out"
contains "members shows this node alive" "alive" "$out"
out=$(ctl members --json 2>&1)
contains "members --json lists this node" "\"id\": \"$node_id\"" "$out"
contains "members --json has its endpoint" "\"endpoint\": \"$peer_ep\"" "$out"
contains "members --json marks this node self" "\"self\": true" "$out"

# --- metrics ----------------------------------------------------------------
# The value of one sample line in Prometheus text (0 if absent).
sample() { printf '%s\n' "$2" | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'; }
key_status='fednode_control_requests_total{command="status",result="ok"}'
key_metrics='fednode_control_requests_total{command="metrics",result="ok"}'
m1=$(ctl metrics 2>&1); rc=$?
expect "metrics exits 0" "0" "$rc"
contains "metrics has # TYPE lines" "# TYPE fednode_control_requests_total counter" "$m1"
contains "metrics has # HELP lines" "# HELP fednode_events " "$m1"
for i in 1 2 3; do ctl status >/dev/null 2>&1; done
ctl status --json >/dev/null 2>&1
m2=$(ctl metrics 2>&1)
expect "requests_total counts the 4 status calls made" "4" \
    "$(( $(sample "$key_status" "$m2") - $(sample "$key_status" "$m1") ))"
expect "requests_total counts the metrics call itself" "1" \
    "$(( $(sample "$key_metrics" "$m2") - $(sample "$key_metrics" "$m1") ))"
out=$(ctl metrics --json 2>&1)
contains "metrics --json is one JSON string" '"# HELP' "$out"

# --- events publish / tail / show --------------------------------------------
out=$(ctl events publish user.deploy --body '{"v":1}' 2>&1); rc=$?
expect "events publish user.deploy exits 0" "0" "$rc"
contains "and prints the seq" "seq:" "$out"
out=$(ctl events publish user.deploy --body '{"v":2}' --json 2>&1); rc=$?
expect "events publish --json exits 0" "0" "$rc"
event_id=$(printf '%s\n' "$out" | tr -d ' \n' | sed -n 's/.*"id":{"\$bin":"\([0-9a-f]*\)"}.*/\1/p')
expect "publish --json returns a 64-hex id" "64" "${#event_id}"
out=$(ctl events publish kv.set --body '{}' 2>&1); rc=$?
expect "publishing a non-user type is a usage error (fedctl refuses it)" "2" "$rc"
contains "saying types start with user." 'must start with "user."' "$out"
out=$(ctl events publish node.started 2>&1); rc=$?
expect "node.started cannot be published either" "2" "$rc"

out=$(ctl events tail 2>&1); rc=$?
expect "events tail exits 0" "0" "$rc"
contains "events tail sees node.started" "node.started" "$out"
contains "events tail sees the published event" '{"v":2}' "$out"
out=$(ctl events tail --json 2>&1)
contains "events tail --json has a cursor" '"cursor":' "$out"
contains "events tail --json has the event" "\"\$bin\": \"$event_id\"" "$out"
out=$(ctl events tail --type user.deploy 2>&1)
contains "--type user.deploy keeps user.deploy" "user.deploy" "$out"
lacks "--type user.deploy drops node.started" "node.started" "$out"
expect "--type user.deploy: header and 2 events" "3" "$(printf '%s\n' "$out" | wc -l)"
out=$(ctl events tail --type user.deploy --limit 1 2>&1)
contains "--limit 1 gives the newest" '{"v":2}' "$out"
lacks "--limit 1 gives only one" '{"v":1}' "$out"
out=$(ctl events tail --origin "$D/node.key" 2>&1); rc=$?
expect "--origin (node key file) exits 0" "0" "$rc"
contains "--origin of the node keeps its events" "user.deploy" "$out"
(cd "$work" && "$fedctl" keygen stranger >/dev/null 2>&1)
out=$(ctl events tail --origin "$work/stranger.pub" 2>&1); rc=$?
expect "--origin of another key exits 0" "0" "$rc"
lacks "and shows none of the node's events" "user.deploy" "$out"

out=$(ctl events show "$event_id" 2>&1); rc=$?
expect "events show ID exits 0" "0" "$rc"
contains "events show prints the type" "user.deploy" "$out"
contains "and a time" "time:" "$out"
out=$(ctl events show "$event_id" --json 2>&1)
contains "events show --json has the body" '"v": 2' "$out"
contains "events show --json has seq" '"seq":' "$out"
out=$(ctl events show "$(printf '0%.0s' {1..64})" 2>&1); rc=$?
expect "events show of an unknown id exits 1" "1" "$rc"
contains "with not_found" "not_found" "$out"

# events tail -f: in the background, until the event it waits for shows.
"$fedctl" --data-dir "$D" --timeout 5s events tail -f --type user.live >"$work/follow.out" 2>&1 &
follow_pid=$!
pids+=("$follow_pid")
ctl events publish user.live --body '{"n":42}' >/dev/null 2>&1
deadline=$((SECONDS + 10))
until grep -q '"n":42' "$work/follow.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do
    sleep 0.05
done
contains "events tail -f --type user.live sees the event published after it" '"n":42' \
    "$(cat "$work/follow.out")"
lacks "and only user.live" "user.deploy" "$(cat "$work/follow.out")"
kill -TERM "$follow_pid" 2>/dev/null; wait "$follow_pid"; rc=$?
expect "tail -f ends with exit 0 on SIGTERM" "0" "$rc"

# --- trust ------------------------------------------------------------------
out=$(ctl trust list 2>&1); rc=$?
expect "trust list exits 0" "0" "$rc"
contains "trust list shows the local admin key" "local admin.key" "$out"
out=$(ctl trust list --json 2>&1)
contains "trust list --json has source local" '"source": "local"' "$out"

out=$(cd "$work" && "$fedctl" keygen viewer 2>&1); rc=$?
expect "keygen exits 0" "0" "$rc"
contains "keygen names the files" "wrote viewer.key" "$out"
viewer_id=$(printf '%s\n' "$out" | head -1)
expect "keygen prints a 40-char key id first" "40" "${#viewer_id}"
expect "keygen key is 0600" "600" "$(stat -c %a "$work/viewer.key")"
(cd "$work" && "$fedctl" keygen op >/dev/null 2>&1)

out=$(ctl trust add "$work/viewer.pub" --role viewer --name v1 2>&1); rc=$?
expect "trust add viewer exits 0" "0" "$rc"
contains "and prints the trust.added seq" "seq:" "$out"
out=$(ctl trust add "$work/op.pub" --role operator --json 2>&1); rc=$?
expect "trust add operator --json exits 0" "0" "$rc"
contains "trust add --json prints seq" '"seq":' "$out"
out=$(ctl trust list 2>&1)
contains "trust list shows the viewer" "v1" "$out"
contains "trust list shows the operator" "operator" "$out"

# --- roles ------------------------------------------------------------------
out=$(as "$work/viewer.key" status 2>&1); rc=$?
expect "viewer: status exits 0" "0" "$rc"
contains "viewer: status reports role viewer" "role:        viewer" "$out"
out=$(as "$work/viewer.key" events tail 2>&1); rc=$?
expect "viewer: events tail exits 0" "0" "$rc"
out=$(as "$work/viewer.key" events publish user.x 2>&1); rc=$?
expect "viewer: events publish exits 1" "1" "$rc"
contains "viewer: events publish is forbidden" "forbidden" "$out"
out=$(as "$work/viewer.key" trust add "$work/stranger.pub" --role viewer 2>&1); rc=$?
expect "viewer: trust add exits 1" "1" "$rc"
contains "viewer: trust add is forbidden" "forbidden" "$out"
out=$(as "$work/viewer.key" token list 2>&1); rc=$?
expect "viewer: token list exits 1 (operators only)" "1" "$rc"

out=$(as "$work/op.key" events publish user.byop --body '{"who":"op"}' 2>&1); rc=$?
expect "operator: events publish exits 0" "0" "$rc"
out=$(as "$work/op.key" trust add "$work/stranger.pub" --role viewer 2>&1); rc=$?
expect "operator: trust add exits 1" "1" "$rc"
contains "operator: trust add is forbidden" "forbidden" "$out"
out=$(as "$work/op.key" token create 2>&1); rc=$?
expect "operator: token create exits 1" "1" "$rc"

out=$(as "$work/stranger.key" status 2>&1); rc=$?
expect "untrusted key: exit 3" "3" "$rc"
contains "untrusted key: the message says refused" "refused" "$out"

out=$(ctl trust remove "$work/viewer.pub" 2>&1); rc=$?
expect "trust remove exits 0" "0" "$rc"
# A Z85 key may start with '-' (1 in 85): still a key, not an option.
dash_key=""
for i in $(seq 1 600); do
    k=$("$fedctl" keygen "$work/dash$i" 2>/dev/null | head -1)
    case "$k" in -*) dash_key=$k; break ;; esac
done
if [ -n "$dash_key" ]; then
    out=$(ctl trust add "$dash_key" --role viewer 2>&1); rc=$?
    expect "trust add of a key starting with '-' exits 0" 0 "$rc"
    out=$(ctl trust remove "$dash_key" 2>&1); rc=$?
    expect "and trust remove of it" 0 "$rc"
else
    echo "skip - no key starting with '-' in 600 tries"
fi
out=$(as "$work/viewer.key" status 2>&1); rc=$?
expect "removed key: exit 3 on its next call" "3" "$rc"
contains "removed key: refused" "refused" "$out"
out=$(ctl trust remove "$work/viewer.pub" 2>&1); rc=$?
expect "removing a key not trusted exits 1" "1" "$rc"
contains "with not_found" "not_found" "$out"
out=$(ctl trust list --json 2>&1)
lacks "trust list no longer has the viewer" '"v1"' "$out"

# --- tokens -----------------------------------------------------------------
out=$(ctl token create --name t1 --ttl 1h 2>"$work/token.err"); rc=$?
expect "token create exits 0" "0" "$rc"
token=$(printf '%s\n' "$out" | sed -n 's/^token: *\(fedtok-.*\)$/\1/p')
token_id=$(printf '%s\n' "$out" | sed -n 's/^id: *\([0-9a-f]*\)$/\1/p')
contains "token create prints a fedtok- token" "fedtok-$token_id-" "$token"
expect "the token text appears once in create's output" "1" \
    "$(printf '%s\n' "$out" | grep -cF -- "$token")"
contains "and says it is shown once" "shown this once" "$(cat "$work/token.err")"
out=$(ctl token create --uses 1 --json 2>/dev/null); rc=$?
expect "token create --json exits 0" "0" "$rc"
contains "token create --json has the token" '"token": "fedtok-' "$out"
out=$(ctl token list 2>&1); rc=$?
expect "token list exits 0" "0" "$rc"
contains "token list shows t1" "t1" "$out"
lacks "token list never shows the secret" "$token" "$out"
out=$(ctl token list --json 2>&1)
contains "token list --json has the id" "\"id\": \"$token_id\"" "$out"
lacks "token list --json never shows the secret" "fedtok-" "$out"

logged=$("$fednode" log -d "$D" --json 2>&1)
lacks "fednode log never holds the token" "$token" "$logged"
secret=${token#fedtok-*-}     # the id is hex; the Z85 secret may itself hold dashes
lacks "nor its secret part" "$secret" "$logged"
hash=$(printf '%s' "$token" | b2sum -l 256 | cut -d' ' -f1)
contains "fednode log holds its BLAKE2b-256 hash" "\"hash\":{\"\$bin\":\"$hash\"}" "$logged"
out=$(ctl events tail --json --limit 1000 2>&1)
lacks "events tail never shows the token" "$token" "$out"
contains "events tail shows token.created" "token.created" "$out"
lacks "the node's own output never holds the token" "$token" "$(cat "$work/node.out")"

out=$(ctl token revoke "$token_id" 2>&1); rc=$?
expect "token revoke exits 0" "0" "$rc"
out=$(ctl token list --json 2>&1)
contains "token list shows it revoked" "$(printf '"id": "%s",' "$token_id")" "$out"
revoked=$(printf '%s\n' "$out" | tr -d ' \n' | grep -o "\"id\":\"$token_id\"[^}]*" | grep -o '"revoked":[a-z]*')
expect "the revoked token is marked revoked" '"revoked":true' "$revoked"
out=$(ctl token revoke ffffffff 2>&1); rc=$?
expect "revoking an unknown token exits 1" "1" "$rc"
contains "with not_found" "not_found" "$out"

# --- usage errors: exit 2 -----------------------------------------------------
usage() { out=$("$fedctl" --data-dir "$D" "$@" 2>&1); rc=$?; expect "usage error exits 2: fedctl $*" "2" "$rc"; }
usage frobnicate
usage --bogus status
usage
usage status extra
usage events show nothex
usage trust add "$work/op.pub"
usage trust add "$work/op.pub" --role superuser
usage events publish user.x --body '{"a":'
usage events publish user.x --body '[1]'
usage events tail --limit 0
usage status --type user.x
usage --timeout never status
usage keygen
out=$(cd "$work" && "$fedctl" 2>&1); rc=$?
contains "usage lists the commands" "token create" "$out"

# --- raw protocol client ------------------------------------------------------
if /usr/bin/python3 -c 'import zmq, msgpack' 2>/dev/null; then
    out=$(timeout 30 /usr/bin/python3 "$src/tests/integration/raw_control.py" "$D" "$control_ep" \
          "$fednode" 2>&1); rc=$?
    printf '%s\n' "$out" | sed 's/^/    /'
    expect "raw_control.py (a client from doc/protocol.md alone) passes" "0" "$rc"
else
    echo "skip - python3-zmq/msgpack not installed"
fi

# --- still serving; then stopped -------------------------------------------------
out=$(ctl status 2>&1); rc=$?
expect "after all that the node still answers status" "0" "$rc"
kill -0 "$node_pid" 2>/dev/null && ok "the node is still running" || fail "the node died: $(tail -20 "$work/node.out")"
kill -TERM "$node_pid"; wait "$node_pid"; rc=$?
expect "the node stops with exit 0" "0" "$rc"
lacks "the node's output has no sanitizer report" "runtime error" "$(cat "$work/node.out")"
lacks "nor an AddressSanitizer one" "Sanitizer" "$(cat "$work/node.out")"
start=$(date +%s%N)
out=$(ctl --timeout 1s status 2>&1); rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
expect "a stopped node: exit 3" "3" "$rc"
contains "saying it cannot reach the node" "cannot reach the node" "$out"
if [ "$elapsed" -lt 3000 ]; then ok "within the 1 s timeout (${elapsed} ms)"; else fail "a stopped node took ${elapsed} ms, expected about 1000"; fi

finish
