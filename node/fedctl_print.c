/*  node/fedctl_print.c: tables and value text for fedctl. See fedctl_print.h. */
#include "fedctl_print.h"
#include "json.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_COLUMNS_MAX 16

struct fed_table_t {
    size_t columns; //  number of columns
    char **cells;   //  rows * columns owned strings, header row first
    char **notes;   //  per row: owned lines under it ("\n" between), or NULL
    size_t rows;    //  rows including the header
};

int
fed_print_get (fed_blob_t map, const char *key, fed_blob_t *value)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, map.data, map.size);
    uint32_t count;
    if (fed_mpr_map (&reader, &count))
        return FED_MALFORMED;
    size_t key_size = strlen (key);
    for (uint32_t i = 0; i < count; i++) {
        const char *name = NULL;
        uint32_t name_size = 0;
        bool is_str = fed_mpr_str (&reader, &name, &name_size) == 0;
        if (!is_str && fed_mpr_skip (&reader, NULL))
            return FED_MALFORMED;
        size_t start = reader.pos;
        if (fed_mpr_skip (&reader, NULL))
            return FED_MALFORMED;
        if (is_str && name_size == key_size && memcmp (name, key, key_size) == 0) {
            *value = (fed_blob_t){reader.data + start, reader.pos - start};
            return 0;
        }
    }
    return 1;
}

int
fed_print_each (fed_blob_t array, void (*fn) (fed_blob_t element, void *arg), void *arg)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, array.data, array.size);
    uint32_t count;
    if (fed_mpr_array (&reader, &count))
        return FED_MALFORMED;
    for (uint32_t i = 0; i < count; i++) {
        size_t start = reader.pos;
        if (fed_mpr_skip (&reader, NULL))
            return FED_MALFORMED;
        fn ((fed_blob_t){reader.data + start, reader.pos - start}, arg);
    }
    return 0;
}

char *
fed_print_text (fed_blob_t value, size_t width)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, value.data, value.size);
    char *text = NULL;
    const char *str;
    const uint8_t *bin;
    uint32_t len;
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    switch (fed_mpr_peek (&reader)) {
        case FED_MP_STR:
            if (fed_mpr_str (&reader, &str, &len) == 0)
                text = fed_strndup (str, len);
            break;
        case FED_MP_BIN:
            if (fed_mpr_bin (&reader, &bin, &len) == 0) {
                text = (char *) fed_malloc (len == 32 ? 41 : 2 * (size_t) len + 1);
                if (len == 32)
                    fed_z85_encode_key (text, bin);
                else
                    fed_hex_encode (text, bin, len);
            }
            break;
        case FED_MP_UINT:
            if (fed_mpr_uint (&reader, &u) == 0)
                text = fed_sprintf ("%" PRIu64, u);
            break;
        case FED_MP_INT:
            if (fed_mpr_int (&reader, &i) == 0)
                text = fed_sprintf ("%" PRId64, i);
            break;
        case FED_MP_FLOAT:
            if (fed_mpr_double (&reader, &d) == 0)
                text = fed_sprintf ("%g", d);
            break;
        case FED_MP_BOOL:
            if (fed_mpr_bool (&reader, &b) == 0)
                text = fed_strdup (b ? "true" : "false");
            break;
        case FED_MP_NIL: text = fed_strdup ("-"); break;
        default: text = fed_json_from_msgpack (value.data, value.size, false); break;
    }
    if (!text)
        text = fed_strdup ("?");
    if (width && strlen (text) > width)
        text [width] = 0;
    return text;
}

char *
fed_print_field (fed_blob_t map, const char *key, size_t width)
{
    fed_blob_t value;
    if (fed_print_get (map, key, &value))
        return fed_strdup ("-");
    return fed_print_text (value, width);
}

char *
fed_print_time (uint64_t ms)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    char text [64];
    if (!gmtime_r (&seconds, &tm) || !strftime (text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm))
        return fed_sprintf ("%" PRIu64, ms);
    return fed_sprintf ("%s.%03uZ", text, (unsigned) (ms % 1000));
}

