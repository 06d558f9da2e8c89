/*  node/registry.c: the agent registry view (see registry.h).

    View "agent", key node(32) ‖ name → last-writer-wins register whose
    value is one state byte (1 registered, 0 deregistered) followed, when
    registered, by the agent.registered body as written.
*/
#include "registry.h"
#include "mpread.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_NAME "agent"
#define VIEW_VERSION 1

const char *
fed_agent_kind_name (fed_agent_kind_t kind)
{
    switch (kind) {
        case FED_AGENT_BUILTIN: return "builtin";
        case FED_AGENT_EXTERNAL: return "external";
        case FED_AGENT_EDGE: return "edge";
    }
    return "?";
}

static fed_agent_kind_t
s_kind_parse (const char *text, uint32_t size)
{
    for (int kind = FED_AGENT_BUILTIN; kind <= FED_AGENT_EDGE; kind++) {
        const char *name = fed_agent_kind_name ((fed_agent_kind_t) kind);
        if (strlen (name) == size && memcmp (name, text, size) == 0)
            return (fed_agent_kind_t) kind;
    }
    return (fed_agent_kind_t) 0;
}

static bool
s_key_is (const char *key, uint32_t size, const char *name)
{
    return strlen (name) == size && memcmp (key, name, size) == 0;
}

//  Reads a str of 1..max bytes (0..max with may_be_empty) into out, NUL-terminated.
static int
s_read_text (fed_mpr_t *reader, const char *what, char *out, size_t max, bool may_be_empty,
             fed_err_t *err)
{
    const char *ptr;
    uint32_t size;
    if (fed_mpr_peek (reader) != FED_MP_STR || fed_mpr_str (reader, &ptr, &size)) {
        fed_err_set (err, 0, "%s: expected a string, got %s", what,
                     fed_mp_type_name (fed_mpr_peek (reader)));
        return -1;
    }
    if (size > max || (size == 0 && !may_be_empty)) {
        fed_err_set (err, 0, "%s: %u bytes; expected %s%zu", what, size,
                     may_be_empty ? "at most " : "1 to ", max);
        return -1;
    }
    if (memchr (ptr, 0, size)) {
        fed_err_set (err, 0, "%s: contains a NUL byte", what);
        return -1;
    }
    memcpy (out, ptr, size);
    out [size] = 0;
    return 0;
}

//  A text that may be nil (stored as "").
static int
s_read_optional_text (fed_mpr_t *reader, const char *what, char *out, fed_err_t *err)
{
    if (fed_mpr_peek (reader) == FED_MP_NIL) {
        out [0] = 0;
        return fed_mpr_nil (reader);
    }
    return s_read_text (reader, what, out, FED_AGENT_TEXT_MAX, true, err);
}

static int
s_read_coord (fed_mpr_t *reader, const char *what, double limit, bool *has, double *value,
              fed_err_t *err)
{
    if (fed_mpr_peek (reader) == FED_MP_NIL) {
        *has = false;
        return fed_mpr_nil (reader);
    }
    fed_mp_type_t type = fed_mpr_peek (reader);
    if ((type != FED_MP_FLOAT && type != FED_MP_UINT && type != FED_MP_INT)
        || fed_mpr_double (reader, value)) {
        fed_err_set (err, 0, "%s: expected a number or nil, got %s", what, fed_mp_type_name (type));
        return -1;
    }
    if (!isfinite (*value) || *value < -limit || *value > limit) {
        fed_err_set (err, 0, "%s: %g is outside -%g..%g", what, *value, limit, limit);
        return -1;
    }
    *has = true;
    return 0;
}

