/*  node/placer.c: placement candidates from the registry and membership
    (see placer.h). Records and their label arrays live as long as the
    placer; candidates point into them.
*/
#include "placer.h"
#include "registry.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    fed_agent_record_t record;
    fed_agent_location_t node_location; //  the node's (from node.started)
    char node_name [65];
    fed_placement_label_t node_labels [FED_AGENT_LABELS_MAX];
    fed_placement_label_t agent_labels [FED_AGENT_LABELS_MAX];
    const char *caps [FED_AGENT_CAPS_MAX];
} s_entry_t;

struct fed_placer_t {
    s_entry_t *entries;                    //  owned
    fed_placement_candidate_t *candidates; //  one per entry, pointing into it
    size_t count, alloc;
    fed_evlog_t *log;
    fed_swim_t *swim;
    const uint8_t *self;
};

static void
s_location (fed_placement_location_t *out, const fed_agent_location_t *in,
            fed_placement_label_t *labels)
{
    out->region = in->region;
    out->zone = in->zone;
    out->site = in->site;
    out->has_lat = in->has_lat;
    out->has_lon = in->has_lon;
    out->lat = in->lat;
    out->lon = in->lon;
    for (uint32_t i = 0; i < in->label_count; i++) {
        labels [i].key = in->label_keys [i];
        labels [i].value = in->label_values [i];
    }
    out->labels = labels;
    out->label_count = in->label_count;
}

static int
s_each (void *arg, const fed_agent_record_t *record)
{
    fed_placer_t *self = (fed_placer_t *) arg;
    if (self->count == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 16;
        self->entries = fed_realloc (self->entries, self->alloc * sizeof (s_entry_t));
    }
    s_entry_t *entry = &self->entries [self->count++];
    memset (entry, 0, sizeof *entry);
    entry->record = *record;
    fed_registry_node (self->log, record->node, entry->node_name, sizeof entry->node_name,
                       &entry->node_location);
    return 0;
}

fed_placer_t *
fed_placer_load (fed_evlog_t *log, fed_swim_t *swim, const uint8_t self_id [32], fed_err_t *err)
{
    fed_placer_t *self = fed_calloc (1, sizeof *self);
    self->log = log;
    self->swim = swim;
    self->self = self_id;
    if (fed_registry_scan (log, s_each, self, err)) {
        fed_placer_destroy (&self);
        return NULL;
    }
    //  Candidates point into entries, which no longer move.
    self->candidates =
        fed_calloc (self->count ? self->count : 1, sizeof (fed_placement_candidate_t));
    for (size_t i = 0; i < self->count; i++) {
        s_entry_t *entry = &self->entries [i];
        fed_placement_candidate_t *c = &self->candidates [i];
        const fed_agent_record_t *r = &entry->record;
        memcpy (c->node_id, r->node, 32);
        c->node_name = entry->node_name;
        if (memcmp (r->node, self_id, 32) == 0)
            c->node_state = FED_WIRE_ALIVE;
        else {
            const fed_member_t *member = swim ? fed_swim_find (swim, r->node) : NULL;
            c->node_state = member ? member->state : (fed_wire_state_t) 0;
        }
        s_location (&c->node_location, &entry->node_location, entry->node_labels);
        c->agent_name = r->name;
        c->agent_version = r->version;
        for (uint32_t k = 0; k < r->capability_count; k++)
            entry->caps [k] = r->capabilities [k];
        c->capabilities = entry->caps;
        c->capability_count = r->capability_count;
        if (r->has_location)
            s_location (&c->agent_location, &r->location, entry->agent_labels);
        c->available = c->node_state == FED_WIRE_ALIVE || c->node_state == FED_WIRE_SUSPECT;
    }
    return self;
}

void
fed_placer_destroy (fed_placer_t **self_p)
{
    fed_placer_t *self = *self_p;
    if (!self)
        return;
    free (self->entries);
    free (self->candidates);
    free (self);
    *self_p = NULL;
}

size_t
fed_placer_size (fed_placer_t *self)
{
    return self->count;
}

int
fed_placer_place (fed_placer_t *self, const fed_placement_step_t *step, zhashx_t *active,
                  fed_placement_result_t *result, uint8_t node [32], fed_err_t *err)
{
    for (size_t i = 0; i < self->count; i++) {
        fed_placement_candidate_t *c = &self->candidates [i];
        c->active_steps = 0;
        if (active) {
            char hex [65];
            fed_hex_encode (hex, c->node_id, 32);
            c->active_steps = (uint32_t) (uintptr_t) zhashx_lookup (active, hex);
        }
    }
    if (fed_placement_decide (step, self->candidates, self->count, result, err))
        return -1;
    if (result->reason == FED_PLACEMENT_PLACED)
        memcpy (node, self->candidates [result->index].node_id, 32);
    return 0;
}
