/*  node/workflow.c: the workflow model's API, its errors and memory, keys,
    and the top level and params of a workflow file (see workflow.h; values
    and references are read by workflow_value.c, the steps by
    workflow_step.c, and the graph checked by workflow_check.c).

    A parse never stops at the first problem: each reader reports what is
    wrong with its node and carries on with the next, so one pass lists
    every error. Only what makes the rest meaningless stops early: YAML
    that does not parse, a file over limits.yaml_file, more steps than
    limits.workflow_steps.
*/
#include "workflow_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ARENA_BLOCK 65536
#define S_SEARCHES 64 //  did-you-mean searches over step ids per parse (each is O(steps))

//  --------------------------------------------------------------------------
//  Errors

typedef struct {
    size_t line, column; //  0, 0 for the file as a whole
    size_t order;        //  the order found, to keep sorting stable
    char *text;          //  "FILE:LINE:COLUMN: message"
} s_error_t;

struct fed_wf_errors_t {
    s_error_t *items;
    size_t count, alloc;
    size_t dropped; //  errors past FED_WORKFLOW_ERRORS_MAX, counted only
    char *more;     //  the line that counts them, once sorted
};

fed_wf_errors_t *
fed_wf_errors_new (void)
{
    return (fed_wf_errors_t *) fed_calloc (1, sizeof (fed_wf_errors_t));
}

static void
s_errors_clear (fed_wf_errors_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->items [i].text);
    self->count = 0;
    self->dropped = 0;
    fed_free (&self->more);
}

void
fed_wf_errors_destroy (fed_wf_errors_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_errors_clear (*self_p);
    free ((*self_p)->items);
    free (*self_p);
    *self_p = NULL;
}

size_t
fed_wf_errors_count (const fed_wf_errors_t *self)
{
    return self->count + (self->more ? 1 : 0);
}

const char *
fed_wf_errors_text (const fed_wf_errors_t *self, size_t index)
{
    assert (index < fed_wf_errors_count (self));
    return index < self->count ? self->items [index].text : self->more;
}

size_t
fed_wf_errors_line (const fed_wf_errors_t *self, size_t index)
{
    assert (index < fed_wf_errors_count (self));
    return index < self->count ? self->items [index].line : 0;
}

size_t
fed_wf_errors_column (const fed_wf_errors_t *self, size_t index)
{
    assert (index < fed_wf_errors_count (self));
    return index < self->count ? self->items [index].column : 0;
}

