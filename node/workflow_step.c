/*  node/workflow_step.c: one step of a workflow file (see workflow.h).

    Each key of the step is read on its own and reports its own errors, so
    a step with three mistakes gives three errors. What refers to other
    steps (needs, ${steps...}) is only recorded here, with its position:
    workflow_check.c resolves it once every step id is known.
*/
#include "workflow_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY 86400000LL
#define S_LABEL_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-"
#define S_VALUE_MAX 256 //  bytes in one of hitl.values
#define S_EARTH_KM 40075.0

static const char *const s_step_keys [] = {"id",       "agent",   "description", "needs",   "with",
                                           "location", "retries", "backoff",     "timeout", "hitl"};
#define S_STEP_KEYS (sizeof s_step_keys / sizeof s_step_keys [0])

static const char *const s_where_keys [] = {"node",   "region", "zone",   "site",
                                            "labels", "near",   "prefer", "same_node_as"};
static const char *const s_near_keys [] = {"lat", "lon", "within_km"};
static const char *const s_backoff_keys [] = {"initial", "max", "factor"};
static const char *const s_hitl_keys [] = {
    "approvers", "message", "timeout", "min_approvals", "forbid_submitter", "values", "on_timeout"};
#define S_HITL_KEYS (sizeof s_hitl_keys / sizeof s_hitl_keys [0])

//  [A-Za-z0-9_][A-Za-z0-9_-]*, at most FED_WORKFLOW_ID_MAX bytes.
static bool
s_id_valid (const char *id)
{
    size_t length = strlen (id);
    if (!length || length > FED_WORKFLOW_ID_MAX || id [0] == '-')
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = id [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-'))
            return false;
    }
    return true;
}

static const char *
s_copy (fed_wf_parse_t *p, const char *text)
{
    return fed_wf_strdup (p->wf->arena, text);
}

//  A location text: at most FED_WORKFLOW_TEXT_MAX bytes, and no reference
//  (placement compares it as written). Returns 0 with *text, or -1.
static int
s_location_text (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, const char **text)
{
    if (fed_wf_text (p, value, named, FED_WORKFLOW_TEXT_MAX, true, text))
        return -1;
    if (strstr (*text, "${")) {
        fed_wf_fail (p, value,
                     "%s: references are allowed only in with and hitl.message; write the "
                     "location itself",
                     named);
        return -1;
    }
    return 0;
}

//  --- location ----------------------------------------------------------------

static void
s_parse_labels (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named,
                fed_placement_where_t *where)
{
    if (fed_ynode_is_null (value))
        return;
    if (value->shape != FED_YAML_MAP) {
        fed_wf_fail (p, value,
                     "%s: expected a mapping of label names to values, like {gpu: "
                     "a100}, got %s",
                     named, fed_ynode_shape_name (value));
        return;
    }
    fed_wf_check_keys (p, value, named);
    size_t pairs = value->count / 2;
    fed_placement_label_t *labels = (fed_placement_label_t *) fed_wf_alloc (
        p->wf->arena, (pairs + 1) * sizeof (fed_placement_label_t));
    size_t count = 0;
    for (size_t i = 0; i < pairs; i++) {
        const fed_ynode_t *key = value->child [2 * i], *text = value->child [2 * i + 1];
        if (key->shape != FED_YAML_SCALAR)
            continue;
        size_t length = strlen (key->text);
        if (!length || length > FED_WORKFLOW_TEXT_MAX
            || strspn (key->text, S_LABEL_CHARS) != length) {
            fed_wf_fail (p, key,
                         "%s: label '%.64s' must be 1 to %d letters, digits and _ . - / only",
                         named, key->text, FED_WORKFLOW_TEXT_MAX);
            continue;
        }
        char where_named [400];
        fed_wf_child_name (where_named, sizeof where_named, named, key->text);
        const char *label;
        if (s_location_text (p, text, where_named, &label))
            continue;
        labels [count].key = s_copy (p, key->text);
        labels [count++].value = s_copy (p, label);
    }
    where->labels = labels;
    where->label_count = count;
}

