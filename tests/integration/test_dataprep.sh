#!/usr/bin/env bash
# tests/integration/test_dataprep.sh: the data.prepare workflow
# (config/example_data_workflow.yaml) end to end on three real fednode
# processes on 127.0.0.1 (own ports and data dirs, all reaped), every node
# with --data-root pointing at a copy of config/sample:
#
#   1. the sample runs: ingest quarantines its two malformed rows, every
#      later step runs on the node of the step before it (same_node_as),
#      the review lists the low-confidence count, an approver on another
#      node keeps rows at confidence >= 0.6, and the export's manifest holds
#      every split's rows and sha256 (checked against the files), the
#      schema, and the params of every step; progress shows in run show;
#   2. the node holding the files is killed (-9) while the run awaits its
#      review: the export waits, saying why, and completes once it is back;
#   3. bad input: a source outside the data roots fails forbidden_path; a
#      source with more malformed rows than max_reject_ratio fails
#      too_many_rejects; a bad params map fails bad_params; nothing of a
#      failed step reaches the next one;
#   4. a generated input of 200,000 rows (12 MB) runs through the whole
#      pipeline with the node's data memory set to 1 MiB.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
src=${FED_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-dataprep.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3
unset FEDNODE_DATA_DIR
t0=$SECONDS

# Ports 64000-64999: ten per pid (peer base+I, control base+3+I).
base=$((64000 + ($$ % 99) * 10))
declare -A id seed pid
peer_cluster 3 "$base" "{probe_interval: 200ms, probe_timeout: 100ms, suspicion_timeout: 1s, interval: 200ms}" \
    "durability: wal
agents: {data_memory: 1MiB}"
mkdir -p "$work/data"
cp "$src/config/sample/tickets.csv" "$work/data/"
start() {
    local i=$1; shift
    "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" --name "n$i" --data-root "$work/data" \
        --peer-bind "tcp://127.0.0.1:$((base + i))" \
        --control-bind "tcp://127.0.0.1:$((base + 3 + i))" "$@" >>"$work/n$i.out" 2>&1 &
    pid[$i]=$!
    pids+=("${pid[$i]}")
}
kill9() { { kill -KILL "${pid[$1]}"; wait "${pid[$1]}"; } 2>/dev/null; }
ctl() { local i=$1; shift; "$fedctl" --data-dir "$work/n$i" --timeout "${T:-5s}" "$@"; }
as() {
    local key=$1 i=$2; shift 2
    "$fedctl" --endpoint "tcp://127.0.0.1:$((base + 3 + i))" --server-key "$work/n$i/node.pub" \
        --key "$work/$key.key" --timeout 5s "$@"
}
alive() { [ "$(ctl "$1" members --status alive --json 2>/dev/null | pj 'len(r)')" = 3 ]; }
trusted() { ctl "$1" trust list 2>/dev/null | grep -q " $2 "; }
awaiting_on() {
    [ "$(ctl "$1" approvals --json 2>/dev/null | pj "[a['step'] for a in r if a['run']=='$2']")" = '["review"]' ]
}
phase() { echo "# $1 (at $((SECONDS - t0)) s)"; }
# node_index NAME: I of node nI.
node_index() { echo "${1#n}"; }

start 1
start 2 --seed "${seed[1]}"
start 3 --seed "${seed[1]}"
wait_for 20 alive 1 && ok "three nodes joined" || fail "cluster did not form: $(tail -3 "$work/n3.out")"
"$fedctl" keygen "$work/alice" >/dev/null 2>&1
ctl 1 trust add "$work/alice.pub" --role approver --name alice >/dev/null || fail "trust add alice"
all_trusted() { for i in 1 2 3; do trusted $i alice || return 1; done; }
wait_for 15 all_trusted && ok "every node trusts alice" || fail "n2 trusts: $(ctl 2 trust list 2>&1)"
ctl 1 workflow publish "$src/config/example_data_workflow.yaml" >"$work/publish.out" 2>&1 ||
    fail "publishing data.prepare: $(cat "$work/publish.out")"
listed() { ctl "$1" workflow show data.prepare --json >/dev/null 2>&1; }
for i in 2 3; do wait_for 10 listed $i || fail "n$i has no data.prepare"; done

# --- 1. the sample, end to end ----------------------------------------------------------
phase "1. the sample"
R1=$(ctl 1 run start data.prepare -p source="$work/data/tickets.csv" 2>"$work/start.err")
expect "run start prints a run id" 1 "$(grep -c '^[0-9a-f]\{16\}$' <<<"$R1")"
wait_for 30 awaiting_on 2 "$R1" && ok "n2 lists the review" ||
    fail "no review: $(ctl 1 run show "$R1" 2>&1 | tail -20)"
run1=$(show 1 "$R1")
nodes=$(pj '" ".join(S(i)["node_name"] for i in ("ingest","clean","label","transform","split"))' <<<"$run1")
first=${nodes%% *}
expect "every data step ran on the ingesting node (same_node_as)" \
    "$first $first $first $first $first" "$nodes"
expect "ingest quarantined the two malformed rows" 2 \
    "$(pj 'S("ingest")["output"]["rejects"]["rows"]' <<<"$run1")"
rejects=$(pj 'S("ingest")["output"]["rejects"]["path"]' <<<"$run1")
expect "the rejects file names their lines" "41 38" \
    "$(tail -n +2 "$rejects" | cut -d, -f1 | sort -rn | tr '\n' ' ' | sed 's/ $//')"
in_rows=$(pj 'S("ingest")["output"]["data"]["rows"]' <<<"$run1")
expect "ingest kept every other row (163 records - 2 rejects)" 161 "$in_rows"
clean_rows=$(pj 'S("clean")["output"]["data"]["rows"]' <<<"$run1")
[ "$clean_rows" -lt "$in_rows" ] && [ "$clean_rows" -gt 140 ] &&
    ok "clean dropped the duplicates ($in_rows -> $clean_rows rows)" ||
    fail "clean kept $clean_rows of $in_rows rows"
low=$(pj 'S("label")["output"]["low_confidence"]' <<<"$run1")
msg=$(ctl 2 approvals --run "$R1" --json 2>/dev/null | pj 'r[0]["message"]')
case "$msg" in
    "$low of $clean_rows tickets have a label below confidence 0.6"*) ok "the review message counts the doubtful labels ($low)" ;;
    *) fail "review message: $msg" ;;
