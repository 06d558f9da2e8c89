/*  tests/unit/test_trust.c: the trusted set. Config entries and the local
    admin key are trusted with their roles; trust.added and trust.removed
    events override them last-writer-wins, a removal holds even when the
    config still lists the key and across a reopen, and malformed trust
    events change nothing. Each test runs on a real event log in its own
    temp directory, removed afterwards.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "coreviews.h"
#include "evlog.h"
#include "identity.h"
#include "trust.h"

//  --- Fixture: a temp dir, the log's signer, an admin key, three others ------

typedef struct {
    char *dir;                 //  temp dir, removed at teardown
    char *db;                  //  dir/db
    fed_identity_t *local;     //  the log's signer
    fed_identity_t *admin;     //  the local admin.key
    fed_identity_t *a, *b, *c; //  keys to trust
    fed_config_t *config;      //  trust: a peer "alpha", b viewer
    fed_evlog_t *log;
    fed_trust_t *trust;
} fixture_t;

static fed_evlog_t *
s_open (fixture_t *self)
{
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = FED_DURABILITY_WAL;
    fed_err_t err = {0, ""};
    fed_evlog_t *log = fed_evlog_open (self->db, &options, &err);
    if (!log)
        print_error ("open failed: %s\n", err.text);
    assert_non_null (log);
    fed_evlog_set_signer (log, fed_identity_public (self->local),
                          fed_identity_secret (self->local));
    int rc = fed_coreviews_register (log, &err);
    if (rc)
        print_error ("coreviews: %s\n", err.text);
    assert_int_equal (rc, 0);
    return log;
}

static int
s_setup (void **state)
{
    char template [] = "/tmp/fed-trust-XXXXXX";
    if (!mkdtemp (template))
        return -1;
    fixture_t *self = calloc (1, sizeof *self);
    self->dir = fed_strdup (template);
    self->db = fed_sprintf ("%s/db", template);
    self->local = fed_test_identity (1);
    self->admin = fed_test_identity (2);
    self->a = fed_test_identity (3);
    self->b = fed_test_identity (4);
    self->c = fed_test_identity (5);
    char a_hex [65], b_hex [65];
    fed_hex_encode (a_hex, fed_identity_public (self->a), 32);
    fed_hex_encode (b_hex, fed_identity_public (self->b), 32);
    char *yaml = fed_sprintf ("trust:\n"
                              "  - {key: \"%s\", role: peer, name: alpha}\n"
                              "  - key: \"%s\"\n"
                              "    role: viewer\n",
                              a_hex, b_hex);
    self->config = fed_config_new ();
    fed_err_t err = {0, ""};
    int rc = fed_config_load_string (self->config, yaml, strlen (yaml), "trust.yaml", &err);
    free (yaml);
    if (rc) {
        print_error ("config: %s\n", err.text);
        return -1;
    }
    self->log = s_open (self);
    self->trust = fed_trust_new ();
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    fed_trust_destroy (&self->trust);
    fed_evlog_destroy (&self->log);
    int rc = fed_test_rmtree (self->dir);
    fed_config_destroy (&self->config);
    fed_identity_destroy (&self->local);
    fed_identity_destroy (&self->admin);
    fed_identity_destroy (&self->a);
    fed_identity_destroy (&self->b);
    fed_identity_destroy (&self->c);
    free (self->db);
    free (self->dir);
    free (self);
    return rc;
}

//  --- Helpers ----------------------------------------------------------------

static void
s_load (fixture_t *self)
{
    fed_err_t err = {0, ""};
    int rc = fed_trust_load (self->trust, self->config, fed_identity_public (self->admin), NULL,
                             self->log, &err);
    if (rc)
        print_error ("trust load: %s\n", err.text);
    assert_int_equal (rc, 0);
}

static void
s_append (fixture_t *self, const char *type, msgpack_sbuffer *body)
{
    fed_err_t err = {0, ""};
    int rc = fed_evlog_append (self->log, type, body->data, body->size, NULL, &err);
    if (rc)
        print_error ("append %s: %s\n", type, err.text);
    assert_int_equal (rc, 0);
    msgpack_sbuffer_destroy (body);
}

static void
s_pack_str (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body (pk, text, strlen (text));
}

//  Appends trust.added {key, role[, name]}.
static void
s_added (fixture_t *self, const fed_identity_t *who, const char *role, const char *name)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, name ? 3 : 2);
    s_pack_str (&pk, "key");
    msgpack_pack_bin_with_body (&pk, fed_identity_public (who), 32);
    s_pack_str (&pk, "role");
    s_pack_str (&pk, role);
    if (name) {
        s_pack_str (&pk, "name");
        s_pack_str (&pk, name);
    }
    s_append (self, "trust.added", &body);
}

static void
s_removed (fixture_t *self, const fed_identity_t *who)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    s_pack_str (&pk, "key");
    msgpack_pack_bin_with_body (&pk, fed_identity_public (who), 32);
    s_append (self, "trust.removed", &body);
}

//  The entry for who, or NULL.
static const fed_trusted_t *
s_entry (fixture_t *self, const fed_identity_t *who)
{
    const fed_trusted_t *entries;
    size_t count = fed_trust_entries (self->trust, &entries);
    for (size_t i = 0; i < count; i++)
        if (memcmp (entries [i].key, fed_identity_public (who), 32) == 0)
            return &entries [i];
    return NULL;
}

//  Asserts who is trusted with role, source and name.
static void
s_expect (fixture_t *self, const fed_identity_t *who, fed_role_t role, fed_trust_source_t source,
          const char *name)
{
    const fed_trusted_t *entry = s_entry (self, who);
    if (!entry) {
        print_error ("expected %s (%s) to be trusted; it is not\n", fed_role_name (role),
                     fed_trust_source_name (source));
        fail ();
    }
    if (entry->role != role || entry->source != source) {
        print_error ("expected %s/%s, got %s/%s\n", fed_role_name (role),
                     fed_trust_source_name (source), fed_role_name (entry->role),
                     fed_trust_source_name (entry->source));
        fail ();
    }
    assert_string_equal (entry->name, name);
    fed_role_t got;
    assert_true (fed_trust_role (self->trust, fed_identity_public (who), &got));
    assert_int_equal (got, role);
    uint8_t curve [32];
    assert_int_equal (fed_identity_curve_from_public (fed_identity_public (who), curve), 0);
    assert_memory_equal (entry->curve, curve, 32);
}

static void
s_expect_absent (fixture_t *self, const fed_identity_t *who)
{
    assert_null (s_entry (self, who));
    fed_role_t role = FED_ROLE_VIEWER;
    assert_false (fed_trust_role (self->trust, fed_identity_public (who), &role));
    assert_int_equal (role, FED_ROLE_VIEWER);
    assert_false (fed_trust_is_peer (self->trust, fed_identity_public (who)));
}

static size_t
s_count (fixture_t *self)
{
    const fed_trusted_t *entries;
    return fed_trust_entries (self->trust, &entries);
}

//  --- Tests ------------------------------------------------------------------

static void
test_empty_set (void **state)
{
    fixture_t *self = *state;
    assert_int_equal (s_count (self), 0);
    s_expect_absent (self, self->a);
    assert_string_equal (fed_trust_source_name (FED_TRUST_CONFIG), "config");
    assert_string_equal (fed_trust_source_name (FED_TRUST_LOCAL), "local");
    assert_string_equal (fed_trust_source_name (FED_TRUST_EVENT), "event");
}

static void
test_config_and_admin (void **state)
{
    fixture_t *self = *state;
    s_load (self);
    assert_int_equal (s_count (self), 3);
    const fed_trusted_t *entries;
    fed_trust_entries (self->trust, &entries);
    //  Order: config, then local.
    assert_memory_equal (entries [0].key, fed_identity_public (self->a), 32);
    assert_memory_equal (entries [1].key, fed_identity_public (self->b), 32);
    assert_memory_equal (entries [2].key, fed_identity_public (self->admin), 32);
    s_expect (self, self->a, FED_ROLE_PEER, FED_TRUST_CONFIG, "alpha");
    s_expect (self, self->b, FED_ROLE_VIEWER, FED_TRUST_CONFIG, "");
    s_expect (self, self->admin, FED_ROLE_ADMIN, FED_TRUST_LOCAL, "local admin.key");
    s_expect_absent (self, self->c);
    s_expect_absent (self, self->local);
    assert_true (fed_trust_role (self->trust, fed_identity_public (self->a), NULL));

    //  Only peer-role keys are peers.
    assert_true (fed_trust_is_peer (self->trust, fed_identity_public (self->a)));
    assert_false (fed_trust_is_peer (self->trust, fed_identity_public (self->b)));
    assert_false (fed_trust_is_peer (self->trust, fed_identity_public (self->admin)));

    //  No admin key, no log: config only.
    fed_err_t err = {0, ""};
    assert_int_equal (fed_trust_load (self->trust, self->config, NULL, NULL, NULL, &err), 0);
    assert_int_equal (s_count (self), 2);
    s_expect_absent (self, self->admin);
}

static void
test_event_adds_and_changes_role (void **state)
{
    fixture_t *self = *state;
    s_added (self, self->c, "operator", "carol");
    s_added (self, self->b, "peer", NULL);
    s_load (self);
    assert_int_equal (s_count (self), 4);
    s_expect (self, self->c, FED_ROLE_OPERATOR, FED_TRUST_EVENT, "carol");
    //  The event overrides the config's role for b.
    s_expect (self, self->b, FED_ROLE_PEER, FED_TRUST_EVENT, "");
    s_expect (self, self->a, FED_ROLE_PEER, FED_TRUST_CONFIG, "alpha");
    s_expect (self, self->admin, FED_ROLE_ADMIN, FED_TRUST_LOCAL, "local admin.key");
    assert_true (fed_trust_is_peer (self->trust, fed_identity_public (self->b)));
    assert_false (fed_trust_is_peer (self->trust, fed_identity_public (self->c)));

    //  A later event wins over an earlier one for the same key.
    s_added (self, self->c, "approver", "carol 2");
    s_load (self);
    s_expect (self, self->c, FED_ROLE_APPROVER, FED_TRUST_EVENT, "carol 2");
    assert_int_equal (s_count (self), 4);
}

static void
test_removed_stays_removed (void **state)
{
    fixture_t *self = *state;
    s_added (self, self->c, "viewer", "carol");
    s_removed (self, self->a);
    s_removed (self, self->c);
    s_load (self);
    s_expect_absent (self, self->a);
    s_expect_absent (self, self->c);
    assert_int_equal (s_count (self), 2);
    //  What remains keeps the documented order: config, then local.
    const fed_trusted_t *entries;
    fed_trust_entries (self->trust, &entries);
    assert_memory_equal (entries [0].key, fed_identity_public (self->b), 32);
    assert_memory_equal (entries [1].key, fed_identity_public (self->admin), 32);

    //  Across a reopen of the log and a reload.
    fed_evlog_destroy (&self->log);
    self->log = s_open (self);
    fed_trust_destroy (&self->trust);
    self->trust = fed_trust_new ();
    s_load (self);
    s_expect_absent (self, self->a);
    s_expect_absent (self, self->c);
    s_expect (self, self->b, FED_ROLE_VIEWER, FED_TRUST_CONFIG, "");

    //  A later trust.added re-adds it (last writer wins by hlc).
    s_added (self, self->a, "approver", "alpha again");
    s_load (self);
    s_expect (self, self->a, FED_ROLE_APPROVER, FED_TRUST_EVENT, "alpha again");
    s_expect_absent (self, self->c);
    assert_false (fed_trust_is_peer (self->trust, fed_identity_public (self->a)));
}

//  Packs a trust body from a shape code, for the malformed cases.
static void
s_malformed (fixture_t *self, const char *type, int shape, const fed_identity_t *who)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    const uint8_t *key = fed_identity_public (who);
    switch (shape) {
        case 0: //  no key
            msgpack_pack_map (&pk, 2);
            s_pack_str (&pk, "role");
            s_pack_str (&pk, "peer");
            s_pack_str (&pk, "name");
            s_pack_str (&pk, "nokey");
            break;
        case 1: //  key of 31 bytes
            msgpack_pack_map (&pk, 2);
            s_pack_str (&pk, "key");
            msgpack_pack_bin_with_body (&pk, key, 31);
            s_pack_str (&pk, "role");
            s_pack_str (&pk, "peer");
            break;
        case 2: //  key as a str
            msgpack_pack_map (&pk, 2);
            s_pack_str (&pk, "key");
            msgpack_pack_str_with_body (&pk, key, 32);
            s_pack_str (&pk, "role");
            s_pack_str (&pk, "peer");
            break;
        case 3: //  unknown role
            msgpack_pack_map (&pk, 2);
            s_pack_str (&pk, "key");
            msgpack_pack_bin_with_body (&pk, key, 32);
            s_pack_str (&pk, "role");
            s_pack_str (&pk, "root");
            break;
        case 4: //  role not a str
            msgpack_pack_map (&pk, 2);
            s_pack_str (&pk, "key");
            msgpack_pack_bin_with_body (&pk, key, 32);
            s_pack_str (&pk, "role");
            msgpack_pack_uint8 (&pk, 1);
            break;
        case 5: //  no role
            msgpack_pack_map (&pk, 1);
            s_pack_str (&pk, "key");
            msgpack_pack_bin_with_body (&pk, key, 32);
            break;
        default: //  key nil, role a map
            msgpack_pack_map (&pk, 2);
            s_pack_str (&pk, "key");
            msgpack_pack_nil (&pk);
            s_pack_str (&pk, "role");
            msgpack_pack_map (&pk, 0);
            break;
    }
    s_append (self, type, &body);
}

static void
test_malformed_events_ignored (void **state)
{
    fixture_t *self = *state;
    s_added (self, self->c, "operator", "carol");
    s_removed (self, self->b);
    s_load (self);
    assert_int_equal (s_count (self), 3);
    //  Every malformed trust.added, about c (trusted by event), b (removed
    //  though in config) and admin (local); and malformed trust.removed.
    const fed_identity_t *whos [] = {self->c, self->b, self->admin};
    for (int shape = 0; shape <= 6; shape++)
        for (size_t w = 0; w < 3; w++) {
            s_malformed (self, "trust.added", shape, whos [w]);
            if (shape != 3 && shape != 4 && shape != 5)
                s_malformed (self, "trust.removed", shape, whos [w]);
        }
    s_load (self);
    assert_int_equal (s_count (self), 3);
    s_expect (self, self->c, FED_ROLE_OPERATOR, FED_TRUST_EVENT, "carol");
    s_expect_absent (self, self->b);
    s_expect (self, self->a, FED_ROLE_PEER, FED_TRUST_CONFIG, "alpha");
    s_expect (self, self->admin, FED_ROLE_ADMIN, FED_TRUST_LOCAL, "local admin.key");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_empty_set, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_config_and_admin, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_event_adds_and_changes_role, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_removed_stays_removed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_malformed_events_ignored, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