int
fed_agent_location_read (fed_mpr_t *reader, fed_agent_location_t *location, fed_err_t *err)
{
    memset (location, 0, sizeof *location);
    uint32_t count;
    if (fed_mpr_peek (reader) != FED_MP_MAP || fed_mpr_map (reader, &count)) {
        fed_err_set (err, 0, "location: expected a map, got %s",
                     fed_mp_type_name (fed_mpr_peek (reader)));
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t size;
        if (fed_mpr_peek (reader) != FED_MP_STR || fed_mpr_str (reader, &key, &size)) {
            fed_err_set (err, 0, "location: keys must be strings");
            return -1;
        }
        int rc = 0;
        if (s_key_is (key, size, "region"))
            rc = s_read_optional_text (reader, "location.region", location->region, err);
        else if (s_key_is (key, size, "zone"))
            rc = s_read_optional_text (reader, "location.zone", location->zone, err);
        else if (s_key_is (key, size, "site"))
            rc = s_read_optional_text (reader, "location.site", location->site, err);
        else if (s_key_is (key, size, "lat"))
            rc = s_read_coord (reader, "location.lat", 90, &location->has_lat, &location->lat, err);
        else if (s_key_is (key, size, "lon"))
            rc =
                s_read_coord (reader, "location.lon", 180, &location->has_lon, &location->lon, err);
        else if (s_key_is (key, size, "labels")) {
            uint32_t labels;
            if (fed_mpr_peek (reader) != FED_MP_MAP || fed_mpr_map (reader, &labels)) {
                fed_err_set (err, 0, "location.labels: expected a map of strings");
                return -1;
            }
            if (labels > FED_AGENT_LABELS_MAX) {
                fed_err_set (err, 0, "location.labels: %u labels; at most %d", labels,
                             FED_AGENT_LABELS_MAX);
                return -1;
            }
            for (uint32_t j = 0; j < labels && rc == 0; j++) {
                rc = s_read_text (reader, "location.labels key", location->label_keys [j],
                                  FED_AGENT_TEXT_MAX, false, err);
                if (rc == 0)
                    rc = s_read_optional_text (reader, "location.labels value",
                                               location->label_values [j], err);
            }
            location->label_count = labels;
        } else
            rc = fed_mpr_skip (reader, NULL);
        if (rc)
            return -1;
    }
    return 0;
}

static void
s_pack_text (msgpack_packer *pk, const char *name, const char *value)
{
    msgpack_pack_str_with_body (pk, name, strlen (name));
    if (*value)
        msgpack_pack_str_with_body (pk, value, strlen (value));
    else
        msgpack_pack_nil (pk);
}

void
fed_agent_location_pack (msgpack_packer *pk, const fed_agent_location_t *location)
{
    msgpack_pack_map (pk, 6);
    s_pack_text (pk, "region", location->region);
    s_pack_text (pk, "zone", location->zone);
    s_pack_text (pk, "site", location->site);
    msgpack_pack_str_with_body (pk, "lat", 3);
    if (location->has_lat)
        msgpack_pack_double (pk, location->lat);
    else
        msgpack_pack_nil (pk);
    msgpack_pack_str_with_body (pk, "lon", 3);
    if (location->has_lon)
        msgpack_pack_double (pk, location->lon);
    else
        msgpack_pack_nil (pk);
    msgpack_pack_str_with_body (pk, "labels", 6);
    msgpack_pack_map (pk, location->label_count);
    for (uint32_t i = 0; i < location->label_count; i++)
        s_pack_text (pk, location->label_keys [i], location->label_values [i]);
}

//  [a-z0-9][a-z0-9._-]*
static bool
s_name_valid (const char *name)
{
    if (!islower ((unsigned char) name [0]) && !isdigit ((unsigned char) name [0]))
        return false;
    for (const char *c = name; *c; c++)
        if (!islower ((unsigned char) *c) && !isdigit ((unsigned char) *c) && *c != '.' && *c != '_'
            && *c != '-')
            return false;
    return true;
}

