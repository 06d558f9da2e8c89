/*  proto/curve.c: CURVE socket set-up and the ZAP handler actor (RFC 27).

    The handler is an actor: the allow table and the pending domains live on
    its thread and change only through typed commands on its pipe (ALLOW,
    DENY, PENDING, COUNTS), each answered before the caller goes on, so a key
    allowed or denied, or a rate set, is in force for the very next
    handshake.

    A pending domain's token bucket counts thousandths of a token in
    integers, topped up from the monotonic clock at each pending handshake,
    so that no rounding drifts and a long idle time cannot overflow it.
*/
#include "curve.h"
#include "log.h"

#include <assert.h>
#include <string.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define PENDING_PREFIX "pending:"
#define PENDING_LOG_MS 60000 //  at most one "over the rate" line a minute per domain

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

//  Pending mode of one domain: a token bucket.
typedef struct {
    uint32_t rate;        //  tokens added per second, > 0
    uint64_t capacity;    //  burst, in thousandths of a token
    uint64_t tokens;      //  thousandths of a token left, <= capacity
    int64_t last_ms;      //  monotonic time tokens was last topped up
    fed_ratelimit_t gate; //  for "over the rate" log lines
} zap_pending_t;

typedef struct {
    zsock_t *pipe;             //  to the front end
    zsock_t *handler;          //  REP socket on the ZAP endpoint
    zhash_t *allowed;          //  "domain hexkey" -> user id (owned strings)
    zhash_t *pending;          //  domain -> zap_pending_t (owned) for pending domains
    uint64_t admitted;         //  handshakes admitted, pending ones included
    uint64_t refused;          //  handshakes refused, over-the-rate ones included
    uint64_t pending_admitted; //  handshakes admitted as pending
    uint64_t pending_refused;  //  pending handshakes refused over the rate
} zap_actor_t;

static char *
s_table_key (const char *domain, const uint8_t key [32])
{
    char hex [65];
    fed_hex_encode (hex, key, 32);
    return fed_sprintf ("%s %s", domain, hex);
}

//  Adds the tokens earned since the last top-up, at monotonic time now_ms.
static void
s_pending_refill (zap_pending_t *bucket, int64_t now_ms)
{
    if (now_ms > bucket->last_ms) {
        //  Beyond this many ms the bucket is full anyway: capping the
        //  elapsed time keeps the product below 2^64.
        uint64_t fill_ms = bucket->capacity / bucket->rate + 1;
        uint64_t elapsed = (uint64_t) (now_ms - bucket->last_ms);
        bucket->tokens += (elapsed < fill_ms ? elapsed : fill_ms) * bucket->rate;
        if (bucket->tokens > bucket->capacity)
            bucket->tokens = bucket->capacity;
        bucket->last_ms = now_ms;
    }
}

//  Takes one token from bucket at monotonic time now_ms. Returns false when
//  there is none.
static bool
s_pending_take (zap_pending_t *bucket, int64_t now_ms)
{
    s_pending_refill (bucket, now_ms);
    if (bucket->tokens < 1000)
        return false;
    bucket->tokens -= 1000;
    return true;
}

