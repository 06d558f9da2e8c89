/*  tests/bench/bench_repl.c: how fast events replicate between fednode
    processes, and how a node far behind catches up, each beside a baseline
    measured in the same run (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it prints
    PASS or BELOW beside each goal and exits 0 (1 only if a node it starts
    fails or never converges).

    Events are EVENT_SIZE bytes in all (a {"d": bin} body sized to make the
    whole signed event that long). Node A's data dir is filled offline with
    EVENTS of them through libfednode (fed_node_open_log and
    fed_evlog_append_many, 1,000 per call; signing is not timed).

      raw baseline   A's event bytes, BATCH per message (as repl batches
                     them), from a CURVE DEALER in a thread to a CURVE
                     ROUTER over tcp://127.0.0.1 (each end on its own
                     libzmq I/O thread), each message written on the
                     receiver as one RocksDB WriteBatch (WAL on, no sync,
                     keys origin‖seq); no checks. Timed from the first
                     message sent to the last batch written.
      catch-up       real `fednode run` processes, durability wal, all
                     trusting each other as peers (gossip.interval 1 s, the
                     default; FED_BENCH_REPL_INTERVAL changes it). A holds
                     the EVENTS and is left to finish its start-up work
                     (indexing the ids of the events appended offline:
                     until it uses under 5 % of a CPU); then an empty B
                     starts with A as its seed. B's members
                     command is polled every POLL_US for the seq of A's
                     events it holds, until it holds all of them. Reported:
                     the time from B's fork to the last, and the transfer
                     rate from the first of A's events on B to the last
                     (B's start-up and the first DIGEST round left out).
                     RUNS runs, each with a new B; medians. Beside them: the
                     CPU time A and B used over the transfer (/proc), and
                     B's replication counters (fedctl metrics): WANTs sent,
                     DIGESTs received, events taken in and duplicates.
      under load     A keeps a light live load (one publish every
                     LOAD_PERIOD_MS through its control socket) while C,
                     already in sync, is timed receiving each live event,
                     first for LOAD_BEFORE_MS with nothing else going on,
                     then while a new empty node D catches up (from A and
                     from C), for at most LOAD_LIMIT_S (cut off there and
                     reported as such). Each live event is timed from its
                     publish request to A's acknowledgement and to C
                     holding it; D's members call is timed as it polls.
      live           an in-process node (libfednode) appends as fast as one
                     thread can (fed_node_append: each signed by the node
                     actor) for LIVE_MS while a real B is connected: B's
                     stored rate beside A's append rate, and how long B
                     takes to hold the last one after the writer stops.
*/
#include <czmq.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchnode.h"
#include "config.h"
#include "curve.h"
#include "evlog.h"
#include "log.h"
#include "node.h"

#define EVENTS 100000
#define EVENT_SIZE 256
#define BATCH 1000
#define RUNS 3
#define POLL_US 5000
#define CONVERGE_S 120
#define LOAD_PERIOD_MS 10
#define LOAD_BEFORE_MS 1000
#define LOAD_LIMIT_S 30 //  D's catch-up under load is cut off here (reported as such)
#define LIVE_MS 2000
#define RATE_GOAL 100000.0
#define RATIO_GOAL 0.5
#define MAX_MESSAGE (4 * 1024 * 1024)
#define DOMAIN "bench"
#define TYPE "bench.repl"

//  One live event published on A every LOAD_PERIOD_MS; each is timed from
//  its publish request to A's acknowledgement and to C holding it.
typedef struct {
    int64_t *sent_ns, *acked_ns, *held_ns; //  per live event (owned)
    uint64_t *seq;
    size_t count, max; //  published so far, room for
    size_t delivered;  //  events [0, delivered) are known to be on C
    int64_t next_ns;
} load_t;

typedef struct {
    char *fednode; //  the real fednode binary; owned
    char *work;    //  temp dir of every data dir and log; owned
    char *config;  //  the YAML every node runs with; owned
    size_t events; //  events on A
    uint8_t *body; //  the body every event carries; owned
    size_t body_size;
    fed_blob_t *chain;                      //  A's events as stored (for the raw baseline); owned
    size_t chain_bytes;                     //  their total size
    bench_node_t a, b [RUNS], c, d, live_b; //  real processes
    int live_ports [2];                     //  the in-process node's peer and control ports
    char live_id [41];
    load_t load; //  the light live load
} repl_t;

static void
s_fail (const char *what, const char *text)
{
    fprintf (stderr, "bench_repl: %s: %s\n", what, text);
    exit (1);
}

//  --- setup -----------------------------------------------------------------------