int
fed_agent_record_decode (const uint8_t *body, size_t size, fed_agent_record_t *record,
                         fed_err_t *err)
{
    memset (record, 0, sizeof *record);
    fed_mpr_t reader;
    fed_mpr_init (&reader, body, size);
    uint32_t count;
    if (fed_mpr_peek (&reader) != FED_MP_MAP || fed_mpr_map (&reader, &count)) {
        fed_err_set (err, 0, "agent record: expected a map");
        return -1;
    }
    bool has_node = false;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t key_size;
        if (fed_mpr_peek (&reader) != FED_MP_STR || fed_mpr_str (&reader, &key, &key_size)) {
            fed_err_set (err, 0, "agent record: keys must be strings");
            return -1;
        }
        int rc = 0;
        if (s_key_is (key, key_size, "name"))
            rc = s_read_text (&reader, "name", record->name, FED_AGENT_NAME_MAX, false, err);
        else if (s_key_is (key, key_size, "version"))
            rc = s_read_text (&reader, "version", record->version, FED_AGENT_VERSION_MAX, false,
                              err);
        else if (s_key_is (key, key_size, "node")) {
            const uint8_t *node;
            uint32_t node_size;
            if (fed_mpr_peek (&reader) != FED_MP_BIN || fed_mpr_bin (&reader, &node, &node_size)
                || node_size != 32) {
                fed_err_set (err, 0, "node: expected a 32-byte bin (the hosting node's key)");
                return -1;
            }
            memcpy (record->node, node, 32);
            has_node = true;
        } else if (s_key_is (key, key_size, "kind")) {
            const char *text;
            uint32_t text_size;
            if (fed_mpr_peek (&reader) != FED_MP_STR || fed_mpr_str (&reader, &text, &text_size)
                || !(record->kind = s_kind_parse (text, text_size))) {
                fed_err_set (err, 0, "kind: expected \"builtin\", \"external\" or \"edge\"");
                return -1;
            }
        } else if (s_key_is (key, key_size, "capabilities")) {
            uint32_t caps;
            if (fed_mpr_peek (&reader) != FED_MP_ARRAY || fed_mpr_array (&reader, &caps)) {
                fed_err_set (err, 0, "capabilities: expected an array of strings");
                return -1;
            }
            if (caps > FED_AGENT_CAPS_MAX) {
                fed_err_set (err, 0, "capabilities: %u entries; at most %d", caps,
                             FED_AGENT_CAPS_MAX);
                return -1;
            }
            for (uint32_t j = 0; j < caps && rc == 0; j++)
                rc = s_read_text (&reader, "capabilities entry", record->capabilities [j],
                                  FED_AGENT_TEXT_MAX, false, err);
            record->capability_count = caps;
        } else if (s_key_is (key, key_size, "location")) {
            if (fed_mpr_peek (&reader) == FED_MP_NIL)
                rc = fed_mpr_nil (&reader);
            else {
                rc = fed_agent_location_read (&reader, &record->location, err);
                record->has_location = rc == 0;
            }
        } else
            rc = fed_mpr_skip (&reader, NULL);
        if (rc) {
            if (err && !*err->text)
                fed_err_set (err, 0, "agent record: malformed value of '%.*s'", (int) key_size,
                             key);
            return -1;
        }
    }
    if (!*record->name || !*record->version || !has_node || !record->kind) {
        fed_err_set (err, 0, "agent record: name, version, node and kind are required");
        return -1;
    }
    if (!s_name_valid (record->name)) {
        fed_err_set (err, 0,
                     "name '%s': use lowercase letters, digits, '.', '_' and '-', starting with "
                     "a letter or digit (like data.clean)",
                     record->name);
        return -1;
    }
    return 0;
}