char *
fed_print_time_field (fed_blob_t map, const char *key)
{
    fed_blob_t value;
    if (fed_print_get (map, key, &value))
        return fed_strdup ("-");
    fed_mpr_t reader;
    fed_mpr_init (&reader, value.data, value.size);
    uint64_t ms;
    if (fed_mpr_uint (&reader, &ms))
        return fed_print_text (value, 0);
    return ms ? fed_print_time (ms) : fed_strdup ("never");
}

int
fed_print_kv (FILE *out, fed_blob_t map)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, map.data, map.size);
    uint32_t count;
    if (fed_mpr_map (&reader, &count))
        return FED_MALFORMED;
    fed_table_t *table = fed_table_new ("", "", NULL); //  empty headers: none printed
    for (uint32_t i = 0; i < count; i++) {
        size_t start = reader.pos;
        if (fed_mpr_skip (&reader, NULL))
            goto err;
        char *key = fed_print_text ((fed_blob_t){reader.data + start, reader.pos - start}, 0);
        start = reader.pos;
        if (fed_mpr_skip (&reader, NULL)) {
            free (key);
            goto err;
        }
        char *label = fed_sprintf ("%s:", key);
        free (key);
        fed_table_add (table, label,
                       fed_print_text ((fed_blob_t){reader.data + start, reader.pos - start}, 0));
    }
    fed_table_print (table, out);
    fed_table_destroy (&table);
    return 0;
err:
    fed_table_destroy (&table);
    return FED_MALFORMED;
}

//  fed_print_text of map[outer][inner], or "-" when either is absent or the
//  value is nil or an empty string.
static char *
s_nested_field (fed_blob_t map, const char *outer, const char *inner)
{
    fed_blob_t nested, value;
    if (fed_print_get (map, outer, &nested) || fed_print_get (nested, inner, &value))
        return fed_strdup ("-");
    char *text = fed_print_text (value, 0);
    if (!*text) {
        free (text);
        text = fed_strdup ("-");
    }
    return text;
}

static void
s_member_row (fed_blob_t member, void *arg)
{
    fed_table_t *table = (fed_table_t *) arg;
    char *name = fed_print_field (member, "name", 0);
    fed_blob_t value;
    bool is_self = false;
    if (fed_print_get (member, "self", &value) == 0) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, value.data, value.size);
        if (fed_mpr_bool (&reader, &is_self))
            is_self = false;
    }
    if (is_self) {
        char *marked = fed_sprintf ("%s*", name);
        free (name);
        name = marked;
    }
    fed_table_add (
        table, fed_print_field (member, "id", 8), name, fed_print_field (member, "state", 0),
        fed_print_field (member, "incarnation", 0), fed_print_field (member, "endpoint", 0),
        s_nested_field (member, "location", "region"), s_nested_field (member, "location", "zone"),
        s_nested_field (member, "location", "site"), fed_print_field (member, "seq", 0));
}

int
fed_print_members (FILE *out, fed_blob_t result)
{
    fed_table_t *table = fed_table_new ("ID", "NAME", "STATE", "INC", "ENDPOINT", "REGION", "ZONE",
                                        "SITE", "SEQ", NULL);
    int rc = fed_print_each (result, s_member_row, table);
    if (rc == 0)
        fed_table_print (table, out);
    fed_table_destroy (&table);
    return rc;
}

//  "lat,lon" of an agent row's location, or "-".
static char *
s_latlon (fed_blob_t row)
{
    char *lat = s_nested_field (row, "location", "lat");
    char *lon = s_nested_field (row, "location", "lon");
    char *text =
        strcmp (lat, "-") && strcmp (lon, "-") ? fed_sprintf ("%s,%s", lat, lon) : fed_strdup ("-");
    free (lat);
    free (lon);
    return text;
}

static void
s_agent_row (fed_blob_t row, void *arg)
{
    fed_table_t *table = (fed_table_t *) arg;
    fed_blob_t value;
    char *distance = fed_strdup ("-");
    if (fed_print_get (row, "distance_km", &value) == 0) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, value.data, value.size);
        double km;
        if (fed_mpr_double (&reader, &km) == 0) {
            free (distance);
            distance = fed_sprintf ("%.1f", km);
        }
    }
    char *node = fed_print_field (row, "node_name", 0);
    if (!strcmp (node, "-") || !*node) {
        free (node);
        node = fed_print_field (row, "node", 8);
    }
    fed_table_add (table, fed_print_field (row, "name", 0), fed_print_field (row, "version", 0),
                   node, fed_print_field (row, "kind", 0), fed_print_field (row, "status", 0),
                   s_nested_field (row, "location", "region"),
                   s_nested_field (row, "location", "site"), s_latlon (row), distance);
}

