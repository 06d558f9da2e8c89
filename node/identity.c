/*  node/identity.c: the node's ed25519 keypair, its derived CURVE keys, and
    the key files that hold it.

    The key file is the node: lose it and the node gets a new id, leak it and
    anyone can be the node. So loading is strict and loud. A key file that is
    exposed to other users, owned by someone else, damaged in any way, or
    too big is refused with a message naming the file and the fix, rather
    than guessed at. Saving never replaces an existing key and leaves either
    the whole file or nothing. The format is described in identity.h.

    Secrets (the libsodium secret key, the CURVE secret and its Z85 text) sit
    in one sodium_malloc'd block, read-only after it is filled and wiped
    before it is freed. Buffers that held secret text on the stack are wiped
    with sodium_memzero before they go out of scope.
*/
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <sodium.h>

#include "identity.h"
#include "log.h"

//  A key file is about 200 bytes; anything above this is not one.
#define FED_KEY_FILE_MAX 4096

//  What the advice at the end of a "corrupt" message says, per file kind.
#define FED_FIX_SECRET                                                                             \
    "restore it from a backup, or move it away to let the node create a new identity "             \
    "(a new node id)"
#define FED_FIX_PUBLIC "ask the key's owner for a fresh copy of it"

//  The first lines of each kind of key file.
#define FED_SECRET_HEADER                                                                          \
    "# fednode ed25519 key. SECRET: keep this file mode 0600.\n"                                   \
    "# public: is the node id; secret: is the ed25519 seed (32 bytes each, in Z85).\n"
#define FED_PUBLIC_HEADER "# fednode ed25519 public key. Safe to share: add it to a trust list.\n"

//  The secret half of an identity, kept together in one guarded block.
typedef struct {
    uint8_t sign_secret [crypto_sign_SECRETKEYBYTES]; //  libsodium ed25519 sk (seed + public)
    uint8_t curve_secret [crypto_scalarmult_BYTES];   //  x25519 secret derived from sign_secret
    char curve_secret_z85 [41];                       //  Z85 of curve_secret, NUL-terminated
} s_secrets_t;

struct fed_identity_t {
    s_secrets_t *secrets;       //  sodium_malloc'd, read-only once filled
    uint8_t public_key [32];    //  ed25519 public key: the node id
    uint8_t curve_public [32];  //  x25519 public key derived from public_key
    char id [41];               //  Z85 of public_key, NUL-terminated
    char curve_public_z85 [41]; //  Z85 of curve_public, NUL-terminated
    char short_id [9];          //  hex of the first 4 bytes of public_key
};

//  What a key file said. seed is secret: callers wipe the whole struct.
typedef struct {
    bool has_version;        //  a valid version: line was seen
    bool has_public;         //  public_key holds the public: line
    bool has_secret;         //  seed holds the secret: line
    uint8_t public_key [32]; //  from the public: line
    uint8_t seed [32];       //  from the secret: line
} s_key_text_t;

//  libsodium is initialised once per process (STYLE 10 allows this one).
static pthread_once_t s_sodium_once = PTHREAD_ONCE_INIT;

static void
s_sodium_init_once (void)
{
    if (sodium_init () < 0) {
        fprintf (stderr,
                 "fednode: E: libsodium failed to initialise (sodium_init); "
                 "cannot make or use keys, aborting\n");
        abort ();
    }
}

static void
s_sodium_ready (void)
{
    int rc = pthread_once (&s_sodium_once, s_sodium_init_once);
    assert (rc == 0);
}

//  Builds an identity from a seed. Never fails: any 32 bytes are a seed.
static fed_identity_t *
s_new (const uint8_t seed [32])
{
    s_sodium_ready ();
    fed_identity_t *self = fed_calloc (1, sizeof (fed_identity_t));
    self->secrets = sodium_malloc (sizeof (s_secrets_t));
    if (!self->secrets) {
        fprintf (stderr, "fednode: E: out of memory (sodium_malloc), aborting\n");
        abort ();
    }
    s_secrets_t *secrets = self->secrets;
    int rc = crypto_sign_seed_keypair (self->public_key, secrets->sign_secret, seed);
    assert (rc == 0);
    //  A key made from a seed is always a valid point, so these cannot fail.
    rc = crypto_sign_ed25519_pk_to_curve25519 (self->curve_public, self->public_key);
    assert (rc == 0);
    rc = crypto_sign_ed25519_sk_to_curve25519 (secrets->curve_secret, secrets->sign_secret);
    assert (rc == 0);
    fed_z85_encode_key (secrets->curve_secret_z85, secrets->curve_secret);
    fed_z85_encode_key (self->id, self->public_key);
    fed_z85_encode_key (self->curve_public_z85, self->curve_public);
    fed_hex_encode (self->short_id, self->public_key, 4);
    //  Hardening only: where mprotect is refused the keys still work.
    if (sodium_mprotect_readonly (secrets) != 0)
        fed_debug ("identity: cannot make key memory read-only: %s", strerror (errno));
    return self;
}

