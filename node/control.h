/*  node/control.h: the control server (doc/protocol.md §3).

    A CURVE ROUTER on listen.control, read from the node actor's loop. It
    decodes each request, checks the caller's role (from the key ZAP
    authenticated, looked up in the trusted set when the request arrives),
    checks replay protection for commands that change state, and runs the
    command from one table. A bad request gets a structured error and the
    server carries on. events.tail may park a request (long poll) until an
    event arrives or its wait ends.
*/
#ifndef FED_CONTROL_H_INCLUDED
#define FED_CONTROL_H_INCLUDED

#include <czmq.h>
#include "node_internal.h"

//  Binds the control endpoint and registers it on loop; writes the bound
//  endpoint to {data_dir}/control.endpoint for `fedctl --data-dir`.
//  Returns NULL with err when the endpoint cannot be bound.
fed_control_t *fed_control_new (fed_node_t *node, zloop_t *loop, fed_err_t *err);
//  Answers parked requests with an empty result, unbinds. Accepts NULL.
void fed_control_destroy (fed_control_t **self_p);
//  The log changed: answer parked requests that now have events.
void fed_control_log_changed (fed_control_t *self);
//  The endpoint as bound ("tcp://127.0.0.1:7702").
const char *fed_control_endpoint (fed_control_t *self);

#endif
