/*  node/fednode.c: the fednode program.

    Parses arguments into a config and calls the library; every command is
    one row of s_commands. `fednode` alone runs the node; the other commands
    work on a data dir directly (the read-only ones also beside a running
    node). See doc/fednode.8.
*/
#include "node.h"
#include "coreviews.h"
#include "json.h"
#include "log.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

//  What the command line said, beyond the config.
typedef struct {
    fed_config_t *config; //  defaults < file < flags; owned
    bool print_config;    //  --print-config
    bool json;            //  --json
    const char *body;     //  --body JSON
    const char *origin;   //  --origin KEY
    const char *type;     //  --type T
    uint64_t from;        //  --from SEQ
    uint64_t count;       //  --count N
    const char **trust;   //  --trust KEY (repeatable), borrowed from argv
    size_t trust_count;
    bool trust_all;       //  --trust-all-origins
    const char *key;      //  --key FILE
    const char *endpoint; //  --endpoint EP
    int argc;             //  operands after the command
    char **argv;
} args_t;

typedef int (command_fn) (args_t *args);

typedef struct {
    const char *name;
    command_fn *run;
    const char *usage;
    const char *summary;
} command_t;

static int s_cmd_run (args_t *args);
static int s_cmd_id (args_t *args);
static int s_cmd_keygen (args_t *args);
static int s_cmd_append (args_t *args);
static int s_cmd_log (args_t *args);
static int s_cmd_verify (args_t *args);
static int s_cmd_rebuild (args_t *args);
static int s_cmd_export (args_t *args);
static int s_cmd_import (args_t *args);
static int s_cmd_views (args_t *args);
static int s_cmd_agent_env (args_t *args);

static const command_t s_commands [] = {
    {"run", s_cmd_run, "run", "start the node (the default command)"},
    {"id", s_cmd_id, "id", "print the node id and the seed string others join with"},
    {"keygen", s_cmd_keygen, "keygen NAME", "write NAME.key (secret, 0600) and NAME.pub"},
    {"append", s_cmd_append, "append TYPE [--body JSON] [--count N]",
     "sign and append local events (node stopped)"},
    {"log", s_cmd_log, "log [--origin KEY] [--type T] [--from SEQ] [--json]",
     "print events (works beside a running node)"},
    {"verify", s_cmd_verify, "verify", "audit every chain, link and signature"},
    {"rebuild", s_cmd_rebuild, "rebuild", "drop the views and refold them from the log"},
    {"export", s_cmd_export, "export FILE|-", "write the log as its exact signed bytes"},
    {"import", s_cmd_import, "import FILE|- [--trust KEY]... [--trust-all-origins]",
     "check each event as a remote event and append it"},
    {"views", s_cmd_views, "views [PREFIX] [--json]", "print read-model keys and values"},
    {"agent-env", s_cmd_agent_env, "agent-env [--key FILE] [--endpoint EP] [--json]",
     "print what an external agent needs to connect (shell)"},
};

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: fednode [COMMAND] [OPTIONS]\n"
             "\n"
             "A peer-to-peer federated agent node. With no command, runs the node.\n"
             "\n"
             "commands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands [0]; i++)
        fprintf (out, "  %-52s %s\n", s_commands [i].usage, s_commands [i].summary);
    fprintf (out,
             "\n"
             "options (flags override the config file):\n"
             "  -c, --config FILE        YAML config (default: none; every key has a default)\n"
             "  -d, --data-dir DIR       data directory (data_dir, default ./fednode-data)\n"
             "      --peer-bind EP       peer endpoint (listen.peer, default tcp://*:7701)\n"
             "      --control-bind EP    control endpoint (listen.control, default "
             "tcp://127.0.0.1:7702)\n"
             "      --advertise EP       endpoint peers reach this node at (listen.advertise)\n"
             "      --seed KEY@EP        seed peer to join through (seeds; repeatable)\n"
             "      --join-token TOKEN   token for seeds that do not trust this node yet "
             "(join_token)\n"
             "      --name NAME          node name (node.name)\n"
             "      --region R, --zone Z, --site S   location tags (node.*)\n"
             "      --data-root DIR      a directory data agents may read (agents.data_roots; "
             "repeatable)\n"
             "      --durability MODE    sync | wal (durability)\n"
             "      --log-level LEVEL    error | warn | info | debug (log_level)\n"
             "      --print-config       print the effective config as YAML and exit\n"
             "  -h, --help               this help\n"
             "  -V, --version            print the version\n"
             "\n"
             "See fednode(8).\n");
}

