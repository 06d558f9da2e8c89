/*  tests/bench/repl_probe.c: times how one event spreads through a cluster
    of running fednode processes (bench_propagation.sh starts them; this
    helper only talks to their control sockets).

        repl_probe settle TIMEOUT_S DIR=ENDPOINT...
            waits until every node lists all of them as alive members and
            holds at least one event per node (every node.started has
            spread). Exit 0, or 1 with the laggards named.
        repl_probe propagate SAMPLES WAIT_MS DIR=ENDPOINT...
            first every node publishes one untimed user.warmup event (as
            the nodes of a running cluster have published before) and
            all of them spread. Then SAMPLES times: a long poll
            (events.tail of type user.probe, wait_ms) is parked on every
            node, one thread and one control client per node; ARM_MS
            plus a random 0..JITTER_MS later, the next node in turn
            publishes one user.probe event. (The end of a sample is tied
            to some node's gossip round; the jitter puts each publish at a
            random phase of the rounds.) Each thread notes when its poll
            is answered. One line per sample:
                sample K publisher I ack MS arrivals MS MS ...
            in ms from the publish request being sent, arrivals sorted;
            "lost" for a node that did not get it within WAIT_MS, and
            "late-armed" after ack if a poll was sent after the publish.

    A parked poll is answered on the node's loop turn after the event is
    stored (the node re-checks parked polls on a 1 ms one-shot timer), and
    the answer takes one control hop: an arrival time is late by about
    1-2 ms, the same for every node, and needs no polling.

    DIR is a node's data dir (admin.key and node.pub are read there).
*/
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchnode.h"
#include "log.h"

#define ARM_MS 50
#define JITTER_MS 200 //  a publish at a random phase of the nodes' gossip rounds
#define PAUSE_MS 20
#define TYPE "user.probe"

typedef struct {
    char *dir, *endpoint; //  owned
    zactor_t *actor;      //  the node's long-poll thread
    fed_client_t *client; //  the main thread's own client (publish, settle)
    int wait_ms;
} probe_node_t;

//  Actor: one control client; on "ARM" parks a long poll and answers with
//  (found, ns when the answer came, ns when the poll was sent).
static void
s_poller (zsock_t *pipe, void *arg)
{
    probe_node_t *node = (probe_node_t *) arg;
    fed_client_t *client = bench_client (node->dir, node->endpoint);
    uint64_t cursor = UINT64_MAX;
    bool found;
    int rc = client ? bench_tail (client, TYPE, &cursor, 0, &found) : -1;
    zsock_signal (pipe, rc == 0 ? 0 : 1);
    while (rc == 0) {
        char *command = zstr_recv (pipe);
        bool arm = command && streq (command, "ARM");
        zstr_free (&command);
        if (!arm)
            break;
        int64_t sent = bench_now_ns ();
        found = false;
        if (bench_tail (client, TYPE, &cursor, node->wait_ms, &found))
            found = false;
        int64_t answered = bench_now_ns ();
        zsock_send (pipe, "i88", found ? 1 : 0, answered, sent);
    }
    fed_client_destroy (&client);
}

static int
s_parse (probe_node_t *nodes, int count, char **args)
{
    for (int i = 0; i < count; i++) {
        char *eq = strchr (args [i], '=');
        if (!eq) {
            fprintf (stderr, "repl_probe: expected DIR=ENDPOINT, got %s\n", args [i]);
            return -1;
        }
        nodes [i].dir = fed_strndup (args [i], (size_t) (eq - args [i]));
        nodes [i].endpoint = fed_strdup (eq + 1);
    }
    return 0;
}

//  The main thread's client of node (a node just started may not have
//  written its admin.key and node.pub yet: NULL until it has).
static fed_client_t *
s_client (probe_node_t *node)
{
    if (!node->client)
        node->client = bench_client (node->dir, node->endpoint);
    return node->client;
}

static int
s_settle (probe_node_t *nodes, int count, int timeout_s)
{
    int64_t deadline = bench_now_ns () + (int64_t) timeout_s * 1000000000;
    while (!bench_interrupted && bench_now_ns () < deadline) {
        int lagging = -1;
        for (int i = 0; i < count && lagging < 0; i++) {
            size_t alive = 0;
            uint64_t events = 0, unused;
            if (!s_client (&nodes [i]) || bench_members (nodes [i].client, NULL, &unused, &alive)
                || bench_events (nodes [i].client, &events) || alive < (size_t) count
                || events < (uint64_t) count)
                lagging = i;
        }
        if (lagging < 0)
            return 0;
        usleep (20000);
    }
    for (int i = 0; i < count; i++) {
        size_t alive = 0;
        uint64_t events = 0, unused;
        if (s_client (&nodes [i])) {
            (void) bench_members (nodes [i].client, NULL, &unused, &alive);
            (void) bench_events (nodes [i].client, &events);
        }
        if (alive < (size_t) count || events < (uint64_t) count)
            fprintf (stderr, "repl_probe: %s sees %zu of %d alive and holds %llu events\n",
                     nodes [i].dir, alive, count, (unsigned long long) events);
    }
    return -1;
}

