/*  tests/unit/test_jointoken.c: which join tokens admit a node. A live
    token admits; an unknown id, a wrong secret under a known id, a
    malformed text, an expired, a revoked and a used-up token are refused
    with a reason that never repeats the token. Runs on a real event log in
    a temp dir, with token.created / token.revoked / trust.added events
    shaped as the node writes them.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "coreviews.h"
#include "evlog.h"
#include "jointoken.h"
#include "log.h"

#include <msgpack.h>
#include <sodium.h>

typedef struct {
    char *dir;
    fed_identity_t *local;
    fed_evlog_t *log;
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    char template [] = "/tmp/fed-test-jointoken.XXXXXX";
    assert_non_null (mkdtemp (template));
    self->dir = strdup (template);
    char db [300];
    snprintf (db, sizeof db, "%s/db", self->dir);
    self->local = fed_test_identity (7);
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = FED_DURABILITY_WAL;
    fed_err_t err = {0, ""};
    self->log = fed_evlog_open (db, &options, &err);
    assert_non_null (self->log);
    fed_evlog_set_signer (self->log, fed_identity_public (self->local),
                          fed_identity_secret (self->local));
    assert_int_equal (fed_coreviews_register (self->log, &err), 0);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_evlog_destroy (&self->log);
    fed_identity_destroy (&self->local);
    fed_test_rmtree (self->dir);
    free (self->dir);
    free (self);
    return 0;
}

static void
s_pack_str (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body (pk, text, strlen (text));
}

//  Appends token.created for token text with id, expiry (0: none) and uses (0: unlimited).
static void
s_create (fixture_t *self, const char *token, const char *id, int64_t expires, uint64_t uses)
{
    uint8_t hash [32];
    crypto_generichash (hash, sizeof hash, (const unsigned char *) token, strlen (token), NULL, 0);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    s_pack_str (&pk, "id");
    s_pack_str (&pk, id);
    s_pack_str (&pk, "hash");
    msgpack_pack_bin_with_body (&pk, hash, 32);
    s_pack_str (&pk, "name");
    msgpack_pack_nil (&pk);
    s_pack_str (&pk, "expires");
    if (expires)
        msgpack_pack_int64 (&pk, expires);
    else
        msgpack_pack_nil (&pk);
    s_pack_str (&pk, "uses");
    if (uses)
        msgpack_pack_uint64 (&pk, uses);
    else
        msgpack_pack_nil (&pk);
    fed_err_t err;
    assert_int_equal (
        fed_evlog_append (self->log, "token.created", body.data, body.size, NULL, &err), 0);
    msgpack_sbuffer_destroy (&body);
}

static void
s_revoke (fixture_t *self, const char *id)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    s_pack_str (&pk, "id");
    s_pack_str (&pk, id);
    fed_err_t err;
    assert_int_equal (
        fed_evlog_append (self->log, "token.revoked", body.data, body.size, NULL, &err), 0);
    msgpack_sbuffer_destroy (&body);
}

//  Records one admission by token id for key fill (as the seed does).
static void
s_use (fixture_t *self, const char *id, uint8_t fill)
{
    fed_identity_t *joiner = fed_test_identity (fill);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    s_pack_str (&pk, "key");
    msgpack_pack_bin_with_body (&pk, fed_identity_public (joiner), 32);
    s_pack_str (&pk, "role");
    s_pack_str (&pk, "peer");
    s_pack_str (&pk, "name");
    s_pack_str (&pk, "joiner");
    s_pack_str (&pk, "token");
    s_pack_str (&pk, id);
    fed_err_t err;
    assert_int_equal (fed_evlog_append (self->log, "trust.added", body.data, body.size, NULL, &err),
                      0);
    msgpack_sbuffer_destroy (&body);
    fed_identity_destroy (&joiner);
}

//  Checks token; expects refusal containing reason (or success when NULL).
static void
s_expect (fixture_t *self, const char *token, int64_t now, const char *reason)
{
    char id [FED_JOINTOKEN_ID_MAX + 1];
    fed_err_t err = {0, ""};
    int rc = fed_jointoken_check (self->log, token, strlen (token), now, id, &err);
    if (!reason) {
        if (rc != 0)
            print_error ("token %s refused: %s\n", token, err.text);
        assert_int_equal (rc, 0);
        return;
    }
    assert_int_equal (rc, -1);
    assert_contains (err.text, reason);
    //  The secret part never appears in the reason.
    const char *secret = strrchr (token, '-');
    if (secret && strlen (secret) > 4)
        assert_null (strstr (err.text, secret + 1));
}

static void
test_live_token_admits (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_create (self, "fedtok-0a1b2c3d-Secret/Part+With-Dashes", "0a1b2c3d", 0, 0);
    char id [FED_JOINTOKEN_ID_MAX + 1];
    fed_err_t err;
    const char *token = "fedtok-0a1b2c3d-Secret/Part+With-Dashes";
    assert_int_equal (fed_jointoken_check (self->log, token, strlen (token), 1000, id, &err), 0);
    assert_string_equal (id, "0a1b2c3d");
    //  Unlimited uses: still good after many admissions.
    for (uint8_t i = 0; i < 5; i++)
        s_use (self, "0a1b2c3d", (uint8_t) (40 + i));
    s_expect (self, token, 1000, NULL);
}

static void
test_unknown_and_wrong_secret (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_create (self, "fedtok-00000001-right", "00000001", 0, 0);
    s_expect (self, "fedtok-00000001-wrong", 1000, "unknown join token");
    s_expect (self, "fedtok-00000002-right", 1000, "unknown join token");
    s_expect (self, "fedtok-00000001-right", 1000, NULL);
}

static void
test_malformed_texts (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    static const char *texts [] = {
        "",
        "fedtok",
        "fedtok-",
        "fedtok--secret",
        "fedtok-XYZ-secret",
        "token-1-2",
        "fedtok-0000000100000000001-s",
        "fedtok-abc",
        "FEDTOK-00000001-x",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++)
        s_expect (self, texts [i], 1000, "unknown join token");
}

static void
test_expired (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_create (self, "fedtok-000000aa-s", "000000aa", 5000, 0);
    s_expect (self, "fedtok-000000aa-s", 4999, NULL);
    s_expect (self, "fedtok-000000aa-s", 5000, "join token 000000aa expired");
}

static void
test_revoked (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_create (self, "fedtok-000000bb-s", "000000bb", 0, 0);
    s_revoke (self, "000000bb");
    s_expect (self, "fedtok-000000bb-s", 1000, "join token 000000bb was revoked");
}

static void
test_used_up (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_create (self, "fedtok-000000cc-s", "000000cc", 0, 2);
    s_use (self, "000000cc", 50);
    s_expect (self, "fedtok-000000cc-s", 1000, NULL);
    s_use (self, "000000cc", 51);
    s_expect (self, "fedtok-000000cc-s", 1000, "join token 000000cc is used up (2 uses)");
    //  Uses of another token do not count against this one.
    s_create (self, "fedtok-000000dd-s", "000000dd", 0, 1);
    s_expect (self, "fedtok-000000dd-s", 1000, NULL);
}

//  Appends trust.removed for the key of fill.
static void
s_remove (fixture_t *self, uint8_t fill)
{
    fed_identity_t *key = fed_test_identity (fill);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    s_pack_str (&pk, "key");
    msgpack_pack_bin_with_body (&pk, fed_identity_public (key), 32);
    fed_err_t err;
    assert_int_equal (
        fed_evlog_append (self->log, "trust.removed", body.data, body.size, NULL, &err), 0);
    msgpack_sbuffer_destroy (&body);
    fed_identity_destroy (&key);
}

static void
test_key_admissible (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_err_t err = {0, ""};
    fed_identity_t *fresh = fed_test_identity (60);
    assert_int_equal (fed_jointoken_key_admissible (self->log, fed_identity_public (fresh), &err),
                      0);
    //  Admitted once (trust.added): already trusted.
    s_use (self, "000000ee", 60);
    assert_int_equal (fed_jointoken_key_admissible (self->log, fed_identity_public (fresh), &err),
                      -1);
    assert_contains (err.text, "already trusted");
    //  Removed by an admin: a token must not bring it back.
    s_remove (self, 60);
    assert_int_equal (fed_jointoken_key_admissible (self->log, fed_identity_public (fresh), &err),
                      -1);
    assert_contains (err.text, "was removed from the cluster");
    //  Its twin (sign bit flipped: the same CURVE key) is refused too.
    uint8_t twin [32];
    memcpy (twin, fed_identity_public (fresh), 32);
    twin [31] ^= 0x80;
    assert_int_equal (fed_jointoken_key_admissible (self->log, twin, &err), -1);
    assert_contains (err.text, "shares its CURVE key");
    fed_identity_destroy (&fresh);
}

int
main (void)
{
    fed_log_set_level (FED_LOG_ERROR);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_live_token_admits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_and_wrong_secret, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_malformed_texts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_expired, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_revoked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_used_up, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_key_admissible, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
