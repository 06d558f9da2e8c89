/*  node/catalog.c: the workflow catalog view (see catalog.h).

    A publication record keeps the first event that published its hash:
    the fold writes it only when the key is empty or holds a later (hlc,
    origin), which makes the record the minimum over its events whatever
    order they arrive in. Reads gather a name's records, sort them, and
    take the first of each version as the one that stands.
*/
#include "catalog.h"
#include "mpread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_NAME "workflow"
#define VIEW_VERSION 1
#define S_RECORD_HEAD 40 //  hlc(8) ‖ origin(32)

static bool
s_key_is (const char *key, uint32_t size, const char *name)
{
    return strlen (name) == size && memcmp (key, name, size) == 0;
}

int
fed_catalog_body_decode (const uint8_t *body, size_t size, fed_catalog_body_t *out, fed_err_t *err)
{
    memset (out, 0, sizeof *out);
    fed_mpr_t reader;
    fed_mpr_init (&reader, body, size);
    uint32_t count;
    bool has_hash = false, has_yaml = false;
    if (fed_mpr_peek (&reader) != FED_MP_MAP || fed_mpr_map (&reader, &count)) {
        fed_err_set (err, 0, "workflow.published: expected a map");
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        const char *key, *text;
        const uint8_t *bytes;
        uint32_t key_size, text_size;
        if (fed_mpr_peek (&reader) != FED_MP_STR || fed_mpr_str (&reader, &key, &key_size)) {
            fed_err_set (err, 0, "workflow.published: keys must be strings");
            return -1;
        }
        bool is_name = s_key_is (key, key_size, "name");
        if (is_name || s_key_is (key, key_size, "version") || s_key_is (key, key_size, "yaml")) {
            if (fed_mpr_peek (&reader) != FED_MP_STR || fed_mpr_str (&reader, &text, &text_size)) {
                fed_err_set (err, 0, "workflow.published: '%.*s' must be a string", (int) key_size,
                             key);
                return -1;
            }
            if (s_key_is (key, key_size, "yaml")) {
                out->yaml = text;
                out->yaml_size = text_size;
                has_yaml = true;
            } else if (is_name ? !fed_workflow_name_valid (text, text_size)
                               : !fed_workflow_version_valid (text, text_size)) {
                fed_err_set (err, 0, "workflow.published: '%.*s' is not a valid %s",
                             (int) (text_size > 80 ? 80 : text_size), text,
                             is_name ? "workflow name" : "version");
                return -1;
            } else
                memcpy (is_name ? out->name : out->version, text, text_size);
        } else if (s_key_is (key, key_size, "hash") || s_key_is (key, key_size, "published_by")) {
            bool is_hash = key_size == 4;
            if (!is_hash && fed_mpr_peek (&reader) == FED_MP_NIL) {
                if (fed_mpr_nil (&reader))
                    return -1;
                continue;
            }
            if (fed_mpr_peek (&reader) != FED_MP_BIN || fed_mpr_bin (&reader, &bytes, &text_size)
                || text_size != 32) {
                fed_err_set (err, 0, "workflow.published: '%s' must be a bin of 32 bytes",
                             is_hash ? "hash" : "published_by");
                return -1;
            }
            memcpy (is_hash ? out->hash : out->published_by, bytes, 32);
            if (is_hash)
                has_hash = true;
            else
                out->has_publisher = true;
        } else if (fed_mpr_skip (&reader, NULL)) {
            fed_err_set (err, 0, "workflow.published: malformed value of '%.*s'", (int) key_size,
                         key);
            return -1;
        }
    }
    if (!*out->name || !*out->version || !has_hash || !has_yaml) {
        fed_err_set (err, 0, "workflow.published: name, version, hash and yaml are required");
        return -1;
    }
    if (!fed_text_valid (out->yaml, out->yaml_size)) {
        fed_err_set (err, 0, "workflow.published: yaml is not UTF-8 text without NUL");
        return -1;
    }
    uint8_t hash [32];
    fed_workflow_hash_text (out->yaml, out->yaml_size, hash);
    if (memcmp (hash, out->hash, 32)) {
        fed_err_set (err, 0, "workflow.published: hash is not the BLAKE2b-256 of yaml");
        return -1;
    }
    return 0;
}

static void
s_pack_str (msgpack_packer *pk, const char *text, size_t size)
{
    msgpack_pack_str_with_body (pk, text, size);
}

