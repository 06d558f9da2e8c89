# tests/integration/lib.sh: what the shell integration tests share. Source it
# after setting `work` (the test's temp dir). It gives check helpers that
# count, print "ok - …"/"FAIL - …" and say what was expected and what came
# back, and an EXIT trap that kills every process listed in `pids` and
# removes `work`, on every path out of the test.
pids=()
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
# Prints the closing count and sets the exit status from it.
finish() {
    echo "# $checks checks, $failures failed"
    [ "$failures" -eq 0 ]
}
