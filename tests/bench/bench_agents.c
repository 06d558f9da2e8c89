/*  tests/bench/bench_agents.c: what the worker pool (agents/pool.h) adds to
    running a task, beside a bare inproc ZeroMQ round trip measured in the
    same run (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it
    prints PASS or BELOW beside each goal and always exits 0 (1 only if
    something it measures fails outright).

      baseline    an inproc PAIR ping-pong: the main thread sends a 64-byte
                  message to an echo thread (a zactor's pipe), which sends
                  it back (raw zmq_send/zmq_recv).
      relay       the pool's path with no work in it: the main thread sends
                  to a relay thread (a zactor) that passes each message to an
                  echo thread of its own and the answer back, polling both:
                  four hand-offs between threads, like a task's.
      pool        sys.echo through a pool with the default options (one
                  worker per CPU), params {"i": n}: fed_pool_submit, then
                  fed_pool_recv of the completed report (a task's path is
                  four pipe hops: front end -> actor -> worker -> actor ->
                  caller, plus the task's own allocations and msgpack).
                  The goals compare it with the relay; the PAIR ratios are
                  printed too.

    Latency: ROUNDS one at a time, after WARMUP_ROUNDS untimed ones; the
    three take turns in blocks of BLOCK (small: on a shared VM the cost of
    a wake-up changes from one moment to the next, and all three should
    see the same moments); median and 99th percentile of submit ->
    completed (send -> reply for the baselines). Throughput: WINDOW in flight at a
    time (a new one for each one back), COUNT in all, after an untimed
    warm-up of WARMUP; round trips or tasks per second.
*/
#include "benchutil.h"
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pool.h"
#include "sys.h"

#define MSG_SIZE 64
#define ROUNDS 20000
#define WARMUP_ROUNDS 1000
#define BLOCK 20
#define COUNT 200000
#define WARMUP 5000
#define WINDOW 256
//  Goals. Latency: the pool's own work (task, msgpack, bookkeeping) costs
//  at most half of what the bare hand-offs on its path cost. Rate: each
//  workflow step costs the node at least two appends to its event log
//  (step.started, step.completed), about 39,000 a second in bench_append,
//  so the log caps a node near 20,000 steps a second: the pool must not be
//  the lower ceiling.
#define LATENCY_GOAL 1.5  //  pool median <= this times the 4-hop relay median
#define RATE_GOAL 20000.0 //  tasks/s, 256 in flight

static void
s_fail (const char *what, const char *text)
{
    fprintf (stderr, "bench_agents: %s: %s\n", what, text);
    exit (1);
}

//  --- Baseline: PAIR ping-pong ------------------------------------------------------

//  Actor: sends back every message until "$TERM".
static void
s_echo_actor (zsock_t *pipe, void *arg)
{
    (void) arg;
    zsock_signal (pipe, 0);
    void *handle = zsock_resolve (pipe);
    uint8_t message [MSG_SIZE];
    while (true) {
        int size = zmq_recv (handle, message, sizeof message, 0);
        if (size < 0 || (size == 5 && memcmp (message, "$TERM", 5) == 0))
            break;
        if (zmq_send (handle, message, (size_t) size, 0) != size)
            break;
    }
}

//  Actor: the pool's path with no work in it. Relays every message from its
//  pipe to an echo thread of its own and the answer back, polling both as
//  the pool actor polls its pipe and its workers.
static void
s_relay_actor (zsock_t *pipe, void *arg)
{
    (void) arg;
    zactor_t *worker = zactor_new (s_echo_actor, NULL);
    zsock_signal (pipe, 0);
    zmq_pollitem_t items [] = {{zsock_resolve (pipe), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve (worker), 0, ZMQ_POLLIN, 0}};
    uint8_t message [MSG_SIZE];
    bool running = true;
    while (running && zmq_poll (items, 2, -1) >= 0) {
        for (int i = 0; i < 2 && running; i++) {
            if (!(items [i].revents & ZMQ_POLLIN))
                continue;
            int size = zmq_recv (items [i].socket, message, sizeof message, 0);
            if (size < 0 || (i == 0 && size == 5 && memcmp (message, "$TERM", 5) == 0))
                running = false;
            else if (zmq_send (items [1 - i].socket, message, (size_t) size, 0) != size)
                running = false;
        }
    }
    zactor_destroy (&worker);
}