//  The body that makes a signed event (at a seq of A's range) EVENT_SIZE long.
static void
s_make_body (repl_t *self)
{
    size_t overhead = 0;
    uint8_t seed [32] = {7}, scratch [EVENT_SIZE];
    fed_identity_t *identity = fed_identity_from_seed (seed);
    memset (scratch, 0, sizeof scratch);
    for (int pass = 0; pass < 2; pass++) {
        size_t data = pass ? EVENT_SIZE - overhead - 5 : 100;
        //  {"d": bin8 of data bytes}: 1 + 2 + 2 + data bytes.
        scratch [0] = 0x81;
        scratch [1] = 0xa1;
        scratch [2] = 'd';
        scratch [3] = 0xc4;
        scratch [4] = (uint8_t) data;
        randombytes_buf (scratch + 5, data);
        fed_err_t err;
        fed_event_t *event = fed_event_sign (
            fed_identity_secret (identity), fed_identity_public (identity), EVENTS / 2, scratch,
            (uint64_t) fed_wall_ms () << 16, TYPE, scratch, data + 5, NULL, &err);
        if (!event)
            s_fail ("sign", err.text);
        overhead = fed_event_size (event) - (data + 5);
        fed_event_destroy (&event);
        self->body_size = data + 5;
    }
    self->body = (uint8_t *) fed_malloc (self->body_size);
    memcpy (self->body, scratch, self->body_size);
    fed_identity_destroy (&identity);
}

static int
s_copy_event (void *arg, const fed_event_t *event)
{
    repl_t *self = (repl_t *) arg;
    size_t at = fed_event_seq (event) - 1;
    if (at >= self->events)
        return 0;
    uint8_t *copy = (uint8_t *) fed_malloc (fed_event_size (event));
    memcpy (copy, fed_event_bytes (event), fed_event_size (event));
    self->chain [at] = (fed_blob_t){copy, fed_event_size (event)};
    self->chain_bytes += fed_event_size (event);
    return 0;
}

//  Fills A's data dir offline and keeps a copy of the events' bytes.
static void
s_prepare_a (repl_t *self)
{
    fed_err_t err;
    fed_config_t *config = fed_config_new ();
    if (fed_config_set (config, "data_dir", self->a.dir, &err)
        || fed_config_set (config, "durability", "wal", &err))
        s_fail ("config", err.text);
    fed_identity_t *identity;
    fed_evlog_t *log = fed_node_open_log (config, false, &identity, &err);
    if (!log)
        s_fail ("open A's log", err.text);
    fed_new_event_t items [BATCH];
    for (size_t i = 0; i < BATCH; i++)
        items [i] = (fed_new_event_t){TYPE, self->body, self->body_size};
    for (size_t done = 0; done < self->events; done += BATCH) {
        size_t count = self->events - done < BATCH ? self->events - done : BATCH;
        if (fed_evlog_append_many (log, items, count, NULL, &err))
            s_fail ("append", err.text);
    }
    self->chain = (fed_blob_t *) fed_calloc (self->events, sizeof (fed_blob_t));
    if (fed_evlog_range (log, fed_identity_public (identity), 1, self->events, s_copy_event, self,
                         &err))
        s_fail ("read A's log", err.text);
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    fed_config_destroy (&config);
}

//  One config for every node: durability wal, gossip, and every node's key
//  (the in-process one's too) trusted as a peer.
static void
s_write_config (repl_t *self)
{
    self->config = fed_sprintf ("%s/nodes.yaml", self->work);
    FILE *file = fopen (self->config, "w");
    if (!file)
        s_fail (self->config, strerror (errno));
    const char *interval = getenv ("FED_BENCH_REPL_INTERVAL");
    fprintf (file, "durability: wal\nlog_level: warn\ngossip: {interval: %s}\ntrust:\n",
             interval && *interval ? interval : "1s");
    bench_node_t *nodes [] = {&self->a, &self->b [0], &self->b [1], &self->b [2],
                              &self->c, &self->d,     &self->live_b};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes [0]; i++)
        fprintf (file, "  - {key: '%s', role: peer, name: %s}\n", nodes [i]->id, nodes [i]->name);
    fprintf (file, "  - {key: '%s', role: peer, name: l}\n", self->live_id);
    fclose (file);
}

//  --- raw baseline ----------------------------------------------------------------

typedef struct {
    repl_t *repl;
    uint8_t server_public [32], server_secret [32];
    uint8_t client_public [32], client_secret [32];
    int port;
} raw_t;

