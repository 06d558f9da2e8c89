/*  agents/agentclient.c: the external-agent client (agentclient.h).

    The front end holds only the actor. The actor owns everything else: the
    DEALER to the node, the worker pool, the READY frame (packed once from
    the agent set), and the jobs, one per task the node gave and the pool
    has not finished: the node's task id beside the pool's. It runs one
    zmq_poll loop over its pipe, the pool's report socket and the DEALER,
    waking for the next timer: the WELCOME timeout before the node has
    welcomed the READY, the liveness deadline and the next HEARTBEAT after,
    and a front-end WAIT. Messages from the node go through a table of
    handlers by type; those only an agent sends (READY, PROGRESS, RESULT,
    FAIL) are not expected from a node and are ignored.

    A job leaves when its final report has been sent, or when the node no
    longer wants it (CANCEL, ERROR unknown_task, the connection lost); the
    pool task is then cancelled and whatever it reports later finds no job
    and is dropped.
*/
#include "agentclient.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentwire.h"
#include "curve.h"
#include "log.h"

#define HEARTBEAT_MIN_MS 10      //  a WELCOME asking for less is taken as this
#define HEARTBEAT_MAX_MS 3600000 //  … or for more
#define LIVENESS_MAX 1000        //
#define LOCATION_DEPTH 12        //  a location map sits at level 5 of 16 (§5.2)
#define BYE_LINGER_MS 500        //  time the BYE gets to leave on destroy
#define LOG_INTERVAL_MS 60000    //  repeated problems are logged once a minute
#define READ_BATCH 256           //  frames read from the node per loop turn
#define TIMEOUT_GRACE_MS 1000    //  the pool's timeout past the node's (s_pool_timeout)

struct fed_agent_client_t {
    zactor_t *actor; //  the client actor, owned
};

//  One task the node gave: its id there and in the pool.
typedef struct {
    uint64_t task;
    uint64_t pool_id;
} job_t;

//  What fed_agent_client_new hands the actor; read before it signals.
typedef struct {
    const fed_agentset_t *agents;
    const fed_agent_client_options_t *options;
} client_args_t;

typedef struct {
    zsock_t *pipe;                      //  to the front end, not owned
    fed_agent_client_options_t options; //  copied; location points at our copy
    uint8_t *location;                  //  owned copy of the location map, or NULL
    fed_pool_t *pool;                   //  owned
    zsock_t *dealer;                    //  to the node, owned; NULL if opening it failed
    uint64_t generation;                //  sockets opened so far
    msgpack_sbuffer ready;              //  the READY frame
    uint32_t agent_count;               //  agents it offers
    job_t *jobs;                        //  tasks the pool runs for the node, owned
    size_t job_count;                   //  jobs in use
    size_t job_capacity;                //  jobs allocated
    int64_t ready_sent_ms;              //  when the READY now awaiting WELCOME went out
    int64_t heard_ms;                   //  last frame from the node
    int64_t next_beat_ms;               //  next HEARTBEAT due (once welcomed)
    int64_t wait_deadline_ms;           //  a front-end WAIT is pending until then; 0: none
    bool stopping;                      //  $TERM seen
    fed_ratelimit_t drop_gate;          //  "dropped a frame" lines
    fed_ratelimit_t refusal_gate;       //  ERROR lines
    fed_ratelimit_t reconnect_gate;     //  "reconnecting" lines
    fed_agent_client_stats_t stats;     //  what fed_agent_client_stats returns
} actor_t;

void
fed_agent_client_options_default (fed_agent_client_options_t *options)
{
    memset (options, 0, sizeof *options);
    options->slots = 1;
    options->heartbeat_ms = 1000;
    options->liveness = 3;
    options->welcome_timeout_ms = 5000;
    options->max_message = 4 * 1024 * 1024;
    fed_pool_options_default (&options->pool);
}

