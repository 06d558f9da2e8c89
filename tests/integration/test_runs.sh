#!/usr/bin/env bash
# tests/integration/test_runs.sh: workflow runs end to end (doc/design.md §16),
# on three real fednode processes on 127.0.0.1 (own ports and data dirs, all
# reaped); n3 is in region edge.
#
#   1. the example workflow (config/example_workflow.yaml) runs to completion:
#      its approval listed on another node, approved there by an approver key,
#      the value flowing downstream; every node shows the same run;
#   2. the reject path; approve/reject refusals (usage, bad_value, not_found,
#      not_awaiting, duplicate, already_decided); a rejection after an
#      approval; a hitl step with an agent; two approvers at once on two
#      nodes decide once, late votes marked by the events' order;
#   3. who may decide: roles, forbid_submitter, min_approvals, approvers by
#      key, the majority value, and the three on_timeout outcomes;
#   4. the coordinator killed (-9) while a step awaits approval (approved
#      after its restart, and while it is down), while a step runs on
#      another node, while its own step runs, and past an approval deadline;
#   5. a worker killed mid-step: the step is reassigned and completes once;
#      the restarted worker does not finish the superseded attempt;
#   6. retries with backoff and step timeouts, then the run fails; an
#      unplaceable step waits with its reason; run cancel on the coordinator
#      and on another node (the task stops on its worker), and while a step
#      awaits approval;
#   7. a generated 1,000-step DAG completes;
#   8. bad input to run start and run show; a run keeps its pinned definition
#      when a new version is published; run list and approvals agree on
#      every node at the end.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
src=${FED_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-runs.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3
unset FEDNODE_DATA_DIR
t0=$SECONDS

# Ports 9000-9999: nothing else uses them; ten per pid (peer base+I, control
# base+3+I).
base=$((9000 + ($$ % 90) * 10))
declare -A id seed pid
peer_cluster 3 "$base" "{probe_interval: 200ms, probe_timeout: 100ms, suspicion_timeout: 1s, interval: 200ms}" "durability: wal"
region=([1]="" [2]="" [3]=edge)
start() {
    local i=$1; shift
    "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" --name "n$i" ${region[$i]:+--region "${region[$i]}"} \
        --peer-bind "tcp://127.0.0.1:$((base + i))" \
        --control-bind "tcp://127.0.0.1:$((base + 3 + i))" "$@" >>"$work/n$i.out" 2>&1 &
    pid[$i]=$!
    pids+=("${pid[$i]}")
}
kill9() { { kill -KILL "${pid[$1]}"; wait "${pid[$1]}"; } 2>/dev/null; }
# ctl I ARGS: fedctl as node nI's local admin key; T sets --timeout.
ctl() { local i=$1; shift; "$fedctl" --data-dir "$work/n$i" --timeout "${T:-5s}" "$@"; }
# as KEY I ARGS: fedctl on node nI's control socket as $work/KEY.key.
as() {
    local key=$1 i=$2; shift 2
    "$fedctl" --endpoint "tcp://127.0.0.1:$((base + 3 + i))" --server-key "$work/n$i/node.pub" \
        --key "$work/$key.key" --timeout 5s "$@"
}
alive() {
    [ "$(ctl "$1" members --status alive --json 2>/dev/null | pj 'len(r)')" = 3 ]
}
# wf NAME: publish on n1 the workflow read from stdin (kept as $work/NAME.yaml).
wf() {
    cat >"$work/$1.yaml"
    ctl 1 workflow publish "$work/$1.yaml" >"$work/publish.out" 2>&1 ||
        fail "publishing $1: $(cat "$work/publish.out")"
}
# begin I NAME [ARGS]: run start on nI, prints the run id.
begin() { local i=$1; shift; ctl "$i" run start "$@" 2>"$work/start.err"; }
# same_everywhere RUN: every node's run show --json is the same.
same_everywhere() {
    local a b c
    a=$(show 1 "$1" | pj r) && b=$(show 2 "$1" | pj r) && c=$(show 3 "$1" | pj r)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ]
}
# trusted I NAME: node nI lists a trusted key named NAME.
trusted() { ctl "$1" trust list 2>/dev/null | grep -q " $2 "; }
key_of() { "$fedctl" keygen "$work/$1" 2>/dev/null | head -1; }
phase() { echo "# $1 (at $((SECONDS - t0)) s)"; }

start 1
start 2 --seed "${seed[1]}"
start 3 --seed "${seed[1]}"
wait_for 20 alive 1 && ok "three nodes joined" || fail "cluster did not form: $(tail -3 "$work/n3.out")"

# Keys: alice and carol approvers, vic a viewer, otto an operator, dora an admin.
declare -A key
for k in alice carol vic otto dora; do key[$k]=$(key_of $k); done
ctl 1 trust add "$work/alice.pub" --role approver --name alice >/dev/null &&
    ctl 1 trust add "$work/carol.pub" --role approver --name carol >/dev/null &&
    ctl 1 trust add "$work/vic.pub" --role viewer --name vic >/dev/null &&
    ctl 1 trust add "$work/otto.pub" --role operator --name otto >/dev/null &&
    ctl 1 trust add "$work/dora.pub" --role admin --name dora >/dev/null ||
    fail "trust add on n1 failed"
all_trusted() { for i in 1 2 3; do trusted $i dora || return 1; done; }
wait_for 15 all_trusted && ok "every node trusts the keys added on n1" ||
    fail "n2 trusts: $(ctl 2 trust list 2>&1)"

# --- 1. the example workflow, to completion ------------------------------------------
phase "1. the example workflow"
ctl 1 workflow publish "$src/config/example_workflow.yaml" >/dev/null 2>&1 ||
    fail "publishing the example on n1"
hash1=$(ctl 1 workflow show example.fanout --json 2>/dev/null | pj 'r["hash"]')
listed() { ctl "$1" workflow show "$2" --json >/dev/null 2>&1; }
wait_for 10 listed 2 example.fanout && ok "n2 has the example" || fail "n2 has no example.fanout"
R1=$(begin 1 example.fanout -p batch=b-7)
expect "run start prints a run id" 1 "$(grep -c '^[0-9a-f]\{16\}$' <<<"$R1")"
# awaiting_on I RUN [STEP]: node nI lists STEP (default review) of RUN, and
# only it, as awaiting a decision.
awaiting_on() {
    [ "$(ctl "$1" approvals --json 2>/dev/null | pj "[a['step'] for a in r if a['run']=='$2']")" = "[\"${3:-review}\"]" ]
}
wait_for 15 awaiting_on 2 "$R1" && ok "n2 lists review awaiting approval" ||
    fail "n2 approvals: $(ctl 2 approvals 2>&1)"
