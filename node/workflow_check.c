/*  node/workflow_check.c: a workflow's graph (see workflow.h).

    Once every step is read: an open-addressing table maps ids to steps
    (duplicates reported), needs resolve through it (unknown ids reported,
    with the nearest id), Kahn's algorithm gives the order in one pass over
    steps and needs, and when it cannot place every step, a depth-first walk
    over the steps left finds each cycle and reports it with its path.

    References to step outputs must point upstream. A reference to a direct
    need is checked in O(1); for the rest, the set of referred-to steps that
    lie upstream of each step is propagated along the order as bitsets, 64
    referred-to steps per word and at most 4096 per pass, so the check costs
    one pass over steps and needs per 4096 distinct steps referred to (in
    practice one), never a search per reference.
*/
#include "workflow_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CYCLES_MAX 100     //  cycles reported; each has its own error
#define S_BITS_PER_PASS 4096 //  referred-to steps whose reach one pass computes
//  Bitsets one pass may hold, in 64-bit words: 32 MiB. A workflow with
//  more than 65,536 steps gets narrower passes.
#define S_PASS_WORDS (4u << 20)

uint64_t
fed_wf_hash_id (const char *text)
{
    uint64_t hash = 14695981039346656037ULL;
    for (const unsigned char *c = (const unsigned char *) text; *c; c++)
        hash = (hash ^ *c) * 1099511628211ULL;
    return hash;
}

//  The step ids, for did-you-mean; NULL when the search budget is spent
//  (each search is O(steps)).
static const char *
s_nearest_id (fed_wf_parse_t *p, const char *word)
{
    fed_workflow_t *wf = p->wf;
    if (!p->searches)
        return NULL;
    p->searches--;
    const char **ids = (const char **) fed_malloc ((wf->step_count + 1) * sizeof (char *));
    size_t count = 0;
    for (size_t i = 0; i < wf->step_count; i++)
        if (*wf->steps [i].id)
            ids [count++] = wf->steps [i].id;
    const char *near = fed_nearest_word (word, ids, count);
    free (ids);
    return near;
}

static void
s_build_table (fed_wf_parse_t *p)
{
    fed_workflow_t *wf = p->wf;
    size_t size = 16;
    while (size < 2 * wf->step_count)
        size *= 2;
    wf->table_size = size;
    wf->table = (size_t *) fed_calloc (size, sizeof (size_t));
    for (size_t i = 0; i < wf->step_count; i++) {
        const char *id = wf->steps [i].id;
        if (!*id)
            continue;
        size_t slot = (size_t) fed_wf_hash_id (id) & (size - 1);
        while (wf->table [slot] && strcmp (wf->steps [wf->table [slot] - 1].id, id))
            slot = (slot + 1) & (size - 1);
        if (wf->table [slot]) {
            const fed_ynode_t *first = p->sources [wf->table [slot] - 1].id;
            fed_wf_fail (p, p->sources [i].id,
                         "step id '%s' is used twice (first at line %zu, column %zu); give each "
                         "step its own id",
                         id, first->line, first->column);
            wf->steps [i].id = ""; //  only the first one can be needed or referred to
        } else
            wf->table [slot] = i + 1;
    }
}

//  The graph in compact form: for each step, the steps it needs (edges in
//  step order) and where each need was written.
typedef struct {
    size_t *start;             //  step i's needs are need [start [i] .. start [i + 1])
    size_t *need;              //  needed step index per edge
    const fed_ynode_t **where; //  the needs entry per edge
    size_t edges;
} s_graph_t;