//  Reads a CURVE key from the environment variable name. Returns 0, 1 if
//  it is unset, or -1 with err.
static int
s_env_key (const char *name, uint8_t key [32], fed_err_t *err)
{
    const char *text = getenv (name);
    if (!text || !*text)
        return 1;
    if (fed_key_decode (key, text)) {
        fed_err_set (err, -1, "%s is not a CURVE key (40 Z85 or 64 hex characters, %zu given)",
                     name, strlen (text));
        return -1;
    }
    return 0;
}

int
fed_agent_client_options_from_env (fed_agent_client_options_t *options, fed_err_t *err)
{
    static const char *hint = "; run eval \"$(fednode agent-env -d DATA_DIR)\" first";
    const char *endpoint = getenv ("FEDNODE_AGENT_ENDPOINT");
    if (!endpoint || !*endpoint) {
        fed_err_set (err, -1, "FEDNODE_AGENT_ENDPOINT is not set%s", hint);
        return -1;
    }
    if (strlen (endpoint) > FED_AGENT_CLIENT_ENDPOINT_MAX) {
        fed_err_set (err, -1, "FEDNODE_AGENT_ENDPOINT is %zu characters, over the limit of %d",
                     strlen (endpoint), FED_AGENT_CLIENT_ENDPOINT_MAX);
        return -1;
    }
    snprintf (options->endpoint, sizeof options->endpoint, "%s", endpoint);
    int rc = s_env_key ("FEDNODE_SERVER_KEY", options->server_key, err);
    if (rc == 1)
        fed_err_set (err, -1, "FEDNODE_SERVER_KEY is not set%s", hint);
    if (rc)
        return -1;
    rc = s_env_key ("FEDNODE_AGENT_SECRET", options->secret_key, err);
    if (rc == 1)
        fed_err_set (err, -1, "FEDNODE_AGENT_SECRET is not set%s", hint);
    if (rc)
        return -1;
    uint8_t derived [32];
    crypto_scalarmult_base (derived, options->secret_key);
    rc = s_env_key ("FEDNODE_AGENT_PUBLIC", options->public_key, err);
    if (rc == -1)
        return -1;
    if (rc == 0 && memcmp (derived, options->public_key, 32) != 0) {
        fed_err_set (err, -1,
                     "FEDNODE_AGENT_PUBLIC is not the public key of FEDNODE_AGENT_SECRET (use the "
                     "pair `fednode agent-env` printed)");
        return -1;
    }
    memcpy (options->public_key, derived, 32);
    return 0;
}

void
fed_agent_client_options_wipe (fed_agent_client_options_t *options)
{
    sodium_memzero (options->secret_key, sizeof options->secret_key);
}

//  --- Sending ------------------------------------------------------------------

static void
s_send_bytes (actor_t *self, const void *data, size_t size)
{
    //  A full queue (the node away for long) drops the message: a node that
    //  comes back is sent READY again anyway.
    if (self->dealer && zmq_send (zsock_resolve (self->dealer), data, size, ZMQ_DONTWAIT) < 0)
        fed_debug ("agent client: a message to the node was dropped: %s",
                   zmq_strerror (zmq_errno ()));
}

static void
s_send (actor_t *self, const fed_aw_msg_t *msg)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    fed_aw_encode (msg, &out);
    s_send_bytes (self, out.data, out.size);
    msgpack_sbuffer_destroy (&out);
}

static void
s_send_fail (actor_t *self, uint64_t task, const char *code, const char *message)
{
    fed_aw_msg_t msg = {.type = FED_AW_FAIL, .task = task};
    snprintf (msg.code, sizeof msg.code, "%s", code);
    snprintf (msg.message, sizeof msg.message, "%s", message);
    s_send (self, &msg);
    self->stats.tasks_failed++;
}

//  Sends READY and waits for its WELCOME again.
static void
s_send_ready (actor_t *self)
{
    s_send_bytes (self, self->ready.data, self->ready.size);
    self->stats.readies++;
    self->stats.ready = false;
    self->ready_sent_ms = fed_mono_ms ();
}

//  --- Jobs -------------------------------------------------------------------------

