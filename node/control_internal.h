/*  node/control_internal.h: what the control server (control.c) and its
    commands (control_cmds.c) share. Not installed.
*/
#ifndef FED_CONTROL_INTERNAL_H_INCLUDED
#define FED_CONTROL_INTERNAL_H_INCLUDED

#include "control.h"
#include "ctlmsg.h"

#include <msgpack.h>

//  One request being answered.
typedef struct {
    fed_node_t *node;           //  the node (log, trust, metrics, identity, config)
    fed_ctl_request_t *request; //  decoded request (borrows the frame)
    uint8_t caller [32];        //  the caller's ed25519 key (from ZAP's User-Id)
    fed_role_t role;            //  its role now
    msgpack_packer *pk;         //  pack the result here on success
    const char *code;           //  on failure: the error code
    fed_err_t err;              //  on failure: the message
    int64_t wait_ms;            //  set by a command that wants to be parked
    bool resuming;              //  a parked request run again: start at resume_after
    uint64_t resume_after;      //  the cursor it had reached
    uint64_t cursor;            //  set by events.tail: where its walk got to
    bool park_full;             //  the caller may not park one more request now
    bool expired;               //  a parked request run for the last time (its wait ended)
    uint8_t *errors;            //  on failure, optionally: a packed msgpack array of str,
    size_t errors_size;         //  every problem found (owned; the server frees it)
} fed_call_t;

//  A command: 0 with the result packed, or -1 with call->code and call->err.
typedef int (fed_command_fn) (fed_call_t *call);

typedef struct {
    const char *name;   //  as on the wire
    unsigned roles;     //  bit (1 << role) per role allowed; admin always is
    bool changes_state; //  needs rid and exp (doc/protocol.md §3.3)
    fed_command_fn *run;
} fed_command_t;

//  The command table and its size.
extern const fed_command_t fed_commands [];
extern const size_t fed_command_count;

//  Fails a call with code and a formatted message. Returns -1.
//  The message may be formatted from call->err.text itself.
int fed_call_fail (fed_call_t *call, const char *code, const char *format, ...) FED_PRINTF (3, 4);

//  Packs a string.
void fed_call_pack_str (msgpack_packer *pk, const char *text);
//  Packs key: value, value nil when NULL or empty.
void fed_call_pack_kv (msgpack_packer *pk, const char *key, const char *value);

//  Appends a local event and packs the reply {id, seq}; 0, or -1 with the
//  call failed.
int fed_call_append (fed_call_t *call, const char *type, const void *body, size_t size);

//  The agents commands (control_agents.c).
int fed_cmd_agents_list (fed_call_t *call);
int fed_cmd_agents_near (fed_call_t *call);
int fed_cmd_agents_register_edge (fed_call_t *call);
int fed_cmd_agents_deregister_edge (fed_call_t *call);
int fed_cmd_agents_run (fed_call_t *call);
int fed_cmd_agents_processes (fed_call_t *call);

//  The workflow commands (control_workflow.c).
int fed_cmd_workflow_publish (fed_call_t *call);
int fed_cmd_workflow_list (fed_call_t *call);
int fed_cmd_workflow_show (fed_call_t *call);

//  The run commands (control_runs.c).
int fed_cmd_run_start (fed_call_t *call);
int fed_cmd_run_list (fed_call_t *call);
int fed_cmd_run_show (fed_call_t *call);
int fed_cmd_run_wait (fed_call_t *call);
int fed_cmd_run_cancel (fed_call_t *call);
int fed_cmd_approvals (fed_call_t *call);
int fed_cmd_approve (fed_call_t *call);
int fed_cmd_reject (fed_call_t *call);

//  The members command (control_members.c).
int fed_cmd_members (fed_call_t *call);
//  The sync.status command (control_sync.c).
int fed_cmd_sync_status (fed_call_t *call);

//  Packs an event as the event map of doc/protocol.md §3.4.
void fed_call_pack_event (msgpack_packer *pk, const fed_event_t *event);

//  Appends raw msgpack bytes (one whole object) to the packer's buffer.
void fed_call_pack_raw (msgpack_packer *pk, const void *data, size_t size);

#endif
