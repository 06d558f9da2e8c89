#!/usr/bin/env bash
# tests/integration/test_data_ingest.sh: data.ingest through a real node
# (`fedctl agents run`, whose task gets a workspace under the node's data
# dir), against real servers on 127.0.0.1, every process reaped:
#
#   - url: a local HTTP server (python3 -m http.server) serves a CSV and a
#     JSONL file: each becomes the exact CSV expected; a 404 fails
#     http_error naming the status; a file over max_bytes fails too_large;
#   - input: the sample tickets under the node's --data-root, with the
#     types and reject ratio of config/example_data_workflow.yaml;
#   - postgres: when a PostgreSQL server binary is installed, a throwaway
#     server (initdb in a temp dir, a unix socket, owned by user postgres
#     when the test runs as root) holds a table; a query through libpq gives
#     the exact CSV, 20,000 rows stream in single-row mode, a bad query
#     fails bad_query with the server's message. Without PostgreSQL that
#     part prints SKIP.
#
# Ports: 62000-62999 only.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
src=${FED_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fednode="$bin/fednode"
fedctl="$bin/fedctl"
work=$(mktemp -d /tmp/fed-test-ingest.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

base=$((62000 + ($$ % 99) * 10))
peer_port=$((base + 1)) control_port=$((base + 2)) http_port=$((base + 3)) pg_port=$((base + 4))

# The PostgreSQL server, if one is started, is stopped and removed on every
# path out, before lib.sh's cleanup.
pg_dir="" pg_bin=""
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_stop() {
    if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
        as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1
    fi
    [ -n "$pg_dir" ] && rm -rf "$pg_dir"
}
trap 'pg_stop; cleanup' EXIT

# --- one node, one HTTP server ---------------------------------------------------------
mkdir -p "$work/www"
"$fednode" -d "$work/n1" --peer-bind "tcp://127.0.0.1:$peer_port" \
    --control-bind "tcp://127.0.0.1:$control_port" --data-root "$src/config/sample" \
    >>"$work/n1.out" 2>&1 &
pids+=($!)
"$python" -m http.server "$http_port" --bind 127.0.0.1 --directory "$work/www" \
    >>"$work/http.out" 2>&1 &
pids+=($!)
ctl() { "$fedctl" --data-dir "$work/n1" --timeout 5s "$@"; }
run() { ctl agents run data.ingest --task-timeout 60s --json --params "$1" 2>&1; }
jget() { # jget PATH: a value of the JSON on stdin, a.b.c; strings bare, others as JSON
    $python -c "import json,sys
v = json.load(sys.stdin)
for k in '$1'.split('.'): v = v[int(k)] if isinstance(v, list) else v.get(k)
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))" 2>/dev/null
}
node_up() { [ "$(ctl agents run sys.echo --json 2>/dev/null | jget status)" = completed ]; }
http_up() { $python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$http_port/')" 2>/dev/null; }
wait_for 20 node_up && ok "the node runs tasks" || { fail "node did not start: $(cat "$work/n1.out")"; finish; exit; }
wait_for 10 http_up && ok "the HTTP server answers" || { fail "http.server: $(cat "$work/http.out")"; finish; exit; }

# --- url ---------------------------------------------------------------------------------
if [ "$(run '{"url": "http://127.0.0.1:1/x.csv"}' | jget code)" = unsupported ]; then
    echo "SKIP - url: this fednode was built without libcurl (Debian: libcurl4-openssl-dev)"
else
    printf 'id,name,note\r\n1,"Smith, J","said ""hi"""\r\n2,plain,"two\nlines"\r\n3,too,many,fields\r\n' \
        >"$work/www/people.csv"
    out=$(run "{\"url\": \"http://127.0.0.1:$http_port/people.csv\"}")
    expect "url: a CSV completes" completed "$(jget status <<<"$out")"
    data=$(jget output.data.path <<<"$out")
    expect "its table is the CSV, malformed row apart" \
        "$(printf 'id,name,note\n1,"Smith, J","said ""hi"""\n2,plain,"two\nlines"\nX')" \
        "$(cat "$data" 2>/dev/null; echo X)"
    expect "in the task's workspace" "$work/n1/work/tasks/" "${data%/*/data.csv}/"
    expect "the download stays beside it" "$(dirname "$data")/download.csv" "$(jget output.source.path <<<"$out")"
    expect "source: HTTP 200 and the bytes" "200 82" "$(jget output.source.status <<<"$out") $(jget output.source.bytes <<<"$out")"
    expect "the malformed row is quarantined" 1 "$(jget output.rejects.rows <<<"$out")"
    contains "with its line and offset" '5,63,' "$(tail -1 "$(jget output.rejects.path <<<"$out")" 2>/dev/null)"

    printf '{"a": 1, "b": "x"}\n{"a": 2.5, "b": null}\n' >"$work/www/events.jsonl"
    out=$(run "{\"url\": \"http://127.0.0.1:$http_port/events.jsonl\", \"types\": {\"a\": \"float\"}}")
    expect "url: JSONL becomes CSV" "$(printf 'a,b\n1,x\n2.5,\nX')" \
        "$(cat "$(jget output.data.path <<<"$out")" 2>/dev/null; echo X)"
    expect "with its schema" '[{"name": "a", "type": "float"}, {"name": "b", "type": "string"}]' \
        "$(jget output.schema <<<"$out")"

    cp "$work/www/events.jsonl" "$work/www/events.txt"
    out=$(run "{\"url\": \"http://127.0.0.1:$http_port/events.txt\"}")
    expect "a URL that does not tell its format fails bad_params" bad_params "$(jget code <<<"$out")"
    contains "naming input_format" 'input_format' "$out"
    out=$(run "{\"url\": \"http://127.0.0.1:$http_port/events.txt\", \"input_format\": \"jsonl\"}")
    expect "input_format tells it" 2 "$(jget output.data.rows <<<"$out")"

    out=$(run "{\"url\": \"http://127.0.0.1:$http_port/missing.csv\"}")
    expect "a 404 fails http_error" "failed http_error" "$(jget status <<<"$out") $(jget code <<<"$out")"
    contains "naming the status" "HTTP 404" "$(jget message <<<"$out")"

    out=$(run "{\"url\": \"http://127.0.0.1:$http_port/people.csv\", \"max_bytes\": 40}")
    expect "over max_bytes fails too_large" "failed too_large" "$(jget status <<<"$out") $(jget code <<<"$out")"
    contains "naming the param" 'larger than param "max_bytes" (40 bytes)' "$(jget message <<<"$out")"

    out=$(run "{\"url\": \"http://127.0.0.1:$((base + 9))/nothing.csv\"}")
    expect "a refused connection fails network_error" network_error "$(jget code <<<"$out")"

    out=$(run "{\"url\": \"http://bob:s3cret@127.0.0.1:$http_port/people.csv\"}")
    expect "a URL with a password is refused" bad_params "$(jget code <<<"$out")"
    expect "without repeating it" 0 "$(grep -c s3cret <<<"$(jget message <<<"$out")")"
fi

# --- input under a data root ----------------------------------------------------------------
out=$(run "{\"input\": \"$src/config/sample/tickets.csv\", \"types\": {\"id\": \"int\", \"amount\": \"float\"}, \"max_reject_ratio\": 0.05}")
expect "the sample tickets ingest" completed "$(jget status <<<"$out")"
expect "with two malformed rows quarantined" 2 "$(jget output.rejects.rows <<<"$out")"
expect "its columns" '["id", "customer", "channel", "text", "amount", "created"]' "$(jget output.columns <<<"$out")"
out=$(run '{"input": "/etc/hostname"}')
expect "a path outside the run and the data roots fails forbidden_path" forbidden_path "$(jget code <<<"$out")"

# --- postgres ----------------------------------------------------------------------------------
pg_ctl_path=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)
if [ -z "$pg_ctl_path" ] || { [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; }; then
    echo "SKIP - postgres: no PostgreSQL server installed (Debian: postgresql)"
    finish
    exit
fi
if [ "$(run '{"postgres": {"conninfo": "host=/nonexistent", "query": "SELECT 1"}}' | jget code)" = unsupported ]; then
    echo "SKIP - postgres: this fednode was built without libpq (Debian: libpq-dev)"
    finish
    exit
fi
pg_bin=$(dirname "$pg_ctl_path")
pg_dir=$(mktemp -d /tmp/fed-pg.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
if as_pg "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U fedtest -E UTF8 --no-locale >"$work/initdb.out" 2>&1 &&
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -t 30 \
        -o "-k $pg_dir -p $pg_port -c listen_addresses=''" start >"$work/pg_ctl.out" 2>&1; then
    ok "a throwaway PostgreSQL server started"
else
    fail "PostgreSQL did not start: $(cat "$work/initdb.out" "$work/pg_ctl.out" "$pg_dir/log" 2>/dev/null | tail -5)"
    finish
    exit
fi
psql_run() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$pg_dir" -p "$pg_port" -U fedtest -d postgres "$@"; }
psql_run -c "CREATE TABLE tickets (id int, text text, amount numeric(8,2), urgent bool, seen timestamptz);
INSERT INTO tickets VALUES
  (1, 'refund, please', 12.50, true, '2026-01-02 03:04:05+00'),
  (2, NULL, NULL, NULL, NULL),
  (3, 'two
lines \"quoted\"', -1, false, '2026-06-01 00:00:00+00');" >"$work/psql.out" 2>&1 &&
    ok "a table in it" || fail "psql: $(cat "$work/psql.out")"
conninfo="host=$pg_dir port=$pg_port user=fedtest dbname=postgres"
out=$(run "{\"postgres\": {\"conninfo\": \"$conninfo\", \"query\": \"SELECT id, text, amount, urgent, seen FROM tickets ORDER BY id\"}}")
expect "postgres: a query completes" completed "$(jget status <<<"$out")"
expect "its table is exact (NULL empty, booleans true/false)" \
    "$(printf 'id,text,amount,urgent,seen\n1,"refund, please",12.50,true,2026-01-02 03:04:05+00\n2,,,,\n3,"two\nlines ""quoted""",-1.00,false,2026-06-01 00:00:00+00\nX')" \
    "$(cat "$(jget output.data.path <<<"$out")" 2>/dev/null; echo X)"
expect "with its schema" '[{"name": "id", "type": "int"}, {"name": "text", "type": "string"}, {"name": "amount", "type": "float"}, {"name": "urgent", "type": "bool"}, {"name": "seen", "type": "string"}]' \
    "$(jget output.schema <<<"$out")"
expect "source names the server, not a password" "postgres $pg_dir $pg_port fedtest postgres" \
    "$(jget output.source.kind <<<"$out") $(jget output.source.host <<<"$out") $(jget output.source.port <<<"$out") $(jget output.source.user <<<"$out") $(jget output.source.dbname <<<"$out")"
out=$(run "{\"postgres\": {\"conninfo\": \"$conninfo\", \"query\": \"SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 20000) g\"}}")
expect "20,000 rows stream in single-row mode" 20000 "$(jget output.data.rows <<<"$out")"
expect "the last one intact" "20000,$(printf '%s' 20000 | md5sum | cut -d' ' -f1)" \
    "$(tail -1 "$(jget output.data.path <<<"$out")" 2>/dev/null)"
out=$(run "{\"postgres\": {\"conninfo\": \"$conninfo\", \"query\": \"SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 2000000) g\"}, \"types\": {\"h\": \"int\"}, \"max_rejects\": 5}")
expect "max_rejects stops a long result early (the query cancelled)" too_many_rejects "$(jget code <<<"$out")"
contains "naming the column" "column 'h'" "$out"
out=$(run "{\"postgres\": {\"conninfo\": \"$conninfo\", \"query\": \"SELECT * FROM nowhere\"}}")
expect "a bad query fails bad_query" bad_query "$(jget code <<<"$out")"
contains "with the server's message" 'relation \"nowhere\" does not exist' "$out"
out=$(run "{\"postgres\": {\"conninfo\": \"$conninfo\", \"query\": \"DELETE FROM tickets\"}}")
expect "a write is refused (read-only transaction)" "failed query_error" "$(jget status <<<"$out") $(jget code <<<"$out")"
contains "by the server" "read-only transaction" "$out"
expect "and changed nothing" 3 "$(psql_run -t -A -c 'SELECT count(*) FROM tickets' 2>&1)"
out=$(run "{\"postgres\": {\"conninfo\": \"$conninfo\", \"query\": \"SELECT 1 AS a; SELECT 2 AS b\"}}")
expect "two statements are refused" "failed bad_query" "$(jget status <<<"$out") $(jget code <<<"$out")"

finish
