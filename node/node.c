/*  node/node.c: the node front end and its actor.

    fed_node_new does everything that can fail on bad config or disk (keys,
    data dir, log) synchronously, so the caller gets a clear error before
    any thread starts. fed_node_start hands the log to the actor; from then
    on only the actor thread touches it. Requests travel over the actor pipe
    as typed pictures (zsock_send), never as text to parse.
*/
#include "fed_build.h" //  autoconf: PACKAGE_VERSION
#include "node_internal.h"
#include "control.h"
#include "peer.h"
#include "coreviews.h"
#include "registry.h"
#include "catalog.h"
#include "runs.h"
#include "tasks.h"
#include "executor.h"
#include "log.h"

#include <czmq.h>
#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  The actor's state; lives on the actor thread.
typedef struct {
    fed_node_t *node; //  front end (the log and config inside it)
    zsock_t *pipe;    //  to the front end
    zloop_t *loop;    //  the one event loop
} node_actor_t;

const char *
fed_node_version (void)
{
    return PACKAGE_VERSION;
}

//  Trusts the keys the config gives the peer role: they may author events.
static bool
s_trust_config (void *arg, const uint8_t origin [32])
{
    const fed_config_t *config = (const fed_config_t *) arg;
    for (size_t i = 0; i < config->trust_count; i++)
        if (config->trust [i].role == FED_ROLE_PEER
            && memcmp (config->trust [i].key, origin, 32) == 0)
            return true;
    return false;
}

static fed_config_t *
s_config_copy (const fed_config_t *config)
{
    //  Round-trip through YAML: the one code path that already knows every key.
    char *yaml = fed_config_to_yaml (config);
    fed_config_t *copy = fed_config_new ();
    fed_err_t err;
    if (fed_config_load_string (copy, yaml, strlen (yaml), "(config copy)", &err)) {
        fed_error ("config copy failed: %s", err.text);
        abort (); //  a config that cannot re-read its own dump is a bug
    }
    free (yaml);
    return copy;
}

//  Creates dir and any missing parents (like mkdir -p), the last with 0700.
static int
s_make_data_dir (const char *dir, fed_err_t *err)
{
    char *path = fed_strdup (dir);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir (path, 0755) && errno != EEXIST) {
                fed_err_set (err, -1,
                             "cannot create %s for data dir %s: %s (config data_dir, "
                             "--data-dir)",
                             path, dir, strerror (errno));
                free (path);
                return -1;
            }
            *p = '/';
        }
    free (path);
    if (mkdir (dir, 0700) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat (dir, &st) == 0 && S_ISDIR (st.st_mode))
            return 0;
        fed_err_set (err, -1, "data dir %s is not a directory (config data_dir, --data-dir)", dir);
        return -1;
    }
    fed_err_set (err, -1, "cannot create data dir %s: %s (config data_dir, --data-dir)", dir,
                 strerror (errno));
    return -1;
}

char *
fed_node_agent_endpoint (const fed_config_t *config, fed_err_t *err)
{
    if (config->listen.agents [0])
        return fed_strdup (config->listen.agents);
    char *dir = realpath (config->data_dir, NULL);
    if (!dir) {
        fed_err_set (err, -1, "cannot resolve data dir %s for the agent endpoint: %s",
                     config->data_dir, strerror (errno));
        return NULL;
    }
    char *endpoint = fed_sprintf ("ipc://%s/agents.sock", dir);
    free (dir);
    if (strlen (endpoint) - 6 > 107) {
        fed_err_set (err, -1,
                     "the agent endpoint %s is longer than the 107 bytes an ipc path may have: "
                     "set listen.agents (an ipc:// path or tcp://HOST:PORT)",
                     endpoint);
        free (endpoint);
        return NULL;
    }
    return endpoint;
}