//  Actor: a CURVE DEALER that sends one hello, waits for "go" from the
//  receiver, then sends the chain BATCH events per message, each event as
//  key (origin‖seq, 40 bytes), u32 size, bytes.
static void
s_raw_sender (zsock_t *pipe, void *arg)
{
    raw_t *raw = (raw_t *) arg;
    repl_t *self = raw->repl;
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    fed_socket_defaults (dealer, MAX_MESSAGE);
    fed_curve_client (dealer, raw->client_secret, raw->client_public, raw->server_public);
    zsock_set_affinity (dealer, 1);
    zsock_set_rcvtimeo (dealer, 5000);
    zsock_signal (pipe, 0);
    uint8_t *message = (uint8_t *) fed_malloc ((size_t) BATCH * (EVENT_SIZE * 2 + 44));
    char go [8];
    if (zsock_connect (dealer, "tcp://127.0.0.1:%d", raw->port) == 0
        && zmq_send (zsock_resolve (dealer), "hello", 5, 0) == 5
        && zmq_recv (zsock_resolve (dealer), go, sizeof go, 0) == 2)
        for (size_t at = 0; at < self->events; at += BATCH) {
            size_t used = 0;
            for (size_t i = at; i < at + BATCH && i < self->events; i++) {
                const fed_blob_t *event = &self->chain [i];
                memcpy (message + used, self->a.key, 32);
                fed_put_be64 (message + used + 32, i + 1);
                uint32_t size = (uint32_t) event->size;
                memcpy (message + used + 40, &size, 4);
                memcpy (message + used + 44, event->data, event->size);
                used += 44 + event->size;
            }
            if (zmq_send (zsock_resolve (dealer), message, used, 0) != (int) used)
                break;
        }
    free (message);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
    zsock_destroy (&dealer);
}

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  Events per second through the raw pipeline.
static double
s_raw_rate (repl_t *self, fed_zap_t *zap, raw_t *raw)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    fed_socket_defaults (router, MAX_MESSAGE);
    fed_curve_server (router, raw->server_secret, raw->server_public, DOMAIN);
    zsock_set_affinity (router, 2);
    zsock_set_rcvtimeo (router, 10000);
    raw->port = zsock_bind (router, "tcp://127.0.0.1:*");
    if (raw->port < 0)
        s_fail ("raw bind", zmq_strerror (zmq_errno ()));
    char *dir = fed_sprintf ("%s/raw", self->work);
    rocksdb_options_t *options = rocksdb_options_create ();
    rocksdb_options_set_create_if_missing (options, 1);
    char *error = NULL;
    rocksdb_t *db = rocksdb_open (options, dir, &error);
    if (error)
        s_fail ("raw rocksdb", error);
    rocksdb_writeoptions_t *write_options = rocksdb_writeoptions_create ();
    rocksdb_writeoptions_set_sync (write_options, 0);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();

    zactor_t *sender = zactor_new (s_raw_sender, raw);
    void *handle = zsock_resolve (router);
    zmq_msg_t routing, body;
    zmq_msg_init (&routing);
    zmq_msg_init (&body);
    if (zmq_msg_recv (&routing, handle, 0) < 0 || zmq_msg_recv (&body, handle, 0) < 0)
        s_fail ("raw hello", "none within 10 s");
    int64_t start = bench_now_ns ();
    zmq_send (handle, zmq_msg_data (&routing), zmq_msg_size (&routing), ZMQ_SNDMORE);
    zmq_send (handle, "go", 2, 0);
    size_t stored = 0;
    while (stored < self->events) {
        if (zmq_msg_recv (&routing, handle, 0) < 0 || zmq_msg_recv (&body, handle, 0) < 0)
            s_fail ("raw receive", "a message did not come within 10 s");
        const uint8_t *data = (const uint8_t *) zmq_msg_data (&body);
        size_t size = zmq_msg_size (&body), at = 0;
        rocksdb_writebatch_clear (batch);
        while (at + 44 <= size) {
            uint32_t length;
            memcpy (&length, data + at + 40, 4);
            if (at + 44 + length > size)
                break;
            rocksdb_writebatch_put (batch, (const char *) data + at, 40,
                                    (const char *) data + at + 44, length);
            at += 44 + length;
            stored++;
        }
        rocksdb_write (db, write_options, batch, &error);
        if (error)
            s_fail ("raw write", error);
    }
    double rate = (double) stored * 1e9 / (double) (bench_now_ns () - start);
    zmq_msg_close (&routing);
    zmq_msg_close (&body);
    zactor_destroy (&sender);
    zsock_destroy (&router);
    rocksdb_writebatch_destroy (batch);
    rocksdb_writeoptions_destroy (write_options);
    rocksdb_close (db);
    rocksdb_options_destroy (options);
    nftw (dir, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free (dir);
    return rate;
}

//  --- catch-up --------------------------------------------------------------------