static job_t *
s_job_by_task (actor_t *self, uint64_t task)
{
    for (size_t i = 0; i < self->job_count; i++)
        if (self->jobs [i].task == task)
            return &self->jobs [i];
    return NULL;
}

static job_t *
s_job_by_pool_id (actor_t *self, uint64_t pool_id)
{
    for (size_t i = 0; i < self->job_count; i++)
        if (self->jobs [i].pool_id == pool_id)
            return &self->jobs [i];
    return NULL;
}

static void
s_job_add (actor_t *self, uint64_t task, uint64_t pool_id)
{
    if (self->job_count == self->job_capacity) {
        self->job_capacity = self->job_capacity ? 2 * self->job_capacity : 16;
        self->jobs = (job_t *) fed_realloc (self->jobs, self->job_capacity * sizeof (job_t));
    }
    self->jobs [self->job_count++] = (job_t){task, pool_id};
}

static void
s_job_remove (actor_t *self, job_t *job)
{
    *job = self->jobs [--self->job_count];
}

//  The node no longer wants job: stop it in the pool and forget it.
static void
s_job_drop (actor_t *self, job_t *job)
{
    fed_pool_cancel (self->pool, job->pool_id);
    s_job_remove (self, job);
    self->stats.tasks_dropped++;
}

static void
s_jobs_drop_all (actor_t *self)
{
    if (self->job_count)
        fed_info ("agent client: dropping %zu task(s): the node has failed them over",
                  self->job_count);
    while (self->job_count)
        s_job_drop (self, &self->jobs [0]);
}

//  --- The connection -------------------------------------------------------------

