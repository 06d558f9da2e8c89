/*  tests/bench/bench_zmq.c: what raw libzmq does on this machine, with no
    security (the NULL mechanism) and with CURVE, so that the peer protocol
    benchmarks of later issues have a ceiling measured in the same kind of
    run (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it
    always exits 0 (1 only if something it measures fails outright).

      throughput  a PUSH socket in a thread sends 1 KiB messages as fast as
                  it can to a PULL socket over tcp://127.0.0.1 (one message
                  per frame, zmq_send/zmq_recv on the raw handles); the main
                  thread counts COUNT of them after WARMUP untimed ones
                  (connection and CURVE handshake fall there).
      latency     a REQ client sends a 1 KiB request to a REP echo in a
                  thread, which answers with 1 KiB, one at a time: ROUNDS
                  round trips after WARMUP_ROUNDS untimed ones; median and
                  99th percentile. The NULL and the CURVE connection are
                  both open and take turns in blocks of BLOCK round trips.

    Both run twice: NULL mechanism (the baseline) and CURVE, where the
    binding side is a CURVE server in ZAP domain DOMAIN, the ZAP handler of
    proto/curve.h admitting the client's key there, as a node's sockets
    are. Every socket carries fed_socket_defaults, so the only difference
    between the two runs is the mechanism. The process has two libzmq I/O
    threads and each end of a connection is pinned to one of them
    (ZMQ_AFFINITY), as two nodes would each have their own.
*/
#include "benchutil.h"
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "curve.h"
#include "log.h"

#define MSG_SIZE 1024
#define COUNT 200000
#define WARMUP 2000
#define ROUNDS 5000
#define WARMUP_ROUNDS 200
#define BLOCK 500
#define TIMEOUT_MS 5000
#define MAX_MESSAGE (4 * 1024 * 1024)
#define DOMAIN "bench"

//  CURVE keys of both ends (raw 32-byte keys).
typedef struct {
    uint8_t server_public [32];
    uint8_t server_secret [32];
    uint8_t client_public [32];
    uint8_t client_secret [32];
} keys_t;

//  What a thread of one run needs; the run owns it.
typedef struct {
    const keys_t *keys; //  NULL for the NULL mechanism; not owned
    int port;           //  the main thread's bound port (sender), or 0
} run_args_t;

static void
s_fail (const char *what, const char *text)
{
    fprintf (stderr, "bench_zmq: %s: %s\n", what, text);
    exit (1);
}

//  A socket with the node's options; a CURVE server or client when keys is
//  set; the server on the second I/O thread, the client on the first.
//  Caller destroys it.
static zsock_t *
s_socket (int type, const keys_t *keys, bool server)
{
    zsock_t *sock = zsock_new (type);
    fed_socket_defaults (sock, MAX_MESSAGE);
    if (keys && server)
        fed_curve_server (sock, keys->server_secret, keys->server_public, DOMAIN);
    else if (keys)
        fed_curve_client (sock, keys->client_secret, keys->client_public, keys->server_public);
    //  Each end on an I/O thread of its own, as in two nodes; left to
    //  libzmq, CURVE ran at about two thirds of the pinned rate here.
    zsock_set_affinity (sock, server ? 2 : 1);
    zsock_set_sndtimeo (sock, TIMEOUT_MS);
    zsock_set_rcvtimeo (sock, TIMEOUT_MS);
    return sock;
}

//  --- Throughput -----------------------------------------------------------------

//  Actor: connects a PUSH to args->port and sends WARMUP + COUNT messages,
//  then waits for $TERM (linger is 0: closing earlier could drop the tail).
//  A send that times out (the receiver gave up) ends the sending.
static void
s_sender_actor (zsock_t *pipe, void *arg)
{
    run_args_t *args = (run_args_t *) arg;
    zsock_t *push = s_socket (ZMQ_PUSH, args->keys, false);
    zsock_signal (pipe, 0);
    if (zsock_connect (push, "tcp://127.0.0.1:%d", args->port) == 0) {
        void *handle = zsock_resolve (push);
        uint8_t message [MSG_SIZE];
        memset (message, 'x', sizeof message);
        for (int i = 0; i < WARMUP + COUNT; i++)
            if (zmq_send (handle, message, sizeof message, 0) != MSG_SIZE)
                break;
    }
    char *command = zstr_recv (pipe);
    zstr_free (&command);
    zsock_destroy (&push);
}

