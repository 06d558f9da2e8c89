#!/usr/bin/env bash
# tests/integration/test_extagents.sh: external agents (doc/protocol.md §5)
# with real processes on 127.0.0.1 (own ports and data dirs, all reaped).
#
#   - the Python example agent (doc/examples/agent.py) connects over the
#     default ipc endpoint with the keys `fednode agent-env` prints, and
#     its agents are registered (kind external) and listed on both nodes;
#   - `agents run` runs its tasks: output, progress, bad params, no agent;
#   - failover: the process running a task is stopped (SIGSTOP); the node
#     forgets it after missed heartbeats and the task completes on a
#     second process; the stopped one, resumed, is told its task is gone
#     and comes back with READY;
#   - a remote agent over CURVE tcp with its own key, admitted by
#     `trust add KEY agent`; an untrusted key is never answered;
#   - hostile input: malformed frames, a READY naming a built-in agent,
#     messages before READY, RESULT for a task not held: clear ERRORs,
#     the node carries on;
#   - when every process offering an agent is gone, it is deregistered on
#     both nodes; a restarted node deregisters what its last run left.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
src=${FED_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-ext.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3
agent_py="$src/doc/examples/agent.py"
if ! $python -c 'import zmq, msgpack' 2>/dev/null; then
    echo "SKIP: python3-zmq and python3-msgpack are needed"
    exit 77
fi

base=$((1200 + ($$ % 350) * 10)) # below the ephemeral range (32768+)
declare -A id seed pid
peer_cluster 2 $base "{probe_interval: 200ms, probe_timeout: 100ms, suspicion_timeout: 1s, interval: 200ms}" "durability: wal"
for i in 1 2; do
    echo "agents: {heartbeat: 200ms, liveness: 3}" >>"$work/n$i.yaml"
done
echo "listen: {agents: 'tcp://127.0.0.1:$((base + 9))'}" >>"$work/n2.yaml"
start() {
    local i=$1; shift
    "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" \
        --peer-bind "tcp://127.0.0.1:$((base + i))" \
        --control-bind "tcp://127.0.0.1:$((base + 4 + i))" "$@" >>"$work/n$i.out" 2>&1 &
    pid[$i]=$!
    pids+=("${pid[$i]}")
}
ctl() { local i=$1; shift; "$fedctl" --data-dir "$work/n$i" --timeout 5s "$@"; }
names() { # names I [ARGS]: agent names node nI lists
    local i=$1; shift
    ctl "$i" agents list "$@" --json 2>/dev/null |
        $python -c 'import json,sys; print(" ".join(a["name"] for a in json.load(sys.stdin)))' 2>/dev/null
}
jget() { $python -c "import json,sys; r=json.load(sys.stdin); v=r.get('$1'); print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))" 2>/dev/null; }
metric() { ctl 1 metrics 2>/dev/null | awk -v m="$1" '$1 == m {print $2}'; }
# agent NAME ARGS: starts the example agent against n1 (environment from agent-env)
agent() {
    local name=$1; shift
    (eval "$("$fednode" agent-env -d "$work/n1")" && exec $python "$agent_py" --name "$name" "$@") \
        >>"$work/agent-$name.out" 2>&1 &
    apid[$name]=$!
    pids+=("${apid[$name]}")
}
declare -A apid

start 1
start 2 --seed "${seed[1]}"
wait_for 20 bash -c "[ \"\$('$fedctl' --data-dir '$work/n1' members --status alive --json 2>/dev/null | $python -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = 2 ]" &&
    ok "two nodes joined" || fail "cluster did not form"

# --- agent-env ---------------------------------------------------------------------
env_out=$("$fednode" agent-env -d "$work/n1")
contains "agent-env prints the ipc endpoint in the data dir" "FEDNODE_AGENT_ENDPOINT='ipc://$(cd "$work/n1" && pwd -P)/agents.sock'" "$env_out"
contains "and the node's CURVE key" "FEDNODE_SERVER_KEY='$("$fednode" id -d "$work/n1" --json | jget curve)'" "$env_out"
expect "agent.key is made 0600" 600 "$(stat -c %a "$work/n1/agent.key")"
expect "status shows the agent endpoint" "$(sed -n "s/^FEDNODE_AGENT_ENDPOINT='\(.*\)'$/\1/p" <<<"$env_out")" \
    "$(ctl 1 status --json | $python -c 'import json,sys; print(json.load(sys.stdin)["endpoints"]["agents"])')"

# --- the Python agent registers and runs tasks ---------------------------------------
agent p1 --slots 1
listed() { [ "$(names "$1" --kind external)" = "py.sleep py.wordcount" ]; }
wait_for 15 listed 1 && ok "the Python agent's agents are registered on n1" ||
    fail "n1 lists '$(names 1 --kind external)'; agent log: $(tail -5 "$work/agent-p1.out")"
wait_for 15 listed 2 && ok "and listed on n2 (replicated)" || fail "n2 lists '$(names 2 --kind external)'"
procs=$(ctl 1 agents processes --json | $python -c 'import json,sys; print(" ".join("%s %s %s %s" % (p["label"], p["slots"], p["running"], ",".join(p["agents"])) for p in json.load(sys.stdin)))')
expect "agents processes shows the process, its slots and offer" "p1 1 0 py.wordcount@1.0,py.sleep@1.0" "$procs"
expect "with the key it connected with (agent.key)" "$(sed -n 's/^public: //p' "$work/n1/agent.key")" \
    "$(ctl 1 agents processes --json | $python -c 'import json,sys; print(json.load(sys.stdin)[0]["key"])')"
kind=$(ctl 2 agents list --name py.wordcount --json | $python -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["kind"], r["status"])')
expect "kind external, available" "external available" "$kind"

out=$(ctl 1 agents run py.wordcount --params '{"text":"the cat and the hat"}' --json 2>&1)
expect "py.wordcount completes" completed "$(jget status <<<"$out")"
expect "with its output" '{"and": 1, "cat": 1, "hat": 1, "the": 2}' "$(jget output <<<"$out" | $python -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["counts"], sort_keys=True))')"
expect "run by the agent process" "${apid[p1]}" "$(jget output <<<"$out" | $python -c 'import json,sys; print(json.load(sys.stdin)["pid"])')"
out=$(ctl 1 agents run py.wordcount --params '{"text":5}' --json 2>&1)
expect "bad params fail with the agent's code" "failed bad_params" "$(jget status <<<"$out") $(jget code <<<"$out")"
out=$(ctl 1 agents run py.nothing --json 2>&1)
expect "an agent nobody offers fails no_agent" "failed no_agent" "$(jget status <<<"$out") $(jget code <<<"$out")"
out=$(ctl 1 agents run py.sleep --params '{"ms":3000}' --task-timeout 400ms --json 2>&1)
expect "a task over its timeout fails timeout" "failed timeout" "$(jget status <<<"$out") $(jget code <<<"$out")"
out=$(ctl 1 agents run sys.echo --params '{"a":1}' --json 2>&1)
expect "built-in agents still run beside external ones" '{"a": 1}' "$(jget output <<<"$out")"

# --- the C client (doc/examples/c_agent.c on agents/agentclient.h) ----------------------
(eval "$("$fednode" agent-env -d "$work/n1")" && exec "$bin/doc/examples/c_agent" --name c1 --slots 2) \
    >>"$work/agent-c1.out" 2>&1 &
apid[c1]=$!
pids+=("${apid[c1]}")
c_listed() { [ "$(names 2 --kind external --capability statistics)" = "c.stats" ]; }
wait_for 15 c_listed && ok "the C agent's agents are registered and replicated" ||
    fail "n2 lists '$(names 2 --kind external)'; c_agent: $(tail -3 "$work/agent-c1.out")"
out=$(ctl 2 agents list --name c.upper --json | $python -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["kind"], r["version"], r["capabilities"])')
expect "with kind, version and capabilities" "external 1.0 ['text']" "$out"
out=$(ctl 1 agents run c.upper --params '{"text":"hello, edge"}' --json 2>&1)
expect "c.upper runs in the C agent's process" "HELLO, EDGE ${apid[c1]}" "$(jget output <<<"$out" | $python -c 'import json,sys; o=json.load(sys.stdin); print(o["text"], o["pid"])' 2>/dev/null)"
out=$(ctl 1 agents run c.stats --params '{"values":[3,1,4,1,5]}' --json 2>&1)
expect "c.stats" "5 14.0 1.0 5.0" "$(jget output <<<"$out" | $python -c 'import json,sys; o=json.load(sys.stdin); print(o["count"], o["sum"], o["min"], o["max"])' 2>/dev/null)"
out=$(ctl 1 agents run c.stats --params '{"values":"x"}' --json 2>&1)
expect "a wrong param type fails bad_params, naming it" "failed bad_params" "$(jget status <<<"$out") $(jget code <<<"$out")"
contains "the message names the param" '"values"' "$(jget message <<<"$out")"
kill -TERM "${apid[c1]}"
wait "${apid[c1]}"
expect "the C agent stops cleanly on SIGTERM" 0 $?
c_gone() { [ -z "$(names 1 --name c.upper)" ]; }
wait_for 5 c_gone && ok "its BYE deregisters its agents at once" || fail "c.upper still listed"
lost_bye=$(metric 'fednode_external_processes_lost_total{why="bye"}')
expect "counted as a BYE, not a silence" 1 "$lost_bye"

# --- failover ------------------------------------------------------------------------
ctl 1 agents run py.sleep --params '{"ms":1500}' --json >"$work/failover.json" 2>&1 &
runner=$!
pids+=("$runner")
sleep 0.3
kill -STOP "${apid[p1]}"
agent p2 --slots 1
wait "$runner"
out=$(cat "$work/failover.json")
expect "the task on the stopped process completes" completed "$(jget status <<<"$out")"
expect "on the second process" "${apid[p2]}" "$(jget output <<<"$out" | $python -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)"
expect "one failover counted" 1 "$(metric fednode_external_failovers_total)"
expect "the silent process counted gone" 1 "$(metric 'fednode_external_processes_lost_total{why="gone"}')"
kill -CONT "${apid[p1]}"
back() { [ "$(metric fednode_external_processes)" = 2 ]; }
wait_for 10 back && ok "the resumed process comes back with READY" || fail "processes: $(metric fednode_external_processes)"
# Two processes, one slot each: two tasks run at once, one on each.
ctl 1 agents run py.sleep --params '{"ms":600}' --json >"$work/a.json" 2>&1 &
r1=$!
ctl 1 agents run py.sleep --params '{"ms":600}' --json >"$work/b.json" 2>&1 &
r2=$!
pids+=("$r1" "$r2")
wait "$r1" "$r2"
ran_on=$(for f in a b; do jget output <"$work/$f.json" | $python -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; done | sort -n | tr '\n' ' ')
expect "two tasks, one slot each: one on each process" "$(printf '%s\n' "${apid[p1]}" "${apid[p2]}" | sort -n | tr '\n' ' ')" "$ran_on"

# One key may hold 4 waiting requests: a fifth and sixth agents.run are
# refused before their tasks start, so only 4 tasks run.
done_before=$(metric 'fednode_external_tasks_total{result="completed"}')
for i in 1 2 3 4 5 6; do
    ctl 1 agents run py.sleep --params '{"ms":400}' --json >"$work/park-$i.json" 2>&1 &
    park[$i]=$!
    pids+=("${park[$i]}")
done
for i in 1 2 3 4 5 6; do wait "${park[$i]}"; done
refused=$(grep -l "too many requests of this key" "$work"/park-*.json | wc -l)
expect "6 agents.run from one key at once: 2 refused" 2 "$refused"
expect "and only the 4 parked ones ran" $((done_before + 4)) "$(metric 'fednode_external_tasks_total{result="completed"}')"

# --- a remote agent over tcp with its own key ------------------------------------------
"$fednode" keygen "$work/remote" >/dev/null
rkey=$(sed -n 's/^public: //p' "$work/remote.pub")
remote() {
    (eval "$("$fednode" agent-env -d "$work/n2" --key "$work/remote.key" --endpoint "tcp://127.0.0.1:$((base + 9))")" &&
        exec $python "$agent_py" --name remote --agents py.wordcount) >>"$work/agent-remote.out" 2>&1 &
    apid[remote]=$!
    pids+=("${apid[remote]}")
}
remote
sleep 1.5
expect "an untrusted key is not admitted over tcp" 0 "$(ctl 2 metrics | awk '$1 == "fednode_external_processes" {print $2}')"
ctl 1 trust add "$rkey" --role agent --name remote >/dev/null 2>&1 && ok "trust add KEY --role agent on n1" || fail "trust add agent failed"
on_n2() { [ "$(ctl 2 metrics | awk '$1 == "fednode_external_processes" {print $2}')" = 1 ]; }
wait_for 20 on_n2 && ok "the trust replicates to n2 and the remote agent is admitted" || fail "remote agent not ready on n2: $(tail -3 "$work/agent-remote.out")"
out=$(ctl 2 agents run py.wordcount --params '{"text":"x y"}' --json 2>&1)
expect "and runs n2's tasks" 2 "$(jget output <<<"$out" | $python -c 'import json,sys; print(json.load(sys.stdin)["words"])' 2>/dev/null)"
out=$(ctl 1 agents list --name py.wordcount --json | $python -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect "py.wordcount is listed twice on n1 (one per hosting node)" 2 "$out"
ctl 1 trust remove "$rkey" >/dev/null 2>&1
off_n2() { [ "$(ctl 2 metrics | awk '$1 == "fednode_external_processes" {print $2}')" = 0 ]; }
wait_for 20 off_n2 && ok "trust remove: n2 drops the remote agent" || fail "remote agent still on n2"
kill -TERM "${apid[remote]}" 2>/dev/null

# --- hostile input --------------------------------------------------------------------
hostile=$(eval "$("$fednode" agent-env -d "$work/n1")" && $python - <<'PY'
import os, zmq, msgpack
ctx = zmq.Context()
def sock():
    s = ctx.socket(zmq.DEALER)
    s.curve_serverkey = os.environ["FEDNODE_SERVER_KEY"].encode()
    s.curve_publickey = os.environ["FEDNODE_AGENT_PUBLIC"].encode()
    s.curve_secretkey = os.environ["FEDNODE_AGENT_SECRET"].encode()
    s.setsockopt(zmq.LINGER, 0)
    s.rcvtimeo = 3000
    s.connect(os.environ["FEDNODE_AGENT_ENDPOINT"])
    return s
def ask(s, frame):
    s.send(frame)
    try:
        v, t, body = msgpack.unpackb(s.recv(), raw=False)
        return t + " " + str(body.get("code", "")) + " " + str(body.get("message", ""))
    except zmq.Again:
        return "silence"
s = sock()
p = lambda *a: msgpack.packb(list(a))
print("garbage:", ask(s, b"\xc1\xff\x00"))
print("huge:", ask(s, b"\xdd\xff\xff\xff\xff"))
print("version:", ask(s, p(2, "READY", {})))
print("type:", ask(s, p(1, "HELLO", {})))
print("early:", ask(s, p(1, "RESULT", {"task": 1, "output": {}})))
print("builtin:", ask(s, p(1, "READY", {"agents": [{"name": "sys.echo", "version": "1"}]})))
print("badname:", ask(s, p(1, "READY", {"agents": [{"name": "Bad Name", "version": "1"}]})))
print("twice:", ask(s, p(1, "READY", {"agents": [{"name": "h.a", "version": "1"}, {"name": "h.a", "version": "1"}]})))
print("conflict:", ask(s, p(1, "READY", {"agents": [{"name": "py.sleep", "version": "9.9"}]})))
print("location:", ask(s, p(1, "READY", {"agents": [{"name": "h.b", "version": "1", "location": {"lat": 91}}]})))
print("ready:", ask(s, p(1, "READY", {"agents": [{"name": "h.ok", "version": "1"}], "slots": 1})))
print("unknown:", ask(s, p(1, "RESULT", {"task": 999999, "output": {}})))
print("nodetype:", ask(s, p(1, "TASK", {"task": 1})))
s.send(p(1, "BYE", {}))
PY
)
contains "garbage is answered bad_message" "garbage: ERROR bad_message" "$hostile"
contains "a huge declared length too" "huge: ERROR bad_message" "$hostile"
contains "another version too" "version: ERROR bad_message" "$hostile"
contains "an unknown type too" "type: ERROR bad_message" "$hostile"
contains "a RESULT before READY: not_ready" "early: ERROR not_ready" "$hostile"
contains "a built-in agent's name: conflict" "builtin: ERROR conflict" "$hostile"
contains "a bad agent name names the field" "badname: ERROR bad_message READY agents[0]: 'name'" "$hostile"
contains "an agent offered twice in one READY" "twice: ERROR bad_message" "$hostile"
contains "py.sleep at another version: conflict" "conflict: ERROR conflict" "$hostile"
contains "a bad location names the field" "location: ERROR bad_message READY agents[0].location" "$hostile"
contains "a good READY gets WELCOME" "ready: WELCOME" "$hostile"
contains "a RESULT for a task not held: unknown_task" "unknown: ERROR unknown_task" "$hostile"
contains "a node-only type from an agent" "nodetype: ERROR bad_message" "$hostile"
# Another agent key takes over a routing id a process used: the old
# process is forgotten, its task is not the newcomer's to answer.
"$fednode" keygen "$work/evil" >/dev/null
ctl 1 trust add "$work/evil.pub" --role agent --name evil >/dev/null 2>&1
spoof=$(eval "$("$fednode" agent-env -d "$work/n1")" && EVIL_SECRET=$("$fednode" agent-env -d "$work/n1" --key "$work/evil.key" | sed -n "s/^FEDNODE_AGENT_SECRET='\(.*\)'$/\1/p") &&
    EVIL_PUBLIC=$("$fednode" agent-env -d "$work/n1" --key "$work/evil.key" | sed -n "s/^FEDNODE_AGENT_PUBLIC='\(.*\)'$/\1/p") &&
    export EVIL_SECRET EVIL_PUBLIC FEDCTL="$fedctl" DATA="$work/n1" && $python - 2>&1 <<'PY'
import os, subprocess, time, zmq, msgpack
ctx = zmq.Context()
def sock(public, secret):
    s = ctx.socket(zmq.DEALER)
    s.curve_serverkey = os.environ["FEDNODE_SERVER_KEY"].encode()
    s.curve_publickey = public.encode()
    s.curve_secretkey = secret.encode()
    s.setsockopt(zmq.ROUTING_ID, b"victim2")
    s.setsockopt(zmq.LINGER, 0)
    s.rcvtimeo = 4000
    s.connect(os.environ["FEDNODE_AGENT_ENDPOINT"])
    return s
p = lambda *a: msgpack.packb(list(a))
def recv(s, want):
    while True:
        v, t, body = msgpack.unpackb(s.recv(), raw=False)
        if t == want or t == "ERROR":
            return t, body
victim = sock(os.environ["FEDNODE_AGENT_PUBLIC"], os.environ["FEDNODE_AGENT_SECRET"])
victim.send(p(1, "READY", {"agents": [{"name": "v.task2", "version": "1"}]}))
recv(victim, "WELCOME")
run = subprocess.Popen([os.environ["FEDCTL"], "--data-dir", os.environ["DATA"], "agents", "run", "v.task2",
                        "--params", '{"secret": "s3cr3t"}', "--task-timeout", "2s", "--json"],
                       stdout=subprocess.PIPE, text=True)
t, task = recv(victim, "TASK")
print("victim got:", t, task.get("params"))
victim.close()
time.sleep(0.5)  # until the node has seen the connection go (ids are unique among live ones)
evil = sock(os.environ["EVIL_PUBLIC"], os.environ["EVIL_SECRET"])
evil.rcvtimeo = 1000
for attempt in range(5):  # until the node takes the connection (its old one may linger)
    evil.send(p(1, "RESULT", {"task": task["task"], "output": {"forged": True}}))
    try:
        t, body = recv(evil, "NONE")
        print("evil:", t, body.get("code"))
        break
    except zmq.Again:
        evil.close()
        evil = sock(os.environ["EVIL_PUBLIC"], os.environ["EVIL_SECRET"])
        evil.rcvtimeo = 1000
print("run:", run.communicate()[0].replace("\n", " "))
PY
)
contains "the victim got its task" "victim got: TASK {'secret': 's3cr3t'}" "$spoof"
contains "another key on its routing id is not it: not_ready" "evil: ERROR not_ready" "$spoof"
lacks "and cannot answer its task" "forged" "$spoof"
contains "the task ends without an answer from anybody (timeout)" '"code": "timeout"' "$spoof"
# READYs that change an offer are budgeted per key (30 a minute): a flood
# is refused with ERROR limit and writes a bounded number of events.
seq_before=$(ctl 1 status --json | jget seq)
flood=$(EVIL_SECRET=$("$fednode" agent-env -d "$work/n1" --key "$work/evil.key" | sed -n "s/^FEDNODE_AGENT_SECRET='\(.*\)'$/\1/p") &&
    eval "$("$fednode" agent-env -d "$work/n1" --key "$work/evil.key")" && $python - <<'PY'
import os, zmq, msgpack
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.curve_serverkey = os.environ["FEDNODE_SERVER_KEY"].encode()
s.curve_publickey = os.environ["FEDNODE_AGENT_PUBLIC"].encode()
s.curve_secretkey = os.environ["FEDNODE_AGENT_SECRET"].encode()
s.setsockopt(zmq.LINGER, 0)
s.rcvtimeo = 3000
s.connect(os.environ["FEDNODE_AGENT_ENDPOINT"])
p = lambda *a: msgpack.packb(list(a))
agents = lambda v: [{"name": "f.a%d" % i, "version": v} for i in range(64)]
for i in range(200):
    s.send(p(1, "READY", {"agents": agents("1.%d" % (i % 2))}))
codes = {}
try:
    while True:
        v, t, body = msgpack.unpackb(s.recv(), raw=False)
        k = t + ("/" + body["code"] if t == "ERROR" else "")
        codes[k] = codes.get(k, 0) + 1
        s.rcvtimeo = 1500
except zmq.Again:
    pass
print(" ".join("%s=%d" % kv for kv in sorted(codes.items())))
s.send(p(1, "BYE", {}))
PY
)
contains "a READY flood is refused past the budget" "ERROR/limit" "$flood"
seq_after=$(ctl 1 status --json | jget seq)
written=$((seq_after - seq_before))
[ "$written" -le $((31 * 64 * 2 + 64 + 20)) ] && ok "and writes a bounded number of events ($written for 200 READYs of 64 agents)" ||
    fail "the flood wrote $written events"
expect "the node still answers" completed "$(ctl 1 agents run sys.echo --json | jget status)"
bye_gone() { [ -z "$(names 1 --name h.ok)" ]; }
wait_for 10 bye_gone && ok "BYE deregisters h.ok" || fail "h.ok still listed"
out=$(ctl 1 agents run py.wordcount --params '{"text":"still here"}' --json 2>&1)
expect "the node and its agents carry on" completed "$(jget status <<<"$out")"

# --- every process gone: deregistered; a restart cleans up ---------------------------
kill -KILL "${apid[p1]}" "${apid[p2]}" 2>/dev/null
unlisted() { [ -z "$(names "$1" --kind external)" ]; }
wait_for 10 unlisted 1 && ok "both processes killed: their agents are deregistered on n1" ||
    fail "n1 still lists '$(names 1 --kind external)'"
wait_for 10 unlisted 2 && ok "and on n2" || fail "n2 still lists '$(names 2 --kind external)'"
agent p3 --slots 2
wait_for 15 listed 1 && ok "a new process registers them again" || fail "not listed after p3"
kill -KILL "${pid[1]}" "${apid[p3]}"
wait "${pid[1]}" 2>/dev/null
start 1
wait_for 15 unlisted 1 && ok "n1 killed with p3 and restarted: no phantom agents left" ||
    fail "n1 lists '$(names 1 --kind external)' after restart"

for i in 1 2; do
    kill -TERM "${pid[$i]}"
    wait "${pid[$i]}"
    expect "n$i stops cleanly" 0 $?
done
lacks "no sanitizer report in any log" "ERROR: AddressSanitizer" "$(cat "$work"/n*.out)"
lacks "no UBSan report in any log" "runtime error" "$(cat "$work"/n*.out)"
finish