ap=$(ctl 2 approvals --run "$R1" --json 2>/dev/null)
expect "the message has the param resolved" "Publish batch b-7?" "$(pj 'r[0]["message"]' <<<"$ap")"
expect "with the step's values" '["publish", "hold"]' "$(pj 'r[0]["values"]' <<<"$ap")"
expect "and approvers" '["approver"]' "$(pj 'r[0]["approvers"]' <<<"$ap")"
expect "the workflow named" example.fanout "$(pj 'r[0]["workflow"]' <<<"$ap")"
expect "the run waits on review, publish pending" "completed completed awaiting_approval pending" \
    "$(rget 2 "$R1" '" ".join(S(i)["state"] for i in ("prepare","merge","review","publish"))')"
out=$(as alice 2 approve "$R1" review --value publish -m ok 2>&1); rc=$?
expect "alice (approver) approves on n2" 0 "$rc"
contains "and is told so" "approved $R1/review (1 of 1 approval)" "$out"
out=$(T=20s ctl 1 run wait "$R1" --json 2>&1); rc=$?
expect "run wait exits 0" 0 "$rc"
expect "the run completed, 7 of 7 steps" "completed 7 7" "$(pj '"%s %s %s" % (r["state"], r["done"], r["steps"])' <<<"$out")"
wait_for 10 same_everywhere "$R1" && ok "run show --json is identical on n1, n2 and n3" || {
    show 1 "$R1" | pj r >"$work/r1.n1"
    show 2 "$R1" | pj r >"$work/r1.n2"
    show 3 "$R1" | pj r >"$work/r1.n3"
    fail "run show differs: $(diff "$work/r1.n1" "$work/r1.n2" | head -5) / $(diff "$work/r1.n1" "$work/r1.n3" | head -5)"
}
r=$(show 3 "$R1")
expect "every step completed or approved" "completed completed completed completed completed approved completed" \
    "$(pj '" ".join(s["state"] for s in r["steps"])' <<<"$r")"
expect "shard-edge ran on n3 (region edge)" n3 "$(pj 'S("shard-edge")["node_name"]' <<<"$r")"
expect "the run pins the published hash" "$hash1" "$(pj 'r["hash"]' <<<"$r")"
expect "the bound params" '{"batch": "b-7", "rows": 1000, "work_ms": 200}' "$(pj 'r["params"]' <<<"$r")"
expect "review's output is the decision" '{"decision": "approved", "value": "publish"}' \
    "$(pj 'S("review")["output"]' <<<"$r")"
expect "the vote: alice, ok, publish" "alice approve ok publish False" \
    "$(pj '" ".join(str(S("review")["approval"]["votes"][0][k]) for k in ("name","decision","comment","value","late"))' <<<"$r")"
expect "publish got decision=publish through \${steps.review.output.value}" \
    '{"batch": "b-7", "decision": "publish"}' "$(pj 'S("publish")["output"]' <<<"$r")"
expect "merge got the upstream values" '{"edge_rows": 1000, "note": "merged b-7", "slept_a": 200, "slept_b": 200}' \
    "$(pj 'S("merge")["output"]' <<<"$r")"
expect "one attempt per agent step" "1 1 1 1 1 1" \
    "$(pj '" ".join(str(len(s["attempts"])) for s in r["steps"] if s["agent"])' <<<"$r")"
expect "nothing is left awaiting" "[]" "$(ctl 3 approvals --json 2>/dev/null | pj "[a for a in r if a['run']=='$R1']")"
expect "run list on n2 has it completed" "completed" \
    "$(ctl 2 run list --json 2>/dev/null | pj "[x['state'] for x in r if x['run']=='$R1'][0]")"

# --- 2. rejecting; approve/reject refusals -----------------------------------------------
phase "2. reject and refusals"
R2=$(begin 1 example.fanout -p batch=b-8)
wait_for 15 awaiting_on 3 "$R2" && ok "n3 lists the second run's review" || fail "n3 approvals: $(ctl 3 approvals 2>&1)"
out=$(as alice 3 approve "$R2" review --value ship 2>&1); rc=$?
expect "a value not listed: exit 1" 1 "$rc"
contains "as bad_value, listing the values" "bad_value: step review takes a value, one of: publish, hold" "$out"
out=$(as alice 3 approve "$R2" review 2>&1); rc=$?
expect "no value when the step lists some: exit 1" 1 "$rc"
contains "as bad_value" "bad_value" "$out"
out=$(as alice 3 reject "$R2" review 2>&1); rc=$?
expect "reject without -m is a usage error (exit 2)" 2 "$rc"
contains "that asks for the reason" "reject needs the reason" "$out"
out=$(as alice 3 approve "$R2" nosuchstep --value publish 2>&1); rc=$?
expect "approve of an unknown step: exit 1" 1 "$rc"
contains "as not_found" "not_found" "$out"
out=$(as alice 3 approve "$R2" merge 2>&1); rc=$?
contains "approve of a step that is no approval: not_awaiting" "not_awaiting" "$out"
out=$(as alice 3 reject "$R2" review -m "rows look wrong" 2>&1); rc=$?
expect "reject -m on n3 exits 0" 0 "$rc"
out=$(T=20s ctl 1 run wait "$R2" --json 2>&1); rc=$?
expect "run wait exits 1 for the failed run" 1 "$rc"
expect "the run failed" failed "$(pj 'r["state"]' <<<"$out")"
contains "its reason has the comment" "rows look wrong" "$(pj 'r["reason"]' <<<"$out")"
r=$(show 1 "$R2")
expect "review rejected, publish skipped" "rejected skipped" \
    "$(pj 'S("review")["state"] + " " + S("publish")["state"]' <<<"$r")"
expect "the decision: rejected" rejected "$(pj 'S("review")["approval"]["outcome"]' <<<"$r")"
decided_on() { [ "$(rget "$1" "$2" "S('$3')['approval']['outcome']")" != None ]; }
wait_for 10 decided_on 2 "$R2" review || fail "n2 never saw the decision"
out=$(as carol 2 approve "$R2" review --value publish 2>&1); rc=$?
expect "a vote after the decision: exit 1" 1 "$rc"
contains "as already_decided, naming the outcome" "already_decided" "$out"
contains "and who" "rejected by ${key[alice]}" "$out"
# duplicate needs a step that one approval does not decide
wf t.two <<'Y'
name: t.two
version: "1"
steps:
  - id: gate
    hitl: {min_approvals: 2, message: "two please"}
  - id: after
    agent: sys.echo
    needs: [gate]
    with: {v: "${steps.gate.output.decision}"}
