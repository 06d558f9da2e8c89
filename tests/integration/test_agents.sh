#!/usr/bin/env bash
# tests/integration/test_agents.sh: the agent registry across a cluster,
# with real processes on 127.0.0.1 (own ports and data dirs, all reaped).
#
#   - three nodes in three regions (Paris, Frankfurt, Mumbai) register edge
#     agents; every node lists the same agents, byte for byte (--json);
#   - filters: --name, --capability, --region, --label, --kind;
#   - agents near LAT,LON: nearest first (haversine), --within, -k;
#   - an agent with no location of its own shows its node's;
#   - a node killed: its agents are listed as unavailable, not dropped;
#     restarted, available again; deregister-edge removes one everywhere;
#   - bad requests get clear errors and change nothing.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-agents.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

base=$((5000 + ($$ % 400) * 10)) # below the ephemeral range (32768+)
declare -A id seed pid
peer_cluster 3 $base "{probe_interval: 200ms, probe_timeout: 100ms, suspicion_timeout: 1s, interval: 200ms}" "durability: wal"
cat >>"$work/n1.yaml" <<'Y'
node: {name: paris-1, region: eu-west, site: paris, lat: 48.8566, lon: 2.3522, labels: {tier: edge}}
Y
cat >>"$work/n2.yaml" <<'Y'
node: {name: frankfurt-1, region: eu-central, site: frankfurt, lat: 50.1109, lon: 8.6821}
Y
cat >>"$work/n3.yaml" <<'Y'
node: {name: mumbai-1, region: ap-south, site: mumbai, lat: 19.0760, lon: 72.8777, labels: {tier: edge}}
Y
start() {
    local i=$1; shift
    "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" \
        --peer-bind "tcp://127.0.0.1:$((base + i))" \
        --control-bind "tcp://127.0.0.1:$((base + 5 + i))" "$@" >>"$work/n$i.out" 2>&1 &
    pid[$i]=$!
    pids+=("${pid[$i]}")
}
ctl() { local i=$1; shift; "$fedctl" --data-dir "$work/n$i" --timeout 3s "$@"; }
# names I [ARGS]: the agent names node nI lists (agents ARGS), in its order
# (listings go by node key then name; near by distance).
names() {
    local i=$1; shift
    ctl "$i" agents "$@" --json 2>/dev/null |
        $python -c 'import json,sys; print(" ".join(a["name"] for a in json.load(sys.stdin)))' 2>/dev/null
}
field() { # field I NAME KEY [ARGS]: KEY of agent NAME as node nI lists it
    local i=$1 name=$2 key=$3; shift 3
    ctl "$i" agents list --name "$name" --json 2>/dev/null |
        $python -c "import json,sys; r=json.load(sys.stdin); print(r[0]['$key'] if r else '')" 2>/dev/null
}
all_list() { local want=$1; for i in 1 2 3; do [ "$(names $i list)" = "$want" ] || return 1; done; }

start 1
start 2 --seed "${seed[1]}"
start 3 --seed "${seed[1]}"
wait_for 20 bash -c "[ \"\$('$fedctl' --data-dir '$work/n1' members --status alive --json 2>/dev/null | $python -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = 3 ]" &&
    ok "three nodes in three regions joined" || fail "cluster did not form"

# --- register edge agents on each node ----------------------------------------
reg() { local i=$1; shift; ctl "$i" agents register-edge "$@" >/dev/null 2>"$work/reg.err"; }
reg 1 cam.paris --location region=eu-west,site=paris-3,lat=48.8606,lon=2.3376,label.camera=4k --capability video --capability detect &&
    reg 1 cam.lyon --location region=eu-west,site=lyon,lat=45.7640,lon=4.8357 --capability video &&
    reg 2 sensor.berlin --location '{"region":"eu-central","site":"berlin","lat":52.52,"lon":13.405}' --capability telemetry &&
    reg 3 cam.mumbai --location region=ap-south,lat=19.0760,lon=72.8777,label.camera=4k --capability video --agent-version 2.1 &&
    reg 3 gw.pune --location region=ap-south,site=pune,lat=18.5204,lon=73.8567 &&
    ok "edge agents registered on all three nodes" || fail "register-edge failed: $(cat "$work/reg.err")"
want="cam.lyon cam.paris sensor.berlin cam.mumbai gw.pune"
sorted_names() { names "$1" list --kind edge | tr ' ' '\n' | sort | tr '\n' ' '; }
want_sorted=$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')
every_node_lists() { for i in 1 2 3; do [ "$(sorted_names $i)" = "$want_sorted" ] || return 1; done; }
wait_for 20 every_node_lists && ok "every node lists the same five agents" ||
    fail "listings: $(for i in 1 2 3; do echo -n "n$i=[$(names $i list)] "; done)"