void
fed_catalog_body_encode (const fed_workflow_t *wf, const uint8_t *published_by,
                         msgpack_sbuffer *buffer)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, published_by ? 5 : 4);
    s_pack_str (&pk, "name", 4);
    s_pack_str (&pk, fed_workflow_name (wf), strlen (fed_workflow_name (wf)));
    s_pack_str (&pk, "version", 7);
    s_pack_str (&pk, fed_workflow_version (wf), strlen (fed_workflow_version (wf)));
    s_pack_str (&pk, "hash", 4);
    msgpack_pack_bin_with_body (&pk, fed_workflow_hash (wf), 32);
    size_t size;
    const char *source = fed_workflow_source (wf, &size);
    s_pack_str (&pk, "yaml", 4);
    s_pack_str (&pk, source, size);
    if (published_by) {
        s_pack_str (&pk, "published_by", 12);
        msgpack_pack_bin_with_body (&pk, published_by, 32);
    }
}

//  --- The fold -------------------------------------------------------------------

//  "p/NAME/VERSION/" then the hash: the view key of a publication.
static size_t
s_key (uint8_t *key, const char *name, const char *version, const uint8_t hash [32])
{
    int size = sprintf ((char *) key, "p/%s/%s/", name, version);
    memcpy (key + size, hash, 32);
    return (size_t) size + 32;
}

//  True when (hlc, origin) comes before the record's.
static bool
s_earlier (uint64_t hlc, const uint8_t *origin, const uint8_t *record)
{
    uint64_t held = fed_get_be64 (record);
    if (hlc != held)
        return hlc < held;
    return memcmp (origin, record + 8, 32) < 0;
}

static int
s_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    if (strcmp (fed_event_type (event), "workflow.published"))
        return 0;
    fed_catalog_body_t body;
    if (fed_catalog_body_decode (fed_event_body (event), fed_event_body_size (event), &body, NULL))
        return 0; //  malformed: in the log, not in the catalog
    uint8_t key [2 + FED_WORKFLOW_NAME_MAX + 1 + FED_WORKFLOW_VERSION_MAX + 1 + 32 + 1];
    size_t key_size = s_key (key, body.name, body.version, body.hash);
    uint8_t *held;
    size_t held_size;
    if (fed_view_get (txn, key, key_size, &held, &held_size))
        return -1;
    bool write = !held || held_size < S_RECORD_HEAD
        || s_earlier (fed_event_hlc (event), fed_event_origin (event), held);
    free (held);
    if (write) {
        uint8_t record [S_RECORD_HEAD + 40];
        fed_put_be64 (record, fed_event_hlc (event));
        memcpy (record + 8, fed_event_origin (event), 32);
        msgpack_sbuffer value;
        msgpack_sbuffer_init (&value);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &value, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 1);
        s_pack_str (&pk, "by", 2);
        if (body.has_publisher)
            msgpack_pack_bin_with_body (&pk, body.published_by, 32);
        else
            msgpack_pack_nil (&pk);
        memcpy (record + S_RECORD_HEAD, value.data, value.size);
        fed_view_put (txn, key, key_size, record, S_RECORD_HEAD + value.size);
        msgpack_sbuffer_destroy (&value);
    }
    //  The text, once per hash.
    uint8_t text_key [2 + 32];
    memcpy (text_key, "h/", 2);
    memcpy (text_key + 2, body.hash, 32);
    if (fed_view_get (txn, text_key, sizeof text_key, &held, &held_size))
        return -1;
    if (!held)
        fed_view_put (txn, text_key, sizeof text_key, body.yaml, body.yaml_size);
    free (held);
    return 0;
}

int
fed_catalog_register (fed_evlog_t *log, fed_err_t *err)
{
    fed_view_def_t def = {VIEW_NAME, VIEW_VERSION, s_apply, NULL};
    return fed_evlog_add_view (log, &def, err);
}

//  --- Reads -------------------------------------------------------------------------

typedef struct {
    fed_catalog_entry_t *entries;
    size_t count, alloc;
} s_gather_t;

