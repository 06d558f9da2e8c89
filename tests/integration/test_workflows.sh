#!/usr/bin/env bash
# tests/integration/test_workflows.sh: the workflow catalog end to end, with
# real processes on 127.0.0.1 (own ports and data dirs, all reaped).
#
#   - fedctl workflow validate, offline: the example is valid (its hash is
#     what b2sum -l 256 prints); a file with five mistakes gives exit 1 and
#     all five errors at their lines and columns; a cycle shows its path;
#   - two nodes: a workflow published on n1 is listed and shown on n2,
#     identically, and `show --yaml` gives back the exact bytes;
#   - publishing the same version again with the same text writes nothing;
#     with other text it is refused (versions are immutable); a new version
#     becomes the latest, the old one stays readable;
#   - a viewer key may list and show but not publish;
#   - bad input to workflow.publish (invalid, malformed YAML, over
#     limits.yaml_file, over limits.event_body) is refused with clear errors
#     and nothing enters the log.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
src=${FED_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-workflows.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3
unset FEDNODE_DATA_DIR

example="$src/config/example_workflow.yaml"
data="$src/tests/data/workflows"

# --- validate, offline (no node anywhere) -------------------------------------------
out=$("$fedctl" workflow validate "$example" 2>&1); rc=$?
expect "validate: the example exits 0" 0 "$rc"
contains "validate: names it" "valid: example.fanout 1.0.0, 7 steps, hash" "$out"
if command -v b2sum >/dev/null; then
    hash=$(b2sum -l 256 "$example" | cut -d' ' -f1)
    contains "validate: the hash is BLAKE2b-256 of the bytes (b2sum -l 256)" "hash $hash" "$out"
fi
out=$("$fedctl" workflow validate "$data/bad_five.yaml" 2>&1); rc=$?
expect "validate: five mistakes exit 1" 1 "$rc"
for where in "bad_five.yaml:9:14: step 'fetch': key 'timeout': bad duration '30'" \
    "bad_five.yaml:14:20: step 'clean': needs 'fecth', which is no step's id; did you mean 'fetch'?" \
    "bad_five.yaml:15:5: step 'clean': key 'retires' is unknown; did you mean 'retries'?" \
    "bad_five.yaml:20:13: step 'report': \${steps.load.output.rows} refers to step 'load', which is not upstream" \
    "bad_five.yaml:21:9: step id 'load' is used twice"; do
    contains "validate: reports ${where%%:*}:${where#*:}" "$where" "$out"
done
expect "validate: exactly five error lines" 5 "$(grep -c 'bad_five.yaml:[0-9]*:[0-9]*: ' <<<"$out")"
contains "validate: sums up" "invalid: 5 errors" "$out"
out=$("$fedctl" workflow validate "$data/bad_cycle.yaml" 2>&1); rc=$?
expect "validate: a cycle exits 1" 1 "$rc"
contains "validate: the cycle's path" "bad_cycle.yaml:11:13: cycle: extract -> load -> transform -> extract" "$out"
out=$("$fedctl" workflow validate --json "$data/bad_five.yaml" 2>/dev/null); rc=$?
expect "validate --json: exit 1" 1 "$rc"
expect "validate --json: valid false, five errors" "False 5" \
    "$($python -c 'import json,sys; r=json.load(sys.stdin); print(r["valid"], len(r["errors"]))' <<<"$out" 2>&1)"
out=$("$fedctl" workflow validate "$work/none.yaml" 2>&1); rc=$?
expect "validate: a missing file exits 1" 1 "$rc"
contains "validate: says why" "cannot read the workflow: No such file or directory" "$out"

# --- two nodes ----------------------------------------------------------------------
# Ports 63000-64000: above Linux's ephemeral range (32768-60999), five per pid.
base=$((63000 + ($$ % 200) * 5))
declare -A id seed pid
peer_cluster 2 "$base" "{probe_interval: 200ms, probe_timeout: 100ms, suspicion_timeout: 2s, interval: 200ms}" "durability: wal"
start() {
    local i=$1; shift
    "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" \
        --peer-bind "tcp://127.0.0.1:$((base + i))" \
        --control-bind "tcp://127.0.0.1:$((base + 2 + i))" "$@" >>"$work/n$i.out" 2>&1 &
    pid[$i]=$!
    pids+=("${pid[$i]}")
}
ctl() { local i=$1; shift; "$fedctl" --data-dir "$work/n$i" --timeout 5s "$@"; }
# As another key, on n1: as KEYFILE ARGS...
as() {
    local key=$1; shift
    "$fedctl" --endpoint "tcp://127.0.0.1:$((base + 3))" --server-key "$work/n1/node.key" \
        --key "$key" --timeout 5s "$@"
}
alive() { [ "$(ctl 1 members --status alive --json 2>/dev/null | $python -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = 2 ]; }
# published I: how many workflow.published events node nI holds.
published() {
    ctl "$1" events tail --type workflow.published --limit 1000 --json 2>/dev/null |
        $python -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))' 2>/dev/null
}
start 1
start 2 --seed "${seed[1]}"
wait_for 20 alive && ok "two nodes joined" || fail "cluster did not form: $(tail -3 "$work/n2.out")"

out=$(ctl 1 workflow publish "$example" 2>&1); rc=$?
expect "publish on n1 exits 0" 0 "$rc"
contains "publish names what it wrote" "published example.fanout@1.0.0: 7 steps, hash" "$out"
listed() { ctl 2 workflow list 2>/dev/null | grep -q '^example.fanout  *1.0.0 '; }
wait_for 15 listed && ok "n2 lists the workflow published on n1" || fail "n2 lists: $(ctl 2 workflow list 2>&1)"
expect "list --json is the same on n1 and n2" "$(ctl 1 workflow list --json 2>&1)" "$(ctl 2 workflow list --json 2>&1)"
expect "show --json is the same on n1 and n2" "$(ctl 1 workflow show example.fanout --json 2>&1)" \
    "$(ctl 2 workflow show example.fanout --json 2>&1)"
ctl 2 workflow show example.fanout --yaml >"$work/shown.yaml" 2>&1
cmp -s "$example" "$work/shown.yaml" && ok "show --yaml on n2 gives back the exact bytes" ||
    fail "show --yaml differs: $(diff "$example" "$work/shown.yaml" | head -5)"
out=$(ctl 2 workflow show example.fanout 2>&1)
contains "show: the summary" "steps:         7" "$out"
contains "show: latest" "latest:        true" "$out"
contains "show: then the text" "- id: shard-edge" "$out"
expect "one workflow.published event" 1 "$(published 1)"

# --- versions are immutable ------------------------------------------------------------
out=$(ctl 2 workflow publish "$example" 2>&1); rc=$?
expect "the same version and text again exits 0" 0 "$rc"
contains "and writes nothing" "already published with this content" "$out"
sed 's/default: 200/default: 300/' "$example" >"$work/changed.yaml"
out=$(ctl 2 workflow publish "$work/changed.yaml" 2>&1); rc=$?
expect "the same version with other text exits 1" 1 "$rc"
contains "refused as a conflict" "conflict: example.fanout@1.0.0 is already published with other content" "$out"
contains "saying why" "versions are immutable: publish it as a new version" "$out"
sed 's/^version: "1.0.0"/version: "1.1.0"/' "$work/changed.yaml" >"$work/v11.yaml"
out=$(ctl 2 workflow publish "$work/v11.yaml" 2>&1); rc=$?
expect "a new version publishes (on n2)" 0 "$rc"
latest() { ctl 1 workflow show example.fanout --json 2>/dev/null | grep -q '"version": "1.1.0"'; }
wait_for 15 latest && ok "n1 shows 1.1.0 as the latest" || fail "n1 shows: $(ctl 1 workflow show example.fanout 2>&1 | head -3)"
ctl 1 workflow show example.fanout@1.0.0 --yaml >"$work/old.yaml" 2>&1
cmp -s "$example" "$work/old.yaml" && ok "1.0.0 stays readable, unchanged" || fail "1.0.0 changed"
out=$(ctl 1 workflow list 2>&1)
contains "list: both versions, 1.1.0 marked latest" "1.1.0    *" "$out"
expect "two workflow.published events on n1" 2 "$(published 1)"

# --- roles ------------------------------------------------------------------------------
"$fedctl" keygen "$work/viewer" >/dev/null 2>&1
ctl 1 trust add "$work/viewer.pub" --role viewer >/dev/null 2>&1
out=$(as "$work/viewer.key" workflow publish "$work/v11.yaml" 2>&1); rc=$?
expect "a viewer's publish exits 1" 1 "$rc"
contains "as forbidden" "forbidden: role 'viewer' may not run 'workflow.publish'" "$out"
out=$(as "$work/viewer.key" workflow list 2>&1); rc=$?
expect "a viewer may list" 0 "$rc"
out=$(as "$work/viewer.key" workflow show example.fanout@1.0.0 2>&1); rc=$?
expect "a viewer may show" 0 "$rc"

# --- bad input to workflow.publish: refused, nothing written ---------------------------------
out=$(ctl 1 workflow publish "$data/bad_five.yaml" 2>&1); rc=$?
expect "an invalid workflow exits 1" 1 "$rc"
expect "the node lists all five errors" 5 "$(grep -c 'bad_five.yaml:[0-9]*:[0-9]*: ' <<<"$out")"
contains "with their positions" "bad_five.yaml:15:5: step 'clean': key 'retires' is unknown" "$out"
contains "and the code" "fedctl: invalid: 5 errors" "$out"
printf 'name: x\nversion: "1"\nsteps: [{id: a, agent: sys.echo}\n' >"$work/malformed.yaml"
out=$(ctl 1 workflow publish "$work/malformed.yaml" 2>&1); rc=$?
expect "malformed YAML exits 1" 1 "$rc"
contains "as a syntax error at its place" "malformed.yaml:4:1: YAML syntax error: did not find expected ',' or ']'" "$out"
{ printf 'name: big\nversion: "1"\nsteps: [{id: a, agent: sys.echo}]\n# '; head -c 1100000 /dev/zero | tr '\0' x; echo; } >"$work/big.yaml"
out=$(ctl 1 workflow publish "$work/big.yaml" 2>&1); rc=$?
expect "a workflow over limits.yaml_file exits 1" 1 "$rc"
contains "naming the limit" "big.yaml: the workflow is $(stat -c %s "$work/big.yaml") bytes, over the 1MiB limit (limits.yaml_file)" "$out"
# Just under limits.yaml_file, so that the event around it is over limits.event_body.
top='name: big\nversion: "1"\nsteps: [{id: a, agent: sys.echo}]\n# '
{ printf "$top"; head -c $((1048560 - $(printf "$top" | wc -c) - 1)) /dev/zero | tr '\0' x; echo; } >"$work/edge.yaml"
expect "that file is 16 bytes under 1 MiB" 1048560 "$(stat -c %s "$work/edge.yaml")"
out=$(ctl 1 workflow publish "$work/edge.yaml" 2>&1); rc=$?
expect "a workflow whose event passes limits.event_body exits 1" 1 "$rc"
contains "naming that limit" "over the 1048576-byte limit (limits.event_body)" "$out"
expect "nothing entered n1's log" 2 "$(published 1)"
expect "nor n2's" 2 "$(published 2)"
out=$(ctl 1 workflow show nothing.here 2>&1); rc=$?
expect "show of an unknown workflow exits 1" 1 "$rc"
contains "as not_found" "not_found: no workflow nothing.here in the catalog" "$out"
out=$(ctl 1 workflow show 'Bad Name' 2>&1); rc=$?
expect "show of a bad name is a usage error" 2 "$rc"

for i in 1 2; do
    kill -TERM "${pid[$i]}"
    wait "${pid[$i]}"
    expect "n$i stops cleanly" 0 $?
done
lacks "no sanitizer report in any log" "ERROR: AddressSanitizer" "$(cat "$work"/n*.out)"
lacks "no UBSan report in any log" "runtime error" "$(cat "$work"/n*.out)"
finish
