#!/usr/bin/env bash
# tests/bench/bench_propagation.sh: how fast one event reaches every node,
# with real fednode processes on 127.0.0.1, for N = 4, 8, 16, 32 (override
# with FED_BENCH_SIZES="4 8"), twice: with push (gossip.push true) and with
# anti-entropy alone (gossip.push false).
#
# For each N: nodes n2..nN join through n1 (gossip.interval 200ms, fanout 3,
# durability wal); once every node lists all N as alive and holds every
# node.started, tests/bench/repl_probe parks a long poll on every node and
# has the nodes publish one event each in turn, SAMPLES times (default 20;
# FED_BENCH_SAMPLES), timing each from the publish request to the last node
# holding it (its poll answered: ~1-2 ms late, no polling interval).
#
# Goals: with push, all 32 in <= 50 ms (median); with anti-entropy alone,
# <= 2*log2(N) gossip rounds (time / interval). Beside them, the model
# behind HashiCorp Serf's convergence simulator
# (https://www.serf.io/docs/internals/simulator.html, its page script):
# fraction infected after r rounds = 1 / (1 + (N+1) e^(-fanout/2 * r)),
# the rounds it takes to reach 99.99% of N at fanout 3 and 200 ms rounds.
# Published, not measured here.
set -uo pipefail
bin=${FED_BUILDDIR:-$(pwd)}
fednode="$bin/fednode"
probe="$bin/tests/bench/repl_probe"
sizes=${FED_BENCH_SIZES:-"4 8 16 32"}
samples=${FED_BENCH_SAMPLES:-20}
interval_ms=200
fanout=3
python=/usr/bin/python3
[ -x "$python" ] || python=python3
[ -x "$probe" ] || { echo "bench_propagation: $probe missing (run make bench)" >&2; exit 1; }

work=$(mktemp -d /tmp/fed-bench-prop.XXXXXX)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh" # peer_cluster, and the cleanup trap
curve_n=${FED_BENCH_CURVE_N:-32}

# free_base FROM: the first BASE >= FROM (in steps of 100, below 23000,
# apart from bench_members' 23000-25400) where BASE+1..BASE+99 can all be
# bound on 127.0.0.1 now.
free_base() {
    $python - "$1" <<'PY'
import socket, sys
base = int(sys.argv[1])
while base < 23000:
    ok = True
    for port in range(base + 1, base + 100):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            ok = False
        s.close()
        if not ok:
            break
    if ok:
        print(base)
        sys.exit(0)
    base += 100
sys.exit(1)
PY
}

# run PUSH N: one cluster of N, SAMPLES events; writes the probe's lines
# to $work/PUSH-N.out. Each cluster has 100 free ports of its own from
# 21000 up (peer BASE+I, control BASE+50+I).
runs=0
run() {
    local push=$1 n=$2 i base
    base=$(free_base $((21000 + runs * 100))) || { echo "no free ports" >&2; return 1; }
    runs=$(((base - 21000) / 100 + 1))
    rm -rf "$work"/n* && declare -gA id seed
    peer_cluster "$n" "$base" "{interval: ${interval_ms}ms, fanout: $fanout, push: $push}" \
        "durability: wal"
    local nodes=()
    for i in $(seq 1 "$n"); do
        local args=()
        [ "$i" -gt 1 ] && args=(--seed "${seed[1]}")
        "$fednode" -c "$work/n$i.yaml" -d "$work/n$i" --name "n$i" --log-level warn \
            --peer-bind "tcp://127.0.0.1:$((base + i))" \
            --control-bind "tcp://127.0.0.1:$((base + 50 + i))" "${args[@]}" \
            >"$work/n$i.log" 2>&1 &
        pids+=($!)
        nodes+=("$work/n$i=tcp://127.0.0.1:$((base + 50 + i))")
    done
    if ! "$probe" settle 60 "${nodes[@]}"; then
        echo "N=$n: did not settle; nodes that exited:" >&2
        for i in $(seq 1 "$n"); do
            kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { echo "--- n$i" >&2; tail -5 "$work/n$i.log" >&2; }
        done
        return 1
    fi
    "$probe" propagate "$samples" 15000 "${nodes[@]}" >"$work/$push-$n.out" ||
        { echo "N=$n: probe failed" >&2; return 1; }
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
}

for push in true false; do
    for n in $sizes; do run $push "$n" || exit 1; done
