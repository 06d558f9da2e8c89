/*  node/trust.c: computing the trusted set. See trust.h. */
#include "trust.h"
#include "coreviews.h"
#include "identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fed_trust_t {
    fed_trusted_t *entries; //  owned array
    size_t count;           //  entries used
};

fed_trust_t *
fed_trust_new (void)
{
    return (fed_trust_t *) fed_calloc (1, sizeof (fed_trust_t));
}

void
fed_trust_destroy (fed_trust_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->entries);
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
fed_trust_source_name (fed_trust_source_t source)
{
    return source == FED_TRUST_CONFIG ? "config" : source == FED_TRUST_LOCAL ? "local" : "event";
}

//  Finds key in the working array.
static fed_trusted_t *
s_find (fed_trusted_t *entries, size_t count, const uint8_t key [32])
{
    for (size_t i = 0; i < count; i++)
        if (memcmp (entries [i].key, key, 32) == 0)
            return &entries [i];
    return NULL;
}

//  Sets (adding if new) an entry in the working array.
static void
s_put (fed_trusted_t **entries, size_t *count, const uint8_t key [32], fed_role_t role,
       const char *name, size_t name_size, fed_trust_source_t source)
{
    uint8_t curve [32];
    if (fed_identity_curve_from_public (key, curve))
        return; //  not a valid ed25519 point: cannot connect anyway
    fed_trusted_t *entry = s_find (*entries, *count, key);
    //  Two ed25519 keys (differing in the sign bit) map to one CURVE key, and
    //  ZAP sees CURVE keys: a second key for a CURVE key already trusted is
    //  refused, or a removed key could come back under its twin.
    for (size_t i = 0; i < *count; i++)
        if (&(*entries) [i] != entry && memcmp ((*entries) [i].curve, curve, 32) == 0) {
            fed_warn ("trust: ignoring a key whose CURVE key is already trusted under "
                      "another ed25519 key");
            return;
        }
    if (!entry) {
        *entries = (fed_trusted_t *) fed_realloc (*entries, (*count + 1) * sizeof **entries);
        entry = &(*entries) [(*count)++];
    }
    memset (entry, 0, sizeof *entry);
    memcpy (entry->key, key, 32);
    memcpy (entry->curve, curve, 32);
    entry->role = role;
    entry->source = source;
    if (name)
        snprintf (entry->name, sizeof entry->name, "%.*s", (int) name_size, name);
}

typedef struct {
    fed_trusted_t *entries;
    size_t count;
} working_t;

//  Folds one trust view record: "trust/" ‖ key(32) -> LWW record.
static int
s_apply_view (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value,
              size_t value_size)
{
    working_t *work = (working_t *) arg;
    if (key_size != 6 + 32)
        return 0;
    const uint8_t *trusted_key = key + 6;
    size_t body_size;
    const uint8_t *body = fed_view_lww_value (value, value_size, &body_size);
    if (!body)
        return 0;
    if (body_size == 1 && body [0] == 0xc0) {
        //  trust.removed: drop whatever config or local said
        fed_trusted_t *entry = s_find (work->entries, work->count, trusted_key);
        if (entry) {
            //  Close the gap in place: entries keep the order config, local, events.
            size_t index = (size_t) (entry - work->entries);
            memmove (entry, entry + 1, (work->count - index - 1) * sizeof *entry);
            work->count--;
        }
        return 0;
    }
    const char *role_text;
    uint32_t role_size;
    if (fed_coreviews_member_str (body, body_size, "role", &role_text, &role_size)
        || role_size > 16)
        return 0;
    char role_name [17];
    snprintf (role_name, sizeof role_name, "%.*s", (int) role_size, role_text);
    fed_role_t role;
    if (fed_role_parse (role_name, &role))
        return 0;
    const char *name = NULL;
    uint32_t name_size = 0;
    if (fed_coreviews_member_str (body, body_size, "name", &name, &name_size))
        name = NULL;
    s_put (&work->entries, &work->count, trusted_key, role, name, name_size, FED_TRUST_EVENT);
    return 0;
}

int
fed_trust_load (fed_trust_t *self, const fed_config_t *config, const uint8_t *admin_key,
                const uint8_t *agent_key, fed_evlog_t *log, fed_err_t *err)
{
    working_t work = {NULL, 0};
    for (size_t i = 0; i < config->trust_count; i++) {
        const char *name = config->trust [i].name;
        s_put (&work.entries, &work.count, config->trust [i].key, config->trust [i].role, name,
               name ? strlen (name) : 0, FED_TRUST_CONFIG);
    }
    //  A seed's key is pinned by the operator who named it: it is a peer,
    //  unless the trust list already gives it a role.
    for (size_t i = 0; i < config->seed_count; i++)
        if (!s_find (work.entries, work.count, config->seeds [i].key))
            s_put (&work.entries, &work.count, config->seeds [i].key, FED_ROLE_PEER, "seed", 4,
                   FED_TRUST_CONFIG);
    if (admin_key)
        s_put (&work.entries, &work.count, admin_key, FED_ROLE_ADMIN, "local admin.key", 15,
               FED_TRUST_LOCAL);
    if (agent_key)
        s_put (&work.entries, &work.count, agent_key, FED_ROLE_AGENT, "local agent.key", 15,
               FED_TRUST_LOCAL);
    if (log && fed_evlog_view_scan (log, "trust/", s_apply_view, &work)) {
        fed_err_set (err, -1, "reading the trust view failed");
        free (work.entries);
        return -1;
    }
    free (self->entries);
    self->entries = work.entries;
    self->count = work.count;
    return 0;
}

bool
fed_trust_role (const fed_trust_t *self, const uint8_t key [32], fed_role_t *role)
{
    fed_trusted_t *entry = s_find (self->entries, self->count, key);
    if (entry && role)
        *role = entry->role;
    return entry != NULL;
}

size_t
fed_trust_entries (const fed_trust_t *self, const fed_trusted_t **entries_p)
{
    *entries_p = self->entries;
    return self->count;
}

bool
fed_trust_is_peer (void *arg, const uint8_t origin [32])
{
    fed_role_t role;
    return fed_trust_role ((const fed_trust_t *) arg, origin, &role) && role == FED_ROLE_PEER;
}

int
fed_trust_view_record (fed_evlog_t *log, const uint8_t key [32], bool twin,
                       fed_trust_record_t *record)
{
    uint8_t view_key [6 + 32];
    memcpy (view_key, "trust/", 6);
    memcpy (view_key + 6, key, 32);
    if (twin)
        view_key [6 + 31] ^= 0x80; //  the sign bit of the encoded point
    uint8_t *value = NULL;
    size_t size = 0;
    if (fed_evlog_view_get (log, view_key, sizeof view_key, &value, &size))
        return -1;
    size_t body_size = 0;
    const uint8_t *body = value ? fed_view_lww_value (value, size, &body_size) : NULL;
    *record = !value                                 ? FED_TRUST_RECORD_NONE
        : body && body_size == 1 && body [0] == 0xc0 ? FED_TRUST_RECORD_REMOVED
                                                     : FED_TRUST_RECORD_ADDED;
    free (value);
    return 0;
}