static void
s_resolve_needs (fed_wf_parse_t *p, s_graph_t *graph)
{
    fed_workflow_t *wf = p->wf;
    size_t n = wf->step_count, total = 0;
    for (size_t i = 0; i < n; i++)
        total += p->sources [i].need_count;
    graph->start = (size_t *) fed_calloc (n + 1, sizeof (size_t));
    graph->need = (size_t *) fed_calloc (total + 1, sizeof (size_t));
    graph->where = (const fed_ynode_t **) fed_calloc (total + 1, sizeof (fed_ynode_t *));
    size_t *stamp = (size_t *) fed_calloc (n, sizeof (size_t)); //  step i + 1 that needed it
    for (size_t i = 0; i < n; i++) {
        graph->start [i] = graph->edges;
        const fed_wf_source_t *source = &p->sources [i];
        fed_wf_step_t *step = &wf->steps [i];
        const char *who = *step->id ? step->id : "?";
        for (size_t k = 0; k < source->need_count; k++) {
            const fed_ynode_t *at = source->needs [k];
            size_t target = fed_workflow_step_find (wf, at->text);
            if (target == SIZE_MAX) {
                const char *near = s_nearest_id (p, at->text);
                fed_wf_fail (p, at, "step '%s': needs '%.64s', which is no step's id%s%s%s", who,
                             at->text, near ? "; did you mean '" : "", near ? near : "",
                             near ? "'?" : "");
            } else if (target == i)
                fed_wf_fail (p, at,
                             "step '%s' needs itself: a cycle %s -> %s; drop it from its "
                             "needs",
                             who, who, who);
            else if (stamp [target] == i + 1)
                fed_wf_fail (p, at, "step '%s': needs '%s' twice; list it once", who, at->text);
            else {
                stamp [target] = i + 1;
                graph->need [graph->edges] = target;
                graph->where [graph->edges++] = at;
            }
        }
        size_t count = graph->edges - graph->start [i];
        size_t *needs = (size_t *) fed_wf_alloc (wf->arena, (count + 1) * sizeof (size_t));
        memcpy (needs, graph->need + graph->start [i], count * sizeof (size_t));
        step->needs = needs;
        step->need_count = count;
        step->same_node_as = SIZE_MAX;
        const fed_ynode_t *same = source->same_node_as;
        if (same) {
            size_t target = fed_workflow_step_find (wf, same->text);
            for (size_t k = 0; k < count && target != SIZE_MAX; k++)
                if (needs [k] == target)
                    step->same_node_as = target;
            if (step->same_node_as == SIZE_MAX)
                fed_wf_fail (p, same,
                             "step '%s': location.same_node_as '%.64s' must be one of the "
                             "step's needs; add it to needs",
                             who, same->text);
            else if (step->require.node && *step->require.node)
                fed_wf_fail (p, same,
                             "step '%s': location has both node and same_node_as; keep one", who);
        }
    }
    graph->start [n] = graph->edges;
    free (stamp);
}

//  Kahn's algorithm, first in first out from the steps with no needs in the
//  order written. Returns how many steps it placed (all of them unless
//  there is a cycle); *left [i] is true for a step it could not place.
static size_t
s_order (fed_workflow_t *wf, const s_graph_t *graph, bool *left)
{
    size_t n = wf->step_count;
    size_t *pending = (size_t *) fed_calloc (n + 1, sizeof (size_t)); //  needs not yet placed
    size_t *after_start = (size_t *) fed_calloc (n + 2, sizeof (size_t));
    size_t *after = (size_t *) fed_calloc (graph->edges + 1, sizeof (size_t));
    //  Reverse edges: for each step, the steps that need it.
    for (size_t e = 0; e < graph->edges; e++)
        after_start [graph->need [e] + 2]++;
    for (size_t i = 0; i < n; i++) {
        pending [i] = graph->start [i + 1] - graph->start [i];
        after_start [i + 2] += after_start [i + 1];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t e = graph->start [i]; e < graph->start [i + 1]; e++)
            after [after_start [graph->need [e] + 1]++] = i;
    wf->order = (size_t *) fed_calloc (n + 1, sizeof (size_t));
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++)
        if (!pending [i])
            wf->order [tail++] = i;
    while (head < tail) {
        size_t step = wf->order [head++];
        for (size_t e = after_start [step]; e < after_start [step + 1]; e++)
            if (--pending [after [e]] == 0)
                wf->order [tail++] = after [e];
    }
    for (size_t i = 0; i < n; i++)
        left [i] = pending [i] > 0;
    free (pending);
    free (after_start);
    free (after);
    return tail;
}

//  Reports the cycle closed by edge e of step `from` back to the step at
//  stack [at]: "a -> b -> c -> a".
static void
s_report_cycle (fed_wf_parse_t *p, const s_graph_t *graph, const size_t *stack, size_t depth,
                size_t at, size_t e)
{
    fed_workflow_t *wf = p->wf;
    char path [420] = "";
    size_t length = 0, steps = depth - at;
    for (size_t k = at; k <= depth; k++) {
        const char *id = wf->steps [k < depth ? stack [k] : stack [at]].id;
        //  Long cycles show their first and last steps.
        if (steps > 12 && k == at + 5) {
            length += (size_t) snprintf (path + length, sizeof path - length,
                                         " -> … (%zu more steps)", steps - 10);
            k = depth - 5;
            continue;
        }
        length += (size_t) snprintf (path + length, sizeof path - length, "%s%s",
                                     k == at ? "" : " -> ", id);
        if (length >= sizeof path)
            length = sizeof path - 1;
    }
    fed_wf_fail (p, graph->where [e],
                 "cycle: %s (each step needs the next); remove one of these needs", path);
}