fed_identity_t *
fed_identity_generate (void)
{
    s_sodium_ready ();
    uint8_t seed [32];
    randombytes_buf (seed, sizeof seed);
    fed_identity_t *self = s_new (seed);
    sodium_memzero (seed, sizeof seed);
    return self;
}

fed_identity_t *
fed_identity_from_seed (const uint8_t seed [32])
{
    assert (seed);
    return s_new (seed);
}

void
fed_identity_destroy (fed_identity_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_identity_t *self = *self_p;
    (void) sodium_mprotect_readwrite (self->secrets);
    sodium_memzero (self->secrets, sizeof (s_secrets_t));
    sodium_free (self->secrets);
    free (self);
    *self_p = NULL;
}

//  Decodes a 40-char Z85 key value (not NUL-terminated) into key.
static int
s_decode_key (const char *value, size_t size, uint8_t key [32])
{
    if (size != 40)
        return -1;
    char text [41];
    memcpy (text, value, 40);
    text [40] = '\0';
    int rc = fed_key_decode (key, text);
    sodium_memzero (text, sizeof text); //  it may be the seed
    return rc;
}

//  Parses a key file's bytes. Returns 0, or -1 with why saying which check
//  failed (never quoting secret text). The caller wipes fields.
static int
s_parse (const char *text, size_t size, s_key_text_t *fields, char *why, size_t why_size)
{
    memset (fields, 0, sizeof (s_key_text_t));
    if (size == 0) {
        snprintf (why, why_size, "the file is empty");
        return -1;
    }
    if (memchr (text, '\0', size)) {
        snprintf (why, why_size, "it contains a NUL byte");
        return -1;
    }
    size_t pos = 0;
    int line_no = 0;
    while (pos < size) {
        line_no++;
        const char *line = text + pos;
        const char *eol = memchr (line, '\n', size - pos);
        if (!eol) {
            snprintf (why, why_size, "line %d does not end in a newline: the file is truncated",
                      line_no);
            return -1;
        }
        size_t len = (size_t) (eol - line);
        pos += len + 1;
        if (len > 0 && line [0] == '#')
            continue;
        const char *colon = memchr (line, ':', len);
        if (!colon || colon == line || (size_t) (colon - line) + 2 > len || colon [1] != ' ') {
            snprintf (why, why_size, "line %d is neither a comment nor 'name: value'", line_no);
            return -1;
        }
        size_t name_len = (size_t) (colon - line);
        const char *value = colon + 2;
        size_t value_len = len - name_len - 2;
        bool *seen = NULL;
        const char *name = NULL;
        if (name_len == 7 && memcmp (line, "version", 7) == 0) {
            seen = &fields->has_version;
            name = "version";
        } else if (name_len == 6 && memcmp (line, "public", 6) == 0) {
            seen = &fields->has_public;
            name = "public";
        } else if (name_len == 6 && memcmp (line, "secret", 6) == 0) {
            seen = &fields->has_secret;
            name = "secret";
        } else {
            snprintf (why, why_size, "line %d has an unknown field", line_no);
            return -1;
        }
        if (*seen) {
            snprintf (why, why_size, "line %d repeats the %s: line", line_no, name);
            return -1;
        }
        if (seen == &fields->has_version) {
            if (value_len != 1 || value [0] != '1') {
                bool printable = value_len <= 16;
                for (size_t i = 0; printable && i < value_len; i++)
                    printable = value [i] > ' ' && value [i] < 127;
                snprintf (why, why_size,
                          "unknown version '%.*s' on line %d; this fednode reads version 1",
                          printable ? (int) value_len : 1, printable ? value : "?", line_no);
                return -1;
            }
        } else {
            uint8_t *key = seen == &fields->has_public ? fields->public_key : fields->seed;
            if (s_decode_key (value, value_len, key)) {
                snprintf (why, why_size, "the %s: value on line %d is not a 40-char Z85 key", name,
                          line_no);
                return -1;
            }
        }
        *seen = true;
    }
    if (!fields->has_version) {
        snprintf (why, why_size, "there is no version: line");
        return -1;
    }
    if (!fields->has_public) {
        snprintf (why, why_size, "there is no public: line");
        return -1;
    }
    if (fields->has_secret) {
        uint8_t derived [32];
        uint8_t secret [crypto_sign_SECRETKEYBYTES];
        int rc = crypto_sign_seed_keypair (derived, secret, fields->seed);
        assert (rc == 0);
        sodium_memzero (secret, sizeof secret);
        if (sodium_memcmp (derived, fields->public_key, 32) != 0) {
            snprintf (why, why_size, "the public key does not match the one derived from the seed");
            return -1;
        }
    }
    return 0;
}

