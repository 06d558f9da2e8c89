/*  tests/bench/bench_control.c: what a control round trip costs, beside a
    bare CURVE REQ/REP round trip measured in the same run
    (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it
    always exits 0 (1 only if something it measures fails outright).

      fednode    a node started in-process (libfednode) on a temp dir and
                 free loopback ports; a fed_client with the data dir's
                 admin.key sends `status` ROUNDS times, one at a time.
      baseline   a REP socket in a thread, bound with the node's own CURVE
                 server keys on another port in the node's ZAP domain
                 "control" (the node's ZAP handler admits the admin key
                 there), and a REQ client with the admin's CURVE keys: it
                 sends the same request bytes and gets back a reply of the
                 same size as the status reply, ROUNDS times.

    Each side first runs WARMUP untimed round trips (connection and CURVE
    handshake included there). Reports median and p99 in microseconds.
*/
#include "benchutil.h"
#include <czmq.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "client.h"
#include "benchecho.h"
#include "config.h"
#include "ctlmsg.h"
#include "curve.h"
#include "identity.h"
#include "log.h"
#include "node.h"

#define ROUNDS 5000
#define WARMUP 200
#define TIMEOUT_MS 5000

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  Two distinct loopback TCP ports nobody listens on now (both probes are
//  held until both are known, so they differ).
static void
s_free_ports (int *first, int *second)
{
    zsock_t *probe1 = zsock_new (ZMQ_REP), *probe2 = zsock_new (ZMQ_REP);
    *first = zsock_bind (probe1, "tcp://127.0.0.1:*");
    *second = zsock_bind (probe2, "tcp://127.0.0.1:*");
    zsock_destroy (&probe1);
    zsock_destroy (&probe2);
    if (*first < 0 || *second < 0) {
        fprintf (stderr, "bench_control: cannot find a free port\n");
        exit (1);
    }
}

static void
s_fail (const char *what, const char *text)
{
    fprintf (stderr, "bench_control: %s: %s\n", what, text);
    exit (1);
}

//  --- baseline: the echo server (benchecho.h) -----------------------------------

//  ROUNDS REQ/REP round trips of request (size bytes) to the echo server;
//  fills samples (µs).
static void
s_raw_rounds (const fed_identity_t *client, const fed_identity_t *server, int port,
              const void *request, size_t size, double *samples)
{
    zsock_t *req = zsock_new (ZMQ_REQ);
    fed_socket_defaults (req, FED_CLIENT_MAX_MESSAGE);
    fed_curve_client (req, fed_identity_curve_secret (client), fed_identity_curve_public (client),
                      fed_identity_curve_public (server));
    zsock_set_rcvtimeo (req, TIMEOUT_MS);
    if (zsock_connect (req, "tcp://127.0.0.1:%d", port) < 0)
        s_fail ("raw connect", zmq_strerror (zmq_errno ()));
    for (int i = 0; i < WARMUP + ROUNDS; i++) {
        int64_t start = fed_bench_now_ns ();
        zframe_t *frame = zframe_new (request, size);
        if (zframe_send (&frame, req, 0))
            s_fail ("raw send", zmq_strerror (zmq_errno ()));
        zframe_t *reply = zframe_recv (req);
        if (!reply)
            s_fail ("raw reply", "none within 5 s (ZAP refused the admin key?)");
        zframe_destroy (&reply);
        if (i >= WARMUP)
            samples [i - WARMUP] = (double) (fed_bench_now_ns () - start) / 1000.0;
    }
    zsock_destroy (&req);
}

//  --- fednode: status through fed_client ------------------------------------------

//  ROUNDS status calls; fills samples (µs) and *reply_size with the size
//  of the last reply frame.
static void
s_status_rounds (fed_client_t *client, const void *request, size_t size, double *samples,
                 size_t *reply_size)
{
    for (int i = 0; i < WARMUP + ROUNDS; i++) {
        uint8_t *reply;
        fed_blob_t result;
        char code [64];
        fed_err_t err;
        int64_t start = fed_bench_now_ns ();
        fed_client_status_t status = fed_client_call (client, request, size, TIMEOUT_MS, &reply,
                                                      reply_size, &result, code, sizeof code, &err);
        int64_t end = fed_bench_now_ns ();
        if (status != FED_CLIENT_OK)
            s_fail ("status", err.text);
        free (reply);
        if (i >= WARMUP)
            samples [i - WARMUP] = (double) (end - start) / 1000.0;
    }
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    fed_log_set_level (FED_LOG_WARN);
    const char *tmp = getenv ("TMPDIR");
    char *dir = fed_sprintf ("%s/fed-bench-control-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (dir)) {
        perror ("bench_control: mkdtemp");
        return 1;
    }
    char *data_dir = fed_sprintf ("%s/node", dir);
    int control_port, peer_port;
    s_free_ports (&control_port, &peer_port);
    char *control = fed_sprintf ("tcp://127.0.0.1:%d", control_port);
    char *peer = fed_sprintf ("tcp://127.0.0.1:%d", peer_port);

    fed_err_t err = {0};
    fed_config_t *config = fed_config_new ();
    if (fed_config_set (config, "data_dir", data_dir, &err)
        || fed_config_set (config, "listen.control", control, &err)
        || fed_config_set (config, "listen.peer", peer, &err) || fed_config_check (config, &err))
        s_fail ("config", err.text);
    fed_node_t *node = fed_node_new (config, &err);
    if (!node)
        s_fail ("node", err.text);
    if (fed_node_start (node, &err))
        s_fail ("node start", err.text);

    char *admin_path = fed_sprintf ("%s/admin.key", data_dir);
    fed_identity_t *admin = fed_identity_load (admin_path, &err);
    if (!admin)
        s_fail ("admin.key", err.text);
    const fed_identity_t *server = fed_node_identity (node);
    fed_client_t *client = fed_client_new (control, admin, fed_identity_public (server), &err);
    if (!client)
        s_fail ("client", err.text);

    //  The request both sides send: [1, "status", {}].
    msgpack_sbuffer request;
    msgpack_sbuffer_init (&request);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &request, msgpack_sbuffer_write);
    fed_ctl_request_begin (&pk, "status", 0);

    double *status_us = (double *) calloc (ROUNDS, sizeof (double));
    double *raw_us = (double *) calloc (ROUNDS, sizeof (double));
    size_t reply_size = 0;
    s_status_rounds (client, request.data, request.size, status_us, &reply_size);

    bench_echo_args_t echo = {server, reply_size, 0};
    zactor_t *echo_actor = zactor_new (bench_echo_actor, &echo);
    int raw_port = -1;
    if (zsock_recv (echo_actor, "i", &raw_port) || raw_port < 0)
        s_fail ("raw bind", "cannot bind the echo server");
    s_raw_rounds (admin, server, raw_port, request.data, request.size, raw_us);
    zactor_destroy (&echo_actor);

    double status_median, status_p99, raw_median, raw_p99;
    fed_bench_stats (status_us, ROUNDS, &status_median, &status_p99);
    fed_bench_stats (raw_us, ROUNDS, &raw_median, &raw_p99);
    printf ("bench_control: %d round trips each after %d warm-up; request %zu bytes, "
            "reply %zu bytes\n",
            ROUNDS, WARMUP, request.size, reply_size);
    printf ("control status round trip: median %.0f us, p99 %.0f us; raw CURVE REQ/REP: "
            "median %.0f us, p99 %.0f us; ratio (median) %.2f\n",
            status_median, status_p99, raw_median, raw_p99, status_median / raw_median);
    fflush (stdout);

    free (status_us);
    free (raw_us);
    msgpack_sbuffer_destroy (&request);
    fed_client_destroy (&client);
    fed_identity_destroy (&admin);
    fed_node_destroy (&node);
    fed_config_destroy (&config);
    if (nftw (dir, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf (stderr, "bench_control: cannot remove %s\n", dir);
    free (admin_path);
    free (control);
    free (peer);
    free (data_dir);
    free (dir);
    return 0;
}