//  Loads a config file, applies one flag; exits with a usage error on bad input.
static void
s_set (args_t *args, const char *key, const char *value, const char *flag)
{
    fed_err_t err;
    if (fed_config_set (args->config, key, value, &err)) {
        fprintf (stderr, "fednode: %s: %s\n", flag, err.text);
        exit (EXIT_USAGE);
    }
}

static int
s_parse (int argc, char **argv, args_t *args)
{
    enum {
        OPT_PEER = 256,
        OPT_CONTROL,
        OPT_ADVERTISE,
        OPT_SEED,
        OPT_DATA_ROOT,
        OPT_JOIN_TOKEN,
        OPT_NAME,
        OPT_REGION,
        OPT_ZONE,
        OPT_SITE,
        OPT_DURABILITY,
        OPT_LOG_LEVEL,
        OPT_PRINT,
        OPT_JSON,
        OPT_BODY,
        OPT_ORIGIN,
        OPT_TYPE,
        OPT_FROM,
        OPT_COUNT,
        OPT_TRUST,
        OPT_TRUST_ALL,
        OPT_KEY,
        OPT_ENDPOINT
    };
    static const struct option options [] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"peer-bind", required_argument, NULL, OPT_PEER},
        {"control-bind", required_argument, NULL, OPT_CONTROL},
        {"advertise", required_argument, NULL, OPT_ADVERTISE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"data-root", required_argument, NULL, OPT_DATA_ROOT},
        {"join-token", required_argument, NULL, OPT_JOIN_TOKEN},
        {"name", required_argument, NULL, OPT_NAME},
        {"region", required_argument, NULL, OPT_REGION},
        {"zone", required_argument, NULL, OPT_ZONE},
        {"site", required_argument, NULL, OPT_SITE},
        {"durability", required_argument, NULL, OPT_DURABILITY},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"print-config", no_argument, NULL, OPT_PRINT},
        {"json", no_argument, NULL, OPT_JSON},
        {"body", required_argument, NULL, OPT_BODY},
        {"origin", required_argument, NULL, OPT_ORIGIN},
        {"type", required_argument, NULL, OPT_TYPE},
        {"from", required_argument, NULL, OPT_FROM},
        {"count", required_argument, NULL, OPT_COUNT},
        {"trust", required_argument, NULL, OPT_TRUST},
        {"trust-all-origins", no_argument, NULL, OPT_TRUST_ALL},
        {"key", required_argument, NULL, OPT_KEY},
        {"endpoint", required_argument, NULL, OPT_ENDPOINT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    //  Two passes: the config file first, so flags override it wherever
    //  they appear on the line. The first pass uses getopt itself, so every
    //  spelling getopt accepts (-cFILE, --conf FILE, --config=FILE) works.
    const char *config_file = getenv ("FEDNODE_CONFIG");
    opterr = 0;
    int first;
    while ((first = getopt_long (argc, argv, "-c:d:hV", options, NULL)) != -1)
        if (first == 'c')
            config_file = optarg;
    opterr = 1;
    optind = 0; //  glibc: a full reset for the second pass
    if (config_file) {
        fed_err_t err;
        if (fed_config_load_file (args->config, config_file, &err)) {
            fprintf (stderr, "fednode: %s\n", err.text);
            exit (EXIT_USAGE);
        }
    }
    args->trust = (const char **) fed_calloc ((size_t) argc, sizeof (char *));
    int opt;
    while ((opt = getopt_long (argc, argv, "+c:d:hV", options, NULL)) != -1 || optind < argc) {
        if (opt == -1) {
            //  An operand: collect it and keep parsing options after it.
            args->argv [args->argc++] = argv [optind++];
            continue;
        }
        fed_err_t err;
        char *end;
        switch (opt) {
            case 'c': break; //  loaded above
            case 'd': s_set (args, "data_dir", optarg, "--data-dir"); break;
            case OPT_PEER: s_set (args, "listen.peer", optarg, "--peer-bind"); break;
            case OPT_CONTROL: s_set (args, "listen.control", optarg, "--control-bind"); break;
            case OPT_ADVERTISE: s_set (args, "listen.advertise", optarg, "--advertise"); break;
            case OPT_JOIN_TOKEN: s_set (args, "join_token", optarg, "--join-token"); break;
            case OPT_NAME: s_set (args, "node.name", optarg, "--name"); break;
            case OPT_REGION: s_set (args, "node.region", optarg, "--region"); break;
            case OPT_ZONE: s_set (args, "node.zone", optarg, "--zone"); break;
            case OPT_SITE: s_set (args, "node.site", optarg, "--site"); break;
            case OPT_DURABILITY: s_set (args, "durability", optarg, "--durability"); break;
            case OPT_LOG_LEVEL: s_set (args, "log_level", optarg, "--log-level"); break;
            case OPT_SEED:
                if (fed_config_add_seed (args->config, optarg, &err)) {
                    fprintf (stderr, "fednode: --seed: %s\n", err.text);
                    return EXIT_USAGE;
                }
                break;
            case OPT_DATA_ROOT: {
                //  A relative directory is taken from where fednode starts.
                char absolute [PATH_MAX];
                const char *root = realpath (optarg, absolute) ? absolute : optarg;
                if (fed_config_add_data_root (args->config, root, &err)) {
                    fprintf (stderr, "fednode: --data-root: %s\n", err.text);
                    return EXIT_USAGE;
                }
                break;
            }
            case OPT_PRINT: args->print_config = true; break;
            case OPT_JSON: args->json = true; break;
            case OPT_BODY: args->body = optarg; break;
            case OPT_ORIGIN: args->origin = optarg; break;
            case OPT_TYPE: args->type = optarg; break;
            case OPT_TRUST: args->trust [args->trust_count++] = optarg; break;
            case OPT_TRUST_ALL: args->trust_all = true; break;
            case OPT_KEY: args->key = optarg; break;
            case OPT_ENDPOINT: args->endpoint = optarg; break;
            case OPT_FROM:
            case OPT_COUNT: {
                errno = 0;
                unsigned long long value = strtoull (optarg, &end, 10);
                if (errno || *end || *optarg == '-' || !*optarg) {
                    fprintf (stderr, "fednode: --%s: '%s' is not a whole number\n",
                             opt == OPT_FROM ? "from" : "count", optarg);
                    return EXIT_USAGE;
                }
                *(opt == OPT_FROM ? &args->from : &args->count) = value;
                break;
            }
            case 'h': s_usage (stdout); exit (0);
            case 'V': printf ("fednode %s\n", fed_node_version ()); exit (0);
            default: fprintf (stderr, "fednode: try 'fednode --help'\n"); return EXIT_USAGE;
        }
    }
    fed_err_t err;
    if (fed_config_check (args->config, &err)) {
        fprintf (stderr, "fednode: %s\n", err.text);
        return EXIT_USAGE;
    }
    return 0;
}