done
# FED_BENCH_RAW=DIR keeps the probe's per-sample lines there.
[ -n "${FED_BENCH_RAW:-}" ] && mkdir -p "$FED_BENCH_RAW" && cp "$work"/*.out "$FED_BENCH_RAW"/

$python - "$work" "$interval_ms" "$fanout" "$curve_n" $sizes <<'EOF'
import math, sys
work, interval, fanout, curve_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sizes = [int(x) for x in sys.argv[5:]]

def load(push, n):
    rows = []
    for line in open("%s/%s-%d.out" % (work, push, n)):
        f = line.split()
        at = f.index("arrivals")
        rows.append({"ack": float(f[5]), "late": "late-armed" in f,
                     "arrivals": [float(x) if x != "lost" else None for x in f[at + 1:]]})
    return rows

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round((len(xs) - 1) * p)))] if xs else float("nan")

def serf_rounds(n, target=0.9999):
    # Serf's simulator: infected(r) = N / (1 + (N+1) e^(-contact*N*r)),
    # contact = fanout/N * 0.5 (no loss, no failures); first whole round
    # at or above target.
    r = 0
    while 1 / (1 + (n + 1) * math.exp(-fanout / 2 * r)) < target and r < 100:
        r += 1
    return r

print("bench_propagation: one event to all N nodes, %d samples per N (a node each in turn), "
      "gossip.interval %d ms, fanout %d" % (len(load("true", sizes[0])), interval, fanout))
print("times from the publish request to the last node holding it (long polls, ~1-2 ms late)")
print("%-4s %-16s %9s %9s %9s %8s %10s %s" % ("N", "mode", "median", "p99", "max", "rounds",
      "2*log2(N)", "goal"))
for push in ("true", "false"):
    for n in sizes:
        rows = load(push, n)
        lost = sum(1 for r in rows if None in r["arrivals"])
        alls = [max(r["arrivals"]) for r in rows if None not in r["arrivals"]]
        med, p99 = pct(alls, 0.5), pct(alls, 0.99)
        rounds = med / interval
        yard = 2 * math.log2(n)
        if push == "true":
            goal = "<= 50 ms %s" % ("PASS" if med <= 50 and not lost else "BELOW") if n == 32 else "-"
            mode = "push"
        else:
            goal = "<= %.0f rounds %s" % (yard, "PASS" if rounds <= yard and not lost else "BELOW")
            mode = "anti-entropy"
        extra = "" if not lost else "  (%d samples lost a node)" % lost
        late = sum(1 for r in rows if r["late"])
        extra += "" if not late else "  (%d armed late)" % late
        print("%-4d %-16s %6.1f ms %6.1f ms %6.1f ms %8.2f %10.1f %s%s" %
              (n, mode, med, p99, max(alls) if alls else float("nan"), rounds, yard, goal, extra))
print("publish acknowledged (median over all): %.1f ms" %
      pct([r["ack"] for push in ("true", "false") for n in sizes for r in load(push, n)], 0.5))
print("Serf simulator model (published, not measured): 99.99%% of N in r rounds of %d ms, fanout %d:"
      % (interval, fanout))
print("  " + ", ".join("N=%d %d rounds (%.1f s)" % (n, serf_rounds(n), serf_rounds(n) * interval / 1000)
                       for n in sizes + [100]))
if curve_n in sizes:
    print("fraction of the %d nodes holding the event vs time (median over samples):" % curve_n)
    for push in ("true", "false"):
        rows = [r for r in load(push, curve_n) if None not in r["arrivals"]]
        marks = []
        for frac in (0.25, 0.5, 0.75, 0.9, 1.0):
            k = max(1, int(math.ceil(frac * curve_n)))
            marks.append("%3d%% %6.1f ms" % (frac * 100, pct([r["arrivals"][k - 1] for r in rows], 0.5)))
        sim = []
        if push == "false":
            for frac in (0.25, 0.5, 0.75, 0.9, 0.9999):
                r = 0
                while 1 / (1 + (curve_n + 1) * math.exp(-fanout / 2 * r)) < frac:
                    r += 0.01
                sim.append("%g%% %.0f ms" % (frac * 100, r * interval))
        print("  %-13s %s" % ("push" if push == "true" else "anti-entropy", "  ".join(marks)))
        if sim:
            print("  %-13s %s" % ("Serf model", "  ".join(sim)))
EOF