esac
expect "the split's rows add up" "$clean_rows" \
    "$(pj 'sum(S("split")["output"]["counts"].values())' <<<"$run1")"
# alice approves on n3, keeping rows of confidence >= 0.6.
as alice 3 approve "$R1" review --value 0.6 -m "drop the doubtful ones" >/dev/null 2>&1 ||
    fail "alice's approval on n3 was refused"
T=60s ctl 1 run wait "$R1" >/dev/null 2>&1
expect "the run completed" completed "$(rget 1 "$R1" 'r["state"]')"
run1=$(show 2 "$R1")
expect "export ran where the split's files are" "$first" "$(pj 'S("export")["node_name"]' <<<"$run1")"
manifest=$(pj 'S("export")["output"]["manifest"]["path"]' <<<"$run1")
[ -s "$manifest" ] && ok "the manifest is written ($manifest)" || fail "no manifest at '$manifest'"
check=$($python - "$manifest" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
bad = []
total = 0
for name, f in m["splits"].items():
    data = open(f["path"], "rb").read()
    if hashlib.sha256(data).hexdigest() != f["sha256"]:
        bad.append(name + " sha256")
    if data.count(b"\n") != f["rows"]:
        bad.append(name + " rows")
    for line in data.splitlines():
        row = json.loads(line)
        if set(row) != {"prompt", "completion"} or not row["prompt"].startswith("Classify this support ticket: "):
            bad.append(name + " row shape")
            break
    total += f["rows"]
if total != m["total_rows"]:
    bad.append("total_rows")
for step in ("ingest", "clean", "label", "transform", "split"):
    if "params" not in m["steps"][step]:
        bad.append(step + " params")
print(" ".join(bad) or "ok", total)
PY
)
expect "each split's sha256 and rows match its file; every step's params are in it" ok "${check%% *}"
exported=${check##* }
[ "$exported" -gt 0 ] && [ "$exported" -le "$clean_rows" ] &&
    ok "the export kept $exported of $clean_rows rows (confidence >= 0.6, labelled)" ||
    fail "exported $exported of $clean_rows"

# --- 2. the node holding the files dies while the run awaits its review ---------------
phase "2. the data node killed during the review"
R2=$(ctl 1 run start data.prepare -p source="$work/data/tickets.csv" -p seed=7 2>"$work/start.err")
wait_for 30 awaiting_on 2 "$R2" && ok "R2 awaits its review" || fail "R2: $(ctl 1 run show "$R2" 2>&1 | tail)"
d=$(node_index "$(rget 2 "$R2" 'S("split")["node_name"]')")
other=$(( d % 3 + 1 ))
kill9 "$d"
echo "# killed n$d, which holds R2's files; approving on n$other"
T=10s as alice "$other" approve "$R2" review --value 0 -m "keep all" >/dev/null 2>&1 ||
    fail "alice's approval on n$other was refused"
if [ "$d" != 1 ]; then
    export_waits() { step_is 1 "$R2" export waiting; }
    wait_for 20 export_waits && ok "export waits for n$d, where split's files are" ||
        fail "export is $(rget 1 "$R2" 'S("export")["state"]')"
    echo "# export waits: $(rget 1 "$R2" 'S("export")["waiting"]')"
    expect "and says why" 1 "$(rget 1 "$R2" "int('n$d' in S('export')['waiting'] and 'split' in S('export')['waiting'])")"
fi
start "$d"
T=60s ctl "$other" run wait "$R2" >/dev/null 2>&1
expect "back, n$d runs the export; the run completes" "completed n$d" \
    "$(rget "$other" "$R2" 'r["state"] + " " + S("export")["node_name"]')"
expect "value 0 kept every labelled row: nothing filtered" 0 \
    "$(rget "$other" "$R2" 'sum(S("export")["output"]["filtered"].values())')"

# --- 3. bad input ---------------------------------------------------------------------
phase "3. bad input"
wait_for 20 alive 1 || fail "the cluster did not heal"
R3=$(ctl 1 run start data.prepare -p source=/etc/passwd 2>"$work/start.err")
T=30s ctl 1 run wait "$R3" >/dev/null 2>&1
expect "a source outside the data roots: the run fails at ingest, forbidden_path" \
    "failed failed forbidden_path skipped" \
    "$(rget 1 "$R3" 'r["state"] + " " + S("ingest")["state"] + " " + S("ingest")["error"]["code"] + " " + S("clean")["state"]')"
$python - "$work/data/bad.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,customer,channel,text,amount,created\n")
    for i in range(100):
        if i % 10 == 0:
            f.write('%d,c,web,"unterminated,1.0,2026\n' % i if i == 90 else "%d,c,web,too,many,fields,1,x\n" % i)
        else:
            f.write("%d,c,web,text %d,1.0,2026-01-01\n" % (i, i))