//  The seq of A's events node holds (0 if A is not a member yet); -1 on error.
static int
s_seq_of_a (bench_node_t *node, uint64_t *seq)
{
    size_t alive;
    *seq = 0;
    return bench_members (node->client, "a", seq, &alive);
}

typedef struct {
    double total_s;      //  from B's fork until it holds all of A's events
    double first_ms;     //  from B's fork until the first of them
    double rate;         //  events/s from the first to the last
    double received;     //  events B took in, duplicates included
    double duplicates;   //  of which it held already
    double buffered;     //  of which arrived ahead of a gap (held back, the gap WANTed)
    double cpu_a, cpu_b; //  CPU seconds per second of A and B from first to last
    double wants;        //  WANTs B sent (each answered by up to reply_batches batches)
    double digests;      //  DIGESTs B received
    uint64_t held;       //  of A's events B held at the end (all, unless it ran out of time)
    double *poll_ms;     //  round trips of B's members call while catching up; owned
    size_t polls;
} catchup_t;

//  Starts b seeded by A and waits until it holds A's events up to target,
//  polling every POLL_US. Returns 0, 1 if it did not get there within
//  limit_s (result->held says how far it got), or -1 if the node failed.
static int
s_catch_up (repl_t *self, bench_node_t *b, uint64_t target, int limit_s, catchup_t *result)
{
    memset (result, 0, sizeof *result);
    if (bench_node_start (b, self->fednode, self->config, &self->a)
        || bench_node_connect (b, 10000))
        return -1;
    int64_t first_ns = 0, done_ns = 0, deadline = b->started_ns + limit_s * 1000000000LL;
    uint64_t seq = 0, first_seq = 0;
    double cpu_a = 0, cpu_b = 0;
    size_t max = CONVERGE_S * 1000000 / POLL_US;
    result->poll_ms = (double *) fed_calloc (max, sizeof (double));
    int rc = 0;
    while (!done_ns) {
        int64_t start = bench_now_ns ();
        if (start > deadline && !bench_interrupted) {
            done_ns = start;
            rc = 1;
            break;
        }
        if (bench_interrupted || s_seq_of_a (b, &seq)) {
            fprintf (stderr, "bench_repl: %s holds %" PRIu64 " of A's %" PRIu64 " events (%s)\n",
                     b->name, seq, target,
                     bench_interrupted ? "interrupted" : "gave up or lost the node");
            bench_node_print_log (b);
            return -1;
        }
        int64_t now = bench_now_ns ();
        if (first_ns && result->polls < max)
            result->poll_ms [result->polls++] = (double) (now - start) / 1e6;
        if (seq > 0 && !first_ns) {
            first_ns = now;
            first_seq = seq;
            cpu_a = bench_cpu_s (self->a.pid);
            cpu_b = bench_cpu_s (b->pid);
        }
        if (seq >= target)
            done_ns = now;
        else if (now < start + POLL_US * 1000LL)
            usleep ((useconds_t) (start + POLL_US * 1000LL - now) / 1000);
    }
    double window = (double) (done_ns - first_ns) / 1e9;
    result->held = seq;
    result->total_s = (double) (done_ns - b->started_ns) / 1e9;
    result->first_ms = (double) (first_ns - b->started_ns) / 1e6;
    result->rate = window > 0 ? (double) (seq - first_seq) / window : 0;
    result->cpu_a = window > 0 ? (bench_cpu_s (self->a.pid) - cpu_a) / window : 0;
    result->cpu_b = window > 0 ? (bench_cpu_s (b->pid) - cpu_b) / window : 0;
    result->duplicates =
        bench_metric (b->client, "fednode_events_received_total{result=\"duplicate\"}");
    result->received = result->duplicates
        + bench_metric (b->client, "fednode_events_received_total{result=\"ok\"}");
    result->buffered =
        bench_metric (b->client, "fednode_events_received_total{result=\"buffered\"}");
    result->wants = bench_metric (
        b->client, "fednode_replication_messages_total{kind=\"want\",direction=\"sent\"}");
    result->digests = bench_metric (
        b->client, "fednode_replication_messages_total{kind=\"digest\",direction=\"received\"}");
    return rc;
}

//  --- light live load -------------------------------------------------------------