static int
s_error_order (const void *a, const void *b)
{
    const s_error_t *x = (const s_error_t *) a, *y = (const s_error_t *) b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void
s_errors_add (fed_wf_errors_t *self, const char *name, size_t line, size_t column,
              const char *message)
{
    if (self->count == FED_WORKFLOW_ERRORS_MAX) {
        self->dropped++;
        return;
    }
    if (self->count == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 16;
        self->items = (s_error_t *) fed_realloc (self->items, self->alloc * sizeof (s_error_t));
    }
    s_error_t *error = &self->items [self->count];
    error->line = line;
    error->column = column;
    error->order = self->count++;
    error->text = line ? fed_sprintf ("%s:%zu:%zu: %s", name, line, column, message)
                       : fed_sprintf ("%s: %s", name, message);
}

//  Sorts the errors by position and writes the "more" line.
static void
s_errors_finish (fed_wf_errors_t *self, const char *name)
{
    if (self->count)
        qsort (self->items, self->count, sizeof (s_error_t), s_error_order);
    if (self->dropped)
        self->more = fed_sprintf ("%s: %zu more errors not shown (fix the ones above first)", name,
                                  self->dropped);
}

static void
s_vfail (fed_wf_parse_t *p, size_t line, size_t column, const char *format, va_list args)
{
    char message [600];
    vsnprintf (message, sizeof message, format, args);
    s_errors_add (p->errors, p->name, line, column, message);
}

void
fed_wf_fail (fed_wf_parse_t *p, const fed_ynode_t *at, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_vfail (p, at ? at->line : 0, at ? at->column : 0, format, args);
    va_end (args);
}

void
fed_wf_fail_at (fed_wf_parse_t *p, size_t line, size_t column, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_vfail (p, line, column, format, args);
    va_end (args);
}

//  --------------------------------------------------------------------------
//  Arena

typedef struct s_block_t {
    struct s_block_t *next;
    size_t used, size;
    _Alignas(16) unsigned char data [];
} s_block_t;

struct fed_wf_arena_t {
    s_block_t *head;
};

void *
fed_wf_alloc (fed_wf_arena_t *arena, size_t size)
{
    size = (size + 15) & ~(size_t) 15;
    s_block_t *block = arena->head;
    if (!block || block->size - block->used < size) {
        size_t room = size > S_ARENA_BLOCK / 4 ? size : S_ARENA_BLOCK;
        block = (s_block_t *) fed_malloc (sizeof (s_block_t) + room);
        block->used = 0;
        block->size = room;
        //  A big allocation gets its own block behind the current one, so
        //  the current one's room is not lost.
        if (arena->head && room != S_ARENA_BLOCK) {
            block->next = arena->head->next;
            arena->head->next = block;
        } else {
            block->next = arena->head;
            arena->head = block;
        }
    }
    void *ptr = block->data + block->used;
    block->used += size;
    memset (ptr, 0, size);
    return ptr;
}

const char *
fed_wf_strdup (fed_wf_arena_t *arena, const char *text)
{
    size_t size = strlen (text) + 1;
    char *copy = (char *) fed_wf_alloc (arena, size);
    memcpy (copy, text, size);
    return copy;
}

const char *
fed_wf_strdup_trimmed (fed_wf_arena_t *arena, const char *text)
{
    size_t size = strlen (text);
    while (size && strchr (" \t\r\n", text [size - 1]))
        size--;
    char *copy = (char *) fed_wf_alloc (arena, size + 1);
    memcpy (copy, text, size);
    return copy;
}

static void
s_arena_destroy (fed_wf_arena_t **arena_p)
{
    fed_wf_arena_t *arena = *arena_p;
    if (!arena)
        return;
    while (arena->head) {
        s_block_t *next = arena->head->next;
        free (arena->head);
        arena->head = next;
    }
    free (arena);
    *arena_p = NULL;
}

//  --------------------------------------------------------------------------
//  Keys and scalars

static int
s_key_order (const void *a, const void *b)
{
    const fed_ynode_t *x = *(const fed_ynode_t *const *) a, *y = *(const fed_ynode_t *const *) b;
    int order = strcmp (x->text, y->text);
    if (order)
        return order;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->column < y->column ? -1 : x->column > y->column;
}

size_t
fed_wf_check_keys (fed_wf_parse_t *p, const fed_ynode_t *map, const char *named)
{
    size_t pairs = map->count / 2, problems = 0, texts = 0;
    const fed_ynode_t **keys = (const fed_ynode_t **) fed_calloc (pairs + 1, sizeof *keys);
    for (size_t i = 0; i < pairs; i++) {
        const fed_ynode_t *key = map->child [2 * i];
        if (key->shape == FED_YAML_SCALAR)
            keys [texts++] = key;
        else {
            fed_wf_fail (p, key, "%s: expected a text key, got %s", named,
                         fed_ynode_shape_name (key));
            problems++;
        }
    }
    qsort (keys, texts, sizeof *keys, s_key_order);
    for (size_t i = 1, first = 0; i < texts; i++) {
        if (strcmp (keys [i]->text, keys [first]->text)) {
            first = i;
            continue;
        }
        fed_wf_fail (p, keys [i],
                     "%s: key '%.64s' is given twice (first at line %zu, column %zu); keep one",
                     named, keys [i]->text, keys [first]->line, keys [first]->column);
        problems++;
    }
    free (keys);
    return problems;
}

void
fed_wf_child_name (char *out, size_t size, const char *named, const char *key)
{
    size_t length = strlen (named);
    bool is_key = length && named [length - 1] == '\''
        && (strstr (named, ": key '") || !strncmp (named, "key '", 5));
    if (is_key)
        snprintf (out, size, "%.*s.%.64s'", (int) (length - 1 > 300 ? 300 : length - 1), named,
                  key);
    else
        snprintf (out, size, "%.300s: key '%.64s'", named, key);
}

void
fed_wf_unknown_key (fed_wf_parse_t *p, const fed_ynode_t *key, const char *named,
                    const char *const *valid, size_t count)
{
    char child [400];
    fed_wf_child_name (child, sizeof child, named, key->text);
    const char *near = fed_nearest_word (key->text, valid, count);
    if (near) {
        fed_wf_fail (p, key, "%s is unknown; did you mean '%s'?", child, near);
        return;
    }
    char list [300] = "";
    for (size_t i = 0; i < count; i++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", i ? ", " : "",
                  valid [i]);
    fed_wf_fail (p, key, "%s is unknown; valid keys are: %s", child, list);
}

//  --------------------------------------------------------------------------
//  The top level and params

static const char *const s_param_keys [] = {"type", "default", "required", "description"};
#define S_PARAM_KEYS (sizeof s_param_keys / sizeof s_param_keys [0])

static bool
s_param_name_valid (const char *name)
{
    size_t length = strlen (name);
    if (!length || length > FED_WORKFLOW_ID_MAX || (name [0] >= '0' && name [0] <= '9'))
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_'))
            return false;
    }
    return true;
}

