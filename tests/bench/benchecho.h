/*  tests/bench/benchecho.h: the raw baseline the control benchmarks share:
    a CURVE REP socket, as the node's control socket is set up (same key,
    ZAP domain "control", same socket options), that answers every request
    with a fixed number of bytes and does nothing else.
*/
#ifndef BENCHECHO_H_INCLUDED
#define BENCHECHO_H_INCLUDED

#include <czmq.h>
#include "identity.h"

typedef struct {
    const fed_identity_t *server; //  the node's identity: its CURVE keys; not owned
    size_t reply_size;            //  bytes each reply carries
    int port;                     //  to bind on 127.0.0.1; 0: any free port
} bench_echo_args_t;

//  zactor_new (bench_echo_actor, &args): after the ready signal it sends
//  the port it bound ("i"), or -1 when it could not bind, then answers
//  until $TERM. args must outlive the actor.
void bench_echo_actor (zsock_t *pipe, void *arg);

#endif