//  Opens a DEALER to the node and sends READY on it.
static int
s_open (actor_t *self, fed_err_t *err)
{
    self->stats.connected = false;
    self->generation++;
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer) {
        fed_err_set (err, -1, "cannot create a socket: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    fed_socket_defaults (dealer, self->options.max_message);
    fed_curve_client (dealer, self->options.secret_key, self->options.public_key,
                      self->options.server_key);
    if (zsock_connect (dealer, "%s", self->options.endpoint) < 0) {
        fed_err_set (err, -1, "cannot connect to %s: %s", self->options.endpoint,
                     zmq_strerror (zmq_errno ()));
        zsock_destroy (&dealer);
        return -1;
    }
    self->dealer = dealer;
    s_send_ready (self);
    return 0;
}

//  Gives up on the current connection: its tasks, its socket; a new one
//  sends READY.
static void
s_reconnect (actor_t *self, const char *why)
{
    uint64_t suppressed = 0;
    if (fed_ratelimit_allow (&self->reconnect_gate, LOG_INTERVAL_MS, &suppressed))
        fed_info ("agent client: %s; reconnecting to %s (%" PRIu64 " more suppressed)", why,
                  self->options.endpoint, suppressed);
    s_jobs_drop_all (self);
    zsock_destroy (&self->dealer);
    self->stats.reconnects++;
    fed_err_t err = {0};
    if (s_open (self, &err)) {
        //  Tried again when the WELCOME timeout passes.
        fed_error ("agent client: %s", err.text);
        self->stats.ready = false;
        self->ready_sent_ms = fed_mono_ms ();
    }
}

//  --- Messages from the node ------------------------------------------------------

static void
s_wait_reply (actor_t *self, int status)
{
    if (self->wait_deadline_ms) {
        zsock_send (self->pipe, "ss", "WAIT", status == 0 ? "ready" : "timeout");
        self->wait_deadline_ms = 0;
    }
}

static void
s_on_welcome (actor_t *self, const fed_aw_msg_t *msg)
{
    uint64_t beat = msg->heartbeat_ms;
    self->stats.heartbeat_ms = beat < HEARTBEAT_MIN_MS ? HEARTBEAT_MIN_MS
        : beat > HEARTBEAT_MAX_MS                      ? HEARTBEAT_MAX_MS
                                                       : (int64_t) beat;
    self->stats.liveness = msg->liveness > LIVENESS_MAX ? LIVENESS_MAX : msg->liveness;
    if (!self->stats.ready || memcmp (self->stats.node, msg->node, 32) != 0) {
        char node [65];
        fed_hex_encode (node, msg->node, 32);
        fed_info ("agent client: node %.16s welcomed %u agent(s) (heartbeat %" PRId64
                  " ms, liveness %u)",
                  node, self->agent_count, self->stats.heartbeat_ms, self->stats.liveness);
    }
    memcpy (self->stats.node, msg->node, 32);
    self->stats.ready = true;
    self->next_beat_ms = fed_mono_ms () + self->stats.heartbeat_ms;
    s_wait_reply (self, 0);
}

//  The node fails a task at its deadline and sends CANCEL, which a well
//  behaved agent heeds. The pool's own timeout is a backstop a little later,
//  so that it does not race the CANCEL and give up on a worker (pool.h)
//  whose agent was about to return.
static int64_t
s_pool_timeout (uint64_t timeout_ms)
{
    return timeout_ms > (uint64_t) (INT64_MAX - TIMEOUT_GRACE_MS)
        ? INT64_MAX
        : (int64_t) timeout_ms + TIMEOUT_GRACE_MS;
}

static void
s_on_task (actor_t *self, const fed_aw_msg_t *msg)
{
    self->stats.tasks_received++;
    job_t *old = s_job_by_task (self, msg->task);
    if (old) {
        //  The node's latest word stands: it sent the task again.
        fed_warn ("agent client: the node sent task %" PRIu64 " again; restarting it", msg->task);
        s_job_drop (self, old);
    }
    if (msg->timeout_ms == 0) {
        s_send_fail (self, msg->task, "timeout", "the task had no time left when it arrived");
        return;
    }
    fed_task_spec_t spec = {msg->agent,       msg->version,   msg->params,
                            msg->params_size, msg->run,       msg->step,
                            msg->attempt,     msg->workspace, s_pool_timeout (msg->timeout_ms)};
    uint64_t pool_id = fed_pool_submit (self->pool, &spec);
    if (pool_id == 0) {
        s_send_fail (self, msg->task, "agent_error", "the agent process is shutting down");
        return;
    }
    s_job_add (self, msg->task, pool_id);
}

static void
s_on_cancel (actor_t *self, const fed_aw_msg_t *msg)
{
    job_t *job = s_job_by_task (self, msg->task);
    if (job)
        s_job_drop (self, job);
}

static void
s_on_heartbeat (actor_t *self, const fed_aw_msg_t *msg)
{
    (void) self; //  every frame counts as a sign of life already
    (void) msg;
}

static void
s_on_bye (actor_t *self, const fed_aw_msg_t *msg)
{
    (void) msg;
    s_reconnect (self, "the node is stopping (BYE)");
}

static void
s_on_error (actor_t *self, const fed_aw_msg_t *msg)
{
    if (streq (msg->code, "not_ready")) {
        //  The node has forgotten this process (it restarted, or found it
        //  gone). Further not_ready answers to what was sent before the new
        //  READY are expected until its WELCOME.
        if (self->stats.ready) {
            fed_info ("agent client: the node does not know this process (not_ready); sending "
                      "READY again");
            s_jobs_drop_all (self);
            s_send_ready (self);
        }
        return;
    }
    job_t *job = msg->task ? s_job_by_task (self, msg->task) : NULL;
    if (streq (msg->code, "unknown_task")) {
        if (job)
            s_job_drop (self, job);
        return;
    }
    uint64_t suppressed = 0;
    if (fed_ratelimit_allow (&self->refusal_gate, LOG_INTERVAL_MS, &suppressed))
        fed_error ("agent client: the node refused a message: %s: %s (%" PRIu64 " more suppressed)",
                   msg->code, msg->message, suppressed);
}

typedef void (s_handler_fn) (actor_t *self, const fed_aw_msg_t *msg);

//  What a node may send; anything else only an agent sends.
static s_handler_fn *const s_handlers [FED_AW_TYPES] = {
    [FED_AW_WELCOME] = s_on_welcome,     [FED_AW_TASK] = s_on_task, [FED_AW_CANCEL] = s_on_cancel,
    [FED_AW_HEARTBEAT] = s_on_heartbeat, [FED_AW_BYE] = s_on_bye,   [FED_AW_ERROR] = s_on_error,
};

static void
s_dropped (actor_t *self, const char *why)
{
    self->stats.frames_dropped++;
    uint64_t suppressed = 0;
    if (fed_ratelimit_allow (&self->drop_gate, LOG_INTERVAL_MS, &suppressed))
        fed_warn ("agent client: ignored a frame from the node: %s (%" PRIu64 " more suppressed)",
                  why, suppressed);
}

static void
s_on_frame (actor_t *self, const void *data, size_t size)
{
    fed_aw_msg_t msg;
    fed_err_t err = {0};
    if (fed_aw_decode (data, size, &msg, &err)) {
        s_dropped (self, err.text);
        return;
    }
    if (s_handlers [msg.type])
        s_handlers [msg.type](self, &msg);
    else {
        char why [64];
        snprintf (why, sizeof why, "%s is not a message a node sends", fed_aw_type_name (msg.type));
        s_dropped (self, why);
    }
    fed_aw_msg_clear (&msg);
}

//  Reads what the node sent, until the socket is empty or replaced.
static void
s_dealer_readable (actor_t *self)
{
    uint64_t generation = self->generation;
    void *handle = zsock_resolve (self->dealer);
    for (int read = 0; read < READ_BATCH && self->generation == generation; read++) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&frame);
            return;
        }
        self->heard_ms = fed_mono_ms ();
        self->stats.connected = true;
        if (zmq_msg_more (&frame)) {
            //  Every message is one frame (§5.1): drop the whole of it.
            while (zmq_msg_more (&frame) && zmq_msg_recv (&frame, handle, 0) >= 0)
                ;
            s_dropped (self, "a message of several frames");
        } else
            s_on_frame (self, zmq_msg_data (&frame), zmq_msg_size (&frame));
        zmq_msg_close (&frame);
    }
}

