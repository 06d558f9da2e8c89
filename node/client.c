/*  node/client.c: the control client. See client.h.

    The connection is a DEALER speaking as REQ would (an empty delimiter
    frame, then the request frame), so that a request given up on does not
    leave the socket stuck in REQ's send/receive lock-step. A PAIR socket on
    the DEALER's monitor reports connection and handshake events; they are
    what lets a call tell "nobody listening" from "key refused" from "no
    answer". The connection (and its monitor) is made lazily and dropped
    after any call that did not end in a reply.
*/
#include "client.h"
#include "ctlmsg.h"
#include "curve.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

//  What the monitor has told us about the current connection.
typedef struct {
    bool connected;      //  a TCP (or IPC) connection was made
    bool handshaken;     //  the CURVE handshake succeeded
    bool closed;         //  a connection closed before or after the handshake
    int auth_status;     //  ZAP status of a refused handshake (e.g. 400), else 0
    bool no_detail;      //  a handshake failed without a reason (dropped mid-way)
    bool protocol_error; //  a handshake failed on a protocol error
} s_link_t;

struct fed_client_t {
    char *endpoint;            //  where the node listens, owned
    uint8_t curve_public [32]; //  our CURVE public key
    uint8_t *curve_secret;     //  our CURVE secret key, 32 bytes, sodium_malloc'd
    uint8_t server_curve [32]; //  the node's CURVE public key (pinned)
    zsock_t *dealer;           //  the connection, NULL until the next call
    zsock_t *monitor;          //  PAIR on the dealer's monitor, NULL with dealer
    s_link_t link;             //  the current connection's state
    uint8_t *failure;          //  the last failure reply, owned (fed_client_last_error)
    fed_blob_t failure_map;    //  its error map, inside failure
};

//  Drops the current connection, if any.
static void
s_disconnect (fed_client_t *self)
{
    if (self->dealer) {
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
        zsock_destroy (&self->dealer);
    }
    zsock_destroy (&self->monitor);
    memset (&self->link, 0, sizeof self->link);
}

//  Opens a fresh connection and its monitor. Returns 0, or -1 with err when
//  the endpoint is refused by libzmq.
static int
s_connect (fed_client_t *self, fed_err_t *err)
{
    s_disconnect (self);
    self->dealer = zsock_new (ZMQ_DEALER);
    assert (self->dealer);
    fed_socket_defaults (self->dealer, FED_CLIENT_MAX_MESSAGE);
    fed_curve_client (self->dealer, self->curve_secret, self->curve_public, self->server_curve);
    //  The monitor's name is unique in the process: a name made from the
    //  client's address could meet a freed client's monitor endpoint, which
    //  libzmq unbinds asynchronously (EADDRINUSE under load).
    static atomic_uint_fast64_t s_monitors;
    char address [96];
    snprintf (address, sizeof address, "inproc://fed-client-monitor-%" PRIu64,
              (uint64_t) atomic_fetch_add (&s_monitors, 1));
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
        | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    int rc = zmq_socket_monitor (zsock_resolve (self->dealer), address, events);
    assert (rc == 0);
    self->monitor = zsock_new (ZMQ_PAIR);
    assert (self->monitor);
    rc = zsock_connect (self->monitor, "%s", address);
    assert (rc == 0);
    if (zsock_connect (self->dealer, "%s", self->endpoint)) {
        fed_err_set (err, 0,
                     "'%s' is not a ZeroMQ endpoint (%s); expected tcp://HOST:PORT or "
                     "ipc://PATH",
                     self->endpoint, zmq_strerror (zmq_errno ()));
        s_disconnect (self);
        return -1;
    }
    return 0;
}

fed_client_t *
fed_client_new (const char *endpoint, const fed_identity_t *identity,
                const uint8_t server_ed25519_public [32], fed_err_t *err)
{
    if (!endpoint || !*endpoint || !identity || !server_ed25519_public) {
        fed_err_set (err, 0, "a client needs an endpoint, an identity and the node's key");
        return NULL;
    }
    if (sodium_init () < 0)
        abort ();
    fed_client_t *self = (fed_client_t *) fed_calloc (1, sizeof (fed_client_t));
    if (fed_identity_curve_from_public (server_ed25519_public, self->server_curve)) {
        fed_err_set (err, 0, "the node's key is not a valid ed25519 public key");
        free (self);
        return NULL;
    }
    self->endpoint = fed_strdup (endpoint);
    memcpy (self->curve_public, fed_identity_curve_public (identity), 32);
    self->curve_secret = (uint8_t *) sodium_malloc (32);
    if (!self->curve_secret)
        abort ();
    memcpy (self->curve_secret, fed_identity_curve_secret (identity), 32);
    //  Connect now, so that a bad endpoint fails here and the handshake runs
    //  while the caller builds its request.
    if (s_connect (self, err)) {
        fed_client_destroy (&self);
        return NULL;
    }
    return self;
}