static void
s_parse_near (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named,
              fed_placement_near_t *near)
{
    if (value->shape != FED_YAML_MAP) {
        fed_wf_fail (p, value,
                     "%s: expected a mapping {lat: 48.85, lon: 2.35, within_km: 50}, got %s", named,
                     fed_ynode_shape_name (value));
        return;
    }
    fed_wf_check_keys (p, value, named);
    bool seen [3] = {false, false, false}, ok = true;
    double numbers [3] = {0, 0, 0};
    static const double low [3] = {-90, -180, 0}, high [3] = {90, 180, S_EARTH_KM};
    for (size_t i = 0; i + 1 < value->count; i += 2) {
        const fed_ynode_t *key = value->child [i];
        if (key->shape != FED_YAML_SCALAR)
            continue;
        size_t which = 0;
        while (which < 3 && strcmp (key->text, s_near_keys [which]))
            which++;
        if (which == 3) {
            fed_wf_unknown_key (p, key, named, s_near_keys, 3);
            continue;
        }
        char where [400];
        fed_wf_child_name (where, sizeof where, named, s_near_keys [which]);
        seen [which] = true;
        if (fed_wf_number (p, value->child [i + 1], where, low [which], high [which],
                           &numbers [which]))
            ok = false;
        else if (which == 2 && !(numbers [2] > 0)) {
            fed_wf_fail (p, value->child [i + 1], "%s: must be above 0 (km)", where);
            ok = false;
        }
    }
    for (size_t i = 0; i < 3; i++)
        if (!seen [i]) {
            fed_wf_fail (p, value, "%s: '%s' is missing; near needs lat, lon and within_km", named,
                         s_near_keys [i]);
            ok = false;
        }
    if (ok)
        *near = (fed_placement_near_t){true, numbers [0], numbers [1], numbers [2]};
}

//  Reads a location mapping into where; with near, prefer and same_node_as
//  (all NULL for location.prefer, which takes none of them). same_node_as
//  receives the value's node, checked against the needs once they are known.
static void
s_parse_where (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named,
               fed_placement_where_t *where, fed_placement_near_t *near,
               fed_placement_where_t *prefer, const fed_ynode_t **same_node_as)
{
    size_t valid = prefer ? 8 : 5;
    if (fed_ynode_is_null (value))
        return;
    if (value->shape != FED_YAML_MAP) {
        fed_wf_fail (p, value, "%s: expected a mapping of %s, got %s", named,
                     prefer ? "node, region, zone, site, labels, near, prefer and same_node_as"
                            : "node, region, zone, site and labels",
                     fed_ynode_shape_name (value));
        return;
    }
    fed_wf_check_keys (p, value, named);
    for (size_t i = 0; i + 1 < value->count; i += 2) {
        const fed_ynode_t *key = value->child [i], *item = value->child [i + 1];
        if (key->shape != FED_YAML_SCALAR)
            continue;
        size_t which = 0;
        while (which < valid && strcmp (key->text, s_where_keys [which]))
            which++;
        char inner [400];
        fed_wf_child_name (inner, sizeof inner, named, key->text);
        const char *text;
        const char **slot = which == 0 ? &where->node
            : which == 1               ? &where->region
            : which == 2               ? &where->zone
            : which == 3               ? &where->site
                                       : NULL;
        if (which == valid)
            fed_wf_unknown_key (p, key, named, s_where_keys, valid);
        else if (slot) {
            if (!s_location_text (p, item, inner, &text))
                *slot = s_copy (p, text);
        } else if (which == 4)
            s_parse_labels (p, item, inner, where);
        else if (which == 5)
            s_parse_near (p, item, inner, near);
        else if (which == 6)
            s_parse_where (p, item, inner, prefer, NULL, NULL, NULL);
        else if (!s_location_text (p, item, inner, &text))
            *same_node_as = item;
    }
}

//  --- backoff and hitl -----------------------------------------------------------