int
fed_print_agents (FILE *out, fed_blob_t result)
{
    fed_table_t *table = fed_table_new ("NAME", "VERSION", "NODE", "KIND", "STATUS", "REGION",
                                        "SITE", "LAT,LON", "KM", NULL);
    int rc = fed_print_each (result, s_agent_row, table);
    if (rc == 0)
        fed_table_print (table, out);
    fed_table_destroy (&table);
    return rc;
}

static void
s_workflow_row (fed_blob_t row, void *arg)
{
    fed_table_t *table = (fed_table_t *) arg;
    fed_blob_t latest;
    bool is_latest = false;
    if (fed_print_get (row, "latest", &latest) == 0) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, latest.data, latest.size);
        if (fed_mpr_bool (&reader, &is_latest))
            is_latest = false;
    }
    fed_table_add (table, fed_print_field (row, "name", 0), fed_print_field (row, "version", 0),
                   fed_strdup (is_latest ? "*" : ""), fed_print_field (row, "hash", 16),
                   fed_print_time_field (row, "published_ms"),
                   fed_print_field (row, "published_by", 8), fed_print_field (row, "conflicts", 0));
}

int
fed_print_workflows (FILE *out, fed_blob_t result)
{
    fed_table_t *table =
        fed_table_new ("NAME", "VERSION", "LATEST", "HASH", "PUBLISHED", "BY", "CONFLICTS", NULL);
    int rc = fed_print_each (result, s_workflow_row, table);
    if (rc == 0 && fed_table_rows (table))
        fed_table_print (table, out);
    else if (rc == 0)
        fprintf (out, "no workflows published\n");
    fed_table_destroy (&table);
    return rc;
}

//  One refused publication of a shown version, as a line.
static void
s_other_line (fed_blob_t other, void *arg)
{
    fed_table_t *table = (fed_table_t *) arg;
    char *hash = fed_print_field (other, "hash", 0),
         *when = fed_print_time_field (other, "published_ms"),
         *by = fed_print_field (other, "published_by", 0),
         *origin = fed_print_field (other, "origin", 0);
    fed_table_add (table, fed_strdup ("refused:"),
                   fed_sprintf ("%s (published %s by %s from node %s)", hash, when, by, origin));
    free (hash);
    free (when);
    free (by);
    free (origin);
}

//  The versions array as "1.0, 1.1, 2.0".
static char *
s_versions_text (fed_blob_t map)
{
    fed_blob_t versions;
    if (fed_print_get (map, "versions", &versions))
        return fed_strdup ("-");
    fed_mpr_t reader;
    fed_mpr_init (&reader, versions.data, versions.size);
    uint32_t count;
    if (fed_mpr_array (&reader, &count))
        return fed_strdup ("?");
    char *text = fed_strdup ("");
    for (uint32_t i = 0; i < count; i++) {
        const char *version;
        uint32_t size;
        if (fed_mpr_str (&reader, &version, &size))
            break;
        char *longer = fed_sprintf ("%s%s%.*s", text, i ? ", " : "", (int) size, version);
        free (text);
        text = longer;
    }
    return text;
}

