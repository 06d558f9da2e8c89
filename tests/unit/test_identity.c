/*  tests/unit/test_identity.c: a node's key file is created safely, loads
    back as the same node, and every unsafe or damaged key file is refused
    with a message that names the file and the fix. Each test runs in its own
    temp directory, removed afterwards.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include <sodium.h>
#include <zmq.h>

#include "identity.h"

static int
s_setup (void **state)
{
    char template [] = "/tmp/fed-identity-XXXXXX";
    if (!mkdtemp (template))
        return -1;
    *state = fed_strdup (template);
    return 0;
}

static int
s_teardown (void **state)
{
    char *dir = *state;
    int rc = fed_test_rmtree (dir);
    free (dir);
    return rc;
}

static char *
s_path (void **state, const char *name)
{
    return fed_sprintf ("%s/%s", (char *) *state, name);
}

static void
s_write (const char *path, const void *data, size_t size, mode_t mode)
{
    unlink (path);
    FILE *file = fopen (path, "wb");
    assert_non_null (file);
    assert_int_equal (fwrite (data, 1, size, file), size);
    assert_int_equal (fclose (file), 0);
    assert_int_equal (chmod (path, mode), 0);
}

//  Reads a whole file. Caller frees.
static char *
s_read (const char *path, size_t *size_p)
{
    FILE *file = fopen (path, "rb");
    assert_non_null (file);
    char *data = fed_calloc (1, 8192);
    *size_p = fread (data, 1, 8191, file);
    fclose (file);
    return data;
}

static int
s_count_entries (const char *dir)
{
    DIR *handle = opendir (dir);
    assert_non_null (handle);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (handle)))
        if (strcmp (entry->d_name, ".") && strcmp (entry->d_name, ".."))
            count++;
    closedir (handle);
    return count;
}

//  A saved key file for a fixed seed, at DIR/name. Caller frees the path.
static char *
s_saved_key (void **state, const char *name)
{
    uint8_t seed [32];
    memset (seed, 7, sizeof seed);
    fed_identity_t *identity = fed_identity_from_seed (seed);
    char *path = s_path (state, name);
    fed_err_t err = {0, ""};
    assert_int_equal (fed_identity_save (identity, path, &err), 0);
    fed_identity_destroy (&identity);
    return path;
}

//  Loading path must fail with code and a message holding path and needle.
static void
s_expect_refused (const char *path, int code, const char *needle)
{
    fed_err_t err = {0, ""};
    fed_identity_t *identity = fed_identity_load (path, &err);
    if (identity)
        print_error ("expected %s to be refused with \"%s\"; it loaded\n", path, needle);
    assert_null (identity);
    assert_contains (err.text, path);
    assert_contains (err.text, needle);
    assert_int_equal (err.code, code);
}

static void
test_open_creates_0600_and_reopens (void **state)
{
    mode_t saved_umask = umask (0);
    char *data_dir = s_path (state, "a/b");
    char *key_path = s_path (state, "a/b/node.key");
    bool created = false;
    fed_err_t err = {0, ""};
    fed_identity_t *first = fed_identity_open (data_dir, &created, &err);
    assert_non_null (first);
    assert_true (created);
    struct stat st;
    assert_int_equal (stat (key_path, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0600);
    assert_int_equal (stat (data_dir, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0700);
    assert_int_equal (s_count_entries (data_dir), 1); //  no temp file left

    fed_identity_t *second = fed_identity_open (data_dir, &created, &err);
    assert_non_null (second);
    assert_false (created);
    assert_string_equal (fed_identity_id (first), fed_identity_id (second));
    assert_memory_equal (fed_identity_secret (first), fed_identity_secret (second), 64);
    assert_int_equal (strlen (fed_identity_id (first)), 40);

    size_t size;
    char *text = s_read (key_path, &size);
    assert_contains (text, "# fednode ed25519 key. SECRET: keep this file mode 0600.\n");
    assert_contains (text, "\nversion: 1\n");
    char *public_line = fed_sprintf ("\npublic: %s\n", fed_identity_id (first));
    assert_contains (text, public_line);
    free (public_line);
    free (text);

    fed_identity_destroy (&first);
    fed_identity_destroy (&second);
    assert_null (first);
    fed_identity_destroy (&first);
    fed_identity_destroy (NULL);
    free (data_dir);
    free (key_path);
    umask (saved_umask);
}

static void
test_sign_verify (void **state)
{
    char *data_dir = s_path (state, "data");
    fed_err_t err = {0, ""};
    fed_identity_t *created = fed_identity_open (data_dir, NULL, &err);
    assert_non_null (created);
    fed_identity_destroy (&created);
    char *key_path = s_path (state, "data/node.key");
    fed_identity_t *identity = fed_identity_load (key_path, &err);
    assert_non_null (identity);

    const uint8_t msg [] = "trust.added peer";
    uint8_t sig [64];
    fed_identity_sign (identity, msg, sizeof msg, sig);
    const uint8_t *public_key = fed_identity_public (identity);
    assert_int_equal (crypto_sign_verify_detached (sig, msg, sizeof msg, public_key), 0);
    uint8_t other [sizeof msg];
    memcpy (other, msg, sizeof msg);
    other [0] ^= 1;
    assert_int_equal (crypto_sign_verify_detached (sig, other, sizeof other, public_key), -1);
    fed_identity_sign (identity, NULL, 0, sig);
    assert_int_equal (crypto_sign_verify_detached (sig, (const uint8_t *) "", 0, public_key), 0);

    fed_identity_destroy (&identity);
    free (key_path);
    free (data_dir);
}

static void
test_curve_keys (void **state)
{
    fed_identity_t *identity = fed_identity_generate ();
    uint8_t expect_public [32], expect_secret [32], derived [32];
    assert_int_equal (
        crypto_sign_ed25519_pk_to_curve25519 (expect_public, fed_identity_public (identity)), 0);
    assert_int_equal (
        crypto_sign_ed25519_sk_to_curve25519 (expect_secret, fed_identity_secret (identity)), 0);
    assert_memory_equal (fed_identity_curve_public (identity), expect_public, 32);
    assert_memory_equal (fed_identity_curve_secret (identity), expect_secret, 32);
    //  A real CURVE pair: the public key is the secret times the base point.
    assert_int_equal (crypto_scalarmult_base (derived, fed_identity_curve_secret (identity)), 0);
    assert_memory_equal (derived, fed_identity_curve_public (identity), 32);
    assert_int_equal (fed_identity_curve_from_public (fed_identity_public (identity), derived), 0);
    assert_memory_equal (derived, expect_public, 32);

    //  The Z85 forms are what libzmq expects.
    char z85 [41];
    fed_z85_encode_key (z85, expect_public);
    assert_string_equal (fed_identity_curve_public_z85 (identity), z85);
    char from_zmq [41];
    assert_int_equal (zmq_curve_public (from_zmq, fed_identity_curve_secret_z85 (identity)), 0);
    assert_string_equal (from_zmq, z85);
    fed_z85_encode_key (z85, fed_identity_public (identity));
    assert_string_equal (fed_identity_id (identity), z85);
    char hex [65];
    fed_hex_encode (hex, fed_identity_public (identity), 32);
    assert_int_equal (strlen (fed_identity_short_id (identity)), 8);
    assert_memory_equal (fed_identity_short_id (identity), hex, 8);

    uint8_t zero [32] = {0}, untouched [32];
    memset (untouched, 0xaa, sizeof untouched);
    assert_int_equal (fed_identity_curve_from_public (zero, untouched), -1);
    assert_int_equal (untouched [0], 0xaa);
    fed_identity_destroy (&identity);
}

static void
test_mode_0644_refused (void **state)
{
    char *path = s_saved_key (state, "node.key");
    size_t before_size;
    char *before = s_read (path, &before_size);
    assert_int_equal (chmod (path, 0644), 0);
    s_expect_refused (path, FED_IDENTITY_ERR_UNSAFE, "readable by group or others (mode 0644)");
    char *fix = fed_sprintf ("run: chmod 600 %s", path);
    s_expect_refused (path, FED_IDENTITY_ERR_UNSAFE, fix);
    free (fix);
    assert_int_equal (chmod (path, 0620), 0);
    s_expect_refused (path, FED_IDENTITY_ERR_UNSAFE, "writable by group or others (mode 0620)");

    //  open () refuses too, and leaves the file alone.
    fed_err_t err = {0, ""};
    bool created = true;
    assert_null (fed_identity_open ((char *) *state, &created, &err));
    assert_false (created);
    assert_contains (err.text, "chmod 600");
    size_t after_size;
    char *after = s_read (path, &after_size);
    assert_int_equal (after_size, before_size);
    assert_memory_equal (after, before, before_size);
    free (before);
    free (after);
    free (path);
}

static void
test_owner (void **state)
{
    if (geteuid () != 0)
        skip (); //  cannot make a file owned by someone else
    //  Root may load a key owned by anyone (it runs as the service user's root).
    char *path = s_saved_key (state, "node.key");
    assert_int_equal (chown (path, 12345, 12345), 0);
    fed_err_t err = {0, ""};
    fed_identity_t *identity = fed_identity_load (path, &err);
    assert_non_null (identity);
    fed_identity_destroy (&identity);
    free (path);
}

static void
test_truncated_at_every_length (void **state)
{
    char *good = s_saved_key (state, "good.key");
    size_t size;
    char *full = s_read (good, &size);
    assert_true (size > 100);
    char *path = s_path (state, "cut.key");
    for (size_t len = 0; len < size; len++) {
        s_write (path, full, len, 0600);
        s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "is corrupt (");
    }
    s_write (path, full, size, 0600);
    fed_err_t err = {0, ""};
    fed_identity_t *identity = fed_identity_load (path, &err);
    assert_non_null (identity);
    fed_identity_destroy (&identity);
    s_write (path, full, size - 1, 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "truncated");
    s_write (path, full, 0, 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT,
                      "restore it from a backup, or move it away to let the node create a new "
                      "identity (a new node id)");
    free (full);
    free (path);
    free (good);
}

//  Rewrites the key at path with from replaced by to (first occurrence).
static void
s_edit (const char *path, const char *from, const char *to)
{
    size_t size;
    char *text = s_read (path, &size);
    char *at = strstr (text, from);
    assert_non_null (at);
    char *edited = fed_sprintf ("%.*s%s%s", (int) (at - text), text, to, at + strlen (from));
    s_write (path, edited, strlen (edited), 0600);
    free (edited);
    free (text);
}

static void
test_flipped_public_char (void **state)
{
    char *path = s_saved_key (state, "node.key");
    size_t size;
    char *text = s_read (path, &size);
    char *line = strstr (text, "public: ");
    assert_non_null (line);
    char *last = line + strlen ("public: ") + 39;
    char old [] = {*last, '\n', '\0'};
    char new [] = {*last == '0' ? '1' : '0', '\n', '\0'};
    free (text);
    s_edit (path, old, new);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT,
                      "does not match the one derived from the seed");
    free (path);
}

static void
test_unknown_version (void **state)
{
    char *path = s_saved_key (state, "node.key");
    s_edit (path, "version: 1\n", "version: 2\n");
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "unknown version '2'");
    free (path);
}

static void
test_garbage_and_bad_lines (void **state)
{
    char *path = s_saved_key (state, "node.key");
    size_t size;
    char *good = s_read (path, &size);

    char *appended = fed_sprintf ("%sgarbage\n", good);
    s_write (path, appended, strlen (appended), 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "line 6 is neither a comment");
    free (appended);
    appended = fed_sprintf ("%sx", good);
    s_write (path, appended, strlen (appended), 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "is corrupt");
    free (appended);
    appended = fed_sprintf ("%sextra: 1\n", good);
    s_write (path, appended, strlen (appended), 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "unknown field");
    free (appended);
    appended = fed_sprintf ("%sversion: 1\n", good);
    s_write (path, appended, strlen (appended), 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "repeats the version: line");
    free (appended);
    char with_nul [300];
    memcpy (with_nul, good, size);
    memcpy (with_nul + size, "\0\n", 2);
    s_write (path, with_nul, size + 2, 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "NUL byte");

    s_write (path, good, size, 0600);
    s_edit (path, "\nsecret: ", "\nsecret: ~"); //  41 chars
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "secret: value on line 5 is not");
    s_write (path, good, size, 0600);
    s_edit (path, "\npublic: ", "\npublic:  ");
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "public: value on line 4 is not");
    s_write (path, good, size, 0600);
    s_edit (path, "version: 1\n", "");
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "no version: line");
    //  A CRLF file is not accepted either: the value would end in '\r'.
    s_write (path, good, size, 0600);
    s_edit (path, "version: 1\n", "version: 1\r\n");
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "unknown version");
    free (good);
    free (path);
}

static void
test_empty_file (void **state)
{
    char *path = s_path (state, "node.key");
    s_write (path, "", 0, 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "is corrupt (the file is empty)");
    free (path);
}

static void
test_oversized_file (void **state)
{
    char *path = s_path (state, "node.key");
    size_t size = 1024 * 1024;
    char *big = fed_malloc (size);
    memset (big, '#', size);
    s_write (path, big, size, 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "is corrupt (it is 1048576 bytes");
    s_write (path, big, 4097, 0600);
    s_expect_refused (path, FED_IDENTITY_ERR_CORRUPT, "is corrupt (it is 4097 bytes");
    free (big);
    free (path);
}

static void
test_not_a_regular_file (void **state)
{
    char *path = s_path (state, "node.key");
    assert_int_equal (mkdir (path, 0700), 0);
    s_expect_refused (path, FED_IDENTITY_ERR_UNSAFE, "is not a regular file (it is a directory)");
    fed_err_t err = {0, ""};
    assert_null (fed_identity_open ((char *) *state, NULL, &err));
    assert_contains (err.text, "not a regular file");
    assert_int_equal (rmdir (path), 0);
    assert_int_equal (mkfifo (path, 0600), 0);
    s_expect_refused (path, FED_IDENTITY_ERR_UNSAFE, "is not a regular file");
    free (path);
    char *missing = s_path (state, "missing.key");
    s_expect_refused (missing, FED_IDENTITY_ERR_MISSING, "No such file");
    free (missing);
}

static void
test_save_refuses_overwrite (void **state)
{
    char *path = s_saved_key (state, "node.key");
    size_t before_size;
    char *before = s_read (path, &before_size);
    fed_identity_t *other = fed_identity_generate ();
    fed_err_t err = {0, ""};
    assert_int_equal (fed_identity_save (other, path, &err), -1);
    assert_int_equal (err.code, FED_IDENTITY_ERR_EXISTS);
    assert_contains (err.text, path);
    assert_contains (err.text, "refusing to overwrite");
    assert_int_equal (fed_identity_save_public (other, path, &err), -1);
    assert_int_equal (err.code, FED_IDENTITY_ERR_EXISTS);
    size_t after_size;
    char *after = s_read (path, &after_size);
    assert_int_equal (after_size, before_size);
    assert_memory_equal (after, before, before_size);
    assert_int_equal (s_count_entries ((char *) *state), 1);
    //  A save into a missing directory fails cleanly.
    char *nowhere = s_path (state, "no/such/dir/node.key");
    assert_int_equal (fed_identity_save (other, nowhere, &err), -1);
    assert_int_equal (err.code, FED_IDENTITY_ERR_IO);
    free (nowhere);
    fed_identity_destroy (&other);
    free (before);
    free (after);
    free (path);
}

static void
test_public_file_round_trip (void **state)
{
    mode_t saved_umask = umask (077);
    fed_identity_t *identity = fed_identity_generate ();
    char *pub = s_path (state, "peer.pub");
    fed_err_t err = {0, ""};
    assert_int_equal (fed_identity_save_public (identity, pub, &err), 0);
    struct stat st;
    assert_int_equal (stat (pub, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0644);
    size_t size;
    char *text = s_read (pub, &size);
    assert_null (strstr (text, "secret:"));
    free (text);
    uint8_t key [32];
    assert_int_equal (fed_identity_read_public (pub, key, &err), 0);
    assert_memory_equal (key, fed_identity_public (identity), 32);
    //  A public file is not an identity.
    s_expect_refused (pub, FED_IDENTITY_ERR_UNSAFE, "chmod 600");
    assert_int_equal (chmod (pub, 0600), 0);
    s_expect_refused (pub, FED_IDENTITY_ERR_CORRUPT, "no secret: line");

    //  The public half of a secret key file is read too.
    char *secret = s_path (state, "node.key");
    assert_int_equal (fed_identity_save (identity, secret, &err), 0);
    memset (key, 0, sizeof key);
    assert_int_equal (fed_identity_read_public (secret, key, &err), 0);
    assert_memory_equal (key, fed_identity_public (identity), 32);

    //  A damaged public file is refused, naming it.
    s_write (pub, "version: 1\npublic: nope\n", 24, 0644);
    assert_int_equal (fed_identity_read_public (pub, key, &err), -1);
    assert_int_equal (err.code, FED_IDENTITY_ERR_CORRUPT);
    assert_contains (err.text, pub);
    assert_contains (err.text, "public: value on line 2");
    free (secret);
    free (pub);
    fed_identity_destroy (&identity);
    umask (saved_umask);
}

static void
test_read_public_text (void **state)
{
    fed_identity_t *identity = fed_identity_generate ();
    uint8_t key [32];
    fed_err_t err = {0, ""};
    assert_int_equal (fed_identity_read_public (fed_identity_id (identity), key, &err), 0);
    assert_memory_equal (key, fed_identity_public (identity), 32);
    char hex [65];
    fed_hex_encode (hex, fed_identity_public (identity), 32);
    memset (key, 0, sizeof key);
    assert_int_equal (fed_identity_read_public (hex, key, &err), 0);
    assert_memory_equal (key, fed_identity_public (identity), 32);

    const char *bad [] = {
        "not-a-key",
        "",
        "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",                         //  not Z85
        "0000000000000000000000000000000000000000000000000000000000000000", //  small order
        "000000000000000000000000000000000000000000000000000000000000000g", //  not hex
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        memset (key, 0x5a, sizeof key);
        err.code = 0;
        if (fed_identity_read_public (bad [i], key, &err) != -1) {
            print_error ("expected '%s' to be refused\n", bad [i]);
            fail ();
        }
        assert_int_equal (err.code, FED_IDENTITY_ERR_INVALID);
        assert_int_equal (key [0], 0x5a);
    }
    assert_int_equal (fed_identity_read_public ("not-a-key", key, &err), -1);
    assert_contains (err.text, "'not-a-key' is neither a key file");
    fed_identity_destroy (&identity);
}

static void
test_admin_key (void **state)
{
    char *data_dir = s_path (state, "data");
    bool created = false;
    fed_err_t err = {0, ""};
    fed_identity_t *admin = fed_identity_open_admin (data_dir, &created, &err);
    assert_non_null (admin);
    assert_true (created);
    fed_identity_t *again = fed_identity_open_admin (data_dir, &created, &err);
    assert_non_null (again);
    assert_false (created);
    assert_string_equal (fed_identity_id (admin), fed_identity_id (again));
    fed_identity_t *node = fed_identity_open (data_dir, &created, &err);
    assert_non_null (node);
    assert_true (created);
    assert_string_not_equal (fed_identity_id (admin), fed_identity_id (node));
    char *admin_path = s_path (state, "data/admin.key");
    struct stat st;
    assert_int_equal (stat (admin_path, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0600);
    free (admin_path);
    fed_identity_destroy (&admin);
    fed_identity_destroy (&again);
    fed_identity_destroy (&node);
    free (data_dir);
}

static void
test_from_seed (void **state)
{
    //  RFC 8032, section 7.1, test 1.
    uint8_t seed [32];
    assert_int_equal (fed_hex_decode (seed, 32,
                                      "9d61b19deffd5a60ba844af492ec2cc4"
                                      "4449c5697b326919703bac031cae7f60"),
                      0);
    fed_identity_t *first = fed_identity_from_seed (seed);
    fed_identity_t *second = fed_identity_from_seed (seed);
    char hex [65];
    fed_hex_encode (hex, fed_identity_public (first), 32);
    assert_string_equal (hex, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    assert_string_equal (fed_identity_short_id (first), "d75a9801");
    assert_string_equal (fed_identity_id (first), fed_identity_id (second));
    assert_memory_equal (fed_identity_secret (first), fed_identity_secret (second), 64);
    assert_memory_equal (fed_identity_curve_secret (first), fed_identity_curve_secret (second), 32);
    //  RFC 8032 test 1 signs the empty message.
    uint8_t sig [64];
    fed_identity_sign (first, NULL, 0, sig);
    fed_hex_encode (hex, sig, 32);
    assert_string_equal (hex, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155");

    fed_identity_t *random1 = fed_identity_generate ();
    fed_identity_t *random2 = fed_identity_generate ();
    assert_string_not_equal (fed_identity_id (random1), fed_identity_id (random2));
    fed_identity_destroy (&first);
    fed_identity_destroy (&second);
    fed_identity_destroy (&random1);
    fed_identity_destroy (&random2);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_open_creates_0600_and_reopens, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_sign_verify, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_curve_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_mode_0644_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_owner, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_truncated_at_every_length, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_flipped_public_char, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_version, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_garbage_and_bad_lines, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_empty_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_oversized_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_not_a_regular_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_save_refuses_overwrite, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_public_file_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_read_public_text, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_admin_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_from_seed, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