//  Actor: the light live load, with its own control clients of A and C.
//  Publishes on A every LOAD_PERIOD_MS and notes when C holds each event
//  (C's members call, polled every 0.5 ms while some are not there yet).
//  On $TERM it stops publishing and waits up to 5 s for C to hold the rest.
static void
s_load_actor (zsock_t *pipe, void *arg)
{
    repl_t *self = (repl_t *) arg;
    load_t *load = &self->load;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", self->a.control_port);
    fed_client_t *a = bench_client (self->a.dir, endpoint);
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", self->c.control_port);
    bench_node_t c = {.client = bench_client (self->c.dir, endpoint)};
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    int64_t stop_ns = 0;
    while (a && c.client && !bench_interrupted) {
        int64_t now = bench_now_ns ();
        if (!stop_ns && zpoller_wait (poller, 0))
            stop_ns = now;
        if (stop_ns && (load->delivered == load->count || now > stop_ns + 5000000000LL))
            break;
        if (!stop_ns && now >= load->next_ns && load->count < load->max) {
            load->next_ns = now + LOAD_PERIOD_MS * 1000000LL;
            if (bench_publish (a, "user.live", (const uint8_t *) "\x81\xa1k\x01", 4,
                               &load->seq [load->count])
                == 0) {
                load->sent_ns [load->count] = now;
                load->acked_ns [load->count++] = bench_now_ns ();
            }
        }
        uint64_t held;
        if (load->delivered < load->count && s_seq_of_a (&c, &held) == 0) {
            now = bench_now_ns ();
            while (load->delivered < load->count && load->seq [load->delivered] <= held)
                load->held_ns [load->delivered++] = now;
        }
        usleep (500);
    }
    zpoller_destroy (&poller);
    fed_client_destroy (&a);
    fed_client_destroy (&c.client);
}

//  Delivery (to C) and acknowledgement times in ms of the live events sent
//  in [from_ns, to_ns).
static size_t
s_load_window (const load_t *load, int64_t from_ns, int64_t to_ns, double *deliver, double *ack)
{
    size_t count = 0;
    for (size_t i = 0; i < load->delivered; i++)
        if (load->sent_ns [i] >= from_ns && load->sent_ns [i] < to_ns) {
            deliver [count] = (double) (load->held_ns [i] - load->sent_ns [i]) / 1e6;
            ack [count++] = (double) (load->acked_ns [i] - load->sent_ns [i]) / 1e6;
        }
    return count;
}

//  --- live appends in-process ------------------------------------------------------

typedef struct {
    fed_node_t *node;
    repl_t *repl;
    uint64_t appended;
    int64_t start_ns, end_ns;
} writer_t;

