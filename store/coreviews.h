/*  store/coreviews.h: the views every node keeps.

    stats/type/TYPE     counter: events held of each type
    nodes/ORIGIN(32)    LWW register: body of the origin's latest
                        node.started or node.info event (name, version,
                        location, endpoints)
    kv/KEY              LWW register: msgpack value of the latest kv.set
                        for KEY ({key: str ≤ 256 bytes, value: any}); a
                        kv.delete ({key}) writes nil, a tombstone that
                        still orders later writes
    trust/KEY(32)       LWW register: body of the latest trust.added
                        ({key: bin32, role: str, name: str}) for KEY whose
                        role names a known role (others are ignored), or nil
                        after trust.removed ({key: bin32})
    tokens/c/ID         LWW register: body of token.created ({id: str ≤ 16,
                        hash: bin32, name, expires: uint ms|nil, uses: uint|nil})
    tokens/r/ID         LWW register: body of token.revoked ({id})
*/
#ifndef FED_COREVIEWS_H_INCLUDED
#define FED_COREVIEWS_H_INCLUDED

#include "evlog.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_KV_KEY_MAX 256

//  Registers the views above on log (refolding any that are new or changed).
//  0, or -1 with err.
int fed_coreviews_register (fed_evlog_t *log, fed_err_t *err) FED_MUST_USE;

//  Reads a counter of the stats view ("type/user.deploy"), or "total": the
//  sum over all types. 0 if absent.
int64_t fed_coreviews_count (fed_evlog_t *log, const char *name);

//  Reads kv KEY. Returns 0 with *value_p (a msgpack object, caller frees;
//  NULL if absent or deleted), or -1 on a storage error.
int fed_coreviews_kv_get (fed_evlog_t *log, const char *key, uint8_t **value_p,
                          size_t *size_p) FED_MUST_USE;

//  Finds member name of the msgpack map body and sets *value to its raw
//  bytes. Returns 0, or -1 if body is not a map or has no such member.
int fed_coreviews_member (const uint8_t *body, size_t size, const char *name,
                          fed_blob_t *value) FED_MUST_USE;

//  Member name of body read as a string (borrowed, not NUL-terminated) or
//  as a bin. Return 0, or -1 if absent or of another type.
int fed_coreviews_member_str (const uint8_t *body, size_t size, const char *name, const char **ptr,
                              uint32_t *len) FED_MUST_USE;
int fed_coreviews_member_bin (const uint8_t *body, size_t size, const char *name,
                              const uint8_t **ptr, uint32_t *len) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