static void
s_parse_param (fed_wf_parse_t *p, const fed_ynode_t *key, const fed_ynode_t *value,
               fed_wf_param_t *param)
{
    fed_wf_arena_t *arena = p->wf->arena;
    char named [100];
    snprintf (named, sizeof named, "param '%.64s'", key->text);
    param->name = fed_wf_strdup (arena, key->text);
    param->description = "";
    if (!s_param_name_valid (key->text))
        fed_wf_fail (p, key,
                     "param '%.64s': a param name is 1 to %d letters, digits and _, not starting "
                     "with a digit (it is used as ${params.NAME})",
                     key->text, FED_WORKFLOW_ID_MAX);
    if (value->shape != FED_YAML_MAP) {
        fed_wf_fail (p, value,
                     "%s: expected a mapping like {type: int, default: 3, required: false, "
                     "description: text}, got %s",
                     named, fed_ynode_shape_name (value));
        return;
    }
    fed_wf_check_keys (p, value, named);
    const fed_ynode_t *type = NULL, *fallback = NULL;
    for (size_t i = 0; i + 1 < value->count; i += 2) {
        const fed_ynode_t *k = value->child [i], *v = value->child [i + 1];
        if (k->shape != FED_YAML_SCALAR)
            continue;
        char where [400];
        fed_wf_child_name (where, sizeof where, named, k->text);
        if (!strcmp (k->text, "type"))
            type = v;
        else if (!strcmp (k->text, "default"))
            fallback = fed_ynode_is_null (v) ? NULL : v;
        else if (!strcmp (k->text, "required"))
            (void) fed_wf_bool (p, v, where, &param->required);
        else if (!strcmp (k->text, "description")) {
            const char *text;
            if (!fed_wf_text (p, v, where, FED_WORKFLOW_DESCRIPTION_MAX, true, &text))
                param->description = fed_wf_strdup_trimmed (arena, text);
        } else
            fed_wf_unknown_key (p, k, named, s_param_keys, S_PARAM_KEYS);
    }
    bool type_ok = true;
    if (type) {
        param->type = (fed_wf_type_t) 0;
        for (int t = FED_WF_STRING; t <= FED_WF_MAP; t++)
            if (type->shape == FED_YAML_SCALAR && !strcmp (type->text, fed_wf_type_name (t)))
                param->type = (fed_wf_type_t) t;
        if (!param->type) {
            fed_wf_fail (p, type,
                         "%s: key 'type': expected string, int, float, bool, list or map, got "
                         "'%.64s'",
                         named, type->shape == FED_YAML_SCALAR ? type->text : "(not text)");
            type_ok = false;
        }
    } else
        param->type = fallback ? fed_wf_type_of (fallback) : FED_WF_STRING;
    if (fallback && param->required)
        fed_wf_fail (p, fallback,
                     "%s: is required and has a default; a required param takes none (drop "
                     "'required: true' or the default)",
                     named);
    const char *why = NULL;
    if (fallback && type_ok && !fed_wf_default_fits (fallback, param->type, &why)) {
        fed_wf_fail (p, fallback, "%s: the default is not %s %s; %s, or change its type", named,
                     param->type == FED_WF_INT ? "an" : "a", fed_wf_type_name (param->type), why);
        return;
    }
    if (fallback && type_ok) {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
        fed_wf_pack_default (p, &pk, fallback, param->type, named);
        uint8_t *copy = (uint8_t *) fed_wf_alloc (arena, buffer.size);
        memcpy (copy, buffer.data, buffer.size);
        param->fallback = copy;
        param->fallback_size = buffer.size;
        msgpack_sbuffer_destroy (&buffer);
    }
}

