/*  node/fedctl_internal.h: what fedctl's command files share.

    fedctl is split by role: node/fedctl.c parses the command line, holds
    the command table and talks to the node; node/fedctl_runs.c holds the
    workflow-run commands (run, approvals, approve, reject). This header is
    the little they share: the parsed command line, one command's context,
    building a request and sending it. Part of fedctl only, not of the
    library; nothing here is installed.
*/
#ifndef FED_FEDCTL_INTERNAL_H_INCLUDED
#define FED_FEDCTL_INTERNAL_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "identity.h"
#include "memberfilter.h"
#include "util.h"

//  Exit status (fedctl(1)): 0 ok, then these.
#define EXIT_FAILED 1      //  the node refused or failed the command
#define EXIT_USAGE 2       //  a usage error, found before anything was sent
#define EXIT_UNREACHABLE 3 //  no answer in time (and `run wait` timing out)
#define EXIT_INTERRUPTED 130

//  Command options, as bits: a command lists those it takes.
enum {
    OPT_FOLLOW = 1 << 0,
    OPT_TYPE = 1 << 1,
    OPT_ORIGIN = 1 << 2,
    OPT_LIMIT = 1 << 3,
    OPT_BODY = 1 << 4,
    OPT_ROLE = 1 << 5,
    OPT_NAME = 1 << 6,
    OPT_TTL = 1 << 7,
    OPT_USES = 1 << 8,
    OPT_STATUS = 1 << 9,
    OPT_TAG = 1 << 10,
    OPT_CAPABILITY = 1 << 11,
    OPT_REGION = 1 << 12,
    OPT_KIND = 1 << 13,
    OPT_LABEL = 1 << 14,
    OPT_WITHIN = 1 << 15,
    OPT_K = 1 << 16,
    OPT_LOCATION = 1 << 17,
    OPT_AGENT_VERSION = 1 << 18,
    OPT_PARAMS = 1 << 19,
    OPT_TASK_TIMEOUT = 1 << 20,
    OPT_YAML = 1 << 21,
    OPT_PARAM = 1 << 22,    //  -p KEY=VALUE
    OPT_WAIT = 1 << 23,     //  --wait [DURATION]
    OPT_STATE = 1 << 24,    //  --state
    OPT_WORKFLOW = 1 << 25, //  --workflow
    OPT_RUN = 1 << 26,      //  --run
    OPT_MESSAGE = 1 << 27,  //  -m, --message
    OPT_VALUE = 1 << 28,    //  --value
    OPT_REASON = 1 << 29    //  --reason
};
#define LABELS_MAX 32      //  --label and --capability, as many as a record holds
#define RUN_PARAMS_MAX 256 //  -p, as many as one command line sensibly holds

//  The command line, parsed.
typedef struct {
    const char *endpoint;   //  --endpoint
    const char *key;        //  --key
    const char *server_key; //  --server-key
    const char *data_dir;   //  --data-dir (or FEDNODE_DATA_DIR)
    const char *config;     //  --config
    int64_t timeout_ms;     //  --timeout, -1 if not given
    bool json;              //  --json
    bool help;              //  -h, --help
    bool version;           //  -V, --version
    unsigned given;         //  OPT_* bits given
    const char *type;       //  --type
    const char *origin;     //  --origin
    uint64_t limit;         //  --limit
    const char *body;       //  --body
    const char *role;       //  --role
    const char *name;       //  --name
    int64_t ttl_ms;         //  --ttl
    uint64_t uses;          //  --uses
    //  Each --status, and each --tag KEY=REGEXP, in order.
    const char *statuses [FED_MEMBER_FILTER_STATUSES_MAX];
    size_t status_count;
    const char *tags [FED_MEMBER_FILTER_TAGS_MAX];
    size_t tag_count;
    const char *capabilities [LABELS_MAX]; //  --capability, each
    size_t capability_count;
    const char *labels [LABELS_MAX]; //  --label KEY=VALUE, each
    size_t label_count;
    const char *region;                      //  --region
    const char *kind;                        //  --kind
    double within_km;                        //  --within
    uint64_t k;                              //  -k
    const char *location;                    //  --location
    const char *agent_version;               //  --agent-version
    const char *params;                      //  --params
    int64_t task_timeout_ms;                 //  --task-timeout
    bool yaml;                               //  --yaml
    const char *run_params [RUN_PARAMS_MAX]; //  -p KEY=VALUE, each (checked to hold '=')
    size_t run_param_count;
    int64_t wait_ms;      //  --wait DURATION; 0 for --wait alone (no limit)
    const char *state;    //  --state
    const char *workflow; //  --workflow
    const char *run;      //  --run
    const char *message;  //  -m, --message
    const char *value;    //  --value
    const char *reason;   //  --reason
    char **words;         //  positional arguments (command words first)
    int word_count;
} fed_fedctl_args_t;

