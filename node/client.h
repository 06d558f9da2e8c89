/*  node/client.h: the control client, as a library (doc/protocol.md §3).

    fedctl is a thin front end over this module, and a script or a gateway
    embedding libfednode can administer a node the same way. A client holds
    one CURVE DEALER connection to a node's control endpoint, with the
    node's key pinned. Each call sends one request and waits for its reply
    with a deadline. A socket monitor watches the CURVE handshake, so a node
    that refuses our key is reported as such at once, instead of as a silent
    timeout (a ZAP refusal never produces a reply).

    After a call that timed out or was refused, the client drops the
    connection and opens a fresh one on the next call, so a late reply to an
    abandoned request can never be taken for the answer to a new one.

    Not thread-safe: one client per thread.
*/
#ifndef FED_CLIENT_H_INCLUDED
#define FED_CLIENT_H_INCLUDED

#include <msgpack.h>

#include "identity.h"
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_client_t fed_client_t;

//  Largest message a client sends or accepts (limits.wire_message default).
#define FED_CLIENT_MAX_MESSAGE (4 * 1024 * 1024)

//  How far ahead fed_client_pack_replay sets "exp".
#define FED_CLIENT_EXP_MS 60000

typedef enum {
    FED_CLIENT_OK = 0,          //  the node ran the command
    FED_CLIENT_FAILED = 1,      //  the node answered with an error (code, message)
    FED_CLIENT_UNREACHABLE = 3, //  no answer in time, or the node refused our key
    FED_CLIENT_INTERRUPTED = 4  //  a signal (SIGINT, SIGTERM) ended the wait
} fed_client_status_t;

//  Connects to endpoint (e.g. tcp://127.0.0.1:7702) as a CURVE client with
//  identity's CURVE keys, pinning the server key derived from the node's
//  ed25519 public key. The identity's keys are copied: the caller may
//  destroy it afterwards. Connecting is asynchronous: an endpoint nobody
//  listens on is only found out by fed_client_call. Returns NULL with err
//  when the endpoint is not a valid ZeroMQ endpoint or server_ed25519_public
//  is not a valid ed25519 key. Caller owns the client.
fed_client_t *fed_client_new (const char *endpoint, const fed_identity_t *identity,
                              const uint8_t server_ed25519_public [32], fed_err_t *err);

//  Closes the connection and wipes the keys. Accepts NULL or *self_p NULL;
//  sets *self_p to NULL.
void fed_client_destroy (fed_client_t **self_p);

//  The endpoint given to fed_client_new (owned by the client).
const char *fed_client_endpoint (const fed_client_t *self);

//  Sends one request (size bytes: [1, command, args], built with
//  fed_ctl_request_begin and a packer) and waits up to timeout_ms for the
//  reply (a long-poll request must allow for its wait_ms).
//
//  FED_CLIENT_OK: *reply_p is the whole reply frame (caller frees it with
//  free ()), *reply_size_p its size, and *result the result object's bytes,
//  borrowed from *reply_p.
//  FED_CLIENT_FAILED: code (code_size bytes, NUL-terminated) has the error
//  code and err->text the node's message; *reply_p is NULL. A reply that is
//  not a control reply at all is reported the same way with code
//  "bad_reply".
//  FED_CLIENT_UNREACHABLE: err->text says what was tried (endpoint, timeout)
//  and what went wrong: nothing accepted the connection, the node refused
//  our key in the CURVE handshake, the handshake did not complete (wrong
//  server key?), or the node did not answer in time.
//  FED_CLIENT_INTERRUPTED: a signal interrupted the wait (czmq's
//  zsys_interrupted); the request may still run on the node.
//  On every status but OK, *reply_p is NULL and *result is empty.
fed_client_status_t fed_client_call (fed_client_t *self, const void *request, size_t size,
                                     int timeout_ms, uint8_t **reply_p, size_t *reply_size_p,
                                     fed_blob_t *result, char *code, size_t code_size,
                                     fed_err_t *err) FED_MUST_USE;

//  After a call that ended FED_CLIENT_FAILED with the node's own failure
//  reply: that reply's error map, {code, message} and, from a command that
//  checks many things at once (workflow.publish), "errors", an array of str
//  naming every problem. Borrowed from the client, valid until its next
//  call; empty after any other outcome.
fed_blob_t fed_client_last_error (const fed_client_t *self);

//  Packs the two map entries every state-changing command carries
//  (doc/protocol.md §3.3): "rid", 16 fresh random bytes, and "exp", now +
//  FED_CLIENT_EXP_MS in ms since the Unix epoch. Count them as two entries
//  in fed_ctl_request_begin's arg_count. Cannot fail.
void fed_client_pack_replay (msgpack_packer *pk);
//  The same entries, one at a time (exp at an explicit time, for tests).
void fed_client_pack_rid (msgpack_packer *pk);
void fed_client_pack_exp (msgpack_packer *pk, uint64_t exp_ms);

#ifdef __cplusplus
}
#endif
#endif