void
fed_client_destroy (fed_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_client_t *self = *self_p;
    s_disconnect (self);
    sodium_free (self->curve_secret);
    free (self->endpoint);
    free (self->failure);
    free (self);
    *self_p = NULL;
}

const char *
fed_client_endpoint (const fed_client_t *self)
{
    return self->endpoint;
}

//  Reads one monitor event into self->link.
static void
s_monitor_event (fed_client_t *self)
{
    zmsg_t *msg = zmsg_recv (self->monitor);
    if (!msg)
        return;
    zframe_t *head = zmsg_first (msg);
    if (head && zframe_size (head) == 6) {
        uint16_t event;
        uint32_t value;
        memcpy (&event, zframe_data (head), 2);
        memcpy (&value, zframe_data (head) + 2, 4);
        switch (event) {
            case ZMQ_EVENT_CONNECTED: self->link.connected = true; break;
            case ZMQ_EVENT_DISCONNECTED: self->link.closed = true; break;
            case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: self->link.handshaken = true; break;
            case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
                self->link.auth_status = value ? (int) value : 400;
                break;
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: self->link.no_detail = true; break;
            case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: self->link.protocol_error = true; break;
            default: break;
        }
    }
    zmsg_destroy (&msg);
}

//  Fills err for a call that got no reply, from what the monitor saw.
static void
s_unreachable (fed_client_t *self, int timeout_ms, fed_err_t *err)
{
    const char *ep = self->endpoint;
    if (self->link.auth_status)
        fed_err_set (err, FED_CLIENT_UNREACHABLE,
                     "%s: the node refused this key: it is not in its trusted set (fedctl "
                     "trust add … on the node) [ZAP status %d]",
                     ep, self->link.auth_status);
    else if (self->link.protocol_error)
        fed_err_set (err, FED_CLIENT_UNREACHABLE,
                     "%s: the CURVE handshake failed on a protocol error: is this a fednode "
                     "control endpoint?",
                     ep);
    else if (self->link.no_detail && !self->link.handshaken)
        fed_err_set (err, FED_CLIENT_UNREACHABLE,
                     "%s: the node closed the connection during the CURVE handshake: either it "
                     "refused this key (not in its trusted set: fedctl trust add … on the node) "
                     "or the server key given is not this node's key",
                     ep);
    else if (!self->link.connected)
        fed_err_set (err, FED_CLIENT_UNREACHABLE,
                     "%s: no connection within %d ms: is the node running, and is this its "
                     "control endpoint (listen.control)?",
                     ep, timeout_ms);
    else if (!self->link.handshaken)
        fed_err_set (err, FED_CLIENT_UNREACHABLE,
                     "%s: connected, but the CURVE handshake did not complete within %d ms: is "
                     "the server key this node's key, and this a fednode control endpoint?",
                     ep, timeout_ms);
    else
        fed_err_set (err, FED_CLIENT_UNREACHABLE,
                     "%s: connected and authenticated, but no reply within %d ms: the node is "
                     "busy or stuck; try a longer --timeout",
                     ep, timeout_ms);
}

//  Takes the reply message apart. Returns FED_CLIENT_OK or FED_CLIENT_FAILED;
//  *answered says whether it was a well-formed control reply.
static fed_client_status_t
s_reply (fed_client_t *self, zmsg_t *msg, uint8_t **reply_p, size_t *reply_size_p,
         fed_blob_t *result, char *code, size_t code_size, bool *answered, fed_err_t *err)
{
    zframe_t *delimiter = zmsg_first (msg);
    zframe_t *frame = zmsg_next (msg);
    if (zmsg_size (msg) != 2 || zframe_size (delimiter) != 0) {
        snprintf (code, code_size, "bad_reply");
        fed_err_set (err, FED_CLIENT_FAILED,
                     "the node's reply is %zu frames, not an empty "
                     "delimiter and a reply frame",
                     zmsg_size (msg));
        return FED_CLIENT_FAILED;
    }
    size_t size = zframe_size (frame);
    uint8_t *reply = (uint8_t *) fed_malloc (size ? size : 1);
    memcpy (reply, zframe_data (frame), size);
    bool ok;
    char message [sizeof err->text];
    if (fed_ctl_reply_decode (reply, size, &ok, result, code, code_size, message, sizeof message)) {
        free (reply);
        *result = (fed_blob_t){NULL, 0};
        snprintf (code, code_size, "bad_reply");
        fed_err_set (err, FED_CLIENT_FAILED,
                     "the node's reply (%zu bytes) is not a control "
                     "reply [1, true|false, result] (doc/protocol.md §3.2)",
                     size);
        return FED_CLIENT_FAILED;
    }
    *answered = true;
    if (!ok) {
        //  Kept for fed_client_last_error.
        self->failure = reply;
        self->failure_map = *result;
        *result = (fed_blob_t){NULL, 0};
        if (code_size && !code [0])
            snprintf (code, code_size, "?");
        fed_err_set (err, FED_CLIENT_FAILED, "%s", message [0] ? message : "(no message)");
        return FED_CLIENT_FAILED;
    }
    *reply_p = reply;
    *reply_size_p = size;
    return FED_CLIENT_OK;
}