//  --- Commands -------------------------------------------------------------

static int
s_cmd_run (args_t *args)
{
    if (args->argc > 1) {
        fprintf (stderr, "fednode run: unexpected argument '%s'\n", args->argv [1]);
        return EXIT_USAGE;
    }
    //  Signals are taken by sigwait in this thread; block them before any
    //  thread starts so the actor threads never receive them.
    zsys_handler_set (NULL);
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);

    fed_err_t err;
    fed_node_t *node = fed_node_new (args->config, &err);
    if (!node) {
        fprintf (stderr, "fednode: %s\n", err.text);
        return 1;
    }
    if (fed_node_start (node, &err)) {
        fprintf (stderr, "fednode: %s\n", err.text);
        fed_node_destroy (&node);
        return 1;
    }
    //  Wait for a signal, looking every 100 ms whether the node gave up.
    int signal_number = -1;
    const char *failure = NULL;
    while (signal_number < 0 && !(failure = fed_node_failure (node))) {
        struct timespec wait = {0, 100 * 1000 * 1000};
        signal_number = sigtimedwait (&signals, NULL, &wait);
    }
    int status = 0;
    if (failure) {
        fprintf (stderr, "fednode: %s\n", failure);
        status = 1;
    } else
        fed_info ("signal %d: stopping", signal_number);
    fed_node_destroy (&node);
    fed_info ("stopped");
    return status;
}