fed_evlog_t *
fed_node_open_log (const fed_config_t *config, bool read_only, fed_identity_t **identity_p,
                   fed_err_t *err)
{
    *identity_p = NULL;
    fed_identity_t *identity = NULL;
    char *key_path = fed_sprintf ("%s/node.key", config->data_dir);
    if (read_only) {
        identity = fed_identity_load (key_path, err);
    } else if (s_make_data_dir (config->data_dir, err) == 0)
        identity = fed_identity_open (config->data_dir, NULL, err);
    free (key_path);
    if (!identity)
        return NULL;
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = config->durability_sync ? FED_DURABILITY_SYNC : FED_DURABILITY_WAL;
    options.limits.max_body = config->limits.event_body;
    options.pending_max = (size_t) config->limits.pending_events;
    options.read_only = read_only;
    char *db_path = fed_sprintf ("%s/db", config->data_dir);
    fed_evlog_t *log = fed_evlog_open (db_path, &options, err);
    free (db_path);
    if (!log) {
        fed_identity_destroy (&identity);
        return NULL;
    }
    fed_evlog_set_signer (log, fed_identity_public (identity), fed_identity_secret (identity));
    fed_evlog_set_trust (log, s_trust_config, (void *) config);
    if (fed_coreviews_register (log, err) || fed_registry_register (log, err)
        || fed_catalog_register (log, err) || fed_runs_register (log, err)) {
        fed_evlog_destroy (&log);
        fed_identity_destroy (&identity);
        return NULL;
    }
    *identity_p = identity;
    return log;
}

fed_node_t *
fed_node_new (const fed_config_t *config, fed_err_t *err)
{
    //  The signals are the program's. Left alone, czmq would install its
    //  own SIGINT and SIGTERM handlers when the node makes its first socket,
    //  replacing the program's and making the node's loop stop unseen at a
    //  Ctrl-C. node/fednode.c makes the same call for itself.
    zsys_handler_set (NULL);
    fed_node_t *self = (fed_node_t *) fed_calloc (1, sizeof (fed_node_t));
    self->config = s_config_copy (config);
    self->agents = fed_agentset_new ();
    self->log = fed_node_open_log (self->config, false, &self->identity, err);
    if (!self->log)
        goto err;
    self->admin = fed_identity_open_admin (self->config->data_dir, NULL, err);
    if (!self->admin)
        goto err;
    self->agent_key = fed_identity_open_agent (self->config->data_dir, NULL, err);
    if (!self->agent_key)
        goto err;
    self->trust = fed_trust_new ();
    if (fed_trust_load (self->trust, self->config, fed_identity_public (self->admin),
                        fed_identity_public (self->agent_key), self->log, err))
        goto err;
    //  Remote events are taken from keys with the peer role.
    fed_evlog_set_trust (self->log, fed_trust_is_peer, self->trust);
    self->metrics = fed_metrics_new ();
    fed_log_set_prefix (fed_identity_short_id (self->identity));
    return self;

err:
    fed_node_destroy (&self);
    return NULL;
}

//  Packs a string member, or nil when empty.
static void
s_pack_text (msgpack_packer *pk, const char *name, const char *value)
{
    msgpack_pack_str_with_body (pk, name, strlen (name));
    if (value && *value)
        msgpack_pack_str_with_body (pk, value, strlen (value));
    else
        msgpack_pack_nil (pk);
}

void
fed_node_info_body (const fed_identity_t *identity, const fed_config_t *config, uint8_t **body_p,
                    size_t *size_p)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    s_pack_text (&pk, "name",
                 *config->node.name ? config->node.name : fed_identity_short_id (identity));
    s_pack_text (&pk, "version", PACKAGE_VERSION);
    char *seed = fed_node_seed_string (identity, config);
    s_pack_text (&pk, "seed", seed);
    free (seed);
    s_pack_text (&pk, "control", config->listen.control);
    msgpack_pack_str_with_body (&pk, "location", 8);
    msgpack_pack_map (&pk, 6);
    s_pack_text (&pk, "region", config->node.region);
    s_pack_text (&pk, "zone", config->node.zone);
    s_pack_text (&pk, "site", config->node.site);
    msgpack_pack_str_with_body (&pk, "lat", 3);
    if (config->node.has_latlon)
        msgpack_pack_double (&pk, config->node.lat);
    else
        msgpack_pack_nil (&pk);
    msgpack_pack_str_with_body (&pk, "lon", 3);
    if (config->node.has_latlon)
        msgpack_pack_double (&pk, config->node.lon);
    else
        msgpack_pack_nil (&pk);
    msgpack_pack_str_with_body (&pk, "labels", 6);
    msgpack_pack_map (&pk, (uint32_t) config->node.label_count);
    for (size_t i = 0; i < config->node.label_count; i++)
        s_pack_text (&pk, config->node.labels [i].key, config->node.labels [i].value);
    *body_p = (uint8_t *) buffer.data;
    *size_p = buffer.size;
}

