/*  store/walcheck.c: the pre-open WAL scan. See walcheck.h for why. */
#include "walcheck.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 32768
#define HEADER 7
enum { ZERO = 0, FULL = 1, FIRST = 2, MIDDLE = 3, LAST = 4, RECYCLABLE_MIN = 5 };

uint32_t
fed_crc32c (uint32_t crc, const uint8_t *data, size_t size)
{
    //  Table-driven, reflected polynomial 0x82f63b78. The table is built on
    //  first use: idempotent, so a benign race between threads is harmless.
    static uint32_t table [256];
    static bool ready = false;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
            table [i] = c;
        }
        ready = true;
    }
    crc = ~crc;
    for (size_t i = 0; i < size; i++)
        crc = table [(crc ^ data [i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

//  RocksDB stores CRCs masked, so that a CRC of data holding CRCs is safe.
static uint32_t
s_unmask (uint32_t masked)
{
    uint32_t rot = masked - 0xa282ead8u;
    return (rot >> 17) | (rot << 15);
}

//  Reads a record header at pos: its stored (unmasked) CRC, length and type.
//  False if fewer than HEADER bytes are left in the block or the file.
static bool
s_header (const uint8_t *data, size_t size, size_t pos, uint32_t *crc, size_t *length,
          uint8_t *type)
{
    if (BLOCK - pos % BLOCK < HEADER || pos + HEADER > size)
        return false;
    uint32_t stored = (uint32_t) data [pos] | (uint32_t) data [pos + 1] << 8
        | (uint32_t) data [pos + 2] << 16 | (uint32_t) data [pos + 3] << 24;
    *crc = s_unmask (stored);
    *length = (size_t) data [pos + 4] | (size_t) data [pos + 5] << 8;
    *type = data [pos + 6];
    return true;
}

//  True if an intact record starts at pos: a legacy type, a length that fits
//  in its block and in the file, and a checksum over type ‖ payload that
//  matches. *length_p gets its payload length, *type_p its type.
static bool
s_intact (const uint8_t *data, size_t size, size_t pos, size_t *length_p, uint8_t *type_p)
{
    uint32_t crc;
    size_t length;
    uint8_t type;
    if (!s_header (data, size, pos, &crc, &length, &type))
        return false;
    if (type < FULL || type > LAST)
        return false;
    if (HEADER + length > BLOCK - pos % BLOCK || pos + HEADER + length > size)
        return false;
    if (fed_crc32c (0, data + pos + 6, 1 + length) != crc)
        return false;
    *length_p = length;
    *type_p = type;
    return true;
}

//  True if an intact record that begins a write batch (FULL or FIRST) starts
//  at pos: proof that something was written after the damage.
static bool
s_new_batch (const uint8_t *data, size_t size, size_t pos)
{
    size_t length;
    uint8_t type;
    return pos < size && s_intact (data, size, pos, &length, &type)
           && (type == FULL || type == FIRST);
}

//  Decides whether the damage at pos is a torn tail (false) or corruption
//  with intact writes after it (true). Only positions that RocksDB chose are
//  probed, never bytes inside a payload, which hold data a client chose:
//  (1) a damaged length field: some shorter length makes the stored checksum
//      match, and a new batch starts right after it;
//  (2) a damaged payload or type: a new batch starts right after the declared
//      length;
//  (3) a new batch among the intact records that follow a later block start
//      (each block starts at a record or fragment header). Fragments alone
//      (MIDDLE, LAST) prove nothing: they may belong to the torn record.
static bool
s_corrupt_after (const uint8_t *data, size_t size, size_t pos)
{
    uint32_t crc;
    size_t length;
    uint8_t type;
    if (!s_header (data, size, pos, &crc, &length, &type))
        return false;           //  a partial header: a torn write
    size_t block_end = (pos / BLOCK + 1) * BLOCK;
    size_t limit = (block_end < size ? block_end : size) - (pos + HEADER);
    if (type >= FULL && type <= LAST) {
        uint32_t running = fed_crc32c (0, &type, 1);
        for (size_t shorter = 0; shorter <= limit && shorter < length; shorter++) {
            if (running == crc && s_new_batch (data, size, pos + HEADER + shorter))
                return true;    //  (1)
            if (shorter < limit)
                running = fed_crc32c (running, data + pos + HEADER + shorter, 1);
        }
    }
    if (length <= limit && s_new_batch (data, size, pos + HEADER + length))
        return true;            //  (2), whatever the damaged type byte says
    for (size_t q = block_end; q + HEADER <= size; q += BLOCK) {
        //  A block may start with fragments of a record begun earlier (the
        //  torn one, even): follow intact records to the first new batch.
        size_t at = q, next;
        uint8_t fragment;
        while (at < size && s_intact (data, size, at, &next, &fragment)) {
            if (fragment == FULL || fragment == FIRST)
                return true;    //  (3)
            at += HEADER + next;
            if (BLOCK - at % BLOCK < HEADER)
                at += BLOCK - at % BLOCK;
        }
    }
    return false;
}

int
fed_walcheck_buffer (const uint8_t *data, size_t size, size_t *damage_p)
{
    //  A recyclable log (RocksDB's recycle_log_file_num, which fednode never
    //  sets) says so in its first record; only then is the file skipped.
    if (size >= HEADER && data [6] >= RECYCLABLE_MIN && data [6] <= RECYCLABLE_MIN + 3)
        return 0;
    size_t pos = 0, length;
    uint8_t type;
    //  Walk intact records until the first that is not.
    while (pos < size) {
        size_t room = BLOCK - pos % BLOCK;
        if (room < HEADER) {
            pos += room; //  block trailer: padding
            continue;
        }
        if (!s_intact (data, size, pos, &length, &type))
            break;
        pos += HEADER + length;
    }
    if (pos >= size || !s_corrupt_after (data, size, pos))
        return 0; //  intact to the end, or a torn tail
    if (damage_p)
        *damage_p = pos;
    return -1;
}

//  True for RocksDB WAL names: digits then ".log".
static bool
s_is_wal (const char *name)
{
    size_t size = strlen (name);
    if (size < 5 || strcmp (name + size - 4, ".log") != 0)
        return false;
    for (size_t i = 0; i < size - 4; i++)
        if (name [i] < '0' || name [i] > '9')
            return false;
    return true;
}

int
fed_walcheck_dir (const char *db_path, fed_err_t *err)
{
    DIR *dir = opendir (db_path);
    if (!dir)
        return 0; //  a new store: nothing to check
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir (dir))) {
        if (!s_is_wal (entry->d_name))
            continue;
        char *path = fed_sprintf ("%s/%s", db_path, entry->d_name);
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat (fd, &st)) {
            fed_err_set (err, -1, "cannot read WAL %s: %s", path, strerror (errno));
            rc = -1;
        } else if (st.st_size > 0) {
            void *map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (map == MAP_FAILED) {
                fed_err_set (err, -1, "cannot map WAL %s: %s", path, strerror (errno));
                rc = -1;
            } else {
                size_t damage = 0;
                if (fed_walcheck_buffer ((const uint8_t *) map, (size_t) st.st_size, &damage)) {
                    fed_err_set (err, -1,
                                 "WAL %s is corrupt at byte %zu: a damaged record is followed "
                                 "by intact ones, so this is not a torn tail; fednode refuses "
                                 "to open rather than drop acknowledged events. Restore the "
                                 "data dir from a backup (fednode export/import) or let peers "
                                 "resend the log into a fresh data dir",
                                 path, damage);
                    rc = -1;
                }
                munmap (map, (size_t) st.st_size);
            }
        }
        if (fd >= 0)
            close (fd);
        free (path);
    }
    closedir (dir);
    return rc;
}
