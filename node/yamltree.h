/*  node/yamltree.h: a YAML document as a small tree, for the modules that
    read YAML written by people (node/config.c, node/workflow.c).

    libyaml's events become a tree of scalars, mappings and lists, each node
    carrying where it starts (and ends) in the text, so that a reader can
    walk the tree against its schema and report every problem as
    NAME:LINE:COLUMN. The builder refuses, on the way in, what a file
    written by a person never needs and a hostile one uses: anchors and
    aliases (billion laughs), tags, nesting past a cap (libyaml 0.2.5 has no
    nesting limit), a second document, and NUL characters in text.

    The tree is plain data: readers walk its fields directly and never
    change them. Scalars keep their text as written (no type resolution):
    the reader decides what "3" or "true" means where it appears.
*/
#ifndef FED_YAMLTREE_H_INCLUDED
#define FED_YAMLTREE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FED_YAML_SCALAR, FED_YAML_MAP, FED_YAML_SEQ } fed_yaml_shape_t;

typedef struct fed_ynode_t {
    fed_yaml_shape_t shape;
    size_t line, column;         //  1-based start; 0 for a node made in code (a flag)
    size_t end_line, end_column; //  1-based, just past the node's last character
    char *text;                  //  scalar text (no NUL inside), else NULL
    bool plain;                  //  scalar written without quotes
    char quote;                  //  scalar style: 0 plain, '\'' or '"' quoted, '|' or '>' block
    struct fed_ynode_t **child;  //  map: key, value, key, value ...; list: items
    size_t count;                //  entries used in child
    size_t alloc;                //  entries allocated in child
} fed_ynode_t;

//  What the builder refuses, and how it names the input in messages.
typedef struct {
    const char *name; //  file name in messages, like "flow.yaml"
    const char *what; //  what the input is, for refusals: "a config file", "a workflow"
    size_t max_depth; //  collections open at once, 1..64
} fed_yaml_options_t;

//  Parses size bytes of YAML (no NUL needed) into *root_p: NULL for an
//  empty document or one holding only comments. Returns 0, or -1 with
//  err->text "NAME:LINE:COLUMN: …" (a syntax error with libyaml's words, or
//  the refusal of an anchor, alias, tag, second document, NUL, or nesting
//  deeper than max_depth). The caller owns *root_p and destroys it with
//  fed_ynode_destroy. The text is not kept.
int fed_yaml_parse (const char *text, size_t size, const fed_yaml_options_t *options,
                    fed_ynode_t **root_p, fed_err_t *err) FED_MUST_USE;

//  Frees a node and everything under it. Accepts NULL or *self_p == NULL;
//  sets *self_p to NULL.
void fed_ynode_destroy (fed_ynode_t **self_p);

//  True for a null scalar as YAML writes one: ~, null, Null, NULL, or
//  nothing, unquoted.
bool fed_ynode_is_null (const fed_ynode_t *node);

//  "a single value", "a mapping" or "a list", for "expected …, got …".
const char *fed_ynode_shape_name (const fed_ynode_t *node);


#ifdef __cplusplus
}
#endif
#endif