//  --- Reports from the pool ---------------------------------------------------------

static void
s_on_report (actor_t *self, const fed_report_t *report)
{
    job_t *job = s_job_by_pool_id (self, fed_report_task (report));
    if (!job)
        return; //  dropped: the node no longer wants it
    fed_aw_msg_t msg = {.task = job->task};
    switch (fed_report_kind (report)) {
        case FED_REPORT_PROGRESS:
            msg.type = FED_AW_PROGRESS;
            msg.done = fed_report_done (report);
            msg.total = fed_report_total (report);
            snprintf (msg.text, sizeof msg.text, "%s", fed_report_text (report));
            break;
        case FED_REPORT_COMPLETED:
            msg.type = FED_AW_RESULT;
            fed_report_output (report, &msg.output, &msg.output_size);
            self->stats.tasks_completed++;
            break;
        default:
            msg.type = FED_AW_FAIL;
            snprintf (msg.code, sizeof msg.code, "%s", fed_report_code (report));
            snprintf (msg.message, sizeof msg.message, "%s", fed_report_message (report));
            self->stats.tasks_failed++;
            break;
    }
    s_send (self, &msg);
    if (fed_report_is_final (report))
        s_job_remove (self, job);
}

static void
s_pool_readable (actor_t *self)
{
    zsock_t *sock = fed_pool_socket (self->pool);
    for (int read = 0; read < READ_BATCH && (zsock_events (sock) & ZMQ_POLLIN); read++) {
        fed_report_t *report = fed_pool_recv (self->pool);
        if (!report)
            return;
        s_on_report (self, report);
        fed_report_destroy (&report);
    }
}

//  --- Commands from the front end ---------------------------------------------------

static void
s_cmd_term (actor_t *self, zmsg_t *msg)
{
    (void) msg;
    self->stopping = true;
}

static void
s_cmd_stats (actor_t *self, zmsg_t *msg)
{
    (void) msg;
    fed_agent_client_stats_t stats = self->stats;
    stats.tasks_running = self->job_count;
    zsock_send (self->pipe, "sb", "STATS", &stats, sizeof stats);
}

