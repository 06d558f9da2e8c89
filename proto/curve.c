/*  proto/curve.c: CURVE socket set-up and the ZAP handler actor (RFC 27).

    The handler is an actor: the allow table lives on its thread and changes
    only through typed commands on its pipe (ALLOW, DENY, COUNTS), each
    answered before the caller goes on, so a key allowed or denied is in
    force for the very next handshake.
*/
#include "curve.h"
#include "log.h"

#include <string.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

//  A draft option in libzmq 4.3 (Debian's headers omit it): with it, a
//  handshake fails when no ZAP handler answers. Builds without draft
//  options refuse it; then fail-closed rests on the node starting its
//  handler before any server binds, which fed_node_start guarantees.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

struct fed_zap_t {
    zactor_t *actor; //  the handler thread, owned
};

void
fed_socket_defaults (zsock_t *sock, int64_t max_message)
{
    zsock_set_maxmsgsize (sock, (int) (max_message > INT32_MAX ? INT32_MAX : max_message));
    zsock_set_handshake_ivl (sock, 5000);
    zsock_set_heartbeat_ivl (sock, 5000);
    zsock_set_heartbeat_timeout (sock, 15000);
    zsock_set_linger (sock, 0);
}

void
fed_curve_server (zsock_t *sock, const uint8_t secret [32], const uint8_t public_key [32],
                  const char *domain)
{
    void *handle = zsock_resolve (sock);
    int yes = 1;
    zmq_setsockopt (handle, ZMQ_CURVE_SERVER, &yes, sizeof yes);
    zmq_setsockopt (handle, ZMQ_CURVE_SECRETKEY, secret, 32);
    zmq_setsockopt (handle, ZMQ_CURVE_PUBLICKEY, public_key, 32);
    zmq_setsockopt (handle, ZMQ_ZAP_DOMAIN, domain, strlen (domain));
    if (zmq_setsockopt (handle, ZMQ_ZAP_ENFORCE_DOMAIN, &yes, sizeof yes))
        fed_debug ("libzmq lacks ZMQ_ZAP_ENFORCE_DOMAIN: relying on the ZAP handler being up");
}

void
fed_curve_client (zsock_t *sock, const uint8_t secret [32], const uint8_t public_key [32],
                  const uint8_t server_public [32])
{
    void *handle = zsock_resolve (sock);
    zmq_setsockopt (handle, ZMQ_CURVE_SERVERKEY, server_public, 32);
    zmq_setsockopt (handle, ZMQ_CURVE_SECRETKEY, secret, 32);
    zmq_setsockopt (handle, ZMQ_CURVE_PUBLICKEY, public_key, 32);
}

//  --- The handler actor -----------------------------------------------------

typedef struct {
    zsock_t *pipe;     //  to the front end
    zsock_t *handler;  //  REP-like ROUTER on the ZAP endpoint
    zhash_t *allowed;  //  "domain hexkey" -> user id (owned strings)
    uint64_t admitted; //  handshakes admitted
    uint64_t refused;  //  handshakes refused
} zap_actor_t;

static char *
s_table_key (const char *domain, const uint8_t key [32])
{
    char hex [65];
    fed_hex_encode (hex, key, 32);
    return fed_sprintf ("%s %s", domain, hex);
}