static int
s_cmd_id (args_t *args)
{
    fed_err_t err;
    bool created = false;
    fed_identity_t *identity = fed_identity_open (args->config->data_dir, &created, &err);
    if (!identity) {
        fprintf (stderr, "fednode: %s\n", err.text);
        return 1;
    }
    char *seed = fed_node_seed_string (identity, args->config);
    if (args->json)
        printf ("{\"id\":\"%s\",\"curve\":\"%s\",\"seed\":\"%s\",\"created\":%s}\n",
                fed_identity_id (identity), fed_identity_curve_public_z85 (identity), seed,
                created ? "true" : "false");
    else
        printf ("node id:    %s\ncurve key:  %s\nseed:       %s\n%s", fed_identity_id (identity),
                fed_identity_curve_public_z85 (identity), seed,
                created ? "(new identity created)\n" : "");
    free (seed);
    fed_identity_destroy (&identity);
    return 0;
}

//  agent-env: the endpoint, the node's CURVE key and an agent keypair, as
//  shell assignments (or JSON) for an external agent (doc/protocol.md §5.1).
static int
s_cmd_agent_env (args_t *args)
{
    if (args->argc != 1) {
        fprintf (stderr, "usage: fednode agent-env [--key FILE] [--endpoint EP] [--json]\n");
        return EXIT_USAGE;
    }
    fed_err_t err;
    char *endpoint = NULL;
    fed_identity_t *agent = NULL;
    fed_identity_t *node = fed_identity_open (args->config->data_dir, NULL, &err);
    if (node)
        agent = args->key ? fed_identity_load (args->key, &err)
                          : fed_identity_open_agent (args->config->data_dir, NULL, &err);
    if (agent)
        endpoint = args->endpoint ? fed_strdup (args->endpoint)
                                  : fed_node_agent_endpoint (args->config, &err);
    if (!endpoint) {
        fprintf (stderr, "fednode: %s\n", err.text);
        fed_identity_destroy (&agent);
        fed_identity_destroy (&node);
        return 1;
    }
    if (strpbrk (endpoint, "'\"\\")) {
        fprintf (stderr, "fednode: the endpoint %s has a quote or backslash in it\n", endpoint);
        free (endpoint);
        fed_identity_destroy (&agent);
        fed_identity_destroy (&node);
        return 1;
    }
    const char *names [4] = {"FEDNODE_AGENT_ENDPOINT", "FEDNODE_SERVER_KEY", "FEDNODE_AGENT_PUBLIC",
                             "FEDNODE_AGENT_SECRET"};
    const char *values [4] = {endpoint, fed_identity_curve_public_z85 (node),
                              fed_identity_curve_public_z85 (agent),
                              fed_identity_curve_secret_z85 (agent)};
    if (args->json) {
        printf ("{");
        //  Z85 has neither '"' nor '\\', and the endpoint was checked.
        for (int i = 0; i < 4; i++)
            printf ("%s\"%s\":\"%s\"", i ? "," : "", names [i], values [i]);
        printf ("}\n");
    } else {
        //  Z85 has no single quote, and the endpoint was checked.
        for (int i = 0; i < 4; i++)
            printf ("%s='%s'\n", names [i], values [i]);
        printf ("export %s %s %s %s\n", names [0], names [1], names [2], names [3]);
    }
    free (endpoint);
    fed_identity_destroy (&agent);
    fed_identity_destroy (&node);
    return 0;
}