Y
wait_for 10 listed 2 t.two || fail "n2 has no t.two"
R2b=$(begin 2 t.two)
wait_for 15 awaiting_on 1 "$R2b" gate || fail "n1 approvals: $(ctl 1 approvals 2>&1)"
out=$(as alice 1 approve "$R2b" gate --value publish 2>&1); rc=$?
expect "a value for a step that lists none: exit 1" 1 "$rc"
contains "as bad_value" "bad_value: step gate takes no value" "$out"
out=$(as alice 1 approve "$R2b" gate 2>&1); rc=$?
expect "alice's first approval (no values listed, none given)" 0 "$rc"
contains "1 of 2" "(1 of 2 approvals)" "$out"
out=$(as alice 1 approve "$R2b" gate 2>&1); rc=$?
expect "alice again: exit 1" 1 "$rc"
contains "as duplicate" "duplicate" "$out"
expect "still awaiting after one of two" awaiting_approval "$(rget 1 "$R2b" 'S("gate")["state"]')"
has_votes() { [ "$(rget "$1" "$2" "len(S('gate')['approval']['votes'])")" = "$3" ]; }
wait_for 10 has_votes 3 "$R2b" 1 || fail "n3 never saw alice's vote"
out=$(as alice 3 approve "$R2b" gate 2>&1); rc=$?
contains "alice again, on n3 once her vote is there: duplicate" "duplicate" "$out"

# (R2b stays awaiting for part 3.) Another run: one approval of two, then a rejection.
R2j=$(begin 2 t.two)
wait_for 15 awaiting_on 1 "$R2j" gate || fail "n1 does not list the second t.two run"
as alice 1 approve "$R2j" gate >/dev/null 2>&1 || fail "alice's approval of R2j"
out=$(as carol 1 reject "$R2j" gate -m "one no is enough" 2>&1); rc=$?
expect "carol rejects after alice's approval (one of two)" 0 "$rc"
out=$(T=20s ctl 1 run wait "$R2j" --json 2>&1)
expect "one rejection decides it: the run fails" failed "$(pj 'r["state"]' <<<"$out")"
expect "as rejected, after skipped" "rejected rejected skipped" \
    "$(rget 2 "$R2j" 'S("gate")["state"] + " " + S("gate")["approval"]["outcome"] + " " + S("after")["state"]')"

# A hitl step with an agent: the approval comes first, then the agent runs.
wf t.act <<'Y'
name: t.act
version: "1"
steps:
  - id: deploy
    agent: sys.echo
    hitl: {values: [canary, full]}
    with: {target: prod}
Y
wait_for 10 listed 2 t.act || fail "n2 has no t.act"
R2a=$(begin 2 t.act)
wait_for 15 awaiting_on 2 "$R2a" deploy || fail "n2 does not list t.act's deploy"
expect "the agent has not run before the approval" 0 "$(rget 2 "$R2a" 'len(S("deploy")["attempts"])')"
as alice 2 approve "$R2a" deploy --value canary >/dev/null 2>&1 || fail "approving deploy"
out=$(T=20s ctl 2 run wait "$R2a" --json 2>&1)
expect "then it runs and the run completes" completed "$(pj 'r["state"]' <<<"$out")"
expect "its one attempt assigned as 'approved'" "approved completed" \
    "$(rget 2 "$R2a" '" ".join(S("deploy")["attempts"][0][k] for k in ("why","outcome")) if len(S("deploy")["attempts"]) == 1 else S("deploy")["attempts"]')"
expect "its output is the agent's" '{"target": "prod"}' "$(rget 2 "$R2a" 'S("deploy")["output"]')"

# Two approvers on two nodes at once, one approval needed: decided once.
wf t.race <<'Y'
name: t.race
version: "1"
steps:
  - id: gate
    hitl: true
  - id: after
    agent: sys.echo
    needs: [gate]
Y
wait_for 10 listed 3 t.race || fail "n3 has no t.race"
R2r=$(begin 1 t.race)
wait_for 15 awaiting_on 2 "$R2r" gate && wait_for 15 awaiting_on 3 "$R2r" gate ||
    fail "n2/n3 do not list t.race's gate"
as alice 2 approve "$R2r" gate -m "from n2" >"$work/race2" 2>&1 &
p2=$!
pids+=("$p2")
as carol 3 approve "$R2r" gate -m "from n3" >"$work/race3" 2>&1 &
p3=$!
pids+=("$p3")
wait $p2; rc2=$?
wait $p3; rc3=$?
taken=$(( (rc2 == 0) + (rc3 == 0) ))
[ $taken -ge 1 ] && ok "at once on n2 and n3: $taken vote(s) taken" ||
    fail "neither vote taken: $(cat "$work/race2" "$work/race3")"
for n in 2 3; do
    rcn=rc$n
    [ "${!rcn}" = 0 ] || contains "the vote refused on n$n was already_decided" already_decided "$(cat "$work/race$n")"
done
out=$(T=20s ctl 1 run wait "$R2r" --json 2>&1)
expect "the run completes" completed "$(pj 'r["state"]' <<<"$out")"
wait_for 10 same_everywhere "$R2r" && ok "every node shows the same votes and decision" ||
    fail "run show of the race differs between nodes"
expect "every vote taken is recorded" "$taken" "$(rget 1 "$R2r" 'len(S("gate")["approval"]["votes"])')"
decided=$(ctl 1 events tail --type step.decided --limit 100 --json 2>/dev/null |
    pj "len([e for e in r['events'] if e['body']['run']=='$R2r'])")