static void
s_cmd_wait (actor_t *self, zmsg_t *msg)
{
    zframe_t *frame = zmsg_pop (msg);
    int64_t timeout = 0;
    if (frame && zframe_size (frame) == sizeof timeout)
        memcpy (&timeout, zframe_data (frame), sizeof timeout);
    zframe_destroy (&frame);
    self->wait_deadline_ms = fed_mono_ms () + (timeout > 0 ? timeout : 0);
    if (self->stats.ready || timeout <= 0)
        s_wait_reply (self, self->stats.ready ? 0 : -1);
}

static const struct {
    const char *name;
    void (*fn) (actor_t *self, zmsg_t *msg);
} s_commands [] = {{"$TERM", s_cmd_term}, {"STATS", s_cmd_stats}, {"WAIT", s_cmd_wait}};

static int
s_command (actor_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg)
        return -1;
    char *name = zmsg_popstr (msg);
    size_t i = 0;
    while (i < sizeof s_commands / sizeof s_commands [0]
           && !(name && streq (name, s_commands [i].name)))
        i++;
    if (i < sizeof s_commands / sizeof s_commands [0])
        s_commands [i].fn (self, msg);
    else
        fed_error ("agent client: unknown command %s", name ? name : "(none)");
    free (name);
    zmsg_destroy (&msg);
    return 0;
}

//  --- The actor ------------------------------------------------------------------------

//  Runs what is due and returns how long until the next timer, in ms.
static long
s_timers (actor_t *self)
{
    int64_t now = fed_mono_ms ();
    if (!self->stats.ready && now >= self->ready_sent_ms + self->options.welcome_timeout_ms)
        s_reconnect (self, "no WELCOME from the node");
    else if (self->stats.ready
             && now >= self->heard_ms + self->stats.heartbeat_ms * (int64_t) self->stats.liveness)
        s_reconnect (self, "heard nothing from the node within its liveness");
    else if (self->stats.ready && now >= self->next_beat_ms) {
        fed_aw_msg_t beat = {.type = FED_AW_HEARTBEAT};
        s_send (self, &beat);
        self->next_beat_ms = now + self->stats.heartbeat_ms;
    }
    if (self->wait_deadline_ms && now >= self->wait_deadline_ms)
        s_wait_reply (self, -1);
    int64_t next = self->stats.ready
        ? self->heard_ms + self->stats.heartbeat_ms * (int64_t) self->stats.liveness
        : self->ready_sent_ms + self->options.welcome_timeout_ms;
    if (self->stats.ready && self->next_beat_ms < next)
        next = self->next_beat_ms;
    if (self->wait_deadline_ms && self->wait_deadline_ms < next)
        next = self->wait_deadline_ms;
    return next > now ? (long) (next - now) : 0;
}

//  Packs the READY frame: every agent of the set, with the location.
static void
s_pack_ready (actor_t *self, const fed_agentset_t *agents)
{
    uint32_t count = (uint32_t) fed_agentset_size (agents);
    self->agent_count = count;
    fed_aw_agent_t *offer = (fed_aw_agent_t *) fed_calloc (count, sizeof (fed_aw_agent_t));
    for (uint32_t i = 0; i < count; i++) {
        const fed_agent_t *agent = fed_agentset_at (agents, i);
        snprintf (offer [i].name, sizeof offer [i].name, "%s", agent->name);
        snprintf (offer [i].version, sizeof offer [i].version, "%s", agent->version);
        for (size_t c = 0; agent->capabilities && agent->capabilities [c]; c++)
            snprintf (offer [i].capabilities [offer [i].capability_count++],
                      sizeof offer [i].capabilities [0], "%s", agent->capabilities [c]);
        offer [i].location = self->location;
        offer [i].location_size = self->location ? self->options.location_size : 0;
    }
    fed_aw_msg_t msg = {
        .type = FED_AW_READY, .agents = offer, .agent_count = count, .slots = self->options.slots};
    snprintf (msg.label, sizeof msg.label, "%s", self->options.label);
    msgpack_sbuffer_init (&self->ready);
    fed_aw_encode (&msg, &self->ready);
    free (offer);
}

