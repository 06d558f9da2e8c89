#!/usr/bin/env bash
# tests/integration/test_gateway.sh: doc/examples/gateway, a program that
# embeds a node and registers agents of its own (fed_node_register_agent),
# with real processes on 127.0.0.1 (own ports and data dirs, all reaped).
#
#   - the gateway's node lists gateway.sensor and gateway.actuate as
#     built-ins beside sys.*, at the gateway's site;
#   - `agents run` runs them: actuate moves the valve, sensor reads the
#     boiler warmer (the two share the gateway's state); bad params fail
#     with the agents' codes and change nothing;
#   - an ordinary fednode joined through the gateway (seed + join token)
#     lists the gateway's agents (replication), and cannot run them itself;
#   - SIGTERM stops the gateway with exit 0; restarted, it writes no new
#     agent.registered event for its unchanged agents, and they run again;
#   - a plain fednode on the gateway's data dir deregisters them; the
#     gateway registers them again;
#   - bad command lines exit 2, naming what was wrong.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
gateway="$bin/doc/examples/gateway"
work=$(mktemp -d /tmp/fed-test-gateway.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

base=$((24000 + ($$ % 600) * 10)) # below the ephemeral range (32768+)
gw_peer="tcp://127.0.0.1:$((base + 1))"
declare -A pid
# start_gateway [PROGRAM]: the gateway (or another program taking the same
# flags, fednode) on data dir g, peer base+1, control base+2.
start_gateway() {
    "${1:-$gateway}" -d "$work/g" --peer-bind "$gw_peer" \
        --control-bind "tcp://127.0.0.1:$((base + 2))" --name gw-depot --site depot \
        >>"$work/g.out" 2>&1 &
    pid[g]=$!
    pids+=("${pid[g]}")
}
# stop NAME: SIGTERM, then its exit status.
stop() { kill -TERM "${pid[$1]}"; wait "${pid[$1]}"; }
ctl() { local dir=$1; shift; "$fedctl" --data-dir "$work/$dir" --timeout 3s "$@"; }
up() { ctl "$1" status >/dev/null 2>&1; }
# names DIR [ARGS]: the agent names DIR's node lists, sorted, one line.
names() {
    local dir=$1; shift
    ctl "$dir" agents list "$@" --json 2>/dev/null |
        $python -c 'import json,sys; print(" ".join(sorted(a["name"] for a in json.load(sys.stdin))))' 2>/dev/null
}
# run DIR AGENT PARAMS: one task's result as JSON.
run() { ctl "$1" agents run "$2" --params "$3" --json 2>&1; }
# jget KEY: KEY of the JSON object on stdin (sorted JSON for non-strings).
jget() { $python -c "import json,sys; r=json.load(sys.stdin); v=r.get('$1'); print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))" 2>/dev/null; }
# registered DIR: agent.registered events by the gateway's key in DIR's log.
registered() {
    ctl "$1" events tail --type agent.registered --origin "$gw_id" --limit 1000 --json 2>/dev/null |
        $python -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))' 2>/dev/null
}

# --- bad command lines ---------------------------------------------------------------
out=$("$gateway" -d "$work/bad" --peer-bind nonsense 2>&1); rc=$?
expect "a bad --peer-bind exits 2" 2 $rc
contains "naming the key" "listen.peer" "$out"
out=$("$gateway" -d "$work/bad" extra 2>&1); rc=$?
expect "an operand exits 2" "2 gateway: unexpected argument 'extra'" "$rc $out"
out=$("$gateway" -d "$work/bad" --seed nokey 2>&1); rc=$?
expect "a bad --seed exits 2" 2 $rc
[ ! -e "$work/bad" ] && ok "and nothing was created" || fail "$work/bad was created"