static void
s_parse_params (fed_wf_parse_t *p, const fed_ynode_t *value)
{
    if (fed_ynode_is_null (value))
        return;
    if (value->shape != FED_YAML_MAP) {
        fed_wf_fail (p, value,
                     "key 'params': expected a mapping of param names to {type, default, "
                     "required, description}, got %s",
                     fed_ynode_shape_name (value));
        return;
    }
    fed_wf_check_keys (p, value, "key 'params'");
    fed_workflow_t *wf = p->wf;
    wf->params = (fed_wf_param_t *) fed_wf_alloc (wf->arena,
                                                  (value->count / 2 + 1) * sizeof (fed_wf_param_t));
    for (size_t i = 0; i + 1 < value->count; i += 2)
        if (value->child [i]->shape == FED_YAML_SCALAR)
            s_parse_param (p, value->child [i], value->child [i + 1],
                           &wf->params [wf->param_count++]);
}

static void
s_parse_steps (fed_wf_parse_t *p, const fed_ynode_t *key, const fed_ynode_t *value)
{
    fed_workflow_t *wf = p->wf;
    if (value->shape != FED_YAML_SEQ || value->count == 0) {
        if (value->shape == FED_YAML_SEQ || fed_ynode_is_null (value))
            fed_wf_fail (p, value->shape == FED_YAML_SEQ ? value : key,
                         "key 'steps': the workflow has no steps; add at least one, like "
                         "- {id: hello, agent: sys.echo}");
        else
            fed_wf_fail (p, value, "key 'steps': expected a list of steps, got %s",
                         fed_ynode_shape_name (value));
        return;
    }
    if (value->count > p->limits.workflow_steps) {
        fed_wf_fail (p, value,
                     "key 'steps': %zu steps, over the limit of %llu (limits.workflow_steps); "
                     "split the workflow or raise the limit",
                     value->count, (unsigned long long) p->limits.workflow_steps);
        return;
    }
    wf->step_count = value->count;
    wf->steps = (fed_wf_step_t *) fed_wf_alloc (wf->arena, value->count * sizeof (fed_wf_step_t));
    p->sources = (fed_wf_source_t *) fed_calloc (value->count, sizeof (fed_wf_source_t));
    for (size_t i = 0; i < value->count; i++)
        fed_wf_parse_step (p, value->child [i], i);
    fed_wf_check_graph (p);
}

static const char *const s_top_keys [] = {"name", "version", "description", "params", "steps"};
#define S_TOP_KEYS (sizeof s_top_keys / sizeof s_top_keys [0])

static void
s_parse_top (fed_wf_parse_t *p, const fed_ynode_t *root)
{
    fed_workflow_t *wf = p->wf;
    if (!root || fed_ynode_is_null (root)) {
        fed_wf_fail_at (p, 1, 1,
                        "the workflow is empty; it needs name, version and steps (see "
                        "config/example_workflow.yaml)");
        return;
    }
    if (root->shape != FED_YAML_MAP) {
        fed_wf_fail (p, root, "expected a mapping with name, version, params and steps, got %s",
                     fed_ynode_shape_name (root));
        return;
    }
    fed_wf_check_keys (p, root, "the workflow");
    const fed_ynode_t *seen [S_TOP_KEYS] = {NULL};
    for (size_t i = 0; i + 1 < root->count; i += 2) {
        const fed_ynode_t *key = root->child [i], *value = root->child [i + 1];
        if (key->shape != FED_YAML_SCALAR)
            continue;
        size_t which = 0;
        while (which < S_TOP_KEYS && strcmp (key->text, s_top_keys [which]))
            which++;
        if (which == S_TOP_KEYS) {
            fed_wf_unknown_key (p, key, "the workflow", s_top_keys, S_TOP_KEYS);
            continue;
        }
        if (seen [which])
            continue; //  reported as given twice
        seen [which] = key;
        const char *text;
        switch (which) {
            case 0:
                if (fed_wf_text (p, value, "key 'name'", FED_WORKFLOW_NAME_MAX, false, &text))
                    break;
                if (!fed_workflow_name_valid (text, strlen (text)))
                    fed_wf_fail (p, value,
                                 "key 'name': '%.64s' is not a workflow name: 1 to %d of "
                                 "lowercase letters, digits, '.', '_' and '-', starting with a "
                                 "letter or digit (like etl.daily)",
                                 text, FED_WORKFLOW_NAME_MAX);
                else
                    wf->name = fed_wf_strdup (wf->arena, text);
                break;
            case 1:
                if (fed_wf_text (p, value, "key 'version'", FED_WORKFLOW_VERSION_MAX, false, &text))
                    break;
                if (!fed_workflow_version_valid (text, strlen (text)))
                    fed_wf_fail (p, value,
                                 "key 'version': '%.64s' is not a version: 1 to %d of letters, "
                                 "digits, '.', '_', '+' and '-', starting with a letter or digit "
                                 "(like 1.2.0)",
                                 text, FED_WORKFLOW_VERSION_MAX);
                else
                    wf->version = fed_wf_strdup (wf->arena, text);
                break;
            case 2:
                if (!fed_wf_text (p, value, "key 'description'", FED_WORKFLOW_DESCRIPTION_MAX, true,
                                  &text))
                    wf->description = fed_wf_strdup_trimmed (wf->arena, text);
                break;
            case 3: s_parse_params (p, value); break;
            default: s_parse_steps (p, key, value); break;
        }
    }
    static const char *const hints [] = {"like name: etl", "like version: \"1.0\"", NULL, NULL,
                                         "a list of steps"};
    for (size_t i = 0; i < S_TOP_KEYS; i++)
        if (hints [i] && !seen [i])
            fed_wf_fail (p, root, "key '%s' is missing; a workflow needs it (%s)", s_top_keys [i],
                         hints [i]);
}