//  One record "workflow/p/NAME/VERSION/HASH" into the list.
static int
s_gather_one (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value,
              size_t value_size)
{
    s_gather_t *gather = (s_gather_t *) arg;
    size_t prefix = sizeof VIEW_NAME "/p/" - 1;
    if (key_size < prefix + 4 + 32 || value_size < S_RECORD_HEAD)
        return 0;
    const char *name = (const char *) key + prefix, *end = (const char *) key + key_size - 32;
    const char *slash = memchr (name, '/', (size_t) (end - name));
    const char *version = slash ? slash + 1 : NULL;
    const char *slash2 = version ? memchr (version, '/', (size_t) (end - version)) : NULL;
    if (!slash2 || slash2 + 1 != end || slash - name > FED_WORKFLOW_NAME_MAX
        || slash2 - version > FED_WORKFLOW_VERSION_MAX)
        return 0;
    if (gather->count == gather->alloc) {
        gather->alloc = gather->alloc ? gather->alloc * 2 : 16;
        gather->entries = (fed_catalog_entry_t *) fed_realloc (
            gather->entries, gather->alloc * sizeof (fed_catalog_entry_t));
    }
    fed_catalog_entry_t *entry = &gather->entries [gather->count++];
    memset (entry, 0, sizeof *entry);
    memcpy (entry->name, name, (size_t) (slash - name));
    memcpy (entry->version, version, (size_t) (slash2 - version));
    memcpy (entry->hash, end, 32);
    entry->hlc = fed_get_be64 (value);
    memcpy (entry->origin, value + 8, 32);
    entry->published_ms = (int64_t) (entry->hlc >> 16);
    fed_mpr_t reader;
    fed_mpr_init (&reader, value + S_RECORD_HEAD, value_size - S_RECORD_HEAD);
    uint32_t count, size;
    const char *field;
    const uint8_t *by;
    if (fed_mpr_map (&reader, &count) == 0)
        for (uint32_t i = 0; i < count; i++) {
            if (fed_mpr_str (&reader, &field, &size))
                break;
            if (s_key_is (field, size, "by") && fed_mpr_peek (&reader) == FED_MP_BIN
                && fed_mpr_bin (&reader, &by, &size) == 0 && size == 32) {
                memcpy (entry->published_by, by, 32);
                entry->has_publisher = true;
            } else if (fed_mpr_skip (&reader, NULL))
                break;
        }
    return 0;
}

static int
s_entry_order (const void *a, const void *b)
{
    const fed_catalog_entry_t *x = (const fed_catalog_entry_t *) a,
                              *y = (const fed_catalog_entry_t *) b;
    int order = strcmp (x->name, y->name);
    if (!order)
        order = fed_workflow_version_cmp (x->version, y->version);
    if (!order)
        order = strcmp (x->version, y->version);
    if (!order && x->hlc != y->hlc)
        order = x->hlc < y->hlc ? -1 : 1;
    if (!order)
        order = memcmp (x->origin, y->origin, 32);
    return order;
}

//  Every record of name (or all), sorted: each version's standing one first.
static int
s_gather (fed_evlog_t *log, const char *name, s_gather_t *gather, fed_err_t *err)
{
    memset (gather, 0, sizeof *gather);
    char prefix [sizeof VIEW_NAME "/p/" + FED_WORKFLOW_NAME_MAX + 2];
    if (name && *name && !fed_workflow_name_valid (name, strlen (name)))
        return 0; //  no such name can be held
    snprintf (prefix, sizeof prefix, "%s/p/%s%s", VIEW_NAME, name ? name : "",
              name && *name ? "/" : "");
    if (fed_evlog_view_scan (log, prefix, s_gather_one, gather) < 0) {
        free (gather->entries);
        fed_err_set (err, 0, "reading the workflow catalog failed");
        return -1;
    }
    if (gather->count)
        qsort (gather->entries, gather->count, sizeof (fed_catalog_entry_t), s_entry_order);
    return 0;
}

//  True for a pre-release: a '-' before any '+' (1.0-rc.1).
static bool
s_prerelease (const char *version)
{
    size_t release = strcspn (version, "+");
    const char *dash = strchr (version, '-');
    return dash && (size_t) (dash - version) < release;
}