char *
fed_node_seed_string (const fed_identity_t *identity, const fed_config_t *config)
{
    const char *endpoint =
        *config->listen.advertise ? config->listen.advertise : config->listen.peer;
    const char *host_start = strstr (endpoint, "://");
    host_start = host_start ? host_start + 3 : endpoint;
    const char *port = strrchr (host_start, ':');
    bool wildcard = strncmp (host_start, "*:", 2) == 0 || strncmp (host_start, "0.0.0.0:", 8) == 0;
    if (!wildcard || !port)
        return fed_sprintf ("%s@%s", fed_identity_id (identity), endpoint);
    char host [256] = "127.0.0.1";
    if (gethostname (host, sizeof host) != 0)
        snprintf (host, sizeof host, "127.0.0.1");
    host [sizeof host - 1] = 0;
    return fed_sprintf ("%s@tcp://%s%s", fed_identity_id (identity), host, port);
}

//  --- The actor ----------------------------------------------------------

//  APPEND type body -> seq status error
static int
s_actor_append (node_actor_t *self, zmsg_t *request)
{
    char *type = zmsg_popstr (request);
    zframe_t *body = zmsg_pop (request);
    fed_err_t err = {0};
    uint64_t seq = 0;
    int rc = -1;
    if (!type || !body)
        fed_err_set (&err, -1, "APPEND needs a type and a body frame");
    else
        rc = fed_node_append_local (self->node, type, zframe_data (body), zframe_size (body), &seq,
                                    NULL, &err);
    zsock_send (self->pipe, "8is", seq, rc, rc ? err.text : "");
    free (type);
    zframe_destroy (&body);
    return 0;
}

static int
s_actor_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    node_actor_t *self = (node_actor_t *) arg;
    zmsg_t *request = zmsg_recv (pipe);
    if (!request)
        return -1; //  interrupted
    char *command = zmsg_popstr (request);
    int rc = 0;
    if (!command)
        rc = 0;
    else if (streq (command, "$TERM"))
        rc = -1;
    else if (streq (command, "APPEND"))
        rc = s_actor_append (self, request);
    else
        fed_error ("node actor: unknown command '%s' (a bug in the front end)", command);
    free (command);
    zmsg_destroy (&request);
    return rc;
}

static void
s_node_actor (zsock_t *pipe, void *arg)
{
    node_actor_t self = {(fed_node_t *) arg, pipe, zloop_new ()};
    //  zactor_new waits for this signal; the start status follows it.
    zsock_signal (pipe, 0);
    fed_err_t err = {0};
    self.node->control = fed_control_new (self.node, self.loop, &err);
    if (!self.node->control) {
        zsock_send (pipe, "is", -1, err.text);
        zloop_destroy (&self.loop);
        return;
    }
    self.node->peer = fed_peer_new (self.node, self.loop, &err);
    if (!self.node->peer) {
        zsock_send (pipe, "is", -1, err.text);
        fed_control_destroy (&self.node->control);
        zloop_destroy (&self.loop);
        return;
    }
    self.node->tasks = fed_tasks_new (self.node, self.loop, &err);
    if (!self.node->tasks || fed_tasks_register_builtins (self.node->tasks, &err)) {
        zsock_send (pipe, "is", -1, err.text);
        fed_tasks_destroy (&self.node->tasks);
        fed_peer_destroy (&self.node->peer);
        fed_control_destroy (&self.node->control);
        zloop_destroy (&self.loop);
        return;
    }
    self.node->executor = fed_executor_new (self.node, self.loop, &err);
    if (!self.node->executor) {
        zsock_send (pipe, "is", -1, err.text);
        fed_tasks_destroy (&self.node->tasks);
        fed_peer_destroy (&self.node->peer);
        fed_control_destroy (&self.node->control);
        zloop_destroy (&self.loop);
        return;
    }
    zloop_reader (self.loop, pipe, s_actor_pipe, &self);
    zsock_send (pipe, "is", 0, "");
    zloop_start (self.loop);
    fed_executor_destroy (&self.node->executor);
    fed_tasks_destroy (&self.node->tasks);
    fed_peer_destroy (&self.node->peer);
    fed_control_destroy (&self.node->control);
    zloop_destroy (&self.loop);
}