//  --------------------------------------------------------------------------
//  Public API

void
fed_workflow_limits_from_config (fed_workflow_limits_t *limits, const fed_config_t *config)
{
    limits->yaml_file = config->limits.yaml_file;
    limits->workflow_steps = config->limits.workflow_steps;
}

static void
s_format_size (char *text, size_t size, uint64_t value)
{
    if (value % 1048576 == 0)
        snprintf (text, size, "%lluMiB", (unsigned long long) (value / 1048576));
    else if (value % 1024 == 0)
        snprintf (text, size, "%lluKiB", (unsigned long long) (value / 1024));
    else
        snprintf (text, size, "%llu bytes", (unsigned long long) value);
}

fed_workflow_t *
fed_workflow_parse (const char *text, size_t size, const char *name,
                    const fed_workflow_limits_t *limits, fed_wf_errors_t *errors)
{
    fed_wf_errors_t *own = errors ? NULL : fed_wf_errors_new ();
    fed_wf_parse_t parse = {
        .name = name ? name : "workflow", .errors = errors ? errors : own, .searches = S_SEARCHES};
    fed_wf_parse_t *p = &parse;
    s_errors_clear (p->errors);
    p->limits.yaml_file = limits ? limits->yaml_file : 1048576;
    p->limits.workflow_steps = limits ? limits->workflow_steps : 10000;

    fed_workflow_t *wf = (fed_workflow_t *) fed_calloc (1, sizeof *wf);
    wf->arena = (fed_wf_arena_t *) fed_calloc (1, sizeof (fed_wf_arena_t));
    wf->name = wf->version = wf->description = "";
    p->wf = wf;
    fed_ynode_t *root = NULL;
    if (size > p->limits.yaml_file) {
        char limit [32];
        s_format_size (limit, sizeof limit, p->limits.yaml_file);
        fed_wf_fail (p, NULL,
                     "the workflow is %zu bytes, over the %s limit (limits.yaml_file); make it "
                     "smaller or raise the limit",
                     size, limit);
    } else {
        fed_err_t err = {0, ""};
        fed_yaml_options_t options = {p->name, "a workflow", FED_WORKFLOW_DEPTH_MAX};
        if (fed_yaml_parse (text, size, &options, &root, &err)) {
            //  The message is already "NAME:LINE:COLUMN: ...": keep its position.
            size_t line = 0, column = 0;
            const char *rest = err.text + strlen (p->name);
            if (sscanf (rest, ":%zu:%zu: ", &line, &column) == 2)
                rest = strstr (rest, ": ") + 2;
            else
                rest = err.text;
            fed_wf_fail_at (p, line, column, "%s", rest);
        } else
            s_parse_top (p, root);
    }
    fed_ynode_destroy (&root);
    for (size_t i = 0; p->sources && i < wf->step_count; i++)
        free (p->sources [i].needs);
    free (p->sources);
    free (p->refs);
    bool valid = p->errors->count == 0 && p->errors->dropped == 0;
    s_errors_finish (p->errors, p->name);
    fed_wf_errors_destroy (&own);
    if (!valid) {
        fed_workflow_destroy (&wf);
        return NULL;
    }
    wf->source = (char *) fed_wf_alloc (wf->arena, size + 1);
    memcpy (wf->source, text, size);
    wf->source_size = size;
    fed_workflow_hash_text (text, size, wf->hash);
    return wf;
}

