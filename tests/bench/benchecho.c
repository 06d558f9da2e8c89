/*  tests/bench/benchecho.c: the raw CURVE REQ/REP baseline (see benchecho.h). */
#include "benchecho.h"
#include "client.h"
#include "curve.h"

#include <stdlib.h>

void
bench_echo_actor (zsock_t *pipe, void *arg)
{
    bench_echo_args_t *args = (bench_echo_args_t *) arg;
    zsock_t *rep = zsock_new (ZMQ_REP);
    fed_socket_defaults (rep, FED_CLIENT_MAX_MESSAGE);
    fed_curve_server (rep, fed_identity_curve_secret (args->server),
                      fed_identity_curve_public (args->server), "control");
    int port = args->port > 0 ? zsock_bind (rep, "tcp://127.0.0.1:%d", args->port)
                              : zsock_bind (rep, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0); //  zactor_new waits for this
    zsock_send (pipe, "i", port < 0 ? -1 : port);
    uint8_t *reply = (uint8_t *) calloc (1, args->reply_size ? args->reply_size : 1);
    zpoller_t *poller = zpoller_new (pipe, rep, NULL);
    while (port >= 0 && zpoller_wait (poller, -1) == rep) {
        zframe_t *request = zframe_recv (rep);
        zframe_destroy (&request);
        zframe_t *frame = zframe_new (reply, args->reply_size);
        zframe_send (&frame, rep, 0);
    }
    zpoller_destroy (&poller);
    free (reply);
    zsock_destroy (&rep);
}
