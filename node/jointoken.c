/*  node/jointoken.c: is a presented join token live? (see jointoken.h) */
#include "jointoken.h"
#include "coreviews.h"
#include "mpread.h"
#include "trust.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

//  Member name of a token.created body as an int, or absent/nil (false).
static bool
s_member_int (const uint8_t *body, size_t size, const char *name, int64_t *value)
{
    fed_blob_t member;
    if (fed_coreviews_member (body, size, name, &member))
        return false;
    fed_mpr_t reader;
    fed_mpr_init (&reader, member.data, member.size);
    if (fed_mpr_peek (&reader) == FED_MP_NIL)
        return false;
    return fed_mpr_int (&reader, value) == 0;
}

static int
s_count_use (void *arg, const uint8_t *key, size_t key_size, const uint8_t *value,
             size_t value_size)
{
    (void) key;
    (void) key_size;
    (void) value;
    (void) value_size;
    (*(uint64_t *) arg)++;
    return 0;
}

int
fed_jointoken_check (fed_evlog_t *log, const char *token, size_t size, int64_t now_ms,
                     char id [FED_JOINTOKEN_ID_MAX + 1], fed_err_t *err)
{
    //  "fedtok-" ID "-" SECRET: the id names the record, the hash proves it.
    const char *prefix = "fedtok-";
    const char *dash = size > 7 ? memchr (token + 7, '-', size - 7) : NULL;
    size_t id_size = dash ? (size_t) (dash - token) - 7 : 0;
    if (size <= 7 || memcmp (token, prefix, 7) != 0 || !dash || id_size == 0
        || id_size > FED_JOINTOKEN_ID_MAX) {
        fed_err_set (err, -1, "unknown join token (not of the form fedtok-ID-SECRET)");
        return -1;
    }
    memcpy (id, token + 7, id_size);
    id [id_size] = 0;
    for (size_t i = 0; i < id_size; i++)
        if (!strchr ("0123456789abcdef", id [i])) {
            fed_err_set (err, -1, "unknown join token (not of the form fedtok-ID-SECRET)");
            return -1;
        }
    char key [64];
    snprintf (key, sizeof key, "tokens/c/%s", id);
    uint8_t *record = NULL;
    size_t record_size = 0;
    if (fed_evlog_view_get (log, key, strlen (key), &record, &record_size)) {
        fed_err_set (err, -1, "reading the tokens view failed");
        return -1;
    }
    size_t body_size = 0;
    const uint8_t *body = record ? fed_view_lww_value (record, record_size, &body_size) : NULL;
    const uint8_t *hash = NULL;
    uint32_t hash_size = 0;
    uint8_t presented [32];
    crypto_generichash (presented, sizeof presented, (const unsigned char *) token, size, NULL, 0);
    if (!body || fed_coreviews_member_bin (body, body_size, "hash", &hash, &hash_size)
        || hash_size != 32 || sodium_memcmp (hash, presented, 32) != 0) {
        free (record);
        fed_err_set (err, -1, "unknown join token");
        return -1;
    }
    int64_t expires = 0, uses = 0;
    bool has_expiry = s_member_int (body, body_size, "expires", &expires);
    bool has_uses = s_member_int (body, body_size, "uses", &uses);
    free (record);
    snprintf (key, sizeof key, "tokens/r/%s", id);
    record = NULL;
    int rc = fed_evlog_view_get (log, key, strlen (key), &record, &record_size);
    bool revoked = record != NULL;
    free (record);
    if (rc) {
        fed_err_set (err, -1, "reading the tokens view failed");
        return -1;
    }
    if (revoked) {
        fed_err_set (err, -1, "join token %s was revoked", id);
        return -1;
    }
    if (has_expiry && now_ms >= expires) {
        fed_err_set (err, -1, "join token %s expired", id);
        return -1;
    }
    if (has_uses) {
        uint64_t used = 0;
        snprintf (key, sizeof key, "tokens/u/%s/", id);
        if (fed_evlog_view_scan (log, key, s_count_use, &used)) {
            fed_err_set (err, -1, "reading the tokens view failed");
            return -1;
        }
        if (used >= (uint64_t) uses) {
            fed_err_set (err, -1, "join token %s is used up (%lld uses)", id, (long long) uses);
            return -1;
        }
    }
    return 0;
}

int
fed_jointoken_key_admissible (fed_evlog_t *log, const uint8_t key [32], fed_err_t *err)
{
    fed_trust_record_t own, twin;
    if (fed_trust_view_record (log, key, false, &own)
        || fed_trust_view_record (log, key, true, &twin)) {
        fed_err_set (err, -1, "reading the trust view failed");
        return -1;
    }
    if (own == FED_TRUST_RECORD_REMOVED)
        fed_err_set (err, -1,
                     "this key was removed from the cluster; a join token cannot admit it again "
                     "(an admin can, with fedctl trust add)");
    else if (own == FED_TRUST_RECORD_ADDED)
        fed_err_set (err, -1, "this key is already trusted, with a role other than peer");
    else if (twin != FED_TRUST_RECORD_NONE)
        fed_err_set (err, -1,
                     "this key shares its CURVE key with a key that is or was trusted; a join "
                     "token cannot admit it");
    else
        return 0;
    return -1;
}
