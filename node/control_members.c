/*  node/control_members.c: the members command (doc/protocol.md §3.4):
    the membership table as this node's SWIM sees it, with each member's
    location from its HELLO and how many of its events this node holds,
    filtered like Serf's `members -status -tag` (node/memberfilter.h).
*/
#include "control_internal.h"
#include "node_internal.h"
#include "memberfilter.h"
#include "peer.h"

#include <string.h>

static void
s_pack_location (msgpack_packer *pk, const fed_member_t *member)
{
    const fed_location_t *location = &member->location;
    msgpack_pack_map (pk, 6);
    fed_call_pack_kv (pk, "region", location->region);
    fed_call_pack_kv (pk, "zone", location->zone);
    fed_call_pack_kv (pk, "site", location->site);
    fed_call_pack_str (pk, "lat");
    if (location->has_lat)
        msgpack_pack_double (pk, location->lat);
    else
        msgpack_pack_nil (pk);
    fed_call_pack_str (pk, "lon");
    if (location->has_lon)
        msgpack_pack_double (pk, location->lon);
    else
        msgpack_pack_nil (pk);
    fed_call_pack_str (pk, "labels");
    msgpack_pack_map (pk, (uint32_t) location->label_count);
    for (size_t i = 0; i < location->label_count; i++) {
        fed_call_pack_str (pk, location->label_keys [i]);
        fed_call_pack_str (pk, location->label_values [i]);
    }
}

static void
s_pack_member (msgpack_packer *pk, fed_node_t *node, const fed_member_t *member)
{
    char id [41];
    fed_z85_encode_key (id, member->id);
    msgpack_pack_map (pk, 9);
    fed_call_pack_kv (pk, "id", id);
    fed_call_pack_kv (pk, "name", member->name);
    fed_call_pack_kv (pk, "state", fed_wire_state_name (member->state));
    fed_call_pack_str (pk, "incarnation");
    msgpack_pack_uint64 (pk, member->incarnation);
    fed_call_pack_kv (pk, "endpoint", member->endpoint);
    fed_call_pack_str (pk, "self");
    if (member->is_self)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    fed_call_pack_str (pk, "since_ms");
    msgpack_pack_int64 (pk, member->since_wall_ms);
    fed_call_pack_str (pk, "seq");
    msgpack_pack_uint64 (pk, fed_evlog_seq (node->log, member->id));
    fed_call_pack_str (pk, "location");
    s_pack_location (pk, member);
}

//  A member's tags for the filter: region, zone, site when set, then labels.
static bool
s_matches (const fed_member_filter_t *filter, const fed_member_t *member)
{
    const fed_location_t *location = &member->location;
    fed_member_tag_t *tags =
        (fed_member_tag_t *) fed_calloc (location->label_count + 3, sizeof (fed_member_tag_t));
    size_t count = 0;
    const char *names [] = {"region", "zone", "site"};
    const char *values [] = {location->region, location->zone, location->site};
    for (size_t i = 0; i < 3; i++)
        if (values [i] && *values [i])
            tags [count++] = (fed_member_tag_t){names [i], values [i]};
    for (size_t i = 0; i < location->label_count; i++)
        tags [count++] = (fed_member_tag_t){location->label_keys [i], location->label_values [i]};
    bool match = fed_member_filter_match (filter, fed_wire_state_name (member->state), tags, count);
    free (tags);
    return match;
}

int
fed_cmd_members (fed_call_t *call)
{
    fed_member_filter_t *filter = fed_member_filter_new ();
    if (fed_member_filter_from_request (filter, call->request, &call->err)
        || fed_ctl_args_all_used (call->request, &call->err)) {
        fed_member_filter_destroy (&filter);
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    }
    fed_node_t *node = call->node;
    const fed_member_t *const *members;
    size_t count = fed_swim_members (fed_peer_swim (node->peer), &members);
    bool *shown = (bool *) fed_calloc (count + 1, sizeof (bool));
    size_t shown_count = 0;
    for (size_t i = 0; i < count; i++)
        shown_count += shown [i] = s_matches (filter, members [i]);
    msgpack_pack_array (call->pk, (uint32_t) shown_count);
    for (size_t i = 0; i < count; i++)
        if (shown [i])
            s_pack_member (call->pk, node, members [i]);
    free (shown);
    fed_member_filter_destroy (&filter);
    return 0;
}