static int
s_cmd_keygen (args_t *args)
{
    if (args->argc != 2) {
        fprintf (stderr, "usage: fednode keygen NAME  (writes NAME.key and NAME.pub)\n");
        return EXIT_USAGE;
    }
    fed_err_t err;
    fed_identity_t *identity = fed_identity_keygen (args->argv [1], &err);
    if (!identity) {
        fprintf (stderr, "fednode: %s\n", err.text);
        return 1;
    }
    printf ("%s\nwrote %s.key (secret, mode 0600) and %s.pub\n", fed_identity_id (identity),
            args->argv [1], args->argv [1]);
    fed_identity_destroy (&identity);
    return 0;
}

//  Opens the data dir's log or prints why not. Caller destroys both.
static fed_evlog_t *
s_open (args_t *args, bool read_only, fed_identity_t **identity_p)
{
    fed_err_t err;
    fed_evlog_t *log = fed_node_open_log (args->config, read_only, identity_p, &err);
    if (!log)
        fprintf (stderr, "fednode: %s\n", err.text);
    return log;
}

static int
s_cmd_append (args_t *args)
{
    if (args->argc != 2) {
        fprintf (stderr, "usage: fednode append TYPE [--body JSON] [--count N]\n");
        return EXIT_USAGE;
    }
    uint8_t *body = NULL;
    size_t size = 0;
    fed_err_t err;
    if (args->body
        && fed_json_to_msgpack (args->body, strlen (args->body), NULL, &body, &size, &err)) {
        fprintf (stderr, "fednode: --body: %s\n", err.text);
        return EXIT_USAGE;
    }
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, false, &identity);
    int rc = log ? 0 : 1;
    uint64_t count = args->count ? args->count : 1;
    for (uint64_t i = 0; i < count && rc == 0; i++) {
        uint64_t seq;
        if (fed_evlog_append (log, args->argv [1], body, size, &seq, &err)) {
            fprintf (stderr, "fednode: %s\n", err.text);
            rc = 1;
        } else if (i + 1 == count)
            printf ("appended %s seq %llu\n", args->argv [1], (unsigned long long) seq);
    }
    free (body);
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return rc;
}

//  Prints one event, for people or as one JSON object per line.
typedef struct {
    args_t *args;
    uint64_t printed;
} print_t;

static int
s_print_event (void *arg, const fed_event_t *event)
{
    print_t *self = (print_t *) arg;
    if (self->args->type && !streq (self->args->type, fed_event_type (event)))
        return 0;
    char *body = fed_json_from_msgpack (fed_event_body (event), fed_event_body_size (event), false);
    char origin [41], id [65], prev [65];
    fed_z85_encode_key (origin, fed_event_origin (event));
    fed_hex_encode (id, fed_event_id (event), 32);
    fed_hex_encode (prev, fed_event_prev (event), 32);
    uint64_t hlc = fed_event_hlc (event);
    if (self->args->json)
        printf ("{\"id\":\"%s\",\"origin\":\"%s\",\"seq\":%llu,\"prev\":\"%s\",\"hlc\":%llu,"
                "\"type\":\"%s\",\"body\":%s}\n",
                id, origin, (unsigned long long) fed_event_seq (event), prev,
                (unsigned long long) hlc, fed_event_type (event), body ? body : "null");
    else {
        time_t seconds = (time_t) ((hlc >> 16) / 1000);
        struct tm tm;
        gmtime_r (&seconds, &tm);
        char when [32];
        strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf ("%.8s #%-6llu %s %-20s %s\n", origin, (unsigned long long) fed_event_seq (event),
                when, fed_event_type (event), body ? body : "(unprintable)");
    }
    free (body);
    self->printed++;
    return 0;
}