//  One round trip; returns its time in µs.
static double
s_ping (zactor_t *echo)
{
    void *handle = zsock_resolve (echo);
    uint8_t message [MSG_SIZE];
    memset (message, 'x', sizeof message);
    int64_t start = fed_bench_now_ns ();
    if (zmq_send (handle, message, MSG_SIZE, 0) != MSG_SIZE
        || zmq_recv (handle, message, sizeof message, 0) != MSG_SIZE)
        s_fail ("ping", zmq_strerror (zmq_errno ()));
    return (double) (fed_bench_now_ns () - start) / 1000.0;
}

//  Round trips per second with WINDOW in flight.
static double
s_ping_rate (zactor_t *echo, int count)
{
    void *handle = zsock_resolve (echo);
    uint8_t message [MSG_SIZE];
    memset (message, 'x', sizeof message);
    int64_t start = fed_bench_now_ns ();
    int sent = 0;
    for (; sent < WINDOW && sent < count; sent++)
        if (zmq_send (handle, message, MSG_SIZE, 0) != MSG_SIZE)
            s_fail ("ping", zmq_strerror (zmq_errno ()));
    for (int back = 0; back < count; back++) {
        if (zmq_recv (handle, message, sizeof message, 0) != MSG_SIZE)
            s_fail ("pong", zmq_strerror (zmq_errno ()));
        if (sent < count && zmq_send (handle, message, MSG_SIZE, 0) == MSG_SIZE)
            sent++;
    }
    return (double) count / ((double) (fed_bench_now_ns () - start) / 1e9);
}

//  --- The pool ---------------------------------------------------------------------

//  Submits sys.echo {"i": n}.
static uint64_t
s_submit (fed_pool_t *pool, int64_t n)
{
    uint8_t params [16];
    msgpack_sbuffer buffer = {0};
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "i", 1);
    msgpack_pack_int64 (&pk, n);
    memcpy (params, buffer.data, buffer.size);
    fed_task_spec_t spec = {0};
    spec.agent = "sys.echo";
    spec.params = params;
    spec.params_size = buffer.size;
    msgpack_sbuffer_destroy (&buffer);
    uint64_t id = fed_pool_submit (pool, &spec);
    if (!id)
        s_fail ("submit", "refused");
    return id;
}

//  Waits for a final report; fails unless it is a completion.
static void
s_completed (fed_pool_t *pool)
{
    while (true) {
        fed_report_t *report = fed_pool_recv (pool);
        if (!report)
            s_fail ("recv", "interrupted");
        fed_report_kind_t kind = fed_report_kind (report);
        if (kind == FED_REPORT_FAILED) {
            fprintf (stderr, "bench_agents: task failed: %s: %s\n", fed_report_code (report),
                     fed_report_message (report));
            exit (1);
        }
        fed_report_destroy (&report);
        if (kind == FED_REPORT_COMPLETED)
            return;
    }
}

static double
s_task (fed_pool_t *pool, int64_t n)
{
    int64_t start = fed_bench_now_ns ();
    uint64_t id = s_submit (pool, n);
    (void) id;
    s_completed (pool);
    return (double) (fed_bench_now_ns () - start) / 1000.0;
}

//  Tasks per second with WINDOW in flight.
static double
s_task_rate (fed_pool_t *pool, int count)
{
    int64_t start = fed_bench_now_ns ();
    int sent = 0;
    for (; sent < WINDOW && sent < count; sent++)
        s_submit (pool, sent);
    for (int back = 0; back < count; back++) {
        s_completed (pool);
        if (sent < count)
            s_submit (pool, sent++);
    }
    return (double) count / ((double) (fed_bench_now_ns () - start) / 1e9);
}