static void
s_parse_backoff (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named,
                 fed_wf_backoff_t *backoff)
{
    int64_t ms;
    if (value->shape == FED_YAML_SCALAR) {
        if (!fed_wf_duration (p, value, named, 1, S_DAY, &ms))
            *backoff = (fed_wf_backoff_t){ms, ms, 1};
        return;
    }
    if (value->shape != FED_YAML_MAP) {
        fed_wf_fail (p, value,
                     "%s: expected a duration like 5s, or {initial: 1s, max: 1m, factor: 2}, "
                     "got %s",
                     named, fed_ynode_shape_name (value));
        return;
    }
    fed_wf_check_keys (p, value, named);
    fed_wf_backoff_t result = {1000, 60000, 2};
    const fed_ynode_t *max_node = NULL;
    bool ok = true;
    for (size_t i = 0; i + 1 < value->count; i += 2) {
        const fed_ynode_t *key = value->child [i], *item = value->child [i + 1];
        if (key->shape != FED_YAML_SCALAR)
            continue;
        char inner [400];
        fed_wf_child_name (inner, sizeof inner, named, key->text);
        if (!strcmp (key->text, "initial"))
            ok = !fed_wf_duration (p, item, inner, 1, S_DAY, &result.initial_ms) && ok;
        else if (!strcmp (key->text, "max")) {
            ok = !fed_wf_duration (p, item, inner, 1, S_DAY, &result.max_ms) && ok;
            max_node = item;
        } else if (!strcmp (key->text, "factor"))
            ok = !fed_wf_number (p, item, inner, 1, 100, &result.factor) && ok;
        else
            fed_wf_unknown_key (p, key, named, s_backoff_keys, 3);
    }
    if (ok && result.max_ms < result.initial_ms) {
        fed_wf_fail (p, max_node ? max_node : value,
                     "%s: max (%lld ms) is below initial (%lld ms); raise max or lower initial",
                     named, (long long) result.max_ms, (long long) result.initial_ms);
        ok = false;
    }
    if (ok)
        *backoff = result;
}

//  A list of scalars (or one scalar standing for a list of one); NULL
//  after reporting anything else.
static bool
s_scalar_list (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, const char *like)
{
    if (value->shape == FED_YAML_SCALAR)
        return true;
    if (value->shape == FED_YAML_MAP) {
        fed_wf_fail (p, value, "%s: expected a list, like %s, got a mapping", named, like);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < value->count; i++)
        if (value->child [i]->shape != FED_YAML_SCALAR) {
            fed_wf_fail (p, value->child [i],
                         "%s: expected a list of single values, like %s, "
                         "got %s in it",
                         named, like, fed_ynode_shape_name (value->child [i]));
            ok = false;
        }
    return ok;
}

static void
s_parse_approvers (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named,
                   fed_wf_hitl_t *hitl)
{
    if (fed_ynode_is_null (value) || !s_scalar_list (p, value, named, "[approver, 9SMx...Z85 key]"))
        return;
    size_t count = value->shape == FED_YAML_SCALAR ? 1 : value->count;
    fed_wf_approver_t *approvers =
        (fed_wf_approver_t *) fed_wf_alloc (p->wf->arena, (count + 1) * sizeof (fed_wf_approver_t));
    size_t kept = 0;
    static const char *const roles [] = {"approver", "operator", "admin"};
    for (size_t i = 0; i < count; i++) {
        const fed_ynode_t *item = value->shape == FED_YAML_SCALAR ? value : value->child [i];
        fed_wf_approver_t *approver = &approvers [kept];
        fed_role_t role;
        if (fed_role_parse (item->text, &role) == 0) {
            if (role != FED_ROLE_APPROVER && role != FED_ROLE_OPERATOR && role != FED_ROLE_ADMIN) {
                fed_wf_fail (p, item,
                             "%s: role '%s' cannot approve; name approver, operator or admin, "
                             "or a key",
                             named, item->text);
                continue;
            }
            approver->is_role = true;
            approver->role = role;
        } else if (fed_key_decode (approver->key, item->text)) {
            const char *near = fed_nearest_word (item->text, roles, 3);
            fed_wf_fail (p, item,
                         "%s: '%.64s' is neither a role (approver, operator, admin) nor a public "
                         "key (40 Z85 or 64 hex characters)%s%s%s",
                         named, item->text, near ? "; did you mean '" : "", near ? near : "",
                         near ? "'?" : "");
            continue;
        }
        approver->text = s_copy (p, item->text);
        bool twice = false;
        for (size_t j = 0; j < kept && !twice; j++)
            twice = approvers [j].is_role == approver->is_role
                && (approver->is_role ? approvers [j].role == approver->role
                                      : !memcmp (approvers [j].key, approver->key, 32));
        if (twice)
            fed_wf_fail (p, item, "%s: '%.64s' is listed twice; list it once", named, item->text);
        else
            kept++;
    }
    hitl->approvers = approvers;
    hitl->approver_count = kept;
}

