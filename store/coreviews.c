/*  store/coreviews.c: the built-in views (stats, nodes, kv). Each is
    order-independent across origins, as store/view.h requires: counters
    commute, and registers are last-writer-wins on (hlc, origin).
*/
#include "coreviews.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_stats_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    char key [8 + FED_TYPE_MAX];
    int size = snprintf (key, sizeof key, "type/%s", fed_event_type (event));
    fed_view_add (txn, key, (size_t) size, 1);
    return 0;
}

static int
s_nodes_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    const char *type = fed_event_type (event);
    if (strcmp (type, "node.started") != 0 && strcmp (type, "node.info") != 0)
        return 0;
    return fed_view_lww_put (txn, fed_event_origin (event), FED_KEY_BYTES, event,
                             fed_event_body (event), fed_event_body_size (event));
}

//  Finds the "key" (str) and "value" (any object) members of a kv body.
//  Returns 0, or -1 if the body does not have the expected shape (such an
//  event is still in the log, but the view ignores it).
static int
s_kv_fields (const fed_event_t *event, const char **key, uint32_t *key_size, const uint8_t **value,
             size_t *value_size)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, fed_event_body (event), fed_event_body_size (event));
    uint32_t count;
    if (fed_mpr_map (&reader, &count))
        return -1;
    *key = NULL;
    *value = NULL;
    for (uint32_t i = 0; i < count; i++) {
        const char *name;
        uint32_t name_size;
        if (fed_mpr_str (&reader, &name, &name_size))
            return -1;
        size_t start = reader.pos;
        if (name_size == 3 && memcmp (name, "key", 3) == 0) {
            if (fed_mpr_str (&reader, key, key_size))
                return -1;
        } else {
            if (fed_mpr_skip (&reader, NULL))
                return -1;
            if (name_size == 5 && memcmp (name, "value", 5) == 0) {
                *value = reader.data + start;
                *value_size = reader.pos - start;
            }
        }
    }
    if (!*key || *key_size == 0 || *key_size > FED_KV_KEY_MAX)
        return -1;
    return 0;
}

static int
s_kv_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    const char *type = fed_event_type (event);
    bool set = strcmp (type, "kv.set") == 0;
    if (!set && strcmp (type, "kv.delete") != 0)
        return 0;
    const char *key;
    uint32_t key_size;
    const uint8_t *value = NULL;
    size_t value_size = 0;
    if (s_kv_fields (event, &key, &key_size, &value, &value_size))
        return 0;
    static const uint8_t nil = 0xc0;
    if (!set || !value) {
        value = &nil;
        value_size = 1;
    }
    return fed_view_lww_put (txn, key, key_size, event, value, value_size);
}

int
fed_coreviews_member (const uint8_t *body, size_t size, const char *name, fed_blob_t *value)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, body, size);
    uint32_t count;
    size_t name_size = strlen (name);
    if (fed_mpr_map (&reader, &count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t key_size;
        if (fed_mpr_str (&reader, &key, &key_size)) {
            if (fed_mpr_skip (&reader, NULL))
                return -1;
            key = NULL;
        }
        size_t start = reader.pos;
        if (fed_mpr_skip (&reader, NULL))
            return -1;
        if (key && key_size == name_size && memcmp (key, name, name_size) == 0) {
            *value = (fed_blob_t){reader.data + start, reader.pos - start};
            return 0;
        }
    }
    return -1;
}

int
fed_coreviews_member_str (const uint8_t *body, size_t size, const char *name, const char **ptr,
                          uint32_t *len)
{
    fed_blob_t value;
    fed_mpr_t reader;
    if (fed_coreviews_member (body, size, name, &value))
        return -1;
    fed_mpr_init (&reader, value.data, value.size);
    return fed_mpr_str (&reader, ptr, len) ? -1 : 0;
}

int
fed_coreviews_member_bin (const uint8_t *body, size_t size, const char *name, const uint8_t **ptr,
                          uint32_t *len)
{
    fed_blob_t value;
    fed_mpr_t reader;
    if (fed_coreviews_member (body, size, name, &value))
        return -1;
    fed_mpr_init (&reader, value.data, value.size);
    return fed_mpr_bin (&reader, ptr, len) ? -1 : 0;
}

//  The 32-byte bin member "key" of an event body, or NULL.
static const uint8_t *
s_key_member (const fed_event_t *event)
{
    const uint8_t *key;
    uint32_t size;
    if (fed_coreviews_member_bin (fed_event_body (event), fed_event_body_size (event), "key", &key,
                                  &size))
        return NULL;
    return size == FED_KEY_BYTES ? key : NULL;
}