expect "one step.decided" 1 "$decided"
expect "after ran once" 1 "$(rget 2 "$R2r" 'len(S("after")["attempts"])')"
# late: a vote is late when it was recorded after the decision, by (hlc)
# order of its event and the step.decided event.
evs() {
    ctl 1 events tail --type "$1" --limit 100 --json 2>/dev/null |
        pj "[[e['hlc'], e['body'].get('comment')] for e in r['events'] if e['body']['run']=='$R2r']"
}
want_late=$($python -c "import json,sys
a=json.loads(sys.argv[1]); d=json.loads(sys.argv[2])[0][0]
print(' '.join('%s:%s' % (c, h > d) for h, c in sorted(a, key=lambda x: x[1])))" "$(evs step.approved)" "$(evs step.decided)" 2>&1)
expect "each vote is late exactly when recorded after the decision" "$want_late" \
    "$(rget 3 "$R2r" '" ".join("%s:%s" % (v["comment"], v["late"]) for v in sorted(S("gate")["approval"]["votes"], key=lambda v: v["comment"]))')"

# --- 3. who may decide ----------------------------------------------------------------------
phase "3. who may decide"
# The on_timeout runs first: their 2 s deadlines pass while the rest is checked.
for how in reject approve escalate; do
    wf t.to-$how <<Y
name: t.to-$how
version: "1"
steps:
  - id: gate
    hitl: {timeout: 2s, on_timeout: $how, message: "decide in 2s"}
  - id: after
    agent: sys.echo
    needs: [gate]
    with: {v: "\${steps.gate.output.decision}"}
Y
done
wait_for 10 listed 1 t.to-escalate || fail "n1 has no t.to-escalate"
RTr=$(begin 1 t.to-reject)
RTa=$(begin 1 t.to-approve)
RTe=$(begin 1 t.to-escalate)

wait_for 10 awaiting_on 2 "$R2b" gate || fail "n2 does not list t.two's gate"
out=$(as vic 2 approve "$R2b" gate 2>&1); rc=$?
expect "a viewer's approve: exit 1" 1 "$rc"
contains "as forbidden" "forbidden" "$out"
out=$(as vic 2 reject "$R2b" gate -m no 2>&1); rc=$?
contains "a viewer's reject: forbidden" "forbidden" "$out"
out=$(as otto 2 approve "$R2b" gate 2>&1); rc=$?
expect "an operator's approve (step names no approvers): exit 1" 1 "$rc"
contains "as forbidden" "forbidden" "$out"
out=$(as carol 2 approve "$R2b" gate -m "second" 2>&1); rc=$?
expect "carol's approval, a second distinct key" 0 "$rc"
contains "2 of 2" "(2 of 2 approvals)" "$out"
out=$(T=20s ctl 1 run wait "$R2b" --json 2>&1)
expect "min_approvals 2: approved after the second, the run completes" completed "$(pj 'r["state"]' <<<"$out")"
r=$(show 2 "$R2b")
expect "the gate approved by alice and carol" "approved alice,carol" \
    "$(pj 'S("gate")["approval"]["outcome"] + " " + ",".join(sorted(v["name"] for v in S("gate")["approval"]["votes"]))' <<<"$r")"

# The example's review names role approver: an operator is no approver.
R3=$(begin 1 example.fanout -p batch=b-9)
wait_for 15 awaiting_on 2 "$R3" || fail "n2 does not list R3's review"
out=$(as otto 2 approve "$R3" review --value hold 2>&1); rc=$?
contains "an operator on the example's review: forbidden" "forbidden" "$out"
out=$(as vic 2 approve "$R3" review --value hold 2>&1); rc=$?
contains "a viewer on it: forbidden" "forbidden" "$out"
out=$(as dora 2 approve "$R3" review --value hold -m "admin may always decide" 2>&1); rc=$?
expect "an admin key may decide any step" 0 "$rc"
out=$(T=20s ctl 1 run wait "$R3" --json 2>&1)
expect "and the run completes" completed "$(pj 'r["state"]' <<<"$out")"
expect "with the admin's value" '{"batch": "b-9", "decision": "hold"}' "$(rget 1 "$R3" 'S("publish")["output"]')"

wf t.nosub <<'Y'
name: t.nosub
version: "1"
steps:
  - id: gate
    hitl: {forbid_submitter: true}
Y
wait_for 10 listed 1 t.nosub || fail "n1 has no t.nosub"
# started with n2's admin key: that key may not approve it, even as admin
R3s=$(begin 2 t.nosub)
wait_for 15 awaiting_on 2 "$R3s" gate || fail "n2 does not list t.nosub's gate"
out=$(ctl 2 approve "$R3s" gate 2>&1); rc=$?
expect "forbid_submitter: the submitter (an admin) is refused" 1 "$rc"
contains "as forbidden" "forbidden" "$out"
out=$(ctl 2 reject "$R3s" gate -m "my own" 2>&1)
contains "its reject too" "forbidden" "$out"
out=$(ctl 1 approve "$R3s" gate 2>&1); rc=$?
expect "another admin key (n1's) may approve it" 0 "$rc"
out=$(T=20s ctl 2 run wait "$R3s" --json 2>&1)
expect "and the run completes" completed "$(pj 'r["state"]' <<<"$out")"

wf t.bykey <<Y
name: t.bykey
version: "1"
steps:
  - id: gate
    hitl: {approvers: ['${key[alice]}']}
Y
wait_for 10 listed 3 t.bykey || fail "n3 has no t.bykey"
R3k=$(begin 3 t.bykey)
wait_for 15 awaiting_on 3 "$R3k" gate || fail "n3 does not list t.bykey's gate"
out=$(as carol 3 approve "$R3k" gate 2>&1); rc=$?
expect "approvers by key: carol (approver role, not listed) exit 1" 1 "$rc"
contains "as forbidden" "forbidden" "$out"
out=$(as alice 3 approve "$R3k" gate 2>&1); rc=$?
expect "alice, listed by her key, approves" 0 "$rc"
out=$(T=20s ctl 3 run wait "$R3k" --json 2>&1)
expect "and the run completes" completed "$(pj 'r["state"]' <<<"$out")"

# The approved value is the one most votes carry; the first among equals.
wf t.vote <<'Y'
name: t.vote
version: "1"
steps:
  - id: gate
    hitl: {min_approvals: 3, values: [red, blue]}
  - id: after
    agent: sys.echo
    needs: [gate]
    with: {v: "${steps.gate.output.value}"}
Y
wait_for 10 listed 2 t.vote || fail "n2 has no t.vote"
R3v=$(begin 2 t.vote)
wait_for 15 awaiting_on 2 "$R3v" gate || fail "n2 does not list t.vote's gate"
as alice 2 approve "$R3v" gate --value red >/dev/null 2>&1 &&
    as carol 2 approve "$R3v" gate --value blue >/dev/null 2>&1 &&
    as dora 2 approve "$R3v" gate --value blue >/dev/null 2>&1 || fail "the three t.vote approvals"
out=$(T=20s ctl 2 run wait "$R3v" --json 2>&1)
expect "three approvals: the run completes" completed "$(pj 'r["state"]' <<<"$out")"
expect "with the value two of three carry" '{"v": "blue"}' "$(rget 2 "$R3v" 'S("after")["output"]')"

# on_timeout
out=$(T=20s ctl 1 run wait "$RTr" --json 2>&1); rc=$?
expect "on_timeout reject: the run fails (exit 1)" "1 failed" "$rc $(pj 'r["state"]' <<<"$out")"
r=$(show 2 "$RTr")
expect "gate timed_out (not rejected), after skipped" "timed_out skipped" \
    "$(pj 'S("gate")["state"] + " " + S("after")["state"]' <<<"$r")"
expect "outcome timeout_rejected" timeout_rejected "$(pj 'S("gate")["approval"]["outcome"]' <<<"$r")"
ev=$(ctl 1 events tail --type run.failed --limit 100 --json 2>/dev/null |
    pj "[e['body']['code'] for e in r['events'] if e['body']['run']=='$RTr']")
expect "run.failed's code is approval_timeout" '["approval_timeout"]' "$ev"
contains "and run show's reason says it" "approval_timeout" "$(pj 'r["reason"]' <<<"$r")"
out=$(T=20s ctl 1 run wait "$RTa" --json 2>&1); rc=$?
expect "on_timeout approve: the run completes" "0 completed" "$rc $(pj 'r["state"]' <<<"$out")"
r=$(show 3 "$RTa")
expect "outcome timeout_approved" "timed_out timeout_approved" \
    "$(pj 'S("gate")["state"] + " " + S("gate")["approval"]["outcome"]' <<<"$r")"
wait_for 10 step_is 2 "$RTe" gate escalated && ok "on_timeout escalate: the gate is escalated" ||
    fail "gate state: $(rget 2 "$RTe" 'S("gate")["state"]')"
expect "the run still running" running "$(rget 2 "$RTe" 'r["state"]')"
expect "approvals says escalated" true "$(ctl 2 approvals --run "$RTe" --json 2>/dev/null | pj 'r[0]["escalated"]')"
out=$(as alice 2 approve "$RTe" gate 2>&1); rc=$?
expect "an approver is refused once escalated (exit 1)" 1 "$rc"
contains "as forbidden" "forbidden" "$out"
out=$(as dora 2 approve "$RTe" gate -m "admin decides" 2>&1); rc=$?
expect "an admin key (dora) decides it" 0 "$rc"
out=$(T=20s ctl 1 run wait "$RTe" --json 2>&1)
expect "and the run completes" completed "$(pj 'r["state"]' <<<"$out")"
expect "approved by dora" "approved dora" \
    "$(rget 1 "$RTe" 'S("gate")["approval"]["outcome"] + " " + S("gate")["approval"]["votes"][-1]["name"]')"

# --- 4. the coordinator killed while a step awaits approval -----------------------------------
phase "4. coordinator killed -9 during an approval"
wf t.gate <<'Y'
name: t.gate
version: "1"
steps:
  - id: first
    agent: sys.echo
    with: {n: 1}
  - id: gate
    needs: [first]
    hitl: {message: "go on?"}
  - id: last
    agent: sys.echo
    needs: [gate]
    with: {n: "${steps.first.output.n}"}
Y
wait_for 10 listed 2 t.gate || fail "n2 has no t.gate"
for variant in after during; do
    R4=$(begin 2 t.gate)
    wait_for 15 awaiting_on 1 "$R4" gate && wait_for 15 awaiting_on 3 "$R4" gate ||
        fail "$variant: n1/n3 do not list the gate"
    kill9 2
    if [ $variant = during ]; then
        out=$(as alice 3 approve "$R4" gate -m "while n2 is down" 2>&1); rc=$?
        expect "$variant: approved on n3 while the coordinator is down" 0 "$rc"
        expect "$variant: the run waits for its coordinator" running "$(rget 3 "$R4" 'r["state"]')"
    fi
    start 2 --seed "${seed[1]}"
    wait_for 20 alive 1 && wait_for 20 alive 2 || fail "$variant: n2 did not rejoin: $(tail -3 "$work/n2.out")"
    if [ $variant = after ]; then
        expect "$variant: restarted, the coordinator still has the gate awaiting" awaiting_approval \
            "$(rget 2 "$R4" 'S("gate")["state"]')"
        out=$(as alice 1 approve "$R4" gate -m "after the restart" 2>&1); rc=$?
        expect "$variant: approved on n1" 0 "$rc"
    fi
    out=$(T=20s ctl 1 run wait "$R4" --json 2>&1); rc=$?
    expect "$variant: the run completes" "0 completed 3" "$rc $(pj 'r["state"]' <<<"$out") $(pj 'r["done"]' <<<"$out")"
    expect "$variant: coordinated by n2 throughout" n2 "$(pj 'r["coordinator_name"]' <<<"$out")"
    expect "$variant: one vote, decided approved" "1 approved" \
        "$(rget 1 "$R4" '"%d %s" % (len(S("gate")["approval"]["votes"]), S("gate")["approval"]["outcome"])')"
    wait_for 10 same_everywhere "$R4" && ok "$variant: every node shows the same run" || fail "$variant: run show differs between nodes"
done

# The coordinator killed while a step runs elsewhere: the worker reports
# while it is down, and the restarted coordinator carries on.
wf t.coord <<'Y'
name: t.coord
version: "1"
steps:
  - id: work
    agent: sys.sleep
    with: {ms: 1500}
    location: {node: n1}
  - id: last
    agent: sys.echo
    needs: [work]
    with: {slept: "${steps.work.output.slept_ms}"}
Y
wait_for 10 listed 2 t.coord || fail "n2 has no t.coord"
R4c=$(begin 2 t.coord)
wait_for 10 step_is 1 "$R4c" work running || fail "work never ran on n1: $(rget 1 "$R4c" 'S("work")')"
kill9 2
wait_for 10 step_is 1 "$R4c" work completed && ok "n1 completes work while the coordinator is down" ||
    fail "work on n1: $(rget 1 "$R4c" 'S("work")["state"]')"
start 2 --seed "${seed[1]}"
out=$(T=20s ctl 2 run wait "$R4c" --json 2>&1); rc=$?
expect "the restarted coordinator carries on: the run completes" "0 completed 2" \
    "$rc $(pj 'r["state"]' <<<"$out") $(pj 'r["done"]' <<<"$out")"
expect "each step ran once" "1 1" "$(rget 2 "$R4c" '"%d %d" % (len(S("work")["attempts"]), len(S("last")["attempts"]))')"
expect "last got work's output" '{"slept": 1500}' "$(rget 2 "$R4c" 'S("last")["output"]')"
wait_for 20 alive 1 || fail "n2 did not rejoin after the second kill"

# The coordinator killed while its own step runs: restarted, it runs the
# attempt again (nobody reported it) and the run completes.
wf t.self <<'Y'
name: t.self
version: "1"
steps:
  - id: work
    agent: sys.sleep
    with: {ms: 1500}
    location: {node: n2}
  - id: last
    agent: sys.echo
    needs: [work]
Y
wait_for 10 listed 2 t.self || fail "n2 has no t.self"
R4s=$(begin 2 t.self)
wait_for 10 step_is 1 "$R4s" work running || fail "work never ran on n2: $(rget 1 "$R4s" 'S("work")')"
kill9 2
start 2 --seed "${seed[1]}"
out=$(T=20s ctl 2 run wait "$R4s" --json 2>&1); rc=$?
expect "coordinator and worker killed mid-step, restarted: the run completes" "0 completed 2" \
    "$rc $(pj 'r["state"]' <<<"$out") $(pj 'r["done"]' <<<"$out")"
expect "work counted once" 1 "$(rget 2 "$R4s" 'len([a for a in S("work")["attempts"] if a["outcome"]=="completed"])')"
wait_for 20 alive 1 || fail "n2 did not rejoin after the third kill"

# An approval deadline that passes while the coordinator is down: decided
# by on_timeout once it is back.
R4d=$(begin 2 t.to-reject)
wait_for 15 awaiting_on 1 "$R4d" gate || fail "n1 does not list t.to-reject's gate"
deadline=$(ctl 1 approvals --run "$R4d" --json 2>/dev/null | pj 'r[0]["deadline_ms"]')
kill9 2
past() { [ "$(date +%s%3N)" -gt "$deadline" ]; }
wait_for 10 past || fail "the deadline $deadline never passed"
expect "past the deadline, with the coordinator down, the run is still running" running "$(rget 1 "$R4d" 'r["state"]')"
start 2 --seed "${seed[1]}"
out=$(T=20s ctl 2 run wait "$R4d" --json 2>&1); rc=$?
expect "the coordinator back: the run fails" "1 failed" "$rc $(pj 'r["state"]' <<<"$out")"
expect "as timed out" "timed_out timeout_rejected" \
    "$(rget 2 "$R4d" 'S("gate")["state"] + " " + S("gate")["approval"]["outcome"]')"
wait_for 20 alive 1 || fail "n2 did not rejoin after the fourth kill"

# --- 5. a worker killed mid-step ----------------------------------------------------------------
phase "5. worker killed mid-step"
wf t.worker <<'Y'
name: t.worker
version: "1"
steps:
  - id: long
    agent: sys.sleep
    with: {ms: 4000}
    timeout: 1m
    location: {prefer: {node: n3}}
  - id: after
    agent: sys.echo
    needs: [long]
    with: {slept: "${steps.long.output.slept_ms}"}
Y
wait_for 10 listed 1 t.worker || fail "n1 has no t.worker"
R5=$(begin 1 t.worker)
running_on_n3() { [ "$(rget 1 "$R5" 'S("long")["state"] + " " + S("long")["node_name"]')" = "running n3" ]; }
wait_for 10 running_on_n3 && ok "long runs on n3 (preferred)" ||
    fail "long: $(rget 1 "$R5" 'S("long")')"
kill9 3
out=$(T=30s ctl 1 run wait "$R5" --json 2>&1); rc=$?
expect "n3 killed mid-step: the run completes" "0 completed 2" "$rc $(pj 'r["state"]' <<<"$out") $(pj 'r["done"]' <<<"$out")"
r=$(show 1 "$R5")
expect "two attempts: n3's superseded, then one for node_dead that completed" \
    "1 n3 first superseded|2 node_dead completed" \
    "$(pj '"|".join("%d %s%s %s" % (a["attempt"], a["node_name"] + " " if a["attempt"] == 1 else "", a["why"], a["outcome"]) for a in S("long")["attempts"])' <<<"$r")"
expect "the second attempt ran on a live node" true "$(pj 'S("long")["node_name"] in ("n1","n2")' <<<"$r")"
expect "long completed once, with its output" '4000 {"slept": 4000}' \
    "$(pj 'str(S("long")["output"]["slept_ms"]) + " " + json.dumps(S("after")["output"])' <<<"$r")"
start 3 --seed "${seed[1]}"
wait_for 20 alive 1 && wait_for 20 alive 3 || fail "n3 did not rejoin"
wait_for 15 same_everywhere "$R5" && ok "n3 back: every node shows the same run" || fail "run show differs after n3's return"
# metric I NAME{LABELS}: its value in node nI's metrics.
metric() { ctl "$1" metrics 2>/dev/null | awk -v m="$2" '$1 == m { print $2 }'; }
no_step_running() { [ "$(metric "$1" fednode_steps_running)" = 0 ]; }
cancelled_tasks() {
    local n=0 i v
    for i in 1 2 3; do v=$(metric $i 'fednode_agent_tasks_total{result="cancelled"}'); n=$((n + ${v:-0})); done
    echo $n
}
completions() {
    ctl "$1" events tail --type step.completed --limit 1000 --json 2>/dev/null |
        pj "len([e for e in r['events'] if e['body']['run']=='$R5' and e['body']['step']=='long'])"
}
expect "the run view counts one completion" 1 "$(rget 3 "$R5" 'len([a for a in S("long")["attempts"] if a["outcome"]=="completed"])')"
# n3 restarted with attempt 1 in its log, assigned to it and unreported, and
# learns from the others that attempt 2 superseded it and the run ended: it
# must not run attempt 1 to the end. Once nothing runs on n3, its own log
# says whether it did (a completion it wrote) or not.
wait_for 10 no_step_running 3 && ok "nothing left running on n3" ||
    fail "n3 still runs $(metric 3 fednode_steps_running) step(s)"
expect "n3 wrote no completion for the superseded attempt (sys.sleep tasks it ran: $(metric 3 fednode_steps_run_total))" \
    1 "$(completions 3)"
expect "one step.completed for long in n1's log" 1 "$(completions 1)"

# --- 6. retries, then cancel ---------------------------------------------------------------------
phase "6. retries and cancel"
wf t.retry <<'Y'
name: t.retry
version: "1"
steps:
  - id: flaky
    agent: sys.fail
    with: {code: disk_full, message: "no space left on the device"}
    retries: 2
    backoff: 200ms
  - id: after
    agent: sys.echo
    needs: [flaky]
Y
wait_for 10 listed 1 t.retry || fail "n1 has no t.retry"
R6=$(begin 1 t.retry)
out=$(T=20s ctl 1 run wait "$R6" --json 2>&1); rc=$?
expect "a step failing past retries: the run fails (exit 1)" "1 failed" "$rc $(pj 'r["state"]' <<<"$out")"
r=$(show 2 "$R6")
expect "three attempts: first, retry, retry, each failed disk_full" \
    "first failed disk_full|retry failed disk_full|retry failed disk_full" \
    "$(pj '"|".join("%s %s %s" % (a["why"], a["outcome"], a["code"]) for a in S("flaky")["attempts"])' <<<"$r")"
expect "the step failed with the agent's error" "failed disk_full no space left on the device" \
    "$(pj 'S("flaky")["state"] + " " + S("flaky")["error"]["code"] + " " + S("flaky")["error"]["message"]' <<<"$r")"
expect "after skipped" skipped "$(pj 'S("after")["state"]' <<<"$r")"
contains "the run's reason has the step's code" "disk_full" "$(pj 'r["reason"]' <<<"$r")"
ev=$(ctl 1 events tail --type run.failed --limit 100 --json 2>/dev/null |
    pj "[(e['body']['step'], e['body']['code']) for e in r['events'] if e['body']['run']=='$R6']")
expect "run.failed names the step and its code" '[["flaky", "disk_full"]]' "$ev"
# backoff: each retry assigned at least 200 ms after the failure before it
gaps=$(ctl 1 events tail --type step.assigned --limit 1000 --json 2>/dev/null | pj "(lambda ev: [ev[i+1]-ev[i] for i in range(len(ev)-1)])(sorted(e['hlc']>>16 for e in r['events'] if e['type']=='step.assigned' and e['body']['run']=='$R6'))")
expect "retries wait for the 200 ms backoff" True "$($python -c "import json; g=json.loads('$gaps'); print(len(g)==2 and all(x>=200 for x in g))")"

# A step over its timeout fails 'timeout' and is retried.
wf t.slow <<'Y'
name: t.slow
version: "1"
steps:
  - id: slow
    agent: sys.sleep
    with: {ms: 5000}
    timeout: 300ms
    retries: 1
    backoff: 100ms
Y
wait_for 10 listed 1 t.slow || fail "n1 has no t.slow"
R6t=$(begin 1 t.slow)
out=$(T=20s ctl 1 run wait "$R6t" --json 2>&1); rc=$?
expect "a step over its timeout, retried once: the run fails" "1 failed" "$rc $(pj 'r["state"]' <<<"$out")"
expect "two attempts, each failed 'timeout'" "first failed timeout|retry failed timeout" \
    "$(rget 2 "$R6t" '"|".join("%s %s %s" % (a["why"], a["outcome"], a["code"]) for a in S("slow")["attempts"])')"

# A step no node can take waits, saying why, and its run can be cancelled.
wf t.mars <<'Y'
name: t.mars
version: "1"
steps:
  - id: there
    agent: sys.echo
    location: {region: mars}
Y
wait_for 10 listed 1 t.mars || fail "n1 has no t.mars"
R6w=$(begin 1 t.mars)
wait_for 10 step_is 3 "$R6w" there waiting && ok "a step for region mars waits" ||
    fail "there: $(rget 3 "$R6w" 'S("there")')"
contains "saying why, on another node" "none is in region mars" "$(rget 3 "$R6w" 'S("there")["waiting"]')"
out=$(ctl 3 run cancel "$R6w" --reason "no such region" 2>&1); rc=$?
expect "cancelled from n3" 0 "$rc"
wait_for 10 run_is 1 "$R6w" cancelled && ok "the waiting run ends cancelled" ||
    fail "state: $(rget 1 "$R6w" 'r["state"]')"
expect "its step skipped" skipped "$(rget 1 "$R6w" 'S("there")["state"]')"

wf t.long <<'Y'
name: t.long
version: "1"
steps:
  - id: nap
    agent: sys.sleep
    with: {ms: 60000}
    timeout: 5m
  - id: after
    agent: sys.echo
    needs: [nap]
Y
wait_for 10 listed 2 t.long || fail "n2 has no t.long"
for where in 1 2; do
    R6c=$(begin 1 t.long)
    wait_for 10 step_is 1 "$R6c" nap running || fail "nap never ran: $(rget 1 "$R6c" 'S("nap")')"
    if [ $where = 1 ]; then
        T=500ms ctl 2 run wait "$R6c" >/dev/null 2>&1
        expect "run wait --timeout 500ms on a running run exits 3" 3 $?
    fi
    c0=$(cancelled_tasks)
    out=$(ctl $where run cancel "$R6c" --reason "enough napping" --json 2>&1); rc=$?
    if [ $where = 1 ]; then
        expect "cancel on the coordinator: cancelled at once" "0 cancelled" "$rc $(pj 'r["state"]' <<<"$out")"
    else
        expect "cancel on n2 (not the coordinator): cancelling" "0 cancelling" "$rc $(pj 'r["state"]' <<<"$out")"
    fi
    out=$(T=10s ctl $where run wait "$R6c" --json 2>&1); rc=$?
    expect "cancel on n$where: the run ends cancelled (wait exits 1)" "1 cancelled" "$rc $(pj 'r["state"]' <<<"$out")"
    contains "with the reason" "enough napping" "$(pj 'r["reason"]' <<<"$out")"
    expect "after skipped" skipped "$(rget 1 "$R6c" 'S("after")["state"]')"
    nap_node=$(rget 1 "$R6c" 'S("nap")["node_name"]')
    nap_idle() { no_step_running "${nap_node#n}"; }
    wait_for 5 nap_idle && ok "nap's task no longer runs on its worker ($nap_node)" ||
        fail "$nap_node still runs $(metric "${nap_node#n}" fednode_steps_running) step(s)"
    expect "one agent task cancelled in the cluster" $((c0 + 1)) "$(cancelled_tasks)"
    out=$(ctl 3 run cancel "$R6c" 2>&1); rc=$?
    expect "cancelling it again: exit 1" 1 "$rc"
    contains "as already_ended" "already_ended" "$out"
done

# Cancelled while a step awaits approval: nothing is left to approve.
R6g=$(begin 2 t.gate)
wait_for 15 awaiting_on 3 "$R6g" gate || fail "n3 does not list t.gate's gate"
ctl 3 run cancel "$R6g" --reason "not today" >/dev/null 2>&1 || fail "cancelling R6g on n3"
wait_for 10 run_is 3 "$R6g" cancelled && ok "a run awaiting approval, cancelled from n3, ends cancelled" ||
    fail "state: $(rget 3 "$R6g" 'r["state"]')"
gone() { [ "$(ctl "$1" approvals --run "$R6g" --json 2>/dev/null | pj 'len(r)')" = 0 ]; }
wait_for 10 gone 1 && ok "n1 no longer lists its gate" || fail "n1 approvals: $(ctl 1 approvals 2>&1)"
out=$(as alice 1 approve "$R6g" gate 2>&1); rc=$?
expect "approving it now: exit 1" 1 "$rc"
contains "as not_awaiting" "not_awaiting" "$out"
out=$(ctl 1 run cancel 0123456789abcdef 2>&1)
contains "cancel of an unknown run: not_found" "not_found" "$out"

# --- 7. a 1,000-step DAG -------------------------------------------------------------------------
phase "7. 1,000 steps"
# Nine layers of 100 sys.echo steps, each needing two of the layer before,
# beside a 99-step chain, then one step joining the chain and the last layer.
$python - "$work/t.big.yaml" <<'P'
import sys
out = ['name: t.big', 'version: "1"', 'steps:']
for l in range(9):
    for i in range(100):
        out.append('  - {id: l%d-%d, agent: sys.echo, with: {l: %d, i: %d}%s}' % (
            l, i, l, i, '' if l == 0 else ', needs: [l%d-%d, l%d-%d]' % (l - 1, i, l - 1, (i + 1) % 100)))
for c in range(99):
    out.append('  - {id: c%d, agent: sys.echo%s}' % (c, '' if c == 0 else ', needs: [c%d]' % (c - 1)))
out.append('  - id: join')
out.append('    agent: sys.echo')
out.append('    needs: [c98, %s]' % ', '.join('l8-%d' % i for i in range(100)))
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
P
out=$(ctl 1 workflow publish "$work/t.big.yaml" 2>&1)
contains "the generated workflow has 1,000 steps" "1000 steps" "$out"
wait_for 10 listed 3 t.big || fail "n3 has no t.big"
t7=$SECONDS
R7=$(begin 3 t.big)
out=$(T=60s ctl 3 run wait "$R7" --json 2>&1); rc=$?
expect "it completes, 1000 of 1000" "0 completed 1000 1000" \
    "$rc $(pj 'r["state"]' <<<"$out") $(pj 'r["done"]' <<<"$out") $(pj 'r["steps"]' <<<"$out")"
echo "# 1,000 steps in $((SECONDS - t7)) s"
r=$(show 1 "$R7")
expect "every step completed, as n1 shows it" "1000" "$(pj 'len([s for s in r["steps"] if s["state"]=="completed"])' <<<"$r")"
expect "each once" "1000" "$(pj 'sum(len(s["attempts"]) for s in r["steps"])' <<<"$r")"
expect "spread over the three nodes" 3 "$(pj 'len(set(s["node"] for s in r["steps"]))' <<<"$r")"
wait_for 20 same_everywhere "$R7" && ok "every node shows the same 1,000 steps" || fail "run show of the DAG differs between nodes"

# --- 8. bad input, and the pinned definition -----------------------------------------------------
phase "8. bad input and pinning"
out=$(ctl 1 run start no.such.flow 2>&1); rc=$?
expect "run start of an unknown workflow: exit 1" 1 "$rc"
contains "as not_found" "not_found: no workflow no.such.flow" "$out"
out=$(ctl 1 run start example.fanout@9.9.9 2>&1); rc=$?
contains "an unknown version: not_found" "not_found" "$out"
out=$(ctl 1 run start example.fanout -p rowz=3 2>&1); rc=$?
expect "an unknown param: exit 1" 1 "$rc"
contains "as bad_params naming the nearest" "bad_params: unknown param 'rowz'; did you mean 'rows'?" "$out"
out=$(ctl 1 run start example.fanout -p rows=12x 2>&1); rc=$?
expect "rows=12x for an int: exit 1" 1 "$rc"
contains "as bad_params" "bad_params: param 'rows' (int): '12x' is not a whole number" "$out"
out=$(ctl 1 run start example.fanout -p rows=1 -p rows=2 2>&1); rc=$?
expect "a param given twice: usage error" 2 "$rc"
out=$(ctl 1 run show not-a-run 2>&1); rc=$?
expect "run show of a malformed id: exit 1" 1 "$rc"
contains "as bad_request" "bad_request: 'run' must be a run id" "$out"
out=$(ctl 1 run show 0123456789abcdef 2>&1); rc=$?
contains "run show of an unknown id: not_found" "not_found: no run 0123456789abcdef" "$out"
out=$(ctl 1 approve 0123456789abcdef gate 2>&1); rc=$?
contains "approve on an unknown run: not_found" "not_found" "$out"
out=$(as otto 1 run start t.gate 2>&1); rc=$?
expect "an operator may start a run" 0 "$rc"
ctl 1 run cancel "$out" >/dev/null 2>&1 || fail "cancelling otto's run $out"
out=$(as vic 1 run start t.gate 2>&1); rc=$?
contains "a viewer may not" "forbidden" "$out"
expect "nothing started a run of no.such.flow" 0 \
    "$(ctl 1 run list --workflow no.such.flow --json 2>/dev/null | pj 'len(r)')"

wf t.pin <<'Y'
name: t.pin
version: "1"
steps:
  - id: gate
    hitl: true
  - id: say
    agent: sys.echo
    needs: [gate]
    with: {from: one}
Y
pin1=$(ctl 1 workflow show t.pin --json 2>/dev/null | pj 'r["hash"]')
R8=$(begin 1 t.pin)
sed -e 's/^version: "1"/version: "2"/' -e 's/from: one/from: two/' "$work/t.pin.yaml" >"$work/t.pin2.src"
wf t.pin2 <"$work/t.pin2.src"
pin2=$(ctl 1 workflow show t.pin --json 2>/dev/null | pj 'r["hash"]')
[ -n "$pin2" ] && [ "$pin1" != "$pin2" ] && ok "version 2 is the latest, with another hash" ||
    fail "t.pin hashes: 1 $pin1, latest $pin2"
wait_for 10 awaiting_on 1 "$R8" gate || fail "t.pin's gate never awaited"
ctl 1 approve "$R8" gate >/dev/null 2>&1 || fail "approving t.pin"
out=$(T=20s ctl 1 run wait "$R8" --json 2>&1)
expect "the run completes" completed "$(pj 'r["state"]' <<<"$out")"
r=$(show 2 "$R8")
expect "it keeps its pinned hash and version" "$pin1 1" "$(pj 'r["hash"] + " " + r["version"]' <<<"$r")"
expect "and ran version 1's text" '{"from": "one"}' "$(pj 'S("say")["output"]' <<<"$r")"
R8b=$(begin 1 t.pin)
expect "a new run takes version 2" "$pin2 2" "$(rget 1 "$R8b" 'r["hash"] + " " + r["version"]')"
ctl 1 run cancel "$R8b" >/dev/null 2>&1

lists_agree() {
    local a b c
    a=$(ctl 1 run list --limit 1000 --json 2>/dev/null | pj r) && b=$(ctl 2 run list --limit 1000 --json 2>/dev/null | pj r) &&
        c=$(ctl 3 run list --limit 1000 --json 2>/dev/null | pj r)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ]
}
wait_for 10 lists_agree && ok "run list --json is the same on every node" ||
    fail "run list differs: n1 $(ctl 1 run list --limit 1000 --json 2>/dev/null | pj 'len(r)') runs, n2 $(ctl 2 run list --limit 1000 --json 2>/dev/null | pj 'len(r)'), n3 $(ctl 3 run list --limit 1000 --json 2>/dev/null | pj 'len(r)')"
expect "run list --state failed on n3 has the failed runs" \
    "$(printf '%s\n' "$R2" "$R2j" "$RTr" "$R4d" "$R6" "$R6t" | sort | tr '\n' ' ')" \
    "$(ctl 3 run list --state failed --json 2>/dev/null | pj '" ".join(sorted(x["run"] for x in r)) + " "')"
expect "approvals agree: nothing awaits anywhere" "0 0 0" \
    "$(for i in 1 2 3; do ctl $i approvals --json 2>/dev/null | pj 'len(r)'; done | tr '\n' ' ' | sed 's/ $//')"

phase "done"
for i in 1 2 3; do
    kill -TERM "${pid[$i]}"
    wait "${pid[$i]}"
    expect "n$i stops cleanly" 0 $?
done
lacks "no sanitizer report in any log" "ERROR: AddressSanitizer" "$(cat "$work"/n*.out)"
lacks "no UBSan report in any log" "runtime error" "$(cat "$work"/n*.out)"
lacks "no LeakSanitizer report" "LeakSanitizer" "$(cat "$work"/n*.out)"
echo "# wall time $((SECONDS - t0)) s"
finish