fed_client_status_t
fed_client_call (fed_client_t *self, const void *request, size_t size, int timeout_ms,
                 uint8_t **reply_p, size_t *reply_size_p, fed_blob_t *result, char *code,
                 size_t code_size, fed_err_t *err)
{
    assert (self && reply_p && reply_size_p && result);
    *reply_p = NULL;
    *reply_size_p = 0;
    *result = (fed_blob_t){NULL, 0};
    fed_free (&self->failure);
    self->failure_map = (fed_blob_t){NULL, 0};
    if (code_size)
        code [0] = 0;
    if (size > FED_CLIENT_MAX_MESSAGE) {
        snprintf (code, code_size, "bad_request");
        fed_err_set (err, FED_CLIENT_FAILED,
                     "the request is %zu bytes, over the %d-byte "
                     "message limit",
                     size, FED_CLIENT_MAX_MESSAGE);
        return FED_CLIENT_FAILED;
    }
    if (!self->dealer && s_connect (self, err))
        return FED_CLIENT_UNREACHABLE;
    //  A refusal or failure already seen on this connection stays true.
    if (self->link.auth_status) {
        s_unreachable (self, timeout_ms, err);
        s_disconnect (self);
        return FED_CLIENT_UNREACHABLE;
    }
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, request, size);
    if (zmsg_send (&msg, self->dealer)) {
        zmsg_destroy (&msg);
        s_disconnect (self);
        fed_err_set (err, FED_CLIENT_UNREACHABLE, "%s: cannot send the request (%s)",
                     self->endpoint, zmq_strerror (zmq_errno ()));
        return FED_CLIENT_UNREACHABLE;
    }
    zpoller_t *poller = zpoller_new (self->dealer, self->monitor, NULL);
    int64_t deadline = fed_mono_ms () + (timeout_ms > 0 ? timeout_ms : 0);
    fed_client_status_t status = FED_CLIENT_UNREACHABLE;
    bool answered = false;
    while (true) {
        int64_t left = deadline - fed_mono_ms ();
        if (left < 0)
            left = 0;
        void *which = zpoller_wait (poller, (int) left);
        if (which == self->dealer) {
            zmsg_t *reply = zmsg_recv (self->dealer);
            if (reply) {
                status = s_reply (self, reply, reply_p, reply_size_p, result, code, code_size,
                                  &answered, err);
                zmsg_destroy (&reply);
                break;
            }
        } else if (which == self->monitor) {
            s_monitor_event (self);
            if (self->link.auth_status) {
                s_unreachable (self, timeout_ms, err);
                break;
            }
        } else if (zpoller_terminated (poller)) {
            status = FED_CLIENT_INTERRUPTED;
            fed_err_set (err, FED_CLIENT_INTERRUPTED,
                         "%s: interrupted while waiting for the "
                         "reply",
                         self->endpoint);
            break;
        }
        if (fed_mono_ms () >= deadline) {
            //  Take in what the monitor has queued before judging.
            while (zsock_events (self->monitor) & ZMQ_POLLIN)
                s_monitor_event (self);
            s_unreachable (self, timeout_ms, err);
            break;
        }
    }
    zpoller_destroy (&poller);
    //  Only a well-formed reply leaves the connection in step with the node.
    if (!answered)
        s_disconnect (self);
    return status;
}

fed_blob_t
fed_client_last_error (const fed_client_t *self)
{
    return self->failure_map;
}

void
fed_client_pack_rid (msgpack_packer *pk)
{
    uint8_t rid [16];
    randombytes_buf (rid, sizeof rid);
    msgpack_pack_str_with_body (pk, "rid", 3);
    msgpack_pack_bin_with_body (pk, rid, sizeof rid);
}

void
fed_client_pack_exp (msgpack_packer *pk, uint64_t exp_ms)
{
    msgpack_pack_str_with_body (pk, "exp", 3);
    msgpack_pack_uint64 (pk, exp_ms);
}

void
fed_client_pack_replay (msgpack_packer *pk)
{
    fed_client_pack_rid (pk);
    fed_client_pack_exp (pk, (uint64_t) fed_wall_ms () + FED_CLIENT_EXP_MS);
}