//  Reads a whole key file into buf (FED_KEY_FILE_MAX + 1 bytes), refusing
//  non-regular and oversized files, and with secret_checks files owned by
//  another user or open to group or others. Returns 0 with *size_p set, or
//  -1 with err filled. The caller wipes buf.
static int
s_read_file (const char *path, bool secret_checks, const char *fix, char *buf, size_t *size_p,
             fed_err_t *err)
{
    //  O_NONBLOCK so that a FIFO put in place of the key cannot hang us.
    int fd = open (path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        int code = saved == ENOENT ? FED_IDENTITY_ERR_MISSING : FED_IDENTITY_ERR_IO;
        fed_err_set (err, code, "cannot open key file %s: %s%s", path, strerror (saved),
                     saved == EACCES ? "; it must be owned by the user that runs the node" : "");
        return -1;
    }
    struct stat st;
    if (fstat (fd, &st) != 0) {
        fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot stat key file %s: %s", path,
                     strerror (errno));
        goto err;
    }
    if (!S_ISREG (st.st_mode)) {
        fed_err_set (err, FED_IDENTITY_ERR_UNSAFE,
                     "%s is not a regular file (it is a %s); move it away and put the key file "
                     "there",
                     path, S_ISDIR (st.st_mode) ? "directory" : "device, FIFO or socket");
        goto err;
    }
    if (secret_checks) {
        uid_t euid = geteuid ();
        if (euid != 0 && st.st_uid != euid) {
            fed_err_set (err, FED_IDENTITY_ERR_UNSAFE,
                         "%s is owned by uid %u, not by this user (uid %u); run the node as "
                         "uid %u, or run: chown %u %s",
                         path, (unsigned) st.st_uid, (unsigned) euid, (unsigned) st.st_uid,
                         (unsigned) euid, path);
            goto err;
        }
        if (st.st_mode & 077) {
            fed_err_set (err, FED_IDENTITY_ERR_UNSAFE,
                         "%s is %s by group or others (mode %04o); run: chmod 600 %s", path,
                         (st.st_mode & 044) ? "readable" : "writable",
                         (unsigned) (st.st_mode & 07777), path);
            goto err;
        }
    }
    if (st.st_size > FED_KEY_FILE_MAX) {
        fed_err_set (err, FED_IDENTITY_ERR_CORRUPT,
                     "%s is corrupt (it is %lld bytes; a key file is at most %d); %s", path,
                     (long long) st.st_size, FED_KEY_FILE_MAX, fix);
        goto err;
    }
    size_t got = 0;
    while (got < FED_KEY_FILE_MAX + 1) {
        ssize_t n = read (fd, buf + got, FED_KEY_FILE_MAX + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot read key file %s: %s", path,
                         strerror (errno));
            goto err;
        }
        if (n == 0)
            break;
        got += (size_t) n;
    }
    if (got > FED_KEY_FILE_MAX) {
        fed_err_set (err, FED_IDENTITY_ERR_CORRUPT,
                     "%s is corrupt (it grew past %d bytes while being read); %s", path,
                     FED_KEY_FILE_MAX, fix);
        goto err;
    }
    close (fd);
    *size_p = got;
    return 0;

err:
    close (fd);
    return -1;
}