//  Depth-first over the steps Kahn could not place, following needs;
//  every edge back to a step on the stack closes a cycle.
static void
s_find_cycles (fed_wf_parse_t *p, const s_graph_t *graph, const bool *left)
{
    size_t n = p->wf->step_count, reported = 0;
    unsigned char *color = (unsigned char *) fed_calloc (n + 1, 1); //  0 new, 1 on stack, 2 done
    size_t *stack = (size_t *) fed_calloc (n + 1, sizeof (size_t));
    size_t *next = (size_t *) fed_calloc (n + 1, sizeof (size_t));     //  next edge per stack entry
    size_t *position = (size_t *) fed_calloc (n + 1, sizeof (size_t)); //  stack index per step
    for (size_t root = 0; root < n; root++) {
        if (!left [root] || color [root])
            continue;
        size_t depth = 0;
        stack [depth] = root;
        next [depth] = graph->start [root];
        position [root] = depth++;
        color [root] = 1;
        while (depth) {
            size_t step = stack [depth - 1];
            size_t e = next [depth - 1]++;
            if (e == graph->start [step + 1]) {
                color [step] = 2;
                depth--;
                continue;
            }
            size_t target = graph->need [e];
            if (!left [target] || color [target] == 2)
                continue;
            if (color [target] == 1) {
                if (reported++ < S_CYCLES_MAX)
                    s_report_cycle (p, graph, stack, depth, position [target], e);
                continue;
            }
            color [target] = 1;
            stack [depth] = target;
            next [depth] = graph->start [target];
            position [target] = depth++;
        }
    }
    if (reported > S_CYCLES_MAX)
        fed_wf_fail_at (p, 0, 0, "%zu more cycles not shown", reported - S_CYCLES_MAX);
    free (color);
    free (stack);
    free (next);
    free (position);
}

//  --- references ---------------------------------------------------------------

typedef struct {
    size_t ref;    //  index in p->refs
    size_t target; //  the step referred to
} s_far_t;

//  Checks that each far reference's target is upstream of its step, 4096
//  targets per pass. bit [t] is the bit of target t (SIZE_MAX: none).
static void
s_check_far (fed_wf_parse_t *p, const s_graph_t *graph, s_far_t *far, size_t far_count, size_t *bit,
             size_t bits, bool *ok)
{
    fed_workflow_t *wf = p->wf;
    size_t n = wf->step_count;
    size_t per_pass = S_BITS_PER_PASS;
    while (per_pass > 64 && (per_pass / 64) * n > S_PASS_WORDS)
        per_pass /= 2;
    for (size_t base = 0; base < bits; base += per_pass) {
        size_t width = bits - base < per_pass ? bits - base : per_pass;
        size_t words = (width + 63) / 64;
        uint64_t *reach = (uint64_t *) fed_calloc (n * words + 1, sizeof (uint64_t));
        //  reach [s] = the targets (of this pass) upstream of s.
        for (size_t k = 0; k < n; k++) {
            size_t s = wf->order [k];
            uint64_t *mine = reach + s * words;
            for (size_t e = graph->start [s]; e < graph->start [s + 1]; e++) {
                size_t need = graph->need [e];
                const uint64_t *theirs = reach + need * words;
                for (size_t w = 0; w < words; w++)
                    mine [w] |= theirs [w];
                if (bit [need] != SIZE_MAX && bit [need] >= base && bit [need] < base + width) {
                    size_t b = bit [need] - base;
                    mine [b / 64] |= 1ULL << (b % 64);
                }
            }
        }
        for (size_t i = 0; i < far_count; i++) {
            size_t b = bit [far [i].target];
            if (b < base || b >= base + width)
                continue;
            b -= base;
            const fed_wf_pending_t *ref = &p->refs [far [i].ref];
            ok [far [i].ref] = (reach [ref->step * words + b / 64] >> (b % 64)) & 1;
        }
        free (reach);
    }
}