//  Folds sorted records into versions (the standing record, conflicts, the
//  latest of each name). Returns the number of versions; they are written
//  over the front of a fresh array.
static size_t
s_versions (const s_gather_t *gather, fed_catalog_version_t *versions)
{
    size_t count = 0;
    for (size_t i = 0; i < gather->count; i++) {
        const fed_catalog_entry_t *entry = &gather->entries [i];
        if (count && !strcmp (versions [count - 1].entry.name, entry->name)
            && !strcmp (versions [count - 1].entry.version, entry->version)) {
            versions [count - 1].conflicts++;
            continue;
        }
        versions [count].entry = *entry;
        versions [count].conflicts = 0;
        versions [count].latest = false;
        count++;
    }
    //  The latest of each name: the highest release, else the highest
    //  pre-release; among versions equal under the order, the one first
    //  published last.
    for (size_t i = 0; i < count;) {
        size_t end = i;
        while (end < count && !strcmp (versions [end].entry.name, versions [i].entry.name))
            end++;
        size_t best = SIZE_MAX;
        for (int pass = 0; pass < 2 && best == SIZE_MAX; pass++)
            for (size_t k = i; k < end; k++) {
                const fed_catalog_entry_t *a = &versions [k].entry;
                if (pass == 0 && s_prerelease (a->version))
                    continue;
                const fed_catalog_entry_t *b = best == SIZE_MAX ? NULL : &versions [best].entry;
                int order = b ? fed_workflow_version_cmp (a->version, b->version) : 1;
                if (order > 0
                    || (order == 0
                        && (a->hlc > b->hlc
                            || (a->hlc == b->hlc && memcmp (a->origin, b->origin, 32) > 0))))
                    best = k;
            }
        versions [best].latest = true;
        i = end;
    }
    return count;
}

int
fed_catalog_list (fed_evlog_t *log, const char *name, fed_catalog_version_t **versions_p,
                  size_t *count_p, fed_err_t *err)
{
    *versions_p = NULL;
    *count_p = 0;
    s_gather_t gather;
    if (s_gather (log, name, &gather, err))
        return -1;
    if (gather.count) {
        *versions_p =
            (fed_catalog_version_t *) fed_calloc (gather.count, sizeof (fed_catalog_version_t));
        *count_p = s_versions (&gather, *versions_p);
    }
    free (gather.entries);
    return 0;
}

int
fed_catalog_find (fed_evlog_t *log, const char *name, const char *version,
                  fed_catalog_version_t *found, fed_catalog_entry_t **others_p,
                  size_t *other_count_p, fed_err_t *err)
{
    if (others_p)
        *others_p = NULL;
    if (other_count_p)
        *other_count_p = 0;
    if (!name || !*name)
        return 0;
    s_gather_t gather;
    if (s_gather (log, name, &gather, err))
        return -1;
    fed_catalog_version_t *versions =
        (fed_catalog_version_t *) fed_calloc (gather.count + 1, sizeof (fed_catalog_version_t));
    size_t count = s_versions (&gather, versions), which = count;
    for (size_t i = 0; i < count && which == count; i++)
        if (version && *version ? !strcmp (versions [i].entry.version, version)
                                : versions [i].latest)
            which = i;
    if (which < count) {
        *found = versions [which];
        if (others_p && found->conflicts) {
            *others_p =
                (fed_catalog_entry_t *) fed_calloc (found->conflicts, sizeof (fed_catalog_entry_t));
            size_t n = 0;
            for (size_t i = 0; i < gather.count; i++) {
                const fed_catalog_entry_t *entry = &gather.entries [i];
                if (!strcmp (entry->version, found->entry.version)
                    && memcmp (entry->hash, found->entry.hash, 32))
                    (*others_p) [n++] = *entry;
            }
            if (other_count_p)
                *other_count_p = n;
        }
    }
    free (versions);
    free (gather.entries);
    return which < count ? 1 : 0;
}

int
fed_catalog_source (fed_evlog_t *log, const uint8_t hash [32], char **yaml_p, size_t *size_p,
                    fed_err_t *err)
{
    *yaml_p = NULL;
    *size_p = 0;
    uint8_t key [sizeof VIEW_NAME "/h/" - 1 + 32];
    memcpy (key, VIEW_NAME "/h/", sizeof VIEW_NAME "/h/" - 1);
    memcpy (key + sizeof VIEW_NAME "/h/" - 1, hash, 32);
    uint8_t *value;
    size_t size;
    if (fed_evlog_view_get (log, key, sizeof key, &value, &size)) {
        fed_err_set (err, 0, "reading the workflow catalog failed");
        return -1;
    }
    if (!value)
        return 0;
    *yaml_p = (char *) fed_malloc (size + 1);
    memcpy (*yaml_p, value, size);
    (*yaml_p) [size] = 0;
    *size_p = size;
    free (value);
    return 1;
}