static void
s_parse_values (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, fed_wf_hitl_t *hitl)
{
    if (!s_scalar_list (p, value, named, "[accept, reject, redo]"))
        return;
    size_t count = value->shape == FED_YAML_SCALAR ? 1 : value->count;
    if (count == 0) {
        fed_wf_fail (p, value,
                     "%s: the list is empty; list the values an approval may carry, "
                     "or drop the key",
                     named);
        return;
    }
    const char **values = (const char **) fed_wf_alloc (p->wf->arena, count * sizeof (char *));
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        const fed_ynode_t *item = value->shape == FED_YAML_SCALAR ? value : value->child [i];
        const char *text;
        if (fed_wf_text (p, item, named, S_VALUE_MAX, false, &text))
            continue;
        bool twice = false;
        for (size_t j = 0; j < kept && !twice; j++)
            twice = !strcmp (values [j], text);
        if (twice)
            fed_wf_fail (p, item, "%s: '%.64s' is listed twice; list it once", named, text);
        else
            values [kept++] = s_copy (p, text);
    }
    hitl->values = values;
    hitl->value_count = kept;
}

static void
s_parse_hitl (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, size_t index,
              fed_wf_hitl_t *hitl)
{
    if (value->shape == FED_YAML_SCALAR) {
        (void) fed_wf_bool (p, value, named, &hitl->enabled);
        return;
    }
    if (value->shape != FED_YAML_MAP) {
        fed_wf_fail (p, value,
                     "%s: expected true, or a mapping {approvers, message, timeout, "
                     "min_approvals, forbid_submitter, values, on_timeout}, got %s",
                     named, fed_ynode_shape_name (value));
        return;
    }
    hitl->enabled = true;
    fed_wf_check_keys (p, value, named);
    const fed_ynode_t *min_node = NULL, *on_timeout_node = NULL;
    bool has_timeout = false;
    for (size_t i = 0; i + 1 < value->count; i += 2) {
        const fed_ynode_t *key = value->child [i], *item = value->child [i + 1];
        if (key->shape != FED_YAML_SCALAR)
            continue;
        size_t which = 0;
        while (which < S_HITL_KEYS && strcmp (key->text, s_hitl_keys [which]))
            which++;
        char inner [400];
        fed_wf_child_name (inner, sizeof inner, named, key->text);
        const char *text;
        uint64_t count;
        switch (which) {
            case 0: s_parse_approvers (p, item, inner, hitl); break;
            case 1:
                if (!fed_wf_text (p, item, inner, FED_WORKFLOW_DESCRIPTION_MAX, true, &text)) {
                    hitl->message = s_copy (p, text);
                    fed_wf_scan_refs (p, item, text, inner, index);
                }
                break;
            case 2:
                has_timeout =
                    !fed_wf_duration (p, item, inner, 1000, 365 * S_DAY, &hitl->timeout_ms);
                break;
            case 3:
                min_node = item;
                if (!fed_wf_count (p, item, inner, 1, 100, &count))
                    hitl->min_approvals = (uint32_t) count;
                break;
            case 4: (void) fed_wf_bool (p, item, inner, &hitl->forbid_submitter); break;
            case 5: s_parse_values (p, item, inner, hitl); break;
            case 6:
                on_timeout_node = item;
                if (item->shape == FED_YAML_SCALAR && !strcmp (item->text, "reject"))
                    hitl->on_timeout = FED_WF_ON_TIMEOUT_REJECT;
                else if (item->shape == FED_YAML_SCALAR && !strcmp (item->text, "approve"))
                    hitl->on_timeout = FED_WF_ON_TIMEOUT_APPROVE;
                else if (item->shape == FED_YAML_SCALAR && !strcmp (item->text, "escalate"))
                    hitl->on_timeout = FED_WF_ON_TIMEOUT_ESCALATE;
                else
                    fed_wf_fail (p, item, "%s: expected reject, approve or escalate, got '%.64s'",
                                 inner, item->shape == FED_YAML_SCALAR ? item->text : "(not text)");
                break;
            default: fed_wf_unknown_key (p, key, named, s_hitl_keys, S_HITL_KEYS); break;
        }
    }
    if (on_timeout_node && !has_timeout && !fed_ynode_is_null (on_timeout_node))
        fed_wf_fail (p, on_timeout_node,
                     "%s: on_timeout has no effect without a timeout; add timeout (like 24h) or "
                     "drop on_timeout",
                     named);
    //  With keys only (no role), a quorum larger than the keys can never be met.
    bool any_role = false;
    for (size_t i = 0; i < hitl->approver_count; i++)
        any_role = any_role || hitl->approvers [i].is_role;
    if (min_node && hitl->approver_count && !any_role && hitl->min_approvals > hitl->approver_count)
        fed_wf_fail (p, min_node,
                     "%s: min_approvals is %u but only %zu approver keys are listed (and no "
                     "role); list more approvers or lower min_approvals",
                     named, hitl->min_approvals, hitl->approver_count);
}