typedef struct fed_fedctl_command_t fed_fedctl_command_t;

//  One run of a command.
typedef struct {
    fed_fedctl_args_t *args;             //  the command line
    const fed_fedctl_command_t *command; //  the command being run
    char **params;                       //  its positional arguments (after the command words)
    int param_count;
    fed_client_t *client;     //  connection to the node, made by the first request
    fed_identity_t *identity; //  the caller's key
    int64_t timeout_ms;       //  reply timeout
} fed_fedctl_ctx_t;

struct fed_fedctl_command_t {
    const char *name; //  one or two words, e.g. "events tail"
    int (*handler) (fed_fedctl_ctx_t *ctx);
    const char *usage;          //  arguments after the name
    const char *summary;        //  one line
    unsigned options;           //  OPT_* bits it accepts
    int min_params, max_params; //  positional arguments after the name
};

//  A request being built: buffer and packer.
typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
} fed_fedctl_request_t;

//  Starts request: [1, command, {…arg_count entries to follow}]. The caller
//  packs exactly arg_count entries, then sends it (which frees it) or
//  destroys request->buffer itself.
void fed_fedctl_request_begin (fed_fedctl_request_t *request, const char *command,
                               uint32_t arg_count);
//  Packs one entry of a request's args: key → str value, key → uint value.
void fed_fedctl_pack_str (msgpack_packer *pk, const char *key, const char *value);
void fed_fedctl_pack_uint (msgpack_packer *pk, const char *key, uint64_t value);

//  Sends the request (connecting first if not yet connected) and always
//  frees its buffer; the reply timeout is the context's plus extra_ms.
//  Returns 0 with *reply_p (caller frees) and *result (borrowed from it), or
//  the exit code after printing why on stderr: EXIT_FAILED when the node
//  refused (its code, message and every line of its `errors`),
//  EXIT_UNREACHABLE, EXIT_INTERRUPTED, or EXIT_USAGE when the settings do
//  not say which node or key.
int fed_fedctl_send (fed_fedctl_ctx_t *ctx, fed_fedctl_request_t *request, int64_t extra_ms,
                     uint8_t **reply_p, fed_blob_t *result);

//  Prints result as JSON (pretty or on one line) on stdout. Returns 0, or
//  EXIT_FAILED after saying that the result is not valid msgpack.
int fed_fedctl_print_json (fed_blob_t result, bool pretty);

//  fed_fedctl_send, then prints the result as JSON (--json) or through
//  print, which returns 0 or -1 for a result not of the documented shape
//  (reported as bad_reply). Returns the exit code.
int fed_fedctl_run_waiting (fed_fedctl_ctx_t *ctx, fed_fedctl_request_t *request, int64_t extra_ms,
                            int (*print) (fed_blob_t result));
//  fed_fedctl_run_waiting with no extra time.
int fed_fedctl_run (fed_fedctl_ctx_t *ctx, fed_fedctl_request_t *request,
                    int (*print) (fed_blob_t result));

//  Prints "fedctl: " and the message, then the command's usage line (or a
//  pointer to --help when command is NULL), on stderr. Returns EXIT_USAGE.
int fed_fedctl_usage_error (const fed_fedctl_command_t *command, const char *format, ...)
    FED_PRINTF (2, 3);

//  The run commands (node/fedctl_runs.c), one per row of fedctl's command
//  table. Each checks its arguments (EXIT_USAGE before sending anything),
//  sends one request (`run wait` as many as its wait takes) and returns the
//  exit code.
int fed_fedctl_cmd_run_start (fed_fedctl_ctx_t *ctx);
int fed_fedctl_cmd_run_list (fed_fedctl_ctx_t *ctx);
int fed_fedctl_cmd_run_show (fed_fedctl_ctx_t *ctx);
int fed_fedctl_cmd_run_wait (fed_fedctl_ctx_t *ctx);
int fed_fedctl_cmd_run_cancel (fed_fedctl_ctx_t *ctx);
int fed_fedctl_cmd_approvals (fed_fedctl_ctx_t *ctx);
int fed_fedctl_cmd_approve (fed_fedctl_ctx_t *ctx);
int fed_fedctl_cmd_reject (fed_fedctl_ctx_t *ctx);

#endif