static int
s_start (actor_t *self, const client_args_t *args, fed_err_t *err)
{
    self->options = *args->options;
    if (self->options.location) {
        self->location = (uint8_t *) fed_malloc (self->options.location_size);
        memcpy (self->location, self->options.location, self->options.location_size);
        self->options.location = self->location;
    }
    self->stats.heartbeat_ms = self->options.heartbeat_ms;
    self->stats.liveness = self->options.liveness;
    s_pack_ready (self, args->agents);
    fed_pool_options_t pool = self->options.pool;
    pool.size = self->options.slots;
    self->pool = fed_pool_new (args->agents, &pool, err);
    if (!self->pool)
        return -1;
    return s_open (self, err);
}

static void
s_stop (actor_t *self)
{
    if (self->dealer) {
        fed_aw_msg_t bye = {.type = FED_AW_BYE};
        s_send (self, &bye);
        //  Closing returns at once; libzmq's I/O thread sends the BYE.
        zsock_set_linger (self->dealer, BYE_LINGER_MS);
        zsock_destroy (&self->dealer);
    }
    fed_pool_destroy (&self->pool);
    msgpack_sbuffer_destroy (&self->ready);
    free (self->jobs);
    free (self->location);
    sodium_memzero (self->options.secret_key, sizeof self->options.secret_key);
}