fed_identity_t *
fed_identity_load (const char *path, fed_err_t *err)
{
    assert (path);
    s_sodium_ready ();
    fed_identity_t *self = NULL;
    char buf [FED_KEY_FILE_MAX + 1];
    size_t size = 0;
    s_key_text_t fields;
    memset (&fields, 0, sizeof fields);
    char why [200];
    if (s_read_file (path, true, FED_FIX_SECRET, buf, &size, err))
        goto done;
    if (s_parse (buf, size, &fields, why, sizeof why)) {
        fed_err_set (err, FED_IDENTITY_ERR_CORRUPT, "%s is corrupt (%s); " FED_FIX_SECRET, path,
                     why);
        goto done;
    }
    if (!fields.has_secret) {
        fed_err_set (
            err, FED_IDENTITY_ERR_CORRUPT,
            "%s is corrupt (there is no secret: line; is it a public key file?); " FED_FIX_SECRET,
            path);
        goto done;
    }
    self = s_new (fields.seed);

done:
    sodium_memzero (buf, sizeof buf);
    sodium_memzero (&fields, sizeof fields);
    return self;
}

//  Moves from to to, failing with EEXIST rather than replacing to.
static int
s_rename_noreplace (const char *from, const char *to)
{
#ifdef RENAME_NOREPLACE
    if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#endif
    //  Where renameat2 is missing or the file system refuses the flag, a hard
    //  link does the same job: it never replaces an existing name either.
    if (link (from, to) != 0)
        return -1;
    (void) unlink (from);
    return 0;
}

//  fsyncs the directory holding path, so a rename into it survives a crash.
static int
s_sync_dir (const char *path)
{
    char *dir = fed_strdup (path);
    char *slash = strrchr (dir, '/');
    const char *name = ".";
    if (slash == dir)
        name = "/";
    else if (slash) {
        *slash = '\0';
        name = dir;
    }
    int rc = -1;
    int fd = open (name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        rc = fsync (fd);
        //  Some file systems cannot sync a directory; nothing more to do there.
        if (rc != 0 && errno == EINVAL)
            rc = 0;
        int saved = errno;
        close (fd);
        errno = saved;
    }
    int saved = errno;
    free (dir);
    errno = saved;
    return rc;
}

//  Writes size bytes of text as a new file at path with mode, via a temp file
//  in the same directory. Returns 0, or -1 with err filled and no temp file
//  left behind.
static int
s_write_file (const char *path, const char *text, size_t size, mode_t mode, fed_err_t *err)
{
    struct stat st;
    if (lstat (path, &st) == 0) {
        fed_err_set (err, FED_IDENTITY_ERR_EXISTS,
                     "%s already exists; refusing to overwrite a key file (move it away first)",
                     path);
        return -1;
    }
    s_sodium_ready ();
    char *tmp = NULL;
    int fd = -1;
    for (int attempt = 0; attempt < 10 && fd < 0; attempt++) {
        fed_free (&tmp);
        tmp = fed_sprintf ("%s.tmp-%08" PRIx32, path, randombytes_random ());
        fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot create %s: %s", tmp, strerror (errno));
        fed_free (&tmp); //  not ours to unlink: O_EXCL did not create it
        return -1;
    }
    //  The umask may have removed bits (0644) or the mode may be wrong on odd
    //  file systems; set it explicitly.
    if (fchmod (fd, mode) != 0) {
        fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot chmod %s: %s", tmp, strerror (errno));
        goto err;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = write (fd, text + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot write %s: %s", tmp, strerror (errno));
            goto err;
        }
        done += (size_t) n;
    }
    if (fsync (fd) != 0) {
        fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot fsync %s: %s", tmp, strerror (errno));
        goto err;
    }
    int rc = close (fd);
    fd = -1;
    if (rc != 0) {
        fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot close %s: %s", tmp, strerror (errno));
        goto err;
    }
    if (s_rename_noreplace (tmp, path) != 0) {
        if (errno == EEXIST)
            fed_err_set (err, FED_IDENTITY_ERR_EXISTS,
                         "%s already exists; refusing to overwrite a key file "
                         "(move it away first)",
                         path);
        else
            fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot move %s to %s: %s", tmp, path,
                         strerror (errno));
        goto err;
    }
    fed_free (&tmp);
    if (s_sync_dir (path) != 0) {
        fed_err_set (err, FED_IDENTITY_ERR_IO,
                     "wrote %s but cannot fsync its directory: %s; the file may not survive "
                     "a crash",
                     path, strerror (errno));
        return -1;
    }
    return 0;