static int
s_cmd_log (args_t *args)
{
    uint8_t origin [32];
    if (args->origin && fed_key_decode (origin, args->origin)) {
        fprintf (stderr, "fednode log: --origin: '%s' is not a 40-char Z85 or 64-char hex key\n",
                 args->origin);
        return EXIT_USAGE;
    }
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, true, &identity);
    if (!log)
        return 1;
    print_t print = {args, 0};
    fed_err_t err;
    int rc = fed_evlog_range (log, args->origin ? origin : NULL, args->from, 0, s_print_event,
                              &print, &err);
    if (rc)
        fprintf (stderr, "fednode: %s\n", err.text);
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return rc ? 1 : 0;
}

static int
s_cmd_verify (args_t *args)
{
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, true, &identity);
    if (!log)
        return 1;
    fed_verify_report_t report;
    int rc = fed_evlog_verify (log, &report);
    printf ("%llu origins, %llu events checked, %llu bad\n", (unsigned long long) report.origins,
            (unsigned long long) report.events, (unsigned long long) report.bad);
    if (rc)
        printf ("first problem: %s\n", report.first_error.text);
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return rc ? 1 : 0;
}

static int
s_cmd_rebuild (args_t *args)
{
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, false, &identity);
    if (!log)
        return 1;
    fed_err_t err;
    int64_t start = fed_mono_ms ();
    int rc = fed_evlog_rebuild (log, &err);
    if (rc)
        fprintf (stderr, "fednode: %s\n", err.text);
    else
        printf ("rebuilt views from %llu events in %lld ms\n",
                (unsigned long long) fed_evlog_count (log), (long long) (fed_mono_ms () - start));
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return rc ? 1 : 0;
}

static int
s_write_event (void *arg, const fed_event_t *event)
{
    FILE *file = (FILE *) arg;
    return fwrite (fed_event_bytes (event), 1, fed_event_size (event), file)
            == fed_event_size (event)
        ? 0
        : -1;
}

static int
s_cmd_export (args_t *args)
{
    if (args->argc != 2) {
        fprintf (stderr, "usage: fednode export FILE|-\n");
        return EXIT_USAGE;
    }
    const char *path = args->argv [1];
    bool to_stdout = streq (path, "-");
    FILE *file = to_stdout ? stdout : fopen (path, "wbx");
    if (!file) {
        fprintf (stderr, "fednode export: cannot create %s: %s%s\n", path, strerror (errno),
                 errno == EEXIST ? " (refusing to overwrite; remove it first)" : "");
        return 1;
    }
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, true, &identity);
    int rc = 1;
    if (log) {
        fed_err_t err = {0};
        rc = fed_evlog_range (log, NULL, 0, 0, s_write_event, file, &err);
        if (fflush (file) || (!to_stdout && fsync (fileno (file))))
            rc = -1;
        if (rc)
            fprintf (stderr, "fednode export: %s\n", err.text [0] ? err.text : strerror (errno));
        else
            fprintf (stderr, "exported %llu events to %s\n",
                     (unsigned long long) fed_evlog_count (log), path);
    }
    if (!to_stdout)
        fclose (file);
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return rc ? 1 : 0;
}

//  Trust for import: the config's peers, --trust keys, or everything.
typedef struct {
    args_t *args;
    uint8_t (*keys) [32];
} import_trust_t;