# --- the gateway's agents, beside sys.* ------------------------------------------------
start_gateway
wait_for 20 up g && ok "the gateway answers fedctl" || fail "gateway not up: $(cat "$work/g.out")"
gw_id=$("$fednode" id -d "$work/g" --json 2>/dev/null | $python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
all="data.clean data.export data.ingest data.label data.split data.transform gateway.actuate gateway.sensor sys.echo sys.fail sys.sleep"
expect "agents list: the gateway's two beside sys.*" "$all" "$(names g)"
expect "all of them built-in" "$all" "$(names g --kind builtin)"
expect "gateway.sensor has its capability" "gateway.sensor" "$(names g --capability telemetry)"
expect "on the gateway's node, at its site (the node's location)" "gw-depot depot True" \
    "$(ctl g agents list --name gateway.actuate --json 2>/dev/null | $python -c 'import json,sys; a=json.load(sys.stdin)[0]; print(a["node_name"], a["location"]["site"], a["location_from_node"])')"

# --- running them ----------------------------------------------------------------------
out=$(run g gateway.actuate '{"actuator":"valve","position":40}')
expect "actuate completes" completed "$(jget status <<<"$out")"
expect "with the new and previous positions" '{"actuator": "valve", "position": 40, "previous": 0}' \
    "$(jget output <<<"$out")"
before=$(date +%s%3N)
out=$(run g gateway.sensor '{"sensor":"boiler"}')
after=$(date +%s%3N)
expect "sensor completes" completed "$(jget status <<<"$out")"
expect "the boiler is warmer with the valve at 40 (20 + 0.5 * 40)" "boiler 40.0" \
    "$(jget output <<<"$out" | $python -c 'import json,sys; o=json.load(sys.stdin); print(o["sensor"], float(o["celsius"]))')"
at=$(jget output <<<"$out" | $python -c 'import json,sys; print(json.load(sys.stdin)["read_at_ms"])')
[ "$at" -ge "$before" ] && [ "$at" -le "$after" ] && ok "read_at_ms is the time of the reading" ||
    fail "read_at_ms: expected $before..$after, got $at"
out=$(run g gateway.sensor '{"sensor":"cabinet"}')
expect "the cabinet with the fan off (45 - 0.25 * 0)" 45.0 \
    "$(jget output <<<"$out" | $python -c 'import json,sys; print(float(json.load(sys.stdin)["celsius"]))')"

# --- bad params ------------------------------------------------------------------------------
out=$(run g gateway.actuate '{"actuator":"valve","position":150}')
expect "a position over 100 fails out_of_range" "failed out_of_range" "$(jget status <<<"$out") $(jget code <<<"$out")"
contains "saying why" "position 150 is outside 0..100" "$out"
out=$(run g gateway.actuate '{"actuator":"valve","position":-1}')
expect "a negative one too" "out_of_range" "$(jget code <<<"$out")"
out=$(run g gateway.actuate '{"actuator":"pump","position":10}')
expect "an unknown actuator fails no_actuator" "no_actuator" "$(jget code <<<"$out")"
contains "naming it and the known ones" 'no actuator \"pump\" (valve, fan)' "$out"
out=$(run g gateway.actuate '{"actuator":"valve","position":"half"}')
expect "a position of the wrong type fails bad_params" "bad_params" "$(jget code <<<"$out")"
contains "naming the param" 'param \"position\" must be an integer' "$out"
out=$(run g gateway.actuate '{}')
expect "no params fail bad_params" "bad_params" "$(jget code <<<"$out")"
out=$(run g gateway.sensor '{"sensor":"attic"}')
expect "an unknown sensor fails no_sensor" "no_sensor" "$(jget code <<<"$out")"
out=$(run g gateway.sensor '{"sensor":7}')
expect "a sensor of the wrong type fails bad_params" "bad_params" "$(jget code <<<"$out")"
out=$(run g gateway.sensor '{"sensor":"boiler"}')
expect "the refused tasks moved nothing" 40.0 \
    "$(jget output <<<"$out" | $python -c 'import json,sys; print(float(json.load(sys.stdin)["celsius"]))')"

# --- a second node joins through the gateway ------------------------------------------------
token=$(ctl g token create --uses 1 --json 2>/dev/null | jget token)
"$fednode" -d "$work/n2" --peer-bind "tcp://127.0.0.1:$((base + 3))" \
    --control-bind "tcp://127.0.0.1:$((base + 4))" --seed "$gw_id@$gw_peer" \
    --join-token "$token" >>"$work/n2.out" 2>&1 &
pid[n2]=$!
pids+=("${pid[n2]}")
gateway_agents() { # gateway_agents DIR: the gateway's agents DIR lists
    ctl "$1" agents list --json 2>/dev/null | $python -c "import json,sys
print(' '.join(sorted('%s:%s:%s' % (a['name'], a['kind'], a['status']) for a in json.load(sys.stdin) if a['node'] == sys.argv[1])))" "$gw_id" 2>/dev/null
}
want="data.clean:builtin:available data.export:builtin:available data.ingest:builtin:available data.label:builtin:available data.split:builtin:available data.transform:builtin:available gateway.actuate:builtin:available gateway.sensor:builtin:available sys.echo:builtin:available sys.fail:builtin:available sys.sleep:builtin:available"
n2_lists() { [ "$(gateway_agents n2)" = "$want" ]; }
wait_for 30 n2_lists && ok "n2, joined through the gateway, lists the gateway's agents" ||
    fail "n2 lists: '$(gateway_agents n2)'; n2 said: $(tail -3 "$work/n2.out")"
out=$(run n2 gateway.sensor '{"sensor":"boiler"}')
expect "n2 cannot run them: agents run is for the node's own built-ins" no_agent "$(jget code <<<"$out")"
expect "the gateway wrote one agent.registered per agent (its 2, sys.*, data.*)" 11 "$(registered g)"

# --- stop, restart ----------------------------------------------------------------------------
stop g
expect "SIGTERM stops the gateway, exit 0" 0 $?
start_gateway
wait_for 20 up g && ok "the gateway restarts" || fail "gateway not up again: $(tail -3 "$work/g.out")"
expect "restarted, it registers its unchanged agents no more" 11 "$(registered g)"
expect "and lists them as before" "$want" "$(gateway_agents g)"
out=$(run g gateway.sensor '{"sensor":"boiler"}')
expect "they run again (the valve is back at 0: the state is the process's)" 20.0 \
    "$(jget output <<<"$out" | $python -c 'import json,sys; print(float(json.load(sys.stdin)["celsius"]))')"
wait_for 20 n2_lists && ok "n2 still lists them, available" || fail "n2 lists: '$(gateway_agents n2)'"

# --- without them, then with them again -----------------------------------------------------
stop g
expect "the gateway stops again, exit 0" 0 $?
start_gateway "$fednode"
wait_for 20 up g && ok "a plain fednode opens the gateway's data dir" || fail "fednode not up: $(tail -3 "$work/g.out")"
gone="data.clean:builtin:available data.export:builtin:available data.ingest:builtin:available data.label:builtin:available data.split:builtin:available data.transform:builtin:available sys.echo:builtin:available sys.fail:builtin:available sys.sleep:builtin:available"
expect "and deregisters the agents it does not have" "$gone" "$(gateway_agents g)"
n2_gone() { [ "$(gateway_agents n2)" = "$gone" ]; }
wait_for 20 n2_gone && ok "n2 sees them gone" || fail "n2 lists: '$(gateway_agents n2)'"
stop g
expect "the plain fednode stops, exit 0" 0 $?
start_gateway
wait_for 20 up g && ok "the gateway starts once more" || fail "gateway not up: $(tail -3 "$work/g.out")"
expect "and registers its two agents again (11 + 2)" 13 "$(registered g)"
wait_for 20 n2_lists && ok "n2 lists them again" || fail "n2 lists: '$(gateway_agents n2)'"
n2_events() { [ "$(registered n2)" = 13 ]; }
wait_for 20 n2_events && ok "n2 holds the same 13 agent.registered events" ||
    fail "n2 holds $(registered n2) agent.registered events by the gateway, expected 13"

stop g
expect "the gateway stops cleanly" 0 $?
stop n2
expect "n2 stops cleanly" 0 $?
lacks "no sanitizer report in any log" "ERROR: AddressSanitizer" "$(cat "$work"/*.out)"
lacks "no UBSan report in any log" "runtime error" "$(cat "$work"/*.out)"
lacks "no LeakSanitizer report in any log" "ERROR: LeakSanitizer" "$(cat "$work"/*.out)"
finish