err:
    if (fd >= 0)
        close (fd);
    (void) unlink (tmp);
    free (tmp);
    return -1;
}

int
fed_identity_save (const fed_identity_t *self, const char *path, fed_err_t *err)
{
    assert (self);
    assert (path);
    uint8_t seed [32];
    char seed_z85 [41];
    char text [512];
    crypto_sign_ed25519_sk_to_seed (seed, self->secrets->sign_secret);
    fed_z85_encode_key (seed_z85, seed);
    int len = snprintf (text, sizeof text, FED_SECRET_HEADER "version: 1\npublic: %s\nsecret: %s\n",
                        self->id, seed_z85);
    assert (len > 0 && (size_t) len < sizeof text);
    int rc = s_write_file (path, text, (size_t) len, 0600, err);
    sodium_memzero (seed, sizeof seed);
    sodium_memzero (seed_z85, sizeof seed_z85);
    sodium_memzero (text, sizeof text);
    return rc;
}

int
fed_identity_save_public (const fed_identity_t *self, const char *path, fed_err_t *err)
{
    assert (self);
    assert (path);
    char text [512];
    int len = snprintf (text, sizeof text, FED_PUBLIC_HEADER "version: 1\npublic: %s\n", self->id);
    assert (len > 0 && (size_t) len < sizeof text);
    return s_write_file (path, text, (size_t) len, 0644, err);
}

int
fed_identity_curve_from_public (const uint8_t ed_public [32], uint8_t curve_public [32])
{
    assert (ed_public);
    assert (curve_public);
    s_sodium_ready ();
    uint8_t curve [32];
    if (crypto_sign_ed25519_pk_to_curve25519 (curve, ed_public) != 0)
        return -1;
    memcpy (curve_public, curve, 32);
    return 0;
}

int
fed_identity_read_public (const char *path_or_key, uint8_t key [32], fed_err_t *err)
{
    assert (path_or_key);
    assert (key);
    s_sodium_ready ();
    uint8_t found [32];
    struct stat st;
    int stat_rc = stat (path_or_key, &st);
    int stat_errno = errno;
    if (stat_rc == 0) {
        char buf [FED_KEY_FILE_MAX + 1];
        size_t size = 0;
        s_key_text_t fields;
        char why [200];
        int rc = s_read_file (path_or_key, false, FED_FIX_PUBLIC, buf, &size, err);
        if (rc == 0) {
            rc = s_parse (buf, size, &fields, why, sizeof why);
            if (rc == 0)
                memcpy (found, fields.public_key, 32);
            else
                fed_err_set (err, FED_IDENTITY_ERR_CORRUPT, "%s is corrupt (%s); " FED_FIX_PUBLIC,
                             path_or_key, why);
            sodium_memzero (&fields, sizeof fields);
        }
        sodium_memzero (buf, sizeof buf);
        if (rc != 0)
            return -1;
    } else if (fed_key_decode (found, path_or_key) != 0) {
        fed_err_set (err, FED_IDENTITY_ERR_INVALID,
                     "'%.80s' is neither a key file (%s) nor a key as 40 Z85 or 64 hex chars",
                     path_or_key, strerror (stat_errno));
        return -1;
    }
    uint8_t curve [32];
    if (fed_identity_curve_from_public (found, curve) != 0) {
        fed_err_set (err, FED_IDENTITY_ERR_INVALID,
                     "'%.80s' does not hold a valid ed25519 public key", path_or_key);
        return -1;
    }
    memcpy (key, found, 32);
    return 0;
}

//  Creates dir and its missing parents with mode 0700. Returns 0 or -1 + err.
static int
s_make_dirs (const char *dir, fed_err_t *err)
{
    if (*dir == '\0') {
        fed_err_set (err, FED_IDENTITY_ERR_IO, "the data directory name is empty");
        return -1;
    }
    char *path = fed_strdup (dir);
    for (char *cursor = path + 1;; cursor++) {
        if (*cursor != '/' && *cursor != '\0')
            continue;
        char saved = *cursor;
        *cursor = '\0';
        if (mkdir (path, 0700) != 0 && errno != EEXIST) {
            fed_err_set (err, FED_IDENTITY_ERR_IO, "cannot create data directory %s: %s", path,
                         strerror (errno));
            free (path);
            return -1;
        }
        *cursor = saved;
        if (saved == '\0')
            break;
    }
    free (path);
    struct stat st;
    if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
        fed_err_set (err, FED_IDENTITY_ERR_IO,
                     "data directory %s is not a directory; move it away or choose another", dir);
        return -1;
    }
    return 0;
}