int
fed_agent_record_encode (const fed_agent_record_t *record, msgpack_sbuffer *buffer, fed_err_t *err)
{
    if (strlen (record->name) == 0 || strlen (record->name) > FED_AGENT_NAME_MAX
        || !s_name_valid (record->name)) {
        fed_err_set (err, 0,
                     "agent name '%.80s': 1 to %d of lowercase letters, digits, '.', '_', '-'",
                     record->name, FED_AGENT_NAME_MAX);
        return -1;
    }
    if (strlen (record->version) == 0 || strlen (record->version) > FED_AGENT_VERSION_MAX) {
        fed_err_set (err, 0, "agent version: 1 to %d bytes", FED_AGENT_VERSION_MAX);
        return -1;
    }
    if (record->kind < FED_AGENT_BUILTIN || record->kind > FED_AGENT_EDGE
        || record->capability_count > FED_AGENT_CAPS_MAX
        || (record->has_location && record->location.label_count > FED_AGENT_LABELS_MAX)) {
        fed_err_set (err, 0, "agent record: kind, capabilities or labels out of range");
        return -1;
    }
    const fed_agent_location_t *location = &record->location;
    if (record->has_location
        && ((location->has_lat && (!isfinite (location->lat) || fabs (location->lat) > 90))
            || (location->has_lon && (!isfinite (location->lon) || fabs (location->lon) > 180)))) {
        fed_err_set (err, 0, "agent location: lat must be within -90..90 and lon -180..180");
        return -1;
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    s_pack_text (&pk, "name", record->name);
    s_pack_text (&pk, "version", record->version);
    msgpack_pack_str_with_body (&pk, "node", 4);
    msgpack_pack_bin_with_body (&pk, record->node, 32);
    s_pack_text (&pk, "kind", fed_agent_kind_name (record->kind));
    msgpack_pack_str_with_body (&pk, "capabilities", 12);
    msgpack_pack_array (&pk, record->capability_count);
    for (uint32_t i = 0; i < record->capability_count; i++)
        msgpack_pack_str_with_body (&pk, record->capabilities [i],
                                    strlen (record->capabilities [i]));
    msgpack_pack_str_with_body (&pk, "location", 8);
    if (record->has_location)
        fed_agent_location_pack (&pk, location);
    else
        msgpack_pack_nil (&pk);
    return 0;
}

void
fed_agent_deregistered_encode (const uint8_t node [32], const char *name, msgpack_sbuffer *buffer)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    s_pack_text (&pk, "name", name);
    msgpack_pack_str_with_body (&pk, "node", 4);
    msgpack_pack_bin_with_body (&pk, node, 32);
}

//  View key: node(32) ‖ name.
static size_t
s_key (uint8_t *key, const uint8_t node [32], const char *name)
{
    size_t size = strlen (name);
    memcpy (key, node, 32);
    memcpy (key + 32, name, size);
    return 32 + size;
}

//  Reads the name and node of a deregistration body. Returns 0 or -1.
static int
s_deregistered_decode (const uint8_t *body, size_t size, char *name, uint8_t node [32])
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, body, size);
    uint32_t count;
    bool has_node = false;
    *name = 0;
    if (fed_mpr_peek (&reader) != FED_MP_MAP || fed_mpr_map (&reader, &count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t key_size;
        if (fed_mpr_peek (&reader) != FED_MP_STR || fed_mpr_str (&reader, &key, &key_size))
            return -1;
        if (s_key_is (key, key_size, "name")) {
            if (s_read_text (&reader, "name", name, FED_AGENT_NAME_MAX, false, NULL))
                return -1;
        } else if (s_key_is (key, key_size, "node")) {
            const uint8_t *ptr;
            uint32_t ptr_size;
            if (fed_mpr_peek (&reader) != FED_MP_BIN || fed_mpr_bin (&reader, &ptr, &ptr_size)
                || ptr_size != 32)
                return -1;
            memcpy (node, ptr, 32);
            has_node = true;
        } else if (fed_mpr_skip (&reader, NULL))
            return -1;
    }
    return *name && has_node && s_name_valid (name) ? 0 : -1;
}

static int
s_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    const char *type = fed_event_type (event);
    bool registered = strcmp (type, "agent.registered") == 0;
    if (!registered && strcmp (type, "agent.deregistered") != 0)
        return 0;
    const uint8_t *body = fed_event_body (event);
    size_t size = fed_event_body_size (event);
    char name [FED_AGENT_NAME_MAX + 1];
    uint8_t node [32];
    if (registered) {
        fed_agent_record_t *record = (fed_agent_record_t *) fed_malloc (sizeof *record);
        int rc = fed_agent_record_decode (body, size, record, NULL);
        memcpy (node, record->node, 32);
        snprintf (name, sizeof name, "%s", record->name);
        free (record);
        if (rc)
            return 0; //  malformed: in the log, not in the registry
    } else if (s_deregistered_decode (body, size, name, node))
        return 0;
    //  A node speaks only for its own agents.
    if (memcmp (node, fed_event_origin (event), 32) != 0)
        return 0;
    uint8_t key [32 + FED_AGENT_NAME_MAX];
    size_t key_size = s_key (key, node, name);
    uint8_t *value = (uint8_t *) fed_malloc (1 + size);
    value [0] = registered ? 1 : 0;
    size_t value_size = 1;
    if (registered) {
        memcpy (value + 1, body, size);
        value_size += size;
    }
    int rc = fed_view_lww_put (txn, key, key_size, event, value, value_size);
    free (value);
    return rc;
}