static int
s_propagate (probe_node_t *nodes, int count, int samples, int wait_ms)
{
    for (int i = 0; i < count; i++)
        if (!s_client (&nodes [i])) {
            fprintf (stderr, "repl_probe: no control client for %s\n", nodes [i].dir);
            return -1;
        }
    for (int i = 0; i < count; i++) {
        nodes [i].wait_ms = wait_ms;
        nodes [i].actor = zactor_new (s_poller, &nodes [i]);
    }
    //  Warm-up: every node publishes once, untimed, as the nodes of a running
    //  cluster have, and all of those spread before the first sample.
    for (int i = 0; i < count; i++)
        if (bench_publish (nodes [i].client, "user.warmup", (const uint8_t *) "\x80", 1, NULL)) {
            fprintf (stderr, "repl_probe: publish on %s failed\n", nodes [i].dir);
            return -1;
        }
    int64_t deadline = bench_now_ns () + (int64_t) wait_ms * 1000000;
    for (int i = 0; i < count && !bench_interrupted; i++) {
        uint64_t events = 0;
        while ((bench_events (nodes [i].client, &events) || events < 2 * (uint64_t) count)
               && bench_now_ns () < deadline)
            usleep (10000);
        if (events < 2 * (uint64_t) count) {
            fprintf (stderr, "repl_probe: the warm-up events did not reach %s\n", nodes [i].dir);
            return -1;
        }
    }
    double *arrivals = (double *) fed_calloc ((size_t) count, sizeof (double));
    for (int k = 0; k < samples && !bench_interrupted; k++) {
        for (int i = 0; i < count; i++)
            zstr_send (nodes [i].actor, "ARM");
        usleep ((useconds_t) (ARM_MS + rand () % JITTER_MS) * 1000);
        int publisher = k % count;
        int64_t start = bench_now_ns ();
        if (bench_publish (nodes [publisher].client, TYPE, (const uint8_t *) "\x80", 1, NULL)) {
            fprintf (stderr, "repl_probe: publish on %s failed\n", nodes [publisher].dir);
            return -1;
        }
        double ack = (double) (bench_now_ns () - start) / 1e6;
        int lost = 0, late = 0;
        for (int i = 0; i < count; i++) {
            int found = 0;
            int64_t answered = 0, sent = 0;
            if (zsock_recv (nodes [i].actor, "i88", &found, &answered, &sent))
                return -1;
            late += sent > start; //  parked after the publish: would read late
            if (found)
                arrivals [i - lost] = (double) (answered - start) / 1e6;
            else
                lost++;
        }
        bench_median (arrivals, (size_t) (count - lost)); //  sorts them
        printf ("sample %d publisher %d ack %.2f%s arrivals", k, publisher, ack,
                late ? " late-armed" : "");
        for (int i = 0; i < count - lost; i++)
            printf (" %.2f", arrivals [i]);
        for (int i = 0; i < lost; i++)
            printf (" lost");
        printf ("\n");
        fflush (stdout);
        usleep (PAUSE_MS * 1000);
    }
    free (arrivals);
    return 0;
}

int
main (int argc, char *argv [])
{
    if (argc < 4 || (strcmp (argv [1], "settle") && strcmp (argv [1], "propagate"))
        || (!strcmp (argv [1], "propagate") && argc < 5)) {
        fprintf (stderr,
                 "usage: repl_probe settle TIMEOUT_S DIR=ENDPOINT...\n"
                 "       repl_probe propagate SAMPLES WAIT_MS DIR=ENDPOINT...\n");
        return 2;
    }
    fed_log_set_level (FED_LOG_ERROR);
    bench_signals ();
    zsys_init ();
    srand ((unsigned) getpid ());
    bool settle = !strcmp (argv [1], "settle");
    int first = settle ? 3 : 4;
    int count = argc - first;
    probe_node_t *nodes = (probe_node_t *) fed_calloc ((size_t) count, sizeof (probe_node_t));
    int rc = s_parse (nodes, count, argv + first);
    if (rc == 0)
        rc = settle ? s_settle (nodes, count, atoi (argv [2]))
                    : s_propagate (nodes, count, atoi (argv [2]), atoi (argv [3]));
    for (int i = 0; i < count; i++) {
        zactor_destroy (&nodes [i].actor);
        fed_client_destroy (&nodes [i].client);
        free (nodes [i].dir);
        free (nodes [i].endpoint);
    }
    free (nodes);
    return rc ? 1 : 0;
}