int
fed_node_register_agent (fed_node_t *self, const fed_agent_t *agent, fed_err_t *err)
{
    const char *name = agent->name ? agent->name : "(null)";
    if (self->start_called) {
        fed_err_set (err, -1,
                     "agent %s: agents are registered before fed_node_start, and this node "
                     "was started",
                     name);
        return -1;
    }
    //  The whole namespace, not only today's three: a later sys.* agent
    //  must not collide with an embedder's.
    if (agent->name && strncmp (agent->name, "sys.", 4) == 0) {
        fed_err_set (err, -1,
                     "agent %s: names starting with \"sys.\" belong to the node's own built-in "
                     "agents; use a prefix of your own (\"gateway.\", say)",
                     name);
        return -1;
    }
    return fed_agentset_add (self->agents, agent, err);
}

int
fed_node_start (fed_node_t *self, fed_err_t *err)
{
    self->start_called = true;
    //  The ZAP handler must be up before any CURVE server binds (DESIGN §12).
    self->zap = fed_zap_new (err);
    if (!self->zap)
        return -1;
    //  Unknown keys reach the peer endpoint only as pending, to present a
    //  join token, and only pending_joins of them a second.
    fed_zap_set_pending (self->zap, FED_ZAP_PEER, self->config->limits.pending_joins,
                         self->config->limits.pending_joins * 2);
    if (fed_node_refresh_trust (self, NULL, err))
        return -1;
    self->started_ms = fed_wall_ms ();
    uint8_t *body;
    size_t size;
    fed_node_info_body (self->identity, self->config, &body, &size);
    int rc = fed_evlog_append (self->log, "node.started", body, size, NULL, err);
    free (body);
    if (rc)
        return -1;
    //  For operators and fedctl --data-dir: the node's public key.
    char *pub_path = fed_sprintf ("%s/node.pub", self->config->data_dir);
    fed_err_t pub_err;
    if (access (pub_path, F_OK) != 0
        && fed_identity_save_public (self->identity, pub_path, &pub_err))
        fed_warn ("%s", pub_err.text);
    free (pub_path);
    self->actor = zactor_new (s_node_actor, self);
    int started = -1;
    char *text = NULL;
    if (zsock_recv (self->actor, "is", &started, &text) || started != 0) {
        fed_err_set (err, -1, "%s", text ? text : "the node actor did not start");
        free (text);
        zactor_destroy (&self->actor);
        return -1;
    }
    free (text);
    fed_info ("node %s started (fednode %s), data dir %s, durability %s",
              fed_identity_id (self->identity), PACKAGE_VERSION, self->config->data_dir,
              self->config->durability_sync ? "sync" : "wal");
    return 0;
}

//  Brings one ZAP domain's allow table in line with keys: allows them
//  all, denies what was allowed before and is not now. *keys_p (owned) is
//  replaced by keys. True if a key lost access.
static bool
s_zap_sync (fed_zap_t *zap, const char *domain, uint8_t (**keys_p) [32], size_t *count_p,
            uint8_t (*keys) [32], char (*user_ids) [65], size_t count)
{
    bool revoked = false;
    for (size_t i = 0; i < count; i++)
        fed_zap_allow (zap, domain, keys [i], user_ids [i]);
    for (size_t i = 0; i < *count_p; i++) {
        bool still = false;
        for (size_t j = 0; j < count && !still; j++)
            still = memcmp ((*keys_p) [i], keys [j], 32) == 0;
        if (!still) {
            fed_zap_deny (zap, domain, (*keys_p) [i]);
            revoked = true;
        }
    }
    free (*keys_p);
    *keys_p = keys;
    *count_p = count;
    return revoked;
}

int
fed_node_refresh_trust (fed_node_t *self, bool *revoked_p, fed_err_t *err)
{
    if (revoked_p)
        *revoked_p = false;
    if (fed_trust_load (self->trust, self->config, fed_identity_public (self->admin),
                        fed_identity_public (self->agent_key), self->log, err))
        return -1;
    const fed_trusted_t *entries;
    size_t count = fed_trust_entries (self->trust, &entries);
    //  Peers may use the peer endpoint, agents the agent endpoint, every
    //  other role the control endpoint.
    enum { CONTROL, PEER, AGENTS, DOMAINS };
    static const char *domains [DOMAINS] = {FED_ZAP_CONTROL, FED_ZAP_PEER, FED_ZAP_AGENTS};
    uint8_t (*keys [DOMAINS]) [32];
    char (*ids [DOMAINS]) [65];
    size_t counts [DOMAINS] = {0, 0, 0};
    for (int d = 0; d < DOMAINS; d++) {
        keys [d] = fed_calloc (count + 1, 32);
        ids [d] = fed_calloc (count + 1, 65);
    }
    for (size_t i = 0; i < count; i++) {
        int d = entries [i].role == FED_ROLE_PEER ? PEER
            : entries [i].role == FED_ROLE_AGENT  ? AGENTS
                                                  : CONTROL;
        memcpy (keys [d][counts [d]], entries [i].curve, 32);
        fed_hex_encode (ids [d][counts [d]], entries [i].key, 32);
        counts [d]++;
    }
    bool revoked = false;
    for (int d = 0; d < DOMAINS; d++) {
        revoked |= s_zap_sync (self->zap, domains [d], &self->zap_domain_keys [d],
                               &self->zap_domain_counts [d], keys [d], ids [d], counts [d]);
        free (ids [d]);
    }
    if (revoked_p)
        *revoked_p = revoked;
    return 0;
}