static void
s_client_actor (zsock_t *pipe, void *arg)
{
    actor_t self = {0};
    self.pipe = pipe;
    fed_err_t err = {0};
    int rc = s_start (&self, (const client_args_t *) arg, &err);
    //  zactor_new swallows the first signal's status: say it again.
    zsock_signal (pipe, 0);
    zsock_send (pipe, "is", rc, rc ? err.text : "");
    while (rc == 0 && !self.stopping) {
        long timeout = s_timers (&self);
        zmq_pollitem_t items [3] = {
            {zsock_resolve (pipe), 0, ZMQ_POLLIN, 0},
            {zsock_resolve (fed_pool_socket (self.pool)), 0, ZMQ_POLLIN, 0},
            {self.dealer ? zsock_resolve (self.dealer) : NULL, 0, ZMQ_POLLIN, 0}};
        uint64_t generation = self.generation;
        if (zmq_poll (items, self.dealer ? 3 : 2, timeout) < 0) {
            if (errno == EINTR)
                continue;
            fed_error ("agent client: poll failed: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        if ((items [0].revents & ZMQ_POLLIN) && s_command (&self))
            break;
        if (items [1].revents & ZMQ_POLLIN)
            s_pool_readable (&self);
        if ((items [2].revents & ZMQ_POLLIN) && self.dealer && self.generation == generation)
            s_dealer_readable (&self);
    }
    s_stop (&self);
}

//  --- The front end ---------------------------------------------------------------------

static int
s_check (const fed_agentset_t *agents, const fed_agent_client_options_t *options, fed_err_t *err)
{
    size_t count = fed_agentset_size (agents);
    if (count == 0 || count > FED_AW_AGENTS_MAX)
        fed_err_set (err, -1, "an agent process offers 1 to %d agents, not %zu", FED_AW_AGENTS_MAX,
                     count);
    else if (!*options->endpoint)
        fed_err_set (err, -1, "no endpoint to connect to (FEDNODE_AGENT_ENDPOINT)");
    else if (options->slots < 1 || options->slots > FED_AW_SLOTS_MAX)
        fed_err_set (err, -1, "slots must be 1 to %d, not %u", FED_AW_SLOTS_MAX, options->slots);
    else if (strlen (options->label) > FED_AGENT_CLIENT_LABEL_MAX)
        fed_err_set (err, -1, "the label is over %d bytes", FED_AGENT_CLIENT_LABEL_MAX);
    else if (options->heartbeat_ms < 1 || options->liveness < 1 || options->welcome_timeout_ms < 1)
        fed_err_set (err, -1, "heartbeat, liveness and WELCOME timeout must be 1 or more");
    else if (options->max_message < 1024)
        fed_err_set (err, -1, "max_message %" PRId64 " is under 1 KiB", options->max_message);
    else
        return 0;
    return -1;
}

//  The location must be what the node takes (§5.3): one map, and within
//  the nesting cap where READY puts it.
static int
s_check_location (const fed_agent_client_options_t *options, fed_err_t *err)
{
    if (!options->location)
        return 0;
    fed_mp_limits_t caps = {LOCATION_DEPTH, fed_mp_default_limits.max_objects};
    char why [128] = "";
    fed_mpr_t reader;
    fed_mpr_init (&reader, options->location, options->location_size);
    if (fed_mpr_peek (&reader) != FED_MP_MAP
        || fed_mp_check (options->location, options->location_size, &caps, why, sizeof why)) {
        fed_err_set (err, -1,
                     "the location must be one msgpack map nested at most %d levels deep%s%s",
                     LOCATION_DEPTH, *why ? ": " : "", why);
        return -1;
    }
    return 0;
}

fed_agent_client_t *
fed_agent_client_new (const fed_agentset_t *agents, const fed_agent_client_options_t *options,
                      fed_err_t *err)
{
    if (s_check (agents, options, err) || s_check_location (options, err))
        return NULL;
    if (sodium_init () < 0) {
        fed_err_set (err, -1, "libsodium failed to initialise");
        return NULL;
    }
    fed_agent_client_t *self = (fed_agent_client_t *) fed_calloc (1, sizeof (fed_agent_client_t));
    client_args_t args = {agents, options};
    self->actor = zactor_new (s_client_actor, &args);
    int status = -1;
    char *why = NULL;
    if (!self->actor || zsock_recv (self->actor, "is", &status, &why) || status != 0) {
        fed_err_set (err, -1, "cannot start the agent client: %s", why ? why : "actor failed");
        free (why);
        fed_agent_client_destroy (&self);
        return NULL;
    }
    free (why);
    return self;
}

void
fed_agent_client_destroy (fed_agent_client_t **self_p)
{
    if (self_p && *self_p) {
        fed_agent_client_t *self = *self_p;
        zactor_destroy (&self->actor);
        free (self);
        *self_p = NULL;
    }
}

//  Reads the actor's reply to command, a message whose first frame is the
//  command's name. A reply left behind by a call a signal interrupted is
//  skipped. Returns NULL when interrupted. Caller owns the reply.
static zmsg_t *
s_reply (fed_agent_client_t *self, const char *command)
{
    while (true) {
        zmsg_t *reply = zmsg_recv (self->actor);
        if (!reply)
            return NULL;
        zframe_t *name = zmsg_first (reply);
        if (name && zframe_streq (name, command))
            return reply;
        zmsg_destroy (&reply);
    }
}

int
fed_agent_client_wait_ready (fed_agent_client_t *self, int64_t timeout_ms)
{
    if (zsock_send (self->actor, "sb", "WAIT", &timeout_ms, sizeof timeout_ms))
        return -1;
    zmsg_t *reply = s_reply (self, "WAIT");
    zframe_t *status = reply ? zmsg_next (reply) : NULL;
    int rc = status && zframe_streq (status, "ready") ? 0 : -1;
    zmsg_destroy (&reply);
    return rc;
}

void
fed_agent_client_stats (fed_agent_client_t *self, fed_agent_client_stats_t *stats)
{
    memset (stats, 0, sizeof *stats);
    if (zsock_send (self->actor, "s", "STATS"))
        return;
    zmsg_t *reply = s_reply (self, "STATS");
    zframe_t *data = reply ? zmsg_next (reply) : NULL;
    if (data && zframe_size (data) == sizeof *stats)
        memcpy (stats, zframe_data (data), sizeof *stats);
    zmsg_destroy (&reply);
}