//  Messages per second from a sender thread to a PULL here.
static double
s_throughput (const keys_t *keys)
{
    zsock_t *pull = s_socket (ZMQ_PULL, keys, true);
    int port = zsock_bind (pull, "tcp://127.0.0.1:*");
    if (port < 0)
        s_fail ("bind", zmq_strerror (zmq_errno ()));
    run_args_t args = {keys, port};
    zactor_t *sender = zactor_new (s_sender_actor, &args);
    void *handle = zsock_resolve (pull);
    uint8_t message [MSG_SIZE + 1];
    int64_t start = 0;
    for (int i = 0; i < WARMUP + COUNT; i++) {
        if (i == WARMUP)
            start = fed_bench_now_ns ();
        int size = zmq_recv (handle, message, sizeof message, 0);
        if (size != MSG_SIZE) {
            fprintf (stderr, "bench_zmq: message %d: expected %d bytes, got %d (%s)\n", i, MSG_SIZE,
                     size, size < 0 ? zmq_strerror (zmq_errno ()) : "wrong size");
            exit (1);
        }
    }
    double rate = (double) COUNT * 1e9 / (double) (fed_bench_now_ns () - start);
    zactor_destroy (&sender);
    zsock_destroy (&pull);
    return rate;
}

//  --- Latency --------------------------------------------------------------------

//  Actor: a REP bound on a free loopback port (sent on the pipe after the
//  ready signal, -1 if it cannot bind), answering each request with
//  MSG_SIZE bytes until $TERM.
static void
s_echo_actor (zsock_t *pipe, void *arg)
{
    run_args_t *args = (run_args_t *) arg;
    zsock_t *rep = s_socket (ZMQ_REP, args->keys, true);
    int port = zsock_bind (rep, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port < 0 ? -1 : port);
    void *handle = zsock_resolve (rep);
    uint8_t message [MSG_SIZE + 1];
    memset (message, 'y', sizeof message);
    zpoller_t *poller = zpoller_new (pipe, rep, NULL);
    while (port >= 0) {
        if (zpoller_wait (poller, -1) != rep)
            break; //  $TERM, or interrupted
        if (zmq_recv (handle, message, sizeof message, 0) < 0
            || zmq_send (handle, message, MSG_SIZE, 0) != MSG_SIZE)
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&rep);
}

//  One REQ connected to its own REP echo thread.
typedef struct {
    run_args_t args; //  the echo thread's arguments
    zactor_t *echo;  //  the REP thread, owned
    zsock_t *req;    //  connected to it, owned
    double *samples; //  ROUNDS round trips (µs), owned
    size_t taken;    //  samples filled so far
} latency_t;

//  Starts the echo thread and connects to it.
static void
s_latency_open (latency_t *self, const keys_t *keys)
{
    self->args = (run_args_t){keys, 0};
    self->echo = zactor_new (s_echo_actor, &self->args);
    int port = -1;
    if (zsock_recv (self->echo, "i", &port) || port < 0)
        s_fail ("echo bind", "cannot bind a loopback port");
    self->req = s_socket (ZMQ_REQ, keys, false);
    if (zsock_connect (self->req, "tcp://127.0.0.1:%d", port) < 0)
        s_fail ("connect", zmq_strerror (zmq_errno ()));
    self->samples = (double *) calloc (ROUNDS, sizeof (double));
    self->taken = 0;
}