void
fed_node_fail (fed_node_t *self, const char *format, ...)
{
    if (__atomic_load_n (&self->failed, __ATOMIC_ACQUIRE))
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->failure, sizeof self->failure, format, args);
    va_end (args);
    fed_error ("%s", self->failure);
    __atomic_store_n (&self->failed, 1, __ATOMIC_RELEASE);
}

const char *
fed_node_failure (fed_node_t *self)
{
    return __atomic_load_n (&self->failed, __ATOMIC_ACQUIRE) ? self->failure : NULL;
}

int
fed_node_append_local (fed_node_t *self, const char *type, const void *body, size_t size,
                       uint64_t *seq_p, uint8_t id [32], fed_err_t *err)
{
    uint64_t seq;
    if (fed_evlog_append (self->log, type, body, size, &seq, err))
        return -1;
    if (seq_p)
        *seq_p = seq;
    //  The event just appended is the head of the node's own chain.
    if (id && !fed_evlog_head (self->log, fed_identity_public (self->identity), NULL, id))
        memset (id, 0, 32);
    fed_node_log_changed (self, strncmp (type, "trust.", 6) == 0);
    if (self->peer)
        fed_peer_appended (self->peer, seq);
    return 0;
}

void
fed_node_log_changed (fed_node_t *self, bool trust_too)
{
    if (trust_too) {
        //  A key that lost access fails its next handshake (ZAP) and every
        //  request on a connection it still holds (roles are looked up per
        //  request), so other clients' connections stay up.
        fed_err_t trust_err;
        if (fed_node_refresh_trust (self, NULL, &trust_err))
            fed_error ("trust refresh failed: %s", trust_err.text);
        else if (self->peer)
            fed_peer_trust_changed (self->peer);
    }
    fed_control_log_changed (self->control);
    fed_executor_log_changed (self->executor);
}

void
fed_node_destroy (fed_node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_node_t *self = *self_p;
    zactor_destroy (&self->actor);
    fed_zap_destroy (&self->zap);
    fed_evlog_destroy (&self->log);
    fed_trust_destroy (&self->trust);
    fed_metrics_destroy (&self->metrics);
    fed_agentset_destroy (&self->agents);
    for (size_t d = 0; d < 3; d++)
        free (self->zap_domain_keys [d]);
    fed_identity_destroy (&self->identity);
    fed_identity_destroy (&self->admin);
    fed_identity_destroy (&self->agent_key);
    fed_config_destroy (&self->config);
    free (self);
    *self_p = NULL;
}

int
fed_node_append (fed_node_t *self, const char *type, const void *body, size_t body_size,
                 uint64_t *seq_p, fed_err_t *err)
{
    if (!self->actor)
        return fed_evlog_append (self->log, type, body, body_size, seq_p, err);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "APPEND");
    zmsg_addstr (request, type);
    zmsg_addmem (request, body ? body : "\x80", body ? body_size : 1);
    if (zmsg_send (&request, self->actor)) {
        fed_err_set (err, -1, "node actor is gone");
        return -1;
    }
    uint64_t seq = 0;
    int rc = -1;
    char *text = NULL;
    if (zsock_recv (self->actor, "8is", &seq, &rc, &text)) {
        fed_err_set (err, -1, "node actor did not answer");
        return -1;
    }
    if (rc)
        fed_err_set (err, -1, "%s", text);
    else if (seq_p)
        *seq_p = seq;
    free (text);
    return rc ? -1 : 0;
}

const fed_identity_t *
fed_node_identity (fed_node_t *self)
{
    return self->identity;
}

fed_evlog_t *
fed_node_log (fed_node_t *self)
{
    return self->actor ? NULL : self->log;
}