//  Actor: appends for LIVE_MS, one event per call, then waits for $TERM.
static void
s_writer (zsock_t *pipe, void *arg)
{
    writer_t *writer = (writer_t *) arg;
    zsock_signal (pipe, 0);
    writer->start_ns = bench_now_ns ();
    int64_t end = writer->start_ns + LIVE_MS * 1000000LL;
    fed_err_t err;
    while (bench_now_ns () < end && !bench_interrupted) {
        if (fed_node_append (writer->node, TYPE, writer->repl->body, writer->repl->body_size, NULL,
                             &err)) {
            fprintf (stderr, "bench_repl: live append: %s\n", err.text);
            break;
        }
        writer->appended++;
    }
    writer->end_ns = bench_now_ns ();
    zsock_signal (pipe, 0);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

typedef struct {
    double append_rate, stored_rate, lag_ms;
} live_t;

static int
s_live (repl_t *self, live_t *result)
{
    char *dir = fed_sprintf ("%s/l", self->work);
    FILE *file = fopen (self->config, "r");
    char text [8192];
    size_t size = file ? fread (text, 1, sizeof text, file) : 0;
    if (file)
        fclose (file);
    fed_err_t err;
    fed_config_t *config = fed_config_new ();
    char peer [64], control [64];
    snprintf (peer, sizeof peer, "tcp://127.0.0.1:%d", self->live_ports [0]);
    snprintf (control, sizeof control, "tcp://127.0.0.1:%d", self->live_ports [1]);
    if (fed_config_load_string (config, text, size, self->config, &err)
        || fed_config_set (config, "data_dir", dir, &err)
        || fed_config_set (config, "node.name", "l", &err)
        || fed_config_set (config, "listen.peer", peer, &err)
        || fed_config_set (config, "listen.control", control, &err)
        || fed_config_check (config, &err))
        s_fail ("live config", err.text);
    fed_node_t *node = fed_node_new (config, &err);
    if (!node || fed_node_start (node, &err))
        s_fail ("live node", err.text);
    //  live_b seeds from the in-process node: a bench_node_t view of it.
    bench_node_t seed = {.peer_port = self->live_ports [0]};
    memcpy (seed.id, self->live_id, sizeof seed.id);
    bench_node_t *b = &self->live_b;
    int rc = -1;
    size_t alive;
    uint64_t seq = 0;
    if (bench_node_start (b, self->fednode, self->config, &seed) || bench_node_connect (b, 10000))
        goto done;
    int64_t deadline = bench_now_ns () + 10000000000LL;
    while (seq < 1 && bench_now_ns () < deadline)
        if (bench_members (b->client, "l", &seq, &alive) || seq < 1)
            usleep (POLL_US);
    if (seq < 1) {
        fprintf (stderr, "bench_repl: live B never heard from the in-process node\n");
        goto done;
    }
    uint64_t base = seq;
    writer_t writer = {node, self, 0, 0, 0};
    zactor_t *actor = zactor_new (s_writer, &writer);
    //  B's seq over time: (ns, seq) pairs.
    size_t max = 20000, count = 0;
    int64_t *at = (int64_t *) fed_calloc (max, sizeof (int64_t));
    uint64_t *held = (uint64_t *) fed_calloc (max, sizeof (uint64_t));
    zpoller_t *poller = zpoller_new (actor, NULL);
    while (!zpoller_wait (poller, 0) && count < max && !bench_interrupted) {
        if (bench_members (b->client, "l", &seq, &alive) == 0) {
            at [count] = bench_now_ns ();
            held [count++] = seq;
        }
        usleep (POLL_US);
    }
    zsock_wait (actor);
    uint64_t last = base + writer.appended;
    deadline = bench_now_ns () + 60000000000LL;
    while (seq < last && bench_now_ns () < deadline && !bench_interrupted)
        if (bench_members (b->client, "l", &seq, &alive) || seq < last)
            usleep (500);
    int64_t caught = bench_now_ns ();
    //  B's rate over the writer's window: the samples nearest its ends.
    size_t i0 = 0, i1 = count ? count - 1 : 0;
    while (i0 + 1 < count && at [i0] < writer.start_ns)
        i0++;
    while (i1 > i0 && at [i1] > writer.end_ns)
        i1--;
    double window = (double) (writer.end_ns - writer.start_ns) / 1e9;
    result->append_rate = (double) writer.appended / window;
    result->stored_rate =
        i1 > i0 ? (double) (held [i1] - held [i0]) * 1e9 / (double) (at [i1] - at [i0]) : 0;
    result->lag_ms = seq >= last ? (double) (caught - writer.end_ns) / 1e6 : -1;
    rc = seq >= last ? 0 : -1;
    zpoller_destroy (&poller);
    zactor_destroy (&actor);
    free (at);
    free (held);
done:
    bench_node_stop (b);
    fed_node_destroy (&node);
    fed_config_destroy (&config);
    free (dir);
    return rc;
}

//  --- report ----------------------------------------------------------------------

//  One rate, in events/s and MB/s (of events of event_bytes on average),
//  beside baseline (if not 0) with the goals.
static void
s_print_rate (const char *name, double rate, double event_bytes, double baseline)
{
    printf ("%-40s %8.0f events/s %6.1f MB/s", name, rate, rate * event_bytes / 1e6);
    if (baseline > 0)
        printf ("  baseline %8.0f/s  ratio %5.2f  goal >= %.1f %s, >= %.0f/s %s", baseline,
                rate / baseline, RATIO_GOAL, rate / baseline >= RATIO_GOAL ? "PASS" : "BELOW",
                RATE_GOAL, rate >= RATE_GOAL ? "PASS" : "BELOW");
    printf ("\n");
    fflush (stdout);
}

//  "median M ms, p99 P ms, max X ms (N)" of samples.
static void
s_print_times (const char *name, double *samples, size_t count)
{
    double median = bench_median (samples, count);
    double p99 = bench_percentile (samples, count, 0.99);
    double max = count ? samples [count - 1] : 0;
    printf ("  %-38s median %7.1f ms  p99 %7.1f ms  max %7.1f ms  (%zu)\n", name, median, p99, max,
            count);
}

static int
s_run (repl_t *self)
{
    //  --- raw baseline: RUNS runs (before any node: one ZAP handler per process)
    raw_t raw = {.repl = self};
    crypto_box_keypair (raw.server_public, raw.server_secret);
    crypto_box_keypair (raw.client_public, raw.client_secret);
    fed_err_t err;
    fed_zap_t *zap = fed_zap_new (&err);
    if (!zap)
        s_fail ("ZAP handler", err.text);
    fed_zap_allow (zap, DOMAIN, raw.client_public, "bench-client");
    double raw_rates [RUNS];
    for (int run = 0; run < RUNS; run++)
        raw_rates [run] = s_raw_rate (self, zap, &raw);
    fed_zap_destroy (&zap);
    double raw_rate = bench_median (raw_rates, RUNS);

    //  --- catch-up: A holds the events, RUNS new Bs. A first finishes its
    //  start-up work (indexing the ids of the events appended offline).
    if (bench_node_start (&self->a, self->fednode, self->config, NULL)
        || bench_node_connect (&self->a, 10000))
        return -1;
    bench_wait_idle (self->a.pid, 20000);
    uint64_t a_seq;
    if (s_seq_of_a (&self->a, &a_seq))
        return -1;
    double rates [RUNS], totals [RUNS], firsts [RUNS], cpu_a [RUNS], cpu_b [RUNS], dups [RUNS];
    catchup_t runs [RUNS];
    for (int run = 0; run < RUNS; run++) {
        if (s_catch_up (self, &self->b [run], a_seq, CONVERGE_S, &runs [run]))
            return -1;
        bench_node_stop (&self->b [run]);
        rates [run] = runs [run].rate;
        totals [run] = runs [run].total_s;
        firsts [run] = runs [run].first_ms;
        cpu_a [run] = runs [run].cpu_a;
        cpu_b [run] = runs [run].cpu_b;
        dups [run] = runs [run].duplicates / (double) self->events;
        bench_wait_idle (self->a.pid, 5000);
    }

    //  --- under load: C catches up and settles; then A publishes live
    //  events, first with nothing else going on, then while D catches up.
    catchup_t c_run, d_run;
    if (s_catch_up (self, &self->c, a_seq, CONVERGE_S, &c_run))
        return -1;
    bench_wait_idle (self->c.pid, 20000);
    size_t max = (size_t) (CONVERGE_S * 1000 / LOAD_PERIOD_MS);
    self->load = (load_t){.sent_ns = fed_calloc (max, sizeof (int64_t)),
                          .acked_ns = fed_calloc (max, sizeof (int64_t)),
                          .held_ns = fed_calloc (max, sizeof (int64_t)),
                          .seq = fed_calloc (max, sizeof (uint64_t)),
                          .max = max};
    int64_t quiet_ns = bench_now_ns ();
    zactor_t *load = zactor_new (s_load_actor, self);
    usleep (LOAD_BEFORE_MS * 1000);
    //  D must get everything A held before the load started.
    int64_t d_ns = bench_now_ns ();
    int d_rc = s_catch_up (self, &self->d, a_seq, LOAD_LIMIT_S, &d_run);
    int64_t d_done_ns = bench_now_ns ();
    zactor_destroy (&load); //  stops publishing; waits for C to hold the rest
    if (d_rc < 0)
        return -1;
    bench_node_stop (&self->d);
    bench_node_stop (&self->c);
    bench_node_stop (&self->a);

    //  --- live appends
    live_t live = {0};
    int live_rc = s_live (self, &live);

    printf ("bench_repl: %.1f-byte events on average (body %zu bytes, type %s), %zu on A, %d per "
            "message; durability wal; MB = 10^6 bytes of events; medians of %d runs\n",
            (double) self->chain_bytes / (double) self->events, self->body_size, TYPE, self->events,
            BATCH, RUNS);
    double event_bytes = (double) self->chain_bytes / (double) self->events;
    s_print_rate ("baseline raw CURVE DEALER->ROUTER+WriteBatch", raw_rate, event_bytes, 0);
    s_print_rate ("replication A->B, 2 fednode processes", bench_median (rates, RUNS), event_bytes,
                  raw_rate);
    printf ("  %-38s A %.2f, B %.2f CPU-s/s; %.2f duplicates per event stored\n",
            "while transferring (medians)", bench_median (cpu_a, RUNS), bench_median (cpu_b, RUNS),
            bench_median (dups, RUNS));
    printf ("  %-38s B sent %.0f WANTs, got %.0f DIGESTs, took in %.0f events for %zu\n",
            "last run", runs [RUNS - 1].wants, runs [RUNS - 1].digests, runs [RUNS - 1].received,
            self->events);
    printf ("%-40s %8.2f s  (first of A's events on B after %.0f ms; runs %.2f %.2f %.2f s)\n",
            "catch-up, B behind by all of A's events", bench_median (totals, RUNS),
            bench_median (firsts, RUNS), runs [0].total_s, runs [1].total_s, runs [2].total_s);
    s_print_times ("B's members round trip meanwhile", runs [RUNS - 1].poll_ms,
                   runs [RUNS - 1].polls);
    if (d_rc == 0)
        printf ("%-40s %8.2f s  (C alone, before: %.2f s)\n", "catch-up under live load (node D)",
                d_run.total_s, c_run.total_s);
    else
        printf ("%-40s   > %d s  (cut off holding %" PRIu64 " of %" PRIu64 "; C alone, before: "
                "%.2f s)\n",
                "catch-up under live load (node D)", LOAD_LIMIT_S, d_run.held, a_seq,
                c_run.total_s);
    printf ("  %-38s D sent %.0f WANTs, got %.0f DIGESTs, took in %.0f events (%.0f duplicates, "
            "%.0f ahead of a gap)\n",
            "D's intake", d_run.wants, d_run.digests, d_run.received, d_run.duplicates,
            d_run.buffered);
    double *deliver = fed_calloc (self->load.count + 1, sizeof (double));
    double *ack = fed_calloc (self->load.count + 1, sizeof (double));
    size_t before = s_load_window (&self->load, quiet_ns, d_ns, deliver, ack);
    double before_s = (double) (d_ns - quiet_ns) / 1e9;
    printf ("  live events published on A (one at most every %d ms), %zu of %zu seen on C:\n",
            LOAD_PERIOD_MS, self->load.delivered, self->load.count);
    printf ("  %-38s %.0f/s\n", "before D", (double) before / before_s);
    s_print_times ("until C holds it, before D", deliver, before);
    s_print_times ("acknowledged by A, before D", ack, before);
    size_t count = s_load_window (&self->load, d_ns, d_done_ns, deliver, ack);
    printf ("  %-38s %.0f/s\n", "during D's catch-up",
            (double) count * 1e9 / (double) (d_done_ns - d_ns));
    s_print_times ("until C holds it, during D's catch-up", deliver, count);
    s_print_times ("acknowledged by A, during", ack, count);
    s_print_times ("D's members round trip meanwhile", d_run.poll_ms, d_run.polls);
    free (deliver);
    free (ack);
    if (live_rc == 0)
        printf ("%-40s %8.0f events/s  A appended %8.0f/s  ratio %5.2f  B held the last %.0f "
                "ms after the writer stopped\n",
                "live: B stored while A appends", live.stored_rate, live.append_rate,
                live.stored_rate / live.append_rate, live.lag_ms);
    else
        printf ("live: not measured (see above)\n");
    fflush (stdout);
    for (int run = 0; run < RUNS; run++)
        free (runs [run].poll_ms);
    free (c_run.poll_ms);
    free (d_run.poll_ms);
    free (self->load.sent_ns);
    free (self->load.acked_ns);
    free (self->load.held_ns);
    free (self->load.seq);
    return 0;
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    fed_log_set_level (FED_LOG_ERROR);
    bench_signals ();
    zsys_set_io_threads (2);
    zsys_init ();
    repl_t self;
    memset (&self, 0, sizeof self);
    const char *events = getenv ("FED_BENCH_REPL_EVENTS");
    self.events = events && atol (events) > 0 ? (size_t) atol (events) : EVENTS;
    self.fednode = bench_fednode_path ("bench_repl");
    const char *tmp = getenv ("TMPDIR");
    self.work = fed_sprintf ("%s/fed-bench-repl-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (self.work))
        s_fail ("mkdtemp", strerror (errno));
    int ports [16];
    bench_free_ports (ports, 16, 1, "bench_repl");
    bench_node_init (&self.a, self.work, "a", ports [0], ports [1]);
    for (int run = 0; run < RUNS; run++) {
        char name [8];
        snprintf (name, sizeof name, "b%d", run + 1);
        bench_node_init (&self.b [run], self.work, name, ports [2 + 2 * run], ports [3 + 2 * run]);
    }
    bench_node_init (&self.c, self.work, "c", ports [8], ports [9]);
    bench_node_init (&self.d, self.work, "d", ports [10], ports [11]);
    bench_node_init (&self.live_b, self.work, "lb", ports [12], ports [13]);
    self.live_ports [0] = ports [14];
    self.live_ports [1] = ports [15];
    {
        char *dir = fed_sprintf ("%s/l", self.work);
        fed_err_t err;
        fed_identity_t *identity = fed_identity_open (dir, NULL, &err);
        if (!identity)
            s_fail ("live identity", err.text);
        snprintf (self.live_id, sizeof self.live_id, "%s", fed_identity_id (identity));
        fed_identity_destroy (&identity);
        free (dir);
    }
    s_make_body (&self);
    s_write_config (&self);
    s_prepare_a (&self);
    int rc = s_run (&self);

    bench_node_t *nodes [] = {&self.a, &self.b [0], &self.b [1], &self.b [2],
                              &self.c, &self.d,     &self.live_b};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes [0]; i++)
        bench_node_free (nodes [i]);
    if (nftw (self.work, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf (stderr, "bench_repl: cannot remove %s\n", self.work);
    for (size_t i = 0; self.chain && i < self.events; i++)
        free ((void *) self.chain [i].data);
    free (self.chain);
    free (self.body);
    free (self.config);
    free (self.fednode);
    free (self.work);
    return rc ? 1 : 0;
}