//  count round trips; timed ones are kept in samples.
static void
s_latency_rounds (latency_t *self, int count, bool timed)
{
    void *handle = zsock_resolve (self->req);
    uint8_t message [MSG_SIZE + 1];
    memset (message, 'x', sizeof message);
    for (int i = 0; i < count; i++) {
        int64_t start = fed_bench_now_ns ();
        if (zmq_send (handle, message, MSG_SIZE, 0) != MSG_SIZE)
            s_fail ("request", zmq_strerror (zmq_errno ()));
        int size = zmq_recv (handle, message, sizeof message, 0);
        if (size != MSG_SIZE)
            s_fail ("reply", size < 0 ? "none within 5 s (ZAP refused the key?)" : "wrong size");
        if (timed && self->taken < ROUNDS)
            self->samples [self->taken++] = (double) (fed_bench_now_ns () - start) / 1000.0;
    }
}

static void
s_latency_close (latency_t *self)
{
    zsock_destroy (&self->req);
    zactor_destroy (&self->echo);
    free (self->samples);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    fed_log_set_level (FED_LOG_WARN);
    zsys_set_io_threads (2);
    zsys_init ();

    keys_t keys;
    crypto_box_keypair (keys.server_public, keys.server_secret);
    crypto_box_keypair (keys.client_public, keys.client_secret);
    fed_err_t err;
    fed_zap_t *zap = fed_zap_new (&err);
    if (!zap)
        s_fail ("ZAP handler", err.text);
    fed_zap_allow (zap, DOMAIN, keys.client_public, "bench-client");

    printf ("bench_zmq: %d-byte messages over tcp://127.0.0.1, 2 I/O threads; "
            "NULL mechanism = baseline\n",
            MSG_SIZE);
    double null_rate = s_throughput (NULL);
    double curve_rate = s_throughput (&keys);
    printf ("%-34s %10.0f msgs/s %8.1f MB/s\n", "baseline NULL PUSH->PULL", null_rate,
            null_rate * MSG_SIZE / 1e6);
    printf ("%-34s %10.0f msgs/s %8.1f MB/s  baseline %10.0f/s  ratio %6.2f\n", "CURVE PUSH->PULL",
            curve_rate, curve_rate * MSG_SIZE / 1e6, null_rate, curve_rate / null_rate);
    fflush (stdout);

    //  Both connections are up at once and take turns in blocks, so that
    //  both see the same load from whatever else runs on the machine.
    latency_t null_rt, curve_rt;
    s_latency_open (&null_rt, NULL);
    s_latency_open (&curve_rt, &keys);
    s_latency_rounds (&null_rt, WARMUP_ROUNDS, false);
    s_latency_rounds (&curve_rt, WARMUP_ROUNDS, false);
    for (int block = 0; block < ROUNDS / BLOCK; block++) {
        s_latency_rounds (&null_rt, BLOCK, true);
        s_latency_rounds (&curve_rt, BLOCK, true);
    }
    double null_median, null_p99, curve_median, curve_p99;
    fed_bench_stats (null_rt.samples, ROUNDS, &null_median, &null_p99);
    fed_bench_stats (curve_rt.samples, ROUNDS, &curve_median, &curve_p99);
    printf ("%-34s median %6.0f us  p99 %6.0f us\n", "baseline NULL REQ/REP round trip",
            null_median, null_p99);
    printf ("%-34s median %6.0f us  p99 %6.0f us  baseline median %6.0f us  ratio %6.2f\n",
            "CURVE REQ/REP round trip", curve_median, curve_p99, null_median,
            curve_median / null_median);
    fflush (stdout);
    s_latency_close (&null_rt);
    s_latency_close (&curve_rt);

    uint64_t admitted, refused;
    fed_zap_counts (zap, &admitted, &refused);
    if (admitted != 2 || refused != 0)
        fprintf (stderr,
                 "bench_zmq: expected 2 CURVE handshakes admitted and none refused, got %" PRIu64
                 " and %" PRIu64 "\n",
                 admitted, refused);
    sodium_memzero (&keys, sizeof keys);
    fed_zap_destroy (&zap);
    return 0;
}