int
fed_print_workflow (FILE *out, fed_blob_t result)
{
    fed_blob_t yaml;
    fed_mpr_t reader;
    const char *text;
    uint32_t size;
    if (fed_print_get (result, "yaml", &yaml))
        return FED_MALFORMED;
    fed_mpr_init (&reader, yaml.data, yaml.size);
    if (fed_mpr_str (&reader, &text, &size))
        return FED_MALFORMED;
    fed_table_t *table = fed_table_new ("", "", NULL);
    static const char *const keys [] = {"name",  "version", "hash",       "latest",
                                        "valid", "steps",   "description"};
    for (size_t i = 0; i < sizeof keys / sizeof keys [0]; i++)
        fed_table_add (table, fed_sprintf ("%s:", keys [i]), fed_print_field (result, keys [i], 0));
    fed_table_add (table, fed_strdup ("published:"), fed_print_time_field (result, "published_ms"));
    fed_table_add (table, fed_strdup ("published_by:"),
                   fed_print_field (result, "published_by", 0));
    fed_table_add (table, fed_strdup ("origin:"), fed_print_field (result, "origin", 0));
    fed_table_add (table, fed_strdup ("versions:"), s_versions_text (result));
    fed_blob_t others;
    if (fed_print_get (result, "others", &others) == 0)
        (void) fed_print_each (others, s_other_line, table);
    fed_table_print (table, out);
    fed_table_destroy (&table);
    fprintf (out, "\n%.*s", (int) size, text);
    if (size && text [size - 1] != '\n')
        fprintf (out, "\n");
    return 0;
}

fed_table_t *
fed_table_new (const char *header, ...)
{
    fed_table_t *self = (fed_table_t *) fed_calloc (1, sizeof (fed_table_t));
    const char *names [S_COLUMNS_MAX];
    va_list args;
    va_start (args, header);
    for (const char *name = header; name; name = va_arg (args, const char *)) {
        assert (self->columns < S_COLUMNS_MAX);
        names [self->columns++] = name;
    }
    va_end (args);
    self->cells = (char **) fed_calloc (self->columns, sizeof (char *));
    for (size_t c = 0; c < self->columns; c++)
        self->cells [c] = fed_strdup (names [c]);
    self->notes = (char **) fed_calloc (1, sizeof (char *));
    self->rows = 1;
    return self;
}

void
fed_table_add (fed_table_t *self, ...)
{
    self->cells =
        (char **) fed_realloc (self->cells, (self->rows + 1) * self->columns * sizeof (char *));
    self->notes = (char **) fed_realloc (self->notes, (self->rows + 1) * sizeof (char *));
    self->notes [self->rows] = NULL;
    va_list args;
    va_start (args, self);
    for (size_t c = 0; c < self->columns; c++) {
        char *cell = va_arg (args, char *);
        self->cells [self->rows * self->columns + c] = cell ? cell : fed_strdup ("-");
    }
    va_end (args);
    self->rows++;
}

void
fed_table_note (fed_table_t *self, char *text)
{
    char **note = &self->notes [self->rows - 1];
    if (*note) {
        char *longer = fed_sprintf ("%s\n%s", *note, text);
        free (*note);
        free (text);
        *note = longer;
    } else
        *note = text;
}

//  Characters in text as a terminal shows them: bytes, less UTF-8
//  continuation bytes.
static size_t
s_width (const char *text)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        width += (*p & 0xc0) != 0x80;
    return width;
}

size_t
fed_table_rows (fed_table_t *self)
{
    return self->rows ? self->rows - 1 : 0;
}

void
fed_table_print (fed_table_t *self, FILE *out)
{
    size_t widths [S_COLUMNS_MAX] = {0};
    for (size_t r = 0; r < self->rows; r++)
        for (size_t c = 0; c < self->columns; c++) {
            size_t w = s_width (self->cells [r * self->columns + c]);
            if (w > widths [c])
                widths [c] = w;
        }
    bool headless = true;
    for (size_t c = 0; c < self->columns; c++)
        headless = headless && !self->cells [c][0];
    for (size_t r = headless ? 1 : 0; r < self->rows; r++) {
        for (size_t c = 0; c < self->columns; c++) {
            const char *cell = self->cells [r * self->columns + c];
            if (c + 1 == self->columns)
                fprintf (out, "%s\n", cell);
            else
                fprintf (out, "%s%*s  ", cell, (int) (widths [c] - s_width (cell)), "");
        }
        if (self->notes [r])
            fprintf (out, "%s\n", self->notes [r]);
    }
}

void
fed_table_destroy (fed_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_table_t *self = *self_p;
    for (size_t i = 0; i < self->rows * self->columns; i++)
        free (self->cells [i]);
    for (size_t r = 0; r < self->rows; r++)
        free (self->notes [r]);
    free (self->cells);
    free (self->notes);
    free (self);
    *self_p = NULL;
}
