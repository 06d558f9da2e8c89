/*  tests/unit/test_memberfilter.c: member filters (node/memberfilter.h).
    Statuses are ORed and tags ANDed; a pattern must match a tag's whole
    value; a member without a filtered tag does not match; bad patterns,
    limits and badly typed request arguments are refused with messages that
    name what is wrong.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <regex.h>

#include "testutil.h"

#include "memberfilter.h"

//  --- Helpers ----------------------------------------------------------------

//  A member in eu-west / a / rack-1 with label tier=gold.
static const fed_member_tag_t s_tags [] = {
    {"region", "eu-west"},
    {"zone", "a"},
    {"site", "rack-1"},
    {"tier", "gold"},
};
#define S_TAG_COUNT (sizeof s_tags / sizeof s_tags [0])

static void
s_add_tag (fed_member_filter_t *filter, const char *key, const char *regexp)
{
    fed_err_t err = {0, ""};
    if (fed_member_filter_add_tag (filter, key, regexp, &err)) {
        print_error ("expected tag %s=%s to be taken; got: %s\n", key, regexp, err.text);
        fail ();
    }
}

//  Whether a filter of the single tag key=regexp matches value.
static bool
s_one (const char *key, const char *regexp, const char *value)
{
    fed_member_filter_t *filter = fed_member_filter_new ();
    s_add_tag (filter, key, regexp);
    fed_member_tag_t tag = {key, value};
    bool matched = fed_member_filter_match (filter, "alive", &tag, 1);
    fed_member_filter_destroy (&filter);
    return matched;
}

#define assert_matches(key, regexp, value)                                                         \
    do {                                                                                           \
        if (!s_one ((key), (regexp), (value))) {                                                   \
            print_error ("expected %s=%s to match \"%s\"\n", (key), (regexp), (value));            \
            fail ();                                                                               \
        }                                                                                          \
    } while (0)

#define assert_no_match(key, regexp, value)                                                        \
    do {                                                                                           \
        if (s_one ((key), (regexp), (value))) {                                                    \
            print_error ("expected %s=%s not to match \"%s\"\n", (key), (regexp), (value));        \
            fail ();                                                                               \
        }                                                                                          \
    } while (0)

//  A string of size copies of c. Caller frees.
static char *
s_repeat (char c, size_t size)
{
    char *text = (char *) fed_malloc (size + 1);
    memset (text, c, size);
    text [size] = 0;
    return text;
}

typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
    fed_ctl_request_t request;
} s_request_t;

static void
s_str (s_request_t *self, const char *text)
{
    msgpack_pack_str_with_body (&self->pk, text, strlen (text));
}

//  Starts a members request with arg_count arguments; the caller packs them.
static void
s_begin (s_request_t *self, uint32_t arg_count)
{
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->pk, &self->buffer, msgpack_sbuffer_write);
    fed_ctl_request_begin (&self->pk, "members", arg_count);
}

//  Decodes the packed request, reads a filter from it and returns what
//  fed_member_filter_from_request returned, with its message in err. The
//  filter is left in *filter_p (caller destroys it).
static int
s_from_request (s_request_t *self, fed_member_filter_t **filter_p, fed_err_t *err)
{
    const char *code;
    int rc =
        fed_ctl_request_decode (self->buffer.data, self->buffer.size, &self->request, &code, err);
    if (rc) {
        print_error ("the test's request does not decode: %s\n", err->text);
        fail ();
    }
    err->text [0] = 0;
    *filter_p = fed_member_filter_new ();
    return fed_member_filter_from_request (*filter_p, &self->request, err);
}

//  Expects the packed request to be refused with a message holding needle.
static void
s_expect_refused (s_request_t *self, const char *needle)
{
    fed_member_filter_t *filter;
    fed_err_t err;
    int rc = s_from_request (self, &filter, &err);
    if (rc != -1) {
        print_error ("expected the request to be refused (\"%s\"); got %d\n", needle, rc);
        fail ();
    }
    assert_contains (err.text, needle);
    fed_member_filter_destroy (&filter);
    msgpack_sbuffer_destroy (&self->buffer);
}

//  --- Matching ---------------------------------------------------------------

static void
test_empty_matches_all (void **state)
{
    (void) state;
    fed_member_filter_t *filter = fed_member_filter_new ();
    assert_non_null (filter);
    assert_true (fed_member_filter_match (filter, "alive", s_tags, S_TAG_COUNT));
    assert_true (fed_member_filter_match (filter, "left", NULL, 0));
    assert_true (fed_member_filter_match (filter, NULL, NULL, 0));
    fed_member_filter_destroy (&filter);
    assert_null (filter);
    fed_member_filter_destroy (&filter);
    fed_member_filter_destroy (NULL);
}

static void
test_status_or (void **state)
{
    (void) state;
    fed_member_filter_t *filter = fed_member_filter_new ();
    fed_err_t err;
    assert_int_equal (fed_member_filter_add_status (filter, "alive", &err), 0);
    assert_int_equal (fed_member_filter_add_status (filter, "suspect", &err), 0);
    assert_int_equal (fed_member_filter_add_status (filter, "alive", &err), 0); //  a repeat
    assert_true (fed_member_filter_match (filter, "alive", s_tags, S_TAG_COUNT));
    assert_true (fed_member_filter_match (filter, "suspect", NULL, 0));
    assert_false (fed_member_filter_match (filter, "dead", s_tags, S_TAG_COUNT));
    assert_false (fed_member_filter_match (filter, "left", s_tags, S_TAG_COUNT));
    assert_false (fed_member_filter_match (filter, "unknown", s_tags, S_TAG_COUNT));
    assert_false (fed_member_filter_match (filter, NULL, s_tags, S_TAG_COUNT));
    //  Statuses and tags together: both must hold.
    s_add_tag (filter, "zone", "a");
    assert_true (fed_member_filter_match (filter, "alive", s_tags, S_TAG_COUNT));
    assert_false (fed_member_filter_match (filter, "dead", s_tags, S_TAG_COUNT));
    assert_false (fed_member_filter_match (filter, "alive", s_tags, 1));

    assert_int_equal (fed_member_filter_add_status (filter, "Alive", &err), -1);
    assert_contains (err.text, "'Alive'");
    assert_contains (err.text, "alive, suspect, dead, left");
    assert_int_equal (fed_member_filter_add_status (filter, "", &err), -1);
    fed_member_filter_destroy (&filter);
}

static void
test_tag_and (void **state)
{
    (void) state;
    fed_member_filter_t *filter = fed_member_filter_new ();
    s_add_tag (filter, "region", "eu-.*");
    s_add_tag (filter, "tier", "gold|silver");
    assert_true (fed_member_filter_match (filter, "alive", s_tags, S_TAG_COUNT));
    fed_member_tag_t bronze [] = {{"region", "eu-west"}, {"tier", "bronze"}};
    assert_false (fed_member_filter_match (filter, "alive", bronze, 2));
    fed_member_tag_t us [] = {{"region", "us-east"}, {"tier", "gold"}};
    assert_false (fed_member_filter_match (filter, "alive", us, 2));
    fed_member_filter_destroy (&filter);
}

static void
test_anchoring (void **state)
{
    (void) state;
    assert_matches ("region", "eu", "eu");
    assert_no_match ("region", "eu", "eu-west");
    assert_no_match ("region", "eu", "west-eu");
    assert_matches ("region", "eu.*", "eu-west");
    assert_matches ("region", "eu.*", "eu");
    assert_no_match ("region", "eu.*", "us-eu");
    //  Alternatives are anchored as a whole (Serf's "^a|b$" is not).
    assert_matches ("region", "eu|us", "us");
    assert_no_match ("region", "eu|us", "eu-west");
    assert_no_match ("region", "eu|us", "xus");
    //  An unmatched ')' is a literal in glibc: wrapping as ^(re)$ would
    //  give ^(eu)|x)$, which matches anything starting with eu.
    assert_matches ("region", "eu)|x", "eu)");
    assert_matches ("region", "eu)|x", "x");
    assert_no_match ("region", "eu)|x", "eu-west");
    //  The longest match counts, not the first alternative that matches.
    assert_matches ("site", "(a|ab)(c|bcd)", "abcd");
    assert_matches ("site", "rack|rack-1", "rack-1");
    //  An empty pattern matches only an empty value; explicit anchors are
    //  harmless.
    assert_matches ("site", "", "");
    assert_no_match ("site", "", "x");
    assert_matches ("zone", "^a$", "a");
    assert_matches ("zone", "[[:alpha:]]+-[0-9]", "rack-1");
}

static void
test_missing_tag (void **state)
{
    (void) state;
    fed_member_filter_t *filter = fed_member_filter_new ();
    s_add_tag (filter, "rack", ".*");
    assert_false (fed_member_filter_match (filter, "alive", s_tags, S_TAG_COUNT));
    assert_false (fed_member_filter_match (filter, "alive", NULL, 0));
    //  Entries with a NULL key or value are skipped, not matched.
    fed_member_tag_t holes [] = {{NULL, "x"}, {"rack", NULL}};
    assert_false (fed_member_filter_match (filter, "alive", holes, 2));
    fed_member_tag_t rack [] = {{NULL, NULL}, {"rack", "r2"}};
    assert_true (fed_member_filter_match (filter, "alive", rack, 2));
    fed_member_filter_destroy (&filter);

    //  A key given twice by the member: either value may match.
    filter = fed_member_filter_new ();
    s_add_tag (filter, "role", "db");
    fed_member_tag_t twice [] = {{"role", "web"}, {"role", "db"}};
    assert_true (fed_member_filter_match (filter, "alive", twice, 2));
    fed_member_filter_destroy (&filter);
}

static void
test_bad_regexp (void **state)
{
    (void) state;
    const char *bad [] = {"(", "a{", "[", "*a", "x{1,2", "a\\", "[[:nope:]]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        //  The message carries regerror's own words.
        regex_t regex;
        int code = regcomp (&regex, bad [i], REG_EXTENDED);
        assert_int_not_equal (code, 0);
        char why [256];
        regerror (code, &regex, why, sizeof why);
        fed_member_filter_t *filter = fed_member_filter_new ();
        fed_err_t err;
        assert_int_equal (fed_member_filter_add_tag (filter, "region", bad [i], &err), -1);
        assert_contains (err.text, "tag 'region'");
        assert_contains (err.text, "bad regular expression");
        assert_contains (err.text, why);
        //  The failed tag was not added: the filter still matches everyone.
        assert_true (fed_member_filter_match (filter, "alive", NULL, 0));
        fed_member_filter_destroy (&filter);
    }
}

//  Patterns that would make glibc take exponential time to match, or
//  seconds and much memory to compile, are refused before regcomp.
static void
test_costly_patterns (void **state)
{
    (void) state;
    const char *refused [] = {
        "(a)\\1",  "(a|aa)\\1*b", "((a*)*\\2)*b", "((a{255}){255}){255}", "(a{1,255}){1,255}",
        "a{1025}", "(ab){600}",   "(a{40}){40}",  "(a{1,32}){1,32}x",     "(a{20}b+){50}"};
    const char *why [] = {"back-references (\\1)", "back-references (\\1)", "back-references (\\2)",
                          "repeat counts",         "repeat counts",         "repeat counts",
                          "repeat counts",         "repeat counts",         "repeat counts",
                          "repeat counts"};
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        fed_member_filter_t *filter = fed_member_filter_new ();
        fed_err_t err = {0, ""};
        if (fed_member_filter_add_tag (filter, "site", refused [i], &err) != -1) {
            print_error ("expected pattern %s to be refused\n", refused [i]);
            fail ();
        }
        assert_contains (err.text, "tag 'site'");
        assert_contains (err.text, why [i]);
        fed_member_filter_destroy (&filter);
    }
    //  Near misses are taken: brackets and escaped backslashes are not
    //  back-references, and repeat counts up to 1024 positions in all are fine.
    assert_matches ("site", "[\\1]x", "1x");
    assert_matches ("site", "\\\\1", "\\1");
    assert_matches ("site", "(a{1,32}){1,32}", "aaaa");
    assert_matches ("site", "a{1000}|b", "b");
    assert_matches ("site", "[a-z0-9]{1,63}(\\.[a-z0-9]{1,63}){0,3}", "rack1.example");
    assert_matches ("site", "[[:digit:]]{2}-[]x]{1,4}", "42-]x]");
}

static void
test_limits (void **state)
{
    (void) state;
    fed_member_filter_t *filter = fed_member_filter_new ();
    fed_err_t err;
    for (int i = 0; i < FED_MEMBER_FILTER_STATUSES_MAX; i++)
        assert_int_equal (fed_member_filter_add_status (filter, "dead", &err), 0);
    assert_int_equal (fed_member_filter_add_status (filter, "dead", &err), -1);
    assert_contains (err.text, "more than 16 statuses");

    for (int i = 0; i < FED_MEMBER_FILTER_TAGS_MAX; i++) {
        char key [16];
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (fed_member_filter_add_tag (filter, key, "v", &err), 0);
    }
    assert_int_equal (fed_member_filter_add_tag (filter, "one-more", "v", &err), -1);
    assert_contains (err.text, "more than 64 tags");
    fed_member_filter_destroy (&filter);

    filter = fed_member_filter_new ();
    char *key = s_repeat ('k', FED_MEMBER_FILTER_KEY_MAX);
    assert_int_equal (fed_member_filter_add_tag (filter, key, "v", &err), 0);
    free (key);
    key = s_repeat ('k', FED_MEMBER_FILTER_KEY_MAX + 1);
    assert_int_equal (fed_member_filter_add_tag (filter, key, "v", &err), -1);
    assert_contains (err.text, "1 to 64 bytes");
    free (key);
    assert_int_equal (fed_member_filter_add_tag (filter, "", "v", &err), -1);
    assert_contains (err.text, "1 to 64 bytes");

    fed_member_filter_destroy (&filter);

    filter = fed_member_filter_new ();
    char *regexp = s_repeat ('a', FED_MEMBER_FILTER_REGEXP_MAX);
    assert_int_equal (fed_member_filter_add_tag (filter, "long", regexp, &err), 0);
    fed_member_tag_t tag = {"long", regexp};
    assert_true (fed_member_filter_match (filter, "alive", &tag, 1));
    free (regexp);
    regexp = s_repeat ('a', FED_MEMBER_FILTER_REGEXP_MAX + 1);
    assert_int_equal (fed_member_filter_add_tag (filter, "longer", regexp, &err), -1);
    assert_contains (err.text, "tag 'longer'");
    assert_contains (err.text, "1024 bytes");
    free (regexp);

    //  One pattern per key.
    assert_int_equal (fed_member_filter_add_tag (filter, "long", "b", &err), -1);
    assert_contains (err.text, "tag 'long' is given twice");
    fed_member_filter_destroy (&filter);
}

//  --- Requests ---------------------------------------------------------------

static void
test_from_request (void **state)
{
    (void) state;
    s_request_t request;
    s_begin (&request, 2);
    s_str (&request, "status");
    msgpack_pack_array (&request.pk, 2);
    s_str (&request, "alive");
    s_str (&request, "left");
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 2);
    s_str (&request, "region");
    s_str (&request, "eu-.*");
    s_str (&request, "tier");
    s_str (&request, "gold");
    fed_member_filter_t *filter;
    fed_err_t err;
    assert_int_equal (s_from_request (&request, &filter, &err), 0);
    assert_int_equal (fed_ctl_args_all_used (&request.request, &err), 0);
    assert_true (fed_member_filter_match (filter, "alive", s_tags, S_TAG_COUNT));
    assert_true (fed_member_filter_match (filter, "left", s_tags, S_TAG_COUNT));
    assert_false (fed_member_filter_match (filter, "dead", s_tags, S_TAG_COUNT));
    assert_false (fed_member_filter_match (filter, "alive", s_tags, 2)); //  no tier
    fed_member_filter_destroy (&filter);
    msgpack_sbuffer_destroy (&request.buffer);

    //  Neither argument: everyone; empty ones: everyone too.
    s_begin (&request, 0);
    assert_int_equal (s_from_request (&request, &filter, &err), 0);
    assert_true (fed_member_filter_match (filter, "dead", NULL, 0));
    fed_member_filter_destroy (&filter);
    msgpack_sbuffer_destroy (&request.buffer);
    s_begin (&request, 2);
    s_str (&request, "status");
    msgpack_pack_array (&request.pk, 0);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 0);
    assert_int_equal (s_from_request (&request, &filter, &err), 0);
    assert_true (fed_member_filter_match (filter, "dead", NULL, 0));
    fed_member_filter_destroy (&filter);
    msgpack_sbuffer_destroy (&request.buffer);

    //  Other arguments are left for the command to read (or refuse).
    s_begin (&request, 1);
    s_str (&request, "name");
    s_str (&request, "x");
    assert_int_equal (s_from_request (&request, &filter, &err), 0);
    assert_int_equal (fed_ctl_args_all_used (&request.request, &err), -1);
    assert_contains (err.text, "'name'");
    fed_member_filter_destroy (&filter);
    msgpack_sbuffer_destroy (&request.buffer);
}

static void
test_from_request_bad_status (void **state)
{
    (void) state;
    s_request_t request;
    s_begin (&request, 1);
    s_str (&request, "status");
    s_str (&request, "alive");
    s_expect_refused (&request, "argument 'status' must be an array");

    s_begin (&request, 1);
    s_str (&request, "status");
    msgpack_pack_array (&request.pk, 2);
    s_str (&request, "alive");
    msgpack_pack_uint8 (&request.pk, 1);
    s_expect_refused (&request, "argument 'status': entry 1 must be one of the strings");

    s_begin (&request, 1);
    s_str (&request, "status");
    msgpack_pack_array (&request.pk, 1);
    s_str (&request, "bogus");
    s_expect_refused (&request, "argument 'status': status 'bogus' is not one of");

    s_begin (&request, 1);
    s_str (&request, "status");
    msgpack_pack_array (&request.pk, 1);
    msgpack_pack_str_with_body (&request.pk, "alive\0x", 7);
    s_expect_refused (&request, "argument 'status': entry 0");

    s_begin (&request, 1);
    s_str (&request, "status");
    msgpack_pack_array (&request.pk, 1);
    s_str (&request, "alive-and-well-and-more");
    s_expect_refused (&request, "argument 'status': entry 0");

    s_begin (&request, 1);
    s_str (&request, "status");
    msgpack_pack_array (&request.pk, FED_MEMBER_FILTER_STATUSES_MAX + 1);
    for (int i = 0; i <= FED_MEMBER_FILTER_STATUSES_MAX; i++)
        s_str (&request, "alive");
    s_expect_refused (&request, "argument 'status' has 17 entries, over the limit of 16");
}

static void
test_from_request_bad_tags (void **state)
{
    (void) state;
    s_request_t request;
    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_array (&request.pk, 1);
    s_str (&request, "region=eu");
    s_expect_refused (&request, "argument 'tags' must be a map");

    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 1);
    s_str (&request, "region");
    msgpack_pack_uint8 (&request.pk, 5);
    s_expect_refused (&request, "argument 'tags': the pattern for 'region' must be a string");

    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 1);
    msgpack_pack_uint8 (&request.pk, 1);
    s_str (&request, "x");
    s_expect_refused (&request, "argument 'tags': key 0 must be a string of 1 to 64 bytes");

    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 1);
    s_str (&request, "");
    s_str (&request, "x");
    s_expect_refused (&request, "argument 'tags': key 0 must be a string of 1 to 64 bytes");

    char *text = s_repeat ('k', FED_MEMBER_FILTER_KEY_MAX + 1);
    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 1);
    s_str (&request, text);
    s_str (&request, "x");
    s_expect_refused (&request, "key 0 must be a string of 1 to 64 bytes");
    free (text);

    text = s_repeat ('a', FED_MEMBER_FILTER_REGEXP_MAX + 1);
    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 1);
    s_str (&request, "region");
    s_str (&request, text);
    s_expect_refused (&request, "the pattern for 'region' must be a string of at most 1024 bytes");
    free (text);

    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 1);
    s_str (&request, "region");
    s_str (&request, "(eu");
    s_expect_refused (&request, "argument 'tags': tag 'region': bad regular expression '(eu'");

    //  The same key twice in the map.
    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, 2);
    s_str (&request, "region");
    s_str (&request, "eu");
    s_str (&request, "region");
    s_str (&request, "us");
    s_expect_refused (&request, "argument 'tags': tag 'region' is given twice");

    s_begin (&request, 1);
    s_str (&request, "tags");
    msgpack_pack_map (&request.pk, FED_MEMBER_FILTER_TAGS_MAX + 1);
    for (int i = 0; i <= FED_MEMBER_FILTER_TAGS_MAX; i++) {
        char key [16];
        snprintf (key, sizeof key, "k%d", i);
        s_str (&request, key);
        s_str (&request, "v");
    }
    s_expect_refused (&request, "argument 'tags' has 65 entries, over the limit of 64");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_empty_matches_all),
        cmocka_unit_test (test_status_or),
        cmocka_unit_test (test_tag_and),
        cmocka_unit_test (test_anchoring),
        cmocka_unit_test (test_missing_tag),
        cmocka_unit_test (test_bad_regexp),
        cmocka_unit_test (test_costly_patterns),
        cmocka_unit_test (test_limits),
        cmocka_unit_test (test_from_request),
        cmocka_unit_test (test_from_request_bad_status),
        cmocka_unit_test (test_from_request_bad_tags),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
