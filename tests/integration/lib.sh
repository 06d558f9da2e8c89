# tests/integration/lib.sh: what the shell integration tests share. Source it
# after setting `work` (the test's temp dir). It gives check helpers that
# count, print "ok - …"/"FAIL - …" and say what was expected and what came
# back, and an EXIT trap that kills every process listed in `pids` and
# removes `work`, on every path out of the test.
pids=()
# agent.registered events a node writes at its first start: its built-in
# agents, three sys.* and six data.*.
builtins=9
failures=0
checks=0
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

ok() { checks=$((checks + 1)); echo "ok - $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL - $1"; }
# expect NAME EXPECTED GOT
expect() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
# contains NAME NEEDLE HAYSTACK
contains() { case "$3" in *"$2"*) ok "$1" ;; *) fail "$1: expected to find '$2' in: $3" ;; esac; }
# lacks NAME NEEDLE HAYSTACK
lacks() { case "$3" in *"$2"*) fail "$1: expected no '$2' in: $3" ;; *) ok "$1" ;; esac; }
# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or
# SECONDS pass (1).
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.1; done
}
# digest I: every event node nI holds as "origin seq id", sorted, after
# their count, then its views: equal digests mean the same events and views,
# byte for byte (read beside the running node). Needs $fednode and $python.
digest() {
    "$fednode" log -d "$work/n$1" --json 2>/dev/null |
        $python -c 'import json,sys
rows = sorted("%s %s %s" % (e["origin"], e["seq"], e["id"]) for e in map(json.loads, sys.stdin))
print(len(rows)); print("\n".join(rows))'
    "$fednode" views -d "$work/n$1" 2>/dev/null
}
# Prints the closing count and sets the exit status from it.
finish() {
    echo "# $checks checks, $failures failed"
    [ "$failures" -eq 0 ]
}

# peer_cluster COUNT BASE GOSSIP [EXTRA]: keys and configs for nodes n1..nCOUNT
# in $work, node nI's peer port BASE+I. Fills the associative arrays id
# (Z85 key) and seed (KEY@tcp://127.0.0.1:PORT), which the caller declares
# (declare -A id seed), and writes $work/nI.yaml: the line EXTRA (if any),
# "gossip: GOSSIP" and a trust list giving every node the peer role.
peer_cluster() {
    local count=$1 base=$2 gossip=$3 extra=${4:-} i j out
    local py=/usr/bin/python3
    [ -x "$py" ] || py=python3
    for i in $(seq 1 "$count"); do
        out=$("$fednode" id -d "$work/n$i" --json --peer-bind "tcp://127.0.0.1:$((base + i))" 2>/dev/null)
        id[$i]=$($py -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$out")
        seed[$i]="${id[$i]}@tcp://127.0.0.1:$((base + i))"
    done
    for i in $(seq 1 "$count"); do
        {
            [ -n "$extra" ] && echo "$extra"
            echo "gossip: $gossip"
            echo "trust:"
            for j in $(seq 1 "$count"); do echo "  - {key: '${id[$j]}', role: peer, name: n$j}"; done
        } >"$work/n$i.yaml"
    done
}

# Runs (doc/design.md §16), for tests that define ctl I ARGS (fedctl on node
# nI) and python.
# pj EXPR: EXPR over the JSON on stdin as r (S(ID): the step ID of a run
# map); a string is printed bare, anything else as sorted JSON.
pj() {
    $python -c "import json,sys
r=json.load(sys.stdin)
S=lambda i: next(s for s in r['steps'] if s['id']==i)
v=$1
print(v if isinstance(v,str) else json.dumps(v, sort_keys=True))" 2>/dev/null
}
show() { ctl "$1" run show "$2" --json 2>/dev/null; }
# rget I RUN EXPR: EXPR over run RUN as node nI shows it.
rget() { show "$1" "$2" | pj "$3"; }
run_is() { [ "$(rget "$1" "$2" 'r["state"]')" = "$3" ]; }
step_is() { [ "$(rget "$1" "$2" "S('$3')['state']")" = "$4" ]; }
