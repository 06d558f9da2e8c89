/*  node/peer.h: the peer endpoint: connections to other nodes, joining,
    and membership (doc/protocol.md §4).

    One fed_peer_t per node, made and used on the node's actor thread (it
    registers its sockets and its timer on the actor's zloop). It binds a
    CURVE ROUTER on listen.peer in ZAP domain "peer", where keys with the
    peer role are admitted and unknown keys only as pending (a pending
    connection may present a join token in one HELLO and nothing else), and
    it keeps one CURVE DEALER per member, pinning the member's key, whose
    first message is this node's HELLO. Frames are decoded by proto/wire.h;
    membership decisions are node/swim.h's, replication (DIGEST, EVENTS,
    WANT) node/repl.h's.
*/
#ifndef FED_PEER_H_INCLUDED
#define FED_PEER_H_INCLUDED

#include "swim.h"
#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_peer_t fed_peer_t;
typedef struct fed_node_t fed_node_t;

//  Why incoming peer frames were dropped or refused, for metrics.
typedef struct {
    uint64_t received;                 //  frames handled
    uint64_t dropped [FED_WIRE_DROPS]; //  by fed_wire_drop_t reason (0: unused)
    uint64_t untrusted;                //  from a key that lost the peer role
    uint64_t forbidden;                //  a pending connection sent something other than HELLO
    uint64_t refused_tokens;           //  HELLOs with a missing or bad join token
    uint64_t admitted;                 //  keys admitted by join token
    uint64_t sent;                     //  frames sent
    uint64_t send_dropped;             //  frames not sent: the peer's queue was full
} fed_peer_stats_t;

//  Binds the peer endpoint, starts the probe timer on loop and says HELLO
//  to the seeds (with the join token, if configured) and to the members
//  of the last run (data_dir/members). Returns NULL with err when the
//  endpoint cannot be bound. Caller owns the result.
fed_peer_t *fed_peer_new (fed_node_t *node, zloop_t *loop, fed_err_t *err);

//  Says BYE to every live member (waiting up to 500 ms for the frames to
//  leave), closes the sockets. Accepts NULL; sets *self_p to NULL.
void fed_peer_destroy (fed_peer_t **self_p);

//  The endpoint actually bound (a port 0 or * resolved). Borrowed.
const char *fed_peer_endpoint (fed_peer_t *self);

//  The membership table (borrowed; valid until the actor runs again).
fed_swim_t *fed_peer_swim (fed_peer_t *self);

void fed_peer_stats (fed_peer_t *self, fed_peer_stats_t *stats);

typedef struct fed_repl_t fed_repl_t;
//  The replication state (borrowed; actor thread only).
fed_repl_t *fed_peer_repl (fed_peer_t *self);

//  This node appended its event seq: push it to peers (node/repl.h).
void fed_peer_appended (fed_peer_t *self, uint64_t seq);

//  After the trusted set changed: connections to members that lost the
//  peer role are closed.
void fed_peer_trust_changed (fed_peer_t *self);

#ifdef __cplusplus
}
#endif
#endif
