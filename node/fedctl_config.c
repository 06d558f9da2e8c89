/*  node/fedctl_config.c: fedctl's settings file. See fedctl_config.h.

    The file is a single flat map of scalars, so it is read straight from
    libyaml's event stream (no tree): the events must be STREAM, DOCUMENT,
    one MAPPING of SCALAR pairs, and the ends. Anything else is refused at
    the position libyaml reports for it.
*/
#include "fedctl_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <yaml.h>

#ifndef streq
#define streq(a, b) (strcmp ((a), (b)) == 0)
#endif

//  The keys the file may set, in the order they are documented.
static const char *s_keys [] = {"endpoint", "key", "server_key", "timeout"};
#define S_KEY_COUNT (sizeof s_keys / sizeof s_keys [0])

void
fed_fedctl_config_init (fed_fedctl_config_t *self)
{
    memset (self, 0, sizeof *self);
    self->timeout_ms = -1;
}

void
fed_fedctl_config_clear (fed_fedctl_config_t *self)
{
    if (!self)
        return;
    free (self->endpoint);
    free (self->key);
    free (self->server_key);
    fed_fedctl_config_init (self);
}

char *
fed_fedctl_config_default_path (void)
{
    const char *xdg = getenv ("XDG_CONFIG_HOME");
    if (xdg && *xdg == '/')
        return fed_sprintf ("%s/fednode/fedctl.yaml", xdg);
    const char *home = getenv ("HOME");
    if (home && *home)
        return fed_sprintf ("%s/.config/fednode/fedctl.yaml", home);
    return NULL;
}

//  A key or server_key value as a path: "~/x" from $HOME; a relative path
//  from the config file's folder when a file is there; else as written
//  (server_key may be key text). Caller frees.
static char *
s_resolve (const char *config_path, const char *value)
{
    const char *home = getenv ("HOME");
    if (strncmp (value, "~/", 2) == 0 && home && *home)
        return fed_sprintf ("%s/%s", home, value + 2);
    if (value [0] == '/')
        return fed_strdup (value);
    const char *slash = strrchr (config_path, '/');
    if (slash) {
        char *near = fed_sprintf ("%.*s/%s", (int) (slash - config_path), config_path, value);
        struct stat st;
        if (stat (near, &st) == 0)
            return near;
        free (near);
    }
    return fed_strdup (value);
}

//  Reads the whole file (at most FED_FEDCTL_CONFIG_MAX bytes). Returns the
//  text (caller frees), or NULL with *missing_p or err set.
static char *
s_read (const char *path, size_t *size_p, bool *missing_p, fed_err_t *err)
{
    *missing_p = false;
    FILE *file = fopen (path, "rb");
    if (!file) {
        *missing_p = errno == ENOENT;
        fed_err_set (err, 0, "%s: cannot open: %s", path, strerror (errno));
        return NULL;
    }
    char *text = (char *) fed_malloc (FED_FEDCTL_CONFIG_MAX + 1);
    size_t size = fread (text, 1, FED_FEDCTL_CONFIG_MAX + 1, file);
    bool failed = ferror (file);
    fclose (file);
    if (failed || size > FED_FEDCTL_CONFIG_MAX) {
        fed_err_set (err, 0, "%s: %s", path,
                     failed ? "cannot read the file" : "the file is over 64 KiB");
        free (text);
        return NULL;
    }
    text [size] = 0;
    *size_p = size;
    return text;
}

//  Stores one key: value pair. Returns 0 or -1 with err.
static int
s_set (fed_fedctl_config_t *self, const char *path, const yaml_event_t *key,
       const yaml_event_t *value, fed_err_t *err)
{
    const char *name = (const char *) key->data.scalar.value;
    const char *text = (const char *) value->data.scalar.value;
    size_t line = value->start_mark.line + 1, column = value->start_mark.column + 1;
    if (value->data.scalar.length == 0 || strlen (text) != value->data.scalar.length) {
        fed_err_set (err, 0, "%s:%zu:%zu: '%s' needs a value", path, line, column, name);
        return -1;
    }
    if (streq (name, "endpoint"))
        self->endpoint = fed_strdup (text);
    else if (streq (name, "key"))
        self->key = s_resolve (path, text);
    else if (streq (name, "server_key"))
        self->server_key = s_resolve (path, text);
    else if (fed_parse_duration (text, &self->timeout_ms) || self->timeout_ms <= 0) {
        self->timeout_ms = -1;
        fed_err_set (err, 0,
                     "%s:%zu:%zu: timeout '%s' is not a duration; expected e.g. 500ms, "
                     "5s, 2m",
                     path, line, column, text);
        return -1;
    }
    return 0;
}