//  Answers one ZAP request: [version, request id, domain, address, identity,
//  mechanism, credentials…] -> [version, request id, status, text, user id,
//  metadata].
static void
s_zap_request (zap_actor_t *self)
{
    zmsg_t *request = zmsg_recv (self->handler);
    if (!request)
        return;
    //  The handler socket is a REP: the envelope is handled for us.
    char *version = zmsg_popstr (request);
    char *sequence = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    char *identity = zmsg_popstr (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *credentials = zmsg_pop (request);
    const char *user_id = NULL;
    const char *status = "400";
    const char *text = "key not trusted";
    if (version && streq (version, "1.0") && mechanism && streq (mechanism, "CURVE") && credentials
        && zframe_size (credentials) == 32 && domain) {
        char *key = s_table_key (domain, zframe_data (credentials));
        user_id = (const char *) zhash_lookup (self->allowed, key);
        free (key);
        if (user_id) {
            status = "200";
            text = "OK";
        }
    } else
        text = "only CURVE is accepted";
    if (user_id)
        self->admitted++;
    else {
        self->refused++;
        fed_debug ("zap: refused %s from %s in domain %s: %s", mechanism ? mechanism : "?",
                   address ? address : "?", domain ? domain : "?", text);
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, sequence ? sequence : "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, user_id ? user_id : "");
    zmsg_addmem (reply, NULL, 0);
    zmsg_send (&reply, self->handler);
    free (version);
    free (sequence);
    free (domain);
    free (address);
    free (identity);
    free (mechanism);
    zframe_destroy (&credentials);
    zmsg_destroy (&request);
}

//  Handles one pipe command. Returns -1 on $TERM.
static int
s_zap_command (zap_actor_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg)
        return -1;
    char *command = zmsg_popstr (msg);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;
    else if (streq (command, "ALLOW") || streq (command, "DENY")) {
        char *domain = zmsg_popstr (msg);
        zframe_t *key = zmsg_pop (msg);
        char *user_id = zmsg_popstr (msg);
        if (domain && key && zframe_size (key) == 32) {
            char *table_key = s_table_key (domain, zframe_data (key));
            zhash_delete (self->allowed, table_key);
            if (streq (command, "ALLOW") && user_id) {
                zhash_insert (self->allowed, table_key, fed_strdup (user_id));
                zhash_freefn (self->allowed, table_key, free);
            }
            free (table_key);
        }
        free (domain);
        zframe_destroy (&key);
        free (user_id);
        zsock_signal (self->pipe, 0);
    } else if (streq (command, "COUNTS"))
        zsock_send (self->pipe, "88", self->admitted, self->refused);
    free (command);
    zmsg_destroy (&msg);
    return rc;
}

static void
s_zap_actor (zsock_t *pipe, void *arg)
{
    zap_actor_t self = {pipe, zsock_new (ZMQ_REP), zhash_new (), 0, 0};
    int rc = zsock_bind (self.handler, ZAP_ENDPOINT);
    //  zactor_new swallows the first signal's status: say it again.
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", rc == 0 ? 0 : -1);
    if (rc == 0) {
        zpoller_t *poller = zpoller_new (pipe, self.handler, NULL);
        while (true) {
            void *which = zpoller_wait (poller, -1);
            if (which == pipe) {
                if (s_zap_command (&self))
                    break;
            } else if (which == self.handler)
                s_zap_request (&self);
            else if (zpoller_terminated (poller))
                break;
        }
        zpoller_destroy (&poller);
    }
    zsock_destroy (&self.handler);
    zhash_destroy (&self.allowed);
}

fed_zap_t *
fed_zap_new (fed_err_t *err)
{
    fed_zap_t *self = (fed_zap_t *) fed_calloc (1, sizeof (fed_zap_t));
    self->actor = zactor_new (s_zap_actor, NULL);
    //  After a failed bind the actor has returned: the pipe has no peer, so
    //  nothing more may be sent on it (a send would block).
    int status = -1;
    if (zsock_recv (self->actor, "i", &status) || status != 0) {
        fed_err_set (err, -1,
                     "cannot start the ZAP handler: %s is already bound in this "
                     "process (one node per process)",
                     ZAP_ENDPOINT);
        fed_zap_destroy (&self);
        return NULL;
    }
    return self;
}

void
fed_zap_destroy (fed_zap_t **self_p)
{
    if (self_p && *self_p) {
        zactor_destroy (&(*self_p)->actor);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_zap_change (fed_zap_t *self, const char *command, const char *domain, const uint8_t key [32],
              const char *user_id)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addstr (msg, domain);
    zmsg_addmem (msg, key, 32);
    zmsg_addstr (msg, user_id ? user_id : "");
    zmsg_send (&msg, self->actor);
    zsock_wait (self->actor);
}

void
fed_zap_allow (fed_zap_t *self, const char *domain, const uint8_t curve_key [32],
               const char *user_id)
{
    s_zap_change (self, "ALLOW", domain, curve_key, user_id);
}

void
fed_zap_deny (fed_zap_t *self, const char *domain, const uint8_t curve_key [32])
{
    s_zap_change (self, "DENY", domain, curve_key, NULL);
}

void
fed_zap_counts (fed_zap_t *self, uint64_t *allowed, uint64_t *denied)
{
    uint64_t a = 0, d = 0;
    if (zstr_send (self->actor, "COUNTS") == 0)
        zsock_recv (self->actor, "88", &a, &d);
    *allowed = a;
    *denied = d;
}