//  --- the step --------------------------------------------------------------------

static void
s_parse_needs (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named,
               fed_wf_source_t *source)
{
    if (fed_ynode_is_null (value) || !s_scalar_list (p, value, named, "[fetch, clean]"))
        return;
    size_t count = value->shape == FED_YAML_SCALAR ? 1 : value->count;
    source->needs = (const fed_ynode_t **) fed_calloc (count + 1, sizeof (fed_ynode_t *));
    for (size_t i = 0; i < count; i++) {
        const fed_ynode_t *item = value->shape == FED_YAML_SCALAR ? value : value->child [i];
        if (!s_id_valid (item->text))
            fed_wf_fail (p, item, "%s: '%.64s' is not a step id (letters, digits, _ and -)", named,
                         item->text);
        else
            source->needs [source->need_count++] = item;
    }
}

static bool
s_agent_valid (const char *name)
{
    size_t length = strlen (name);
    return fed_workflow_name_valid (name, length); //  the same rule as agent names
}

void
fed_wf_parse_step (fed_wf_parse_t *p, const fed_ynode_t *node, size_t index)
{
    fed_workflow_t *wf = p->wf;
    fed_wf_step_t *step = &wf->steps [index];
    fed_wf_source_t *source = &p->sources [index];
    source->node = node;
    step->id = step->agent = step->description = "";
    step->with = (const uint8_t *) "\x80";
    step->with_size = 1;
    step->backoff = (fed_wf_backoff_t){1000, 60000, 2};
    step->hitl.min_approvals = 1;
    step->hitl.on_timeout = FED_WF_ON_TIMEOUT_REJECT;
    step->hitl.message = "";
    step->line = node->line;
    step->column = node->column;
    char named [100];
    snprintf (named, sizeof named, "steps[%zu]", index);
    if (node->shape != FED_YAML_MAP) {
        fed_wf_fail (p, node, "%s: expected a mapping like {id: fetch, agent: sys.echo}, got %s",
                     named, fed_ynode_shape_name (node));
        return;
    }
    //  The id first, so that every other message can name the step.
    bool has_id = false, has_agent = false;
    for (size_t i = 0; i + 1 < node->count; i += 2) {
        const fed_ynode_t *key = node->child [i], *value = node->child [i + 1];
        if (key->shape != FED_YAML_SCALAR || strcmp (key->text, "id") || has_id)
            continue;
        has_id = true;
        const char *text;
        if (fed_wf_text (p, value, "steps[] key 'id'", FED_WORKFLOW_ID_MAX, false, &text))
            continue;
        if (!s_id_valid (text)) {
            fed_wf_fail (p, value,
                         "%s: id '%.64s' must be 1 to %d letters, digits, _ and - (not starting "
                         "with -), so that ${steps.ID.output} can name it",
                         named, text, FED_WORKFLOW_ID_MAX);
            continue;
        }
        step->id = s_copy (p, text);
        source->id = value;
        snprintf (named, sizeof named, "step '%s'", text);
    }
    fed_wf_check_keys (p, node, named);
    bool seen [S_STEP_KEYS] = {false};
    const fed_ynode_t *hitl_node = NULL;
    for (size_t i = 0; i + 1 < node->count; i += 2) {
        const fed_ynode_t *key = node->child [i], *value = node->child [i + 1];
        if (key->shape != FED_YAML_SCALAR)
            continue;
        size_t which = 0;
        while (which < S_STEP_KEYS && strcmp (key->text, s_step_keys [which]))
            which++;
        if (which == S_STEP_KEYS) {
            fed_wf_unknown_key (p, key, named, s_step_keys, S_STEP_KEYS);
            continue;
        }
        if (seen [which])
            continue; //  reported as given twice
        seen [which] = true;
        char inner [400];
        fed_wf_child_name (inner, sizeof inner, named, key->text);
        const char *text;
        uint64_t count;
        switch (which) {
            case 0: break; //  the id, read above
            case 1:
                has_agent = true;
                if (fed_wf_text (p, value, inner, FED_WORKFLOW_NAME_MAX, false, &text))
                    break;
                if (!s_agent_valid (text))
                    fed_wf_fail (p, value,
                                 "%s: '%.64s' is not an agent name: 1 to %d of lowercase "
                                 "letters, digits, '.', '_' and '-', starting with a letter or "
                                 "digit (like sys.echo)",
                                 inner, text, FED_WORKFLOW_NAME_MAX);
                else
                    step->agent = s_copy (p, text);
                break;
            case 2:
                if (!fed_wf_text (p, value, inner, FED_WORKFLOW_DESCRIPTION_MAX, true, &text))
                    step->description = fed_wf_strdup_trimmed (p->wf->arena, text);
                break;
            case 3: s_parse_needs (p, value, inner, source); break;
            case 4: {
                if (fed_ynode_is_null (value))
                    break;
                if (value->shape != FED_YAML_MAP) {
                    fed_wf_fail (p, value,
                                 "%s: expected a mapping of the agent's params, like {n: 3}, "
                                 "got %s",
                                 inner, fed_ynode_shape_name (value));
                    break;
                }
                msgpack_sbuffer buffer;
                msgpack_sbuffer_init (&buffer);
                msgpack_packer pk;
                msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
                fed_wf_pack_value (p, &pk, value, inner, index);
                uint8_t *with = (uint8_t *) fed_wf_alloc (wf->arena, buffer.size);
                memcpy (with, buffer.data, buffer.size);
                step->with = with;
                step->with_size = buffer.size;
                msgpack_sbuffer_destroy (&buffer);
                break;
            }
            case 5:
                s_parse_where (p, value, inner, &step->require, &step->near, &step->prefer,
                               &p->sources [index].same_node_as);
                break;
            case 6:
                if (!fed_wf_count (p, value, inner, 0, FED_WORKFLOW_RETRIES_MAX, &count))
                    step->retries = (uint32_t) count;
                break;
            case 7: s_parse_backoff (p, value, inner, &step->backoff); break;
            case 8:
                (void) fed_wf_duration (p, value, inner, 1, 30 * S_DAY, &step->timeout_ms);
                break;
            default:
                hitl_node = value;
                s_parse_hitl (p, value, inner, index, &step->hitl);
                break;
        }
    }
    if (!has_id)
        fed_wf_fail (p, node, "%s: key 'id' is missing; give the step an id, like id: fetch",
                     named);
    //  A hitl key that is there but wrong was meant as an approval: the
    //  missing agent would be a second error for one mistake.
    bool hitl_meant = hitl_node
        && !(hitl_node->shape == FED_YAML_SCALAR && hitl_node->plain
             && !strcmp (hitl_node->text, "false"));
    if (!has_agent && !step->hitl.enabled && !hitl_meant)
        fed_wf_fail (p, node,
                     "%s: key 'agent' is missing; name the agent that runs it, like agent: "
                     "sys.echo (only a hitl step may have none)",
                     named);
}