PY
R4=$(ctl 1 run start data.prepare -p source=bad.csv 2>"$work/start.err")
T=30s ctl 1 run wait "$R4" >/dev/null 2>&1
expect "a relative source is the run's own directory's: not_found there" \
    "failed not_found" "$(rget 1 "$R4" 'r["state"] + " " + S("ingest")["error"]["code"]')"
R5=$(ctl 1 run start data.prepare -p source="$work/data/bad.csv" 2>"$work/start.err")
T=30s ctl 1 run wait "$R5" >/dev/null 2>&1
expect "10 malformed rows in 100, over max_reject_ratio 0.05: too_many_rejects" \
    "failed too_many_rejects" "$(rget 1 "$R5" 'r["state"] + " " + S("ingest")["error"]["code"]')"
agent_run() { ctl 1 agents run "$1" --params "$2" --json 2>/dev/null | pj 'r.get("code","") + ": " + r.get("message","")'; }
out=$(agent_run data.clean '{"input": 5}')
expect "agents run data.clean with a bad input param: bad_params" "bad_params" "${out%%:*}"
out=$(agent_run data.split "{\"input\": \"$work/data/tickets.csv\", \"ratios\": {\"train\": 0.5}}")
expect "data.split with ratios not summing to 1: bad_params" "bad_params" "${out%%:*}"
out=$(agent_run data.clean "{\"input\": \"$work/n1/node.key.csv\"}")
expect "a path outside the data roots, even in the node's data dir" "not_found" "${out%%:*}"
ln -s "$work/n1/admin.key" "$work/data/key.csv"
out=$(agent_run data.ingest "{\"input\": \"$work/data/key.csv\"}")
expect "a symlink out of the data root: forbidden_path" "forbidden_path" "${out%%:*}"

# --- 4. a bigger input through the whole pipeline, 1 MiB of data memory ---------------
phase "4. 200,000 rows"
$python - "$work/data/big.csv" <<'PY'
import random, sys
random.seed(3)
words = ["refund", "invoice", "crash", "error", "password", "login", "hello", "sync", "export", "charged"]
with open(sys.argv[1], "w") as f:
    f.write("id,customer,channel,text,amount,created\n")
    for i in range(200000):
        n = i if i < 150000 else random.randrange(150000)
        text = "ticket %d about %s and %s" % (n, words[n % 10], words[(n // 10) % 10])
        if i >= 150000:
            text = "  " + text.upper() if i % 2 else text.replace(" ", "  ")
        amount = "" if i % 97 == 0 else "%.2f" % (n % 500 + 0.5)
        f.write("%d,c%d,%s,%s,%s,2026-01-01\n" % (i, n % 300, ["web", "chat", ""][i % 3], text, amount))
PY
R6=$(ctl 1 run start data.prepare -p source="$work/data/big.csv" 2>"$work/start.err")
wait_for 120 awaiting_on 1 "$R6" && ok "200,000 rows reach the review" ||
    fail "R6: $(ctl 1 run show "$R6" 2>&1 | tail -20)"
expect "ingest read 200,000 rows, clean kept the 150,000 distinct texts" "200000 150000" \
    "$(rget 1 "$R6" '"%d %d" % (S("ingest")["output"]["data"]["rows"], S("clean")["output"]["data"]["rows"])')"
ctl 1 events tail --type step.progress --limit 1000 --json >"$work/progress.json" 2>&1
progress=$(pj "sorted(set(e['body']['step'] for e in r['events'] if e['body']['run'] == '$R6' and ' MiB' in e['body'].get('message', '')))" <"$work/progress.json")
case "$progress" in
    *ingest*) ok "progress by rows and MiB reached the log ($progress)" ;;
    *) fail "no step.progress with rows and MiB for R6: $progress $(head -c 600 "$work/progress.json")" ;;
esac
as alice 1 approve "$R6" review --value 0 >/dev/null 2>&1 || fail "approving R6"
T=120s ctl 1 run wait "$R6" >/dev/null 2>&1
expect "and the export completes" completed "$(rget 1 "$R6" 'r["state"]')"

phase "done"
echo "# $checks checks in $((SECONDS - t0)) s"
[ "$failures" -eq 0 ]