//  Loads DATA_DIR/NAME, creating the directory and a new key when absent.
static fed_identity_t *
s_open_in (const char *data_dir, const char *name, bool *created_p, fed_err_t *err)
{
    assert (data_dir);
    if (created_p)
        *created_p = false;
    fed_err_t local = {0, ""};
    if (s_make_dirs (data_dir, &local) != 0) {
        if (err)
            *err = local;
        return NULL;
    }
    char *path = fed_sprintf ("%s/%s", data_dir, name);
    bool created = false;
    fed_identity_t *self = fed_identity_load (path, &local);
    if (!self && local.code == FED_IDENTITY_ERR_MISSING) {
        fed_identity_t *fresh = fed_identity_generate ();
        if (fed_identity_save (fresh, path, &local) == 0) {
            self = fresh;
            created = true;
            fed_info ("identity: created %s for key %s", path, self->id);
        } else {
            fed_identity_destroy (&fresh);
            //  Another process won the race to create it: use theirs.
            if (local.code == FED_IDENTITY_ERR_EXISTS)
                self = fed_identity_load (path, &local);
        }
    }
    free (path);
    if (!self && err)
        *err = local;
    if (self && created_p)
        *created_p = created;
    return self;
}

fed_identity_t *
fed_identity_open (const char *data_dir, bool *created_p, fed_err_t *err)
{
    return s_open_in (data_dir, "node.key", created_p, err);
}

fed_identity_t *
fed_identity_open_admin (const char *data_dir, bool *created_p, fed_err_t *err)
{
    return s_open_in (data_dir, "admin.key", created_p, err);
}

fed_identity_t *
fed_identity_open_agent (const char *data_dir, bool *created_p, fed_err_t *err)
{
    return s_open_in (data_dir, "agent.key", created_p, err);
}

const uint8_t *
fed_identity_public (const fed_identity_t *self)
{
    assert (self);
    return self->public_key;
}

const uint8_t *
fed_identity_secret (const fed_identity_t *self)
{
    assert (self);
    return self->secrets->sign_secret;
}

const uint8_t *
fed_identity_curve_public (const fed_identity_t *self)
{
    assert (self);
    return self->curve_public;
}

const uint8_t *
fed_identity_curve_secret (const fed_identity_t *self)
{
    assert (self);
    return self->secrets->curve_secret;
}

const char *
fed_identity_id (const fed_identity_t *self)
{
    assert (self);
    return self->id;
}

const char *
fed_identity_curve_public_z85 (const fed_identity_t *self)
{
    assert (self);
    return self->curve_public_z85;
}

const char *
fed_identity_curve_secret_z85 (const fed_identity_t *self)
{
    assert (self);
    return self->secrets->curve_secret_z85;
}

const char *
fed_identity_short_id (const fed_identity_t *self)
{
    assert (self);
    return self->short_id;
}

void
fed_identity_sign (const fed_identity_t *self, const uint8_t *msg, size_t size, uint8_t sig [64])
{
    assert (self);
    assert (msg || size == 0);
    assert (sig);
    static const uint8_t nothing = 0;
    if (!msg)
        msg = &nothing; //  libsodium wants a pointer even for no bytes
    int rc = crypto_sign_detached (sig, NULL, msg, size, self->secrets->sign_secret);
    assert (rc == 0);
}

fed_identity_t *
fed_identity_keygen (const char *name, fed_err_t *err)
{
    fed_identity_t *self = fed_identity_generate ();
    char *secret_path = fed_sprintf ("%s.key", name);
    char *public_path = fed_sprintf ("%s.pub", name);
    int rc = fed_identity_save (self, secret_path, err);
    if (rc == 0)
        rc = fed_identity_save_public (self, public_path, err);
    free (secret_path);
    free (public_path);
    if (rc)
        fed_identity_destroy (&self);
    return self;
}