int
fed_registry_register (fed_evlog_t *log, fed_err_t *err)
{
    fed_view_def_t def = {VIEW_NAME, VIEW_VERSION, s_apply, NULL};
    return fed_evlog_add_view (log, &def, err);
}

//  Decodes a stored register into record. Returns 1 registered, 0
//  deregistered or unreadable.
static int
s_record_from_value (const uint8_t *value, size_t size, fed_agent_record_t *record)
{
    size_t inner_size;
    const uint8_t *inner = fed_view_lww_value (value, size, &inner_size);
    if (!inner || inner_size < 1 || inner [0] != 1)
        return 0;
    if (fed_agent_record_decode (inner + 1, inner_size - 1, record, NULL))
        return 0;
    //  The register starts with the writer's HLC (8 bytes, big-endian).
    uint64_t hlc = 0;
    for (int i = 0; i < 8; i++)
        hlc = hlc << 8 | value [i];
    record->registered_ms = (int64_t) (hlc >> 16);
    return 1;
}

typedef struct {
    fed_registry_each_fn *each;
    void *arg;
    fed_agent_record_t *record;
} scan_t;

static int
s_scan_one (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value, size_t size)
{
    scan_t *scan = (scan_t *) arg;
    if (!s_record_from_value (value, size, scan->record))
        return 0;
    return scan->each (scan->arg, scan->record);
}

int
fed_registry_scan (fed_evlog_t *log, fed_registry_each_fn *each, void *arg, fed_err_t *err)
{
    scan_t scan = {each, arg, (fed_agent_record_t *) fed_malloc (sizeof (fed_agent_record_t))};
    int rc = fed_evlog_view_scan (log, VIEW_NAME "/", s_scan_one, &scan);
    free (scan.record);
    if (rc < 0)
        fed_err_set (err, 0, "reading the agent registry failed");
    return rc;
}

static bool
s_location_same (const fed_agent_location_t *a, const fed_agent_location_t *b)
{
    if (strcmp (a->region, b->region) || strcmp (a->zone, b->zone) || strcmp (a->site, b->site)
        || a->has_lat != b->has_lat || a->has_lon != b->has_lon || (a->has_lat && a->lat != b->lat)
        || (a->has_lon && a->lon != b->lon) || a->label_count != b->label_count)
        return false;
    for (uint32_t i = 0; i < a->label_count; i++)
        if (strcmp (a->label_keys [i], b->label_keys [i])
            || strcmp (a->label_values [i], b->label_values [i]))
            return false;
    return true;
}

bool
fed_agent_record_same (const fed_agent_record_t *a, const fed_agent_record_t *b)
{
    if (strcmp (a->name, b->name) || strcmp (a->version, b->version) || a->kind != b->kind
        || a->has_location != b->has_location || a->capability_count != b->capability_count)
        return false;
    for (uint32_t i = 0; i < a->capability_count; i++)
        if (strcmp (a->capabilities [i], b->capabilities [i]))
            return false;
    return !a->has_location || s_location_same (&a->location, &b->location);
}

typedef struct {
    const uint8_t *node;
    fed_agent_kind_t kind;
    fed_agent_name_t *names;
    size_t count;
} hosted_t;

static int
s_hosted_one (void *arg, const fed_agent_record_t *record)
{
    hosted_t *hosted = (hosted_t *) arg;
    if (record->kind == hosted->kind && memcmp (record->node, hosted->node, 32) == 0) {
        hosted->names = fed_realloc (hosted->names, (hosted->count + 1) * sizeof *hosted->names);
        snprintf (hosted->names [hosted->count++], sizeof *hosted->names, "%s", record->name);
    }
    return 0;
}

int
fed_registry_hosted (fed_evlog_t *log, const uint8_t node [32], fed_agent_kind_t kind,
                     fed_agent_name_t **names_p, size_t *count_p, fed_err_t *err)
{
    hosted_t hosted = {node, kind, NULL, 0};
    if (fed_registry_scan (log, s_hosted_one, &hosted, err) < 0) {
        free (hosted.names);
        return -1;
    }
    *names_p = hosted.names;
    *count_p = hosted.count;
    return 0;
}