fed_workflow_t *
fed_workflow_load (const char *path, const fed_workflow_limits_t *limits, fed_wf_errors_t *errors)
{
    uint64_t limit = limits ? limits->yaml_file : 1048576;
    FILE *file = fopen (path, "rb");
    const char *problem = NULL;
    char *text = NULL;
    size_t size = 0;
    if (!file)
        problem = strerror (errno);
    else {
        //  One byte past the limit, so that an oversized file is seen as
        //  such without reading all of it.
        text = (char *) fed_malloc ((size_t) limit + 1);
        size = fread (text, 1, (size_t) limit + 1, file);
        if (ferror (file))
            problem = strerror (errno);
        fclose (file);
    }
    fed_workflow_t *wf = NULL;
    if (problem || size > limit) {
        fed_wf_errors_t *own = errors ? NULL : fed_wf_errors_new ();
        fed_wf_errors_t *target = errors ? errors : own;
        s_errors_clear (target);
        char message [300], text_limit [32];
        s_format_size (text_limit, sizeof text_limit, limit);
        if (problem)
            snprintf (message, sizeof message, "cannot read the workflow: %s", problem);
        else
            snprintf (message, sizeof message,
                      "the workflow is over the %s limit (limits.yaml_file); make it smaller "
                      "or raise the limit",
                      text_limit);
        s_errors_add (target, path, 0, 0, message);
        fed_wf_errors_destroy (&own);
    } else
        wf = fed_workflow_parse (text, size, path, limits, errors);
    free (text);
    return wf;
}

void
fed_workflow_destroy (fed_workflow_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_workflow_t *self = *self_p;
    free (self->table);
    free (self->order);
    s_arena_destroy (&self->arena);
    free (self);
    *self_p = NULL;
}

const char *
fed_workflow_name (const fed_workflow_t *self)
{
    return self->name;
}

const char *
fed_workflow_version (const fed_workflow_t *self)
{
    return self->version;
}

const char *
fed_workflow_description (const fed_workflow_t *self)
{
    return self->description;
}

size_t
fed_workflow_param_count (const fed_workflow_t *self)
{
    return self->param_count;
}

const fed_wf_param_t *
fed_workflow_param (const fed_workflow_t *self, size_t index)
{
    assert (index < self->param_count);
    return &self->params [index];
}

const fed_wf_param_t *
fed_workflow_param_find (const fed_workflow_t *self, const char *name)
{
    for (size_t i = 0; i < self->param_count; i++)
        if (!strcmp (self->params [i].name, name))
            return &self->params [i];
    return NULL;
}

size_t
fed_workflow_step_count (const fed_workflow_t *self)
{
    return self->step_count;
}

const fed_wf_step_t *
fed_workflow_step (const fed_workflow_t *self, size_t index)
{
    assert (index < self->step_count);
    return &self->steps [index];
}

size_t
fed_workflow_step_find (const fed_workflow_t *self, const char *id)
{
    if (!self->table_size)
        return SIZE_MAX;
    size_t mask = self->table_size - 1;
    for (size_t slot = (size_t) fed_wf_hash_id (id) & mask; self->table [slot];
         slot = (slot + 1) & mask)
        if (!strcmp (self->steps [self->table [slot] - 1].id, id))
            return self->table [slot] - 1;
    return SIZE_MAX;
}

const size_t *
fed_workflow_order (const fed_workflow_t *self)
{
    return self->order;
}

const uint8_t *
fed_workflow_hash (const fed_workflow_t *self)
{
    return self->hash;
}

const char *
fed_workflow_source (const fed_workflow_t *self, size_t *size)
{
    if (size)
        *size = self->source_size;
    return self->source;
}