static bool
s_import_trust (void *arg, const uint8_t origin [32])
{
    import_trust_t *self = (import_trust_t *) arg;
    if (self->args->trust_all)
        return true;
    for (size_t i = 0; i < self->args->trust_count; i++)
        if (memcmp (self->keys [i], origin, 32) == 0)
            return true;
    const fed_config_t *config = self->args->config;
    for (size_t i = 0; i < config->trust_count; i++)
        if (config->trust [i].role == FED_ROLE_PEER
            && memcmp (config->trust [i].key, origin, 32) == 0)
            return true;
    return false;
}

#define IMPORT_BATCH 1000

static int
s_cmd_import (args_t *args)
{
    if (args->argc != 2) {
        fprintf (stderr, "usage: fednode import FILE|- [--trust KEY]... [--trust-all-origins]\n");
        return EXIT_USAGE;
    }
    import_trust_t trust = {args, fed_calloc (args->trust_count + 1, 32)};
    for (size_t i = 0; i < args->trust_count; i++) {
        fed_err_t err;
        if (fed_identity_read_public (args->trust [i], trust.keys [i], &err)) {
            fprintf (stderr, "fednode import: --trust: %s\n", err.text);
            free (trust.keys);
            return EXIT_USAGE;
        }
    }
    const char *path = args->argv [1];
    FILE *file = streq (path, "-") ? stdin : fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "fednode import: cannot open %s: %s\n", path, strerror (errno));
        free (trust.keys);
        return 1;
    }
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, false, &identity);
    if (!log) {
        if (file != stdin)
            fclose (file);
        free (trust.keys);
        return 1;
    }
    fed_evlog_set_trust (log, s_import_trust, &trust);

    //  Events are self-delimiting msgpack arrays: read a window, split off
    //  whole events with the bounds-checked reader, refill. One event never
    //  exceeds the body limit plus its fields, so the window is bounded.
    size_t window = args->config->limits.event_body + FED_EVENT_OVERHEAD;
    size_t capacity = 4 * window;
    uint8_t *buffer = (uint8_t *) fed_malloc (capacity);
    size_t filled = 0, offset = 0;
    fed_blob_t *batch = (fed_blob_t *) fed_calloc (IMPORT_BATCH, sizeof (fed_blob_t));
    uint64_t totals [FED_EVENT_REASONS] = {0}, accepted = 0, read_events = 0, position = 0;
    fed_err_t first = {0};
    int rc = 0;
    bool eof = false;
    while (rc == 0) {
        if (!eof && filled - offset < window) {
            memmove (buffer, buffer + offset, filled - offset);
            filled -= offset;
            offset = 0;
            size_t got = fread (buffer + filled, 1, capacity - filled, file);
            filled += got;
            eof = got == 0 || feof (file);
            if (ferror (file)) {
                fprintf (stderr, "fednode import: reading %s: %s\n", path, strerror (errno));
                rc = 1;
                break;
            }
        }
        size_t batched = 0;
        while (batched < IMPORT_BATCH && offset < filled) {
            fed_mpr_t reader;
            size_t avail = filled - offset;
            fed_mpr_init (&reader, buffer + offset, avail > window ? window : avail);
            if (fed_mpr_skip (&reader, NULL)) {
                if (!eof && avail < window)
                    break; //  the event continues past the window: read more
                fprintf (stderr,
                         "fednode import: %s: bytes at offset %llu are not a whole event "
                         "(truncated file, or an event over limits.event_body); %llu events "
                         "read before it\n",
                         path, (unsigned long long) position, (unsigned long long) read_events);
                rc = 1;
                break;
            }
            batch [batched++] = (fed_blob_t){buffer + offset, reader.pos};
            offset += reader.pos;
            position += reader.pos;
            read_events++;
        }
        if (batched) {
            fed_accept_report_t report;
            if (fed_evlog_accept (log, batch, batched, &report)) {
                fprintf (stderr, "fednode import: %s\n", report.first_error.text);
                rc = 1;
            }
            accepted += report.accepted;
            for (int s = 0; s < FED_EVENT_REASONS; s++)
                totals [s] += report.by_status [s];
            if (!first.code && report.first_error.code)
                first = report.first_error;
        }
        if (offset >= filled && eof)
            break;
        if (batched == 0 && eof && rc == 0) {
            fprintf (stderr, "fednode import: %s ends inside an event (truncated)\n", path);
            rc = 1;
        }
    }
    printf ("read %llu events, accepted %llu", (unsigned long long) read_events,
            (unsigned long long) accepted);
    uint64_t refused = 0;
    for (int s = FED_EVENT_OK + 1; s < FED_EVENT_REASONS; s++)
        if (totals [s]) {
            printf (", %s %llu", fed_event_status_name ((fed_event_status_t) s),
                    (unsigned long long) totals [s]);
            if (s != FED_EVENT_DUPLICATE)
                refused += totals [s];
        }
    printf ("\n");
    size_t waiting = fed_evlog_pending (log);
    if (waiting)
        printf ("%zu events wait for missing earlier events (the file has gaps)\n", waiting);
    if (first.code)
        printf ("first refusal: %s\n", first.text);
    free (batch);
    free (buffer);
    if (file != stdin)
        fclose (file);
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    free (trust.keys);
    return rc || refused || waiting ? 1 : 0;
}