//  Decides on a CURVE key the allow table lacks, in a pending domain.
//  Returns true with user_id filled ("pending:" and the key in hex).
static bool
s_pending_admit (zap_actor_t *self, zap_pending_t *bucket, const char *domain,
                 const uint8_t key [32], char *user_id)
{
    if (s_pending_take (bucket, fed_mono_ms ())) {
        memcpy (user_id, PENDING_PREFIX, strlen (PENDING_PREFIX));
        fed_hex_encode (user_id + strlen (PENDING_PREFIX), key, 32);
        self->pending_admitted++;
        return true;
    }
    self->pending_refused++;
    uint64_t suppressed;
    if (fed_ratelimit_allow (&bucket->gate, PENDING_LOG_MS, &suppressed))
        fed_warn ("zap: pending handshakes in domain %s are over the rate (%u a second, burst "
                  "%llu): refusing them (%llu more refused since the last such line)",
                  domain, bucket->rate, (unsigned long long) (bucket->capacity / 1000),
                  (unsigned long long) suppressed);
    return false;
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
    char pending_id [sizeof PENDING_PREFIX + 64];
    const char *status = "400";
    const char *text = "key not trusted";
    if (version && streq (version, "1.0") && mechanism && streq (mechanism, "CURVE") && credentials
        && zframe_size (credentials) == 32 && domain) {
        char *key = s_table_key (domain, zframe_data (credentials));
        user_id = (const char *) zhash_lookup (self->allowed, key);
        free (key);
        zap_pending_t *bucket = (zap_pending_t *) zhash_lookup (self->pending, domain);
        if (!user_id && bucket) {
            if (s_pending_admit (self, bucket, domain, zframe_data (credentials), pending_id))
                user_id = pending_id;
            else {
                //  300, a temporary failure: libzmq 4.3 then sends no ERROR
                //  and drops the connection at the handshake timeout, after
                //  which the client reconnects by itself. (After a 400 it
                //  never retries that connection.)
                status = "300";
                text = "pending handshakes over the rate: try again later";
            }
        }
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

//  PENDING domain rate burst (uint32 frames in host order): sets, changes
//  or (rate 0) ends a domain's pending mode.
static void
s_zap_set_pending (zap_actor_t *self, zmsg_t *msg)
{
    char *domain = zmsg_popstr (msg);
    zframe_t *rate_frame = zmsg_pop (msg);
    zframe_t *burst_frame = zmsg_pop (msg);
    //  The front end always sends all three: anything else is a bug.
    assert (domain && rate_frame && burst_frame && zframe_size (rate_frame) == 4
            && zframe_size (burst_frame) == 4);
    uint32_t rate, burst;
    memcpy (&rate, zframe_data (rate_frame), 4);
    memcpy (&burst, zframe_data (burst_frame), 4);
    zap_pending_t *bucket = (zap_pending_t *) zhash_lookup (self->pending, domain);
    if (rate == 0)
        zhash_delete (self->pending, domain);
    else {
        uint64_t capacity = (uint64_t) (burst ? burst : 1) * 1000;
        if (!bucket) {
            bucket = (zap_pending_t *) fed_calloc (1, sizeof *bucket);
            bucket->tokens = capacity;
            bucket->last_ms = fed_mono_ms ();
            zhash_insert (self->pending, domain, bucket);
            zhash_freefn (self->pending, domain, free);
        } else
            s_pending_refill (bucket, fed_mono_ms ()); //  earned at the old rate
        bucket->rate = rate;
        bucket->capacity = capacity;
        if (bucket->tokens > capacity)
            bucket->tokens = capacity;
    }
    free (domain);
    zframe_destroy (&rate_frame);
    zframe_destroy (&burst_frame);
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
    } else if (streq (command, "PENDING")) {
        s_zap_set_pending (self, msg);
        zsock_signal (self->pipe, 0);
    } else if (streq (command, "COUNTS"))
        zsock_send (self->pipe, "8888", self->admitted, self->refused, self->pending_admitted,
                    self->pending_refused);
    free (command);
    zmsg_destroy (&msg);
    return rc;
}

static void
s_zap_actor (zsock_t *pipe, void *arg)
{
    zap_actor_t self = {pipe, zsock_new (ZMQ_REP), zhash_new (), zhash_new (), 0, 0, 0, 0};
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
    zhash_destroy (&self.pending);
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
fed_zap_set_pending (fed_zap_t *self, const char *domain, uint32_t rate_per_s, uint32_t burst)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "PENDING");
    zmsg_addstr (msg, domain);
    zmsg_addmem (msg, &rate_per_s, sizeof rate_per_s);
    zmsg_addmem (msg, &burst, sizeof burst);
    zmsg_send (&msg, self->actor);
    zsock_wait (self->actor);
}

//  All four counters, zero if the handler cannot be asked.
static void
s_zap_counts (fed_zap_t *self, uint64_t counts [4])
{
    memset (counts, 0, 4 * sizeof counts [0]);
    if (zstr_send (self->actor, "COUNTS") == 0)
        if (zsock_recv (self->actor, "8888", &counts [0], &counts [1], &counts [2], &counts [3]))
            memset (counts, 0, 4 * sizeof counts [0]);
}

void
fed_zap_counts (fed_zap_t *self, uint64_t *allowed, uint64_t *denied)
{
    uint64_t counts [4];
    s_zap_counts (self, counts);
    *allowed = counts [0];
    *denied = counts [1];
}

void
fed_zap_pending_counts (fed_zap_t *self, uint64_t *pending_admitted, uint64_t *pending_refused)
{
    uint64_t counts [4];
    s_zap_counts (self, counts);
    *pending_admitted = counts [2];
    *pending_refused = counts [3];
}
