/*  node/trust.h: the node's trusted set: which keys may connect, and with
    which role.

    It is computed, never edited by hand: the config's `trust:` list and
    its `seeds:` (role peer, unless the list gives the key a role), plus
    the node's own admin.key (role admin) and agent.key (role agent), overridden by the trust view
    folded from trust.added / trust.removed events (store/coreviews.h). So
    trust replicates like everything else, and a removed key stays removed
    across restarts even when the config still lists it.
*/
#ifndef FED_TRUST_H_INCLUDED
#define FED_TRUST_H_INCLUDED

#include "config.h"
#include "evlog.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FED_TRUST_CONFIG, FED_TRUST_LOCAL, FED_TRUST_EVENT } fed_trust_source_t;

typedef struct {
    uint8_t key [32];   //  ed25519 public key
    uint8_t curve [32]; //  its CURVE public key (what ZAP sees)
    fed_role_t role;
    char name [65];            //  optional label
    fed_trust_source_t source; //  where the entry comes from
} fed_trusted_t;

typedef struct fed_trust_t fed_trust_t;

//  An empty set. Caller owns it.
fed_trust_t *fed_trust_new (void);
void fed_trust_destroy (fed_trust_t **self_p);

//  Recomputes the set from config, the local admin key (role admin) and
//  agent key (role agent; either may be NULL) and the log's trust view.
//  Returns 0, or -1 with err on a storage error (the set is then unchanged).
int fed_trust_load (fed_trust_t *self, const fed_config_t *config, const uint8_t *admin_key,
                    const uint8_t *agent_key, fed_evlog_t *log, fed_err_t *err) FED_MUST_USE;

//  The role of key; false if not trusted.
bool fed_trust_role (const fed_trust_t *self, const uint8_t key [32], fed_role_t *role);
//  Entries, in the order config, local, events (borrowed, valid until the
//  next load).
size_t fed_trust_entries (const fed_trust_t *self, const fed_trusted_t **entries_p);
//  "config", "local", "event".
const char *fed_trust_source_name (fed_trust_source_t source);

//  What the trust view holds for a key: nothing, a trust.added, or a
//  trust.removed.
typedef enum {
    FED_TRUST_RECORD_NONE,
    FED_TRUST_RECORD_ADDED,
    FED_TRUST_RECORD_REMOVED
} fed_trust_record_t;

//  Reads log's trust view for key or, when twin, for its twin (the ed25519
//  key differing only in the sign bit, which has the same CURVE key).
//  Returns 0 with *record set, or -1 on a storage error.
int fed_trust_view_record (fed_evlog_t *log, const uint8_t key [32], bool twin,
                           fed_trust_record_t *record) FED_MUST_USE;

//  For the event log: true if origin has the peer role (arg is the set).
bool fed_trust_is_peer (void *arg, const uint8_t origin [32]);

#ifdef __cplusplus
}
#endif
#endif