//  Parses text. Returns 0 or -1 with err.
static int
s_parse (fed_fedctl_config_t *self, const char *path, const char *text, size_t size, fed_err_t *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser))
        abort ();
    yaml_parser_set_input_string (&parser, (const unsigned char *) text, size);
    bool seen [S_KEY_COUNT] = {false};
    yaml_event_t key = {.type = YAML_NO_EVENT};
    int depth = 0; //  0 outside the map, 1 inside it
    int rc = 0;
    while (true) {
        yaml_event_t event;
        if (!yaml_parser_parse (&parser, &event)) {
            fed_err_set (err, 0, "%s:%zu:%zu: YAML syntax error: %s", path,
                         parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                         parser.problem ? parser.problem : "?");
            rc = -1;
            break;
        }
        size_t line = event.start_mark.line + 1, column = event.start_mark.column + 1;
        yaml_event_type_t type = event.type;
        const char *wrong = NULL;
        if (type == YAML_ALIAS_EVENT)
            wrong = "aliases are not allowed here";
        else if ((type == YAML_SCALAR_EVENT
                  && (event.data.scalar.anchor
                      || (event.data.scalar.tag && !event.data.scalar.plain_implicit
                          && !event.data.scalar.quoted_implicit)))
                 || (type == YAML_MAPPING_START_EVENT
                     && (event.data.mapping_start.anchor || event.data.mapping_start.tag)))
            wrong = "anchors and tags are not allowed here";
        else if (type == YAML_SEQUENCE_START_EVENT || (type == YAML_MAPPING_START_EVENT && depth))
            wrong = "expected a plain value (a string), not a list or map";
        else if (type == YAML_SCALAR_EVENT && depth == 0)
            wrong = "expected a map of settings (endpoint, key, server_key, timeout)";
        else if (type == YAML_MAPPING_START_EVENT)
            depth = 1;
        else if (type == YAML_MAPPING_END_EVENT)
            depth = 0;
        else if (type == YAML_SCALAR_EVENT && key.type == YAML_NO_EVENT) {
            const char *name = (const char *) event.data.scalar.value;
            size_t index = S_KEY_COUNT;
            for (size_t i = 0; i < S_KEY_COUNT; i++)
                if (streq (name, s_keys [i]))
                    index = i;
            if (index == S_KEY_COUNT)
                fed_err_set (err, 0,
                             "%s:%zu:%zu: unknown key '%.64s'; the keys are endpoint, "
                             "key, server_key, timeout",
                             path, line, column, name);
            else if (seen [index])
                fed_err_set (err, 0, "%s:%zu:%zu: '%s' is given twice", path, line, column, name);
            else {
                seen [index] = true;
                key = event; //  kept until its value arrives
                continue;
            }
            rc = -1;
        } else if (type == YAML_SCALAR_EVENT) {
            rc = s_set (self, path, &key, &event, err);
            yaml_event_delete (&key);
            key.type = YAML_NO_EVENT;
        }
        if (wrong) {
            fed_err_set (err, 0, "%s:%zu:%zu: %s", path, line, column, wrong);
            rc = -1;
        }
        bool done = type == YAML_STREAM_END_EVENT;
        yaml_event_delete (&event);
        if (rc || done)
            break;
    }
    if (key.type != YAML_NO_EVENT)
        yaml_event_delete (&key);
    yaml_parser_delete (&parser);
    return rc;
}

int
fed_fedctl_config_load (fed_fedctl_config_t *self, const char *path, bool required, fed_err_t *err)
{
    fed_fedctl_config_clear (self);
    size_t size = 0;
    bool missing;
    char *text = s_read (path, &size, &missing, err);
    if (!text)
        return missing && !required ? 0 : -1;
    int rc = s_parse (self, path, text, size, err);
    free (text);
    if (rc)
        fed_fedctl_config_clear (self);
    return rc;
}
