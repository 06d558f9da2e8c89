/*  tests/bench/bare_node.c: the least an idle fednode could be, as the
    baseline of bench_footprint (doc/benchmarks.md).

        bare_node DIR PEER_ENDPOINT CONTROL_ENDPOINT

    Linked like fednode (libfednode and every library it uses), it opens what
    an idle node holds open and nothing else: the ZAP handler of
    proto/curve.h admitting one client key, a CURVE ROUTER bound on the peer
    endpoint (ZAP domain "peer") and one on the control endpoint (domain
    "control"), both with fed_socket_defaults, and an empty RocksDB opened
    with rocksdb_open and default options in DIR. Then it prints "ready" on
    stdout and waits for SIGTERM or SIGINT; exit 0 after a clean stop, 1 if
    something could not be opened (the reason on stderr).

    Not installed; built by `make bench` and started by bench_footprint.
*/
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <rocksdb/c.h>
#include <sodium.h>

#include "curve.h"
#include "log.h"

#define MAX_MESSAGE (4 * 1024 * 1024)

//  Everything the bare node holds open.
typedef struct {
    fed_zap_t *zap;             //  ZAP handler, owned
    zsock_t *peer;              //  CURVE ROUTER on the peer endpoint, owned
    zsock_t *control;           //  CURVE ROUTER on the control endpoint, owned
    rocksdb_options_t *options; //  the database's options, owned
    rocksdb_t *db;              //  empty database, owned
    uint8_t server_public [32]; //  the node's CURVE keys
    uint8_t server_secret [32]; //  wiped on close
    uint8_t client_public [32]; //  the one key ZAP admits (as a node admits admin.key)
} bare_t;

//  A CURVE ROUTER bound on endpoint in domain, or NULL with a message.
static zsock_t *
s_router (bare_t *self, const char *endpoint, const char *domain)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    fed_socket_defaults (router, MAX_MESSAGE);
    fed_curve_server (router, self->server_secret, self->server_public, domain);
    if (zsock_bind (router, "%s", endpoint) < 0) {
        fprintf (stderr, "bare_node: cannot bind %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&router);
    }
    return router;
}

static void
s_close (bare_t *self)
{
    zsock_destroy (&self->control);
    zsock_destroy (&self->peer);
    fed_zap_destroy (&self->zap);
    if (self->db)
        rocksdb_close (self->db);
    if (self->options)
        rocksdb_options_destroy (self->options);
    sodium_memzero (self->server_secret, sizeof self->server_secret);
}

//  Opens everything; returns 0, or -1 with a message on stderr.
static int
s_open (bare_t *self, const char *dir, const char *peer, const char *control)
{
    crypto_box_keypair (self->server_public, self->server_secret);
    uint8_t client_secret [32];
    crypto_box_keypair (self->client_public, client_secret);
    sodium_memzero (client_secret, sizeof client_secret);

    //  As a node: the ZAP handler first, so no CURVE server is ever up
    //  without it (DESIGN §12).
    fed_err_t err;
    self->zap = fed_zap_new (&err);
    if (!self->zap) {
        fprintf (stderr, "bare_node: %s\n", err.text);
        return -1;
    }
    fed_zap_allow (self->zap, "control", self->client_public, "bare-admin");
    self->peer = s_router (self, peer, "peer");
    self->control = s_router (self, control, "control");
    if (!self->peer || !self->control)
        return -1;

    self->options = rocksdb_options_create ();
    rocksdb_options_set_create_if_missing (self->options, 1);
    char *error = NULL;
    self->db = rocksdb_open (self->options, dir, &error);
    if (!self->db) {
        fprintf (stderr, "bare_node: cannot open RocksDB in %s: %s\n", dir, error);
        free (error);
        return -1;
    }
    return 0;
}

int
main (int argc, char *argv [])
{
    if (argc != 4) {
        fprintf (stderr, "usage: bare_node DIR PEER_ENDPOINT CONTROL_ENDPOINT\n");
        return 2;
    }
    if (sodium_init () < 0)
        return 1;
    fed_log_set_level (FED_LOG_WARN);
    //  As fednode does: signals are taken by sigwait here, blocked before
    //  any thread starts so that no other thread receives them.
    zsys_handler_set (NULL);
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);

    bare_t self = {0};
    int rc = s_open (&self, argv [1], argv [2], argv [3]);
    if (rc == 0) {
        printf ("ready\n");
        fflush (stdout);
        int signal_number = 0;
        sigwait (&signals, &signal_number);
    }
    s_close (&self);
    return rc ? 1 : 0;
}