int
main (void)
{
    fed_log_set_level (FED_LOG_WARN);
    zsys_init ();
    fed_agentset_t *agents = fed_agentset_new ();
    fed_err_t err = {0};
    if (fed_sys_register (agents, &err))
        s_fail ("sys agents", err.text);
    fed_pool_options_t options;
    fed_pool_options_default (&options);
    fed_pool_t *pool = fed_pool_new (agents, &options, &err);
    if (!pool)
        s_fail ("pool", err.text);
    fed_pool_stats_t stats;
    fed_pool_stats (pool, &stats);
    zactor_t *echo = zactor_new (s_echo_actor, NULL);
    zactor_t *relay = zactor_new (s_relay_actor, NULL);
    printf ("bench_agents: sys.echo through a pool of %zu workers (one per CPU); baseline: inproc "
            "PAIR ping-pong of %d-byte messages, same run\n",
            stats.workers, MSG_SIZE);

    //  Latency, taking turns.
    double *pings = (double *) calloc (ROUNDS, sizeof (double));
    double *relays = (double *) calloc (ROUNDS, sizeof (double));
    double *tasks = (double *) calloc (ROUNDS, sizeof (double));
    for (int i = 0; i < WARMUP_ROUNDS; i++) {
        s_ping (echo);
        s_ping (relay);
        s_task (pool, i);
    }
    for (int block = 0; block < ROUNDS / BLOCK; block++) {
        for (int i = 0; i < BLOCK; i++)
            pings [block * BLOCK + i] = s_ping (echo);
        for (int i = 0; i < BLOCK; i++)
            relays [block * BLOCK + i] = s_ping (relay);
        for (int i = 0; i < BLOCK; i++)
            tasks [block * BLOCK + i] = s_task (pool, i);
    }
    double ping_median, ping_p99, relay_median, relay_p99, task_median, task_p99;
    fed_bench_stats (pings, ROUNDS, &ping_median, &ping_p99);
    fed_bench_stats (relays, ROUNDS, &relay_median, &relay_p99);
    fed_bench_stats (tasks, ROUNDS, &task_median, &task_p99);
    printf ("%-40s median %7.1f us  p99 %7.1f us\n", "baseline PAIR round trip", ping_median,
            ping_p99);
    printf ("%-40s median %7.1f us  p99 %7.1f us\n", "baseline 4-hop relay, no work", relay_median,
            relay_p99);
    double ratio = task_median / relay_median;
    printf ("%-40s median %7.1f us  p99 %7.1f us  ratio to PAIR %5.2f, to relay %5.2f  goal <= "
            "%.1f x relay %s\n",
            "sys.echo submit -> completed", task_median, task_p99, task_median / ping_median, ratio,
            LATENCY_GOAL, ratio <= LATENCY_GOAL ? "PASS" : "BELOW");
    fflush (stdout);

    //  Throughput, each after its own warm-up.
    s_ping_rate (echo, WARMUP);
    double ping_rate = s_ping_rate (echo, COUNT);
    s_ping_rate (relay, WARMUP);
    double relay_rate = s_ping_rate (relay, COUNT);
    s_task_rate (pool, WARMUP);
    double task_rate = s_task_rate (pool, COUNT);
    printf ("%-40s %10.0f round trips/s\n", "baseline PAIR, 256 in flight", ping_rate);
    printf ("%-40s %10.0f round trips/s\n", "baseline 4-hop relay, 256 in flight", relay_rate);
    printf ("%-40s %10.0f tasks/s        ratio to PAIR %5.3f, to relay %5.2f  goal rate >= %.0f "
            "%s\n",
            "sys.echo, 256 in flight", task_rate, task_rate / ping_rate, task_rate / relay_rate,
            RATE_GOAL, task_rate >= RATE_GOAL ? "PASS" : "BELOW");
    fed_pool_stats (pool, &stats);
    uint64_t expected = (uint64_t) WARMUP_ROUNDS + ROUNDS / BLOCK * BLOCK + WARMUP + COUNT;
    if (stats.completed != expected || stats.failed != 0)
        fprintf (stderr,
                 "bench_agents: expected %" PRIu64 " tasks completed, none failed; got %" PRIu64
                 " and %" PRIu64 "\n",
                 expected, stats.completed, stats.failed);
    fflush (stdout);

    free (pings);
    free (relays);
    free (tasks);
    zactor_destroy (&relay);
    zactor_destroy (&echo);
    fed_pool_destroy (&pool);
    fed_agentset_destroy (&agents);
    return 0;
}