static int
s_print_view (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value, size_t size)
{
    //  Keys are "view/…"; binary parts (origins) print as Z85.
    char shown [512];
    size_t slash = 0;
    while (slash < key_size && key [slash] != '/')
        slash++;
    if (key_size == slash + 1 + 32) {
        char z85 [41];
        fed_z85_encode_key (z85, key + slash + 1);
        snprintf (shown, sizeof shown, "%.*s/%s", (int) slash, key, z85);
    } else
        snprintf (shown, sizeof shown, "%.*s", (int) (key_size < 500 ? key_size : 500), key);
    char *text = NULL;
    if (strncmp (shown, "stats/", 6) == 0)
        text = fed_sprintf ("%lld", (long long) fed_view_counter (value, size));
    else {
        size_t value_size;
        const uint8_t *inner = fed_view_lww_value (value, size, &value_size);
        text = inner ? fed_json_from_msgpack (inner, value_size, false) : NULL;
    }
    const args_t *args = (const args_t *) arg;
    if (args->json) {
        //  shown is text: view names, Z85 keys, user keys
        printf ("{\"key\":\"");
        for (const char *c = shown; *c; c++)
            printf (*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
        printf ("\",\"value\":%s}\n", text ? text : "null");
    } else
        printf ("%-52s %s\n", shown, text ? text : "(binary)");
    free (text);
    return 0;
}

static int
s_cmd_views (args_t *args)
{
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, true, &identity);
    if (!log)
        return 1;
    int rc = fed_evlog_view_scan (log, args->argc > 1 ? args->argv [1] : "", s_print_view, args);
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return rc ? 1 : 0;
}

int
main (int argc, char **argv)
{
    args_t args = {0};
    args.config = fed_config_new ();
    args.argv = (char **) fed_calloc ((size_t) argc + 1, sizeof (char *));
    int rc = s_parse (argc, argv, &args);
    if (rc == 0) {
        fed_log_set_level (args.config->log_level);
        if (args.print_config) {
            char *yaml = fed_config_to_yaml (args.config);
            fputs (yaml, stdout);
            free (yaml);
        } else {
            const char *name = args.argc ? args.argv [0] : "run";
            const command_t *command = NULL;
            for (size_t i = 0; i < sizeof s_commands / sizeof s_commands [0]; i++)
                if (streq (s_commands [i].name, name))
                    command = &s_commands [i];
            if (!command) {
                fprintf (stderr, "fednode: unknown command '%s'; try 'fednode --help'\n", name);
                rc = EXIT_USAGE;
            } else {
                if (!args.argc)
                    args.argv [args.argc++] = (char *) "run";
                rc = command->run (&args);
            }
        }
    }
    free (args.argv);
    free (args.trust);
    fed_config_destroy (&args.config);
    return rc;
}