//  True if a trust.added body has a "role" member naming a known role.
static bool
s_trust_role_valid (const fed_event_t *event)
{
    const char *text;
    uint32_t size;
    if (fed_coreviews_member_str (fed_event_body (event), fed_event_body_size (event), "role",
                                  &text, &size)
        || size > 16)
        return false;
    //  The roles of doc/protocol.md §3.1 (node/config.h parses them for the
    //  node; the store keeps its own list so it does not depend on node/).
    static const char *roles [] = {"peer", "admin", "operator", "approver", "viewer", "agent"};
    for (size_t i = 0; i < sizeof roles / sizeof roles [0]; i++)
        if (strlen (roles [i]) == size && memcmp (roles [i], text, size) == 0)
            return true;
    return false;
}

static int
s_trust_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    const char *type = fed_event_type (event);
    bool added = strcmp (type, "trust.added") == 0;
    if (!added && strcmp (type, "trust.removed") != 0)
        return 0;
    const uint8_t *key = s_key_member (event);
    if (!key)
        return 0;
    //  A trust.added the trusted set cannot use must not win the register:
    //  it would silently undo an earlier removal or role.
    if (added && !s_trust_role_valid (event))
        return 0;
    static const uint8_t nil = 0xc0;
    return fed_view_lww_put (txn, key, FED_KEY_BYTES, event, added ? fed_event_body (event) : &nil,
                             added ? fed_event_body_size (event) : 1);
}

//  A trust.added that names the join token it was granted for is one use
//  of that token: "u/ID/KEYHEX".
static int
s_token_use (fed_view_txn_t *txn, const fed_event_t *event)
{
    const uint8_t *key = s_key_member (event);
    const char *id;
    uint32_t id_size;
    if (!key
        || fed_coreviews_member_str (fed_event_body (event), fed_event_body_size (event), "token",
                                     &id, &id_size)
        || id_size == 0 || id_size > 16)
        return 0;
    char hex [65];
    fed_hex_encode (hex, key, 32);
    char view_key [96];
    int size = snprintf (view_key, sizeof view_key, "u/%.*s/%s", (int) id_size, id, hex);
    return fed_view_lww_put (txn, view_key, (size_t) size, event, "\xc3", 1);
}

static int
s_tokens_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    const char *type = fed_event_type (event);
    if (strcmp (type, "trust.added") == 0)
        return s_token_use (txn, event);
    bool created = strcmp (type, "token.created") == 0;
    if (!created && strcmp (type, "token.revoked") != 0)
        return 0;
    const char *id;
    uint32_t id_size;
    if (fed_coreviews_member_str (fed_event_body (event), fed_event_body_size (event), "id", &id,
                                  &id_size)
        || id_size == 0 || id_size > 16)
        return 0;
    char key [24];
    int key_size = snprintf (key, sizeof key, "%s/%.*s", created ? "c" : "r", (int) id_size, id);
    return fed_view_lww_put (txn, key, (size_t) key_size, event, fed_event_body (event),
                             fed_event_body_size (event));
}

int
fed_coreviews_register (fed_evlog_t *log, fed_err_t *err)
{
    const fed_view_def_t views [] = {
        {"stats", 2, s_stats_apply, NULL},   {"nodes", 1, s_nodes_apply, NULL},
        {"kv", 1, s_kv_apply, NULL},         {"trust", 2, s_trust_apply, NULL},
        {"tokens", 2, s_tokens_apply, NULL},
    };
    for (size_t i = 0; i < sizeof views / sizeof views [0]; i++)
        if (fed_evlog_add_view (log, &views [i], err))
            return -1;
    return 0;
}

static int
s_sum_counter (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value, size_t size)
{
    *(int64_t *) arg += fed_view_counter (value, size);
    return 0;
}

int64_t
fed_coreviews_count (fed_evlog_t *log, const char *name)
{
    if (strcmp (name, "total") == 0) {
        //  The sum of the per-type counters: one counter fewer to write per event.
        int64_t total = 0;
        if (fed_evlog_view_scan (log, "stats/type/", s_sum_counter, &total))
            return 0;
        return total;
    }
    char *key = fed_sprintf ("stats/%s", name);
    uint8_t *value;
    size_t size;
    int64_t count = 0;
    if (fed_evlog_view_get (log, key, strlen (key), &value, &size) == 0 && value)
        count = fed_view_counter (value, size);
    free (value);
    free (key);
    return count;
}

int
fed_coreviews_kv_get (fed_evlog_t *log, const char *key, uint8_t **value_p, size_t *size_p)
{
    *value_p = NULL;
    *size_p = 0;
    char *full = fed_sprintf ("kv/%s", key);
    uint8_t *record;
    size_t size;
    int rc = fed_evlog_view_get (log, full, strlen (full), &record, &size);
    free (full);
    if (rc)
        return -1;
    if (!record)
        return 0;
    size_t value_size;
    const uint8_t *value = fed_view_lww_value (record, size, &value_size);
    if (value && !(value_size == 1 && value [0] == 0xc0)) {
        *value_p = (uint8_t *) fed_malloc (value_size);
        memcpy (*value_p, value, value_size);
        *size_p = value_size;
    }
    free (record);
    return 0;
}