j1=$(ctl 1 agents list --kind edge --json 2>/dev/null | $python -c 'import json,sys; r=json.load(sys.stdin); [a.pop("node_state") for a in r]; print(json.dumps(r, sort_keys=True))')
for i in 2 3; do
    ji=$(ctl $i agents list --kind edge --json 2>/dev/null | $python -c 'import json,sys; r=json.load(sys.stdin); [a.pop("node_state") for a in r]; print(json.dumps(r, sort_keys=True))')
    expect "n$i's listing is n1's, field for field" "$j1" "$ji"
done
expect "agents edge lists them" "$(names 1 list --kind edge)" "$(names 2 edge)"
sorted() { tr ' ' '\n' | sort | tr '\n' ' '; }
expect "--capability video" "cam.lyon cam.mumbai cam.paris " "$(names 2 list --capability video | sorted)"
expect "--region ap-south" "cam.mumbai gw.pune " "$(names 1 list --region ap-south --kind edge | sorted)"
expect "--label camera=4k" "cam.mumbai cam.paris " "$(names 2 list --label camera=4k | sorted)"
expect "--name sensor.berlin" "sensor.berlin" "$(names 3 list --name sensor.berlin)"
expect "--kind builtin --capability sys: each node's sys.* agents" \
    "sys.echo sys.echo sys.echo sys.fail sys.fail sys.fail sys.sleep sys.sleep sys.sleep " \
    "$(names 1 list --kind builtin --capability sys | sorted)"
expect "--kind builtin --capability data: each node's six data.* agents" 18 \
    "$(names 1 list --kind builtin --capability data | wc -w)"
expect "built-ins inherit their node's location" "ap-south" \
    "$(ctl 2 agents list --name sys.echo --region ap-south --json | $python -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["location"]["region"] if r and r[0]["location_from_node"] else "")')"
expect "version given is kept" "2.1" "$(field 1 cam.mumbai version)"
expect "version defaults to 1" "1" "$(field 2 gw.pune version)"
expect "node name shown" "mumbai-1" "$(field 1 cam.mumbai node_name)"

# --- near ------------------------------------------------------------------------
# From the Eiffel Tower: Paris (~3 km), Lyon (~394 km), Berlin (~878 km), Pune, Mumbai.
expect "near Paris, nearest first" "cam.paris cam.lyon sensor.berlin cam.mumbai gw.pune" \
    "$(names 3 near 48.8584,2.2945 --kind edge)"
expect "near Paris --within 500" "cam.paris cam.lyon" "$(names 2 near 48.8584,2.2945 --within 500 --kind edge)"
expect "near Mumbai -k 2" "cam.mumbai gw.pune" "$(names 1 near 19.0,72.8 -k 2 --kind edge)"
expect "near with a filter" "cam.mumbai" "$(names 1 near 48.8584,2.2945 --capability video --region ap-south)"
km=$(ctl 1 agents near 48.8584,2.2945 -k 2 --kind edge --json | $python -c 'import json,sys; r=json.load(sys.stdin); print("%.0f" % r[1]["distance_km"])')
expect "Eiffel Tower to Lyon: 394 km by haversine (python says 393.77)" 394 "$km"
out=$(ctl 1 agents near 48.8584,2.2945 -k 1 2>&1)
contains "the table shows the distance" "cam.paris" "$out"

# --- bad input ---------------------------------------------------------------------
out=$(ctl 1 agents register-edge Bad.Name --location region=x 2>&1); rc=$?
expect "a bad agent name is refused (exit 1)" 1 $rc
contains "and the error says what to use" "lowercase letters" "$out"
out=$(ctl 1 agents register-edge cam.x --location lat=91,lon=0 2>&1)
contains "lat 91 is refused" "location.lat: 91 is outside -90..90" "$out"
out=$(ctl 1 agents register-edge cam.x --location planet=mars 2>&1); rc=$?
expect "an unknown --location key is a usage error (exit 2)" 2 $rc
contains "naming the keys" "region, zone, site, lat, lon, label.KEY" "$out"
out=$(ctl 1 agents register-edge cam.x 2>&1); rc=$?
expect "--location is required" 2 $rc
out=$(ctl 1 agents near 91,0 2>&1); rc=$?
expect "near 91,0 is a usage error" 2 $rc
out=$(ctl 1 agents near 10,10 --within -5 2>&1); rc=$?
expect "--within -5 is a usage error" 2 $rc
out=$(ctl 1 agents deregister-edge cam.mumbai 2>&1); rc=$?
expect "n1 cannot deregister n3's agent" 1 $rc
contains "and says so" "no edge agent 'cam.mumbai'" "$out"
wait_for 5 every_node_lists && ok "the refused requests changed nothing" || fail "listing changed: $(names 1 list)"

