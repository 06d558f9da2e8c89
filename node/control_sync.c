/*  node/control_sync.c: the sync.status command (doc/protocol.md §3.4):
    for each peer this node has a DIGEST from, and each origin where the two
    differ, how far behind each side is. The question an operator asks when
    a resync stalls: who lacks what, from whom, since when.
*/
#include "control_internal.h"
#include "node_internal.h"
#include "peer.h"
#include "repl.h"
#include "swim.h"

#include <stdlib.h>
#include <string.h>

//  One row: peer, origin (NULL: the whole peer is in sync), both seqs.
static void
s_pack_row (msgpack_packer *pk, fed_node_t *node, const fed_repl_peer_t *peer,
            const uint8_t *origin, uint64_t ours, uint64_t theirs)
{
    char id [41];
    fed_z85_encode_key (id, peer->id);
    const fed_member_t *member = fed_swim_find (fed_peer_swim (node->peer), peer->id);
    msgpack_pack_map (pk, 8);
    fed_call_pack_kv (pk, "peer", id);
    fed_call_pack_kv (pk, "name", member ? member->name : NULL);
    fed_call_pack_str (pk, "age_ms");
    msgpack_pack_int64 (pk, fed_wall_ms () - peer->at_wall_ms);
    fed_call_pack_str (pk, "origin");
    if (origin) {
        char origin_id [41];
        fed_z85_encode_key (origin_id, origin);
        fed_call_pack_str (pk, origin_id);
    } else
        msgpack_pack_nil (pk);
    fed_call_pack_str (pk, "ours");
    msgpack_pack_uint64 (pk, ours);
    fed_call_pack_str (pk, "theirs");
    msgpack_pack_uint64 (pk, theirs);
    fed_call_pack_str (pk, "we_lack");
    msgpack_pack_uint64 (pk, theirs > ours ? theirs - ours : 0);
    fed_call_pack_str (pk, "they_lack");
    msgpack_pack_uint64 (pk, ours > theirs ? ours - theirs : 0);
}

int
fed_cmd_sync_status (fed_call_t *call)
{
    if (fed_ctl_args_all_used (call->request, &call->err))
        return fed_call_fail (call, "bad_request", "%s", call->err.text);
    fed_node_t *node = call->node;
    const fed_repl_peer_t *peers;
    size_t peer_count = fed_repl_peers (fed_peer_repl (node->peer), &peers);
    fed_vv_entry_t *ours;
    size_t our_count = fed_evlog_version_vector (node->log, &ours);
    msgpack_sbuffer rows;
    msgpack_sbuffer_init (&rows);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &rows, msgpack_sbuffer_write);
    uint32_t row_count = 0;
    for (size_t p = 0; p < peer_count; p++) {
        const fed_repl_peer_t *peer = &peers [p];
        uint32_t before = row_count;
        //  Both sorted by origin: walk them together.
        size_t i = 0, j = 0;
        while (i < our_count || j < peer->count) {
            int order = i == our_count ? 1
                : j == peer->count     ? -1
                                       : memcmp (ours [i].origin, peer->entries [j].origin, 32);
            const uint8_t *origin = order <= 0 ? ours [i].origin : peer->entries [j].origin;
            uint64_t mine = order <= 0 ? ours [i].seq : 0;
            uint64_t theirs = order >= 0 ? peer->entries [j].seq : 0;
            if (mine != theirs) {
                s_pack_row (&pk, node, peer, origin, mine, theirs);
                row_count++;
            }
            if (order <= 0)
                i++;
            if (order >= 0)
                j++;
        }
        if (row_count == before) {
            s_pack_row (&pk, node, peer, NULL, 0, 0);
            row_count++;
        }
    }
    msgpack_pack_array (call->pk, row_count);
    fed_call_pack_raw (call->pk, rows.data, rows.size);
    msgpack_sbuffer_destroy (&rows);
    free (ours);
    return 0;
}