int
fed_registry_find (fed_evlog_t *log, const uint8_t node [32], const char *name,
                   fed_agent_record_t *record, fed_err_t *err)
{
    if (strlen (name) > FED_AGENT_NAME_MAX)
        return 0;
    uint8_t key [sizeof VIEW_NAME + 32 + FED_AGENT_NAME_MAX];
    memcpy (key, VIEW_NAME "/", sizeof VIEW_NAME);
    size_t key_size = sizeof VIEW_NAME + s_key (key + sizeof VIEW_NAME, node, name);
    uint8_t *value;
    size_t size;
    if (fed_evlog_view_get (log, key, key_size, &value, &size)) {
        fed_err_set (err, 0, "reading the agent registry failed");
        return -1;
    }
    if (!value)
        return 0;
    int found = s_record_from_value (value, size, record);
    free (value);
    return found;
}

bool
fed_registry_node (fed_evlog_t *log, const uint8_t node [32], char *name, size_t name_size,
                   fed_agent_location_t *location)
{
    if (name && name_size)
        *name = 0;
    memset (location, 0, sizeof *location);
    uint8_t key [6 + 32];
    memcpy (key, "nodes/", 6);
    memcpy (key + 6, node, 32);
    uint8_t *value;
    size_t size;
    if (fed_evlog_view_get (log, key, sizeof key, &value, &size) || !value)
        return false;
    size_t body_size;
    const uint8_t *body = fed_view_lww_value (value, size, &body_size);
    bool found = false;
    fed_mpr_t reader;
    fed_mpr_init (&reader, body, body ? body_size : 0);
    uint32_t count;
    if (body && fed_mpr_map (&reader, &count) == 0)
        for (uint32_t i = 0; i < count; i++) {
            const char *field, *text;
            uint32_t field_size, text_size;
            if (fed_mpr_peek (&reader) != FED_MP_STR || fed_mpr_str (&reader, &field, &field_size))
                break;
            if (s_key_is (field, field_size, "location")) {
                found = fed_agent_location_read (&reader, location, NULL) == 0;
                if (!found)
                    break; //  the reader is lost inside it
            } else if (s_key_is (field, field_size, "name") && fed_mpr_peek (&reader) == FED_MP_STR
                       && fed_mpr_str (&reader, &text, &text_size) == 0) {
                if (name && name_size)
                    snprintf (name, name_size, "%.*s", (int) text_size, text);
            } else if (fed_mpr_skip (&reader, NULL))
                break;
        }
    free (value);
    if (!found)
        memset (location, 0, sizeof *location);
    return found;
}

bool
fed_agent_effective_location (fed_evlog_t *log, const fed_agent_record_t *record,
                              fed_agent_location_t *location)
{
    if (record->has_location) {
        *location = record->location;
        return true;
    }
    return fed_registry_node (log, record->node, NULL, 0, location);
}

bool
fed_agent_matches (const fed_agent_record_t *record, const fed_agent_location_t *location,
                   const fed_agent_filter_t *filter)
{
    if (filter->name && *filter->name && strcmp (filter->name, record->name) != 0)
        return false;
    if (filter->kind && *filter->kind && strcmp (filter->kind, fed_agent_kind_name (record->kind)))
        return false;
    if (filter->region && *filter->region && strcmp (filter->region, location->region) != 0)
        return false;
    if (filter->capability && *filter->capability) {
        bool has = false;
        for (uint32_t i = 0; i < record->capability_count && !has; i++)
            has = strcmp (record->capabilities [i], filter->capability) == 0;
        if (!has)
            return false;
    }
    for (uint32_t i = 0; i < filter->label_count; i++) {
        bool has = false;
        for (uint32_t j = 0; j < location->label_count && !has; j++)
            has = strcmp (location->label_keys [j], filter->label_keys [i]) == 0
                && strcmp (location->label_values [j], filter->label_values [i]) == 0;
        if (!has)
            return false;
    }
    return true;
}