# --- built-in agents run tasks on their node's worker pool ---------------------------
run_json() { local i=$1; shift; ctl "$i" agents run "$@" --json 2>&1; }
jget() { $python -c "import json,sys; r=json.load(sys.stdin); print(json.dumps(r.get('$1'), sort_keys=True) if not isinstance(r.get('$1'), str) else r['$1'])" 2>/dev/null; }
out=$(run_json 2 sys.echo --params '{"msg":"hi","n":3}')
expect "agents run sys.echo completes" completed "$(jget status <<<"$out")"
expect "with its params as output" '{"msg": "hi", "n": 3}' "$(jget output <<<"$out")"
out=$(run_json 3 sys.sleep --params '{"ms":200}')
expect "sys.sleep sleeps" '{"slept_ms": 200}' "$(jget output <<<"$out")"
out=$(run_json 1 sys.fail --params '{"code":"nope","message":"asked to fail"}')
expect "sys.fail fails with its code" "failed nope" "$(jget status <<<"$out") $(jget code <<<"$out")"
out=$(run_json 1 sys.sleep --params '{"ms":5000}' --task-timeout 300ms)
expect "a task over its timeout fails 'timeout', and the node goes on" "failed timeout" \
    "$(jget status <<<"$out") $(jget code <<<"$out")"
out=$(run_json 1 sys.sleep --params '{"ms":"soon"}')
expect "a param of the wrong type fails 'bad_params'" "bad_params" "$(jget code <<<"$out")"
contains "naming the param" 'param \"ms\" must be an integer' "$out"
out=$(run_json 1 no.such)
expect "an agent this node does not have fails 'no_agent'" "no_agent" "$(jget code <<<"$out")"
out=$(ctl 1 agents run sys.echo --params '[1]' 2>&1); rc=$?
expect "--params must be an object (usage error)" 2 "$rc"
expect "and the node still runs tasks" completed "$(run_json 1 sys.echo | jget status)"
m=$(ctl 1 metrics 2>/dev/null)
contains "metrics count the timed-out task" 'fednode_agent_tasks_total{result="timeout"} 1' "$m"
contains "and the refused ones as failed" 'fednode_agent_tasks_total{result="failed"} 2' "$m"
contains "an unknown agent is refused by the external dispatcher" 'fednode_external_tasks_total{result="failed"} 1' "$m"

# --- a node dies: its agents are unavailable, not gone ------------------------------
{ kill -KILL "${pid[3]}"; wait "${pid[3]}"; } 2>/dev/null
unavailable() { [ "$(field 1 cam.mumbai status)" = unavailable ] && [ "$(field 2 gw.pune status)" = unavailable ]; }
wait_for 20 unavailable && ok "n3 killed: its agents are listed unavailable on n1 and n2" ||
    fail "after kill: cam.mumbai on n1 is '$(field 1 cam.mumbai status)'"
expect "and still listed" "$want_sorted" "$(sorted_names 1)"
expect "n1's own agents stay available" available "$(field 2 cam.paris status)"
start 3
available() { [ "$(field 1 cam.mumbai status)" = available ]; }
wait_for 20 available && ok "n3 restarted: available again" || fail "after restart: '$(field 1 cam.mumbai status)'"

# --- deregister ------------------------------------------------------------------------
ctl 1 agents deregister-edge cam.lyon >/dev/null 2>&1
gone() { for i in 1 2 3; do [ -z "$(names $i list --name cam.lyon)" ] || return 1; done; }
wait_for 20 gone && ok "deregister-edge on n1 removes cam.lyon from every node" ||
    fail "cam.lyon still listed: $(for i in 1 2 3; do echo -n "n$i=[$(names $i list --name cam.lyon)] "; done)"

for i in 1 2 3; do
    kill -TERM "${pid[$i]}"
    wait "${pid[$i]}"
    expect "n$i stops cleanly" 0 $?
done
lacks "no sanitizer report in any log" "ERROR: AddressSanitizer" "$(cat "$work"/n*.out)"
lacks "no UBSan report in any log" "runtime error" "$(cat "$work"/n*.out)"
finish
