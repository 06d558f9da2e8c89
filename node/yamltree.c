/*  node/yamltree.c: a YAML document as a small tree (see yamltree.h).

    The builder keeps the collections still open in a stack no deeper than
    the cap, so a hostile file cannot make it recurse or allocate past the
    text's own size; every refusal stops the parse at the first offending
    event, before anything is expanded.
*/
#include "yamltree.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define S_DEPTH_CAP 64

//  Building the tree: the collections still open, outermost first.
typedef struct {
    const fed_yaml_options_t *options;
    fed_err_t *err;
    fed_ynode_t *root;
    fed_ynode_t *open [S_DEPTH_CAP];
    size_t depth;
    int documents;
} s_builder_t;

static int s_fail (s_builder_t *self, size_t line, size_t column, const char *format, ...)
    FED_PRINTF (4, 5);

//  Formats "NAME:LINE:COLUMN: message" into the caller's error. Returns -1.
static int
s_fail (s_builder_t *self, size_t line, size_t column, const char *format, ...)
{
    char text [460];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    fed_err_set (self->err, 0, "%s:%zu:%zu: %s", self->options->name, line, column, text);
    return -1;
}

void
fed_ynode_destroy (fed_ynode_t **self_p)
{
    fed_ynode_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        fed_ynode_destroy (&self->child [i]);
    free (self->child);
    free (self->text);
    free (self);
    *self_p = NULL;
}

const char *
fed_ynode_shape_name (const fed_ynode_t *node)
{
    static const char *names [] = {"a single value", "a mapping", "a list"};
    return names [node->shape];
}

bool
fed_ynode_is_null (const fed_ynode_t *node)
{
    if (node->shape != FED_YAML_SCALAR || !node->plain)
        return false;
    const char *t = node->text;
    return !*t || !strcmp (t, "~") || !strcmp (t, "null") || !strcmp (t, "Null")
        || !strcmp (t, "NULL");
}

static char
s_style (yaml_scalar_style_t style)
{
    switch (style) {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return '\'';
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return '"';
        case YAML_LITERAL_SCALAR_STYLE: return '|';
        case YAML_FOLDED_SCALAR_STYLE: return '>';
        default: return 0;
    }
}

//  Adds one event to the tree. Returns 0 or -1 (err set).
static int
s_builder_event (s_builder_t *self, const yaml_event_t *event)
{
    size_t line = event->start_mark.line + 1, column = event->start_mark.column + 1;
    const char *what = self->options->what;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    fed_yaml_shape_t shape;
    switch (event->type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++self->documents > 1)
                return s_fail (self, line, column, "a second YAML document; %s holds one", what);
            return 0;
        case YAML_ALIAS_EVENT:
            return s_fail (self, line, column,
                           "alias '*%s' refused: anchors, aliases and tags are not allowed in %s",
                           event->data.alias.anchor, what);
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            assert (self->depth > 0);
            //  The collection ends where its closing event does.
            self->open [self->depth - 1]->end_line = event->end_mark.line + 1;
            self->open [self->depth - 1]->end_column = event->end_mark.column + 1;
            self->depth--;
            return 0;
        case YAML_SCALAR_EVENT:
            anchor = event->data.scalar.anchor;
            tag = event->data.scalar.tag;
            shape = FED_YAML_SCALAR;
            break;
        case YAML_MAPPING_START_EVENT:
            anchor = event->data.mapping_start.anchor;
            tag = event->data.mapping_start.tag;
            shape = FED_YAML_MAP;
            break;
        case YAML_SEQUENCE_START_EVENT:
            anchor = event->data.sequence_start.anchor;
            tag = event->data.sequence_start.tag;
            shape = FED_YAML_SEQ;
            break;
        default: return 0;
    }
    if (anchor)
        return s_fail (self, line, column,
                       "anchor '&%s' refused: anchors, aliases and tags are not allowed in %s",
                       anchor, what);
    if (tag)
        return s_fail (self, line, column,
                       "tag '%s' refused: anchors, aliases and tags are not allowed in %s", tag,
                       what);
    if (shape != FED_YAML_SCALAR && self->depth == self->options->max_depth)
        return s_fail (self, line, column,
                       "nesting deeper than %zu levels: refused in %s (a fixed limit)",
                       self->options->max_depth, what);
    if (shape == FED_YAML_SCALAR && memchr (event->data.scalar.value, 0, event->data.scalar.length))
        return s_fail (self, line, column, "text holds a NUL character");

    fed_ynode_t *node = (fed_ynode_t *) fed_calloc (1, sizeof *node);
    node->shape = shape;
    node->line = line;
    node->column = column;
    node->end_line = event->end_mark.line + 1;
    node->end_column = event->end_mark.column + 1;
    if (shape == FED_YAML_SCALAR) {
        node->text =
            fed_strndup ((const char *) event->data.scalar.value, event->data.scalar.length);
        node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        node->quote = s_style (event->data.scalar.style);
    }
    if (self->depth == 0)
        self->root = node;
    else {
        fed_ynode_t *parent = self->open [self->depth - 1];
        if (parent->count == parent->alloc) {
            parent->alloc = parent->alloc ? parent->alloc * 2 : 8;
            parent->child =
                (fed_ynode_t **) fed_realloc (parent->child, parent->alloc * sizeof *parent->child);
        }
        parent->child [parent->count++] = node;
    }
    if (shape != FED_YAML_SCALAR)
        self->open [self->depth++] = node;
    return 0;
}

static int
s_syntax_error (s_builder_t *self, const yaml_parser_t *parser, const char *text)
{
    size_t line = parser->problem_mark.line + 1, column = parser->problem_mark.column + 1;
    if (parser->error == YAML_READER_ERROR) {
        //  The reader reports a byte offset only.
        line = 1;
        size_t line_start = 0;
        for (size_t i = 0; i < parser->problem_offset; i++)
            if (text [i] == '\n') {
                line++;
                line_start = i + 1;
            }
        column = parser->problem_offset - line_start + 1;
    }
    const char *problem = parser->problem ? parser->problem : "out of memory";
    if (parser->context)
        return s_fail (self, line, column, "YAML syntax error: %s (%s at line %zu, column %zu)",
                       problem, parser->context, parser->context_mark.line + 1,
                       parser->context_mark.column + 1);
    return s_fail (self, line, column, "YAML syntax error: %s", problem);
}

int
fed_yaml_parse (const char *text, size_t size, const fed_yaml_options_t *options,
                fed_ynode_t **root_p, fed_err_t *err)
{
    assert (options->max_depth >= 1 && options->max_depth <= S_DEPTH_CAP);
    *root_p = NULL;
    s_builder_t builder = {.options = options, .err = err};
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser))
        return s_fail (&builder, 1, 1, "cannot start the YAML parser (out of memory)");
    yaml_parser_set_input_string (&parser, (const unsigned char *) text, size);
    int rc = 0;
    bool done = false;
    while (rc == 0 && !done) {
        yaml_event_t event;
        if (!yaml_parser_parse (&parser, &event)) {
            rc = s_syntax_error (&builder, &parser, text);
            break;
        }
        rc = s_builder_event (&builder, &event);
        done = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete (&event);
    }
    yaml_parser_delete (&parser);
    if (rc)
        fed_ynode_destroy (&builder.root);
    *root_p = builder.root;
    return rc;
}