static void
s_check_refs (fed_wf_parse_t *p, const s_graph_t *graph, bool acyclic)
{
    fed_workflow_t *wf = p->wf;
    size_t n = wf->step_count;
    bool *ok = (bool *) fed_calloc (p->ref_count + 1, sizeof (bool));
    size_t *target = (size_t *) fed_calloc (p->ref_count + 1, sizeof (size_t));
    size_t *stamp = (size_t *) fed_calloc (n + 1, sizeof (size_t));
    size_t *bit = (size_t *) fed_malloc ((n + 1) * sizeof (size_t));
    for (size_t i = 0; i <= n; i++)
        bit [i] = SIZE_MAX;
    s_far_t *far = (s_far_t *) fed_calloc (p->ref_count + 1, sizeof (s_far_t));
    size_t far_count = 0, bits = 0, stamped = SIZE_MAX;
    for (size_t r = 0; r < p->ref_count; r++) {
        const fed_wf_pending_t *ref = &p->refs [r];
        const char *who = *wf->steps [ref->step].id ? wf->steps [ref->step].id : "?";
        if (!ref->is_step) {
            if (fed_workflow_param_find (wf, ref->target)) {
                ok [r] = true;
                continue;
            }
            const char **names =
                (const char **) fed_malloc ((wf->param_count + 1) * sizeof (char *));
            for (size_t i = 0; i < wf->param_count; i++)
                names [i] = wf->params [i].name;
            const char *near = fed_nearest_word (ref->target, names, wf->param_count);
            free (names);
            fed_wf_fail_at (p, ref->line, ref->column,
                            "step '%s': %s: no param '%s' is declared%s%s%s; declare it under "
                            "params:",
                            who, ref->text, ref->target, near ? " (did you mean '" : "",
                            near ? near : "", near ? "'?)" : "");
            continue;
        }
        size_t t = fed_workflow_step_find (wf, ref->target);
        target [r] = t;
        if (t == SIZE_MAX) {
            const char *near = s_nearest_id (p, ref->target);
            fed_wf_fail_at (p, ref->line, ref->column, "step '%s': %s: no step has id '%s'%s%s%s",
                            who, ref->text, ref->target, near ? "; did you mean '" : "",
                            near ? near : "", near ? "'?" : "");
            continue;
        }
        if (t == ref->step) {
            fed_wf_fail_at (p, ref->line, ref->column,
                            "step '%s': %s refers to the step's own output; a step can use "
                            "only the outputs of steps it needs",
                            who, ref->text);
            continue;
        }
        if (!acyclic) {
            ok [r] = true; //  upstream has no meaning until the cycles are gone
            continue;
        }
        //  Direct needs: stamped once per step (its refs come together).
        if (ref->step != stamped) {
            const fed_wf_step_t *step = &wf->steps [ref->step];
            for (size_t k = 0; k < step->need_count; k++)
                stamp [step->needs [k]] = ref->step + 1;
            stamped = ref->step;
        }
        if (stamp [t] == ref->step + 1)
            ok [r] = true;
        else {
            if (bit [t] == SIZE_MAX)
                bit [t] = bits++;
            far [far_count++] = (s_far_t){r, t};
        }
    }
    if (far_count)
        s_check_far (p, graph, far, far_count, bit, bits, ok);
    for (size_t i = 0; i < far_count; i++) {
        const fed_wf_pending_t *ref = &p->refs [far [i].ref];
        if (ok [far [i].ref])
            continue;
        const char *who = wf->steps [ref->step].id, *what = wf->steps [far [i].target].id;
        fed_wf_fail_at (p, ref->line, ref->column,
                        "step '%s': %s refers to step '%s', which is not upstream of '%s' (not in "
                        "its needs, directly or through other steps); add '%s' to the needs of "
                        "'%s'",
                        who, ref->text, what, who, what, who);
    }
    //  The model's per-step references (refs arrive grouped by step).
    for (size_t r = 0; r < p->ref_count;) {
        size_t step = p->refs [r].step, end = r;
        while (end < p->ref_count && p->refs [end].step == step)
            end++;
        fed_wf_ref_t *refs =
            (fed_wf_ref_t *) fed_wf_alloc (wf->arena, (end - r) * sizeof (fed_wf_ref_t));
        size_t count = 0;
        for (; r < end; r++)
            if (ok [r])
                refs [count++] =
                    (fed_wf_ref_t){p->refs [r].is_step, target [r],
                                   p->refs [r].is_step ? p->refs [r].path : p->refs [r].target};
        wf->steps [step].refs = refs;
        wf->steps [step].ref_count = count;
    }
    free (ok);
    free (target);
    free (stamp);
    free (bit);
    free (far);
}

void
fed_wf_check_graph (fed_wf_parse_t *p)
{
    fed_workflow_t *wf = p->wf;
    s_build_table (p);
    s_graph_t graph = {NULL, NULL, NULL, 0};
    s_resolve_needs (p, &graph);
    bool *left = (bool *) fed_calloc (wf->step_count + 1, sizeof (bool));
    size_t placed = s_order (wf, &graph, left);
    if (placed < wf->step_count)
        s_find_cycles (p, &graph, left);
    s_check_refs (p, &graph, placed == wf->step_count);
    free (left);
    free (graph.start);
    free (graph.need);
    free (graph.where);
}
